//! The catalog as one document: meters, plans with their prices, usage prices and entitlements,
//! and coupons with their promotion codes. `billing-portal catalog export` writes it and
//! `catalog apply` publishes it; the demo catalog is such a document.
//!
//! Three pure steps decide what a publish does: [`CatalogFile::problems`] lists every problem of
//! a document (all of them, each at its place), [`changes`] compares it with what is published,
//! and [`Change::describe`] says each change in a line. Prices are versioned: a price whose terms
//! differ from the published version of its id becomes a new version; the old one stays with its
//! subscribers.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::catalog::Plan;
use super::coupon::{Coupon, CouponDuration, CouponValue};
use super::currency::Currency;
use super::metering::{is_property_name, Aggregation, Meter};
use super::money::{format_minor_decimal, Money};
use super::period::{Interval, IntervalUnit};
use super::pricing::{Price, PriceModel};
use super::proration::ChangePolicies;

/// The whole catalog. Amounts are in minor units (cents): `amount = 1200` is $12.00, and unit
/// amounts are decimal strings of minor units (`"0.8"` is eight tenths of a cent).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meters: Vec<MeterEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plans: Vec<PlanEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coupons: Vec<CouponEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeterEntry {
    pub id: String,
    pub name: String,
    pub aggregation: Aggregation,
    /// The property `unique_count` counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// Only events whose properties equal each of these count.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub filter: BTreeMap<String, String>,
    pub unit_label: String,
}

impl MeterEntry {
    pub fn meter(&self) -> Meter {
        Meter {
            id: self.id.clone(),
            name: self.name.clone(),
            aggregation: self.aggregation,
            property: self.property.clone(),
            filter: self.filter.clone(),
            unit_label: self.unit_label.clone(),
        }
    }

    pub fn of(meter: &Meter) -> MeterEntry {
        MeterEntry {
            id: meter.id.clone(),
            name: meter.name.clone(),
            aggregation: meter.aggregation,
            property: meter.property.clone(),
            filter: meter.filter.clone(),
            unit_label: meter.unit_label.clone(),
        }
    }
}

/// A plan, in the order the pricing page shows plans.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanEntry {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Lines the pricing page adds after what the entitlements say; nothing is billed by them
    /// ("Email support").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Not for sale; its subscribers keep renewing.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
    /// How each kind of change from this plan is prorated (`upgrade`, `downgrade`,
    /// `interval_switch`, `seat_increase`, `seat_decrease`: `prorate_now_invoice_now`,
    /// `prorate_on_next_invoice`, `no_proration` or `apply_at_period_end`); a kind left out keeps
    /// the default.
    #[serde(default, skip_serializing_if = "is_default_policies")]
    pub policies: ChangePolicies,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prices: Vec<PriceEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage_prices: Vec<UsagePriceEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entitlements: Vec<EntitlementEntry>,
}

/// A recurring price. Its `id` names every version of it; see the module's documentation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceEntry {
    pub id: String,
    pub nickname: String,
    pub currency: Currency,
    pub interval: Interval,
    pub model: PriceModel,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub trial_days: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_quantity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_quantity: Option<i64>,
    /// Not for sale; its subscribers keep renewing.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
}

impl PriceEntry {
    /// The price these terms describe, under `id` (the row id of one version).
    pub fn price(&self, id: &str) -> Price {
        Price {
            id: id.to_string(),
            nickname: self.nickname.clone(),
            currency: self.currency,
            interval: self.interval,
            model: self.model.clone(),
            trial_days: self.trial_days,
            unit_label: self.unit_label.clone(),
            min_quantity: self.min_quantity,
            max_quantity: self.max_quantity,
        }
    }

    /// The entry of a price published under lookup key `key`.
    pub fn of(key: &str, price: &Price, archived: bool) -> PriceEntry {
        PriceEntry {
            id: key.to_string(),
            nickname: price.nickname.clone(),
            currency: price.currency,
            interval: price.interval,
            model: price.model.clone(),
            trial_days: price.trial_days,
            unit_label: price.unit_label.clone(),
            min_quantity: price.min_quantity,
            max_quantity: price.max_quantity,
            archived,
        }
    }

    /// Whether two entries bill the same: everything but the archived flag.
    pub fn same_terms(&self, other: &PriceEntry) -> bool {
        self.price(&self.id) == other.price(&self.id)
    }
}

/// A plan's price for one meter's usage, rated at each period's end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsagePriceEntry {
    pub id: String,
    pub meter: String,
    pub nickname: String,
    pub currency: Currency,
    pub model: PriceModel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_label: Option<String>,
}

impl UsagePriceEntry {
    pub fn price(&self) -> Price {
        Price {
            id: self.id.clone(),
            nickname: self.nickname.clone(),
            currency: self.currency,
            interval: Interval::monthly(),
            model: self.model.clone(),
            trial_days: 0,
            unit_label: self.unit_label.clone(),
            min_quantity: None,
            max_quantity: None,
        }
    }
}

/// What a plan allows: a feature that is on or off, or a limit (a number, or `"unlimited"`),
/// counted against a meter's usage in the period when `meter` is set. The limit `seats` without
/// a meter is the subscription's seat count unless given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntitlementEntry {
    pub key: String,
    /// How the pricing page names it ("private projects"); the key when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<LimitValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LimitValue {
    Count(i64),
    Word(Unlimited),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unlimited {
    Unlimited,
}

impl LimitValue {
    /// The number, `None` for unlimited.
    pub fn count(self) -> Option<i64> {
        match self {
            LimitValue::Count(n) => Some(n),
            LimitValue::Word(_) => None,
        }
    }

    pub fn of(count: Option<i64>) -> LimitValue {
        count.map_or(LimitValue::Word(Unlimited::Unlimited), LimitValue::Count)
    }
}

/// An entitlement as the engine keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlement {
    pub key: String,
    pub name: String,
    pub kind: EntitlementKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EntitlementKind {
    Feature {
        enabled: bool,
    },
    /// `value` `None`: unlimited (for `seats`: the seats bought).
    Limit {
        value: Option<i64>,
        meter: Option<String>,
    },
}

