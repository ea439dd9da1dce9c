use crate::api::auth::current_customer;
use crate::api::catalog::pricing_catalog;
use crate::api::checkout::StartCheckout;
use crate::domain::catalog::{explain_quantity, Plan};
use crate::domain::rounding::round_to_minor_units;
use crate::domain::{IntervalUnit, Price, PriceModel, PricingError};
use crate::ui::components::FormError;
use crate::ui::components::PortalLayout;
use crate::ui::islands::PreloadIsland;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The start page is the pricing page.
#[component]
pub fn HomePage() -> impl IntoView {
    view! { <PricingPage/> }
}

#[component]
pub fn PricingPage() -> impl IntoView {
    // Holds islands: the shell sends this page the islands script.
    crate::ui::islands::mark();
    let catalog = Resource::new(|| (), |_| pricing_catalog());
    let session = Resource::new(|| (), |_| current_customer());
    let checkout = ServerAction::<StartCheckout>::new();
    let checkout_error = Signal::derive(move || checkout.value().get().and_then(Result::err));
    let query = use_query_map();
    let canceled = move || query.read().get("checkout").as_deref() == Some("canceled");
    // The calculator's starting values, from the address its form sends without JavaScript.
    let start = query.get_untracked();
    let calc_plan = start.get("plan").unwrap_or_else(|| "pro".into());
    let calc_seats = start.get("seats").unwrap_or_else(|| "5".into());
    let calc_interval = start.get("calc_interval").unwrap_or_else(|| "month".into());
    let cards_interval = start.get("interval").unwrap_or_default();
    let unit = move || match query.read().get("interval").as_deref() {
        Some("year") => IntervalUnit::Year,
        _ => IntervalUnit::Month,
    };
    view! {
        <Title text="Pricing · Billing portal"/>
        <PortalLayout>
            <section class="mx-auto max-w-2xl text-center">
                <h1 class="text-4xl font-semibold tracking-tight sm:text-5xl">"Pricing that grows with your team"</h1>
                <p class="mt-4 text-lg text-slate-600">"Start free. Pay per seat when you grow. Change or cancel any time, with every charge explained."</p>
                <div class="mt-8 inline-flex rounded-lg border border-slate-200 bg-white p-1 text-sm font-medium shadow-sm" role="group" aria-label="Billing interval">
                    <a href="/pricing?interval=month" data-testid="interval-month"
                        class=move || if unit() == IntervalUnit::Month { "rounded-md bg-indigo-600 px-4 py-1.5 text-white" } else { "rounded-md px-4 py-1.5 text-slate-600 hover:text-slate-900" }>"Monthly"</a>
                    <a href="/pricing?interval=year" data-testid="interval-year"
                        class=move || if unit() == IntervalUnit::Year { "rounded-md bg-indigo-600 px-4 py-1.5 text-white" } else { "rounded-md px-4 py-1.5 text-slate-600 hover:text-slate-900" }>"Annual · 2 months free"</a>
                </div>
            </section>
            {move || canceled().then(|| view! {
                <p role="status" data-testid="checkout-canceled" class="mx-auto mt-8 max-w-xl rounded-md border border-amber-200 bg-amber-50 px-4 py-3 text-center text-sm text-amber-900">
                    "Checkout canceled. Nothing was charged; pick a plan whenever you are ready."
                </p>
            })}
            <div class="mx-auto mt-8 max-w-xl"><FormError error=checkout_error/></div>
            <Suspense fallback=|| view! { <p class="mt-10 text-center text-slate-500">"Loading plans…"</p> }>
                {move || {
                    let (calc_plan, calc_seats, calc_interval, cards_interval) =
                        (calc_plan.clone(), calc_seats.clone(), calc_interval.clone(), cards_interval.clone());
                    Suspend::new(async move {
                    let buyer = matches!(session.await, Ok(Some(s)) if s.role.can_manage_billing());
                    match catalog.await {
                        Err(e) => view! { <p role="alert" class="mt-10 text-center text-red-700">{e.to_string()}</p> }.into_any(),
                        Ok(plans) => {
                            let cards = plans.clone();
                            // The calculator prices; it needs no feature text.
                            let plans: Vec<Plan> = plans
                                .into_iter()
                                .map(|p| Plan { features: Vec::new(), feature_lines: Default::default(), ..p })
                                .collect();
                            view! {
                                <div class="mt-12 grid gap-6 md:grid-cols-3" data-testid="plans">
                                    {move || cards.iter().map(|plan| view! { <PlanCard plan=plan.clone() unit=unit() buyer checkout/> }).collect_view()}
                                </div>
                                <PreloadIsland island="calculator"/>
                                <Calculator plans plan=calc_plan seats=calc_seats interval=calc_interval cards_interval/>
                            }.into_any()
                        }
                    }
                })}}
            </Suspense>
        </PortalLayout>
    }
}

