//! `/billing/usage`: this period's usage per meter, the projected bill, a daily chart drawn as
//! SVG by the page itself, the organisation's API keys and its spend alert.

use crate::api::usage::{
    create_api_key, load_api_keys, load_usage_page, AlertView, CreateApiKey, DayTotal, KeyView,
    NewKey, RevokeApiKey, SetSpendAlert,
};
use crate::domain::period::format_date;
use crate::error::AppError;
use crate::ui::components::{FormError, Notice, PortalLayout};
use crate::ui::islands::PreloadIsland;
use leptos::either::Either;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

/// A bar chart of one value per day: bars scaled to the largest, the largest and the dates
/// labelled, each bar titled with its day and value.
#[component]
fn DailyChart(daily: Vec<DayTotal>, unit: String, period_end: i64) -> impl IntoView {
    let (width, height, left, bottom) = (640.0_f64, 180.0_f64, 48.0_f64, 24.0_f64);
    let top = nice_ceiling(daily.iter().map(|d| d.value).max().unwrap_or(0));
    // A slot for every day of the period, so the days still to come show as room on the right.
    let period_days = daily
        .first()
        .map_or(0, |d| (period_end - d.day + 86_399) / 86_400) as usize;
    let slots = daily.len().max(period_days).max(1) as f64;
    let slot = (width - left) / slots;
    let bar = (slot * 0.7).max(1.0);
    let plot = height - bottom - 8.0;
    let day = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.format("%b %-d").to_string())
            .unwrap_or_default()
    };
    let first = daily.first().map(|d| day(d.day)).unwrap_or_default();
    let last = day(period_end - 1);
    let total: i64 = daily.iter().map(|d| d.value).sum();
    let label = format!(
        "Daily usage from {first} to {last}: {total} {unit} so far, the scale's top is {top} a day"
    );
    view! {
        <svg viewBox=format!("0 0 {width} {height}") class="h-48 w-full" role="img" aria-label=label data-testid="usage-chart">
            <line x1=left y1=8 x2=left y2=height - bottom stroke="#cbd5e1"/>
            <line x1=left y1=height - bottom x2=width y2=height - bottom stroke="#cbd5e1"/>
            <text x=left - 6.0 y=14 text-anchor="end" font-size="11" fill="#64748b">{top.to_string()}</text>
            <text x=left - 6.0 y=height - bottom text-anchor="end" font-size="11" fill="#64748b">"0"</text>
            <line x1=left y1=8 x2=width y2=8 stroke="#f1f5f9"/>
            {daily.iter().enumerate().map(|(i, &DayTotal { day: t, value: v })| {
                let h = if top > 0 { plot * (v as f64) / (top as f64) } else { 0.0 };
                let x = left + slot * i as f64 + (slot - bar) / 2.0;
                let y = height - bottom - h;
                view! {
                    <rect x=format!("{x:.1}") y=format!("{y:.1}") width=format!("{bar:.1}") height=format!("{h:.1}") rx="2" fill="#6366f1" data-testid="chart-bar" data-value=v.to_string()>
                        <title>{format!("{}: {v} {}", day(t), unit)}</title>
                    </rect>
                }
            }).collect_view()}
            <text x=left y=height - 6.0 font-size="11" fill="#64748b">{first}</text>
            <text x=width y=height - 6.0 text-anchor="end" font-size="11" fill="#64748b">{last}</text>
        </svg>
    }
}

/// A count with its unit: "1 minute", "1,500 minutes", "3 GB".
fn units(n: i64, unit: &str) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if n < 0 { "-" } else { "" };
    let plural = n != 1 && unit.chars().all(|c| c.is_ascii_lowercase() || c == ' ');
    format!("{sign}{grouped} {unit}{}", if plural { "s" } else { "" })
}

/// The smallest of 1, 2 or 5 × 10ⁿ at or above `value` (0 stays 0).
fn nice_ceiling(value: i64) -> i64 {
    if value <= 0 {
        return 0;
    }
    let mut step = 1_i64;
    loop {
        for m in [1, 2, 5] {
            if let Some(candidate) = step.checked_mul(m) {
                if candidate >= value {
                    return candidate;
                }
            }
        }
        match step.checked_mul(10) {
            Some(next) => step = next,
            None => return value,
        }
    }
}

