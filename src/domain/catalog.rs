//! The price catalog, validated when it is loaded so that a bad price is refused with a message
//! that names it and says what to fix, before any customer is billed with it.

use std::collections::HashSet;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::period::PeriodError;
use super::pricing::{Price, PriceModel, PricingError, Tier, MAX_UNIT_AMOUNT_DECIMALS};

/// Longest trial a price may offer.
pub const MAX_TRIAL_DAYS: u32 = 730;

/// A price that failed validation, and why. Displays as
/// `price "pro_monthly": tier 2 starts at 11 but tier 1 ends at 9; tiers must be contiguous (...)`.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("price \"{price_id}\": {problem}")]
pub struct CatalogError {
    pub price_id: String,
    pub problem: PriceProblem,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PriceProblem {
    #[error("the id is empty; give every price a unique, non-empty id")]
    EmptyId,
    #[error("the id is used by more than one price; give every price a unique id")]
    DuplicateId,
    #[error("{0}")]
    Malformed(String),
    #[error("the interval is invalid: {0}; use a count from 1 to 36 months (or 1 to 3 years)")]
    Interval(PeriodError),
    #[error("\"{field}\" is {value}; amounts must not be negative")]
    NegativeAmount { field: String, value: String },
    #[error("\"{field}\" is {value}, which has {decimals} decimal places; use at most {MAX_UNIT_AMOUNT_DECIMALS}")]
    TooManyDecimals {
        field: String,
        value: String,
        decimals: u32,
    },
    #[error("\"{field}\" is {value}; quantities must not be negative")]
    NegativeQuantity { field: String, value: i64 },
    #[error("\"package_size\" is {0}; a package must hold at least 1 unit")]
    EmptyPackage(i64),
    #[error("there are no tiers; add at least one tier, the last one without \"up_to\"")]
    NoTiers,
    #[error("tier 1 starts at {0}; the first tier must start at 1")]
    FirstTierStart(i64),
    #[error("tier {tier} ends at {up_to} before it starts at {from}; \"up_to\" must be at least \"from\"")]
    TierEndsBeforeStart { tier: usize, from: i64, up_to: i64 },
    #[error("tier {tier} starts at {from} but tier {previous} ends at {previous_end}; tiers must be contiguous (start tier {tier} at {expected})", previous = tier - 1, expected = previous_end + 1)]
    TierGap {
        tier: usize,
        from: i64,
        previous_end: i64,
    },
    #[error("tier {tier} starts at {from} but tier {previous} ends at {previous_end}; tiers must not overlap (start tier {tier} at {expected})", previous = tier - 1, expected = previous_end + 1)]
    TierOverlap {
        tier: usize,
        from: i64,
        previous_end: i64,
    },
    #[error(
        "tier {0} has no \"up_to\" but is not the last tier; only the last tier may be open-ended"
    )]
    OpenTierNotLast(usize),
    #[error("the last tier (tier {tier}) ends at {up_to}; remove its \"up_to\" so that every quantity is priced")]
    LastTierClosed { tier: usize, up_to: i64 },
    #[error("\"min_quantity\" {min} is above \"max_quantity\" {max}; lower the minimum or raise the maximum")]
    MinAboveMax { min: i64, max: i64 },
    #[error("\"trial_days\" is {0}; use at most {MAX_TRIAL_DAYS} days")]
    TrialTooLong(u32),
}

impl Price {
    /// Checks everything a price must satisfy before it can bill anyone. Returns the first
    /// problem found.
    pub fn validate(&self) -> Result<(), CatalogError> {
        self.find_problem().map_or(Ok(()), |problem| {
            Err(CatalogError {
                price_id: self.id.clone(),
                problem,
            })
        })
    }

