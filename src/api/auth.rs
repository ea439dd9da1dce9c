//! Accounts: sign up, sign in, sign out, for customers and (separately) for support staff.

use super::AppError;
#[cfg(feature = "ssr")]
use crate::domain::access::{check_new_password, check_org_name, Email, Role};
use crate::wire::CustomerSession;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Only same-site paths are followed after sign-in, so a link cannot send a user elsewhere:
/// a path must start with one `/` followed by neither `/` nor `\`, and carry no whitespace or
/// control characters (browsers drop tabs and newlines from URLs, turning `/\t/x` into `//x`).
pub fn safe_next_path(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !matches!(path.as_bytes().get(1), Some(b'/' | b'\\'))
                && !path
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '\\') =>
        {
            path
        }
        _ => "/billing",
    }
}

/// How long a sign-up's confirmation link works.
pub const SIGN_UP_LINK_HOURS: i64 = 24;

/// Starts a sign-up: checks the form, then emails the address a link that creates the account
/// and its organisation. The answer is the same whether or not the address already has an
/// account (which is told so by email instead), so the form reveals nothing about who is a
/// customer.
#[server(endpoint = "auth/sign-up", output = crate::error::JsonAnswer)]
pub async fn sign_up(email: String, password: String, org_name: String) -> Result<(), AppError> {
    use crate::server::auth;
    use crate::server::limits::Door;
    use crate::store::members::OutgoingEmail;
    let state = crate::server::state()?;
    let email = Email::parse(&email)?;
    let org_name = check_org_name(&org_name)?;
    check_new_password(&password, &email)?;
    let address = state.caller_address();
    state.limits.check(Door::SignUpAddress, &address)?;
    // Hashed either way, so both answers take as long.
    let hash = auth::hash_password(password).await?;
    let now = state.now();
    let (token, token_hash) = auth::new_session_token();
    let base = &state.config.public_base_url;
    let link = format!("{base}/sign-up/confirm/{token}");
    let new_body = format!(
        "Confirm your email address to create your billing portal account for {org_name}:\n\n{link}\n\n\
         The link works for {SIGN_UP_LINK_HOURS} hours. If you did not sign up, ignore this email: nothing is created without it."
    );
    let existing_body = format!(
        "Someone (perhaps you) tried to create a billing portal account with this email address, which already has one.\n\n\
         Sign in instead: {base}/sign-in\n\nIf it was not you, you can ignore this email; nothing was changed."
    );
    crate::store::accounts::request_sign_up(
        &state.db,
        &email,
        &hash,
        &org_name,
        &token_hash,
        now + SIGN_UP_LINK_HOURS * 3600,
        &OutgoingEmail {
            to: email.as_str(),
            subject: "Confirm your email to finish signing up",
            body: &new_body,
        },
        &OutgoingEmail {
            to: email.as_str(),
            subject: "You already have a billing portal account",
            body: &existing_body,
        },
        &address,
        now,
    )
    .await?;
    leptos_axum::redirect("/sign-up/sent");
    Ok(())
}

/// What a sign-up confirmation link's page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignUpDetails {
    pub email: String,
    pub org_name: String,
}

/// The sign-up a confirmation link is for, while it can still be confirmed.
#[server(endpoint = "auth/sign-up/details", output = crate::error::JsonAnswer)]
pub async fn load_sign_up(token: String) -> Result<SignUpDetails, AppError> {
    let state = crate::server::state()?;
    let pending = crate::store::accounts::pending_sign_up(
        &state.db,
        &crate::server::auth::hash_token(token.trim()),
    )
    .await?
    .filter(|p| !p.completed && p.expires_at > state.now())
    .ok_or_else(link_used_up)?;
    Ok(SignUpDetails {
        email: pending.email,
        org_name: pending.org_name,
    })
}

#[cfg(feature = "ssr")]
fn link_used_up() -> AppError {
    AppError::NotFound("That sign-up link".into())
}

/// Confirms a sign-up from its emailed link: creates the account and organisation, signs the
/// new owner in and goes to billing.
#[server(endpoint = "auth/sign-up/confirm", output = crate::error::JsonAnswer)]
pub async fn confirm_sign_up(token: String) -> Result<(), AppError> {
    use crate::store::accounts::ConfirmSignUpError;
    let state = crate::server::state()?;
    let now = state.now();
    let (account, email) = crate::store::accounts::confirm_sign_up(
        &state.db,
        &crate::server::auth::hash_token(token.trim()),
        now,
    )
    .await
    .map_err(|e| match e {
        ConfirmSignUpError::NotPending => link_used_up(),
        ConfirmSignUpError::EmailTaken => {
            AppError::Conflict("This email address has an account already. Sign in instead.".into())
        }
        ConfirmSignUpError::Db(e) => AppError::internal(e),
    })?;
    let actor = crate::store::audit::Actor::customer(email.as_str(), Role::Owner);
    let target = format!("user:{}", account.user_id);
    crate::server::auth::start_customer_session(
        &state,
        &account.user_id,
        &account.org_id,
        &crate::store::audit::AuditEntry {
            org_id: Some(&account.org_id),
            note: "signed in by confirming the sign-up email",
            ..actor.did("sign_in", &target)
        },
    )
    .await?;
    tracing::info!(user_id = %account.user_id, org_id = %account.org_id, "signed up");
    leptos_axum::redirect("/billing");
    Ok(())
}

