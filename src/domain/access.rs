//! Who may do what: email addresses, passwords and names as accounts accept them, and the roles
//! of customers and staff.

use crate::error::AppError;
use serde::{Deserialize, Serialize};

/// An email address, trimmed and lower-cased.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, AppError> {
        use crate::domain::text::{self, Lines, TextProblem};
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(AppError::Invalid("Enter your email address.".into()));
        }
        if let Some(problem) = text::problem(&email, Lines::One) {
            return Err(AppError::Invalid(match problem {
                TextProblem::DirectionControl => text::explain("The email address", problem),
                _ => "The email address contains a control character (a line break, tab or similar): type it again without it.".into(),
            }));
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

/// An organisation's display name, trimmed, 1 to 100 characters, one line, with no control or
/// text-direction characters (it goes into email subjects and staff screens).
pub fn check_org_name(raw: &str) -> Result<String, AppError> {
    use crate::domain::text::{self, Lines, TextProblem};
    text::clean(raw, 100, Lines::One, false).map_err(|problem| {
        AppError::Invalid(match problem {
            TextProblem::Empty => "Enter your organisation's name.".into(),
            TextProblem::TooLong { .. } => {
                "Keep the organisation name to 100 characters or fewer.".into()
            }
            other => text::explain("The organisation name", other),
        })
    })
}

/// Free text a person types for others to read (a note, a reason's details, a key's name):
/// trimmed, at most `max` characters, no control or text-direction characters; `lines` says
/// whether line breaks are allowed. `field` names it in the message, e.g. "The note".
pub fn check_text(
    field: &str,
    raw: &str,
    max: usize,
    lines: crate::domain::text::Lines,
    required: bool,
) -> Result<String, AppError> {
    crate::domain::text::clean(raw, max, lines, !required)
        .map_err(|problem| AppError::Invalid(crate::domain::text::explain(field, problem)))
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
    /// Edits and publishes the catalog; sees no customer.
    CatalogAdmin,
}

impl StaffRole {
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Agent => "agent",
            StaffRole::BillingAdmin => "billing_admin",
            StaffRole::Approver => "approver",
            StaffRole::CatalogAdmin => "catalog_admin",
        }
    }

    pub fn parse(raw: &str) -> Option<StaffRole> {
        match raw {
            "agent" => Some(StaffRole::Agent),
            "billing_admin" => Some(StaffRole::BillingAdmin),
            "approver" => Some(StaffRole::Approver),
            "catalog_admin" => Some(StaffRole::CatalogAdmin),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StaffRole::Agent => "Agent",
            StaffRole::BillingAdmin => "Billing admin",
            StaffRole::Approver => "Approver",
            StaffRole::CatalogAdmin => "Catalog admin",
        }
    }
}
