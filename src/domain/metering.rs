//! Meters and usage events: what a meter counts, which events it counts, how one incoming event is
//! checked, and how a period's usage is rated by a price. Pure: the store aggregates the same way
//! in SQL, and the tests check both against hand-made tables.

use super::{Money, Price, PriceQuote, PricingError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a meter turns a period's events into one number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// The sum of the events' quantities.
    Sum,
    /// The number of events.
    Count,
    /// The largest quantity.
    Max,
    /// The number of distinct values of the meter's property.
    UniqueCount,
    /// The quantity of the latest event (by its timestamp).
    Latest,
}

impl Aggregation {
    pub fn parse(text: &str) -> Option<Aggregation> {
        Some(match text {
            "sum" => Aggregation::Sum,
            "count" => Aggregation::Count,
            "max" => Aggregation::Max,
            "unique_count" => Aggregation::UniqueCount,
            "latest" => Aggregation::Latest,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Aggregation::Sum => "sum",
            Aggregation::Count => "count",
            Aggregation::Max => "max",
            Aggregation::UniqueCount => "unique_count",
            Aggregation::Latest => "latest",
        }
    }
}

/// A meter: what it counts and of which events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meter {
    pub id: String,
    pub name: String,
    pub aggregation: Aggregation,
    /// The property counted by `UniqueCount`.
    pub property: Option<String>,
    /// Only events whose properties equal each of these (as text) count.
    pub filter: BTreeMap<String, String>,
    /// What one unit is called, singular ("build minute").
    pub unit_label: String,
}

/// A property name that a meter may filter on or count: letters, digits and `_`, 1 to 64.
pub fn is_property_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A property's value as the meter compares it: strings as they are, numbers and booleans as
/// JSON writes them; objects, lists and null never match.
pub fn property_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// One recorded event, as the meter sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedEvent {
    pub quantity: i64,
    pub occurred_at: i64,
    pub properties: serde_json::Map<String, serde_json::Value>,
}

impl Meter {
    /// Whether the meter counts an event with these properties.
    pub fn matches(&self, properties: &serde_json::Map<String, serde_json::Value>) -> bool {
        self.filter.iter().all(|(key, want)| {
            properties
                .get(key)
                .and_then(property_text)
                .is_some_and(|v| v == *want)
        })
    }

    /// The meter's value over `events` (only those it matches count). A sum is added in 128
    /// bits and held at `i64::MAX` rather than wrapping; ingest keeps real totals far below
    /// ([`MAX_METER_TOTAL`]).
    pub fn aggregate<'a>(&self, events: impl IntoIterator<Item = &'a RecordedEvent>) -> i64 {
        let counted = events.into_iter().filter(|e| self.matches(&e.properties));
        match self.aggregation {
            Aggregation::Sum => {
                let sum: i128 = counted.map(|e| i128::from(e.quantity)).sum();
                i64::try_from(sum).unwrap_or(if sum < 0 { i64::MIN } else { i64::MAX })
            }
            Aggregation::Count => counted.count() as i64,
            Aggregation::Max => counted.map(|e| e.quantity).max().unwrap_or(0),
            Aggregation::Latest => counted
                .max_by_key(|e| e.occurred_at)
                .map_or(0, |e| e.quantity),
            Aggregation::UniqueCount => {
                let property = self.property.as_deref().unwrap_or("");
                counted
                    .filter_map(|e| e.properties.get(property).and_then(property_text))
                    .collect::<std::collections::BTreeSet<_>>()
                    .len() as i64
            }
        }
    }

    /// How the meter counts, in words: "the sum of quantity", "distinct values of user_id".
    pub fn describe(&self) -> String {
        let what = match self.aggregation {
            Aggregation::Sum => "the sum of the events' quantities".to_string(),
            Aggregation::Count => "the number of events".to_string(),
            Aggregation::Max => "the largest quantity".to_string(),
            Aggregation::Latest => "the latest event's quantity".to_string(),
            Aggregation::UniqueCount => format!(
                "the number of distinct values of {}",
                self.property.as_deref().unwrap_or("?")
            ),
        };
        if self.filter.is_empty() {
            what
        } else {
            let filter: Vec<String> = self
                .filter
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            format!("{what} where {}", filter.join(" and "))
        }
    }
}

/// The largest quantity one event may carry: a trillion units (a terabyte counted in bytes).
pub const MAX_EVENT_QUANTITY: i64 = 1_000_000_000_000;

