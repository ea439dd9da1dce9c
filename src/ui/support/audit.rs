//! `/support/audit`: the audit log, filtered, with its export.

use super::layout::ConsoleLayout;
use crate::api::console::load_audit_log;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

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
                        Err(e) => view! { <p role="alert" class="mt-4 text-red-700">{super::layout::refusal(&e)}</p> }.into_any(),
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
