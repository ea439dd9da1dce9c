//! Usage and entitlements as the portal, the console and the REST API show them.

use crate::domain::ids::OrgId;
use crate::domain::{Currency, Money};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One meter's usage this period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeterUsage {
    pub meter_id: String,
    pub name: String,
    pub unit_label: String,
    /// How the meter counts, in words.
    pub counts: String,
    pub quantity: i64,
    /// The quantity at the period end if use goes on at the same rate (sum and count meters;
    /// the others stay as they are).
    pub projected_quantity: i64,
    /// The plan's price for this meter, if it has one: what the usage so far costs, and how.
    pub amount: Option<Money>,
    pub projected_amount: Option<Money>,
    pub formula: Option<String>,
}

/// An organisation's usage for its current period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UsageSummary {
    pub org_id: OrgId,
    pub plan_id: Option<String>,
    /// The catalog revision whose usage prices and entitlements the subscription keeps.
    #[serde(default)]
    pub terms_revision: Option<i64>,
    pub plan_name: Option<String>,
    pub status: Option<crate::domain::SubscriptionStatus>,
    pub period_start: i64,
    pub period_end: i64,
    pub now: i64,
    pub currency: Currency,
    pub meters: Vec<MeterUsage>,
    /// Usage charges so far this period.
    pub usage_so_far: Money,
    pub projected_usage: Money,
    /// The plan's recurring amount for the next period (what renews).
    pub recurring: Money,
    /// Recurring plus projected usage.
    pub projected_total: Money,
    pub alert: Option<(Money, bool)>,
    /// A hard cap is set and the usage charges so far have reached it.
    pub capped: bool,
    /// The subscription's seats, if it has one.
    pub seats: Option<i64>,
    /// The meters the plan prices (use beyond their limits is billed, not refused).
    pub priced_meters: Vec<String>,
}

/// A limit and how much of it is used this period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    /// `None`: unlimited.
    pub limit: Option<i64>,
    pub used: i64,
    pub remaining: Option<i64>,
    /// Whether more use is allowed now: within the limit, or beyond it when the plan prices the
    /// overage and no hard cap has been reached.
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meter: Option<String>,
}

/// What an organisation may use right now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlements {
    pub customer: String,
    pub plan: Option<String>,
    pub status: Option<crate::domain::SubscriptionStatus>,
    pub period_start: i64,
    pub period_end: i64,
    pub features: BTreeMap<String, bool>,
    pub limits: BTreeMap<String, Limit>,
    /// Usage charges so far this period, and the hard cap if one is set.
    pub usage_charges: String,
    pub hard_cap: Option<String>,
    pub capped: bool,
}