/// The most one customer's events of one meter may add up to, ever: a quadrillion units. Ingest
/// refuses an event that would pass it, so no sum of a meter's events, over any period, can leave
/// 64-bit arithmetic on either database (their sums stay 9,000 times below it).
pub const MAX_METER_TOTAL: i64 = 1_000_000_000_000_000;

/// An event as the ingest API accepts it, after its checks.
#[derive(Clone, Debug, PartialEq)]
pub struct IncomingEvent {
    pub id: String,
    pub customer: String,
    pub meter: String,
    pub quantity: i64,
    pub occurred_at: i64,
    pub properties: serde_json::Map<String, serde_json::Value>,
}

/// How far from now an event's timestamp may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IngestWindow {
    /// Seconds into the past (35 days by default).
    pub past: i64,
    /// Seconds into the future (5 minutes by default, for clock skew).
    pub future: i64,
}

impl Default for IngestWindow {
    fn default() -> Self {
        IngestWindow {
            past: 35 * 86_400,
            future: 300,
        }
    }
}

/// Checks one event of a batch: its shape, its meter (`meter_exists`) and its timestamp against
/// `now`. The error says what is wrong with it and what to send instead.
pub fn check_event(
    raw: &serde_json::Value,
    meter_exists: impl Fn(&str) -> bool,
    now: i64,
    window: IngestWindow,
) -> Result<IncomingEvent, String> {
    let object = raw
        .as_object()
        .ok_or("an event must be a JSON object with id, customer, meter, quantity and timestamp")?;
    let text = |field: &str| -> Result<String, String> {
        match object.get(field) {
            Some(serde_json::Value::String(s))
                if super::text::problem(s, super::text::Lines::One).is_some() =>
            {
                Err(format!(
                    "{field} must not contain control characters (such as NUL or line breaks) or text-direction characters"
                ))
            }
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => {
                Ok(s.trim().to_string())
            }
            Some(_) => Err(format!(
                "{field} must be a non-empty string of at most 200 characters"
            )),
            None => Err(format!("{field} is missing")),
        }
    };
    let id = text("id")?;
    let customer = text("customer")?;
    let meter = text("meter")?;
    if !meter_exists(&meter) {
        return Err(format!("there is no meter {meter:?}"));
    }
    let quantity = match object.get("quantity") {
        None => 1,
        Some(q) => q
            .as_i64()
            .filter(|q| (0..=MAX_EVENT_QUANTITY).contains(q))
            .ok_or("quantity must be a whole number from 0 to 1000000000000 (10^12)")?,
    };
    let occurred_at = match object.get("timestamp") {
        None => return Err("timestamp is missing".into()),
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .ok_or("timestamp must be whole unix seconds or an RFC 3339 time")?,
        Some(serde_json::Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp())
            .map_err(|_| format!("timestamp {s:?} is not an RFC 3339 time"))?,
        Some(_) => return Err("timestamp must be whole unix seconds or an RFC 3339 time".into()),
    };
    if occurred_at < now - window.past {
        return Err(format!(
            "timestamp is more than {} days in the past",
            window.past / 86_400
        ));
    }
    if occurred_at > now + window.future {
        return Err(format!(
            "timestamp is more than {} seconds in the future",
            window.future
        ));
    }
    let properties = match object.get("properties") {
        None | Some(serde_json::Value::Null) => serde_json::Map::new(),
        Some(serde_json::Value::Object(map)) => {
            if let Some(bad) = map.keys().find(|k| !is_property_name(k)) {
                return Err(format!(
                    "property name {bad:?} must be 1 to 64 letters, digits or _"
                ));
            }
            if serde_json::to_string(map).map_or(0, |s| s.len()) > 4_096 {
                return Err("properties must be at most 4 KiB of JSON".into());
            }
            if map.values().any(has_control_text) {
                return Err(
                    "property values must not contain control characters such as NUL".into(),
                );
            }
            map.clone()
        }
        Some(_) => return Err("properties must be a JSON object".into()),
    };
    Ok(IncomingEvent {
        id,
        customer,
        meter,
        quantity,
        occurred_at,
        properties,
    })
}

/// Whether a JSON value holds text with a control character anywhere inside it (PostgreSQL's
/// JSON cannot hold NUL, and none of them mean anything in a property).
fn has_control_text(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.chars().any(char::is_control),
        serde_json::Value::Array(items) => items.iter().any(has_control_text),
        serde_json::Value::Object(map) => {
            map.keys().any(|k| k.chars().any(char::is_control))
                || map.values().any(has_control_text)
        }
        _ => false,
    }
}

