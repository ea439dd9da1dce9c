//! `/support/customers/:id`: one customer's plan, invoices and timeline, and the actions on them.

use super::layout::ConsoleLayout;
use crate::api::console::{
    load_customer, CloseInvoice, CreditAccount, ExtendTrial, RefundInvoice, RetryPayment,
    ViewAsCustomer,
};
use crate::api::staff_actions::{
    AdvanceTestClock, ChangePlanForCustomer, EndContract, GiveContract, ReduceInvoice,
    ResendInvoice, RetryRenewal,
};
use crate::domain::period::format_date;
use crate::error::AppError;
use crate::ui::components::FormError;
use crate::wire::console::{CurrentPlan, ACTION_REASONS, REFUND_REASONS};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_params_map, use_query_map};

/// `/support/customers/:id`: the organisation, its plan, cards and invoices, a refund form for
/// billing admins, and the whole timeline.
#[component]
pub fn CustomerPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let refund = ServerAction::<RefundInvoice>::new();
    let credit = ServerAction::<CreditAccount>::new();
    let close = ServerAction::<CloseInvoice>::new();
    let retry = ServerAction::<RetryPayment>::new();
    let extend = ServerAction::<ExtendTrial>::new();
    let view_as = ServerAction::<ViewAsCustomer>::new();
    let change_plan = ServerAction::<ChangePlanForCustomer>::new();
    let reduce = ServerAction::<ReduceInvoice>::new();
    let resend = ServerAction::<ResendInvoice>::new();
    let advance = ServerAction::<AdvanceTestClock>::new();
    let retry_renewal = ServerAction::<RetryRenewal>::new();
    let give_contract = ServerAction::<GiveContract>::new();
    let end_contract = ServerAction::<EndContract>::new();
    let org_id = move || params.read().get("id").unwrap_or_default();
    let versions = move || {
        (
            refund.version().get(),
            credit.version().get(),
            close.version().get(),
            retry.version().get(),
            extend.version().get(),
        )
    };
    let customer = Resource::new(move || (org_id(), versions()), |(id, _)| load_customer(id));
    let error = Signal::derive(move || {
        [
            refund.value().get().and_then(Result::err),
            credit.value().get().and_then(Result::err),
            close.value().get().and_then(Result::err),
            retry.value().get().and_then(Result::err),
            extend.value().get().and_then(Result::err),
            change_plan.value().get().and_then(Result::err),
            reduce.value().get().and_then(Result::err),
            resend.value().get().and_then(Result::err),
            advance.value().get().and_then(Result::err),
            retry_renewal.value().get().and_then(Result::err),
            give_contract.value().get().and_then(Result::err),
            end_contract.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
    });
    // What a confirmed action did, carried back from the confirmation page.
    let done = move || query.read().get("done").filter(|d| !d.is_empty());
    let kind = move || query.read().get("kind").unwrap_or_default();
    let cell = "px-3 py-2 text-sm";
    view! {
        <Title text="Customer · Support console"/>
        <ConsoleLayout>
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading the customer…"</p> }>
                {move || Suspend::new(async move {
                    let c = match customer.await {
                        Err(AppError::Unauthenticated) => return view! { <Redirect path="/support/sign-in"/> }.into_any(),
                        Err(e) => return view! { <p role="alert" class="text-red-700">{super::layout::refusal(&e)}</p> }.into_any(),
                        Ok(c) => c,
                    };
                    let filter = kind();
                    let can_refund = c.can_refund;
                    let can_assist = c.can_assist;
                    let token = c.form_token.clone();
                    let credit_token = c.form_token.clone();
                    let (credit_org, trial_org) = (c.org_id.to_string(), c.org_id.to_string());
                    let trialing = c.trialing;
                    let (plan_org, clock_org) = (c.org_id.to_string(), c.org_id.to_string());
                    let plan = c.plan.clone();
                    let prices = c.prices.clone();
                    let on_clock = c.test_clock.is_some();
                    let input = "rounded border border-slate-300 px-2 py-1 text-sm";
                    let org_path = format!("/support/customers/{}", c.org_id);
                    let usage_path = format!("{org_path}/usage");
                    let (renewal_problem, renewal_org) = (c.renewal_problem.clone(), c.org_id.to_string());
                    let (contract, contract_bases) = (c.contract.clone(), c.contract_bases.clone());
                    let (give_org, end_org) = (c.org_id.to_string(), c.org_id.to_string());
                    view! {
                        <div class="flex flex-wrap items-center justify-between gap-3">
                            <h1 class="text-2xl font-semibold tracking-tight" data-testid="customer-name">{c.org_name.clone()}</h1>
                            <ActionForm action=view_as>
                                <input type="hidden" name="org_id" value=c.org_id.to_string()/>
                                <button type="submit" data-testid="view-as" class="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-100">"View as customer (read-only)"</button>
                            </ActionForm>
                        </div>
                        <p class="mt-1 text-sm text-slate-600">{format!("Customer since {} · Stripe {}{}", format_date(c.created_at), c.stripe_customer_id.clone().unwrap_or_else(|| "—".into()), c.test_clock.clone().map(|t| format!(" · test clock {t}")).unwrap_or_default())}</p>
                        <div class="mt-4"><FormError error/></div>
                        {move || done().map(|m| view! { <p role="status" data-testid="refund-result" class="mt-4 rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900">{m}</p> })}
                        {renewal_problem.map(|problem| {
                            let org = renewal_org;
                            view! {
                                <section class="mt-4 rounded-xl border border-red-300 bg-red-50 p-4" data-testid="renewal-problem">
                                    <h2 class="text-sm font-semibold text-red-900">"Needs attention"</h2>
                                    <p class="mt-1 text-sm text-red-900">{problem}</p>
                                    {can_refund.then(|| view! {
                                        <ActionForm action=retry_renewal attr:class="mt-3 flex flex-wrap items-center gap-2" attr:data-testid="retry-renewal-form">
                                            <input type="hidden" name="org_id" value=org/>
                                            <ReasonNoteSubmit note_width="w-56" placeholder="What was fixed (required)" button_class="rounded bg-red-700 px-3 py-1 text-sm font-semibold text-white" label="Retry the renewal"/>
                                        </ActionForm>
                                    })}
                                </section>
                            }
                        })}
                        <div class="mt-6 grid gap-4 md:grid-cols-3">
                            <section class="rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
                                <h2 class="text-xs font-semibold uppercase tracking-wide text-slate-500">"Plan"</h2>
                                <p class="mt-2 text-sm" data-testid="customer-plan">{c.subscription.clone().unwrap_or_else(|| "No plan".into())}</p>
                                {(!c.pending.is_empty()).then(|| view! {
                                    <ul class="mt-2 list-disc pl-5 text-sm text-amber-900" data-testid="pending-changes">
                                        {c.pending.iter().map(|p| view! { <li>{p.clone()}</li> }).collect_view()}
                                    </ul>
                                })}
                                <h2 class="mt-4 text-xs font-semibold uppercase tracking-wide text-slate-500">"Account credit"</h2>
                                <p class="mt-2 text-sm">{c.credit_balance.clone()}</p>
                                <a href=usage_path.clone() data-testid="usage-events-link" class="mt-4 block text-sm font-medium text-indigo-700 hover:underline">"Usage events this period →"</a>
                            </section>
                            <section class="rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
                                <h2 class="text-xs font-semibold uppercase tracking-wide text-slate-500">"Members"</h2>
                                <ul class="mt-2 space-y-1 text-sm">{c.members.iter().map(|m| view! { <li>{format!("{} · {}", m.email, m.role.as_str())}</li> }).collect_view()}</ul>
                            </section>
                            <section class="rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
                                <h2 class="text-xs font-semibold uppercase tracking-wide text-slate-500">"Cards"</h2>
                                <ul class="mt-2 space-y-1 text-sm">{c.cards.iter().map(|card| view! { <li>{card.clone()}</li> }).collect_view()}</ul>
                            </section>
                        </div>
                        {(can_refund || (can_assist && trialing)).then(move || view! {
                            <section class="mt-6 flex flex-wrap gap-4">
                                {can_refund.then(|| view! {
                                    <ActionForm action=credit attr:class="flex flex-wrap items-center gap-2 rounded-xl border border-slate-200 bg-white p-3 shadow-sm" attr:data-testid="credit-form">
                                        <span class="text-sm font-semibold">"Account credit"</span>
                                        <input type="hidden" name="org_id" value=credit_org/>
                                        <input type="hidden" name="token" value=credit_token/>
                                        <input type="text" name="amount" placeholder="Amount" class=format!("{input} w-24")/>
                                        <ReasonNoteSubmit note_width="w-44" button_class="rounded bg-slate-900 px-3 py-1 text-sm font-semibold text-white" label="Add credit"/>
                                    </ActionForm>
                                })}
                                {(can_assist && trialing).then(|| view! {
                                    <ActionForm action=extend attr:class="flex flex-wrap items-center gap-2 rounded-xl border border-slate-200 bg-white p-3 shadow-sm" attr:data-testid="extend-trial-form">
                                        <span class="text-sm font-semibold">"Extend trial"</span>
                                        <input type="hidden" name="org_id" value=trial_org/>
                                        <input type="number" name="days" min="1" max="60" placeholder="Days" class=format!("{input} w-20")/>
                                        <ReasonNoteSubmit note_width="w-44" button_class="rounded bg-slate-900 px-3 py-1 text-sm font-semibold text-white" label="Extend"/>
                                    </ActionForm>
                                })}
                                {plan.filter(|_| can_refund).map(|CurrentPlan { price_id, seats }| view! {
                                    <ActionForm action=change_plan attr:class="flex flex-wrap items-center gap-2 rounded-xl border border-slate-200 bg-white p-3 shadow-sm" attr:data-testid="change-plan-form">
                                        <span class="text-sm font-semibold">"Change plan"</span>
                                        <input type="hidden" name="org_id" value=plan_org/>
                                        <select name="price_id" class=input>
                                            {prices.into_iter().map(|p| { let selected = p.id == price_id; view! { <option value=p.id selected=selected>{p.label}</option> } }).collect_view()}
                                        </select>
                                        <input type="number" name="seats" min="1" value=seats.to_string() class=format!("{input} w-20") aria-label="Seats"/>
                                        <ReasonNoteSubmit note_width="w-44" button_class="rounded bg-slate-900 px-3 py-1 text-sm font-semibold text-white" label="Preview change"/>
                                    </ActionForm>
                                })}
                                {(can_refund && on_clock).then(|| view! {
                                    <ActionForm action=advance attr:class="flex flex-wrap items-center gap-2 rounded-xl border border-amber-300 bg-amber-50 p-3 shadow-sm" attr:data-testid="advance-clock-form">
                                        <span class="text-sm font-semibold">"Advance test clock"</span>
                                        <input type="hidden" name="org_id" value=clock_org/>
                                        <input type="number" name="days" min="1" max="400" placeholder="Days" class=format!("{input} w-20")/>
                                        <ReasonNoteSubmit note_width="w-44" button_class="rounded bg-amber-600 px-3 py-1 text-sm font-semibold text-white" label="Preview"/>
                                    </ActionForm>
                                })}
                            </section>
                        })}
                        {can_refund.then(move || view! {
                            <section class="mt-6 rounded-xl border border-indigo-200 bg-white p-4 shadow-sm" data-testid="contract">
                                <h2 class="text-xs font-semibold uppercase tracking-wide text-slate-500">"Contract price"</h2>
                                <p class="mt-2 text-sm" data-testid="contract-summary">{contract.clone().unwrap_or_else(|| "No contract: this customer pays list prices.".into())}</p>
                                <ActionForm action=give_contract attr:class="mt-3 flex flex-wrap items-center gap-2" attr:data-testid="give-contract-form">
                                    <input type="hidden" name="org_id" value=give_org/>
                                    <select name="price_id" class=input aria-label="List price">
                                        {contract_bases.into_iter().map(|p| view! { <option value=p.id>{p.label}</option> }).collect_view()}
                                    </select>
                                    <input type="text" name="amount" placeholder="Price per seat, e.g. 10.00" aria-label="Negotiated price" class=format!("{input} w-44")/>
                                    <input type="text" name="minimum" placeholder="Minimum a period (optional)" aria-label="Minimum commitment" class=format!("{input} w-52")/>
                                    <label class="text-sm text-slate-600">"Ends on "<input type="date" name="ends_on" aria-label="Contract end" class=input/></label>
                                    <ReasonNoteSubmit note_width="w-44" button_class="rounded bg-indigo-700 px-3 py-1 text-sm font-semibold text-white" label="Preview contract"/>
                                </ActionForm>
                                {contract.is_some().then(|| view! {
                                    <ActionForm action=end_contract attr:class="mt-3 flex flex-wrap items-center gap-2" attr:data-testid="end-contract-form">
                                        <input type="hidden" name="org_id" value=end_org/>
                                        <ReasonNoteSubmit note_width="w-44" button_class="rounded border border-slate-300 px-3 py-1 text-sm font-semibold" label="End contract"/>
                                    </ActionForm>
                                })}
                            </section>
                        })}
                        <h2 class="mt-8 text-lg font-semibold">"Invoices"</h2>
                        <div class="mt-2 overflow-x-auto rounded-xl border border-slate-200 bg-white shadow-sm">
                            <table class="min-w-full divide-y divide-slate-200" data-testid="staff-invoices">
                                <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                                    <tr><th class="px-3 py-2">"Number"</th><th class="px-3 py-2">"Date"</th><th class="px-3 py-2">"Status"</th><th class="px-3 py-2">"Total"</th><th class="px-3 py-2">"Refundable"</th><th class="px-3 py-2"></th></tr>
                                </thead>
                                <tbody class="divide-y divide-slate-100">
                                    {c.invoices.iter().map(|i| {
                                        let show_refund = can_refund && i.refundable_minor > 0;
                                        let open = i.status == crate::domain::InvoiceStatus::Open;
                                        let (close_id, retry_id) = (i.id.to_string(), i.id.to_string());
                                        let (resend_id, reduce_id) = (i.id.to_string(), i.id.to_string());
                                        let reduce_token = token.clone();
                                        let invoice_id = i.id.to_string();
                                        let token = token.clone();
                                        let testid = format!("refund-{}", i.number);
                                        view! {
                                            <tr>
                                                <td class=cell>{i.number.clone()}</td>
                                                <td class=cell>{format_date(i.created_at)}</td>
                                                <td class=cell>{i.status.to_string()}</td>
                                                <td class=cell>{i.total.clone()}</td>
                                                <td class=cell>{i.refundable.clone()}</td>
                                                <td class=cell>
                                                    {show_refund.then(|| view! {
                                                        <ActionForm action=refund attr:class="flex flex-wrap items-center gap-2" attr:data-testid=testid>
                                                            <input type="hidden" name="invoice_id" value=invoice_id/>
                                                            <input type="hidden" name="token" value=token/>
                                                            <input type="text" name="amount" placeholder="Amount, e.g. 10.00" class="w-28 rounded border border-slate-300 px-2 py-1"/>
                                                            <select name="reason_code" class="rounded border border-slate-300 px-2 py-1">
                                                                <option value="">"Reason…"</option>
                                                                {REFUND_REASONS.iter().map(|(code, label)| view! { <option value=*code>{*label}</option> }).collect_view()}
                                                            </select>
                                                            <input type="text" name="note" placeholder="Note (required)" class="w-48 rounded border border-slate-300 px-2 py-1"/>
                                                            <button type="submit" class="rounded bg-red-700 px-3 py-1 text-sm font-semibold text-white hover:bg-red-600">"Refund"</button>
                                                        </ActionForm>
                                                    })}
                                                    {(open && can_assist).then(|| view! {
                                                        <ActionForm action=retry attr:class="flex flex-wrap items-center gap-2" attr:data-testid="retry-form">
                                                            <input type="hidden" name="invoice_id" value=retry_id/>
                                                            <ReasonNoteSubmit note_width="w-40" button_class="rounded bg-slate-900 px-3 py-1 text-sm font-semibold text-white" label="Retry payment now"/>
                                                        </ActionForm>
                                                    })}
                                                    <details class="mt-2 text-sm" data-testid="more-actions">
                                                        <summary class="cursor-pointer text-slate-600 hover:text-slate-900">"More actions"</summary>
                                                        <div class="mt-2 space-y-2">
                                                    {(open && can_refund).then(|| view! {
                                                        <ActionForm action=close attr:class="flex flex-wrap items-center gap-2" attr:data-testid="close-form">
                                                            <input type="hidden" name="invoice_id" value=close_id/>
                                                            <select name="action" class=input><option value="void">"Void"</option><option value="uncollectible">"Mark uncollectible"</option></select>
                                                            <ReasonNoteSubmit note_width="w-40" button_class="rounded border border-slate-300 px-3 py-1 text-sm font-semibold" label="Apply"/>
                                                        </ActionForm>
                                                    })}
                                                            {(open && can_refund).then(|| view! {
                                                                <ActionForm action=reduce attr:class="flex flex-wrap items-center gap-2" attr:data-testid="reduce-form">
                                                                    <input type="hidden" name="invoice_id" value=reduce_id/>
                                                                    <input type="hidden" name="token" value=reduce_token/>
                                                                    <input type="text" name="amount" placeholder="Take off, e.g. 5.00" class=format!("{input} w-32")/>
                                                                    <ReasonNoteSubmit note_width="w-40" button_class="rounded border border-slate-300 px-3 py-1 text-sm font-semibold" label="Credit note"/>
                                                                </ActionForm>
                                                            })}
                                                            {can_assist.then(|| view! {
                                                                <ActionForm action=resend attr:class="flex flex-wrap items-center gap-2" attr:data-testid="resend-form">
                                                                    <input type="hidden" name="invoice_id" value=resend_id/>
                                                                    <ReasonNoteSubmit note_width="w-40" button_class="rounded border border-slate-300 px-3 py-1 text-sm font-semibold" label="Resend email"/>
                                                                </ActionForm>
                                                            })}
                                                        </div>
                                                    </details>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <div class="mt-8 flex flex-wrap items-center justify-between gap-3">
                            <h2 class="text-lg font-semibold">"Timeline"</h2>
                            <nav class="flex flex-wrap gap-2 text-sm" data-testid="timeline-filters">
                                {["", "account", "security", "plan", "usage", "invoice", "payment", "email", "credit", "staff"].into_iter().map(|k| {
                                    let href = if k.is_empty() { org_path.clone() } else { format!("{org_path}?kind={k}") };
                                    let active = k == filter;
                                    let class = if active { "rounded-full bg-slate-900 px-3 py-1 text-white" } else { "rounded-full border border-slate-300 px-3 py-1 text-slate-700 hover:bg-slate-100" };
                                    view! { <a href=href class=class>{if k.is_empty() { "all" } else { k }}</a> }
                                }).collect_view()}
                            </nav>
                        </div>
                        <ol class="mt-3 space-y-2" data-testid="timeline">
                            {c.timeline.iter().filter(|t| filter.is_empty() || t.kind == filter).map(|t| view! {
                                <li class="flex gap-3 rounded-lg border border-slate-200 bg-white px-4 py-2 text-sm shadow-sm">
                                    <span class="w-40 shrink-0 text-slate-500">{chrono::DateTime::from_timestamp(t.at, 0).map(|d| d.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()}</span>
                                    <span class="w-16 shrink-0 text-xs font-semibold uppercase tracking-wide text-slate-400">{t.kind.clone()}</span>
                                    <span>{t.text.clone()}</span>
                                </li>
                            }).collect_view()}
                        </ol>
                    }.into_any()
                })}
            </Suspense>
        </ConsoleLayout>
    }
}

/// `/support/customers/:id/usage?meter=…&from=…&until=…`: the events behind a meter's figure,
/// for checking a usage line on an invoice (its explanation names the meter and the range).
/// The reason and note every console action asks for, and the action's submit button.
#[component]
fn ReasonNoteSubmit(
    label: &'static str,
    note_width: &'static str,
    button_class: &'static str,
    #[prop(default = "Note (required)")] placeholder: &'static str,
) -> impl IntoView {
    let input = "rounded border border-slate-300 px-2 py-1 text-sm";
    view! {
        <select name="reason_code" class=input>
            <option value="">"Reason…"</option>
            {ACTION_REASONS.iter().map(|(code, label)| view! { <option value=*code>{*label}</option> }).collect_view()}
        </select>
        <input type="text" name="note" placeholder=placeholder class=format!("{input} {note_width}")/>
        <button type="submit" class=button_class>{label}</button>
    }
}
