//! Accounts: sign up, sign in, sign out, for customers and (separately) for support staff.

use super::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// An email address, trimmed and lower-cased.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, AppError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(AppError::Invalid("Enter your email address.".into()));
        }
        let valid = email.len() <= 254
            && !email.chars().any(char::is_whitespace)
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if valid {
            Ok(Email(email))
        } else {
            Err(AppError::Invalid(format!(
                "\"{}\" is not an email address. Use the form name@example.com.",
                raw.trim()
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The fewest characters a new password may have.
pub const MIN_PASSWORD_LEN: usize = 10;

/// Checks a new password; returns it unchanged when it is strong enough.
pub fn check_new_password<'a>(password: &'a str, email: &Email) -> Result<&'a str, AppError> {
    if password.is_empty() {
        return Err(AppError::Invalid("Choose a password.".into()));
    }
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AppError::Invalid(format!(
            "Use at least {MIN_PASSWORD_LEN} characters for your password."
        )));
    }
    if password.chars().count() > 256 {
        return Err(AppError::Invalid(
            "Use at most 256 characters for your password.".into(),
        ));
    }
    let lower = password.to_lowercase();
    let email_name = email.as_str().split('@').next().unwrap_or_default();
    let distinct = {
        let mut chars: Vec<char> = lower.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        chars.len()
    };
    const COMMON: [&str; 8] = [
        "password",
        "1234567890",
        "qwertyuiop",
        "letmein",
        "welcome",
        "iloveyou",
        "admin",
        "abc123",
    ];
    if distinct < 5
        || COMMON.iter().any(|c| lower.contains(c))
        || email_name.chars().count() >= 4 && lower.contains(email_name)
    {
        return Err(AppError::Invalid(
            "That password is too easy to guess. Mix words, numbers or symbols, and avoid your email.".into(),
        ));
    }
    Ok(password)
}

/// An organisation's display name, trimmed, 1 to 100 characters.
pub fn check_org_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::Invalid("Enter your organisation's name.".into()));
    }
    if name.chars().count() > 100 {
        return Err(AppError::Invalid(
            "Keep the organisation name to 100 characters or fewer.".into(),
        ));
    }
    Ok(name.to_string())
}

/// A member's role in an organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Owner,
    BillingAdmin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::BillingAdmin => "billing_admin",
            Role::Member => "member",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        match raw {
            "owner" => Some(Role::Owner),
            "billing_admin" => Some(Role::BillingAdmin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::BillingAdmin => "Billing admin",
            Role::Member => "Member",
        }
    }

    /// Whether this role may change what the organisation pays for.
    pub fn can_manage_billing(self) -> bool {
        matches!(self, Role::Owner | Role::BillingAdmin)
    }
}

/// A support staff member's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StaffRole {
    Agent,
    BillingAdmin,
    Approver,
}

impl StaffRole {
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Agent => "agent",
            StaffRole::BillingAdmin => "billing_admin",
            StaffRole::Approver => "approver",
        }
    }

    pub fn parse(raw: &str) -> Option<StaffRole> {
        match raw {
            "agent" => Some(StaffRole::Agent),
            "billing_admin" => Some(StaffRole::BillingAdmin),
            "approver" => Some(StaffRole::Approver),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StaffRole::Agent => "Agent",
            StaffRole::BillingAdmin => "Billing admin",
            StaffRole::Approver => "Approver",
        }
    }
}

/// The signed-in customer as the pages show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerSession {
    pub email: String,
    pub org_id: String,
    pub org_name: String,
    pub role: Role,
    /// Set when a staff member is viewing the portal as this customer: nothing may be changed.
    #[serde(default)]
    pub viewed_by: Option<String>,
}

/// The signed-in staff member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffSession {
    pub email: String,
    pub name: String,
    pub role: StaffRole,
}

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

/// Creates a user, their organisation (with them as owner) and a session, then goes to billing.
#[server(endpoint = "auth/sign-up")]
pub async fn sign_up(email: String, password: String, org_name: String) -> Result<(), AppError> {
    use crate::server::auth;
    use crate::store::accounts::{self, CreateAccountError};
    let state = crate::server::state()?;
    let email = Email::parse(&email)?;
    let org_name = check_org_name(&org_name)?;
    check_new_password(&password, &email)?;
    let hash = auth::hash_password(password).await?;
    let now = state.now();
    let account = accounts::create_account(&state.db, &email, &hash, &org_name, now)
        .await
        .map_err(|e| match e {
            CreateAccountError::EmailTaken => AppError::Conflict(
                "An account with this email already exists. Sign in instead, or use another email."
                    .into(),
            ),
            CreateAccountError::Db(e) => AppError::internal(e),
        })?;
    auth::start_customer_session(&state, &account.user_id, &account.org_id).await?;
    tracing::info!(user_id = %account.user_id, org_id = %account.org_id, "signed up");
    leptos_axum::redirect("/billing");
    Ok(())
}

/// Signs a customer in and rotates their session token.
#[server(endpoint = "auth/sign-in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::server::auth;
    use crate::store::accounts;
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
    let user = accounts::find_user_by_email(&state.db, &email).await?;
    let verified =
        auth::verify_password(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let user = match (user, verified) {
        (Some(user), true) => user,
        _ => return Err(wrong()),
    };
    let membership = accounts::first_membership(&state.db, &user.id)
        .await?
        .ok_or_else(|| {
            AppError::Invalid(
                "Your account no longer belongs to an organisation. Ask an owner to invite you again."
                    .into(),
            )
        })?;
    auth::start_customer_session(&state, &user.id, &membership.org_id).await?;
    leptos_axum::redirect(safe_next_path(next.as_deref()));
    Ok(())
}

#[server(endpoint = "auth/sign-out")]
pub async fn sign_out() -> Result<(), AppError> {
    let state = crate::server::state()?;
    crate::server::auth::end_session(&state, crate::store::sessions::SessionKind::Customer).await?;
    leptos_axum::redirect("/sign-in");
    Ok(())
}

/// The signed-in customer, or `None`.
#[server(endpoint = "auth/session")]
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
