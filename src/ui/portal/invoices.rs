use crate::api::invoices::{load_invoice, load_invoices, status_label, PayInvoice};
use crate::api::payment_methods::{
    load_payment_methods, AddPaymentMethod, MakeDefaultPaymentMethod, RemovePaymentMethod,
};
use crate::domain::period::format_date;
use crate::domain::InvoiceStatus;
use crate::error::AppError;
use crate::ui::components::{FormError, PortalLayout};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_params_map, use_query_map};

fn status_badge(status: InvoiceStatus) -> &'static str {
    match status {
        InvoiceStatus::Paid => "bg-emerald-100 text-emerald-800",
        InvoiceStatus::Open => "bg-amber-100 text-amber-800",
        InvoiceStatus::Uncollectible => "bg-red-100 text-red-800",
        _ => "bg-slate-200 text-slate-700",
    }
}

/// `/billing/invoices`: every invoice, newest first, with its status and a PDF download.
#[component]
pub fn InvoicesPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| load_invoices());
    let cell = "px-4 py-3 text-sm";
    view! {
        <Title text="Invoices · Billing portal"/>
        <PortalLayout>
            <p class="text-sm font-medium uppercase tracking-wide text-indigo-600">"Billing"</p>
            <h1 class="mt-1 text-3xl font-semibold tracking-tight">"Invoices"</h1>
            <Suspense fallback=|| view! { <p class="mt-6 text-slate-500">"Loading invoices…"</p> }>
                {move || Suspend::new(async move {
                    let data = match list.await {
                        Err(AppError::Unauthenticated) => return view! { <Redirect path="/sign-in?next=/billing/invoices"/> }.into_any(),
                        Err(e) => return view! { <p role="alert" class="mt-6 text-red-700">{e.to_string()}</p> }.into_any(),
                        Ok(data) => data,
                    };
                    if data.invoices.is_empty() {
                        return view! { <p class="mt-6 text-slate-600" data-testid="no-invoices">"No invoices yet. They appear here when you subscribe and at each renewal."</p> }.into_any();
                    }
                    view! {
                        {data.credit_balance.map(|credit| view! {
                            <p class="mt-4 text-slate-700" data-testid="credit-balance">{format!("Account credit: {credit}, used first by your next invoices.")}</p>
                        })}
                        <div class="mt-6 overflow-hidden rounded-xl border border-slate-200 bg-white shadow-sm">
                            <table class="min-w-full divide-y divide-slate-200">
                                <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                                    <tr>
                                        <th class="px-4 py-2">"Number"</th><th class="px-4 py-2">"Date"</th><th class="px-4 py-2">"Status"</th>
                                        <th class="px-4 py-2 text-right">"Amount"</th><th class="px-4 py-2"></th>
                                    </tr>
                                </thead>
                                <tbody class="divide-y divide-slate-100" data-testid="invoices">
                                    {data.invoices.into_iter().map(|i| {
                                        let href = format!("/billing/invoices/{}", i.id);
                                        let pdf = format!("/billing/invoices/{}/pdf", i.id);
                                        let badge = format!("rounded-full px-2 py-0.5 text-xs font-semibold {}", status_badge(i.status));
                                        view! {
                                            <tr data-testid="invoice-row">
                                                <td class=cell><a href=href class="font-medium text-indigo-600 hover:underline">{i.number.clone()}</a></td>
                                                <td class=cell>{format_date(i.created_at)}</td>
                                                <td class=cell><span class=badge data-testid="invoice-status">{status_label(i.status)}</span></td>
                                                <td class=format!("{cell} text-right tabular-nums")>{i.total.clone()}</td>
                                                <td class=format!("{cell} text-right")><a href=pdf download rel="external" class="text-indigo-600 hover:underline">"PDF"</a></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                })}
            </Suspense>
        </PortalLayout>
    }
}

/// `/billing/invoices/:id`: every line with its explanation, the totals, the PDF and Pay now.
#[component]
pub fn InvoicePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let invoice = Resource::new(id, load_invoice);
    let pay = ServerAction::<PayInvoice>::new();
    let error = Signal::derive(move || pay.value().get().and_then(Result::err));
    let just_paid = move || query.read().get("paid").is_some();
    view! {
        <Title text="Invoice · Billing portal"/>
        <PortalLayout>
            <a href="/billing/invoices" class="text-sm font-medium text-indigo-600 hover:underline">"← All invoices"</a>
            <Suspense fallback=|| view! { <p class="mt-6 text-slate-500">"Loading the invoice…"</p> }>
                {move || Suspend::new(async move {
                    let inv = match invoice.await {
                        Err(AppError::Unauthenticated) => return view! { <Redirect path="/sign-in?next=/billing/invoices"/> }.into_any(),
                        Err(e) => return view! { <p role="alert" class="mt-6 text-red-700">{e.to_string()}</p> }.into_any(),
                        Ok(inv) => inv,
                    };
                    let badge = format!("rounded-full px-2.5 py-0.5 text-sm font-semibold {}", status_badge(inv.status));
                    let pdf = format!("/billing/invoices/{}/pdf", inv.id);
                    let invoice_id = inv.id.to_string();
                    let waiting = just_paid() && inv.payable;
                    view! {
                        <div class="mt-4 flex flex-wrap items-end justify-between gap-4">
                            <div>
                                <h1 class="text-3xl font-semibold tracking-tight" data-testid="invoice-number">{format!("Invoice {}", inv.number)}</h1>
                                <p class="mt-1 text-slate-600">{format!("{} · issued {} · for {} to {}", inv.org_name, format_date(inv.created_at), format_date(inv.period_start), format_date(inv.period_end))}</p>
                            </div>
                            <span class=badge data-testid="invoice-status">{status_label(inv.status)}</span>
                        </div>
                        {waiting.then(|| view! {
                            <p class="mt-4 rounded-md bg-sky-50 p-3 text-sm text-sky-900" data-testid="payment-processing">"Thank you. Your payment is being confirmed; refresh in a moment."</p>
                        })}
                        {inv.payment_note.clone().map(|note| view! {
                            <p class="mt-4 rounded-md bg-amber-50 p-3 text-sm text-amber-900" data-testid="payment-note">{note}</p>
                        })}
                        <div class="mt-6 overflow-hidden rounded-xl border border-slate-200 bg-white shadow-sm">
                            <ul class="divide-y divide-slate-100" data-testid="invoice-lines">
                                {inv.lines.clone().into_iter().map(|l| view! {
                                    <li class="px-5 py-4">
                                        <div class="flex justify-between gap-4">
                                            <span class="font-medium">{l.description}</span>
                                            <span class="tabular-nums">{l.amount}</span>
                                        </div>
                                        <p class="mt-1 text-sm text-slate-500" data-testid="line-explanation">{l.explanation}</p>
                                    </li>
                                }).collect_view()}
                            </ul>
                            <dl class="space-y-1 border-t border-slate-200 bg-slate-50 px-5 py-4 text-sm" data-testid="invoice-totals">
                                {inv.totals.clone().into_iter().map(|row| view! {
                                    <div class="flex justify-between"><dt class="text-slate-600">{row.label}</dt><dd class="font-medium tabular-nums">{row.amount}</dd></div>
                                }).collect_view()}
                            </dl>
                        </div>
                        <div class="mt-6 flex flex-wrap items-center gap-3">
                            <a href=pdf download rel="external" data-testid="download-pdf" class="rounded-md border border-slate-300 px-4 py-2 text-sm font-semibold text-slate-800 hover:bg-slate-50">"Download PDF"</a>
                            {inv.payable.then(|| view! {
                                <ActionForm action=pay>
                                    <input type="hidden" name="id" value=invoice_id/>
                                    <button type="submit" data-testid="pay-now" class="rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-500">{format!("Pay {} now", inv.amount_due)}</button>
                                </ActionForm>
                            })}
                        </div>
                        <div class="mt-4"><FormError error/></div>
                    }.into_any()
                })}
            </Suspense>
        </PortalLayout>
    }
}

/// `/billing/payment-methods`: saved cards; add one, choose the default, remove.
#[component]
pub fn PaymentMethodsPage() -> impl IntoView {
    let add = ServerAction::<AddPaymentMethod>::new();
    let make_default = ServerAction::<MakeDefaultPaymentMethod>::new();
    let remove = ServerAction::<RemovePaymentMethod>::new();
    let page = Resource::new(
        move || (make_default.version().get(), remove.version().get()),
        |_| load_payment_methods(),
    );
    let error = Signal::derive(move || {
        [
            add.value().get().and_then(Result::err),
            make_default.value().get().and_then(Result::err),
            remove.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
    });
    view! {
        <Title text="Payment methods · Billing portal"/>
        <PortalLayout>
            <p class="text-sm font-medium uppercase tracking-wide text-indigo-600">"Billing"</p>
            <h1 class="mt-1 text-3xl font-semibold tracking-tight">"Payment methods"</h1>
            <div class="mt-6"><FormError error/></div>
            <Suspense fallback=|| view! { <p class="mt-6 text-slate-500">"Loading your cards…"</p> }>
                {move || Suspend::new(async move {
                    let data = match page.await {
                        Err(AppError::Unauthenticated) => return view! { <Redirect path="/sign-in?next=/billing/payment-methods"/> }.into_any(),
                        Err(e) => return view! { <p role="alert" class="mt-6 text-red-700">{e.to_string()}</p> }.into_any(),
                        Ok(data) => data,
                    };
                    let can_manage = data.can_manage;
                    view! {
                        {data.cards.is_empty().then(|| view! { <p class="mt-4 text-slate-600" data-testid="no-cards">"No card saved yet."</p> })}
                        <ul class="mt-4 space-y-3" data-testid="cards">
                            {data.cards.into_iter().map(|card| {
                                let default_id = card.id.clone();
                                let remove_id = card.id.clone();
                                view! {
                                    <li class="flex flex-wrap items-center justify-between gap-3 rounded-xl border border-slate-200 bg-white px-5 py-4 shadow-sm" data-testid="card">
                                        <div>
                                            <p class="font-medium" data-testid="card-label">{card.label.clone()}
                                                {card.is_default.then(|| view! { <span class="ml-2 rounded-full bg-indigo-100 px-2 py-0.5 text-xs font-semibold text-indigo-800" data-testid="default-badge">"Default"</span> })}
                                            </p>
                                            <p class="text-sm text-slate-500">{card.expiry.clone()}</p>
                                        </div>
                                        {can_manage.then(|| view! {
                                            <div class="flex items-center gap-4">
                                                {(!card.is_default).then(|| view! {
                                                    <ActionForm action=make_default>
                                                        <input type="hidden" name="id" value=default_id/>
                                                        <button type="submit" data-testid="make-default" class="text-sm font-medium text-indigo-600 hover:underline">"Make default"</button>
                                                    </ActionForm>
                                                })}
                                                <ActionForm action=remove>
                                                    <input type="hidden" name="id" value=remove_id/>
                                                    <button type="submit" data-testid="remove-card" class="text-sm font-medium text-red-700 hover:underline">"Remove"</button>
                                                </ActionForm>
                                            </div>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        {can_manage.then(|| view! {
                            <ActionForm action=add attr:class="mt-6">
                                <button type="submit" data-testid="add-card" class="rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-500">"Add a card"</button>
                            </ActionForm>
                            <p class="mt-2 text-sm text-slate-500">"You enter the card on Stripe's secure page; nothing is charged."</p>
                        })}
                    }.into_any()
                })}
            </Suspense>
        </PortalLayout>
    }
}
