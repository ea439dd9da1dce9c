use crate::api::subscription::{
    load_plan_page, ApplyPromotionCode, CancelSubscription, ChangeSubscription, ResumeSubscription,
    UndoScheduledChange,
};
use crate::domain::catalog::Plan;
use crate::domain::period::format_date;
use crate::domain::{ChangePolicies, Money, Price, ProrationPreview};
use crate::error::AppError;
use crate::ui::components::{FormError, Notice, PortalLayout};
use crate::ui::islands::PreloadIsland;
use crate::wire::plan::{preview, CurrentPlan, PlanPage, CANCEL_REASONS};
use chrono::DateTime;
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

/// `/billing/plan`: change plan, interval or seats with an exact preview, undo a scheduled
/// change, cancel or resume. The page renders on the server and its forms are plain posts that
/// come back here with their answer (a notice) or error; only the seat preview is an island, so
/// it can follow the number as it is typed.
#[component]
pub fn PlanChangePage() -> impl IntoView {
    // Holds an island: the shell sends this page the islands script.
    crate::ui::islands::mark();
    // The forms' errors, from the address they came back to.
    let change = ServerAction::<ChangeSubscription>::new();
    let undo = ServerAction::<UndoScheduledChange>::new();
    let cancel = ServerAction::<CancelSubscription>::new();
    let resume = ServerAction::<ResumeSubscription>::new();
    let promote = ServerAction::<ApplyPromotionCode>::new();
    let error = Signal::derive(move || {
        [
            change.value().get().and_then(Result::err),
            undo.value().get().and_then(Result::err),
            cancel.value().get().and_then(Result::err),
            resume.value().get().and_then(Result::err),
            promote.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
    });
    let page = Resource::new(|| (), |_| load_plan_page());
    // The seat count the preview starts from, from the address its form sends without JavaScript.
    let seats = use_query_map()
        .get_untracked()
        .get("seats")
        .and_then(|s| s.parse::<i64>().ok());
    let actions = PlanActions {
        change,
        undo,
        cancel,
        resume,
        promote,
    };
    view! {
        <Title text="Change plan · Billing portal"/>
        <PortalLayout>
            <p class="text-sm font-medium uppercase tracking-wide text-indigo-600">"Billing"</p>
            <h1 class="mt-1 text-3xl font-semibold tracking-tight">"Your plan"</h1>
            <div class="mt-6 space-y-3 empty:hidden">
                <FormError error/>
                <Notice/>
            </div>
            <Suspense fallback=|| view! { <p class="mt-6 text-slate-500">"Loading your plan…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(AppError::Unauthenticated) => view! { <Redirect path="/sign-in?next=/billing/plan"/> }.into_any(),
                        Err(e) => view! { <p role="alert" class="mt-6 text-red-700">{e.to_string()}</p> }.into_any(),
                        Ok(data) => match data.current.clone() {
                            None => view! {
                                <p class="mt-6 text-slate-600">"Your organisation has no paid plan yet. "
                                    <a href="/pricing" class="font-medium text-indigo-600 hover:underline">"Choose one on the pricing page."</a>
                                </p>
                            }.into_any(),
                            Some(current) => view! { <PlanChangeBody data current seats actions/> }.into_any(),
                        },
                    }
                })}
            </Suspense>
        </PortalLayout>
    }
}