impl EntitlementEntry {
    /// The entitlement, once [`CatalogFile::problems`] found none.
    pub fn entitlement(&self) -> Entitlement {
        let kind = match (self.feature, self.limit) {
            (Some(enabled), _) => EntitlementKind::Feature { enabled },
            (None, limit) => EntitlementKind::Limit {
                value: limit.and_then(LimitValue::count),
                meter: self.meter.clone(),
            },
        };
        Entitlement {
            key: self.key.clone(),
            name: self.name.clone().unwrap_or_else(|| self.key.clone()),
            kind,
        }
    }

    pub fn of(entitlement: &Entitlement) -> EntitlementEntry {
        let name = (entitlement.name != entitlement.key).then(|| entitlement.name.clone());
        match &entitlement.kind {
            EntitlementKind::Feature { enabled } => EntitlementEntry {
                key: entitlement.key.clone(),
                name,
                feature: Some(*enabled),
                limit: None,
                meter: None,
            },
            EntitlementKind::Limit { value, meter } => EntitlementEntry {
                key: entitlement.key.clone(),
                name,
                feature: None,
                limit: Some(LimitValue::of(*value)),
                meter: meter.clone(),
            },
        }
    }
}

/// A coupon: `percent` off, or `amount_off` minor units of `currency`, for `duration` `once`,
/// `forever` or `repeating` (with `periods`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponEntry {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_off: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    pub duration: DurationKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub periods: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<CodeEntry>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DurationKind {
    Once,
    Repeating,
    Forever,
}

/// A promotion code customers type (any case; kept in upper case).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeEntry {
    pub code: String,
    /// RFC 3339, e.g. `2026-09-01T00:00:00Z`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_redemptions: Option<i64>,
    /// No longer accepted; customers who redeemed it keep their discount. A published code left
    /// out of the document is archived too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
}

impl CodeEntry {
    /// The expiry in unix seconds, or why it cannot be read.
    pub fn expiry(&self) -> Result<Option<i64>, String> {
        self.expires_at
            .as_deref()
            .map(|text| {
                chrono::DateTime::parse_from_rfc3339(text)
                    .map(|t| t.timestamp())
                    .map_err(|_| {
                        format!("\"expires_at\" is {text:?}; write a time such as \"2026-09-01T00:00:00Z\"")
                    })
            })
            .transpose()
    }

    pub fn normalized(&self) -> String {
        self.code.trim().to_uppercase()
    }
}

impl CouponEntry {
    /// The coupon, or what is wrong with its value and duration.
    pub fn coupon(&self) -> Result<Coupon, String> {
        let value = match (self.percent, self.amount_off, self.currency) {
            (Some(percent), None, None) => CouponValue::Percent { percent },
            (None, Some(amount), Some(currency)) => CouponValue::FixedAmount {
                amount: Money::from_minor(amount, currency),
            },
            (None, Some(_), None) => {
                return Err("\"amount_off\" needs a \"currency\" such as \"USD\"".into())
            }
            _ => {
                return Err(
                    "give either \"percent\", or \"amount_off\" with \"currency\", not both".into(),
                )
            }
        };
        let duration = match (self.duration, self.periods) {
            (DurationKind::Once, None) => CouponDuration::Once,
            (DurationKind::Forever, None) => CouponDuration::Forever,
            (DurationKind::Repeating, Some(periods)) => CouponDuration::Repeating { periods },
            (DurationKind::Repeating, None) => {
                return Err(
                    "a \"repeating\" coupon needs \"periods\" (how many invoices it discounts)"
                        .into(),
                )
            }
            (_, Some(_)) => return Err("\"periods\" is only for a \"repeating\" coupon".into()),
        };
        let coupon = Coupon {
            id: self.id.clone(),
            name: self.name.clone(),
            value,
            duration,
        };
        coupon.validate().map_err(|e| e.to_string())?;
        Ok(coupon)
    }

    pub fn of(coupon: &Coupon, codes: Vec<CodeEntry>) -> CouponEntry {
        let (percent, amount_off, currency) = match &coupon.value {
            CouponValue::Percent { percent } => (Some(*percent), None, None),
            CouponValue::FixedAmount { amount } => {
                (None, Some(amount.minor_units()), Some(amount.currency()))
            }
        };
        let (duration, periods) = match coupon.duration {
            CouponDuration::Once => (DurationKind::Once, None),
            CouponDuration::Forever => (DurationKind::Forever, None),
            CouponDuration::Repeating { periods } => (DurationKind::Repeating, Some(periods)),
        };
        CouponEntry {
            id: coupon.id.clone(),
            name: coupon.name.clone(),
            percent,
            amount_off,
            currency,
            duration,
            periods,
            codes,
        }
    }

    /// Whether two entries discount the same (codes aside).
    fn same_terms(&self, other: &CouponEntry) -> bool {
        let strip = |c: &CouponEntry| CouponEntry {
            codes: Vec::new(),
            ..c.clone()
        };
        strip(self) == strip(other)
    }
}