/// The invoice for a period's usage alone (when the paid plan stops at the period end and there
/// is no renewal invoice to carry the lines). Coupons discount plan fees, not usage.
pub fn usage_invoice(
    currency: super::Currency,
    (start, end): (i64, i64),
    lines: Vec<super::InvoiceLine>,
) -> Result<super::InvoiceDraft, super::InvoiceError> {
    let ts = |t: i64| chrono::DateTime::from_timestamp(t, 0).unwrap_or_default();
    let period = super::BillingPeriod::new(ts(start), ts(end))
        .map_err(|_| super::InvoiceError::EmptyPeriod)?;
    super::invoice::draft_from_lines(currency, period, lines, None)
}

/// A period's usage rated by a price: the amount (rounded once) and how it was worked out.
#[derive(Clone, Debug, PartialEq)]
pub struct Rated {
    pub quantity: i64,
    pub amount: Money,
    pub quote: PriceQuote,
}

/// Rates `quantity` units of usage with `price`'s model (no minimum or maximum applies to usage).
pub fn rate(price: &Price, quantity: i64) -> Result<Rated, PricingError> {
    let mut price = price.clone();
    price.min_quantity = None;
    price.max_quantity = None;
    let quote = price.quote(quantity)?;
    let amount = price.amount_for(quantity)?;
    Ok(Rated {
        quantity,
        amount,
        quote,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Currency, Interval, PriceModel, Tier};
    use rust_decimal::Decimal;
    use serde_json::json;

    fn meter(aggregation: Aggregation, property: Option<&str>, filter: &[(&str, &str)]) -> Meter {
        Meter {
            id: "m".into(),
            name: "M".into(),
            aggregation,
            property: property.map(str::to_string),
            filter: filter
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            unit_label: "unit".into(),
        }
    }

    fn event(quantity: i64, at: i64, properties: serde_json::Value) -> RecordedEvent {
        RecordedEvent {
            quantity,
            occurred_at: at,
            properties: properties.as_object().unwrap().clone(),
        }
    }

    /// Five events: (quantity, time, user, region).
    fn events() -> Vec<RecordedEvent> {
        vec![
            event(5, 100, json!({"user": "ann", "region": "eu"})),
            event(7, 300, json!({"user": "bob", "region": "us"})),
            event(2, 200, json!({"user": "ann", "region": "eu"})),
            event(9, 150, json!({"user": "cid", "region": "eu", "tier": 2})),
            event(1, 250, json!({"region": "eu"})),
        ]
    }

    #[test]
    fn each_aggregation_against_a_hand_table() {
        let table = [
            (meter(Aggregation::Sum, None, &[]), 24),
            (meter(Aggregation::Count, None, &[]), 5),
            (meter(Aggregation::Max, None, &[]), 9),
            // The latest by timestamp (300), not the last received.
            (meter(Aggregation::Latest, None, &[]), 7),
            (meter(Aggregation::UniqueCount, Some("user"), &[]), 3),
            (meter(Aggregation::Sum, None, &[("region", "eu")]), 17),
            (meter(Aggregation::Count, None, &[("region", "eu")]), 4),
            (meter(Aggregation::Latest, None, &[("region", "eu")]), 1),
            (
                meter(Aggregation::UniqueCount, Some("user"), &[("region", "eu")]),
                2,
            ),
            // Numbers compare as JSON writes them.
            (meter(Aggregation::Sum, None, &[("tier", "2")]), 9),
            (meter(Aggregation::Sum, None, &[("region", "ap")]), 0),
        ];
        let events = events();
        for (meter, expected) in table {
            assert_eq!(meter.aggregate(&events), expected, "{}", meter.describe());
        }
        assert_eq!(meter(Aggregation::Max, None, &[]).aggregate(&[]), 0);
    }

    fn price(model: PriceModel) -> Price {
        Price {
            id: "usage".into(),
            nickname: "Usage".into(),
            currency: Currency::USD,
            interval: Interval::monthly(),
            model,
            trial_days: 0,
            unit_label: Some("minute".into()),
            min_quantity: Some(1),
            max_quantity: Some(10),
        }
    }

    fn tiers() -> Vec<Tier> {
        vec![
            Tier {
                from: 1,
                up_to: Some(1000),
                unit_amount: Decimal::new(1, 0),
                flat_amount: 0,
            },
            Tier {
                from: 1001,
                up_to: None,
                unit_amount: Decimal::new(5, 1),
                flat_amount: 0,
            },
        ]
    }

    #[test]
    fn each_price_model_rates_usage_against_a_hand_table() {
        // Amounts in cents; unit amounts in cents too.
        let table: [(PriceModel, i64, i64); 9] = [
            // 1,234 × 0.8¢ = 987.2¢ → $9.87
            (
                PriceModel::PerUnit {
                    unit_amount: Decimal::new(8, 1),
                },
                1234,
                987,
            ),
            // 1,000 × 1¢ + 500 × 0.5¢ = 1,250¢
            (PriceModel::Graduated { tiers: tiers() }, 1500, 1250),
            (PriceModel::Graduated { tiers: tiers() }, 1000, 1000),
            // All 1,500 at the second tier: 750¢
            (PriceModel::Volume { tiers: tiers() }, 1500, 750),
            // ceil(2,500 / 1,000) = 3 packages × $5.00
            (
                PriceModel::Package {
                    package_size: 1000,
                    package_amount: 500,
                },
                2500,
                1500,
            ),
            (
                PriceModel::Package {
                    package_size: 1000,
                    package_amount: 500,
                },
                0,
                0,
            ),
            // 1,000 included in $20.00, 250 over at 2¢
            (
                PriceModel::IncludedThenOverage {
                    included: 1000,
                    base_amount: 2000,
                    overage_unit_amount: Decimal::new(2, 0),
                },
                1250,
                2500,
            ),
            (
                PriceModel::IncludedThenOverage {
                    included: 1000,
                    base_amount: 0,
                    overage_unit_amount: Decimal::new(2, 0),
                },
                999,
                0,
            ),
            // Zero usage is zero, whatever the minimum quantity of the price says.
            (
                PriceModel::PerUnit {
                    unit_amount: Decimal::new(3, 0),
                },
                0,
                0,
            ),
        ];
        for (model, quantity, cents) in table {
            let rated = rate(&price(model.clone()), quantity).unwrap();
            assert_eq!(
                rated.amount.minor_units(),
                cents,
                "{model:?} × {quantity}: {}",
                rated.quote.formula
            );
        }
    }

    #[test]
    fn incoming_events_are_checked_one_by_one() {
        let now = 1_800_000_000;
        let exists = |m: &str| m == "builds";
        let check = |v: serde_json::Value| check_event(&v, exists, now, IngestWindow::default());
        let ok = check(
            json!({"id": "e1", "customer": "org_1", "meter": "builds", "quantity": 3,
            "timestamp": now - 60, "properties": {"repo": "api"}}),
        )
        .unwrap();
        assert_eq!((ok.quantity, ok.occurred_at), (3, now - 60));
        let rfc = check(json!({"id": "e2", "customer": "org_1", "meter": "builds",
            "timestamp": "2027-01-15T08:00:00Z"}));
        assert_eq!(
            rfc.unwrap().occurred_at,
            now,
            "RFC 3339 and unix seconds agree"
        );
        let cases = [
            (json!([1]), "an event must be a JSON object"),
            (
                json!({"customer": "o", "meter": "builds", "timestamp": now}),
                "id is missing",
            ),
            (
                json!({"id": "", "customer": "o", "meter": "builds", "timestamp": now}),
                "id must be a non-empty string",
            ),
            (
                json!({"id": "e", "customer": "o", "meter": "pulls", "timestamp": now}),
                "there is no meter \"pulls\"",
            ),
            (
                json!({"id": "e", "customer": "o", "meter": "builds", "quantity": 1.5, "timestamp": now}),
                "quantity must be a whole number",
            ),
            (
                json!({"id": "e", "customer": "o", "meter": "builds", "quantity": -1, "timestamp": now}),
                "quantity must be a whole number",
            ),
            (
                json!({"id": "e", "customer": "o", "meter": "builds"}),
                "timestamp is missing",
            ),
            (
                json!({"id": "e", "customer": "o", "meter": "builds", "timestamp": now + 301}),
                "more than 300 seconds in the future",
            ),
            (
                json!({"id": "e", "customer": "o", "meter": "builds", "timestamp": now - 35 * 86_400 - 1}),
                "more than 35 days in the past",
            ),
            (
                json!({"id": "e", "customer": "o", "meter": "builds", "timestamp": "yesterday"}),
                "is not an RFC 3339 time",
            ),
            (
                json!({"id": "e", "customer": "o", "meter": "builds", "timestamp": now, "properties": {"a b": 1}}),
                "property name \"a b\"",
            ),
            (
                json!({"id": "e", "customer": "o", "meter": "builds", "timestamp": now, "properties": [1]}),
                "properties must be a JSON object",
            ),
        ];
        for (event, expected) in cases {
            let err = check(event.clone()).unwrap_err();
            assert!(err.contains(expected), "{event}: {err}");
        }
    }
}