    fn find_problem(&self) -> Option<PriceProblem> {
        if self.id.trim().is_empty() {
            return Some(PriceProblem::EmptyId);
        }
        if let Err(error) = self.interval.total_months() {
            return Some(PriceProblem::Interval(error));
        }
        if self.trial_days > MAX_TRIAL_DAYS {
            return Some(PriceProblem::TrialTooLong(self.trial_days));
        }
        for (field, value) in [
            ("min_quantity", self.min_quantity),
            ("max_quantity", self.max_quantity),
        ] {
            if let Some(value) = value.filter(|v| *v < 0) {
                return Some(PriceProblem::NegativeQuantity {
                    field: field.into(),
                    value,
                });
            }
        }
        if let (Some(min), Some(max)) = (self.min_quantity, self.max_quantity) {
            if min > max {
                return Some(PriceProblem::MinAboveMax { min, max });
            }
        }
        match &self.model {
            PriceModel::Flat { amount } => check_whole_amount("amount", *amount),
            PriceModel::PerUnit { unit_amount } => check_unit_amount("unit_amount", *unit_amount),
            PriceModel::Graduated { tiers } | PriceModel::Volume { tiers } => check_tiers(tiers),
            PriceModel::Package {
                package_size,
                package_amount,
            } => {
                if *package_size < 1 {
                    Some(PriceProblem::EmptyPackage(*package_size))
                } else {
                    check_whole_amount("package_amount", *package_amount)
                }
            }
            PriceModel::IncludedThenOverage {
                included,
                base_amount,
                overage_unit_amount,
            } => {
                if *included < 0 {
                    Some(PriceProblem::NegativeQuantity {
                        field: "included".into(),
                        value: *included,
                    })
                } else {
                    check_whole_amount("base_amount", *base_amount)
                        .or_else(|| check_unit_amount("overage_unit_amount", *overage_unit_amount))
                }
            }
        }
    }
}

fn check_whole_amount(field: &str, amount: i64) -> Option<PriceProblem> {
    (amount < 0).then(|| PriceProblem::NegativeAmount {
        field: field.into(),
        value: amount.to_string(),
    })
}

fn check_unit_amount(field: &str, amount: Decimal) -> Option<PriceProblem> {
    if amount.is_sign_negative() && !amount.is_zero() {
        return Some(PriceProblem::NegativeAmount {
            field: field.into(),
            value: amount.to_string(),
        });
    }
    let decimals = amount.normalize().scale();
    (decimals > MAX_UNIT_AMOUNT_DECIMALS).then(|| PriceProblem::TooManyDecimals {
        field: field.into(),
        value: amount.to_string(),
        decimals,
    })
}

fn check_tiers(tiers: &[Tier]) -> Option<PriceProblem> {
    let Some(first) = tiers.first() else {
        return Some(PriceProblem::NoTiers);
    };
    if first.from != 1 {
        return Some(PriceProblem::FirstTierStart(first.from));
    }
    let mut previous_end: Option<i64> = None;
    for (index, tier) in tiers.iter().enumerate() {
        let number = index + 1;
        let field = |name: &str| format!("tiers[{number}].{name}");
        if let Some(problem) = check_unit_amount(&field("unit_amount"), tier.unit_amount)
            .or_else(|| check_whole_amount(&field("flat_amount"), tier.flat_amount))
        {
            return Some(problem);
        }
        if let Some(previous_end) = previous_end {
            if tier.from > previous_end.saturating_add(1) {
                return Some(PriceProblem::TierGap {
                    tier: number,
                    from: tier.from,
                    previous_end,
                });
            }
            if tier.from <= previous_end {
                return Some(PriceProblem::TierOverlap {
                    tier: number,
                    from: tier.from,
                    previous_end,
                });
            }
        }
        match tier.up_to {
            Some(up_to) if up_to < tier.from => {
                return Some(PriceProblem::TierEndsBeforeStart {
                    tier: number,
                    from: tier.from,
                    up_to,
                });
            }
            Some(up_to) if number == tiers.len() => {
                return Some(PriceProblem::LastTierClosed {
                    tier: number,
                    up_to,
                });
            }
            Some(up_to) => previous_end = Some(up_to),
            None if number != tiers.len() => return Some(PriceProblem::OpenTierNotLast(number)),
            None => {}
        }
    }
    None
}

/// Every price the business sells, each one validated, ids unique.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Price>", into = "Vec<Price>")]
pub struct Catalog {
    prices: Vec<Price>,
}

impl Catalog {
    /// Validates every price (see [`Price::validate`]) and that ids are unique.
    pub fn from_prices(prices: Vec<Price>) -> Result<Catalog, CatalogError> {
        let mut seen = HashSet::new();
        for price in &prices {
            price.validate()?;
            if !seen.insert(price.id.as_str()) {
                return Err(CatalogError {
                    price_id: price.id.clone(),
                    problem: PriceProblem::DuplicateId,
                });
            }
        }
        Ok(Catalog { prices })
    }

