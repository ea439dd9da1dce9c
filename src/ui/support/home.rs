//! `/support`: renewals that need attention and the customer search.

use super::layout::ConsoleLayout;
use crate::api::console::search_customers;
use crate::api::staff_actions::load_attention;
use crate::api::support::{current_staff, StaffSignOut};
use crate::domain::period::format_date;
use crate::error::AppError;
use crate::ui::islands::PreloadIsland;
use crate::wire::console::SearchHit;
use leptos::either::EitherOf3;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SupportHome() -> impl IntoView {
    // Holds islands: the shell sends this page the islands script.
    crate::ui::islands::mark();
    let staff = Resource::new(|| (), |_| current_staff());
    let sign_out = ServerAction::<StaffSignOut>::new();
    view! {
        <Title text="Support console"/>
        <ConsoleLayout>
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match staff.await {
                        // A catalog admin sees no customer: their console is the catalog.
                        Ok(Some(s)) if s.role == crate::domain::access::StaffRole::CatalogAdmin => view! {
                            <p role="alert" class="text-slate-700">{super::layout::refusal(&AppError::Forbidden)}" "
                                <a class="text-indigo-700 hover:underline" href="/support/catalog">"Open the catalog"</a></p>
                        }.into_any(),
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

/// Search by email, organisation, invoice number, Stripe customer or payment id: a plain GET form,
/// whose results the server renders, and results as you type once the island is live.
#[component]
fn CustomerSearch() -> impl IntoView {
    let q = use_query_map().get_untracked().get("q").unwrap_or_default();
    let results = Resource::new(
        {
            let q = q.clone();
            move || q.clone()
        },
        search_customers,
    );
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let q = q.clone();
                Suspend::new(async move {
                    let hits = results.await;
                    view! { <PreloadIsland island="search_as_you_type"/><SearchAsYouType q hits/> }
                })
            }}
        </Suspense>
    }
}

#[island(lazy)]
fn SearchAsYouType(q: String, hits: Result<Vec<SearchHit>, AppError>) -> impl IntoView {
    let q = RwSignal::new(q);
    let hits = RwSignal::new(hits);
    // Each keystroke asks again; an answer that arrives after a later one's is dropped.
    let asked = StoredValue::new(0u64);
    let ask = move |text: String| {
        q.set(text.clone());
        let n = asked.get_value() + 1;
        asked.set_value(n);
        leptos::task::spawn_local(async move {
            let answer = search_customers(text).await;
            if asked.get_value() == n {
                hits.set(answer);
            }
        });
    };
    view! {
        <form method="get" action="/support" class="mt-8 flex gap-2" role="search">
            <input type="search" name="q" data-testid="search-input" autocomplete="off"
                placeholder="Email, organisation, invoice number, cus_… or pi_…"
                class="w-full rounded-md border border-slate-300 px-3 py-2"
                prop:value=move || q.get()
                on:input=move |ev| ask(event_target_value(&ev))/>
            <button type="submit" class="rounded-md bg-slate-900 px-4 py-2 text-sm font-semibold text-white">"Search"</button>
        </form>
        {move || match hits.get() {
            Err(e) => EitherOf3::A(view! { <p role="alert" class="mt-4 text-red-700">{e.to_string()}</p> }),
            Ok(found) if found.is_empty() => EitherOf3::B(view! {
                <p class="mt-4 text-sm text-slate-500" data-testid="no-results">{if q.get_untracked().trim().chars().count() < 2 { "Type at least two characters." } else { "No customer matches." }}</p>
            }),
            Ok(found) => EitherOf3::C(view! {
                <ul class="mt-4 divide-y divide-slate-100 overflow-hidden rounded-xl border border-slate-200 bg-white shadow-sm" data-testid="search-results">
                    {found.into_iter().map(|h| view! {
                        <li><a href=format!("/support/customers/{}", h.org_id) class="flex justify-between px-4 py-3 hover:bg-slate-50">
                            <span class="font-medium">{h.org_name}</span>
                            <span class="text-sm text-slate-500">{h.matched}</span>
                        </a></li>
                    }).collect_view()}
                </ul>
            }),
        }}
    }
}
