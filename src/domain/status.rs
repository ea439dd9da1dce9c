//! The states a subscription, an invoice, a checkout, an approval and an invitation can be in,
//! stored by their names (`active`, `past_due`, ...), which are also how the API spells them.

use serde::{Deserialize, Serialize};

macro_rules! status_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every state, in the order they are declared.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name it is stored and shown under.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The state stored under `name`, if there is one.
            pub fn parse(name: &str) -> Option<$name> {
                match name {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownStatus;
            fn from_str(name: &str) -> Result<$name, UnknownStatus> {
                $name::parse(name).ok_or_else(|| UnknownStatus {
                    kind: stringify!($name),
                    name: name.to_string(),
                })
            }
        }
    };
}

/// A stored status name that no state has.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} has no state \"{name}\"")]
pub struct UnknownStatus {
    pub kind: &'static str,
    pub name: String,
}

status_enum! {
    /// Where a subscription is in its life.
    SubscriptionStatus {
        /// In a free trial: nothing is charged until it ends.
        Trialing => "trialing",
        Active => "active",
        /// A renewal invoice is unpaid and being retried.
        PastDue => "past_due",
        /// Ended: it bills nothing more.
        Canceled => "canceled",
    }
}

impl SubscriptionStatus {
    /// Whether it still renews (trialing, active or past due).
    pub fn is_live(self) -> bool {
        matches!(
            self,
            SubscriptionStatus::Trialing | SubscriptionStatus::Active | SubscriptionStatus::PastDue
        )
    }
}

status_enum! {
    /// Where an invoice is: open invoices are owed, paid ones settled, void ones cancelled and
    /// uncollectible ones written off.
    InvoiceStatus {
        Draft => "draft",
        Open => "open",
        Paid => "paid",
        Void => "void",
        Uncollectible => "uncollectible",
    }
}

status_enum! {
    /// A Stripe-hosted checkout: open until paid (complete) or abandoned (expired).
    CheckoutStatus {
        Open => "open",
        Complete => "complete",
        Expired => "expired",
    }
}

status_enum! {
    /// A request for a second staff member's approval.
    ApprovalStatus {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
    }
}

status_enum! {
    /// An invitation to join an organisation.
    InvitationStatus {
        Pending => "pending",
        Accepted => "accepted",
        Revoked => "revoked",
        Expired => "expired",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_is_read_back_from_its_stored_name_and_spelled_so_in_json() {
        fn check<T>(all: &[T])
        where
            T: Copy
                + std::fmt::Debug
                + PartialEq
                + std::str::FromStr
                + Serialize
                + std::fmt::Display,
        {
            for &status in all {
                let name = status.to_string();
                assert_eq!(name.parse::<T>().ok(), Some(status), "{name}");
                assert_eq!(
                    serde_json::to_string(&status).unwrap(),
                    format!("\"{name}\"")
                );
            }
        }
        check(SubscriptionStatus::ALL);
        check(InvoiceStatus::ALL);
        check(CheckoutStatus::ALL);
        check(ApprovalStatus::ALL);
        check(InvitationStatus::ALL);
        assert_eq!(
            "paused".parse::<SubscriptionStatus>(),
            Err(UnknownStatus {
                kind: "SubscriptionStatus",
                name: "paused".into()
            })
        );
        assert!(SubscriptionStatus::PastDue.is_live());
        assert!(!SubscriptionStatus::Canceled.is_live());
    }
}
