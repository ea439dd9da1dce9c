use crate::api::billing::load_billing_overview;
use crate::error::AppError;
use crate::ui::components::PortalLayout;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

#[component]
pub fn BillingPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| load_billing_overview());
    view! {
        <Title text="Billing · Billing portal"/>
        <PortalLayout>
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading your billing…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Err(AppError::Unauthenticated) => view! { <Redirect path="/sign-in?next=/billing"/> }.into_any(),
                        Err(e) => view! { <p role="alert" class="text-red-700">{e.to_string()}</p> }.into_any(),
                        Ok(o) => view! {
                            <div class="flex flex-wrap items-end justify-between gap-4">
                                <div>
                                    <p class="text-sm font-medium uppercase tracking-wide text-indigo-600">"Billing"</p>
                                    <h1 class="mt-1 text-3xl font-semibold tracking-tight" data-testid="org-name">{o.org_name.clone()}</h1>
                                </div>
                                <p class="text-sm text-slate-600">
                                    "Signed in as " <span class="font-medium text-slate-900">{o.email.clone()}</span>
                                    " · " <span data-testid="role" class="rounded-full bg-slate-200 px-2 py-0.5 text-xs font-semibold text-slate-700">{o.role.label()}</span>
                                </p>
                            </div>
                            <section class="mt-8 grid gap-6 md:grid-cols-3">
                                <div class="rounded-xl border border-slate-200 bg-white p-6 shadow-sm md:col-span-2">
                                    <h2 class="text-sm font-semibold uppercase tracking-wide text-slate-500">"Current plan"</h2>
                                    {match o.subscription {
                                        None => view! {
                                            <p class="mt-3 text-xl font-semibold" data-testid="current-plan">"No plan yet"</p>
                                            <p class="mt-1 text-slate-600">"Your organisation is not subscribed to a plan."</p>
                                            <a href="/pricing" class="mt-4 inline-flex rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-500">"Choose a plan"</a>
                                        }.into_any(),
                                        Some(s) => view! {
                                            <p class="mt-3 text-xl font-semibold" data-testid="current-plan">{s.plan_name}</p>
                                            <p class="mt-1 text-slate-600" data-testid="plan-status">{format!("{} · {} seat(s) · renews on {}", s.status, s.quantity, crate::domain::period::format_date(s.current_period_end))}</p>
                                            <a href="/billing/plan" data-testid="manage-plan" class="mt-4 inline-flex rounded-md border border-slate-300 px-4 py-2 text-sm font-semibold text-slate-800 hover:bg-slate-50">"Change plan, seats or cancel"</a>
                                            <a href="/billing/members" data-testid="manage-members" class="ml-2 mt-4 inline-flex rounded-md border border-slate-300 px-4 py-2 text-sm font-semibold text-slate-800 hover:bg-slate-50">"Members and seats"</a>
                                            {(s.status == crate::domain::SubscriptionStatus::PastDue).then(|| view! {
                                                <p class="mt-4 rounded-md bg-amber-50 p-3 text-sm text-amber-900" data-testid="past-due">"A payment failed. "<a href="/billing/invoices" class="font-semibold underline">"Pay the open invoice"</a>" or update your card to keep your plan."</p>
                                            })}
                                        }.into_any(),
                                    }}
                                </div>
                                <div class="rounded-xl border border-slate-200 bg-white p-6 shadow-sm">
                                    <h2 class="text-sm font-semibold uppercase tracking-wide text-slate-500">"Invoices and payment"</h2>
                                    <a href="/billing/invoices" data-testid="invoices-link" class="mt-3 block font-medium text-indigo-600 hover:underline">"Invoice history"</a>
                                    <a href="/billing/payment-methods" data-testid="payment-methods-link" class="mt-1 block font-medium text-indigo-600 hover:underline">"Payment methods"</a>
                                    <a href="/billing/usage" data-testid="usage-link" class="mt-1 block font-medium text-indigo-600 hover:underline">"Usage and API keys"</a>
                                    <h2 class="mt-6 text-sm font-semibold uppercase tracking-wide text-slate-500">"Your role"</h2>
                                    <p class="mt-3 text-xl font-semibold">{o.role.label()}</p>
                                    <p class="mt-1 text-sm text-slate-600">
                                        {if o.role.can_manage_billing() {
                                            "You can change the plan, seats and payment details."
                                        } else {
                                            "Owners and billing admins manage the plan and payments."
                                        }}
                                    </p>
                                </div>
                            </section>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </PortalLayout>
    }
}
