//! Prices as data, and what a price costs for a quantity over one full period.
//!
//! Amounts in a price are in **minor units** of the price's currency, like Stripe's
//! `unit_amount` / `unit_amount_decimal`: a unit amount of `"1200"` in USD is $12.00, and
//! `"0.0125"` is $0.000125. Whole amounts (`amount`, `flat_amount`, ...) are `i64`; per-unit
//! amounts are [`Decimal`] with at most [`MAX_UNIT_AMOUNT_DECIMALS`] decimal places.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::currency::Currency;
use super::money::{format_minor_decimal, Money, MoneyError};
use super::period::Interval;
use super::rounding::round_to_minor_units;

/// Decimal places a per-unit amount (in minor units) may carry.
pub const MAX_UNIT_AMOUNT_DECIMALS: u32 = 12;

/// A recurring price a customer can subscribe to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub id: String,
    pub nickname: String,
    pub currency: Currency,
    pub interval: Interval,
    pub model: PriceModel,
    /// Free days before the first paid period; 0 for none.
    #[serde(default)]
    pub trial_days: u32,
    /// What one unit is called on invoices, singular ("seat", "API call"); "unit" by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_label: Option<String>,
    /// Fewest units a subscription may have (e.g. minimum seats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_quantity: Option<i64>,
    /// Most units a subscription may have (e.g. maximum seats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_quantity: Option<i64>,
}

/// How a price turns a quantity into an amount for one full period.
/// Serialized with a `"type"` tag, e.g. `{"type": "per_unit", "unit_amount": "1200"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PriceModel {
    /// A fixed amount per period; the quantity does not change it.
    Flat { amount: i64 },
    /// `quantity × unit_amount` (seats, licences).
    PerUnit { unit_amount: Decimal },
    /// Each unit is priced by the tier it falls in; tiers' flat amounts are added for every
    /// tier the quantity reaches.
    Graduated { tiers: Vec<Tier> },
    /// All units are priced by the one tier the total quantity falls in, plus its flat amount.
    Volume { tiers: Vec<Tier> },
    /// `ceil(quantity / package_size) × package_amount`: blocks of N units, rounded up.
    Package {
        package_size: i64,
        package_amount: i64,
    },
    /// `base_amount` covers the first `included` units; each unit beyond costs
    /// `overage_unit_amount`.
    IncludedThenOverage {
        included: i64,
        #[serde(default)]
        base_amount: i64,
        overage_unit_amount: Decimal,
    },
}

/// Units `from..=up_to` of a tiered price (`up_to` absent: open-ended). Tiers start at unit 1
/// and are contiguous; see catalog validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub from: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to: Option<i64>,
    pub unit_amount: Decimal,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub flat_amount: i64,
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PricingError {
    #[error("price \"{price_id}\": quantity {quantity} is negative")]
    NegativeQuantity { price_id: String, quantity: i64 },
    #[error("price \"{price_id}\": quantity {quantity} is below the minimum of {min}")]
    BelowMinimum {
        price_id: String,
        quantity: i64,
        min: i64,
    },
    #[error("price \"{price_id}\": quantity {quantity} is above the maximum of {max}")]
    AboveMaximum {
        price_id: String,
        quantity: i64,
        max: i64,
    },
    #[error("price \"{price_id}\": no tier covers quantity {quantity}")]
    NoTier { price_id: String, quantity: i64 },
    #[error("price \"{price_id}\": package size must be at least 1")]
    EmptyPackage { price_id: String },
    #[error("price \"{price_id}\": the amount for quantity {quantity} is too large")]
    Overflow { price_id: String, quantity: i64 },
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// The exact, unrounded amount for one full period and the formula that produced it.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceQuote {
    /// In minor units, not rounded.
    pub exact_minor: Decimal,
    /// E.g. `"5 seats × $12.00"`, `"10 units × $1.00 (1–10) + 5 units × $0.80 (11–15)"`.
    pub formula: String,
}

