//! Typed ids. Every record the product creates has an id made of a prefix naming its kind and 24
//! random hex digits (`org_4f1c…`, `sub_09ab…`), so an id read in a log, a URL or a support
//! ticket says what it names, and the compiler keeps an organisation's id from being passed where
//! a subscription's is wanted. They are stored and sent as their text.
//!
//! Ids arriving from outside (a URL, a form, the API) go through [`Id::parse`], which refuses
//! text of another kind with an error that names the expected form.

use serde::{Deserialize, Serialize};

/// What every typed id can do.
pub trait Id: Sized + Clone + std::fmt::Display {
    /// The prefix before the `_`, e.g. `org`.
    const PREFIX: &'static str;
    /// What the id names, for error messages ("organisation").
    const NAMES: &'static str;

    /// Wraps text already known to be an id of this kind (read back from the database, or just
    /// made by the store).
    fn from_trusted(text: String) -> Self;

    fn as_str(&self) -> &str;

    /// Reads an id that came from outside, refusing anything not of the form `PREFIX_<hex>`.
    fn parse(text: &str) -> Result<Self, IdError> {
        let text = text.trim();
        let well_formed = text
            .strip_prefix(Self::PREFIX)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|hex| {
                !hex.is_empty() && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
            });
        if well_formed {
            Ok(Self::from_trusted(text.to_string()))
        } else {
            Err(IdError {
                names: Self::NAMES,
                prefix: Self::PREFIX,
            })
        }
    }
}

/// Text that is not an id of the kind asked for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("That is not {names} id: expected {prefix}_ followed by hex digits (0-9, a-f).")]
pub struct IdError {
    pub names: &'static str,
    pub prefix: &'static str,
}

impl From<IdError> for crate::error::AppError {
    fn from(e: IdError) -> Self {
        crate::error::AppError::Invalid(e.to_string())
    }
}

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident => $prefix:literal, $names:literal;)+) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl Id for $name {
            const PREFIX: &'static str = $prefix;
            const NAMES: &'static str = $names;
            fn from_trusted(text: String) -> Self {
                $name(text)
            }
            fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// See [`Id::parse`].
            pub fn parse(text: &str) -> Result<Self, IdError> {
                <$name as Id>::parse(text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

    )+};
}

typed_id! {
    /// A customer organisation (the billed party).
    OrgId => "org", "an organisation";
    /// A customer's user account.
    UserId => "usr", "a user";
    /// A support or finance staff member.
    StaffId => "stf", "a staff member";
    /// A subscription.
    SubscriptionId => "sub", "a subscription";
    /// An invoice.
    InvoiceId => "inv", "an invoice";
    /// A checkout (the local record of a Stripe Checkout session).
    CheckoutId => "chk", "a checkout";
    /// A credit note.
    CreditNoteId => "cn", "a credit note";
    /// A request for a second person's approval.
    ApprovalId => "apr", "an approval request";
    /// An invitation to join an organisation.
    InvitationId => "inv_t", "an invitation";
    /// A test clock.
    ClockId => "clock", "a test clock";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_its_own_kind_only() {
        assert_eq!(OrgId::parse(" org_0a1b ").unwrap().as_str(), "org_0a1b");
        let err = OrgId::parse("sub_0a1b").unwrap_err();
        assert_eq!(
            err.to_string(),
            "That is not an organisation id: expected org_ followed by hex digits (0-9, a-f)."
        );
        assert!(OrgId::parse("org_").is_err());
        assert!(OrgId::parse("org_xyz").is_err());
        assert!(OrgId::parse("org0a1b").is_err());
        // An invitation's prefix begins with an invoice's; neither reads as the other.
        assert!(InvoiceId::parse("inv_t_0a1b").is_err());
        assert!(InvitationId::parse("inv_0a1b").is_err());
        assert!(InvitationId::parse("inv_t_0a1b").is_ok());
    }

    #[test]
    fn ids_travel_as_their_text() {
        let id = SubscriptionId::parse("sub_00ff").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"sub_00ff\"");
        let back: SubscriptionId = serde_json::from_str("\"sub_00ff\"").unwrap();
        assert_eq!(back, id);
        assert_eq!(id.as_str(), "sub_00ff");
    }
}