/// The plan's price for the chosen interval, or its first price.
fn price_for(plan: &Plan, unit: IntervalUnit) -> Option<&Price> {
    plan.prices
        .iter()
        .find(|p| p.interval.unit == unit && p.interval.count == 1)
        .or(plan.prices.first())
}

/// "$12.00" and "per seat / month" for a per-unit price (its unit price, whatever its minimum
/// quantity); otherwise the amount for the smallest quantity it may be bought in.
fn headline(price: &Price) -> (String, String) {
    let per_unit = matches!(price.model, PriceModel::PerUnit { .. });
    let amount = match &price.model {
        PriceModel::PerUnit { unit_amount } => round_to_minor_units(*unit_amount, price.currency)
            .map(|m| m.to_string())
            .ok(),
        _ => price
            .amount_for(price.min_quantity.unwrap_or(1).max(1))
            .map(|m| m.to_string())
            .ok(),
    }
    .unwrap_or_else(|| "—".into());
    let unit = price.unit_label.as_deref().unwrap_or("unit");
    let suffix = if per_unit {
        format!("per {unit} / {}", price.interval.describe())
    } else {
        format!("/ {}", price.interval.describe())
    };
    (amount, suffix)
}

#[component]
fn PlanCard(
    plan: Plan,
    unit: IntervalUnit,
    /// The visitor is signed in and may pay for their organisation.
    buyer: bool,
    checkout: ServerAction<StartCheckout>,
) -> impl IntoView {
    let featured = plan.id == "pro";
    let price = price_for(&plan, unit).cloned();
    let (amount, suffix) = price.as_ref().map(headline).unwrap_or_default();
    let trial = price_for(&plan, unit).map(|p| p.trial_days).unwrap_or(0);
    let card = if featured {
        "relative flex flex-col rounded-2xl border-2 border-indigo-600 bg-white p-6 shadow-md"
    } else {
        "relative flex flex-col rounded-2xl border border-slate-200 bg-white p-6 shadow-sm"
    };
    view! {
        <article class=card data-testid=format!("plan-{}", plan.id)>
            {featured.then(|| view! { <span class="absolute -top-3 left-6 rounded-full bg-indigo-600 px-3 py-0.5 text-xs font-semibold text-white">"Most popular"</span> })}
            <h2 class="text-lg font-semibold">{plan.name.clone()}</h2>
            <p class="mt-1 text-sm text-slate-600">{plan.description.clone()}</p>
            <p class="mt-6 flex items-baseline gap-2">
                <span class="text-4xl font-semibold tracking-tight" data-testid="plan-amount">{amount}</span>
                <span class="text-sm text-slate-500">{suffix}</span>
            </p>
            {(trial > 0).then(|| view! { <p class="mt-1 text-sm font-medium text-emerald-700">{format!("{trial}-day free trial")}</p> })}
            <ul class="mt-6 flex-1 space-y-2 text-sm text-slate-700">
                {price.as_ref().map_or(plan.features.as_slice(), |p| plan.features_for(&p.id)).iter().map(|f| view! {
                    <li class="flex gap-2"><span class="text-indigo-600">"✓"</span>{f.clone()}</li>
                }).collect_view()}
            </ul>
            {
                let button = if featured {
                    "mt-3 block w-full rounded-md bg-indigo-600 px-4 py-2.5 text-center text-sm font-semibold text-white hover:bg-indigo-500"
                } else {
                    "mt-3 block w-full rounded-md border border-slate-300 px-4 py-2.5 text-center text-sm font-semibold text-slate-800 hover:bg-slate-50"
                };
                let paid = price.as_ref().is_some_and(|p| p.amount_for(p.min_quantity.unwrap_or(1).max(1)).is_ok_and(|m| m.minor_units() > 0));
                match (buyer, paid, price.clone()) {
                    (true, true, Some(price)) => {
                        let min = price.min_quantity.unwrap_or(1).max(1);
                        let unit = price.unit_label.clone().unwrap_or_else(|| "unit".into());
                        view! {
                            <ActionForm action=checkout attr:class="mt-8" attr:data-testid=format!("checkout-{}", plan.id)>
                                <input type="hidden" name="price_id" value=price.id.clone()/>
                                <label class="flex items-center justify-between gap-3 text-sm text-slate-700">
                                    <span>{format!("{}s", unit)}</span>
                                    <input type="number" name="seats" min=min value=min step="1" inputmode="numeric"
                                        class="w-24 rounded-md border border-slate-300 px-2 py-1.5 text-right"/>
                                </label>
                                <label class="mt-2 flex items-center justify-between gap-3 text-sm text-slate-700">
                                    <span>"Promotion code"</span>
                                    <input type="text" name="promotion_code" autocomplete="off" placeholder="optional" data-testid="promotion-code"
                                        class="w-32 rounded-md border border-slate-300 px-2 py-1.5 uppercase"/>
                                </label>
                                <button type="submit" class=button>{format!("Subscribe to {}", plan.name)}</button>
                            </ActionForm>
                        }.into_any()
                    }
                    (true, false, _) => view! {
                        <p class="mt-8 rounded-md bg-slate-100 px-4 py-2.5 text-center text-sm font-medium text-slate-600">"Included with every account"</p>
                    }.into_any(),
                    _ => view! {
                        <a href="/sign-up" class=button.replace("mt-3", "mt-8")>{format!("Choose {}", plan.name)}</a>
                    }.into_any(),
                }
            }
        </article>
    }
}