impl Price {
    /// What `quantity` costs for one full period, rounded once to minor units
    /// (see [`crate::domain::rounding`]).
    pub fn amount_for(&self, quantity: i64) -> Result<Money, PricingError> {
        let quote = self.quote(quantity)?;
        Ok(round_to_minor_units(quote.exact_minor, self.currency)?)
    }

    /// Unit label for `quantity`: "1 seat", "5 seats".
    pub fn quantity_label(&self, quantity: i64) -> String {
        let singular = self.unit_label.as_deref().unwrap_or("unit");
        if quantity == 1 {
            format!("1 {singular}")
        } else {
            format!("{quantity} {singular}s")
        }
    }

    /// Checks `quantity` against the price's limits.
    pub fn check_quantity(&self, quantity: i64) -> Result<(), PricingError> {
        let price_id = || self.id.clone();
        if quantity < 0 {
            return Err(PricingError::NegativeQuantity {
                price_id: price_id(),
                quantity,
            });
        }
        if let Some(min) = self.min_quantity {
            if quantity < min {
                return Err(PricingError::BelowMinimum {
                    price_id: price_id(),
                    quantity,
                    min,
                });
            }
        }
        if let Some(max) = self.max_quantity {
            if quantity > max {
                return Err(PricingError::AboveMaximum {
                    price_id: price_id(),
                    quantity,
                    max,
                });
            }
        }
        Ok(())
    }

