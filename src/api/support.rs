//! Support console server functions. Staff sessions are separate from customer sessions: a
//! customer cookie never signs anyone into the console.

use super::AppError;
use crate::wire::StaffSession;
use leptos::prelude::*;

/// Signs a staff member in with their password and the current code of their authenticator app
/// (their second factor). Every failure answers the same, whether the email, the password or the
/// code was wrong; each is audited as a security event, and attempts are rate limited per account
/// and per client address.
#[server(endpoint = "support/sign-in", output = crate::error::JsonAnswer)]
pub async fn staff_sign_in(
    email: String,
    password: String,
    #[server(default)] code: String,
) -> Result<(), AppError> {
    use crate::server::auth;
    use crate::server::limits::Door;
    use crate::store::audit::Actor;
    let state = crate::server::state()?;
    if email.trim().is_empty() || password.is_empty() || code.trim().is_empty() {
        return Err(AppError::Invalid(
            "Enter your staff email, password and the 6-digit code from your authenticator app."
                .into(),
        ));
    }
    let email = crate::domain::access::Email::parse(&email)?;
    let address = state.caller_address();
    state.limits.check_all(&[
        (Door::StaffSignInAddress, &address),
        (Door::StaffSignInAccount, email.as_str()),
    ])?;
    let staff = crate::store::staff::find_by_email(&state.db, &email).await?;
    let verified =
        auth::verify_password(password, staff.as_ref().map(|s| s.password_hash.clone())).await?;
    let now = state.now();
    let step = staff.as_ref().and_then(|s| {
        s.totp_secret
            .as_deref()
            .and_then(|secret| crate::server::mfa::matching_step(secret, &code, now))
    });
    let wrong = AppError::Invalid(
        "That email, password and code do not match a staff account. Check all three and try again."
            .into(),
    );
    let failed = |reason: &'static str| {
        let email = email.as_str().to_string();
        let address = address.clone();
        let state = state.clone();
        async move {
            let actor = Actor::visitor(&email);
            let note = format!("{reason}; from {address}");
            crate::store::audit::append(
                &state.db,
                &crate::store::audit::AuditEntry {
                    note: &note,
                    ..actor.did("staff_sign_in_failed", "console")
                },
                state.now(),
            )
            .await
        }
    };
    let (staff, step) = match (staff, verified, step) {
        (Some(staff), true, Some(step)) => (staff, step),
        (Some(_), true, None) => {
            failed("wrong or missing second-factor code").await?;
            return Err(wrong);
        }
        (Some(_), false, _) => {
            failed("wrong password").await?;
            return Err(wrong);
        }
        (None, _, _) => {
            failed("no staff account with this email").await?;
            return Err(wrong);
        }
    };
    if !crate::store::staff::claim_totp_step(&state.db, &staff.id, step).await? {
        failed("second-factor code used before").await?;
        return Err(AppError::Invalid(
            "That code was used already. Wait for your authenticator app to show the next one and sign in with it."
                .into(),
        ));
    }
    let actor = Actor::staff(&staff.email, staff.role);
    let target = format!("staff:{}", staff.id);
    let note = format!("password and second factor; from {address}");
    auth::start_staff_session(
        &state,
        &staff.id,
        &crate::store::audit::AuditEntry {
            note: &note,
            ..actor.did("staff_sign_in", &target)
        },
    )
    .await?;
    // A catalog admin sees no customer: their console starts at the catalog.
    leptos_axum::redirect(
        if staff.role == crate::domain::access::StaffRole::CatalogAdmin {
            "/support/catalog"
        } else {
            "/support"
        },
    );
    Ok(())
}

#[server(endpoint = "support/sign-out", output = crate::error::JsonAnswer)]
pub async fn staff_sign_out() -> Result<(), AppError> {
    let state = crate::server::state()?;
    crate::server::auth::end_session(&state, crate::store::sessions::SessionKind::Staff).await?;
    leptos_axum::redirect("/support/sign-in");
    Ok(())
}

#[server(endpoint = "support/session", output = crate::error::JsonAnswer)]
pub async fn current_staff() -> Result<Option<StaffSession>, AppError> {
    let state = crate::server::state()?;
    crate::server::auth::staff(&state).await
}
