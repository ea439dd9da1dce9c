//! `/support/catalog`: the published catalog, its revisions, and the draft catalog admins edit
//! and publish as one revision.

use super::layout::ConsoleLayout;
use crate::api::console::{
    load_catalog_console, preview_price_migration, DecidePriceMigration, DiscardCatalogDraft,
    PublishCatalogDraft, RequestPriceMigration, SaveCatalogDraft,
};
use crate::error::AppError;
use crate::ui::components::{FormError, Notice};
use crate::wire::console::CatalogConsoleView;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

/// `/support/catalog`. Every form here is a plain post that comes back to this page with its
/// answer, so it works the same with or without JavaScript.
#[component]
pub fn CatalogPage() -> impl IntoView {
    let save = ServerAction::<SaveCatalogDraft>::new();
    let publish = ServerAction::<PublishCatalogDraft>::new();
    let discard = ServerAction::<DiscardCatalogDraft>::new();
    let request = ServerAction::<RequestPriceMigration>::new();
    let decide = ServerAction::<DecidePriceMigration>::new();
    let page = Resource::new(
        move || {
            (
                save.version().get(),
                publish.version().get(),
                discard.version().get(),
                request.version().get(),
                decide.version().get(),
            )
        },
        |_| load_catalog_console(),
    );
    let error = Signal::derive(move || {
        save.value()
            .get()
            .and_then(Result::err)
            .or_else(|| publish.value().get().and_then(Result::err))
            .or_else(|| discard.value().get().and_then(Result::err))
            .or_else(|| request.value().get().and_then(Result::err))
            .or_else(|| decide.value().get().and_then(Result::err))
    });
    let actions = MigrationActions { request, decide };
    view! {
        <Title text="Catalog · Support console"/>
        <ConsoleLayout>
            <h1 class="text-2xl font-semibold tracking-tight">"Catalog"</h1>
            <p class="mt-1 text-sm text-slate-600">"Plans, prices, meters, usage prices, entitlements and coupons, published together as numbered revisions. A published price never changes: new terms make a new version, and subscribers keep the version they bought until a migration moves them."</p>
            <div class="mt-4 space-y-2">
                <div class="empty:hidden"><Notice/></div>
                <FormError error/>
            </div>
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(AppError::Unauthenticated) => view! { <Redirect path="/support/sign-in"/> }.into_any(),
                        Err(e) => view! { <p role="alert" class="mt-4 text-red-700">{super::layout::refusal(&e)}</p> }.into_any(),
                        Ok(view) => view! {
                            <CatalogBody view=view.clone() save publish discard/>
                            <Migrations view actions/>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </ConsoleLayout>
    }
}

const CARD: &str = "mt-6 rounded-xl border border-slate-200 bg-white p-5 shadow-sm";

#[component]
fn CatalogBody(
    view: CatalogConsoleView,
    save: ServerAction<SaveCatalogDraft>,
    publish: ServerAction<PublishCatalogDraft>,
    discard: ServerAction<DiscardCatalogDraft>,
) -> impl IntoView {
    let CatalogConsoleView {
        revision,
        revisions,
        plans,
        can_edit,
        draft_body,
        draft_saved,
        draft_stale,
        changes,
        problems,
        draft_digest,
        ..
    } = view;
    let has_draft = draft_saved.is_some();
    let publishable =
        can_edit && has_draft && problems.is_empty() && !changes.is_empty() && !draft_stale;
    view! {
        <section class=CARD data-testid="published-catalog">
            <h2 class="text-lg font-semibold">{format!("Published: revision {revision}")}</h2>
            <div class="mt-3 grid gap-4 md:grid-cols-3">
                {plans.into_iter().map(|plan| view! {
                    <div class="rounded-lg border border-slate-200 p-3" data-testid=format!("catalog-plan-{}", plan.id)>
                        <h3 class="font-semibold">{plan.name.clone()}" "<span class="font-mono text-xs text-slate-500">{plan.id.clone()}</span>
                            {plan.archived.then(|| view! { <span class="ml-2 rounded bg-slate-200 px-1.5 text-xs">"archived"</span> })}
                        </h3>
                        <ul class="mt-2 space-y-1 text-sm text-slate-700">
                            {plan.prices.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
                            {plan.usage.into_iter().map(|u| view! { <li class="text-slate-600">{u}</li> }).collect_view()}
                        </ul>
                        <p class="mt-2 text-xs text-slate-500">{plan.entitlements.join(" · ")}</p>
                    </div>
                }).collect_view()}
            </div>
        </section>

        <section class=CARD data-testid="catalog-draft">
            <h2 class="text-lg font-semibold">"Draft"</h2>
            <p class="mt-1 text-sm text-slate-600">{match &draft_saved {
                Some(saved) => format!("{saved}. Publishing lands every change below as revision {} at once; nothing is visible to customers before.", revision + 1),
                None => "No draft: the editor holds the published catalog. Change it and save a draft to see what publishing would do.".to_string(),
            }}</p>
            {draft_stale.then(|| view! {
                <p role="alert" class="mt-2 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="draft-stale">
                    "The catalog was published after this draft was saved. The changes below are against what is published now; save the draft again to publish it, or discard it to start from the published catalog."
                </p>
            })}
            {(!problems.is_empty()).then(|| view! {
                <div class="mt-3 rounded-md border border-red-200 bg-red-50 p-3" data-testid="draft-problems">
                    <p class="text-sm font-semibold text-red-900">{format!("{} problem(s) stop this draft from being published:", problems.len())}</p>
                    <ul class="mt-2 space-y-1 text-sm text-red-900">
                        {problems.iter().map(|p| view! {
                            <li><span class="font-mono text-xs">{p.at.clone()}</span>": "{p.message.clone()}</li>
                        }).collect_view()}
                    </ul>
                </div>
            })}
            {(problems.is_empty() && has_draft).then(|| view! {
                <div class="mt-3 rounded-md border border-slate-200 bg-slate-50 p-3" data-testid="draft-changes">
                    {if changes.is_empty() {
                        view! { <p class="text-sm text-slate-700">"The draft says what is published; publishing it changes nothing."</p> }.into_any()
                    } else {
                        view! {
                            <p class="text-sm font-semibold text-slate-900">{format!("Publishing makes {} change(s):", changes.len())}</p>
                            <ul class="mt-2 space-y-1 font-mono text-xs text-slate-800">
                                {changes.iter().map(|c| view! { <li>{c.clone()}</li> }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </div>
            })}
            {if can_edit {
                view! {
                    <ActionForm action=save attr:class="mt-4" attr:data-testid="draft-form">
                        <label class="text-sm font-medium text-slate-700" for="catalog-body">"Catalog (TOML; the README describes the format)"</label>
                        <textarea id="catalog-body" name="body" rows="24" spellcheck="false" data-testid="draft-body"
                            class="mt-1 block w-full rounded-md border border-slate-300 p-3 font-mono text-xs">{draft_body}</textarea>
                        <button type="submit" class="mt-3 rounded-md bg-slate-900 px-4 py-2 text-sm font-semibold text-white" data-testid="draft-save">"Save draft"</button>
                    </ActionForm>
                    <div class="mt-3 flex flex-wrap gap-3">
                        {publishable.then(|| view! {
                            <ActionForm action=publish attr:data-testid="draft-publish-form">
                                <input type="hidden" name="revision" value=revision.to_string()/>
                                <input type="hidden" name="digest" value=draft_digest.clone()/>
                                <button type="submit" class="rounded-md bg-emerald-700 px-4 py-2 text-sm font-semibold text-white" data-testid="draft-publish">{format!("Publish as revision {}", revision + 1)}</button>
                            </ActionForm>
                        })}
                        {has_draft.then(|| view! {
                            <ActionForm action=discard>
                                <button type="submit" class="rounded-md border border-slate-300 px-4 py-2 text-sm font-semibold text-slate-700" data-testid="draft-discard">"Discard draft"</button>
                            </ActionForm>
                        })}
                    </div>
                }.into_any()
            } else {
                view! {
                    <p class="mt-3 text-sm text-slate-600">"Billing admins read the catalog here; catalog admins edit and publish it."</p>
                    <pre class="mt-3 max-h-96 overflow-auto rounded-md bg-slate-50 p-3 text-xs" data-testid="draft-read-only">{draft_body}</pre>
                }.into_any()
            }}
        </section>

        <section class=CARD data-testid="catalog-revisions">
            <h2 class="text-lg font-semibold">"Revisions"</h2>
            <p class="mt-1 text-sm text-slate-600">"Each change of each revision is in the audit log with who made it and the before and after (actions catalog_…)."</p>
            <ul class="mt-2 space-y-1 text-sm text-slate-700">
                {revisions.into_iter().map(|r| view! {
                    <li>{format!("Revision {} · {} · {} · {}", r.revision, r.published_at, r.published_by, r.summary)}</li>
                }).collect_view()}
            </ul>
        </section>
    }
}

#[derive(Clone, Copy)]
struct MigrationActions {
    request: ServerAction<RequestPriceMigration>,
    decide: ServerAction<DecidePriceMigration>,
}

/// Price migrations: pick a version and the price its subscribers move to, see each customer's
/// amount before and after, ask; a second person approves.
#[component]
fn Migrations(view: CatalogConsoleView, actions: MigrationActions) -> impl IntoView {
    let query = use_query_map().get_untracked();
    let field = |name: &str| query.get(name).unwrap_or_default();
    let (from, to) = (field("from"), field("to"));
    let (min_seats, max_seats, customers) =
        (field("min_seats"), field("max_seats"), field("customers"));
    let asked = !from.is_empty() && !to.is_empty();
    let preview = Resource::new(
        {
            let asked = (
                from.clone(),
                to.clone(),
                min_seats.clone(),
                max_seats.clone(),
                customers.clone(),
            );
            move || asked.clone()
        },
        |(from, to, min, max, customers)| preview_price_migration(from, to, min, max, customers),
    );
    let cohort_fields = StoredValue::new((min_seats.clone(), max_seats.clone(), customers.clone()));
    let select = "rounded border border-slate-300 px-2 py-1 text-sm";
    let can_edit = view.can_edit;
    let can_decide = view.can_decide;
    let MigrationActions { request, decide } = actions;
    view! {
        <section class=CARD id="migrations" data-testid="migrations">
            <h2 class="text-lg font-semibold">"Price migrations"</h2>
            <p class="mt-1 text-sm text-slate-600">"Move the subscribers of one price version to another at their renewal, or on a date with the rest of the period prorated on their next invoice. The preview lists each customer's recurring amount now and after; a second person (another catalog admin or an approver) approves, and each customer is emailed and sees the change on their plan page."</p>
            <form method="get" action="/support/catalog" class="mt-3 flex flex-wrap items-end gap-2" data-testid="migration-preview-form">
                <label class="text-xs font-medium text-slate-600">"Subscribers of"<br/>
                    <select name="from" class=select>
                        {view.price_ids.iter().map(|id| { let selected = *id == from; view! { <option value=id.clone() selected=selected>{id.clone()}</option> } }).collect_view()}
                    </select></label>
                <label class="text-xs font-medium text-slate-600">"move to"<br/>
                    <select name="to" class=select>
                        {view.for_sale_ids.iter().map(|id| { let selected = *id == to; view! { <option value=id.clone() selected=selected>{id.clone()}</option> } }).collect_view()}
                    </select></label>
                <label class="text-xs font-medium text-slate-600">"Seats from"<br/>
                    <input type="number" name="min_seats" min="0" value=min_seats class=format!("{select} w-20")/></label>
                <label class="text-xs font-medium text-slate-600">"to"<br/>
                    <input type="number" name="max_seats" min="0" value=max_seats class=format!("{select} w-20")/></label>
                <label class="text-xs font-medium text-slate-600">"Only these customers (names or ids, comma-separated; empty: all)"<br/>
                    <input type="text" name="customers" value=customers class=format!("{select} w-72")/></label>
                <button type="submit" class="rounded bg-slate-900 px-3 py-1.5 text-sm font-semibold text-white" data-testid="migration-preview">"Preview"</button>
            </form>
            {asked.then(|| view! {
                <Suspense fallback=|| view! { <p class="mt-3 text-slate-500">"Working out the amounts…"</p> }>
                    {move || Suspend::new(async move {
                        match preview.await {
                            Err(e) => view! { <p role="alert" class="mt-3 text-sm text-red-700" data-testid="migration-error">{e.to_string()}</p> }.into_any(),
                            Ok(p) => {
                                let (from, to) = (p.from.clone(), p.to.clone());
                                let (min_seats, max_seats, customers) = cohort_fields.get_value();
                                view! {
                                    <div class="mt-3 overflow-x-auto rounded-lg border border-slate-200" data-testid="migration-preview-table">
                                        <table class="min-w-full divide-y divide-slate-200 text-sm">
                                            <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                                                <tr><th class="px-3 py-2">"Customer"</th><th class="px-3 py-2">"Quantity"</th><th class="px-3 py-2">"Renews"</th><th class="px-3 py-2">"Now"</th><th class="px-3 py-2">"After"</th></tr>
                                            </thead>
                                            <tbody class="divide-y divide-slate-100">
                                                {p.rows.iter().map(|r| view! {
                                                    <tr><td class="px-3 py-2"><a class="text-indigo-700 hover:underline" href=format!("/support/customers/{}", r.org_id)>{r.org_name.clone()}</a></td>
                                                        <td class="px-3 py-2">{r.quantity}</td><td class="px-3 py-2">{r.renews.clone()}</td>
                                                        <td class="px-3 py-2">{r.current.clone()}</td><td class="px-3 py-2">{r.new.clone()}</td></tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                    {(!p.held.is_empty()).then(|| view! {
                                        <ul class="mt-2 text-sm text-amber-800" data-testid="migration-held">
                                            {p.held.iter().map(|h| view! { <li>{h.clone()}</li> }).collect_view()}
                                        </ul>
                                    })}
                                    <p class="mt-2 text-sm text-slate-700" data-testid="migration-totals">
                                        {format!("{} subscriber(s): {}. ", p.rows.len(), p.cohort)}
                                        {p.totals.iter().map(|t| format!("Recurring in {}: {} now, {} after. ", t.currency, t.current, t.new)).collect::<String>()}
                                    </p>
                                    {(can_edit && !p.rows.is_empty()).then(|| view! {
                                        <ActionForm action=request attr:class="mt-3 flex flex-wrap items-end gap-2" attr:data-testid="migration-request-form">
                                            <input type="hidden" name="from" value=from/>
                                            <input type="hidden" name="to" value=to/>
                                            <input type="hidden" name="min_seats" value=min_seats/>
                                            <input type="hidden" name="max_seats" value=max_seats/>
                                            <input type="hidden" name="customers" value=customers/>
                                            <label class="text-xs font-medium text-slate-600">"When"<br/>
                                                <select name="when" class=select data-testid="migration-when">
                                                    <option value="renewal" selected>"At each renewal (on or after the date)"</option>
                                                    <option value="date">"On the date, rest of the period prorated"</option>
                                                </select></label>
                                            <label class="text-xs font-medium text-slate-600">"Date (empty: the next renewal)"<br/>
                                                <input type="date" name="not_before" class="rounded border border-slate-300 px-2 py-1 text-sm"/></label>
                                            <button type="submit" class="rounded bg-indigo-700 px-3 py-1.5 text-sm font-semibold text-white" data-testid="migration-request">"Ask for approval"</button>
                                        </ActionForm>
                                    })}
                                }.into_any()
                            }
                        }
                    })}
                </Suspense>
            })}
            <ul class="mt-4 space-y-2 text-sm text-slate-700" data-testid="migration-list">
                {view.migrations.into_iter().map(|m| {
                    let pending = m.status == "pending";
                    let (approve_id, reject_id) = (m.id.clone(), m.id.clone());
                    view! {
                        <li class="flex flex-wrap items-center gap-3">
                            <span>{format!("{} · asked by {} on {} · {}{}", m.summary, m.requested_by, m.requested_at, m.status, m.decided_by.map(|d| format!(" by {d}")).unwrap_or_default())}</span>
                            {(pending && can_decide).then(|| view! {
                                <ActionForm action=decide>
                                    <input type="hidden" name="id" value=approve_id/>
                                    <input type="hidden" name="decision" value="approve"/>
                                    <button type="submit" class="rounded bg-emerald-700 px-3 py-1 text-sm font-semibold text-white" data-testid="migration-approve">"Approve"</button>
                                </ActionForm>
                                <ActionForm action=decide>
                                    <input type="hidden" name="id" value=reject_id/>
                                    <input type="hidden" name="decision" value="reject"/>
                                    <button type="submit" class="rounded border border-slate-300 px-3 py-1 text-sm font-semibold">"Reject"</button>
                                </ActionForm>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
