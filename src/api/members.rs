//! Members, invitations and seats. Every member and pending invitation takes a seat; inviting
//! beyond the seats paid for adds one, with its prorated charge shown and confirmed first.

use super::AppError;
use crate::domain::access::Role;
use crate::domain::ids::{InvitationId, UserId};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// How long an invitation link works.
pub const INVITATION_DAYS: i64 = 7;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub user_id: UserId,
    pub email: String,
    pub role: Role,
    pub joined_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub id: InvitationId,
    pub email: String,
    pub role: Role,
    pub expires_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersPage {
    pub org_name: String,
    pub me: String,
    pub members: Vec<MemberView>,
    pub invitations: Vec<InvitationView>,
    /// Seats paid for (1 on the free plan).
    pub seats: i64,
    pub seats_in_use: i64,
    pub can_manage: bool,
    pub subscribed: bool,
}

/// An invitation as its link's page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationDetails {
    pub org_name: String,
    pub email: String,
    pub role: Role,
    /// "pending", "accepted", "expired" or "revoked".
    pub status: crate::domain::InvitationStatus,
    pub signed_in_as: Option<String>,
}

/// The member a form names; text that is no user's id names none.
#[cfg(feature = "ssr")]
fn member_id(text: &str) -> Result<UserId, AppError> {
    UserId::parse(text).map_err(|_| AppError::NotFound("That member".into()))
}

#[server(endpoint = "members/list", output = crate::error::JsonAnswer)]
pub async fn load_members() -> Result<MembersPage, AppError> {
    use crate::store::members;
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    let now = state.now();
    let sub = crate::store::subscriptions::live_for_org(&state.db, &customer.org_id).await?;
    Ok(MembersPage {
        members: members::members(&state.db, &customer.org_id)
            .await?
            .into_iter()
            .map(|m| MemberView {
                user_id: m.user_id,
                email: m.email,
                role: m.role,
                joined_at: m.joined_at,
            })
            .collect(),
        invitations: members::pending_invitations(&state.db, &customer.org_id, now)
            .await?
            .into_iter()
            .map(|i| InvitationView {
                id: i.id,
                email: i.email,
                role: i.role,
                expires_at: i.expires_at,
            })
            .collect(),
        seats: sub.as_ref().map(|s| s.quantity).unwrap_or(1),
        seats_in_use: members::seats_in_use(&state.db, &customer.org_id, now).await?,
        can_manage: customer.role.can_manage_billing(),
        subscribed: sub.is_some(),
        org_name: customer.org_name,
        me: customer.email,
    })
}

