//! Contracts: a price negotiated with one organisation (its own seat price, a minimum it pays
//! per period, an end date), and what they change at a renewal. Decided here without IO.
//!
//! At a renewal, after the customer's own scheduled change and any price migration:
//! - a price of a contract that has ended renews on the list price it replaced (the plan's price
//!   for sale in the same currency and interval, or, if the plan sells none, the version the
//!   contract was negotiated from);
//! - a list price of the plan, currency and interval of the organisation's live contract renews
//!   on the contract's price;
//! - a renewal invoice on a live contract's price that comes to less than its minimum gets a
//!   commitment line for the difference.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::catalog::{find_price, Plan};
use super::invoice::{InvoiceDraft, InvoiceLine, LineKind};
use super::money::{Money, MoneyError};
use super::period::{format_date, PeriodFraction};
use super::pricing::{Price, PriceModel};

/// A contract as billing sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    pub id: String,
    /// The organisation's own price.
    pub price_id: String,
    /// The list price it was negotiated from.
    pub base_price_id: String,
    /// What each renewal invoice comes to at least, in the price's minor units (0: none).
    pub minimum_commitment: i64,
    /// The first renewal at or after this time bills the list price again.
    pub ends_at: Option<i64>,
    /// Ended early by a billing admin at this time.
    pub ended_at: Option<i64>,
}

/// The prefix of every contract's id, which is also its price's id.
pub const ID_PREFIX: &str = "ctr";

/// Whether `price_id` is a contract's price (one organisation's, never in the catalog).
pub fn is_contract_price(price_id: &str) -> bool {
    price_id
        .strip_prefix(ID_PREFIX)
        .is_some_and(|rest| rest.starts_with('_'))
}

impl Contract {
    /// Whether the contract still prices a period that starts at `at`.
    pub fn live_at(&self, at: i64) -> bool {
        self.ended_at.is_none_or(|t| t > at) && self.ends_at.is_none_or(|t| t > at)
    }
}

/// The organisation's contract live at `at`: the newest one that is.
pub fn live_at(contracts: &[Contract], at: i64) -> Option<&Contract> {
    contracts.iter().rev().find(|c| c.live_at(at))
}

/// The price a subscription whose next period would bill `next_price_id` bills instead, with the
/// organisation's `contracts` (oldest first), for a period starting at `at`.
pub fn price_at_renewal(
    plans: &[Plan],
    next_price_id: &str,
    contracts: &[Contract],
    at: i64,
) -> String {
    let mut next = next_price_id.to_string();
    if let Some(ended) = contracts
        .iter()
        .find(|c| c.price_id == next && !c.live_at(at))
    {
        next = list_price_of(plans, ended).unwrap_or_else(|| ended.base_price_id.clone());
    }
    if let Some(live) = live_at(contracts, at) {
        if live.price_id != next && same_offer(plans, &next, &live.price_id) {
            next = live.price_id.clone();
        }
    }
    next
}

/// The plan's price for sale that bills like the contract's (same currency and interval).
fn list_price_of(plans: &[Plan], contract: &Contract) -> Option<String> {
    let (plan, price) = find_price(plans, &contract.price_id)?;
    plan.prices
        .iter()
        .find(|p| p.id != price.id && p.currency == price.currency && p.interval == price.interval)
        .map(|p| p.id.clone())
}

/// Whether `a` and `b` are prices of one plan in the same currency and interval.
fn same_offer(plans: &[Plan], a: &str, b: &str) -> bool {
    match (find_price(plans, a), find_price(plans, b)) {
        (Some((plan_a, a)), Some((plan_b, b))) => {
            plan_a.id == plan_b.id && a.currency == b.currency && a.interval == b.interval
        }
        _ => false,
    }
}

/// Why a negotiated price cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    #[error("The negotiated price is {0}; enter an amount of zero or more.")]
    NegativeAmount(Money),
    #[error("The minimum commitment is {0}; enter zero (no minimum) or more.")]
    NegativeMinimum(Money),
    #[error("{0} is free; a contract needs a paid list price to negotiate from.")]
    FreeBase(String),
}

/// The organisation's own price: `base` with every unit at `unit_amount` (a flat price costs
/// `unit_amount` a period), no trial, and the base's currency, interval, unit and quantity
/// bounds. A tiered base becomes one negotiated price per unit.
pub fn negotiated_price(
    base: &Price,
    id: &str,
    unit_amount: Money,
) -> Result<Price, ContractError> {
    if unit_amount.is_negative() {
        return Err(ContractError::NegativeAmount(unit_amount));
    }
    let model = match base.model {
        PriceModel::Flat { amount: 0 } => return Err(ContractError::FreeBase(base.id.clone())),
        PriceModel::Flat { .. } => PriceModel::Flat {
            amount: unit_amount.minor_units(),
        },
        _ => PriceModel::PerUnit {
            unit_amount: Decimal::from(unit_amount.minor_units()),
        },
    };
    Ok(Price {
        id: id.to_string(),
        nickname: format!("{} (contract)", base.nickname),
        model,
        trial_days: 0,
        ..base.clone()
    })
}