fn is_default_policies(value: &ChangePolicies) -> bool {
    *value == ChangePolicies::default()
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero_u32(value: &u32) -> bool {
    *value == 0
}

/// One problem of a catalog document: where (`plan "pro" › price "pro_monthly"`) and what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub at: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// An id the catalog accepts: 1 to 64 of lower-case letters, digits, `_` and `-`.
pub fn is_catalog_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

const ID_RULE: &str =
    "use 1 to 64 lower-case letters, digits, \"_\" or \"-\" (for example \"pro_monthly\")";

impl CatalogFile {
    /// Every problem of the document, in document order; empty when it can be published.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut push = |at: String, message: String| problems.push(Problem { at, message });

        let mut meter_ids = BTreeSet::new();
        for meter in &self.meters {
            let at = format!("meter \"{}\"", meter.id);
            if !is_catalog_id(&meter.id) {
                push(at.clone(), format!("the id is not valid; {ID_RULE}"));
            }
            if !meter_ids.insert(meter.id.as_str()) {
                push(
                    at.clone(),
                    "the id is used by another meter; give each meter its own id".into(),
                );
            }
            if meter.name.trim().is_empty() {
                push(
                    at.clone(),
                    "the name is empty; name the meter (\"Build minutes\")".into(),
                );
            }
            if meter.unit_label.trim().is_empty() {
                push(
                    at.clone(),
                    "\"unit_label\" is empty; say what one unit is (\"minute\")".into(),
                );
            }
            match (&meter.aggregation, &meter.property) {
                (Aggregation::UniqueCount, None) => push(
                    at.clone(),
                    "a unique_count meter needs \"property\": the event property whose distinct values it counts".into(),
                ),
                (Aggregation::UniqueCount, Some(p)) if !is_property_name(p) => push(
                    at.clone(),
                    format!("\"property\" {p:?} is not a property name; use letters, digits and \"_\""),
                ),
                (Aggregation::UniqueCount, Some(_)) => {}
                (_, Some(_)) => push(
                    at.clone(),
                    "\"property\" is only for a unique_count meter; remove it".into(),
                ),
                (_, None) => {}
            }
            if let Some(key) = meter.filter.keys().find(|k| !is_property_name(k)) {
                push(
                    at.clone(),
                    format!(
                        "filter key {key:?} is not a property name; use letters, digits and \"_\""
                    ),
                );
            }
        }

        let mut plan_ids = BTreeSet::new();
        let mut price_ids = BTreeSet::new();
        for plan in &self.plans {
            let at = format!("plan \"{}\"", plan.id);
            if !is_catalog_id(&plan.id) {
                push(at.clone(), format!("the id is not valid; {ID_RULE}"));
            }
            if !plan_ids.insert(plan.id.as_str()) {
                push(
                    at.clone(),
                    "the id is used by another plan; give each plan its own id".into(),
                );
            }
            if plan.name.trim().is_empty() {
                push(
                    at.clone(),
                    "the name is empty; name the plan as customers will see it".into(),
                );
            }
            if !plan.archived && plan.prices.iter().all(|p| p.archived) {
                push(
                    at.clone(),
                    "the plan is for sale but has no price for sale; add a price or archive the plan".into(),
                );
            }
            for price in &plan.prices {
                let at = format!("{at} › price \"{}\"", price.id);
                if !is_catalog_id(&price.id) {
                    push(at.clone(), format!("the id is not valid; {ID_RULE}"));
                }
                if !price_ids.insert(price.id.as_str()) {
                    push(
                        at.clone(),
                        "the id is used by another price; give each price its own id".into(),
                    );
                }
                if price.nickname.trim().is_empty() {
                    push(
                        at.clone(),
                        "\"nickname\" is empty; say what the price is (\"Pro monthly\")".into(),
                    );
                }
                if let Err(error) = price.price(&price.id).validate() {
                    push(at.clone(), error.problem.to_string());
                }
            }
            let mut metered = BTreeSet::new();
            for usage in &plan.usage_prices {
                let at = format!("{at} › usage price \"{}\"", usage.id);
                if !is_catalog_id(&usage.id) {
                    push(at.clone(), format!("the id is not valid; {ID_RULE}"));
                }
                if !price_ids.insert(usage.id.as_str()) {
                    push(
                        at.clone(),
                        "the id is used by another price; give each price its own id".into(),
                    );
                }
                if !meter_ids.contains(usage.meter.as_str()) {
                    push(
                        at.clone(),
                        format!("meter \"{}\" is not in the catalog; add it under [[meters]] or name one that is", usage.meter),
                    );
                }
                if !metered.insert(usage.meter.as_str()) {
                    push(
                        at.clone(),
                        format!(
                            "the plan prices meter \"{}\" twice; keep one usage price per meter",
                            usage.meter
                        ),
                    );
                }
                if let Err(error) = usage.price().validate() {
                    push(at.clone(), error.problem.to_string());
                }
            }
            let mut keys = BTreeSet::new();
            for entitlement in &plan.entitlements {
                let at = format!("{at} › entitlement \"{}\"", entitlement.key);
                if !is_catalog_id(&entitlement.key) {
                    push(at.clone(), format!("the key is not valid; {ID_RULE}"));
                }
                if !keys.insert(entitlement.key.as_str()) {
                    push(
                        at.clone(),
                        "the key is used twice in this plan; keep one".into(),
                    );
                }
                match (entitlement.feature, entitlement.limit) {
                    (Some(_), Some(_)) => push(
                        at.clone(),
                        "give either \"feature\" (true or false) or \"limit\" (a number or \"unlimited\"), not both".into(),
                    ),
                    (None, None) => push(
                        at.clone(),
                        "give \"feature\" (true or false) or \"limit\" (a number or \"unlimited\")".into(),
                    ),
                    (Some(_), None) if entitlement.meter.is_some() => push(
                        at.clone(),
                        "a feature has no meter; remove \"meter\" or make it a limit".into(),
                    ),
                    (None, Some(LimitValue::Count(n))) if n < 0 => push(
                        at.clone(),
                        format!("the limit is {n}; use 0 or more, or \"unlimited\""),
                    ),
                    _ => {}
                }
                if let Some(meter) = &entitlement.meter {
                    if !meter_ids.contains(meter.as_str()) {
                        push(
                            at.clone(),
                            format!("meter \"{meter}\" is not in the catalog; add it under [[meters]] or name one that is"),
                        );
                    }
                }
            }
        }

        let mut coupon_ids = BTreeSet::new();
        let mut codes = BTreeSet::new();
        for coupon in &self.coupons {
            let at = format!("coupon \"{}\"", coupon.id);
            if !is_catalog_id(&coupon.id) {
                push(at.clone(), format!("the id is not valid; {ID_RULE}"));
            }
            if !coupon_ids.insert(coupon.id.as_str()) {
                push(
                    at.clone(),
                    "the id is used by another coupon; give each coupon its own id".into(),
                );
            }
            if let Err(message) = coupon.coupon() {
                // The domain's message starts with the coupon; say only what is wrong.
                let message = message
                    .strip_prefix(&format!("coupon \"{}\": ", coupon.id))
                    .unwrap_or(&message)
                    .to_string();
                push(at.clone(), message);
            }
            for code in &coupon.codes {
                let normalized = code.normalized();
                let at = format!("{at} › code \"{}\"", code.code);
                if normalized.is_empty()
                    || normalized.len() > 40
                    || !normalized
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    push(
                        at.clone(),
                        "a code is 1 to 40 letters, digits, \"-\" or \"_\"".into(),
                    );
                }
                if !codes.insert(normalized) {
                    push(
                        at.clone(),
                        "the code is used twice; each code names one coupon".into(),
                    );
                }
                if let Err(message) = code.expiry() {
                    push(at.clone(), message);
                }
                if let Some(n) = code.max_redemptions.filter(|n| *n < 1) {
                    push(at.clone(), format!("\"max_redemptions\" is {n}; use 1 or more, or leave it out for no limit"));
                }
            }
        }
        problems
    }
}