#[component]
pub fn UsagePage() -> impl IntoView {
    // Holds islands: the shell sends this page the islands script.
    crate::ui::islands::mark();
    let query = use_query_map();
    let page = Resource::new(
        move || query.read().get("meter").unwrap_or_default(),
        load_usage_page,
    );
    view! {
        <Title text="Usage · Billing portal"/>
        <PortalLayout>
            <p class="text-sm font-medium uppercase tracking-wide text-indigo-600">"Billing"</p>
            <h1 class="mt-1 text-3xl font-semibold tracking-tight">"Usage"</h1>
            <div class="mt-4 empty:hidden"><Notice/></div>
            <Suspense fallback=|| view! { <p class="mt-6 text-slate-500">"Loading usage…"</p> }>
                {move || Suspend::new(async move {
                    let p = match page.await {
                        Err(AppError::Unauthenticated) => return view! { <Redirect path="/sign-in?next=/billing/usage"/> }.into_any(),
                        Err(e) => return view! { <p role="alert" class="mt-6 text-red-700">{e.to_string()}</p> }.into_any(),
                        Ok(p) => p,
                    };
                    let chart_unit = p.meters.iter().find(|m| m.id == p.chart_meter).map(|m| format!("{}s", m.unit_label)).unwrap_or_default();
                    let chart_name = p.meters.iter().find(|m| m.id == p.chart_meter).map(|m| m.name.clone()).unwrap_or_default();
                    let can_manage = p.can_manage;
                    let org_id = p.org_id.clone();
                    let AlertView { amount: alert_amount, hard_cap: alert_cap } = p.alert.clone().unwrap_or_default();
                    view! {
                        <p class="mt-1 text-slate-600">{format!("{} · period {} – {}", p.plan_name.clone().unwrap_or_else(|| "No plan".into()), format_date(p.period_start), format_date(p.period_end))}</p>
                        {p.capped.then(|| view! { <p role="alert" data-testid="capped" class="mt-4 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">"Your usage charges reached your hard cap: metered use is paused until the next period or until you raise the cap."</p> })}
                        <section class="mt-6 grid gap-4 sm:grid-cols-3">
                            <div class=CARD>
                                <p class="text-xs font-semibold uppercase tracking-wide text-slate-500">"Usage charges so far"</p>
                                <p class="mt-2 text-2xl font-semibold" data-testid="usage-so-far">{p.usage_so_far.clone()}</p>
                            </div>
                            <div class=CARD>
                                <p class="text-xs font-semibold uppercase tracking-wide text-slate-500">"Projected usage charges"</p>
                                <p class="mt-2 text-2xl font-semibold" data-testid="projected-usage">{p.projected_usage.clone()}</p>
                                <p class="mt-1 text-xs text-slate-500">"At this period's rate so far, to the period end."</p>
                            </div>
                            <div class=CARD>
                                <p class="text-xs font-semibold uppercase tracking-wide text-slate-500">"Projected next bill"</p>
                                <p class="mt-2 text-2xl font-semibold" data-testid="projected-total">{p.projected_total.clone()}</p>
                                <p class="mt-1 text-xs text-slate-500">{format!("{} for the plan, plus usage.", p.recurring)}</p>
                            </div>
                        </section>
                        <section class=format!("{CARD} mt-6")>
                            <div class="flex flex-wrap items-center justify-between gap-2">
                                <h2 class="text-lg font-semibold">{format!("{chart_name} per day")}</h2>
                                <nav class="flex flex-wrap gap-2 text-sm">
                                    {p.meters.iter().map(|m| {
                                        let active = m.id == p.chart_meter;
                                        let class = if active { "rounded-full bg-slate-900 px-3 py-1 text-white" } else { "rounded-full border border-slate-300 px-3 py-1 text-slate-700 hover:bg-slate-100" };
                                        view! { <a href=format!("/billing/usage?meter={}", m.id) class=class>{m.name.clone()}</a> }
                                    }).collect_view()}
                                </nav>
                            </div>
                            <DailyChart daily=p.daily.clone() unit=chart_unit period_end=p.period_end/>
                        </section>
                        <div class="mt-6 overflow-hidden rounded-xl border border-slate-200 bg-white shadow-sm">
                            <table class="min-w-full divide-y divide-slate-200" data-testid="meters">
                                <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                                    <tr><th class="px-4 py-2">"Meter"</th><th class="px-4 py-2 text-right">"This period"</th><th class="px-4 py-2 text-right">"Included"</th><th class="px-4 py-2 text-right">"Charges"</th><th class="px-4 py-2 text-right">"Projected"</th></tr>
                                </thead>
                                <tbody class="divide-y divide-slate-100">
                                    {p.meters.iter().map(|m| view! {
                                        <tr data-testid=format!("meter-{}", m.id)>
                                            <td class="px-4 py-3 text-sm"><span class="font-medium">{m.name.clone()}</span><br/><span class="text-xs text-slate-500">{m.counts.clone()}</span></td>
                                            <td class="px-4 py-3 text-right text-sm" data-testid="meter-quantity">{units(m.quantity, &m.unit_label)}</td>
                                            <td class="px-4 py-3 text-right text-sm">{m.limit.map(|l| units(l, &m.unit_label)).unwrap_or_else(|| "—".into())}</td>
                                            <td class="px-4 py-3 text-right text-sm" title=m.formula.clone().unwrap_or_default()>{m.amount.clone().unwrap_or_else(|| "—".into())}</td>
                                            <td class="px-4 py-3 text-right text-sm">{m.projected_amount.clone().map(|a| format!("{a} ({})", units(m.projected_quantity, &m.unit_label))).unwrap_or_else(|| "—".into())}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        {can_manage.then(|| view! {
                            <section class="mt-8 grid gap-6 lg:grid-cols-2">
                                <SpendAlert amount=alert_amount hard_cap=alert_cap currency=p.currency.clone()/>
                                <div class=CARD>
                                    <h2 class="text-lg font-semibold">"API keys"</h2>
                                    <p class="mt-1 text-sm text-slate-600">"Send usage events to POST /api/v1/usage-events with Authorization: Bearer <key>. The API is described at "<a class="text-indigo-700 hover:underline" href="/api/v1/openapi.json">"/api/v1/openapi.json"</a>"."</p>
                                    <p class="mt-2 text-sm text-slate-600">"Your customer id in events: "<code class="rounded bg-slate-100 px-1 font-mono text-xs" data-testid="customer-id">{org_id.to_string()}</code></p>
                                    <KeyFormErrors/>
                                    <PreloadIsland island="api_keys"/>
                                    <ApiKeys keys=p.keys.clone()/>
                                </div>
                            </section>
                        })}
                    }.into_any()
                })}
            </Suspense>
        </PortalLayout>
    }
}

const CARD: &str = "rounded-xl border border-slate-200 bg-white p-5 shadow-sm";
const INPUT: &str = "rounded-md border border-slate-300 px-3 py-1.5 text-sm";

/// The spend alert's form; its answer comes back as the page's notice.
#[component]
fn SpendAlert(amount: String, hard_cap: bool, currency: String) -> impl IntoView {
    let alert = ServerAction::<SetSpendAlert>::new();
    let error = Signal::derive(move || alert.value().get().and_then(Result::err));
    view! {
        <div class=CARD>
            <h2 class="text-lg font-semibold">"Spend alert"</h2>
            <p class="mt-1 text-sm text-slate-600">"We email you once a period when projected usage charges reach this amount. With a hard cap, metered use is refused once the charges reach it."</p>
            <div class="mt-3"><FormError error/></div>
            <ActionForm action=alert attr:class="mt-4 flex flex-wrap items-center gap-3" attr:data-testid="alert-form">
                <input type="text" name="amount" value=amount placeholder=format!("Amount in {currency}, e.g. 50.00") class=format!("{INPUT} w-48")/>
                <label class="flex items-center gap-2 text-sm"><input type="checkbox" name="hard_cap" value="on" checked=hard_cap/>"Hard cap"</label>
                <button type="submit" class="rounded-md bg-slate-900 px-3 py-1.5 text-sm font-semibold text-white">"Save"</button>
            </ActionForm>
        </div>
    }
}

/// The errors of the key forms posted without JavaScript, from the address they came back to.
#[component]
fn KeyFormErrors() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let error = Signal::derive(move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| revoke.value().get().and_then(Result::err))
    });
    view! { <div class="mt-3"><FormError error/></div> }
}

