//! The shapes server functions return and pages read: serialisable, shared by the server and the
//! browser, holding no rules of their own.

pub mod console;
pub mod plan;
pub mod usage;

use crate::domain::access::{Role, StaffRole};
use crate::domain::ids::OrgId;
use serde::{Deserialize, Serialize};

/// The signed-in customer as the pages show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerSession {
    pub email: String,
    pub org_id: OrgId,
    pub org_name: String,
    pub role: Role,
    /// Set when a staff member is viewing the portal as this customer: nothing may be changed.
    #[serde(default)]
    pub viewed_by: Option<String>,
}

/// One row under an invoice's lines: a label ("Subtotal", "Amount due") and its amount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotalRow {
    pub label: String,
    pub amount: String,
}

impl TotalRow {
    pub fn new(label: &str, amount: String) -> TotalRow {
        TotalRow {
            label: label.to_string(),
            amount,
        }
    }
}

/// The signed-in staff member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffSession {
    pub email: String,
    pub name: String,
    pub role: StaffRole,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionSummary {
    pub plan_name: String,
    pub status: crate::domain::SubscriptionStatus,
    pub quantity: i64,
    /// Unix seconds.
    pub current_period_end: i64,
}
