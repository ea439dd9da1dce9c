//! The support console (staff only), at `/support`.

use crate::api::console::{
    load_approvals, load_audit_log, load_customer, load_usage_events, search_customers,
    CloseInvoice, CreditAccount, DecideApproval, ExtendTrial, RefundInvoice, RetryPayment,
    ViewAsCustomer,
};
use crate::api::staff_actions::{
    load_attention, preview_staff_action, AdvanceTestClock, ChangePlanForCustomer, ReduceInvoice,
    ResendInvoice, RetryRenewal,
};
use crate::api::support::{current_staff, StaffSignIn, StaffSignOut};
use crate::domain::period::format_date;
use crate::error::AppError;
use crate::ui::components::{AuthCard, Field, FormError, SubmitButton};
use crate::wire::console::{ACTION_REASONS, REFUND_REASONS};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_location, use_params_map, use_query_map};

/// The console's frame: a dark bar that makes it plain this is not the customer portal.
#[component]
fn ConsoleLayout(children: Children) -> impl IntoView {
    view! {
        <header class="bg-slate-900 text-white">
            <div class="mx-auto flex max-w-6xl items-center justify-between px-4 py-3 sm:px-6">
                <a href="/support" class="flex items-center gap-2 font-semibold tracking-tight">
                    <span class="inline-block h-5 w-5 rounded bg-amber-400"></span>
                    "Support console"
                </a>
                <nav class="flex items-center gap-4 text-sm">
                    <a href="/support" class="text-slate-200 hover:text-white">"Search"</a>
                    <a href="/support/approvals" class="text-slate-200 hover:text-white">"Approvals"</a>
                    <a href="/support/audit" class="text-slate-200 hover:text-white">"Audit log"</a>
                    <span class="rounded bg-slate-700 px-2 py-0.5 text-xs font-medium uppercase tracking-wide text-slate-200">"Staff only"</span>
                </nav>
            </div>
        </header>
        <main class="mx-auto max-w-6xl px-4 py-10 sm:px-6">{children()}</main>
    }
}

#[component]
pub fn SupportSignInPage() -> impl IntoView {
    let action = ServerAction::<StaffSignIn>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    view! {
        <Title text="Staff sign-in · Support console"/>
        <ConsoleLayout>
            <AuthCard title="Staff sign-in">
                <ActionForm action=action attr:class="space-y-4" attr:novalidate=true>
                    <FormError error/>
                    <Field label="Staff email" name="email" kind="email" autocomplete="username"/>
                    <Field label="Password" name="password" kind="password" autocomplete="current-password"/>
                    <Field label="Code from your authenticator app" name="code" autocomplete="one-time-code" hint="6 digits; a new one every 30 seconds."/>
                    <SubmitButton label="Sign in to the console" pending=action.pending().into()/>
                </ActionForm>
                <p class="mt-6 text-center text-xs text-slate-500">"Staff accounts and their authenticator secrets are made by an administrator with billing-portal create-staff."</p>
            </AuthCard>
        </ConsoleLayout>
    }
}

#[component]
pub fn SupportHome() -> impl IntoView {
    let staff = Resource::new(|| (), |_| current_staff());
    let sign_out = ServerAction::<StaffSignOut>::new();
    view! {
        <Title text="Support console"/>
        <ConsoleLayout>
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match staff.await {
                        Ok(Some(s)) => view! {
                            <div class="flex flex-wrap items-center justify-between gap-4">
                                <div>
                                    <h1 class="text-2xl font-semibold tracking-tight" data-testid="staff-name">{format!("Welcome, {}", s.name)}</h1>
                                    <p class="mt-1 text-slate-600">{format!("{} · {}", s.email, s.role.label())}</p>
                                </div>
                                <ActionForm action=sign_out>
                                    <button type="submit" class="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-100">"Sign out"</button>
                                </ActionForm>
                            </div>
                            <CustomerSearch/>
                            <NeedsAttention/>
                        }.into_any(),
                        Ok(None) => view! { <Redirect path="/support/sign-in"/> }.into_any(),
                        Err(e) => view! { <p role="alert" class="text-red-700">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </ConsoleLayout>
    }
}

/// Renewals that failed too often in a row and wait for staff.
#[component]
fn NeedsAttention() -> impl IntoView {
    let items = Resource::new(|| (), |_| load_attention());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match items.await {
                    Ok(list) if !list.is_empty() => view! {
                        <section class="mt-8 rounded-xl border border-red-300 bg-red-50 p-4" data-testid="needs-attention">
                            <h2 class="text-sm font-semibold text-red-900">{format!("Needs attention: {} renewal(s) stopped after failing repeatedly", list.len())}</h2>
                            <ul class="mt-2 space-y-1 text-sm">
                                {list.into_iter().map(|i| view! {
                                    <li><a class="font-medium text-red-900 underline" href=format!("/support/customers/{}", i.org_id)>{i.org_name}</a>
                                        {format!(" · {} failures, last {}: {}", i.failures, format_date(i.failed_at), i.error)}</li>
                                }).collect_view()}
                            </ul>
                        </section>
                    }.into_any(),
                    _ => ().into_any(),
                }
            })}
        </Suspense>
    }
}