/// The page's forms; each posts to its server function and comes back to the page.
#[derive(Clone, Copy)]
struct PlanActions {
    change: ServerAction<ChangeSubscription>,
    undo: ServerAction<UndoScheduledChange>,
    cancel: ServerAction<CancelSubscription>,
    resume: ServerAction<ResumeSubscription>,
    promote: ServerAction<ApplyPromotionCode>,
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn money_or_dash(result: &Result<Money, String>) -> String {
    result
        .as_ref()
        .map(|m| m.to_string())
        .unwrap_or_else(|_| "—".into())
}

/// Credit for unused time in a preview (the sum of its negative lines).
fn credit_of(preview: &ProrationPreview) -> Option<Money> {
    let currency = preview.amount_due_now.currency();
    let credit: i64 = preview
        .lines
        .iter()
        .map(|l| l.amount.minor_units())
        .filter(|a| *a < 0)
        .sum();
    (credit < 0).then(|| Money::from_minor(-credit, currency))
}

#[component]
fn PlanChangeBody(
    data: PlanPage,
    current: CurrentPlan,
    /// The seat count to preview first (the current one when none).
    seats: Option<i64>,
    actions: PlanActions,
) -> impl IntoView {
    let PlanActions {
        change,
        undo,
        cancel,
        resume,
        promote,
    } = actions;
    let version = current.version;
    let initial_seats = seats.unwrap_or(current.quantity);
    let options: Vec<(Plan, Price)> = data
        .plans
        .iter()
        .flat_map(|plan| {
            plan.prices
                .iter()
                .map(move |price| (plan.clone(), price.clone()))
        })
        // Another plan, or another interval of this one; a newer version of the customer's own
        // price is not a change to offer (a price migration moves them, if the business wants).
        .filter(|(plan, price)| {
            price.id != current.price.id
                && price.currency == current.price.currency
                && !(plan.name == current.plan_name && price.interval == current.price.interval)
        })
        .collect();
    let can_manage = data.can_manage;
    let now = data.now;
    let policies = data.policies;
    view! {
        <section class="mt-6 rounded-xl border border-slate-200 bg-white p-6 shadow-sm">
            <div class="flex flex-wrap items-baseline justify-between gap-3">
                <div>
                    <h2 class="text-xl font-semibold" data-testid="current-plan-name">{format!("{} · {}", current.plan_name, current.price.nickname)}</h2>
                    <p class="mt-1 text-slate-600" data-testid="current-plan-detail">
                        {format!("{} · {} · renews on {}", current.price.quantity_label(current.quantity),
                            money_or_dash(&current.price.amount_for(current.quantity).map_err(|e| e.to_string())),
                            format_date(current.current_period_end.timestamp()))}
                    </p>
                </div>
            </div>
            {current.scheduled.clone().map(|crate::wire::plan::ScheduledPlan { plan_name: name, quantity, .. }| view! {
                <div class="mt-4 flex flex-wrap items-center justify-between gap-3 rounded-lg border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900" data-testid="scheduled-change">
                    <span>{format!("Scheduled: {name} with {quantity} seat(s) from {}.", format_date(current.current_period_end.timestamp()))}</span>
                    <ActionForm action=undo>
                        <input type="hidden" name="version" value=version/>
                        <button type="submit" class="rounded-md border border-amber-300 bg-white px-3 py-1.5 font-medium hover:bg-amber-100">"Undo"</button>
                    </ActionForm>
                </div>
            })}
            {current.trial_end.map(|end| view! {
                <p class="mt-4 rounded-lg border border-sky-200 bg-sky-50 px-4 py-3 text-sm text-sky-900" data-testid="trial-banner">
                    {format!("Free trial until {}. Nothing is charged until then; switching plans or seats during the trial costs nothing.", format_date(end.timestamp()))}
                </p>
            })}
            {current.contract.clone().map(|terms| view! {
                <p class="mt-3 rounded-md border border-indigo-200 bg-indigo-50 px-3 py-2 text-sm text-indigo-900" data-testid="contract-terms">{terms}</p>
            })}
            {current.price_change.clone().map(|change| view! {
                <p class="mt-3 rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="price-change">{change}</p>
            })}
            {(!current.next_invoice.is_empty()).then(|| view! {
                <div class="mt-3 rounded-md border border-slate-200 bg-slate-50 px-3 py-2 text-sm text-slate-700" data-testid="next-invoice-lines">
                    <p class="font-medium">"Added to your next invoice"</p>
                    <ul class="mt-1 list-disc pl-5">
                        {current.next_invoice.iter().map(|l| view! { <li>{l.clone()}</li> }).collect_view()}
                    </ul>
                </div>
            })}
            {current.coupon.clone().map(|coupon| view! {
                <p class="mt-3 inline-flex rounded-full bg-emerald-100 px-3 py-1 text-sm font-medium text-emerald-900" data-testid="coupon">{format!("Discount · {coupon}")}</p>
            })}
            {(can_manage && current.coupon.is_none()).then(|| view! {
                <ActionForm action=promote attr:class="mt-4 flex flex-wrap items-end gap-2" attr:data-testid="promotion-form">
                    <input type="hidden" name="version" value=version/>
                    <label class="text-sm font-medium text-slate-700">"Promotion code"
                        <input type="text" name="code" autocomplete="off" class="mt-1 block w-40 rounded-md border border-slate-300 px-3 py-1.5 uppercase"/>
                    </label>
                    <button type="submit" class="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-semibold text-slate-800 hover:bg-slate-50">"Apply"</button>
                </ActionForm>
            })}
            {current.cancel_at_period_end.then(|| view! {
                <div class="mt-4 flex flex-wrap items-center justify-between gap-3 rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-900" data-testid="cancel-scheduled">
                    <span>{format!("Cancels on {}. You keep access until then.", format_date(current.current_period_end.timestamp()))}</span>
                    <ActionForm action=resume>
                        <input type="hidden" name="version" value=version/>
                        <button type="submit" class="rounded-md bg-red-700 px-3 py-1.5 font-medium text-white hover:bg-red-600">"Resume subscription"</button>
                    </ActionForm>
                </div>
            })}
        </section>

        {can_manage.then(|| {
            view! {
            <PreloadIsland island="seat_change"/>
            <SeatChange current=current.clone() now=now.timestamp() policies initial_seats/>

            <section class="mt-8">
                <h2 class="text-lg font-semibold">"Switch plan or billing interval"</h2>
                <div class="mt-4 grid gap-4 md:grid-cols-2">
                    {options.into_iter().map(|(plan, price)| {
                        let quantity = current.quantity.max(price.min_quantity.unwrap_or(1));
                        let checked = price
                            .check_quantity(quantity)
                            .map_err(|e| crate::domain::catalog::explain_quantity(&plan, &price, e));
                        if current.trial_end.is_some() {
                            let testid = format!("option-{}", price.id);
                            return Either::Left(view! {
                                <article class="rounded-xl border border-slate-200 bg-white p-5 shadow-sm" data-testid=testid>
                                    <h3 class="font-semibold">{format!("{} · {}", plan.name, price.nickname)}</h3>
                                    <p class="text-sm text-slate-600">{format!("{} · {} after the trial", price.quantity_label(quantity), money_or_dash(&price.amount_for(quantity).map_err(|e| e.to_string())))}</p>
                                    {match checked {
                                        Err(message) => Either::Left(view! { <p class="mt-3 text-sm text-slate-600">{message}</p> }),
                                        Ok(()) => Either::Right(view! {
                                            <ActionForm action=change attr:class="mt-3">
                                                <input type="hidden" name="price_id" value=price.id.clone()/>
                                                <input type="hidden" name="seats" value=quantity/>
                                                <input type="hidden" name="expected_due" value="0"/>
                                                <input type="hidden" name="version" value=version/>
                                                <button type="submit" class="w-full rounded-md border border-indigo-600 px-4 py-2 text-sm font-semibold text-indigo-700 hover:bg-indigo-50">
                                                    {format!("Switch to {} (free during the trial)", plan.name)}
                                                </button>
                                            </ActionForm>
                                        }),
                                    }}
                                </article>
                            });
                        }
                        let p = checked.and_then(|()| preview(&current, &price, quantity, now, &policies));
                        let per = price.interval.describe();
                        let testid = format!("option-{}", price.id);
                        Either::Right(view! {
                            <article class="rounded-xl border border-slate-200 bg-white p-5 shadow-sm" data-testid=testid>
                                <h3 class="font-semibold">{format!("{} · {}", plan.name, price.nickname)}</h3>
                                <p class="text-sm text-slate-600">{price.quantity_label(quantity)}</p>
                                {match p {
                                    Err(message) => Either::Left(view! { <p class="mt-3 text-sm text-slate-600">{message}</p> }),
                                    Ok(p) => Either::Right(view! {
                                        <PreviewSummary preview=p.clone() per=per.clone()/>
                                        <ActionForm action=change attr:class="mt-3">
                                            <input type="hidden" name="price_id" value=price.id.clone()/>
                                            <input type="hidden" name="seats" value=quantity/>
                                            <input type="hidden" name="expected_due" value=p.amount_due_now.minor_units()/>
                                            <input type="hidden" name="version" value=version/>
                                            <button type="submit" class="w-full rounded-md border border-indigo-600 px-4 py-2 text-sm font-semibold text-indigo-700 hover:bg-indigo-50">
                                                {if p.scheduled.is_some() { format!("Schedule {}", plan.name) } else { format!("Switch to {} now", plan.name) }}
                                            </button>
                                        </ActionForm>
                                    }),
                                }}
                            </article>
                        })
                    }).collect_view()}
                </div>
            </section>

            {(!current.cancel_at_period_end).then(|| view! {
                <section class="mt-8 rounded-xl border border-slate-200 bg-white p-6 shadow-sm">
                    <h2 class="text-lg font-semibold">"Cancel subscription"</h2>
                    <p class="mt-1 text-sm text-slate-600">{format!("Your plan stays active until {}; nothing more is charged.", format_date(current.current_period_end.timestamp()))}</p>
                    <ActionForm action=cancel attr:class="mt-4 space-y-3">
                        <input type="hidden" name="version" value=version/>
                        <label class="block text-sm font-medium text-slate-700">"Why are you cancelling?"
                            <select name="reason" data-testid="cancel-reason" class="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2">
                                <option value="">"Choose a reason"</option>
                                {CANCEL_REASONS.iter().map(|(code, label)| view! { <option value=*code>{*label}</option> }).collect_view()}
                            </select>
                        </label>
                        <label class="block text-sm font-medium text-slate-700">"Anything we should know? (optional)"
                            <textarea name="details" rows="2" class="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2"></textarea>
                        </label>
                        <button type="submit" data-testid="cancel-submit" class="rounded-md border border-red-300 px-4 py-2 text-sm font-semibold text-red-700 hover:bg-red-50">"Cancel at period end"</button>
                    </ActionForm>
                </section>
            })}
        }})}
    }
}

/// Seats: the preview follows the number as it is typed, computed with the domain's proration
/// in the browser, and its confirmation posts the amount shown. Without JavaScript the Preview
/// button asks the server for the same figures.
#[island(lazy)]
fn SeatChange(
    current: CurrentPlan,
    /// The organisation's clock (unix seconds): a test clock's when it has one.
    now: i64,
    policies: ChangePolicies,
    initial_seats: i64,
) -> impl IntoView {
    let seats = RwSignal::new(initial_seats);
    let now = DateTime::from_timestamp(now, 0).unwrap_or_default();
    let label = current
        .price
        .unit_label
        .clone()
        .unwrap_or_else(|| "seat".into());
    let per = current.price.interval.describe();
    let in_trial = current.trial_end.is_some();
    let current_quantity = current.quantity;
    let (price_id, version) = (current.price.id.clone(), current.version);
    let confirm = move |quantity: i64, expected_due: i64| {
        view! {
            <form method="post" action=ChangeSubscription::url() class="mt-3">
                <input type="hidden" name="price_id" value=price_id.clone()/>
                <input type="hidden" name="seats" value=quantity/>
                <input type="hidden" name="expected_due" value=expected_due/>
                <input type="hidden" name="version" value=version/>
                <button type="submit" data-testid="confirm-seats" class="rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-500">
                    {format!("Confirm {quantity} seat(s)")}
                </button>
            </form>
        }
    };
    let preview_of = {
        move |quantity: i64| {
            if quantity == current.quantity {
                return Err(format!(
                    "You have {quantity} now. Enter another number to see what it costs."
                ));
            }
            preview(&current, &current.price, quantity, now, &policies)
        }
    };
    view! {
        <section class="mt-8 rounded-xl border border-slate-200 bg-white p-6 shadow-sm" id="seats">
            <h2 class="text-lg font-semibold">{format!("Change {label}s")}</h2>
            <form method="get" action="/billing/plan#seats" class="mt-4 flex items-end gap-3">
                <label class="text-sm font-medium text-slate-700">{capitalized(&format!("{label}s"))}
                    <input type="number" name="seats" min="1" step="1" value=initial_seats data-testid="seat-input"
                        class="mt-1 block w-28 rounded-md border border-slate-300 px-3 py-2"
                        on:input=move |ev| {
                            if let Ok(n) = event_target_value(&ev).parse::<i64>() {
                                seats.set(n);
                            }
                        }/>
                </label>
                <button type="submit" class="rounded-md border border-slate-300 px-3 py-2 text-sm font-medium hover:bg-slate-50">"Preview"</button>
            </form>
            {move || {
                let quantity = seats.get();
                if in_trial && quantity != current_quantity {
                    return EitherOf3::A(view! {
                        <p class="mt-3 text-sm text-slate-600" data-testid="seat-preview">"Free during the trial."</p>
                        {confirm.clone()(quantity, 0)}
                    });
                }
                match preview_of(quantity) {
                    Err(message) => EitherOf3::B(view! { <p class="mt-3 text-sm text-slate-600" data-testid="seat-preview">{message}</p> }),
                    Ok(p) => EitherOf3::C(view! {
                        <PreviewSummary preview=p.clone() per=per.clone()/>
                        {confirm.clone()(quantity, p.amount_due_now.minor_units())}
                    }),
                }
            }}
        </section>
    }
}

/// What a change costs now, what it credits, and what it costs from then on.
#[component]
fn PreviewSummary(
    preview: ProrationPreview,
    /// The new price's interval, e.g. "month".
    per: String,
) -> impl IntoView {
    let credit = credit_of(&preview);
    // A plan whose policy bills the rest of the period on the next invoice: their sum.
    let next_invoice = preview.next_invoice_total();
    view! {
        <dl class="mt-3 space-y-1 text-sm" data-testid="preview">
            {match &preview.scheduled {
                Some(s) => Either::Left(view! {
                    <div class="flex justify-between"><dt class="text-slate-600">"Starts"</dt><dd class="font-medium">{format!("{} (at renewal)", format_date(s.effective_at.timestamp()))}</dd></div>
                    <div class="flex justify-between"><dt class="text-slate-600">"Due now"</dt><dd class="font-medium" data-testid="due-now">{preview.amount_due_now.to_string()}</dd></div>
                }),
                None => Either::Right(view! {
                    {credit.map(|c| view! { <div class="flex justify-between"><dt class="text-slate-600">"Credit for unused time"</dt><dd class="font-medium text-emerald-700" data-testid="credit">{format!("-{c}")}</dd></div> })}
                    <div class="flex justify-between"><dt class="text-slate-600">"Due now"</dt><dd class="font-semibold" data-testid="due-now">{preview.amount_due_now.to_string()}</dd></div>
                    {next_invoice.map(|n| view! { <div class="flex justify-between"><dt class="text-slate-600">"On your next invoice"</dt><dd class="font-medium" data-testid="next-invoice">{n.to_string()}</dd></div> })}
                }),
            }}
            <div class="flex justify-between"><dt class="text-slate-600">"Then"</dt><dd class="font-medium" data-testid="new-recurring">{format!("{} per {per}", preview.new_recurring_amount)}</dd></div>
        </dl>
        {(!preview.lines.is_empty()).then(|| view! {
            <details class="mt-2 text-xs text-slate-500">
                <summary class="cursor-pointer">"How this is calculated"</summary>
                <ul class="mt-1 space-y-1 font-mono">
                    {preview.lines.iter().map(|l| view! { <li>{l.explanation.clone()}</li> }).collect_view()}
                </ul>
            </details>
        })}
    }
}
