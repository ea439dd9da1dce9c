//! Invoice lines with their explanations, and invoice drafts for a billing period.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::coupon::{AppliedCoupon, Coupon, CouponError};
use super::currency::Currency;
use super::invariants::{check_invoice, InvariantViolation};
use super::money::{format_minor_decimal, Money, MoneyError};
use super::period::{BillingPeriod, PeriodFraction};
use super::pricing::{Price, PricingError};
use super::rounding::{round_to_minor_units, LINE_ROUNDING_NAME};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// A full period of a price, billed in advance.
    Recurring,
    /// A meter's usage over a period, billed in arrears (or the difference late events made to a
    /// period already billed).
    Usage,
    /// Negative: unused time on the price being left.
    ProrationCredit,
    /// Remaining time on the price being moved to.
    ProrationCharge,
    /// Negative (or positive on a credit subtotal): a coupon.
    Discount,
    /// What brings a renewal invoice up to a contract's minimum commitment.
    Commitment,
}

/// One line of an invoice: an amount rounded once, and how it was computed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub kind: LineKind,
    /// What the line is for, e.g. "Pro" or "Unused time on Pro".
    pub description: String,
    pub price_id: Option<String>,
    pub quantity: i64,
    pub period: BillingPeriod,
    /// Part of a full price period this line covers; `1 of 1` for a full period.
    pub fraction: PeriodFraction,
    /// Signed amount in minor units before rounding.
    pub exact_minor: Decimal,
    /// Signed amount, rounded once (half away from zero).
    pub amount: Money,
    /// E.g. "5 seats × $12.00 × 17 of 30 days = $34.00".
    pub explanation: String,
}

/// An invoice ready to be stored: `total == sum(lines)`, `total == subtotal - discount`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvoiceDraft {
    pub currency: Currency,
    pub period: BillingPeriod,
    pub lines: Vec<InvoiceLine>,
    /// Sum of every line except discount lines.
    pub subtotal: Money,
    /// Taken off the subtotal by the coupon (the discount line's amount, negated).
    pub discount: Money,
    /// Sum of every line.
    pub total: Money,
    /// Whether a coupon discounted this invoice; the caller then counts one more period applied.
    pub coupon_applied: bool,
}

/// A subscription item: a price and how many units of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionItem {
    pub price: Price,
    pub quantity: i64,
}