/// Search by email, organisation, invoice number, Stripe customer or payment id: results as you
/// type, and a plain GET form without JavaScript.
#[component]
fn CustomerSearch() -> impl IntoView {
    let query = use_query_map();
    let q = RwSignal::new(query.get_untracked().get("q").unwrap_or_default());
    let results = Resource::new(move || q.get(), search_customers);
    view! {
        <form method="get" action="/support" class="mt-8 flex gap-2" role="search">
            <input type="search" name="q" data-testid="search-input" autocomplete="off"
                placeholder="Email, organisation, invoice number, cus_… or pi_…"
                class="w-full rounded-md border border-slate-300 px-3 py-2"
                prop:value=move || q.get()
                on:input=move |ev| q.set(event_target_value(&ev))/>
            <button type="submit" class="rounded-md bg-slate-900 px-4 py-2 text-sm font-semibold text-white">"Search"</button>
        </form>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match results.await {
                    Err(e) => view! { <p role="alert" class="mt-4 text-red-700">{e.to_string()}</p> }.into_any(),
                    Ok(hits) if hits.is_empty() => view! {
                        <p class="mt-4 text-sm text-slate-500" data-testid="no-results">{if q.get_untracked().trim().chars().count() < 2 { "Type at least two characters." } else { "No customer matches." }}</p>
                    }.into_any(),
                    Ok(hits) => view! {
                        <ul class="mt-4 divide-y divide-slate-100 overflow-hidden rounded-xl border border-slate-200 bg-white shadow-sm" data-testid="search-results">
                            {hits.into_iter().map(|h| view! {
                                <li><a href=format!("/support/customers/{}", h.org_id) class="flex justify-between px-4 py-3 hover:bg-slate-50">
                                    <span class="font-medium">{h.org_name}</span>
                                    <span class="text-sm text-slate-500">{h.matched}</span>
                                </a></li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

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
                        Err(e) => return view! { <p role="alert" class="text-red-700">{e.to_string()}</p> }.into_any(),
                        Ok(c) => c,
                    };
                    let filter = kind();
                    let can_refund = c.can_refund;
                    let can_assist = c.can_assist;
                    let token = c.form_token.clone();
                    let credit_token = c.form_token.clone();
                    let (credit_org, trial_org) = (c.org_id.clone(), c.org_id.clone());
                    let trialing = c.trialing;
                    let (plan_org, clock_org) = (c.org_id.clone(), c.org_id.clone());
                    let plan = c.plan.clone();
                    let prices = c.prices.clone();
                    let on_clock = c.test_clock.is_some();
                    let input = "rounded border border-slate-300 px-2 py-1 text-sm";
                    let org_path = format!("/support/customers/{}", c.org_id);
                    let usage_path = format!("{org_path}/usage");
                    let (renewal_problem, renewal_org) = (c.renewal_problem.clone(), c.org_id.clone());
                    view! {
                        <div class="flex flex-wrap items-center justify-between gap-3">
                            <h1 class="text-2xl font-semibold tracking-tight" data-testid="customer-name">{c.org_name.clone()}</h1>
                            <ActionForm action=view_as>
                                <input type="hidden" name="org_id" value=c.org_id.clone()/>
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
                                <h2 class="mt-4 text-xs font-semibold uppercase tracking-wide text-slate-500">"Account credit"</h2>
                                <p class="mt-2 text-sm">{c.credit_balance.clone()}</p>
                                <a href=usage_path.clone() data-testid="usage-events-link" class="mt-4 block text-sm font-medium text-indigo-700 hover:underline">"Usage events this period →"</a>
                            </section>
                            <section class="rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
                                <h2 class="text-xs font-semibold uppercase tracking-wide text-slate-500">"Members"</h2>
                                <ul class="mt-2 space-y-1 text-sm">{c.members.iter().map(|(e, r)| view! { <li>{format!("{e} · {r}")}</li> }).collect_view()}</ul>
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
                                {plan.filter(|_| can_refund).map(|(price_id, seats)| view! {
                                    <ActionForm action=change_plan attr:class="flex flex-wrap items-center gap-2 rounded-xl border border-slate-200 bg-white p-3 shadow-sm" attr:data-testid="change-plan-form">
                                        <span class="text-sm font-semibold">"Change plan"</span>
                                        <input type="hidden" name="org_id" value=plan_org/>
                                        <select name="price_id" class=input>
                                            {prices.into_iter().map(|(id, label)| { let selected = id == price_id; view! { <option value=id selected=selected>{label}</option> } }).collect_view()}
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
                                        let (close_id, retry_id) = (i.id.clone(), i.id.clone());
                                        let (resend_id, reduce_id) = (i.id.clone(), i.id.clone());
                                        let reduce_token = token.clone();
                                        let invoice_id = i.id.clone();
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

#[component]
pub fn UsageEventsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let data = Resource::new(
        move || {
            let q = query.read();
            (
                params.read().get("id").unwrap_or_default(),
                q.get("meter").unwrap_or_default(),
                q.get("from").unwrap_or_default(),
                q.get("until").unwrap_or_default(),
            )
        },
        |(org, meter, from, until)| load_usage_events(org, meter, from, until),
    );
    let cell = "px-3 py-2 text-sm";
    let when = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default()
    };
    view! {
        <Title text="Usage events · Support console"/>
        <ConsoleLayout>
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let d = match data.await {
                        Err(AppError::Unauthenticated) => return view! { <Redirect path="/support/sign-in"/> }.into_any(),
                        Err(e) => return view! { <p role="alert" class="text-red-700">{e.to_string()}</p> }.into_any(),
                        Ok(d) => d,
                    };
                    let back = format!("/support/customers/{}", d.org_id);
                    let range = format!("from={}&until={}", d.from, d.until);
                    view! {
                        <p class="text-sm"><a class="text-indigo-700 hover:underline" href=back>{format!("← {}", d.org_name)}</a></p>
                        <h1 class="mt-2 text-2xl font-semibold tracking-tight">{format!("{} · usage events", d.meter_name)}</h1>
                        <p class="mt-1 text-sm text-slate-600" data-testid="usage-total">{format!("{} {} from {} to {}: {}.", d.total, d.unit_label, when(d.from), when(d.until), d.counts)}</p>
                        <nav class="mt-3 flex flex-wrap gap-2 text-sm">
                            {d.meters.iter().map(|(id, name)| {
                                let class = if *id == d.meter { "rounded-full bg-slate-900 px-3 py-1 text-white" } else { "rounded-full border border-slate-300 px-3 py-1 text-slate-700 hover:bg-slate-100" };
                                view! { <a href=format!("/support/customers/{}/usage?meter={id}&{range}", d.org_id) class=class>{name.clone()}</a> }
                            }).collect_view()}
                        </nav>
                        <div class="mt-4 overflow-x-auto rounded-xl border border-slate-200 bg-white shadow-sm">
                            <table class="min-w-full divide-y divide-slate-200" data-testid="usage-events">
                                <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                                    <tr><th class="px-3 py-2">"Event id"</th><th class="px-3 py-2">"At"</th><th class="px-3 py-2 text-right">"Quantity"</th><th class="px-3 py-2">"Properties"</th></tr>
                                </thead>
                                <tbody class="divide-y divide-slate-100">
                                    {d.events.into_iter().map(|e| view! {
                                        <tr>
                                            <td class=format!("{cell} font-mono text-xs")>{e.id}</td>
                                            <td class=cell>{when(e.at)}</td>
                                            <td class=format!("{cell} text-right")>{e.quantity}</td>
                                            <td class=format!("{cell} font-mono text-xs")>{e.properties}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                })}
            </Suspense>
        </ConsoleLayout>
    }
}

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
                {v.fields.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value/> }).collect_view()}
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
                            <p role="alert" data-testid="confirm-error" class="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">{e.to_string()}</p>
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
                        _ => confirm_form!(AdvanceTestClock, v.clone()),
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

/// `/support/audit`: the hash-chained audit log, filtered by customer, actor or role, action and
/// dates (a GET form, so a filtered view is a link), with the same filter as a CSV export.
#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let rows = Resource::new(
        move || {
            (
                param("org_id"),
                param("actor"),
                param("action"),
                param("from"),
                param("until"),
            )
        },
        |(org_id, actor, action, from, until)| load_audit_log(org_id, actor, action, from, until),
    );
    let export = move || {
        let q = query.read();
        let pairs: Vec<String> = ["org_id", "actor", "action", "from", "until"]
            .into_iter()
            .filter_map(|k| {
                q.get(k)
                    .filter(|v| !v.is_empty())
                    .map(|v| format!("{k}={}", urlencode(&v)))
            })
            .collect();
        format!("/support/audit.csv?{}", pairs.join("&"))
    };
    let cell = "px-3 py-2 text-sm";
    let input = "rounded border border-slate-300 px-2 py-1 text-sm";
    view! {
        <Title text="Audit log · Support console"/>
        <ConsoleLayout>
            <div class="flex flex-wrap items-end justify-between gap-3">
                <div>
                    <h1 class="text-2xl font-semibold tracking-tight">"Audit log"</h1>
                    <p class="mt-1 text-sm text-slate-600">"Every change, by customers, staff and the system, and every sign-in, each entry chained to the one before by its hash. The database refuses changes and deletions; check the chain with billing-portal audit verify, and anchor its head with billing-portal audit checkpoint."</p>
                </div>
                <a href=export data-testid="audit-export" class="rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-100">"Export CSV"</a>
            </div>
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match rows.await {
                        Err(AppError::Unauthenticated) => view! { <Redirect path="/support/sign-in"/> }.into_any(),
                        Err(e) => view! { <p role="alert" class="mt-4 text-red-700">{e.to_string()}</p> }.into_any(),
                        Ok(page) => {
                            let chosen = param("action");
                            view! {
                                <form method="get" action="/support/audit" class="mt-4 flex flex-wrap items-end gap-2 rounded-xl border border-slate-200 bg-white p-3 shadow-sm" data-testid="audit-filters">
                                    <label class="text-xs font-medium text-slate-600">"Actor or role"<br/>
                                        <input type="text" name="actor" value=param("actor") placeholder="admin@… or system" class=input/></label>
                                    <label class="text-xs font-medium text-slate-600">"Action"<br/>
                                        <select name="action" class=input>
                                            <option value="">"Any"</option>
                                            {page.actions.iter().map(|a| { let selected = *a == chosen; view! { <option value=a.clone() selected=selected>{a.clone()}</option> } }).collect_view()}
                                        </select></label>
                                    <label class="text-xs font-medium text-slate-600">"Customer id"<br/>
                                        <input type="text" name="org_id" value=param("org_id") placeholder="org_…" class=input/></label>
                                    <label class="text-xs font-medium text-slate-600">"From"<br/>
                                        <input type="date" name="from" value=param("from") class=input/></label>
                                    <label class="text-xs font-medium text-slate-600">"Until"<br/>
                                        <input type="date" name="until" value=param("until") class=input/></label>
                                    <button type="submit" class="rounded bg-slate-900 px-3 py-1.5 text-sm font-semibold text-white">"Filter"</button>
                                    <a href="/support/audit" class="px-2 py-1.5 text-sm text-slate-600 hover:underline">"Clear"</a>
                                </form>
                                <p class="mt-3 text-sm text-slate-600" data-testid="audit-checkpoint">{page.checkpoint.clone().unwrap_or_else(|| "No checkpoint yet: run billing-portal audit checkpoint to anchor the chain's head.".into())}</p>
                                <p class="mt-1 text-sm text-slate-500" data-testid="audit-count">{format!("{} entr{}{}", page.rows.len(), if page.rows.len() == 1 { "y" } else { "ies" }, if page.truncated { " shown (the newest); the export has them all" } else { "" })}</p>
                                <div class="mt-2 overflow-x-auto rounded-xl border border-slate-200 bg-white shadow-sm">
                                    <table class="min-w-full divide-y divide-slate-200" data-testid="audit-log">
                                        <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                                            <tr><th class="px-3 py-2">"#"</th><th class="px-3 py-2">"When"</th><th class="px-3 py-2">"Who"</th><th class="px-3 py-2">"Action"</th><th class="px-3 py-2">"Target"</th><th class="px-3 py-2">"Amount"</th><th class="px-3 py-2">"Reason"</th><th class="px-3 py-2">"Note"</th></tr>
                                        </thead>
                                        <tbody class="divide-y divide-slate-100">
                                            {page.rows.into_iter().map(|r| view! {
                                                <tr>
                                                    <td class=cell>{r.seq}</td>
                                                    <td class=format!("{cell} whitespace-nowrap")>{chrono::DateTime::from_timestamp(r.at, 0).map(|d| d.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()}</td>
                                                    <td class=cell>{format!("{} ({})", r.actor, r.role)}</td>
                                                    <td class=cell>{r.action}</td>
                                                    <td class=cell>{r.target}</td>
                                                    <td class=cell>{r.amount.unwrap_or_default()}</td>
                                                    <td class=cell>{r.reason.unwrap_or_default()}</td>
                                                    <td class=cell>{r.note}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </ConsoleLayout>
    }
}

/// Percent-encodes a query value.
fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `/support/approvals`: refunds above the threshold, waiting for an approver.
#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let decide = ServerAction::<DecideApproval>::new();
    let rows = Resource::new(move || decide.version().get(), |_| load_approvals());
    let error = Signal::derive(move || decide.value().get().and_then(Result::err));
    let cell = "px-3 py-2 text-sm";
    view! {
        <Title text="Approvals · Support console"/>
        <ConsoleLayout>
            <h1 class="text-2xl font-semibold tracking-tight">"Approvals"</h1>
            <p class="mt-1 text-sm text-slate-600">"Refunds, credits, credit notes, voids, write-offs and plan changes that credit, above the approval threshold (counted with what the same staff member took off the same customer's bill in the last 24 hours), happen only when an approver other than the requester approves them."</p>
            <div class="mt-4"><FormError error/></div>
            {move || decide.value().get().and_then(Result::ok).map(|m| view! { <p role="status" data-testid="decision-result" class="mt-4 rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900">{m}</p> })}
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match rows.await {
                        Err(AppError::Unauthenticated) => view! { <Redirect path="/support/sign-in"/> }.into_any(),
                        Err(e) => view! { <p role="alert" class="text-red-700">{e.to_string()}</p> }.into_any(),
                        Ok(rows) => view! {
                            <div class="mt-4 overflow-x-auto rounded-xl border border-slate-200 bg-white shadow-sm">
                                <table class="min-w-full divide-y divide-slate-200" data-testid="approvals">
                                    <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                                        <tr><th class="px-3 py-2">"Requested"</th><th class="px-3 py-2">"By"</th><th class="px-3 py-2">"What"</th><th class="px-3 py-2">"Amount"</th><th class="px-3 py-2">"Reason"</th><th class="px-3 py-2">"Status"</th><th class="px-3 py-2"></th></tr>
                                    </thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {rows.into_iter().map(|r| {
                                            let pending = r.status == crate::domain::ApprovalStatus::Pending;
                                            let (approve_id, reject_id) = (r.id.clone(), r.id.clone());
                                            view! {
                                                <tr>
                                                    <td class=cell>{format_date(r.created_at)}</td>
                                                    <td class=cell>{r.requested_by.clone()}</td>
                                                    <td class=cell>{r.kind.clone()}</td>
                                                    <td class=cell><a class="text-indigo-700 hover:underline" href=format!("/support/customers/{}", r.org_id)>{r.amount.clone()}</a></td>
                                                    <td class=cell>{format!("{}: {}", r.reason, r.note)}</td>
                                                    <td class=cell>{match &r.decided_by { Some(by) => format!("{} by {by}", r.status), None => r.status.to_string() }}</td>
                                                    <td class=cell>
                                                        {pending.then(|| view! {
                                                            <div class="flex gap-2">
                                                                <ActionForm action=decide>
                                                                    <input type="hidden" name="id" value=approve_id/>
                                                                    <input type="hidden" name="decision" value="approve"/>
                                                                    <button type="submit" class="rounded bg-emerald-700 px-3 py-1 text-sm font-semibold text-white">"Approve"</button>
                                                                </ActionForm>
                                                                <ActionForm action=decide>
                                                                    <input type="hidden" name="id" value=reject_id/>
                                                                    <input type="hidden" name="decision" value="reject"/>
                                                                    <button type="submit" class="rounded border border-slate-300 px-3 py-1 text-sm font-semibold">"Reject"</button>
                                                                </ActionForm>
                                                            </div>
                                                        })}
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </ConsoleLayout>
    }
}