/// One change a publish makes.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    PutMeter {
        before: Option<MeterEntry>,
        after: MeterEntry,
    },
    PutPlan {
        before: Option<PlanEntry>,
        after: PlanEntry,
        sort_order: i64,
    },
    ArchivePlan {
        plan: PlanEntry,
    },
    /// A price id not published before: version 1.
    AddPrice {
        plan_id: String,
        price: PriceEntry,
    },
    /// New terms for a published price id: the next version; the old one keeps its subscribers.
    NewPriceVersion {
        plan_id: String,
        before: PriceEntry,
        after: PriceEntry,
    },
    /// For sale, or not, on the same terms.
    SetPriceArchived {
        plan_id: String,
        price: PriceEntry,
        archived: bool,
    },
    PutUsagePrice {
        plan_id: String,
        before: Option<UsagePriceEntry>,
        after: UsagePriceEntry,
    },
    RemoveUsagePrice {
        plan_id: String,
        usage: UsagePriceEntry,
    },
    PutEntitlement {
        plan_id: String,
        before: Option<EntitlementEntry>,
        after: EntitlementEntry,
    },
    RemoveEntitlement {
        plan_id: String,
        entitlement: EntitlementEntry,
    },
    AddCoupon {
        coupon: CouponEntry,
    },
    PutCode {
        coupon_id: String,
        before: Option<CodeEntry>,
        after: CodeEntry,
    },
}

fn describe_price(price: &PriceEntry) -> String {
    let terms = describe_model(&price.model, price.currency, price.unit_label.as_deref());
    format!("{} every {}", terms, price.interval.describe())
}

/// A price model in words: "$12.00 per seat", "1,000 included, then $0.0008 per minute".
pub fn describe_model(model: &PriceModel, currency: Currency, unit: Option<&str>) -> String {
    let unit = unit.unwrap_or("unit");
    let money = |minor: i64| Money::from_minor(minor, currency).to_string();
    let decimal = |minor: Decimal| format_minor_decimal(currency, minor);
    match model {
        PriceModel::Flat { amount } => money(*amount),
        PriceModel::PerUnit { unit_amount } => format!("{} per {unit}", decimal(*unit_amount)),
        PriceModel::Graduated { tiers } | PriceModel::Volume { tiers } => {
            let kind = if matches!(model, PriceModel::Graduated { .. }) {
                "graduated"
            } else {
                "volume"
            };
            let tiers: Vec<String> = tiers
                .iter()
                .map(|t| {
                    let range = match t.up_to {
                        Some(up_to) => format!("{}–{}", t.from, up_to),
                        None => format!("{}+", t.from),
                    };
                    let flat = if t.flat_amount > 0 {
                        format!(" + {}", money(t.flat_amount))
                    } else {
                        String::new()
                    };
                    format!("{range} at {}{flat}", decimal(t.unit_amount))
                })
                .collect();
            format!("{kind} per {unit}: {}", tiers.join(", "))
        }
        PriceModel::Package {
            package_size,
            package_amount,
        } => format!("{} per {package_size} {unit}s", money(*package_amount)),
        PriceModel::IncludedThenOverage {
            included,
            base_amount,
            overage_unit_amount,
        } => format!(
            "{} with {} {unit}s included, then {} per {unit}",
            money(*base_amount),
            group(*included),
            decimal(*overage_unit_amount)
        ),
    }
}