    /// The exact amount for `quantity` over one full period, with its formula. Does not round.
    pub fn quote(&self, quantity: i64) -> Result<PriceQuote, PricingError> {
        self.check_quantity(quantity)?;
        let overflow = || PricingError::Overflow {
            price_id: self.id.clone(),
            quantity,
        };
        let units = |n: i64| self.quantity_label(n);
        let money = |minor: Decimal| format_minor_decimal(self.currency, minor);
        let q = Decimal::from(quantity);
        match &self.model {
            PriceModel::Flat { amount } => Ok(PriceQuote {
                exact_minor: Decimal::from(*amount),
                formula: format!("{} flat", money(Decimal::from(*amount))),
            }),
            PriceModel::PerUnit { unit_amount } => Ok(PriceQuote {
                exact_minor: q.checked_mul(*unit_amount).ok_or_else(overflow)?,
                formula: format!("{} × {}", units(quantity), money(*unit_amount)),
            }),
            PriceModel::Graduated { tiers } => {
                let mut total = Decimal::ZERO;
                let mut parts = Vec::new();
                for tier in tiers {
                    if quantity < tier.from {
                        break;
                    }
                    let last = tier.up_to.map_or(quantity, |up_to| up_to.min(quantity));
                    let in_tier = last.saturating_sub(tier.from).saturating_add(1).max(0);
                    let charge = Decimal::from(in_tier)
                        .checked_mul(tier.unit_amount)
                        .and_then(|c| c.checked_add(Decimal::from(tier.flat_amount)))
                        .ok_or_else(overflow)?;
                    total = total.checked_add(charge).ok_or_else(overflow)?;
                    let mut part = format!(
                        "{} × {} ({}–{})",
                        units(in_tier),
                        money(tier.unit_amount),
                        tier.from,
                        last
                    );
                    if tier.flat_amount != 0 {
                        part.push_str(&format!(
                            " + {} flat",
                            money(Decimal::from(tier.flat_amount))
                        ));
                    }
                    parts.push(part);
                }
                let formula = if parts.is_empty() {
                    units(0)
                } else {
                    parts.join(" + ")
                };
                Ok(PriceQuote {
                    exact_minor: total,
                    formula,
                })
            }
            PriceModel::Volume { tiers } => {
                if quantity == 0 {
                    return Ok(PriceQuote {
                        exact_minor: Decimal::ZERO,
                        formula: units(0),
                    });
                }
                let (index, tier) = tiers
                    .iter()
                    .enumerate()
                    .find(|(_, t)| {
                        t.from <= quantity && t.up_to.is_none_or(|up_to| quantity <= up_to)
                    })
                    .ok_or_else(|| PricingError::NoTier {
                        price_id: self.id.clone(),
                        quantity,
                    })?;
                let exact = q
                    .checked_mul(tier.unit_amount)
                    .and_then(|c| c.checked_add(Decimal::from(tier.flat_amount)))
                    .ok_or_else(overflow)?;
                let range = match tier.up_to {
                    Some(up_to) => format!("{}–{}", tier.from, up_to),
                    None => format!("{} and up", tier.from),
                };
                let mut formula = format!(
                    "{} × {} (volume tier {}: {range})",
                    units(quantity),
                    money(tier.unit_amount),
                    index + 1
                );
                if tier.flat_amount != 0 {
                    formula.push_str(&format!(
                        " + {} flat",
                        money(Decimal::from(tier.flat_amount))
                    ));
                }
                Ok(PriceQuote {
                    exact_minor: exact,
                    formula,
                })
            }
            PriceModel::Package {
                package_size,
                package_amount,
            } => {
                if *package_size < 1 {
                    return Err(PricingError::EmptyPackage {
                        price_id: self.id.clone(),
                    });
                }
                let packages = quantity / package_size + i64::from(quantity % package_size != 0);
                let exact = Decimal::from(packages)
                    .checked_mul(Decimal::from(*package_amount))
                    .ok_or_else(overflow)?;
                let plural = if packages == 1 { "package" } else { "packages" };
                Ok(PriceQuote {
                    exact_minor: exact,
                    formula: format!(
                        "{packages} {plural} of {package_size} × {} ({}, rounded up to whole packages)",
                        money(Decimal::from(*package_amount)),
                        units(quantity)
                    ),
                })
            }
            PriceModel::IncludedThenOverage {
                included,
                base_amount,
                overage_unit_amount,
            } => {
                let overage = quantity.saturating_sub(*included).max(0);
                let exact = Decimal::from(overage)
                    .checked_mul(*overage_unit_amount)
                    .and_then(|c| c.checked_add(Decimal::from(*base_amount)))
                    .ok_or_else(overflow)?;
                let base = money(Decimal::from(*base_amount));
                let context = format!("{}, {included} included", units(quantity));
                let formula = if overage > 0 {
                    format!(
                        "{base} base + {} × {} ({context})",
                        units(overage),
                        money(*overage_unit_amount)
                    )
                } else {
                    format!("{base} base ({context})")
                };
                Ok(PriceQuote {
                    exact_minor: exact,
                    formula,
                })
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::str::FromStr;

    pub(crate) fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).expect("test decimal")
    }

    pub(crate) fn price(id: &str, currency: Currency, model: PriceModel) -> Price {
        Price {
            id: id.to_string(),
            nickname: id.to_string(),
            currency,
            interval: Interval::monthly(),
            model,
            trial_days: 0,
            unit_label: None,
            min_quantity: None,
            max_quantity: None,
        }
    }

    pub(crate) fn tier(from: i64, up_to: Option<i64>, unit: &str, flat: i64) -> Tier {
        Tier {
            from,
            up_to,
            unit_amount: dec(unit),
            flat_amount: flat,
        }
    }

    fn amount(p: &Price, quantity: i64) -> i64 {
        p.amount_for(quantity).expect("amount").minor_units()
    }

    #[test]
    fn flat_ignores_quantity() {
        let p = price("addon", Currency::USD, PriceModel::Flat { amount: 4900 });
        // $49.00 whatever the quantity.
        assert_eq!(amount(&p, 1), 4900);
        assert_eq!(amount(&p, 7), 4900);
        assert_eq!(p.quote(1).unwrap().formula, "$49.00 flat");
    }

    #[test]
    fn per_unit_golden_table() {
        let mut seats = price(
            "seats",
            Currency::USD,
            PriceModel::PerUnit {
                unit_amount: dec("1200"),
            },
        );
        seats.unit_label = Some("seat".into());
        // (quantity, expected cents, arithmetic)
        let table = [
            (0, 0),        // 0 × 1200 = 0
            (1, 1200),     // 1 × 1200 = 1200
            (5, 6000),     // 5 × 1200 = 6000 = $60.00
            (250, 300000), // 250 × 1200 = 300000 = $3,000.00
        ];
        for (quantity, expected) in table {
            assert_eq!(amount(&seats, quantity), expected, "quantity {quantity}");
        }
        assert_eq!(seats.quote(5).unwrap().formula, "5 seats × $12.00");
        assert_eq!(seats.quote(1).unwrap().formula, "1 seat × $12.00");

        // Sub-cent unit price: $0.000125 per call (0.0125 cents).
        let calls = price(
            "calls",
            Currency::USD,
            PriceModel::PerUnit {
                unit_amount: dec("0.0125"),
            },
        );
        assert_eq!(amount(&calls, 1_000), 13); // 1000 × 0.0125 = 12.5 → 13 (half away from zero)
        assert_eq!(amount(&calls, 1_001), 13); // 12.5125 → 13
        assert_eq!(amount(&calls, 999), 12); // 12.4875 → 12
    }

    #[test]
    fn per_unit_in_zero_and_three_decimal_currencies() {
        // ¥980 per seat: 3 × 980 = 2940 yen.
        let jpy = price(
            "jp",
            Currency::JPY,
            PriceModel::PerUnit {
                unit_amount: dec("980"),
            },
        );
        assert_eq!(amount(&jpy, 3), 2940);
        assert_eq!(jpy.amount_for(3).unwrap().to_string(), "¥2,940");
        // KWD 1.235 per seat = 1235 fils: 4 × 1235 = 4940 fils = KWD 4.940.
        let kwd = price(
            "kw",
            Currency::KWD,
            PriceModel::PerUnit {
                unit_amount: dec("1235"),
            },
        );
        assert_eq!(amount(&kwd, 4), 4940);
        assert_eq!(kwd.amount_for(4).unwrap().to_string(), "KWD 4.940");
    }

    fn usage_tiers() -> Vec<Tier> {
        vec![
            tier(1, Some(10), "100", 0), // $1.00 each for 1–10
            tier(11, Some(50), "80", 0), // $0.80 each for 11–50
            tier(51, None, "50", 1000),  // $0.50 each from 51, plus $10.00 once reached
        ]
    }

    #[test]
    fn graduated_golden_table() {
        let p = price(
            "usage",
            Currency::USD,
            PriceModel::Graduated {
                tiers: usage_tiers(),
            },
        );
        let table = [
            (0, 0),     // no units
            (1, 100),   // 1 × 100
            (10, 1000), // 10 × 100
            (11, 1080), // 10 × 100 + 1 × 80
            (50, 4200), // 10 × 100 + 40 × 80 = 1000 + 3200
            (51, 5250), // 4200 + 1 × 50 + 1000 flat = 5250
            (60, 5700), // 4200 + 10 × 50 + 1000 = 5700
        ];
        for (quantity, expected) in table {
            assert_eq!(amount(&p, quantity), expected, "quantity {quantity}");
        }
        assert_eq!(
            p.quote(15).unwrap().formula,
            "10 units × $1.00 (1–10) + 5 units × $0.80 (11–15)"
        );
    }

    #[test]
    fn volume_golden_table() {
        let p = price(
            "volume",
            Currency::USD,
            PriceModel::Volume {
                tiers: usage_tiers(),
            },
        );
        let table = [
            (0, 0),     // nothing
            (10, 1000), // all 10 at tier 1: 10 × 100
            (11, 880),  // all 11 at tier 2: 11 × 80 (cheaper than 10 — that is volume pricing)
            (50, 4000), // 50 × 80
            (60, 4000), // 60 × 50 + 1000 flat = 4000
        ];
        for (quantity, expected) in table {
            assert_eq!(amount(&p, quantity), expected, "quantity {quantity}");
        }
        assert_eq!(
            p.quote(11).unwrap().formula,
            "11 units × $0.80 (volume tier 2: 11–50)"
        );
    }

    #[test]
    fn package_golden_table() {
        let p = price(
            "sms",
            Currency::EUR,
            PriceModel::Package {
                package_size: 100,
                package_amount: 500,
            },
        );
        let table = [
            (0, 0),      // 0 packages
            (1, 500),    // ceil(1/100) = 1 × 500
            (100, 500),  // ceil(100/100) = 1
            (101, 1000), // ceil(101/100) = 2 × 500
            (250, 1500), // ceil(2.5) = 3 × 500
        ];
        for (quantity, expected) in table {
            assert_eq!(amount(&p, quantity), expected, "quantity {quantity}");
        }
        assert_eq!(
            p.quote(250).unwrap().formula,
            "3 packages of 100 × €5.00 (250 units, rounded up to whole packages)"
        );
    }

    #[test]
    fn included_then_overage_golden_table() {
        let p = price(
            "api",
            Currency::USD,
            PriceModel::IncludedThenOverage {
                included: 1000,
                base_amount: 2000,
                overage_unit_amount: dec("0.5"),
            },
        );
        let table = [
            (0, 2000),    // base only
            (1000, 2000), // all included
            (1001, 2001), // 2000 + 1 × 0.5 = 2000.5 → 2001 (half away from zero)
            (1003, 2002), // 2000 + 3 × 0.5 = 2001.5 → 2002
            (3000, 3000), // 2000 + 2000 × 0.5 = 3000
        ];
        for (quantity, expected) in table {
            assert_eq!(amount(&p, quantity), expected, "quantity {quantity}");
        }
        assert_eq!(
            p.quote(3000).unwrap().formula,
            "$20.00 base + 2000 units × $0.005 (3000 units, 1000 included)"
        );
    }

    #[test]
    fn refuses_quantities_outside_limits() {
        let mut p = price(
            "seats",
            Currency::USD,
            PriceModel::PerUnit {
                unit_amount: dec("1200"),
            },
        );
        p.min_quantity = Some(2);
        p.max_quantity = Some(10);
        assert_eq!(
            p.amount_for(-1).unwrap_err().to_string(),
            "price \"seats\": quantity -1 is negative"
        );
        assert_eq!(
            p.amount_for(1).unwrap_err().to_string(),
            "price \"seats\": quantity 1 is below the minimum of 2"
        );
        assert_eq!(
            p.amount_for(11).unwrap_err().to_string(),
            "price \"seats\": quantity 11 is above the maximum of 10"
        );
    }

    #[test]
    fn reports_overflow() {
        let p = price(
            "big",
            Currency::USD,
            PriceModel::PerUnit {
                unit_amount: dec("1000000000000"),
            },
        );
        assert!(matches!(
            p.amount_for(i64::MAX),
            Err(PricingError::Overflow { .. }) | Err(PricingError::Money(_))
        ));
        let flat = price(
            "package",
            Currency::USD,
            PriceModel::Package {
                package_size: 1,
                package_amount: i64::MAX,
            },
        );
        assert_eq!(flat.amount_for(1).map(Money::minor_units), Ok(i64::MAX));
    }

    #[test]
    fn json_shapes_are_stable() {
        let mut seats = price(
            "pro_seats",
            Currency::USD,
            PriceModel::PerUnit {
                unit_amount: dec("1200"),
            },
        );
        seats.unit_label = Some("seat".into());
        seats.min_quantity = Some(1);
        assert_eq!(
            serde_json::to_string(&seats).unwrap(),
            r#"{"id":"pro_seats","nickname":"pro_seats","currency":"USD","interval":{"unit":"month","count":1},"model":{"type":"per_unit","unit_amount":"1200"},"trial_days":0,"unit_label":"seat","min_quantity":1}"#
        );
        let graduated: PriceModel = serde_json::from_str(
            r#"{"type":"graduated","tiers":[{"from":1,"up_to":10,"unit_amount":"100"},{"from":11,"unit_amount":"80","flat_amount":500}]}"#,
        )
        .unwrap();
        assert_eq!(
            graduated,
            PriceModel::Graduated {
                tiers: vec![tier(1, Some(10), "100", 0), tier(11, None, "80", 500)]
            }
        );
        assert_eq!(
            serde_json::to_string(&PriceModel::Flat { amount: 4900 }).unwrap(),
            r#"{"type":"flat","amount":4900}"#
        );
        let round_trip: Price =
            serde_json::from_str(&serde_json::to_string(&seats).unwrap()).unwrap();
        assert_eq!(round_trip, seats);
    }
}