    /// Loads a JSON array of prices. A price that does not even parse (unknown currency, a
    /// missing field, an unknown model type) is reported with its id when it has one.
    pub fn from_json(json: &str) -> Result<Catalog, CatalogError> {
        let malformed = |price_id: String, message: String| CatalogError {
            price_id,
            problem: PriceProblem::Malformed(message),
        };
        let values: Vec<serde_json::Value> = serde_json::from_str(json).map_err(|error| {
            malformed(
                String::new(),
                format!("the catalog is not a JSON array of prices: {error}"),
            )
        })?;
        let mut prices = Vec::with_capacity(values.len());
        for value in values {
            let price_id = value
                .get("id")
                .and_then(|id| id.as_str())
                .unwrap_or_default()
                .to_string();
            let price = serde_json::from_value::<Price>(value)
                .map_err(|error| malformed(price_id, error.to_string()))?;
            prices.push(price);
        }
        Catalog::from_prices(prices)
    }

    pub fn get(&self, price_id: &str) -> Option<&Price> {
        self.prices.iter().find(|price| price.id == price_id)
    }

    pub fn prices(&self) -> &[Price] {
        &self.prices
    }
}

impl TryFrom<Vec<Price>> for Catalog {
    type Error = CatalogError;
    fn try_from(prices: Vec<Price>) -> Result<Self, Self::Error> {
        Catalog::from_prices(prices)
    }
}

