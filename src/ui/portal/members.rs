use crate::api::members::{
    dev_mailbox, load_invitation, load_members, AcceptInvitation, ChangeMemberRole, InviteMember,
    RemoveMember, RevokeInvitation,
};
use crate::api::subscription::load_plan_page;
use crate::domain::period::format_date;
use crate::error::AppError;
use crate::ui::components::{AuthCard, Field, FormError, NotFound, PortalLayout, SubmitButton};
use crate::wire::plan::preview;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_params_map;

const ROLES: [(&str, &str); 3] = [
    ("member", "Member"),
    ("billing_admin", "Billing admin"),
    ("owner", "Owner"),
];

/// `/billing/members`: members and pending invitations, each taking a seat; invite, change roles,
/// remove, revoke.
#[component]
pub fn MembersPage() -> impl IntoView {
    let invite = ServerAction::<InviteMember>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let set_role = ServerAction::<ChangeMemberRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let versions = move || {
        (
            invite.version().get(),
            revoke.version().get(),
            set_role.version().get(),
            remove.version().get(),
        )
    };
    let page = Resource::new(versions, |_| load_members());
    let plan = Resource::new(versions, |_| load_plan_page());
    let error = Signal::derive(move || {
        [
            invite.value().get().and_then(Result::err),
            revoke.value().get().and_then(Result::err),
            set_role.value().get().and_then(Result::err),
            remove.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
    });
    let cell = "px-4 py-3 text-sm";
    view! {
        <Title text="Members · Billing portal"/>
        <PortalLayout>
            <p class="text-sm font-medium uppercase tracking-wide text-indigo-600">"Billing"</p>
            <h1 class="mt-1 text-3xl font-semibold tracking-tight">"Members and seats"</h1>
            <div class="mt-6"><FormError error/></div>
            <Suspense fallback=|| view! { <p class="mt-6 text-slate-500">"Loading members…"</p> }>
                {move || Suspend::new(async move {
                    let data = match page.await {
                        Err(AppError::Unauthenticated) => return view! { <Redirect path="/sign-in?next=/billing/members"/> }.into_any(),
                        Err(e) => return view! { <p role="alert" class="mt-6 text-red-700">{e.to_string()}</p> }.into_any(),
                        Ok(data) => data,
                    };
                    // What one more seat costs now, from the same preview as the plan page.
                    let extra_seat = plan.await.ok().and_then(|p| {
                        let current = p.current.clone()?;
                        let preview = preview(&current, &current.price, current.quantity + 1, p.now, &p.policies).ok()?;
                        Some((preview.amount_due_now, current.version))
                    });
                    let full = data.seats_in_use >= data.seats;
                    let me = data.me.clone();
                    let can_manage = data.can_manage;
                    view! {
                        <p class="mt-4 text-slate-700" data-testid="seat-usage">
                            {format!("{} of {} seat(s) in use", data.seats_in_use, data.seats)}
                        </p>
                        <div class="mt-4 overflow-hidden rounded-xl border border-slate-200 bg-white shadow-sm">
                            <table class="min-w-full divide-y divide-slate-200">
                                <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                                    <tr><th class="px-4 py-2">"Member"</th><th class="px-4 py-2">"Role"</th><th class="px-4 py-2">"Since"</th><th class="px-4 py-2"></th></tr>
                                </thead>
                                <tbody class="divide-y divide-slate-100" data-testid="members">
                                    {data.members.clone().into_iter().map(|m| {
                                        let is_me = m.email == me;
                                        let user_id = m.user_id.to_string();
                                        let role_user_id = m.user_id.to_string();
                                        let role = m.role;
                                        view! {
                                            <tr>
                                                <td class=cell>{m.email.clone()}{is_me.then_some(" (you)")}</td>
                                                <td class=cell>
                                                    {if can_manage && !is_me {
                                                        view! {
                                                            <ActionForm action=set_role attr:class="flex items-center gap-2">
                                                                <input type="hidden" name="user_id" value=role_user_id/>
                                                                <select name="role" class="rounded-md border border-slate-300 px-2 py-1 text-sm">
                                                                    {ROLES.iter().map(|(code, label)| view! { <option value=*code selected=role.as_str() == *code>{*label}</option> }).collect_view()}
                                                                </select>
                                                                <button type="submit" class="text-sm font-medium text-indigo-600 hover:underline">"Save"</button>
                                                            </ActionForm>
                                                        }.into_any()
                                                    } else {
                                                        view! { <span>{m.role.label()}</span> }.into_any()
                                                    }}
                                                </td>
                                                <td class=cell>{format_date(m.joined_at)}</td>
                                                <td class=cell>
                                                    {(can_manage && !is_me).then(move || view! {
                                                        <ActionForm action=remove>
                                                            <input type="hidden" name="user_id" value=user_id/>
                                                            <button type="submit" class="text-sm font-medium text-red-700 hover:underline">"Remove"</button>
                                                        </ActionForm>
                                                    })}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                    {data.invitations.clone().into_iter().map(|i| view! {
                                        <tr class="bg-amber-50/50" data-testid="pending-invitation">
                                            <td class=cell>{i.email.clone()}<span class="ml-2 rounded-full bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-800">"Invited"</span></td>
                                            <td class=cell>{i.role.label()}</td>
                                            <td class=cell>{format!("expires {}", format_date(i.expires_at))}</td>
                                            <td class=cell>
                                                {can_manage.then(|| view! {
                                                    <ActionForm action=revoke>
                                                        <input type="hidden" name="id" value=i.id.to_string()/>
                                                        <button type="submit" class="text-sm font-medium text-red-700 hover:underline">"Revoke"</button>
                                                    </ActionForm>
                                                })}
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        {data.can_manage.then(|| view! {
                            <section class="mt-8 rounded-xl border border-slate-200 bg-white p-6 shadow-sm">
                                <h2 class="text-lg font-semibold">"Invite a member"</h2>
                                <ActionForm action=invite attr:class="mt-4 grid gap-4 sm:grid-cols-3 sm:items-end" attr:novalidate=true>
                                    <Field label="Email" name="email" kind="email"/>
                                    <label class="block text-sm font-medium text-slate-700">"Role"
                                        <select name="role" class="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2">
                                            {ROLES.iter().map(|(code, label)| view! { <option value=*code>{*label}</option> }).collect_view()}
                                        </select>
                                    </label>
                                    {match (full, extra_seat) {
                                        (true, Some((due, version))) => view! {
                                            <input type="hidden" name="expected_due" value=due.minor_units()/>
                                            <input type="hidden" name="version" value=version/>
                                            <button type="submit" data-testid="invite-submit" class="rounded-md bg-indigo-600 px-4 py-2.5 text-sm font-semibold text-white hover:bg-indigo-500">
                                                {format!("Add a seat ({due} now) and invite")}
                                            </button>
                                        }.into_any(),
                                        _ => view! {
                                            <button type="submit" data-testid="invite-submit" class="rounded-md bg-indigo-600 px-4 py-2.5 text-sm font-semibold text-white hover:bg-indigo-500">"Send invitation"</button>
                                        }.into_any(),
                                    }}
                                </ActionForm>
                                {(full && extra_seat.is_some()).then(|| view! {
                                    <p class="mt-3 text-sm text-slate-600" data-testid="extra-seat-note">"Every seat is taken: inviting adds one seat now, prorated to your renewal date, charged to your saved card."</p>
                                })}
                                {(full && !data.subscribed).then(|| view! {
                                    <p class="mt-3 text-sm text-slate-600">"The Free plan has one seat. "<a href="/pricing" class="font-medium text-indigo-600 hover:underline">"Choose a paid plan"</a>" to invite members."</p>
                                })}
                            </section>
                        })}
                    }.into_any()
                })}
            </Suspense>
        </PortalLayout>
    }
}

/// `/invite/:token`: accept an invitation, signing in to (or creating) the invited account.
#[component]
pub fn InvitationPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let details = Resource::new(token, load_invitation);
    let accept = ServerAction::<AcceptInvitation>::new();
    let error = Signal::derive(move || accept.value().get().and_then(Result::err));
    view! {
        <Title text="Invitation · Billing portal"/>
        <PortalLayout>
            <Suspense fallback=|| view! { <p class="text-slate-500">"Loading the invitation…"</p> }>
                {move || Suspend::new(async move {
                    match details.await {
                        Err(e) => view! { <AuthCard title="Invitation"><p role="alert" class="text-red-700">{e.to_string()}</p></AuthCard> }.into_any(),
                        Ok(d) if d.status != crate::domain::InvitationStatus::Pending => view! {
                            <AuthCard title="Invitation">
                                <p class="text-slate-700" data-testid="invitation-status">{format!("This invitation was {}. Ask {} for a new one.", d.status, d.org_name)}</p>
                            </AuthCard>
                        }.into_any(),
                        Ok(d) => {
                            let needs_password = d.signed_in_as.as_deref() != Some(d.email.as_str());
                            let label = "Password";
                            view! {
                                <AuthCard title="Join your team">
                                    <p class="mb-4 text-slate-700" data-testid="invitation-summary">{format!("You are invited to join {} as {}, with {}.", d.org_name, d.role.label().to_lowercase(), d.email)}</p>
                                    <ActionForm action=accept attr:class="space-y-4" attr:novalidate=true>
                                        <FormError error/>
                                        <input type="hidden" name="token" value=token()/>
                                        {needs_password.then(|| view! { <Field label=label name="password" kind="password" autocomplete="current-password" hint="If you already have an account with this address, its password; if not, choose one (at least 10 characters)."/> })}
                                        <SubmitButton label="Accept invitation" pending=accept.pending().into()/>
                                    </ActionForm>
                                </AuthCard>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </PortalLayout>
    }
}

/// `/dev/mailbox`: the emails the portal queued, for support staff when the development mailbox
/// is on; for everyone else it is a page that does not exist.
#[component]
pub fn DevMailboxPage() -> impl IntoView {
    let emails = Resource::new(|| (), |_| dev_mailbox());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match emails.await {
                    Err(AppError::NotFound(_)) => view! { <NotFound/> }.into_any(),
                    Err(e) => view! { <PortalLayout><p role="alert" class="mt-4 text-red-700">{e.to_string()}</p></PortalLayout> }.into_any(),
                    Ok(list) => view! {
                        <Title text="Development mailbox"/>
                        <PortalLayout>
                            <h1 class="text-2xl font-semibold">"Development mailbox"</h1>
                            <p class="mt-1 text-sm text-slate-600">"Emails the portal queued, newest first. Shown to support staff because DEV_MAILBOX is on."</p>
                            <ul class="mt-6 space-y-4" data-testid="mailbox">
                                {list.into_iter().map(|m| view! {
                                    <li class="rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
                                        <p class="text-xs text-slate-500">{format!("To {} · {}", m.to, format_date(m.created_at))}</p>
                                        <p class="mt-1 font-semibold">{m.subject}</p>
                                        <pre class="mt-2 whitespace-pre-wrap font-sans text-sm text-slate-700">{linkify(&m.body)}</pre>
                                    </li>
                                }).collect_view()}
                            </ul>
                        </PortalLayout>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The body's text with its http(s) links made clickable.
fn linkify(body: &str) -> impl IntoView {
    body.split_inclusive(char::is_whitespace)
        .map(|word| {
            let trimmed = word.trim_end();
            if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
                let rest = word[trimmed.len()..].to_string();
                view! { <a href=trimmed.to_string() class="text-indigo-600 underline">{trimmed.to_string()}</a>{rest} }.into_any()
            } else {
                view! { {word.to_string()} }.into_any()
            }
        })
        .collect_view()
}