/// Invites `email` with `role`. When every seat is taken, `expected_due` and `version` confirm the
/// prorated charge for one more seat (as previewed on the page).
#[server(endpoint = "members/invite", output = crate::error::JsonAnswer)]
pub async fn invite_member(
    email: String,
    role: String,
    expected_due: Option<String>,
    version: Option<String>,
) -> Result<(), AppError> {
    use crate::store::members::{self, InviteError, OutgoingEmail};
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    if !customer.role.can_manage_billing() {
        return Err(AppError::Forbidden);
    }
    let email = crate::domain::access::Email::parse(&email)?;
    let role = Role::parse(role.trim()).ok_or_else(|| {
        AppError::Invalid(
            "Choose a role for the new member: owner, billing admin or member.".into(),
        )
    })?;
    if role == Role::Owner && customer.role != Role::Owner {
        return Err(AppError::Invalid(
            "Only an owner can invite another owner.".into(),
        ));
    }
    let now = state.now();
    let sub = crate::store::subscriptions::live_for_org(&state.db, &customer.org_id).await?;
    let cap = members::current_seat_cap(&state.db, &customer.org_id, now).await?;
    let already = members::members(&state.db, &customer.org_id)
        .await?
        .iter()
        .any(|m| m.email == email.as_str())
        || members::pending_invitations(&state.db, &customer.org_id, now)
            .await?
            .iter()
            .any(|i| i.email == email.as_str());
    if already {
        return Err(AppError::Conflict(format!(
            "{} is already a member or invited.",
            email.as_str()
        )));
    }
    if cap.in_use + 1 > cap.limit() {
        if let Some(after) = cap.scheduled.filter(|s| cap.in_use + 1 > *s) {
            return Err(no_seat_after_scheduled_change(after));
        }
        let Some(sub) = sub else {
            return Err(AppError::Invalid(
                "The Free plan has one seat. Choose a paid plan on the pricing page to invite members.".into(),
            ));
        };
        let expected = expected_due
            .filter(|d| !d.trim().is_empty())
            .ok_or_else(|| {
                AppError::Conflict(
                    "Every seat is taken: inviting adds one. Review the charge shown and confirm."
                        .into(),
                )
            })?;
        // The same path as a seat change on the plan page: previewed, version-checked, charged.
        super::subscription::change_subscription(
            sub.price_id.clone(),
            (sub.quantity + 1).to_string(),
            expected,
            version.unwrap_or_default(),
        )
        .await?;
    }
    let (token, token_hash) = crate::server::auth::new_session_token();
    let link = format!("{}/invite/{token}", state.config.public_base_url);
    let subject = format!(
        "{} invited you to {} on the billing portal",
        customer.email, customer.org_name
    );
    let body = format!(
        "{} invited you to join {} as {}.\n\nAccept the invitation: {link}\n\nThe link works for {INVITATION_DAYS} days.",
        customer.email,
        customer.org_name,
        role.label().to_lowercase()
    );
    members::invite(
        &state.db,
        &customer.org_id,
        email.as_str(),
        role,
        &token_hash,
        &customer.actor(),
        now,
        now + INVITATION_DAYS * 86_400,
        &OutgoingEmail {
            to: email.as_str(),
            subject: &subject,
            body: &body,
        },
    )
    .await
    .map_err(|e| match e {
        InviteError::AlreadyMember | InviteError::AlreadyInvited => AppError::Conflict(format!(
            "{} is already a member or invited.",
            email.as_str()
        )),
        InviteError::NoSeat(cap) => match cap.scheduled {
            Some(after) if cap.in_use + 1 > after => no_seat_after_scheduled_change(after),
            _ => AppError::Conflict(format!(
                "Every seat is taken ({} of {}): another invitation took the last one just now. Review the seats and invite again.",
                cap.in_use,
                cap.limit()
            )),
        },
        InviteError::Db(e) => AppError::internal(e),
    })?;
    tracing::info!(org = %customer.org_id, invited_by = %customer.email, "invitation sent");
    Ok(())
}

/// No seat is free for an invitation because a scheduled change leaves fewer seats.
#[cfg(feature = "ssr")]
fn no_seat_after_scheduled_change(after: i64) -> AppError {
    AppError::Conflict(format!(
        "A change scheduled for the period end leaves {after} seat(s), and they are all taken by members and pending invitations. Undo the scheduled change on the plan page, or remove someone, before inviting."
    ))
}

#[server(endpoint = "members/revoke", output = crate::error::JsonAnswer)]
pub async fn revoke_invitation(id: String) -> Result<(), AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    if !customer.role.can_manage_billing() {
        return Err(AppError::Forbidden);
    }
    if crate::store::members::revoke(
        &state.db,
        &customer.org_id,
        &InvitationId::parse(&id).map_err(|_| AppError::NotFound("That invitation".into()))?,
        &customer.actor(),
        state.now(),
    )
    .await?
    {
        Ok(())
    } else {
        Err(AppError::NotFound("That invitation".into()))
    }
}

