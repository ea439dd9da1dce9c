//! The plan page's figures: the current plan, what a change would cost, and what it did. The
//! browser previews with [`preview`] and the server recomputes with it before acting.

use crate::domain::catalog::Plan;
use crate::domain::{
    preview_change, ChangePolicies, CurrentSubscription, Price, ProrationPreview,
    SubscriptionChange,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The organisation's current plan as the change page needs it. Times travel as unix seconds,
/// which the browser reads without a date parser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurrentPlan {
    pub plan_name: String,
    pub price: Price,
    pub quantity: i64,
    #[serde(with = "chrono::serde::ts_seconds")]
    pub billing_anchor: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_seconds")]
    pub current_period_end: DateTime<Utc>,
    /// The change waiting for the period end.
    pub scheduled: Option<ScheduledPlan>,
    pub cancel_at_period_end: bool,
    pub version: i64,
    /// The discount on the plan, e.g. "LAUNCH20: 20% off 3 billing periods (2 left)".
    pub coupon: Option<String>,
    /// When the free trial ends (the first charge), while the subscription is trialing.
    #[serde(with = "chrono::serde::ts_seconds_option")]
    pub trial_end: Option<DateTime<Utc>>,
    /// A price migration that moves this subscription at renewal, in a sentence.
    #[serde(default)]
    pub price_change: Option<String>,
    /// The organisation's contract terms, while it holds the contract's price.
    #[serde(default)]
    pub contract: Option<String>,
    /// What changes left for the next invoice, a line each ("Unused time on Pro: -$6.77 (…)").
    #[serde(default)]
    pub next_invoice: Vec<String>,
}

/// A plan and seats that take over at the period end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledPlan {
    pub plan_name: String,
    pub price_id: String,
    pub quantity: i64,
}

/// Everything the change page shows, including the server's time to preview at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanPage {
    #[serde(with = "chrono::serde::ts_seconds")]
    pub now: DateTime<Utc>,
    pub current: Option<CurrentPlan>,
    pub plans: Vec<Plan>,
    pub policies: ChangePolicies,
    pub can_manage: bool,
}

/// The preview of moving `current` to `price` with `quantity` at `now`; the one function both
/// the page and the server use.
pub fn preview(
    current: &CurrentPlan,
    price: &Price,
    quantity: i64,
    now: DateTime<Utc>,
    policies: &ChangePolicies,
) -> Result<ProrationPreview, String> {
    let change = if price.id == current.price.id {
        SubscriptionChange::SetQuantity { quantity }
    } else {
        SubscriptionChange::SwitchPrice {
            new_price: price.clone(),
            quantity,
        }
    };
    let subscription = CurrentSubscription {
        price: current.price.clone(),
        quantity: current.quantity,
        billing_anchor: current.billing_anchor,
    };
    preview_change(&subscription, &change, now, policies, None).map_err(|e| e.to_string())
}

/// What a confirmed change did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeResult {
    /// Applied now; `charged` is the formatted amount taken from the saved card.
    Applied { charged: String },
    /// Waits for the period end.
    Scheduled { effective_on: String },
    /// Applied now; the unused time exceeded the new charge and became account credit.
    Credited { credit: String },
    /// Applied now; its credit and charge (`amount`, their sum) are on the invoice of the
    /// renewal `on`.
    OnNextInvoice { amount: String, on: String },
}

impl ChangeResult {
    /// The sentence the customer reads after confirming.
    pub fn sentence(&self) -> String {
        match self {
            ChangeResult::Applied { charged } => {
                format!("Done. {charged} was charged to your saved card.")
            }
            ChangeResult::Scheduled { effective_on } => {
                format!("Scheduled: the change starts on {effective_on}.")
            }
            ChangeResult::Credited { credit } => format!(
                "Done. {credit} of unused time is now account credit; your next invoices use it first."
            ),
            ChangeResult::OnNextInvoice { amount, on } => format!(
                "Done. Nothing is charged now: the difference for the rest of this period ({amount}) is on your next invoice, on {on}."
            ),
        }
    }
}

/// Reasons a customer can give for cancelling (value, label).
pub const CANCEL_REASONS: [(&str, &str); 6] = [
    ("too_expensive", "It costs too much"),
    ("missing_features", "It lacks features we need"),
    ("switched_service", "We moved to another service"),
    ("unused", "We do not use it enough"),
    ("temporary", "We only needed it for a while"),
    ("other", "Another reason"),
];