/// Signs a customer in and rotates their session token. Attempts are rate limited per account
/// and per client address; every failure answers the same and is audited as a security event.
#[server(endpoint = "auth/sign-in", output = crate::error::JsonAnswer)]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::server::auth;
    use crate::server::limits::Door;
    use crate::store::{accounts, audit};
    let state = crate::server::state()?;
    let wrong = || {
        AppError::Invalid(
            "That email and password do not match an account. Check both and try again.".into(),
        )
    };
    if email.trim().is_empty() || password.is_empty() {
        return Err(AppError::Invalid("Enter your email and password.".into()));
    }
    let email = Email::parse(&email)?;
    let address = state.caller_address();
    state.limits.check_all(&[
        (Door::SignInAddress, &address),
        (Door::SignInAccount, email.as_str()),
    ])?;
    let user = accounts::find_user_by_email(&state.db, &email).await?;
    let verified =
        auth::verify_password(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let user = match (user, verified) {
        (Some(user), true) => user,
        (user, _) => {
            let reason = if user.is_some() {
                "wrong password"
            } else {
                "no account with this email"
            };
            let note = format!("{reason}; from {address}");
            audit::append(
                &state.db,
                &audit::AuditEntry {
                    note: &note,
                    ..audit::Actor::visitor(email.as_str()).did("sign_in_failed", "portal")
                },
                state.now(),
            )
            .await?;
            return Err(wrong());
        }
    };
    let membership = accounts::first_membership(&state.db, &user.id)
        .await?
        .ok_or_else(|| {
            AppError::Invalid(
                "Your account no longer belongs to an organisation. Ask an owner to invite you again."
                    .into(),
            )
        })?;
    let actor = audit::Actor::customer(email.as_str(), membership.role);
    let target = format!("user:{}", user.id);
    let note = format!("password; from {address}");
    auth::start_customer_session(
        &state,
        &user.id,
        &membership.org_id,
        &audit::AuditEntry {
            org_id: Some(&membership.org_id),
            note: &note,
            ..actor.did("sign_in", &target)
        },
    )
    .await?;
    leptos_axum::redirect(safe_next_path(next.as_deref()));
    Ok(())
}

#[server(endpoint = "auth/sign-out", output = crate::error::JsonAnswer)]
pub async fn sign_out() -> Result<(), AppError> {
    let state = crate::server::state()?;
    crate::server::auth::end_session(&state, crate::store::sessions::SessionKind::Customer).await?;
    leptos_axum::redirect("/sign-in");
    Ok(())
}

/// The signed-in customer, or `None`.
#[server(endpoint = "auth/session", output = crate::error::JsonAnswer)]
pub async fn current_customer() -> Result<Option<CustomerSession>, AppError> {
    let state = crate::server::state()?;
    crate::server::auth::customer(&state).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "a@b@c.com",
            "ada@example.com\r\nbcc:x@evil.example",
            "ada\0@example.com",
            "ada\u{202e}@example.com",
        ] {
            assert!(
                matches!(Email::parse(bad), Err(AppError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn weak_passwords_are_refused_with_a_reason() {
        let email = Email::parse("grace@example.com").unwrap();
        for weak in [
            "",
            "short",
            "aaaaaaaaaaaa",
            "mypassword99",
            "grace-is-great-2026",
        ] {
            assert!(check_new_password(weak, &email).is_err(), "{weak}");
        }
        assert!(check_new_password("correct horse battery", &email).is_ok());
        // A short email name does not forbid its letters.
        let short = Email::parse("a@x.io").unwrap();
        assert!(check_new_password("correct horse battery", &short).is_ok());
    }

    #[test]
    fn next_paths_stay_on_site() {
        assert_eq!(
            safe_next_path(Some("/billing/invoices")),
            "/billing/invoices"
        );
        assert_eq!(safe_next_path(Some("//evil.example")), "/billing");
        assert_eq!(safe_next_path(Some("https://evil.example")), "/billing");
        for hostile in [
            "/\t/evil.example",
            "/\n",
            "/\\evil.example",
            "/\r\n/x",
            "/ /x",
            "",
        ] {
            assert_eq!(safe_next_path(Some(hostile)), "/billing", "{hostile:?}");
        }
        assert_eq!(
            safe_next_path(Some("/pricing?interval=year")),
            "/pricing?interval=year"
        );
        assert_eq!(safe_next_path(None), "/billing");
    }
}