#[server(endpoint = "members/role", output = crate::error::JsonAnswer)]
pub async fn change_member_role(user_id: String, role: String) -> Result<(), AppError> {
    use crate::store::members::MemberChangeError;
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    if customer.role != Role::Owner {
        return Err(AppError::Forbidden);
    }
    let role = Role::parse(role.trim()).ok_or_else(|| {
        AppError::Invalid("Choose a role: owner, billing admin or member.".into())
    })?;
    crate::store::members::set_role(
        &state.db,
        &customer.org_id,
        &member_id(&user_id)?,
        role,
        &customer.actor(),
        state.now(),
    )
    .await
    .map_err(|e| match e {
        MemberChangeError::LastOwner => AppError::Invalid(
            "An organisation needs at least one owner. Make someone else an owner first.".into(),
        ),
        MemberChangeError::NotMember => AppError::NotFound("That member".into()),
        MemberChangeError::Db(e) => AppError::internal(e),
    })
}

#[server(endpoint = "members/remove", output = crate::error::JsonAnswer)]
pub async fn remove_member(user_id: String) -> Result<(), AppError> {
    use crate::store::members::MemberChangeError;
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    if !customer.role.can_manage_billing() {
        return Err(AppError::Forbidden);
    }
    crate::store::members::remove(
        &state.db,
        &customer.org_id,
        &member_id(&user_id)?,
        &customer.actor(),
        state.now(),
    )
    .await
    .map_err(|e| match e {
        MemberChangeError::LastOwner => AppError::Invalid(
            "The last owner cannot be removed. Make someone else an owner first.".into(),
        ),
        MemberChangeError::NotMember => AppError::NotFound("That member".into()),
        MemberChangeError::Db(e) => AppError::internal(e),
    })
}

#[server(endpoint = "invitations/details", output = crate::error::JsonAnswer)]
pub async fn load_invitation(token: String) -> Result<InvitationDetails, AppError> {
    let state = crate::server::state()?;
    let invitation = crate::store::members::invitation_by_token(
        &state.db,
        &crate::server::auth::hash_token(&token),
    )
    .await?
    .ok_or_else(|| AppError::NotFound("That invitation".into()))?;
    use crate::domain::InvitationStatus;
    let status = if invitation.accepted_at.is_some() {
        InvitationStatus::Accepted
    } else if invitation.revoked_at.is_some() {
        InvitationStatus::Revoked
    } else if invitation.expires_at <= state.now() {
        InvitationStatus::Expired
    } else {
        InvitationStatus::Pending
    };
    Ok(InvitationDetails {
        signed_in_as: crate::server::auth::customer(&state)
            .await?
            .map(|c| c.email),
        org_name: invitation.org_name,
        email: invitation.email,
        role: invitation.role,
        status,
    })
}