/// The total of a plan, interval and seat count, computed by the same domain code that bills it.
#[derive(Clone, Debug, PartialEq)]
struct Estimate {
    total: String,
    period: String,
    formula: String,
}

fn estimate(
    plans: &[Plan],
    plan_id: &str,
    seats: &str,
    unit: IntervalUnit,
) -> Result<Estimate, String> {
    let plan = plans
        .iter()
        .find(|p| p.id == plan_id)
        .ok_or("Choose a plan.")?;
    let price = price_for(plan, unit).ok_or("This plan has no price yet.")?;
    let seats: i64 = seats
        .trim()
        .parse()
        .map_err(|_| "Enter a whole number of seats.".to_string())?;
    let explain = |e: PricingError| explain_quantity(plan, price, e);
    price.check_quantity(seats).map_err(explain)?;
    let quote = price.quote(seats).map_err(explain)?;
    let total = price.amount_for(seats).map_err(explain)?;
    Ok(Estimate {
        total: total.to_string(),
        period: format!("per {}", price.interval.describe()),
        formula: quote.formula,
    })
}

/// The price calculator: answers as the visitor types, with the domain's own pricing compiled to
/// the browser, so the total shown is the one billed. Without JavaScript its form asks the server.
#[island(lazy)]
fn Calculator(
    plans: Vec<Plan>,
    plan: String,
    seats: String,
    interval: String,
    /// The plan cards' interval, kept when the form is sent without JavaScript.
    cards_interval: String,
) -> impl IntoView {
    let plan = RwSignal::new(plan);
    let seats = RwSignal::new(seats);
    let interval = RwSignal::new(interval);
    let options = plans
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect::<Vec<_>>();
    let result = move || {
        let unit = if interval.get() == "year" {
            IntervalUnit::Year
        } else {
            IntervalUnit::Month
        };
        estimate(&plans, &plan.get(), &seats.get(), unit)
    };
    let select = "mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200";
    view! {
        <section id="calculator" class="mx-auto mt-16 max-w-3xl rounded-2xl border border-slate-200 bg-white p-6 shadow-sm sm:p-8">
            <h2 class="text-xl font-semibold">"Price calculator"</h2>
            <p class="mt-1 text-sm text-slate-600">"Pick a plan and a number of seats to see exactly what you would pay."</p>
            <form method="get" action="/pricing#calculator" class="mt-6 grid gap-4 sm:grid-cols-4 sm:items-end">
                // Keeps the plan cards' interval when the form is sent without JavaScript.
                <input type="hidden" name="interval" value=cards_interval/>
                <label class="block text-sm font-medium text-slate-700">"Plan"
                    <select name="plan" class=select data-testid="calc-plan" on:change=move |ev| plan.set(event_target_value(&ev))>
                        {options.into_iter().map(|(id, name)| {
                            let selected = plan.get_untracked() == id;
                            view! { <option value=id.clone() selected=selected>{name}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label class="block text-sm font-medium text-slate-700">"Seats"
                    <input type="number" name="seats" min="0" step="1" inputmode="numeric" class=select data-testid="calc-seats"
                        value=seats.get_untracked() on:input=move |ev| seats.set(event_target_value(&ev))/>
                </label>
                <label class="block text-sm font-medium text-slate-700">"Billing"
                    <select name="calc_interval" class=select data-testid="calc-interval" on:change=move |ev| interval.set(event_target_value(&ev))>
                        <option value="month" selected=interval.get_untracked() != "year">"Monthly"</option>
                        <option value="year" selected=interval.get_untracked() == "year">"Annual"</option>
                    </select>
                </label>
                <button type="submit" class="rounded-md border border-slate-300 px-4 py-2 text-sm font-semibold text-slate-800 hover:bg-slate-50">"Calculate"</button>
            </form>
            <div class="mt-6 rounded-xl bg-slate-50 p-4" aria-live="polite">
                {move || match result() {
                    Ok(e) => Either::Left(view! {
                        <p class="flex items-baseline gap-2">
                            <span class="text-3xl font-semibold tracking-tight" data-testid="calc-total">{e.total}</span>
                            <span class="text-slate-600">{e.period}</span>
                        </p>
                        <p class="mt-1 font-mono text-sm text-slate-600" data-testid="calc-formula">{e.formula}</p>
                    }),
                    Err(message) => Either::Right(view! { <p class="text-sm text-amber-800" data-testid="calc-error">{message}</p> }),
                }}
            </div>
        </section>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::services::seed::demo_catalog;

    #[test]
    fn the_calculator_prices_with_the_billing_rules() {
        let plans = demo_catalog();
        let pro = estimate(&plans, "pro", "5", IntervalUnit::Month).unwrap();
        assert_eq!(pro.total, "$60.00");
        assert_eq!(pro.period, "per month");
        let team_year = estimate(&plans, "team", " 7 ", IntervalUnit::Year).unwrap();
        assert_eq!(team_year.total, "$1,750.00");
        assert_eq!(team_year.period, "per year");
    }

    #[test]
    fn the_calculator_explains_what_it_cannot_price() {
        let plans = demo_catalog();
        let error = |plan, seats| estimate(&plans, plan, seats, IntervalUnit::Month).unwrap_err();
        assert_eq!(error("team", "2"), "Team needs at least 3 seats.");
        assert_eq!(error("free", "2"), "Free allows at most 1 seat(s).");
        assert_eq!(error("pro", "-1"), "Enter 1 seat or more.");
        assert_eq!(error("pro", "two"), "Enter a whole number of seats.");
        assert_eq!(error("gold", "2"), "Choose a plan.");
    }
}