/// The line that brings a renewal invoice up to the contract's minimum: the difference between
/// the minimum and what the period's seats and usage came to (before any discount), or `None`
/// when they reach it.
pub fn commitment_line(
    contract: &Contract,
    invoice: &InvoiceDraft,
) -> Result<Option<InvoiceLine>, MoneyError> {
    let currency = invoice.currency;
    let minimum = Money::from_minor(contract.minimum_commitment, currency);
    let charges = Money::checked_sum(
        currency,
        invoice
            .lines
            .iter()
            .filter(|l| matches!(l.kind, LineKind::Recurring | LineKind::Usage))
            .map(|l| l.amount),
    )?;
    let short = minimum.checked_sub(charges)?;
    if short.minor_units() <= 0 {
        return Ok(None);
    }
    let ends = contract
        .ends_at
        .map(|t| format!(" (contract until {})", format_date(t)))
        .unwrap_or_default();
    Ok(Some(InvoiceLine {
        kind: LineKind::Commitment,
        description: "Minimum commitment".into(),
        price_id: Some(contract.price_id.clone()),
        quantity: 1,
        period: invoice.period,
        fraction: PeriodFraction::new(1, 1).expect("1 of 1 is a fraction"),
        exact_minor: Decimal::from(short.minor_units()),
        amount: short,
        explanation: format!(
            "Your contract's minimum is {minimum} a period{ends}; this period's seats and usage came to {charges}, so {short} is added."
        ),
    }))
}

/// Adds the commitment line, if one is due, to a renewal invoice.
pub fn apply_commitment(contract: &Contract, invoice: &mut InvoiceDraft) -> Result<(), MoneyError> {
    if let Some(line) = commitment_line(contract, invoice)? {
        invoice.subtotal = invoice.subtotal.checked_add(line.amount)?;
        invoice.total = invoice.total.checked_add(line.amount)?;
        invoice.lines.push(line);
    }
    Ok(())
}

