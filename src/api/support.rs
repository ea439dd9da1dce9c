//! Support console server functions. Staff sessions are separate from customer sessions: a
//! customer cookie never signs anyone into the console.

use super::auth::StaffSession;
use super::AppError;
use leptos::prelude::*;

#[server(endpoint = "support/sign-in")]
pub async fn staff_sign_in(email: String, password: String) -> Result<(), AppError> {
    use crate::server::auth;
    let state = crate::server::state()?;
    if email.trim().is_empty() || password.is_empty() {
        return Err(AppError::Invalid(
            "Enter your staff email and password.".into(),
        ));
    }
    let email = super::auth::Email::parse(&email)?;
    let staff = crate::store::staff::find_by_email(&state.db, &email).await?;
    let verified =
        auth::verify_password(password, staff.as_ref().map(|s| s.password_hash.clone())).await?;
    let staff = match (staff, verified) {
        (Some(staff), true) => staff,
        _ => {
            return Err(AppError::Invalid(
                "That email and password do not match a staff account.".into(),
            ))
        }
    };
    auth::start_staff_session(&state, &staff.id).await?;
    leptos_axum::redirect("/support");
    Ok(())
}

#[server(endpoint = "support/sign-out")]
pub async fn staff_sign_out() -> Result<(), AppError> {
    let state = crate::server::state()?;
    crate::server::auth::end_session(&state, crate::store::sessions::SessionKind::Staff).await?;
    leptos_axum::redirect("/support/sign-in");
    Ok(())
}

#[server(endpoint = "support/session")]
pub async fn current_staff() -> Result<Option<StaffSession>, AppError> {
    let state = crate::server::state()?;
    crate::server::auth::staff(&state).await
}