fn group(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn describe_policies(p: &ChangePolicies) -> String {
    let word = |policy| match policy {
        super::proration::ProrationPolicy::ProrateNowInvoiceNow => "now",
        super::proration::ProrationPolicy::ProrateOnNextInvoice => "on the next invoice",
        super::proration::ProrationPolicy::NoProration => "without proration",
        super::proration::ProrationPolicy::ApplyAtPeriodEnd => "at renewal",
    };
    format!(
        "upgrade {}, downgrade {}, interval switch {}, seat increase {}, seat decrease {}",
        word(p.upgrade),
        word(p.downgrade),
        word(p.interval_switch),
        word(p.seat_increase),
        word(p.seat_decrease)
    )
}

fn describe_entitlement(e: &EntitlementEntry) -> String {
    match (e.feature, e.limit) {
        (Some(on), _) => format!("{} {}", e.key, if on { "on" } else { "off" }),
        (None, Some(LimitValue::Count(n))) => format!("{} limit {}", e.key, group(n)),
        _ => format!("{} unlimited", e.key),
    }
}

impl Change {
    /// The change in one line, as `catalog apply` and the console list it.
    pub fn describe(&self) -> String {
        match self {
            Change::PutMeter { before: None, after } => {
                format!("+ meter {} ({}, {})", after.id, after.name, after.aggregation.as_str())
            }
            Change::PutMeter {
                before: Some(_),
                after,
            } => format!("~ meter {}: now named {:?}, counting {}s", after.id, after.name, after.unit_label),
            Change::PutPlan { before: None, after, .. } => {
                format!("+ plan {} ({})", after.id, after.name)
            }
            Change::PutPlan {
                before: Some(before),
                after,
                ..
            } => {
                if before.archived && !after.archived {
                    format!("~ plan {}: for sale again", after.id)
                } else {
                    if before.policies != after.policies {
                        format!(
                            "~ plan {}: change policies {} (were {})",
                            after.id,
                            describe_policies(&after.policies),
                            describe_policies(&before.policies)
                        )
                    } else {
                        format!("~ plan {}: name, description, notes or order", after.id)
                    }
                }
            }
            Change::ArchivePlan { plan } => {
                format!("- plan {}: archived (not for sale; its subscribers keep renewing)", plan.id)
            }
            Change::AddPrice { plan_id, price } => {
                format!("+ price {} on {plan_id}: {}", price.id, describe_price(price))
            }
            Change::NewPriceVersion {
                plan_id,
                before,
                after,
            } if before.same_terms(after) => format!(
                "~ price {} on {plan_id}: new version on the same terms, with the plan's new usage prices and entitlements; current subscribers keep the old version and the terms they have",
                after.id
            ),
            Change::NewPriceVersion {
                plan_id,
                before,
                after,
            } => format!(
                "~ price {} on {plan_id}: new version, {} (was {}); current subscribers keep the old version",
                after.id,
                describe_price(after),
                describe_price(before)
            ),
            Change::SetPriceArchived {
                price,
                archived: true,
                ..
            } => format!("- price {}: archived (not for sale; its subscribers keep renewing)", price.id),
            Change::SetPriceArchived { price, .. } => {
                format!("~ price {}: for sale again", price.id)
            }
            Change::PutUsagePrice {
                plan_id,
                before,
                after,
            } => format!(
                "{} usage price {} on {plan_id}: {} for meter {}{}",
                if before.is_some() { "~" } else { "+" },
                after.id,
                describe_model(&after.model, after.currency, after.unit_label.as_deref()),
                after.meter,
                if before.is_some() { " (for new customers and whoever a migration moves; current subscribers keep the version they have)" } else { "" }
            ),
            Change::RemoveUsagePrice { plan_id, usage } => {
                format!("- usage price {} on {plan_id}: not rated for new customers (current subscribers keep it until a migration moves them)", usage.id)
            }
            Change::PutEntitlement {
                plan_id,
                before,
                after,
            } => match before {
                None => format!("+ entitlement {} on {plan_id}", describe_entitlement(after)),
                Some(before) => format!(
                    "~ entitlement {} on {plan_id} (was {})",
                    describe_entitlement(after),
                    describe_entitlement(before)
                ),
            },
            Change::RemoveEntitlement {
                plan_id,
                entitlement,
            } => format!("- entitlement {} on {plan_id}", entitlement.key),
            Change::AddCoupon { coupon } => format!("+ coupon {} ({})", coupon.id, coupon.name),
            Change::PutCode {
                coupon_id,
                before,
                after,
            } => match (before, after.archived) {
                (Some(before), true) if !before.archived => format!(
                    "- promotion code {} for {coupon_id}: no longer accepted (customers who redeemed it keep their discount)",
                    after.normalized()
                ),
                _ => format!(
                    "{} promotion code {} for {coupon_id}",
                    if before.is_some() { "~" } else { "+" },
                    after.normalized()
                ),
            },
        }
    }
}

/// What publishing `proposed` over `published` changes, or the problems that stop it: those of
/// the document itself, and changes a published catalog does not allow (a meter's counting, a
/// coupon's terms). Nothing is ever deleted: a plan or price left out of the document is
/// archived, a promotion code left out is no longer accepted, and a coupon left out stays as it is.
pub fn changes(
    published: &CatalogFile,
    proposed: &CatalogFile,
) -> Result<Vec<Change>, Vec<Problem>> {
    let mut problems = proposed.problems();
    let mut out = Vec::new();

    for meter in &proposed.meters {
        match published.meters.iter().find(|m| m.id == meter.id) {
            None => out.push(Change::PutMeter {
                before: None,
                after: meter.clone(),
            }),
            Some(before) if before == meter => {}
            Some(before) => {
                if before.aggregation != meter.aggregation
                    || before.property != meter.property
                    || before.filter != meter.filter
                {
                    problems.push(Problem {
                        at: format!("meter \"{}\"", meter.id),
                        message: "what a published meter counts (aggregation, property, filter) cannot change, or past periods would be rated differently; add a new meter instead".into(),
                    });
                } else {
                    out.push(Change::PutMeter {
                        before: Some(before.clone()),
                        after: meter.clone(),
                    });
                }
            }
        }
    }
    for meter in &published.meters {
        if !proposed.meters.iter().any(|m| m.id == meter.id) {
            let used = proposed.plans.iter().any(|p| {
                p.usage_prices.iter().any(|u| u.meter == meter.id)
                    || p.entitlements
                        .iter()
                        .any(|e| e.meter.as_deref() == Some(&meter.id))
            });
            if used {
                // Reported by problems() already (an unknown meter).
                continue;
            }
            problems.push(Problem {
                at: format!("meter \"{}\"", meter.id),
                message: "a published meter cannot be removed (its events and ratings name it); keep it in the file".into(),
            });
        }
    }

    let all_published_prices: BTreeMap<&str, (&str, &PriceEntry)> = published
        .plans
        .iter()
        .flat_map(|plan| {
            plan.prices
                .iter()
                .map(move |p| (p.id.as_str(), (plan.id.as_str(), p)))
        })
        .collect();
    for (order, plan) in proposed.plans.iter().enumerate() {
        let before = published.plans.iter().find(|p| p.id == plan.id);
        let header = |p: &PlanEntry| PlanEntry {
            prices: Vec::new(),
            usage_prices: Vec::new(),
            entitlements: Vec::new(),
            ..p.clone()
        };
        let before_order = published.plans.iter().position(|p| p.id == plan.id);
        match before {
            Some(before)
                if before.archived == plan.archived
                    && header(before) == header(plan)
                    && before_order == Some(order) => {}
            Some(before) if plan.archived && !before.archived => {
                out.push(Change::ArchivePlan { plan: header(plan) })
            }
            _ => out.push(Change::PutPlan {
                before: before.map(header),
                after: header(plan),
                sort_order: order as i64,
            }),
        }
        for price in &plan.prices {
            // A plan that is archived sells none of its prices.
            let archived = price.archived || plan.archived;
            match all_published_prices.get(price.id.as_str()) {
                None => out.push(Change::AddPrice {
                    plan_id: plan.id.clone(),
                    price: PriceEntry {
                        archived,
                        ..price.clone()
                    },
                }),
                Some((owner, _)) if *owner != plan.id => problems.push(Problem {
                    at: format!("plan \"{}\" › price \"{}\"", plan.id, price.id),
                    message: format!("the price is published on plan \"{owner}\"; a price stays on its plan, so give this one a new id"),
                }),
                Some((_, old)) if !old.same_terms(price) => out.push(Change::NewPriceVersion {
                    plan_id: plan.id.clone(),
                    before: (*old).clone(),
                    after: PriceEntry {
                        archived,
                        ..price.clone()
                    },
                }),
                Some((_, old)) if old.archived != archived => out.push(Change::SetPriceArchived {
                    plan_id: plan.id.clone(),
                    price: price.clone(),
                    archived,
                }),
                Some(_) => {}
            }
        }
        if let Some(before) = before {
            for old in &before.prices {
                if !old.archived && !plan.prices.iter().any(|p| p.id == old.id) {
                    out.push(Change::SetPriceArchived {
                        plan_id: plan.id.clone(),
                        price: old.clone(),
                        archived: true,
                    });
                }
            }
        }
        let empty = Vec::new();
        let old_usage = before.map_or(&empty, |b| &b.usage_prices);
        for usage in &plan.usage_prices {
            let old = old_usage.iter().find(|u| u.id == usage.id);
            if old != Some(usage) {
                out.push(Change::PutUsagePrice {
                    plan_id: plan.id.clone(),
                    before: old.cloned(),
                    after: usage.clone(),
                });
            }
        }
        for old in old_usage {
            if !plan.usage_prices.iter().any(|u| u.id == old.id) {
                out.push(Change::RemoveUsagePrice {
                    plan_id: plan.id.clone(),
                    usage: old.clone(),
                });
            }
        }
        let empty = Vec::new();
        let old_entitlements = before.map_or(&empty, |b| &b.entitlements);
        for entitlement in &plan.entitlements {
            let old = old_entitlements.iter().find(|e| e.key == entitlement.key);
            if old != Some(entitlement) {
                out.push(Change::PutEntitlement {
                    plan_id: plan.id.clone(),
                    before: old.cloned(),
                    after: entitlement.clone(),
                });
            }
        }
        for old in old_entitlements {
            if !plan.entitlements.iter().any(|e| e.key == old.key) {
                out.push(Change::RemoveEntitlement {
                    plan_id: plan.id.clone(),
                    entitlement: old.clone(),
                });
            }
        }
        // New usage prices or entitlements are new terms for the plan: each of its prices for
        // sale gets a new version, so current subscribers keep the terms they have (until a
        // migration moves them) and new customers buy the new ones.
        let terms_changed = before.is_some()
            && out.iter().any(|c| match c {
                Change::PutUsagePrice { plan_id, .. }
                | Change::RemoveUsagePrice { plan_id, .. }
                | Change::PutEntitlement { plan_id, .. }
                | Change::RemoveEntitlement { plan_id, .. } => *plan_id == plan.id,
                _ => false,
            });
        if terms_changed && !plan.archived {
            for price in plan.prices.iter().filter(|p| !p.archived) {
                let versioned = out.iter().any(|c| {
                    matches!(c, Change::AddPrice { price: p, .. } | Change::NewPriceVersion { after: p, .. } if p.id == price.id)
                });
                if let (false, Some((_, old))) =
                    (versioned, all_published_prices.get(price.id.as_str()))
                {
                    out.push(Change::NewPriceVersion {
                        plan_id: plan.id.clone(),
                        before: (*old).clone(),
                        after: price.clone(),
                    });
                }
            }
        }
    }
    for plan in &published.plans {
        if !plan.archived && !proposed.plans.iter().any(|p| p.id == plan.id) {
            out.push(Change::ArchivePlan {
                plan: PlanEntry {
                    archived: true,
                    prices: Vec::new(),
                    usage_prices: Vec::new(),
                    entitlements: Vec::new(),
                    ..plan.clone()
                },
            });
        }
    }

    for coupon in &proposed.coupons {
        let before = published.coupons.iter().find(|c| c.id == coupon.id);
        match before {
            None => out.push(Change::AddCoupon {
                coupon: CouponEntry {
                    codes: Vec::new(),
                    ..coupon.clone()
                },
            }),
            Some(before) if !before.same_terms(coupon) => problems.push(Problem {
                at: format!("coupon \"{}\"", coupon.id),
                message: "a published coupon's terms cannot change (customers hold it); add a new coupon instead".into(),
            }),
            Some(_) => {}
        }
        for code in &coupon.codes {
            let old = published
                .coupons
                .iter()
                .flat_map(|c| c.codes.iter().map(move |k| (c.id.as_str(), k)))
                .find(|(_, k)| k.normalized() == code.normalized());
            match old {
                Some((owner, _)) if owner != coupon.id => problems.push(Problem {
                    at: format!("coupon \"{}\" › code \"{}\"", coupon.id, code.code),
                    message: format!(
                        "the code is published for coupon \"{owner}\"; use another code"
                    ),
                }),
                Some((_, old))
                    if old.archived == code.archived
                        && (code.archived
                            || (old.expires_at == code.expires_at
                                && old.max_redemptions == code.max_redemptions)) => {}
                old => out.push(Change::PutCode {
                    coupon_id: coupon.id.clone(),
                    before: old.map(|(_, k)| k.clone()),
                    after: code.clone(),
                }),
            }
        }
    }

    // A published code the document leaves out is archived, as a price left out is.
    for coupon in &published.coupons {
        for code in coupon.codes.iter().filter(|k| !k.archived) {
            let kept = proposed
                .coupons
                .iter()
                .flat_map(|c| c.codes.iter())
                .any(|k| k.normalized() == code.normalized());
            if !kept {
                out.push(Change::PutCode {
                    coupon_id: coupon.id.clone(),
                    before: Some(code.clone()),
                    after: CodeEntry {
                        archived: true,
                        ..code.clone()
                    },
                });
            }
        }
    }

    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The lines the pricing page lists for a plan sold at `price`: what its entitlements and usage
/// prices say, then its notes. Seats come from the price's quantity bounds, a metered limit
/// names the included amount and the overage its usage price bills, a feature that is on is
/// named, and a feature that is off is left out.
pub fn feature_lines(
    plan: &Plan,
    price: &Price,
    entitlements: &[Entitlement],
    usage_prices: &[(String, Price)],
    meters: &[Meter],
) -> Vec<String> {
    let mut lines = Vec::new();
    let unit = price.unit_label.as_deref().unwrap_or("seat");
    let plural = |n: i64, word: &str| {
        if n == 1 {
            format!("{} {word}", group(n))
        } else {
            format!("{} {word}s", group(n))
        }
    };
    let per = match price.interval.unit {
        IntervalUnit::Month if price.interval.count == 1 => "a month".to_string(),
        IntervalUnit::Year if price.interval.count == 1 => "a year".to_string(),
        _ => format!("every {}", price.interval.describe()),
    };
    // Seats first, then the other limits, then the features, each in the order given.
    let rank = |e: &Entitlement| match &e.kind {
        EntitlementKind::Limit { meter: None, .. } if e.key == "seats" => 0,
        EntitlementKind::Limit { .. } => 1,
        EntitlementKind::Feature { .. } => 2,
    };
    // An entitlement without a name of its own reads as its key with spaces.
    let label = |e: &Entitlement| {
        if e.name == e.key {
            e.key.replace('_', " ")
        } else {
            e.name.clone()
        }
    };
    let mut ordered: Vec<&Entitlement> = entitlements.iter().collect();
    ordered.sort_by_key(|e| rank(e));
    for e in ordered {
        match &e.kind {
            EntitlementKind::Limit {
                value: _,
                meter: None,
            } if e.key == "seats" => {
                lines.push(
                    match (price.min_quantity.unwrap_or(1).max(1), price.max_quantity) {
                        (min, Some(max)) if min == max => plural(min, unit),
                        (1, Some(max)) => format!("Up to {}", plural(max, unit)),
                        (min, Some(max)) => format!("{} to {}", group(min), plural(max, unit)),
                        (1, None) => format!("As many {unit}s as you need"),
                        (min, None) => format!("From {}", plural(min, unit)),
                    },
                );
            }
            EntitlementKind::Limit { value, meter: None } => lines.push(match value {
                Some(n) => format!("{} {}", group(*n), label(e)),
                None => format!("Unlimited {}", label(e)),
            }),
            EntitlementKind::Limit {
                value,
                meter: Some(meter_id),
            } => {
                let meter = meters.iter().find(|m| &m.id == meter_id);
                let name = meter.map_or_else(|| label(e), |m| in_a_sentence(&m.name));
                let usage = usage_prices
                    .iter()
                    .find(|(m, _)| m == meter_id)
                    .map(|(_, p)| p);
                let overage = usage.and_then(|p| match &p.model {
                    PriceModel::IncludedThenOverage {
                        overage_unit_amount,
                        ..
                    } => Some(format!(
                        ", then {} per {}",
                        format_minor_decimal(p.currency, *overage_unit_amount),
                        p.unit_label
                            .as_deref()
                            .or(meter.map(|m| m.unit_label.as_str()))
                            .unwrap_or("unit")
                    )),
                    _ => None,
                });
                lines.push(match (value, overage) {
                    (Some(n), Some(overage)) => {
                        format!("{} {name} {per} included{overage}", group(*n))
                    }
                    (Some(n), None) => format!("{} {name} {per}", group(*n)),
                    (None, _) => format!("Unlimited {name}"),
                });
            }
            EntitlementKind::Feature { enabled: true } => lines.push(capitalize(&label(e))),
            EntitlementKind::Feature { enabled: false } => {}
        }
    }
    lines.extend(plan.features.iter().cloned());
    lines
}

/// A name as it reads inside a sentence: "Build minutes" → "build minutes", while a leading
/// acronym stays ("GPU minutes", "API calls").
fn in_a_sentence(name: &str) -> String {
    let first = name.split_whitespace().next().unwrap_or("");
    let acronym = first.chars().count() > 1 && first.chars().all(|c| !c.is_lowercase());
    if acronym {
        return name.to_string();
    }
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::pricing::tests::{dec, tier};

    fn price(id: &str, cents: i64) -> PriceEntry {
        PriceEntry {
            id: id.into(),
            nickname: "Scale monthly".into(),
            currency: Currency::USD,
            interval: Interval::monthly(),
            model: PriceModel::PerUnit {
                unit_amount: Decimal::from(cents),
            },
            trial_days: 0,
            unit_label: Some("seat".into()),
            min_quantity: Some(1),
            max_quantity: None,
            archived: false,
        }
    }

    fn plan(id: &str, prices: Vec<PriceEntry>) -> PlanEntry {
        PlanEntry {
            id: id.into(),
            name: "Scale".into(),
            description: "For scale".into(),
            notes: vec![],
            archived: false,
            policies: ChangePolicies::default(),
            prices,
            usage_prices: vec![],
            entitlements: vec![],
        }
    }

    fn file(plans: Vec<PlanEntry>) -> CatalogFile {
        CatalogFile {
            meters: vec![MeterEntry {
                id: "minutes".into(),
                name: "Build minutes".into(),
                aggregation: Aggregation::Sum,
                property: None,
                filter: BTreeMap::new(),
                unit_label: "minute".into(),
            }],
            plans,
            coupons: vec![],
        }
    }

    #[test]
    fn every_problem_is_listed_at_its_place() {
        let mut bad = price("scale_monthly", 1200);
        bad.model = PriceModel::Graduated {
            tiers: vec![tier(1, Some(9), "100", 0), tier(11, None, "80", 0)],
        };
        let mut p = plan("scale", vec![bad, price("Bad Id", 5)]);
        p.usage_prices.push(UsagePriceEntry {
            id: "scale_storage".into(),
            meter: "storage".into(),
            nickname: "Storage".into(),
            currency: Currency::USD,
            model: PriceModel::PerUnit {
                unit_amount: dec("-1"),
            },
            unit_label: None,
        });
        p.entitlements.push(EntitlementEntry {
            key: "sso".into(),
            name: None,
            feature: Some(true),
            limit: Some(LimitValue::Count(3)),
            meter: None,
        });
        let problems: Vec<String> = file(vec![p])
            .problems()
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(
            problems,
            vec![
                "plan \"scale\" › price \"scale_monthly\": tier 2 starts at 11 but tier 1 ends at 9; tiers must be contiguous (start tier 2 at 10)",
                "plan \"scale\" › price \"Bad Id\": the id is not valid; use 1 to 64 lower-case letters, digits, \"_\" or \"-\" (for example \"pro_monthly\")",
                "plan \"scale\" › usage price \"scale_storage\": meter \"storage\" is not in the catalog; add it under [[meters]] or name one that is",
                "plan \"scale\" › usage price \"scale_storage\": \"unit_amount\" is -1; amounts must not be negative",
                "plan \"scale\" › entitlement \"sso\": give either \"feature\" (true or false) or \"limit\" (a number or \"unlimited\"), not both",
            ]
        );
    }

    #[test]
    fn new_terms_make_a_new_version_and_a_missing_price_is_archived() {
        let published = file(vec![plan(
            "scale",
            vec![price("scale_monthly", 1200), price("scale_old", 900)],
        )]);
        let proposed = file(vec![plan("scale", vec![price("scale_monthly", 1400)])]);
        let changes = changes(&published, &proposed).unwrap();
        let lines: Vec<String> = changes.iter().map(Change::describe).collect();
        assert_eq!(
            lines,
            vec![
                "~ price scale_monthly on scale: new version, $14.00 per seat every month (was $12.00 per seat every month); current subscribers keep the old version",
                "- price scale_old: archived (not for sale; its subscribers keep renewing)",
            ]
        );
        // The same document again changes nothing.
        assert_eq!(super::changes(&proposed, &proposed).unwrap(), vec![]);
    }

    #[test]
    fn published_terms_that_cannot_change_are_refused() {
        let mut published = file(vec![plan("scale", vec![price("scale_monthly", 1200)])]);
        published.coupons.push(CouponEntry {
            id: "launch".into(),
            name: "Launch".into(),
            percent: Some(Decimal::from(20)),
            amount_off: None,
            currency: None,
            duration: DurationKind::Once,
            periods: None,
            codes: vec![],
        });
        let mut proposed = published.clone();
        proposed.meters[0].aggregation = Aggregation::Max;
        proposed.coupons[0].percent = Some(Decimal::from(30));
        proposed
            .plans
            .push(plan("other", vec![price("scale_monthly", 1200)]));
        let problems: Vec<String> = changes(&published, &proposed)
            .unwrap_err()
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(
            problems,
            vec![
                "plan \"other\" › price \"scale_monthly\": the id is used by another price; give each price its own id",
                "meter \"minutes\": what a published meter counts (aggregation, property, filter) cannot change, or past periods would be rated differently; add a new meter instead",
                "plan \"other\" › price \"scale_monthly\": the price is published on plan \"scale\"; a price stays on its plan, so give this one a new id",
                "coupon \"launch\": a published coupon's terms cannot change (customers hold it); add a new coupon instead",
            ]
        );
    }

    #[test]
    fn feature_lines_follow_the_entitlements_and_usage_prices() {
        let pro = Plan {
            id: "pro".into(),
            name: "Pro".into(),
            description: String::new(),
            features: vec!["Email support".into()],
            prices: vec![],
            archived_prices: vec![],
            feature_lines: Default::default(),
            policies: ChangePolicies::default(),
        };
        let mut seat = price("pro_monthly", 1200).price("pro_monthly");
        seat.max_quantity = Some(50);
        let entitlements = [
            EntitlementEntry {
                key: "seats".into(),
                name: None,
                feature: None,
                limit: Some(LimitValue::of(None)),
                meter: None,
            },
            EntitlementEntry {
                key: "private_repos".into(),
                name: Some("private projects".into()),
                feature: None,
                limit: Some(LimitValue::Count(50)),
                meter: None,
            },
            EntitlementEntry {
                key: "build_minutes".into(),
                name: None,
                feature: None,
                limit: Some(LimitValue::Count(1000)),
                meter: Some("minutes".into()),
            },
            EntitlementEntry {
                key: "sso".into(),
                name: Some("SSO".into()),
                feature: Some(false),
                limit: None,
                meter: None,
            },
            EntitlementEntry {
                key: "audit_log".into(),
                name: Some("audit log".into()),
                feature: Some(true),
                limit: None,
                meter: None,
            },
        ]
        .map(|e| e.entitlement());
        let overage = UsagePriceEntry {
            id: "pro_minutes".into(),
            meter: "minutes".into(),
            nickname: "Build minutes".into(),
            currency: Currency::USD,
            model: PriceModel::IncludedThenOverage {
                included: 1000,
                base_amount: 0,
                overage_unit_amount: dec("0.8"),
            },
            unit_label: Some("minute".into()),
        };
        let meters = [file(vec![]).meters[0].meter()];
        let lines = feature_lines(
            &pro,
            &seat,
            &entitlements,
            &[("minutes".into(), overage.price())],
            &meters,
        );
        assert_eq!(
            lines,
            vec![
                "Up to 50 seats",
                "50 private projects",
                "1,000 build minutes a month included, then $0.008 per minute",
                "Audit log",
                "Email support",
            ]
        );
        assert_eq!(in_a_sentence("GPU minutes"), "GPU minutes");
        assert_eq!(in_a_sentence("API calls"), "API calls");
        assert_eq!(in_a_sentence("Build minutes"), "build minutes");
        seat.min_quantity = Some(3);
        seat.max_quantity = Some(500);
        assert_eq!(
            feature_lines(&pro, &seat, &entitlements[..1], &[], &[])[0],
            "3 to 500 seats"
        );
        seat.min_quantity = Some(1);
        seat.max_quantity = Some(1);
        assert_eq!(
            feature_lines(&pro, &seat, &entitlements[..1], &[], &[])[0],
            "1 seat"
        );
    }

    #[test]
    fn a_document_survives_json_and_back() {
        let mut p = plan("scale", vec![price("scale_monthly", 1200)]);
        p.entitlements.push(EntitlementEntry {
            key: "projects".into(),
            name: None,
            feature: None,
            limit: Some(LimitValue::of(None)),
            meter: None,
        });
        let doc = file(vec![p]);
        let json = serde_json::to_string(&doc).unwrap();
        assert_eq!(serde_json::from_str::<CatalogFile>(&json).unwrap(), doc);
    }
}
