//! Money invariants, checked in code on every draft and preview (an error, never a silent
//! wrong amount) and exercised by the property tests.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::invoice::{InvoiceDraft, LineKind};
use super::money::Money;

#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[error("billing invariant violated: {0}")]
pub struct InvariantViolation(pub String);

fn violation(message: String) -> Result<(), InvariantViolation> {
    debug_assert!(false, "{message}");
    Err(InvariantViolation(message))
}

/// An invoice is in one currency, its total is the sum of its lines, its subtotal the sum of
/// the non-discount lines, `total == subtotal - discount`, and the discount never changes the
/// sign of the subtotal (a discount cannot make a charge into a payout).
pub fn check_invoice(draft: &InvoiceDraft) -> Result<(), InvariantViolation> {
    let currency = draft.currency;
    if let Some(line) = draft
        .lines
        .iter()
        .find(|line| line.amount.currency() != currency)
    {
        return violation(format!(
            "line \"{}\" is in {}, invoice in {currency}",
            line.description,
            line.amount.currency()
        ));
    }
    let sum = |include: &dyn Fn(LineKind) -> bool| -> i128 {
        draft
            .lines
            .iter()
            .filter(|line| include(line.kind))
            .map(|line| i128::from(line.amount.minor_units()))
            .sum()
    };
    let all = sum(&|_| true);
    let charges_and_credits = sum(&|kind| kind != LineKind::Discount);
    if i128::from(draft.total.minor_units()) != all {
        return violation(format!(
            "total {} is not the sum of the lines ({all})",
            draft.total.minor_units()
        ));
    }
    if i128::from(draft.subtotal.minor_units()) != charges_and_credits {
        return violation(format!(
            "subtotal {} is not the sum of the non-discount lines",
            draft.subtotal.minor_units()
        ));
    }
    if i128::from(draft.subtotal.minor_units()) - i128::from(draft.discount.minor_units()) != all {
        return violation("total is not subtotal minus discount".to_string());
    }
    let (subtotal, total) = (draft.subtotal.minor_units(), draft.total.minor_units());
    if (subtotal >= 0 && total < 0) || (subtotal <= 0 && total > 0) {
        return violation(format!(
            "discount moved the total from {subtotal} to {total}"
        ));
    }
    Ok(())
}

/// A credit for unused time never exceeds what was charged for that time: `|credit| <= charged`.
pub fn check_credit_within_charge(credit: Money, charged: Money) -> Result<(), InvariantViolation> {
    let credited = i128::from(credit.minor_units()).abs();
    if credit.currency() != charged.currency()
        || credited > i128::from(charged.minor_units()).max(0)
    {
        return violation(format!(
            "credit {credit} exceeds the {charged} charged for that time"
        ));
    }
    Ok(())
}