impl From<Catalog> for Vec<Price> {
    fn from(catalog: Catalog) -> Vec<Price> {
        catalog.prices
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::currency::Currency;
    use crate::domain::period::{Interval, IntervalUnit};
    use crate::domain::pricing::tests::{dec, price, tier};

    fn graduated(tiers: Vec<Tier>) -> Price {
        price(
            "pro_monthly",
            Currency::USD,
            PriceModel::Graduated { tiers },
        )
    }

    fn message(p: &Price) -> String {
        p.validate().expect_err("should be invalid").to_string()
    }

    #[test]
    fn accepts_valid_prices() {
        let ok = graduated(vec![tier(1, Some(9), "100", 0), tier(10, None, "80", 0)]);
        assert_eq!(ok.validate(), Ok(()));
        let catalog = Catalog::from_prices(vec![ok.clone()]).unwrap();
        assert_eq!(catalog.get("pro_monthly"), Some(&ok));
    }

    #[test]
    fn tier_gap() {
        let p = graduated(vec![tier(1, Some(9), "100", 0), tier(11, None, "80", 0)]);
        assert_eq!(
            message(&p),
            "price \"pro_monthly\": tier 2 starts at 11 but tier 1 ends at 9; tiers must be contiguous (start tier 2 at 10)"
        );
    }

    #[test]
    fn tier_overlap() {
        let p = graduated(vec![tier(1, Some(9), "100", 0), tier(5, None, "80", 0)]);
        assert_eq!(
            message(&p),
            "price \"pro_monthly\": tier 2 starts at 5 but tier 1 ends at 9; tiers must not overlap (start tier 2 at 10)"
        );
    }

    #[test]
    fn last_tier_not_open_ended() {
        let p = graduated(vec![
            tier(1, Some(9), "100", 0),
            tier(10, Some(100), "80", 0),
        ]);
        assert_eq!(
            message(&p),
            "price \"pro_monthly\": the last tier (tier 2) ends at 100; remove its \"up_to\" so that every quantity is priced"
        );
    }

    #[test]
    fn open_tier_in_the_middle() {
        let p = graduated(vec![tier(1, None, "100", 0), tier(10, None, "80", 0)]);
        assert_eq!(
            message(&p),
            "price \"pro_monthly\": tier 1 has no \"up_to\" but is not the last tier; only the last tier may be open-ended"
        );
    }

    #[test]
    fn tier_ends_before_it_starts_and_first_tier_start() {
        let p = graduated(vec![tier(1, Some(0), "100", 0), tier(1, None, "80", 0)]);
        assert_eq!(
            message(&p),
            "price \"pro_monthly\": tier 1 ends at 0 before it starts at 1; \"up_to\" must be at least \"from\""
        );
        let p = graduated(vec![tier(0, None, "100", 0)]);
        assert_eq!(
            message(&p),
            "price \"pro_monthly\": tier 1 starts at 0; the first tier must start at 1"
        );
        let p = graduated(vec![]);
        assert_eq!(
            message(&p),
            "price \"pro_monthly\": there are no tiers; add at least one tier, the last one without \"up_to\""
        );
    }

    #[test]
    fn empty_tiers_are_rejected_for_volume_too() {
        let p = price("vol", Currency::USD, PriceModel::Volume { tiers: vec![] });
        assert!(matches!(
            p.validate(),
            Err(CatalogError {
                problem: PriceProblem::NoTiers,
                ..
            })
        ));
    }

    #[test]
    fn unit_amount_with_more_than_twelve_decimals() {
        let p = price(
            "micro",
            Currency::USD,
            PriceModel::PerUnit {
                unit_amount: dec("0.0000000000001"),
            },
        );
        assert_eq!(
            message(&p),
            "price \"micro\": \"unit_amount\" is 0.0000000000001, which has 13 decimal places; use at most 12"
        );
        // Trailing zeros do not count: 0.500000000000000 is 0.5.
        let p = price(
            "half",
            Currency::USD,
            PriceModel::PerUnit {
                unit_amount: dec("0.500000000000000"),
            },
        );
        assert_eq!(p.validate(), Ok(()));
        let p = graduated(vec![tier(1, None, "0.1234567890123", 0)]);
        assert_eq!(
            message(&p),
            "price \"pro_monthly\": \"tiers[1].unit_amount\" is 0.1234567890123, which has 13 decimal places; use at most 12"
        );
    }

    #[test]
    fn negative_amounts_and_quantities() {
        let p = price("neg", Currency::USD, PriceModel::Flat { amount: -100 });
        assert_eq!(
            message(&p),
            "price \"neg\": \"amount\" is -100; amounts must not be negative"
        );
        let p = price(
            "neg",
            Currency::USD,
            PriceModel::PerUnit {
                unit_amount: dec("-1.5"),
            },
        );
        assert_eq!(
            message(&p),
            "price \"neg\": \"unit_amount\" is -1.5; amounts must not be negative"
        );
        let p = price(
            "neg",
            Currency::USD,
            PriceModel::IncludedThenOverage {
                included: -5,
                base_amount: 0,
                overage_unit_amount: dec("1"),
            },
        );
        assert_eq!(
            message(&p),
            "price \"neg\": \"included\" is -5; quantities must not be negative"
        );
        let mut p = price(
            "neg",
            Currency::USD,
            PriceModel::PerUnit {
                unit_amount: dec("1"),
            },
        );
        p.min_quantity = Some(-1);
        assert_eq!(
            message(&p),
            "price \"neg\": \"min_quantity\" is -1; quantities must not be negative"
        );
    }

    #[test]
    fn package_size_zero() {
        let p = price(
            "sms",
            Currency::USD,
            PriceModel::Package {
                package_size: 0,
                package_amount: 500,
            },
        );
        assert_eq!(
            message(&p),
            "price \"sms\": \"package_size\" is 0; a package must hold at least 1 unit"
        );
    }

    #[test]
    fn min_above_max_and_long_trials_and_bad_intervals() {
        let mut p = price(
            "seats",
            Currency::USD,
            PriceModel::PerUnit {
                unit_amount: dec("1"),
            },
        );
        p.min_quantity = Some(10);
        p.max_quantity = Some(5);
        assert_eq!(
            message(&p),
            "price \"seats\": \"min_quantity\" 10 is above \"max_quantity\" 5; lower the minimum or raise the maximum"
        );
        let mut p = price("trial", Currency::USD, PriceModel::Flat { amount: 1 });
        p.trial_days = 1000;
        assert_eq!(
            message(&p),
            "price \"trial\": \"trial_days\" is 1000; use at most 730 days"
        );
        let mut p = price("every0", Currency::USD, PriceModel::Flat { amount: 1 });
        p.interval = Interval {
            unit: IntervalUnit::Month,
            count: 0,
        };
        assert_eq!(
            message(&p),
            "price \"every0\": the interval is invalid: interval count must be at least 1; use a count from 1 to 36 months (or 1 to 3 years)"
        );
    }

    #[test]
    fn duplicate_and_empty_ids() {
        let a = price("dup", Currency::USD, PriceModel::Flat { amount: 1 });
        let error = Catalog::from_prices(vec![a.clone(), a]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "price \"dup\": the id is used by more than one price; give every price a unique id"
        );
        let empty = price(" ", Currency::USD, PriceModel::Flat { amount: 1 });
        assert_eq!(
            message(&empty),
            "price \" \": the id is empty; give every price a unique, non-empty id"
        );
    }

    #[test]
    fn unknown_currency_in_json_names_the_price() {
        let json = r#"[{"id":"eu_pro","nickname":"Pro","currency":"XYZ","interval":{"unit":"month","count":1},"model":{"type":"flat","amount":100}}]"#;
        assert_eq!(
            Catalog::from_json(json).unwrap_err().to_string(),
            "price \"eu_pro\": unknown currency \"XYZ\"; use a supported ISO 4217 code such as \"USD\" or \"EUR\""
        );
    }

    #[test]
    fn loads_a_catalog_from_json() {
        let json = r#"[
          {"id":"flat_addon","nickname":"Priority support","currency":"usd","interval":{"unit":"month","count":1},
           "model":{"type":"flat","amount":4900}},
          {"id":"pro_seats","nickname":"Pro","currency":"USD","interval":{"unit":"month","count":1},
           "model":{"type":"per_unit","unit_amount":"1200"},"trial_days":14,"unit_label":"seat","min_quantity":1,"max_quantity":500},
          {"id":"api_usage","nickname":"API calls","currency":"USD","interval":{"unit":"month","count":1},
           "model":{"type":"graduated","tiers":[{"from":1,"up_to":10000,"unit_amount":"0"},{"from":10001,"unit_amount":"0.05"}]}}
        ]"#;
        let catalog = Catalog::from_json(json).unwrap();
        assert_eq!(catalog.prices().len(), 3);
        // 5 seats × 1200 = 6000.
        assert_eq!(
            catalog
                .get("pro_seats")
                .unwrap()
                .amount_for(5)
                .unwrap()
                .minor_units(),
            6000
        );
        // 10000 free + 5000 × 0.05 = 250 cents.
        assert_eq!(
            catalog
                .get("api_usage")
                .unwrap()
                .amount_for(15_000)
                .unwrap()
                .minor_units(),
            250
        );
        // Negative quantity in JSON is reported with the price id.
        let bad = json.replace("\"min_quantity\":1", "\"min_quantity\":-3");
        assert_eq!(
            Catalog::from_json(&bad).unwrap_err().to_string(),
            "price \"pro_seats\": \"min_quantity\" is -3; quantities must not be negative"
        );
    }
}

