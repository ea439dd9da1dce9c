//! `/support/approvals`: requests waiting for a second staff member.

use super::layout::ConsoleLayout;
use crate::api::console::{load_approvals, DecideApproval};
use crate::domain::period::format_date;
use crate::error::AppError;
use crate::ui::components::FormError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

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
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match rows.await {
                        Err(AppError::Unauthenticated) => view! { <Redirect path="/support/sign-in"/> }.into_any(),
                        Err(e) => view! { <p role="alert" class="text-red-700">{super::layout::refusal(&e)}</p> }.into_any(),
                        Ok(rows) => view! {
                            <div class="mt-4 overflow-x-auto rounded-xl border border-slate-200 bg-white shadow-sm">
                                <table class="min-w-full divide-y divide-slate-200" data-testid="approvals">
                                    <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                                        <tr><th class="px-3 py-2">"Requested"</th><th class="px-3 py-2">"By"</th><th class="px-3 py-2">"What"</th><th class="px-3 py-2">"Amount"</th><th class="px-3 py-2">"Reason"</th><th class="px-3 py-2">"Status"</th><th class="px-3 py-2"></th></tr>
                                    </thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {rows.into_iter().map(|r| {
                                            let pending = r.status == crate::domain::ApprovalStatus::Pending;
                                            let (approve_id, reject_id) = (r.id.to_string(), r.id.to_string());
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
