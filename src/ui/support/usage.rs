//! `/support/customers/:id/usage`: a customer's usage events, by meter and dates.

use super::layout::ConsoleLayout;
use crate::api::console::load_usage_events;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_params_map, use_query_map};

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
                        Err(e) => return view! { <p role="alert" class="text-red-700">{super::layout::refusal(&e)}</p> }.into_any(),
                        Ok(d) => d,
                    };
                    let back = format!("/support/customers/{}", d.org_id);
                    let range = format!("from={}&until={}", d.from, d.until);
                    view! {
                        <p class="text-sm"><a class="text-indigo-700 hover:underline" href=back>{format!("← {}", d.org_name)}</a></p>
                        <h1 class="mt-2 text-2xl font-semibold tracking-tight">{format!("{} · usage events", d.meter_name)}</h1>
                        <p class="mt-1 text-sm text-slate-600" data-testid="usage-total">{format!("{} {} from {} to {}: {}.", d.total, d.unit_label, when(d.from), when(d.until), d.counts)}</p>
                        <nav class="mt-3 flex flex-wrap gap-2 text-sm">
                            {d.meters.iter().map(|m| {
                                let (id, name) = (&m.id, &m.label);
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