/// What invoicing a subscription for one period needs to know about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionSnapshot {
    pub currency: Currency,
    pub items: Vec<SubscriptionItem>,
    pub coupon: Option<AppliedCoupon>,
    /// Proration lines left for this invoice by earlier changes.
    pub pending_lines: Vec<InvoiceLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum InvoiceError {
    #[error("price \"{price_id}\" is in {found} but the subscription bills in {expected}")]
    CurrencyMismatch {
        price_id: String,
        expected: Currency,
        found: Currency,
    },
    #[error("the billing period must end after it starts")]
    EmptyPeriod,
    #[error(transparent)]
    Pricing(#[from] PricingError),
    #[error(transparent)]
    Coupon(#[from] CouponError),
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Invariant(#[from] InvariantViolation),
}

/// Whether a line adds to or takes from the invoice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sign {
    Charge,
    Credit,
}

/// Builds a line for `fraction` of one full period of `price` at `quantity`: the exact amount
/// is `full_period_amount × remaining / period` (credits negated), rounded once.
pub(crate) fn price_line(
    kind: LineKind,
    description: String,
    price: &Price,
    quantity: i64,
    period: BillingPeriod,
    fraction: PeriodFraction,
    sign: Sign,
) -> Result<InvoiceLine, InvoiceError> {
    let quote = price.quote(quantity)?;
    let prorated = fraction
        .apply(quote.exact_minor)
        .ok_or(MoneyError::Overflow)?;
    let exact_minor = match sign {
        Sign::Charge => prorated,
        Sign::Credit => -prorated,
    };
    let amount = round_to_minor_units(exact_minor, price.currency)?;
    let mut formula = quote.formula;
    if !fraction.is_full() {
        if formula.contains(" + ") {
            formula = format!("({formula})");
        }
        formula = format!("{formula} × {}", fraction.describe());
    }
    if sign == Sign::Credit {
        formula = format!("-({formula})");
    }
    let explanation = explain_rounding(formula, exact_minor, amount);
    Ok(InvoiceLine {
        kind,
        description,
        price_id: Some(price.id.clone()),
        quantity,
        period,
        fraction,
        exact_minor,
        amount,
        explanation,
    })
}

/// "formula = $34.00", or "formula ≈ $26.8966 → $26.90 (rounded half away from zero)" when
/// rounding changed the amount: the exact amount is shown to two digits past the minor unit,
/// with "≈" when it has more.
fn explain_rounding(formula: String, exact_minor: Decimal, amount: Money) -> String {
    if exact_minor == amount.to_minor_decimal() {
        return format!("{formula} = {amount}");
    }
    let shown = exact_minor.round_dp(2);
    let relation = if shown == exact_minor { "=" } else { "≈" };
    format!(
        "{formula} {relation} {} → {amount} ({LINE_ROUNDING_NAME})",
        format_minor_decimal(amount.currency(), shown)
    )
}

/// Sums `lines` into a draft and applies `coupon` to the subtotal as one discount line
/// (discounts before tax; see [`crate::domain::coupon`]). Checks the invoice invariants.
pub(crate) fn draft_from_lines(
    currency: Currency,
    period: BillingPeriod,
    mut lines: Vec<InvoiceLine>,
    coupon: Option<&Coupon>,
) -> Result<InvoiceDraft, InvoiceError> {
    let subtotal = Money::checked_sum(currency, lines.iter().map(|line| line.amount))?;
    let mut discount = Money::zero(currency);
    let mut coupon_applied = false;
    if let Some(coupon) = coupon {
        let off = coupon.discount_on(subtotal)?;
        if !off.amount.is_zero() {
            discount = off.amount;
            lines.push(InvoiceLine {
                kind: LineKind::Discount,
                description: coupon.name.clone(),
                price_id: None,
                quantity: 1,
                period,
                fraction: PeriodFraction::FULL,
                exact_minor: -off.exact_minor,
                amount: off.amount.checked_neg()?,
                explanation: off.explanation,
            });
        }
        coupon_applied = true;
    }
    let total = subtotal.checked_sub(discount)?;
    let draft = InvoiceDraft {
        currency,
        period,
        lines,
        subtotal,
        discount,
        total,
        coupon_applied,
    };
    check_invoice(&draft)?;
    Ok(draft)
}

/// The invoice for one billing period of a subscription: one line per item for the full
/// period, then the pending proration lines, then the coupon's discount line if the coupon
/// still applies. Each line is rounded once; the total is the sum of the rounded lines.
///
/// Deterministic: the same snapshot and period always give the same draft, and the totals do
/// not depend on the order of items or pending lines.
pub fn build_invoice(
    subscription: &SubscriptionSnapshot,
    period: BillingPeriod,
) -> Result<InvoiceDraft, InvoiceError> {
    if period.end <= period.start {
        return Err(InvoiceError::EmptyPeriod);
    }
    let currency = subscription.currency;
    let mut lines =
        Vec::with_capacity(subscription.items.len() + subscription.pending_lines.len() + 1);
    for item in &subscription.items {
        if item.price.currency != currency {
            return Err(InvoiceError::CurrencyMismatch {
                price_id: item.price.id.clone(),
                expected: currency,
                found: item.price.currency,
            });
        }
        lines.push(price_line(
            LineKind::Recurring,
            item.price.nickname.clone(),
            &item.price,
            item.quantity,
            period,
            PeriodFraction::FULL,
            Sign::Charge,
        )?);
    }
    for pending in &subscription.pending_lines {
        if pending.amount.currency() != currency {
            return Err(InvoiceError::CurrencyMismatch {
                price_id: pending.price_id.clone().unwrap_or_default(),
                expected: currency,
                found: pending.amount.currency(),
            });
        }
        lines.push(pending.clone());
    }
    let coupon = subscription
        .coupon
        .as_ref()
        .filter(|applied| applied.applies_to_next_period())
        .map(|applied| &applied.coupon);
    draft_from_lines(currency, period, lines, coupon)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::coupon::tests::{fixed_coupon, percent_coupon};
    use crate::domain::coupon::CouponDuration;
    use crate::domain::period::tests::utc;
    use crate::domain::pricing::tests::{dec, price, tier};
    use crate::domain::pricing::PriceModel;
    use proptest::prelude::*;

    pub(crate) fn seats_price(unit_minor: &str, currency: Currency) -> Price {
        let mut p = price(
            "pro_seats",
            currency,
            PriceModel::PerUnit {
                unit_amount: dec(unit_minor),
            },
        );
        p.nickname = "Pro".into();
        p.unit_label = Some("seat".into());
        p
    }

    fn june() -> BillingPeriod {
        // 30 days.
        BillingPeriod::new(utc(2024, 6, 1, 0, 0, 0), utc(2024, 7, 1, 0, 0, 0)).unwrap()
    }

    pub(crate) fn sample_snapshot() -> SubscriptionSnapshot {
        let usage = price(
            "api_usage",
            Currency::USD,
            PriceModel::Graduated {
                tiers: vec![tier(1, Some(1000), "0", 0), tier(1001, None, "0.5", 0)],
            },
        );
        let addon = price("support", Currency::USD, PriceModel::Flat { amount: 4900 });
        let pending = price_line(
            LineKind::ProrationCharge,
            "Remaining time on Pro".into(),
            &seats_price("1200", Currency::USD),
            2,
            june(),
            PeriodFraction::new(17 * 86_400, 30 * 86_400).unwrap(),
            Sign::Charge,
        )
        .unwrap();
        SubscriptionSnapshot {
            currency: Currency::USD,
            items: vec![
                SubscriptionItem {
                    price: seats_price("1200", Currency::USD),
                    quantity: 5,
                },
                SubscriptionItem {
                    price: usage,
                    quantity: 4321,
                },
                SubscriptionItem {
                    price: addon,
                    quantity: 1,
                },
            ],
            coupon: Some(AppliedCoupon {
                coupon: percent_coupon("10", CouponDuration::Forever),
                periods_applied: 0,
            }),
            pending_lines: vec![pending],
        }
    }

    #[test]
    fn golden_invoice() {
        let draft = build_invoice(&sample_snapshot(), june()).unwrap();
        let amounts: Vec<i64> = draft.lines.iter().map(|l| l.amount.minor_units()).collect();
        // seats: 5 × 1200 = 6000
        // usage: 1000 × 0 + 3321 × 0.5 = 1660.5 → 1661
        // add-on: 4900
        // pending: 2 × 1200 × 17/30 = 1360
        // subtotal 6000 + 1661 + 4900 + 1360 = 13921; 10% = 1392.1 → 1392; total 12529
        assert_eq!(amounts, vec![6000, 1661, 4900, 1360, -1392]);
        assert_eq!(draft.subtotal.minor_units(), 13921);
        assert_eq!(draft.discount.minor_units(), 1392);
        assert_eq!(draft.total.minor_units(), 12529);
        assert!(draft.coupon_applied);
        assert_eq!(draft.lines[0].explanation, "5 seats × $12.00 = $60.00");
        assert_eq!(
            draft.lines[1].explanation,
            "1000 units × $0.00 (1–1000) + 3321 units × $0.005 (1001–4321) = $16.605 → $16.61 (rounded half away from zero)"
        );
        assert_eq!(
            draft.lines[3].explanation,
            "2 seats × $12.00 × 17 of 30 days = $13.60"
        );
        assert_eq!(
            draft.lines[4].explanation,
            "10% off $139.21 = $13.92 (rounded half away from zero)"
        );
    }

    #[test]
    fn the_example_from_the_issue() {
        // 5 seats × $12.00 × 17/30 = 6000 × 17 / 30 = 3400 = $34.00
        let line = price_line(
            LineKind::ProrationCharge,
            "Remaining time on Pro".into(),
            &seats_price("1200", Currency::USD),
            5,
            june(),
            PeriodFraction::new(17 * 86_400, 30 * 86_400).unwrap(),
            Sign::Charge,
        )
        .unwrap();
        assert_eq!(
            line.explanation,
            "5 seats × $12.00 × 17 of 30 days = $34.00"
        );
        assert_eq!(line.amount.minor_units(), 3400);
    }

    #[test]
    fn coupon_durations_on_invoices() {
        let mut snapshot = sample_snapshot();
        snapshot.pending_lines.clear();
        // Subtotal without pending: 6000 + 1661 + 4900 = 12561.
        let total_with = |coupon: Option<AppliedCoupon>| {
            let mut s = snapshot.clone();
            s.coupon = coupon;
            let draft = build_invoice(&s, june()).unwrap();
            (draft.total.minor_units(), draft.coupon_applied)
        };
        let applied = |duration, periods_applied| {
            Some(AppliedCoupon {
                coupon: percent_coupon("20", duration),
                periods_applied,
            })
        };
        // 20% of 12561 = 2512.2 → 2512; 12561 - 2512 = 10049.
        assert_eq!(total_with(applied(CouponDuration::Once, 0)), (10049, true));
        assert_eq!(total_with(applied(CouponDuration::Once, 1)), (12561, false));
        assert_eq!(
            total_with(applied(CouponDuration::Repeating { periods: 3 }, 2)),
            (10049, true)
        );
        assert_eq!(
            total_with(applied(CouponDuration::Repeating { periods: 3 }, 3)),
            (12561, false)
        );
        assert_eq!(
            total_with(applied(CouponDuration::Forever, 40)),
            (10049, true)
        );
        // $200 off a $125.61 invoice is capped: total 0, never below.
        let big = Some(AppliedCoupon {
            coupon: fixed_coupon(
                Money::from_minor(20000, Currency::USD),
                CouponDuration::Once,
            ),
            periods_applied: 0,
        });
        assert_eq!(total_with(big), (0, true));
    }

    #[test]
    fn three_decimal_and_zero_decimal_invoices() {
        // KWD 2.5005 per seat (2500.5 fils) × 3 = 7501.5 → 7502 fils = KWD 7.502.
        let kwd = SubscriptionSnapshot {
            currency: Currency::KWD,
            items: vec![SubscriptionItem {
                price: seats_price("2500.5", Currency::KWD),
                quantity: 3,
            }],
            coupon: None,
            pending_lines: vec![],
        };
        let draft = build_invoice(&kwd, june()).unwrap();
        assert_eq!(draft.total.to_string(), "KWD 7.502");
        // ¥980 × 3 seats = ¥2,940; with 15% off: 441 → ¥2,499.
        let jpy = SubscriptionSnapshot {
            currency: Currency::JPY,
            items: vec![SubscriptionItem {
                price: seats_price("980", Currency::JPY),
                quantity: 3,
            }],
            coupon: Some(AppliedCoupon {
                coupon: percent_coupon("15", CouponDuration::Once),
                periods_applied: 0,
            }),
            pending_lines: vec![],
        };
        let draft = build_invoice(&jpy, june()).unwrap();
        assert_eq!(draft.total.to_string(), "¥2,499");
    }

    #[test]
    fn refuses_a_price_in_another_currency_and_a_foreign_fixed_coupon() {
        let mut snapshot = sample_snapshot();
        snapshot.items.push(SubscriptionItem {
            price: seats_price("1000", Currency::EUR),
            quantity: 1,
        });
        assert_eq!(
            build_invoice(&snapshot, june()).unwrap_err().to_string(),
            "price \"pro_seats\" is in EUR but the subscription bills in USD"
        );
        let mut snapshot = sample_snapshot();
        snapshot.coupon = Some(AppliedCoupon {
            coupon: fixed_coupon(Money::from_minor(500, Currency::EUR), CouponDuration::Once),
            periods_applied: 0,
        });
        assert!(matches!(
            build_invoice(&snapshot, june()),
            Err(InvoiceError::Coupon(_))
        ));
    }

    proptest! {
        #[test]
        fn totals_are_sums_and_do_not_depend_on_order(
            quantities in proptest::collection::vec(0_i64..10_000, 1..6),
            units in proptest::collection::vec(0_i64..1_000_000, 1..6),
            percent in 1_u32..=100,
            rotate in 0_usize..6,
        ) {
            let items: Vec<SubscriptionItem> = quantities
                .iter()
                .zip(&units)
                .enumerate()
                .map(|(i, (q, u))| {
                    let mut p = seats_price(&format!("{}.{:03}", u / 1000, u % 1000), Currency::USD);
                    p.id = format!("p{i}");
                    SubscriptionItem { price: p, quantity: *q }
                })
                .collect();
            let coupon = Some(AppliedCoupon {
                coupon: percent_coupon(&percent.to_string(), CouponDuration::Forever),
                periods_applied: 0,
            });
            let snapshot = SubscriptionSnapshot { currency: Currency::USD, items: items.clone(), coupon, pending_lines: vec![] };
            let draft = build_invoice(&snapshot, june()).unwrap();
            let sum: i64 = draft.lines.iter().map(|l| l.amount.minor_units()).sum();
            prop_assert_eq!(draft.total.minor_units(), sum);
            prop_assert!(draft.total.minor_units() >= 0);
            let mut rotated = snapshot.clone();
            let by = rotate % rotated.items.len();
            rotated.items.rotate_left(by);
            rotated.items.reverse();
            let other = build_invoice(&rotated, june()).unwrap();
            prop_assert_eq!(other.total, draft.total);
            prop_assert_eq!(other.subtotal, draft.subtotal);
            prop_assert_eq!(other.discount, draft.discount);
        }
    }
}