/// A plan as the pricing page offers it, with its prices (monthly, annual, ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub id: String,
    pub name: String,
    pub description: String,
    /// What the pricing page lists: loaded as the plan's notes, completed from its entitlements
    /// by [`super::catalog_file::feature_lines`].
    pub features: Vec<String>,
    /// The prices for sale.
    pub prices: Vec<Price>,
    /// Prices no longer for sale (archived, or replaced by a newer version) that subscribers may
    /// still hold; they renew on them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub archived_prices: Vec<Price>,
    /// What the pricing page lists for each price for sale, by price id, when the catalog made
    /// it (the included usage of a yearly price is a year's).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub feature_lines: std::collections::BTreeMap<String, Vec<String>>,
    /// How each kind of change away from this plan's prices is prorated.
    #[serde(default)]
    pub policies: super::ChangePolicies,
}

impl Plan {
    /// The lines the pricing page lists for `price_id`.
    pub fn features_for(&self, price_id: &str) -> &[String] {
        self.feature_lines
            .get(price_id)
            .map_or(self.features.as_slice(), Vec::as_slice)
    }
}

/// The plan of price `price_id`, and the price, whether or not it is still for sale: the lookup
/// for billing what a subscriber holds.
pub fn find_price<'a>(plans: &'a [Plan], price_id: &str) -> Option<(&'a Plan, &'a Price)> {
    plans.iter().find_map(|plan| {
        plan.prices
            .iter()
            .chain(plan.archived_prices.iter())
            .find(|p| p.id == price_id)
            .map(|p| (plan, p))
    })
}

/// The plan of price `price_id` and the price, only while it is for sale: the lookup for what a
/// customer may buy or change to.
pub fn find_for_sale<'a>(plans: &'a [Plan], price_id: &str) -> Option<(&'a Plan, &'a Price)> {
    plans.iter().find_map(|plan| {
        plan.prices
            .iter()
            .find(|p| p.id == price_id)
            .map(|p| (plan, p))
    })
}

/// The catalog's free price in `currency`: a flat price of zero.
pub fn free_price(plans: &[Plan], currency: super::Currency) -> Option<&Price> {
    plans
        .iter()
        .flat_map(|plan| plan.prices.iter())
        .find(|p| p.currency == currency && p.model == PriceModel::Flat { amount: 0 })
}

/// A customer-facing reason why `price` cannot be bought in a quantity.
pub fn explain_quantity(plan: &Plan, price: &Price, error: PricingError) -> String {
    let unit = price.unit_label.as_deref().unwrap_or("unit");
    match error {
        PricingError::NegativeQuantity { .. } => format!("Enter 1 {unit} or more."),
        PricingError::BelowMinimum { min, .. } => {
            format!("{} needs at least {min} {unit}s.", plan.name)
        }
        PricingError::AboveMaximum { max, .. } => {
            format!("{} allows at most {max} {unit}(s).", plan.name)
        }
        other => other.to_string(),
    }
}