/// The contract's terms in one sentence: "$10.00 per seat a month, at least $500.00 a period,
/// until 31 Dec 2027".
pub fn describe(contract: &Contract, price: &Price) -> String {
    let amount = match &price.model {
        PriceModel::Flat { amount } => Money::from_minor(*amount, price.currency).to_string(),
        PriceModel::PerUnit { unit_amount } => format!(
            "{} per {}",
            super::money::format_minor_decimal(price.currency, *unit_amount),
            price.unit_label.as_deref().unwrap_or("unit")
        ),
        _ => price.nickname.clone(),
    };
    let mut out = format!("{amount} every {}", price.interval.describe());
    if contract.minimum_commitment > 0 {
        out.push_str(&format!(
            ", at least {} a period",
            Money::from_minor(contract.minimum_commitment, price.currency)
        ));
    }
    if let Some(t) = contract.ends_at {
        out.push_str(&format!(", until {}", format_date(t)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Currency, Interval, IntervalUnit};
    use chrono::DateTime;

    fn price(id: &str, model: PriceModel) -> Price {
        Price {
            id: id.into(),
            nickname: "Pro".into(),
            currency: Currency::USD,
            interval: Interval {
                unit: IntervalUnit::Month,
                count: 1,
            },
            model,
            trial_days: 14,
            unit_label: Some("seat".into()),
            min_quantity: Some(1),
            max_quantity: Some(500),
        }
    }

    fn per_seat(id: &str, cents: i64) -> Price {
        price(
            id,
            PriceModel::PerUnit {
                unit_amount: Decimal::from(cents),
            },
        )
    }

    fn plans() -> Vec<Plan> {
        vec![Plan {
            id: "pro".into(),
            name: "Pro".into(),
            description: String::new(),
            features: Vec::new(),
            prices: vec![per_seat("pro_monthly_v2", 1400)],
            archived_prices: vec![per_seat("pro_monthly", 1200), per_seat("ctr_1", 1000)],
            feature_lines: Default::default(),
            policies: Default::default(),
        }]
    }

    fn contract(ends_at: Option<i64>, ended_at: Option<i64>) -> Contract {
        Contract {
            id: "ctr_1".into(),
            price_id: "ctr_1".into(),
            base_price_id: "pro_monthly".into(),
            minimum_commitment: 50_000,
            ends_at,
            ended_at,
        }
    }

    #[test]
    fn a_live_contract_takes_over_any_version_of_its_list_price_and_an_ended_one_gives_it_back() {
        let plans = plans();
        let live = [contract(Some(2_000), None)];
        // Any version of the plan's monthly USD price moves onto the contract.
        assert_eq!(
            price_at_renewal(&plans, "pro_monthly", &live, 1_000),
            "ctr_1"
        );
        assert_eq!(
            price_at_renewal(&plans, "pro_monthly_v2", &live, 1_000),
            "ctr_1"
        );
        assert_eq!(price_at_renewal(&plans, "ctr_1", &live, 1_000), "ctr_1");
        // At its end date the contract's subscriber renews on the price for sale now.
        assert_eq!(
            price_at_renewal(&plans, "ctr_1", &live, 2_000),
            "pro_monthly_v2"
        );
        assert_eq!(
            price_at_renewal(&plans, "pro_monthly", &live, 2_000),
            "pro_monthly"
        );
        // Ended early: the same.
        let ended = [contract(None, Some(1_500))];
        assert_eq!(
            price_at_renewal(&plans, "ctr_1", &ended, 1_500),
            "pro_monthly_v2"
        );
        // With no price for sale in its currency and interval, the version it came from.
        let mut no_list = plans.clone();
        let sold = no_list[0].prices.remove(0);
        no_list[0].archived_prices.push(sold);
        assert_eq!(
            price_at_renewal(&no_list, "ctr_1", &ended, 1_500),
            "pro_monthly"
        );
        // Another plan, or no contract, is left alone.
        assert_eq!(price_at_renewal(&plans, "free", &live, 1_000), "free");
        assert_eq!(
            price_at_renewal(&plans, "pro_monthly", &[], 1_000),
            "pro_monthly"
        );
    }

    #[test]
    fn a_newer_contract_replaces_an_older_one() {
        let plans = plans();
        let mut second = contract(None, None);
        second.id = "ctr_2".into();
        second.price_id = "pro_monthly_v2".into();
        let contracts = [contract(None, Some(1_000)), second];
        assert_eq!(
            price_at_renewal(&plans, "ctr_1", &contracts, 1_000),
            "pro_monthly_v2"
        );
        assert_eq!(
            live_at(&contracts, 1_000).map(|c| c.id.as_str()),
            Some("ctr_2")
        );
    }

    #[test]
    fn a_negotiated_price_keeps_the_bounds_and_bills_every_unit_alike() {
        let graduated = price(
            "team_monthly",
            PriceModel::Graduated {
                tiers: vec![crate::domain::Tier {
                    from: 1,
                    up_to: None,
                    unit_amount: Decimal::from(2500),
                    flat_amount: 0,
                }],
            },
        );
        let ours =
            negotiated_price(&graduated, "ctr_9", Money::from_minor(1_800, Currency::USD)).unwrap();
        assert_eq!(
            ours.model,
            PriceModel::PerUnit {
                unit_amount: Decimal::from(1800)
            }
        );
        assert_eq!(
            (ours.min_quantity, ours.max_quantity, ours.trial_days),
            (Some(1), Some(500), 0)
        );
        assert_eq!(ours.amount_for(12).unwrap().minor_units(), 21_600);
        let flat = price("addon", PriceModel::Flat { amount: 4_900 });
        assert_eq!(
            negotiated_price(&flat, "ctr_8", Money::from_minor(3_900, Currency::USD))
                .unwrap()
                .model,
            PriceModel::Flat { amount: 3_900 }
        );
        let free = price("free", PriceModel::Flat { amount: 0 });
        assert_eq!(
            negotiated_price(&free, "ctr_7", Money::from_minor(100, Currency::USD)),
            Err(ContractError::FreeBase("free".into()))
        );
        assert!(matches!(
            negotiated_price(&flat, "ctr_6", Money::from_minor(-1, Currency::USD)),
            Err(ContractError::NegativeAmount(_))
        ));
    }

    #[test]
    fn the_commitment_line_adds_what_the_period_fell_short_by() {
        let ours = per_seat("ctr_1", 1_000);
        let period = crate::domain::BillingPeriod::first(
            DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
            ours.interval,
        )
        .unwrap();
        let draft = |seats: i64| {
            crate::domain::build_invoice(
                &crate::domain::SubscriptionSnapshot {
                    currency: Currency::USD,
                    items: vec![crate::domain::SubscriptionItem {
                        price: ours.clone(),
                        quantity: seats,
                    }],
                    coupon: None,
                    pending_lines: Vec::new(),
                },
                period,
            )
            .unwrap()
        };
        let terms = contract(None, None);
        // 3 seats × $10.00 = $30.00 against a $500.00 minimum: $470.00 more.
        let mut invoice = draft(3);
        apply_commitment(&terms, &mut invoice).unwrap();
        let line = invoice.lines.last().unwrap();
        assert_eq!(line.kind, LineKind::Commitment);
        assert_eq!(line.amount.minor_units(), 47_000);
        assert_eq!(
            line.explanation,
            "Your contract's minimum is $500.00 a period; this period's seats and usage came to $30.00, so $470.00 is added."
        );
        assert_eq!(invoice.total.minor_units(), 50_000);
        assert_eq!(invoice.subtotal.minor_units(), 50_000);
        crate::domain::invariants::check_invoice(&invoice).unwrap();
        // 60 seats reach it: no line.
        let mut invoice = draft(60);
        apply_commitment(&terms, &mut invoice).unwrap();
        assert_eq!(invoice.lines.len(), 1);
        assert_eq!(invoice.total.minor_units(), 60_000);
    }
}