/// The organisation's API keys. With JavaScript a new key's secret is shown once, in place, and
/// the list follows; revoking is a plain post that comes back to the page with its notice.
#[island(lazy)]
fn ApiKeys(keys: Vec<KeyView>) -> impl IntoView {
    let keys = RwSignal::new(keys);
    let name = RwSignal::new(String::new());
    let created = RwSignal::new(None::<Result<NewKey, AppError>>);
    let busy = RwSignal::new(false);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let text = name.get_untracked();
        leptos::task::spawn_local(async move {
            let answer = create_api_key(text).await;
            if answer.is_ok() {
                name.set(String::new());
                if let Ok(list) = load_api_keys().await {
                    keys.set(list);
                }
            }
            created.set(Some(answer));
            busy.set(false);
        });
    };
    let error = Signal::derive(move || created.get().and_then(Result::err));
    view! {
        <div class="mt-3"><FormError error/></div>
        <form method="post" action=CreateApiKey::url() on:submit=create class="mt-4 flex flex-wrap items-center gap-3" data-testid="create-key-form">
            <input type="text" name="name" placeholder="Key name, e.g. CI pipeline" class=format!("{INPUT} w-56")
                prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            <button type="submit" disabled=move || busy.get() class="rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-semibold text-white hover:bg-indigo-500 disabled:opacity-60">"Create key"</button>
        </form>
        {move || created.get().and_then(Result::ok).map(|k| view! {
            <div class="mt-3 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm" data-testid="new-key">
                <p class="font-medium">{format!("Key \"{}\" created. Copy it now: it is not shown again.", k.name)}</p>
                <code class="mt-2 block break-all rounded bg-white px-2 py-1 font-mono text-xs" data-testid="new-key-secret">{k.secret}</code>
            </div>
        })}
        <ul class="mt-4 divide-y divide-slate-100 text-sm" data-testid="api-keys">
            {move || keys.get().into_iter().map(|k| {
                view! {
                    <li class="flex items-center justify-between gap-3 py-2">
                        <span>
                            <span class="font-medium">{k.name.clone()}</span>" "
                            <code class="text-xs text-slate-500">{format!("{}…", k.prefix)}</code><br/>
                            <span class="text-xs text-slate-500">{format!("created {}{}", format_date(k.created_at), k.last_used_at.map(|t| format!(" · last used {}", format_date(t))).unwrap_or_else(|| " · never used".into()))}</span>
                        </span>
                        {if k.revoked {
                            Either::Left(view! { <span class="text-xs font-semibold uppercase text-slate-400">"Revoked"</span> })
                        } else {
                            Either::Right(view! {
                                <form method="post" action=RevokeApiKey::url()>
                                    <input type="hidden" name="id" value=k.id/>
                                    <button type="submit" class="rounded-md border border-slate-300 px-2 py-1 text-xs font-medium hover:bg-slate-100">"Revoke"</button>
                                </form>
                            })
                        }}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_read_with_their_units() {
        assert_eq!(super::units(1, "minute"), "1 minute");
        assert_eq!(super::units(1500, "minute"), "1,500 minutes");
        assert_eq!(super::units(0, "user"), "0 users");
        assert_eq!(super::units(1_234_567, "call"), "1,234,567 calls");
        assert_eq!(super::units(12, "GB"), "12 GB");
    }

    #[test]
    fn chart_scales_to_round_numbers() {
        let cases = [
            (0, 0),
            (1, 1),
            (3, 5),
            (7, 10),
            (11, 20),
            (320, 500),
            (1_000, 1_000),
            (1_001, 2_000),
        ];
        for (value, expected) in cases {
            assert_eq!(super::nice_ceiling(value), expected, "{value}");
        }
    }
}
