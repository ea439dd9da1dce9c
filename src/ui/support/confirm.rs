//! `/support/confirm`: what a console action will do, confirmed before it is done.

use super::layout::ConsoleLayout;
use crate::api::console::{CloseInvoice, CreditAccount, ExtendTrial, RefundInvoice, RetryPayment};
use crate::api::staff_actions::{
    preview_staff_action, AdvanceTestClock, ChangePlanForCustomer, EndContract, GiveContract,
    ReduceInvoice, ResendInvoice, RetryRenewal,
};
use crate::error::AppError;
use crate::ui::components::FormError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

/// One confirm form for a server function type: the previewed fields again, with the effect's key.
macro_rules! confirm_form {
    ($action:ty, $view:expr) => {{
        let action = ServerAction::<$action>::new();
        let error = Signal::derive(move || action.value().get().and_then(Result::err));
        let v = $view;
        let cancel = format!("/support/customers/{}", v.org_id);
        view! {
            <div class="mt-4"><FormError error/></div>
            <ActionForm action=action attr:class="mt-6 flex flex-wrap items-center gap-3" attr:data-testid="confirm-form">
                {v.fields.into_iter().map(|f| view! { <input type="hidden" name=f.name value=f.value/> }).collect_view()}
                <input type="hidden" name="confirm" value=v.key/>
                <button type="submit" data-testid="confirm-button" class="rounded-md bg-slate-900 px-4 py-2 text-sm font-semibold text-white hover:bg-slate-700 disabled:opacity-60" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Working…" } else { "Confirm" }}
                </button>
                <a href=cancel class="rounded-md border border-slate-300 px-4 py-2 text-sm font-medium text-slate-700 hover:bg-slate-100">"Cancel"</a>
            </ActionForm>
        }
        .into_any()
    }};
}

/// `/support/confirm?do=…`: what a console action will do, exactly, before it is done.
#[component]
pub fn ConfirmPage() -> impl IntoView {
    let location = use_location();
    let preview = Resource::new(move || location.search.get(), preview_staff_action);
    view! {
        <Title text="Confirm · Support console"/>
        <ConsoleLayout>
            <Suspense fallback=|| view! { <p class="text-slate-500">"Working out the effect…"</p> }>
                {move || Suspend::new(async move {
                    let v = match preview.await {
                        Err(AppError::Unauthenticated) => return view! { <Redirect path="/support/sign-in"/> }.into_any(),
                        Err(e) => return view! {
                            <p role="alert" data-testid="confirm-error" class="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">{super::layout::refusal(&e)}</p>
                            <p class="mt-4 text-sm"><a class="text-indigo-700 hover:underline" href="/support">"Back to the console"</a></p>
                        }.into_any(),
                        Ok(v) => v,
                    };
                    let back = format!("/support/customers/{}", v.org_id);
                    if let Some(done) = v.done.clone() {
                        return view! {
                            <p role="status" class="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900">{done}</p>
                            <p class="mt-4 text-sm"><a class="text-indigo-700 hover:underline" href=back>"Back to the customer"</a></p>
                        }.into_any();
                    }
                    let form = match v.action.as_str() {
                        "refund" => confirm_form!(RefundInvoice, v.clone()),
                        "credit" => confirm_form!(CreditAccount, v.clone()),
                        "close" => confirm_form!(CloseInvoice, v.clone()),
                        "retry" => confirm_form!(RetryPayment, v.clone()),
                        "extend_trial" => confirm_form!(ExtendTrial, v.clone()),
                        "change_plan" => confirm_form!(ChangePlanForCustomer, v.clone()),
                        "reduce_invoice" => confirm_form!(ReduceInvoice, v.clone()),
                        "resend_invoice" => confirm_form!(ResendInvoice, v.clone()),
                        "advance_clock" => confirm_form!(AdvanceTestClock, v.clone()),
                        "retry_renewal" => confirm_form!(RetryRenewal, v.clone()),
                        "give_contract" => confirm_form!(GiveContract, v.clone()),
                        "end_contract" => confirm_form!(EndContract, v.clone()),
                        other => view! { <p role="alert" class="mt-4 text-red-700">{format!("The console has no confirmation for \"{other}\".")}</p> }.into_any(),
                    };
                    view! {
                        <p class="text-sm"><a class="text-indigo-700 hover:underline" href=back>"← Back to the customer"</a></p>
                        <section class="mt-4 max-w-2xl rounded-xl border border-slate-200 bg-white p-6 shadow-sm" data-testid="confirm-effect">
                            <p class="text-xs font-semibold uppercase tracking-wide text-amber-700">"Check before you confirm"</p>
                            <h1 class="mt-1 text-xl font-semibold tracking-tight" data-testid="confirm-title">{v.title.clone()}</h1>
                            <ul class="mt-4 list-disc space-y-1 pl-5 text-sm text-slate-700">
                                {v.lines.iter().map(|l| view! { <li>{l.clone()}</li> }).collect_view()}
                            </ul>
                            {(!v.detail.is_empty()).then(|| view! {
                                <p class="mt-4 text-xs font-semibold uppercase tracking-wide text-slate-500">"How it is worked out"</p>
                                <ul class="mt-1 space-y-1 text-xs text-slate-600" data-testid="confirm-detail">
                                    {v.detail.iter().map(|l| view! { <li>{l.clone()}</li> }).collect_view()}
                                </ul>
                            })}
                            {form}
                        </section>
                    }.into_any()
                })}
            </Suspense>
        </ConsoleLayout>
    }
}
