use crate::api::checkout::{checkout_status, CheckoutProgress};
use crate::error::AppError;
use crate::ui::components::PortalLayout;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

/// Where Stripe's hosted page sends the customer after paying. It shows "processing" until the
/// webhook has activated the subscription: hydrated it asks again every second, without
/// JavaScript the page refreshes itself.
#[component]
pub fn CheckoutSuccessPage() -> impl IntoView {
    let query = use_query_map();
    let session_id = move || query.read().get("session_id").unwrap_or_default();
    let tick = RwSignal::new(0u32);
    let status = Resource::new(
        move || (session_id(), tick.get()),
        |(id, _)| checkout_status(id),
    );
    Effect::new(move |_| {
        let _ = set_interval_with_handle(
            move || tick.update(|t| *t += 1),
            std::time::Duration::from_secs(1),
        );
    });
    view! {
        <Title text="Payment received · Billing portal"/>
        <PortalLayout>
            <Transition fallback=|| view! { <p class="text-slate-500">"Checking your payment…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Err(AppError::Unauthenticated) => view! { <Redirect path="/sign-in?next=/billing"/> }.into_any(),
                        Err(e) => view! { <p role="alert" class="text-red-700">{e.to_string()}</p> }.into_any(),
                        Ok(CheckoutProgress::Processing) => view! {
                            <Meta http_equiv="refresh" content="2"/>
                            <div class="mx-auto max-w-lg rounded-xl border border-slate-200 bg-white p-8 text-center shadow-sm" data-testid="checkout-processing">
                                <div class="mx-auto h-10 w-10 animate-spin rounded-full border-4 border-indigo-200 border-t-indigo-600"></div>
                                <h1 class="mt-6 text-2xl font-semibold">"Processing your payment"</h1>
                                <p class="mt-2 text-slate-600">"Stripe is confirming the payment. This page updates by itself in a moment."</p>
                            </div>
                        }.into_any(),
                        Ok(CheckoutProgress::Trialing { plan_name, quantity, trial_ends_at }) => view! {
                            <div class="mx-auto max-w-lg rounded-xl border border-emerald-200 bg-white p-8 shadow-sm" data-testid="checkout-trialing">
                                <p class="text-sm font-semibold uppercase tracking-wide text-emerald-700">"Trial started"</p>
                                <h1 class="mt-2 text-2xl font-semibold">{format!("You are trying {plan_name}")}</h1>
                                <dl class="mt-6 space-y-3 text-sm">
                                    <div class="flex justify-between"><dt class="text-slate-600">"Seats"</dt><dd class="font-medium">{quantity}</dd></div>
                                    <div class="flex justify-between"><dt class="text-slate-600">"Trial ends on"</dt><dd class="font-medium" data-testid="trial-ends">{crate::domain::period::format_date(trial_ends_at)}</dd></div>
                                </dl>
                                <p class="mt-4 text-sm text-slate-600">"Nothing was charged. Your saved card is charged for the first period when the trial ends, unless you cancel before."</p>
                                <a href="/billing" class="mt-8 block rounded-md bg-indigo-600 px-4 py-2.5 text-center text-sm font-semibold text-white hover:bg-indigo-500">"Go to billing"</a>
                            </div>
                        }.into_any(),
                        Ok(CheckoutProgress::Active { plan_name, quantity, renews_at, invoice_number, invoice_total }) => view! {
                            <div class="mx-auto max-w-lg rounded-xl border border-emerald-200 bg-white p-8 shadow-sm" data-testid="checkout-active">
                                <p class="text-sm font-semibold uppercase tracking-wide text-emerald-700">"Payment received"</p>
                                <h1 class="mt-2 text-2xl font-semibold">{format!("You are on {plan_name}")}</h1>
                                <dl class="mt-6 space-y-3 text-sm">
                                    <div class="flex justify-between"><dt class="text-slate-600">"Seats"</dt><dd class="font-medium">{quantity}</dd></div>
                                    <div class="flex justify-between"><dt class="text-slate-600">"Renews on"</dt><dd class="font-medium" data-testid="renews-at">{crate::domain::period::format_date(renews_at)}</dd></div>
                                    <div class="flex justify-between"><dt class="text-slate-600">{format!("Invoice {invoice_number}")}</dt><dd class="font-medium" data-testid="invoice-total">{format!("{invoice_total} paid")}</dd></div>
                                </dl>
                                <a href="/billing" class="mt-8 block rounded-md bg-indigo-600 px-4 py-2.5 text-center text-sm font-semibold text-white hover:bg-indigo-500">"Go to billing"</a>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </PortalLayout>
    }
}
