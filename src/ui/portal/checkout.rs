use crate::api::checkout::{checkout_status, CheckoutProgress};
use crate::error::AppError;
use crate::ui::components::PortalLayout;
use crate::ui::islands::PreloadIsland;
use leptos::either::EitherOf4;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

/// Where Stripe's hosted page sends the customer after paying. It shows "processing" until the
/// webhook has activated the subscription: the island asks again every second, and without
/// JavaScript the page refreshes itself.
#[component]
pub fn CheckoutSuccessPage() -> impl IntoView {
    // Holds islands: the shell sends this page the islands script.
    crate::ui::islands::mark();
    let session_id = use_query_map()
        .get_untracked()
        .get("session_id")
        .unwrap_or_default();
    let status = Resource::new(
        {
            let id = session_id.clone();
            move || id.clone()
        },
        checkout_status,
    );
    view! {
        <Title text="Payment received · Billing portal"/>
        <PortalLayout>
            <Suspense fallback=|| view! { <p class="text-slate-500">"Checking your payment…"</p> }>
                {move || {
                    let session_id = session_id.clone();
                    Suspend::new(async move {
                        match status.await {
                            Err(AppError::Unauthenticated) => view! { <Redirect path="/sign-in?next=/billing"/> }.into_any(),
                            Err(e) => view! { <p role="alert" class="text-red-700">{e.to_string()}</p> }.into_any(),
                            Ok(progress) => view! {
                                // Without JavaScript the page asks again by reloading; with it, the island asks.
                                {(progress == CheckoutProgress::Processing).then(|| view! { <noscript><meta http-equiv="refresh" content="2"/></noscript> })}
                                <PreloadIsland island="checkout_wait"/>
                                <CheckoutWait session_id progress/>
                            }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </PortalLayout>
    }
}

/// The checkout's progress, asked for again every second while the payment is processing.
#[island(lazy)]
fn CheckoutWait(session_id: String, progress: CheckoutProgress) -> impl IntoView {
    let status = RwSignal::new(Ok::<_, AppError>(progress));
    Effect::new(move |_| {
        let session_id = session_id.clone();
        let handle = set_interval_with_handle(
            move || {
                if !matches!(status.get_untracked(), Ok(CheckoutProgress::Processing)) {
                    return;
                }
                let session_id = session_id.clone();
                leptos::task::spawn_local(
                    async move { status.set(checkout_status(session_id).await) },
                );
            },
            std::time::Duration::from_secs(1),
        );
        on_cleanup(move || {
            if let Ok(handle) = handle {
                handle.clear();
            }
        });
    });
    move || match status.get() {
        Err(e) => EitherOf4::A(view! { <p role="alert" class="text-red-700">{e.to_string()}</p> }),
        Ok(CheckoutProgress::Processing) => EitherOf4::B(view! {
            <div class="mx-auto max-w-lg rounded-xl border border-slate-200 bg-white p-8 text-center shadow-sm" data-testid="checkout-processing">
                <div class="mx-auto h-10 w-10 animate-spin rounded-full border-4 border-indigo-200 border-t-indigo-600"></div>
                <h1 class="mt-6 text-2xl font-semibold">"Processing your payment"</h1>
                <p class="mt-2 text-slate-600">"Stripe is confirming the payment. This page updates by itself in a moment."</p>
            </div>
        }),
        Ok(CheckoutProgress::Trialing {
            plan_name,
            quantity,
            trial_ends_at,
        }) => EitherOf4::C(view! {
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
        }),
        Ok(CheckoutProgress::Active {
            plan_name,
            quantity,
            renews_at,
            invoice_number,
            invoice_total,
        }) => EitherOf4::D(view! {
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
        }),
    }
}