/// Accepts an invitation: as the signed-in user when it is theirs, else with `password`, which
/// is the account's password when the invited address has one and becomes it when it does not.
/// The answer does not say which: a wrong password for an existing account and a password too
/// weak for a new one get the same message.
/// Attempts are rate limited per client address and per invited address.
#[server(endpoint = "invitations/accept", output = crate::error::JsonAnswer)]
pub async fn accept_invitation(token: String, password: Option<String>) -> Result<(), AppError> {
    use crate::server::auth;
    use crate::server::limits::Door;
    use crate::store::accounts;
    use crate::store::members::Acceptor;
    let state = crate::server::state()?;
    let address = state.caller_address();
    state.limits.check(Door::InvitationAddress, &address)?;
    let invitation =
        crate::store::members::invitation_by_token(&state.db, &auth::hash_token(token.trim()))
            .await?
            .ok_or_else(|| AppError::NotFound("That invitation".into()))?;
    let now = state.now();
    let used_up =
        || AppError::Conflict("This invitation can no longer be used. Ask for a new one.".into());
    if invitation.accepted_at.is_some()
        || invitation.revoked_at.is_some()
        || invitation.expires_at <= now
    {
        return Err(used_up());
    }
    let email = crate::domain::access::Email::parse(&invitation.email)?;
    let signed_in = auth::customer(&state).await?;
    let (user_id, how) = match signed_in {
        Some(me) if me.email == invitation.email => {
            let user = accounts::find_user_by_email(&state.db, &email)
                .await?
                .ok_or(AppError::Unauthenticated)?;
            (
                crate::store::members::accept(
                    &state.db,
                    &invitation,
                    Acceptor::Existing { user_id: &user.id },
                    now,
                )
                .await?,
                "signed in already",
            )
        }
        Some(me) => {
            return Err(AppError::Conflict(format!(
                "This invitation is for {}, but you are signed in as {}. Sign out first.",
                invitation.email, me.email
            )))
        }
        None => {
            state.limits.check(Door::SignInAccount, email.as_str())?;
            let password = password.unwrap_or_default();
            let existing = accounts::find_user_by_email(&state.db, &email).await?;
            match existing {
                Some(user) => {
                    if !auth::verify_password(password, Some(user.password_hash.clone())).await? {
                        let note =
                            format!("wrong password on invitation acceptance; from {address}");
                        crate::store::audit::append(
                            &state.db,
                            &crate::store::audit::AuditEntry {
                                note: &note,
                                ..crate::store::audit::Actor::visitor(email.as_str())
                                    .did("sign_in_failed", "portal")
                            },
                            now,
                        )
                        .await?;
                        return Err(password_does_not_work());
                    }
                    (
                        crate::store::members::accept(
                            &state.db,
                            &invitation,
                            Acceptor::Existing { user_id: &user.id },
                            now,
                        )
                        .await?,
                        "with their password",
                    )
                }
                None => {
                    if crate::domain::access::check_new_password(&password, &email).is_err() {
                        return Err(password_does_not_work());
                    }
                    let hash = auth::hash_password(password).await?;
                    (
                        crate::store::members::accept(
                            &state.db,
                            &invitation,
                            Acceptor::New {
                                email: &email,
                                password_hash: &hash,
                            },
                            now,
                        )
                        .await
                        .map_err(|e| {
                            if crate::store::is_unique_violation(&e) {
                                AppError::Conflict(
                                    "An account with this address was created just now. Enter its password to accept.".into(),
                                )
                            } else {
                                AppError::internal(e)
                            }
                        })?,
                        "with a new account",
                    )
                }
            }
        }
    };
    let user_id = user_id.ok_or_else(used_up)?;
    let actor = crate::store::audit::Actor::customer(&invitation.email, invitation.role);
    let target = format!("user:{user_id}");
    let note = format!("accepted an invitation {how}; from {address}");
    auth::start_customer_session(
        &state,
        &user_id,
        &invitation.org_id,
        &crate::store::audit::AuditEntry {
            org_id: Some(&invitation.org_id),
            note: &note,
            ..actor.did("sign_in", &target)
        },
    )
    .await?;
    leptos_axum::redirect("/billing");
    Ok(())
}

/// The one answer to a password that cannot accept an invitation: the wrong password of an
/// existing account, or one too weak for a new account.
#[cfg(feature = "ssr")]
fn password_does_not_work() -> AppError {
    AppError::Invalid(
        "That password does not work here. If you already have an account with this address, enter its password; if not, choose a new one of at least 10 characters that is hard to guess."
            .into(),
    )
}

/// An email as the development mailbox shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxEmail {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub created_at: i64,
}

/// The newest emails the portal queued, for signed-in support staff, when the development
/// mailbox is switched on (`DEV_MAILBOX=true`). To anyone else, and when it is off, it does not
/// exist: the answer is the same as for any unknown page.
#[server(endpoint = "dev/mailbox", output = crate::error::JsonAnswer)]
pub async fn dev_mailbox() -> Result<Vec<MailboxEmail>, AppError> {
    let state = crate::server::state()?;
    let missing = || AppError::NotFound("That page".into());
    if !state.config.dev_mailbox {
        return Err(missing());
    }
    // Support staff who read customers; a catalog admin sees none.
    let reader = crate::server::auth::staff(&state)
        .await?
        .is_some_and(|s| crate::services::console::READERS.contains(&s.role));
    if !reader {
        return Err(missing());
    }
    Ok(crate::store::members::outbox(&state.db, 50)
        .await?
        .into_iter()
        .map(|(to, subject, body, created_at)| MailboxEmail {
            to,
            subject,
            body,
            created_at,
        })
        .collect())
}
