//! What happens to a subscription when its period ends, and when a failed payment is retried.
//!
//! At a period end exactly one of three things happens, decided here without IO:
//! - it renews for the next period (applying a scheduled plan or seat change first), billed in
//!   advance with an invoice built by [`build_invoice`];
//! - it was set to cancel (or its last payment retry failed) and the catalog has a free plan in
//!   its currency: it moves to that plan, anchored at the old period end;
//! - otherwise it ends.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::coupon::AppliedCoupon;
use super::invoice::SubscriptionSnapshot;
use super::invoice::{build_invoice, InvoiceDraft, InvoiceError, SubscriptionItem};
use super::period::{period_containing, BillingPeriod, PeriodError};
use super::pricing::Price;

/// A subscription as its period end sees it.
#[derive(Clone, Debug)]
pub struct PeriodEndInput<'a> {
    pub price: &'a Price,
    pub quantity: i64,
    pub anchor: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    /// A change waiting for this period end: the price to move to and its quantity.
    pub scheduled: Option<(&'a Price, i64)>,
    pub cancel_at_period_end: bool,
    /// The catalog's free price in the subscription's currency, if it has one.
    pub free_price: Option<&'a Price>,
    /// A coupon on the subscription, with the periods it has discounted so far.
    pub coupon: Option<AppliedCoupon>,
    /// Proration lines changes left for this invoice, billed after the period's own line and
    /// discounted with it.
    pub pending_lines: &'a [super::invoice::InvoiceLine],
}

/// What the period end does.
#[derive(Clone, Debug, PartialEq)]
pub enum PeriodEndDecision {
    Renew {
        price_id: String,
        quantity: i64,
        anchor: DateTime<Utc>,
        period: BillingPeriod,
        /// The invoice for the new period, billed in advance.
        invoice: InvoiceDraft,
        /// Whether a scheduled change was applied.
        applied_scheduled: bool,
    },
    MoveToFree {
        price_id: String,
        quantity: i64,
        anchor: DateTime<Utc>,
        period: BillingPeriod,
    },
    End,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenewalError {
    #[error(transparent)]
    Period(#[from] PeriodError),
    #[error(transparent)]
    Invoice(#[from] InvoiceError),
}

/// Decides what the end of the current period does.
pub fn at_period_end(input: &PeriodEndInput<'_>) -> Result<PeriodEndDecision, RenewalError> {
    if input.cancel_at_period_end {
        return stop_paid_service(input.price, input.period_end, input.free_price);
    }
    let (price, quantity, applied_scheduled) = match input.scheduled {
        Some((price, quantity)) => (price, quantity, true),
        None => (input.price, input.quantity, false),
    };
    // The same interval keeps the anchor (so Jan 31 → Feb 29 → Mar 31); another interval starts
    // a new anchor at the old period end.
    let anchor = if price.interval == input.price.interval {
        input.anchor
    } else {
        input.period_end
    };
    let period = period_containing(anchor, price.interval, input.period_end)?;
    let invoice = build_invoice(
        &SubscriptionSnapshot {
            currency: price.currency,
            items: vec![SubscriptionItem {
                price: price.clone(),
                quantity,
            }],
            coupon: input.coupon.clone(),
            pending_lines: input.pending_lines.to_vec(),
        },
        period,
    )?;
    Ok(PeriodEndDecision::Renew {
        price_id: price.id.clone(),
        quantity,
        anchor,
        period,
        invoice,
        applied_scheduled,
    })
}

/// Paid service stops at `at`: the subscription moves to the free price when there is one in its
/// currency, and ends otherwise.
pub fn stop_paid_service(
    paid: &Price,
    at: DateTime<Utc>,
    free_price: Option<&Price>,
) -> Result<PeriodEndDecision, RenewalError> {
    match free_price.filter(|free| free.currency == paid.currency) {
        Some(free) => Ok(PeriodEndDecision::MoveToFree {
            price_id: free.id.clone(),
            quantity: free.min_quantity.unwrap_or(1).max(1),
            anchor: at,
            period: BillingPeriod::first(at, free.interval)?,
        }),
        None => Ok(PeriodEndDecision::End),
    }
}

/// When failed payments are retried: each entry is the days after the previous attempt. The
/// default is 3, 5 and 7 days; after the last retry fails, paid service stops.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetrySchedule {
    pub days_after_previous: Vec<u32>,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        RetrySchedule {
            days_after_previous: vec![3, 5, 7],
        }
    }
}

impl RetrySchedule {
    /// Parses a comma-separated list of whole days, e.g. `3,5,7` (an empty list: no retries).
    pub fn parse(text: &str) -> Result<RetrySchedule, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(RetrySchedule {
                days_after_previous: Vec::new(),
            });
        }
        let days = text
            .split(',')
            .map(|part| {
                let part = part.trim();
                match part.parse::<u32>() {
                    Ok(d) if (1..=60).contains(&d) => Ok(d),
                    _ => Err(format!(
                        "{part:?} is not a number of days from 1 to 60 (write e.g. 3,5,7)"
                    )),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RetrySchedule {
            days_after_previous: days,
        })
    }

    /// After `failed_attempts` failed attempts, the last at `last_attempt`: when to try again, or
    /// `None` when the retries are used up.
    pub fn next_attempt(
        &self,
        failed_attempts: u32,
        last_attempt: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let index = usize::try_from(failed_attempts.checked_sub(1)?).ok()?;
        self.days_after_previous
            .get(index)
            .map(|days| last_attempt + Duration::days(i64::from(*days)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Currency, Interval, PriceModel};
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().unwrap()
    }

    fn per_seat(id: &str, interval: Interval, unit: i64) -> Price {
        Price {
            id: id.into(),
            nickname: id.into(),
            currency: Currency::USD,
            interval,
            model: PriceModel::PerUnit {
                unit_amount: unit.into(),
            },
            trial_days: 0,
            unit_label: Some("seat".into()),
            min_quantity: Some(1),
            max_quantity: None,
        }
    }

    fn free() -> Price {
        Price {
            id: "free".into(),
            nickname: "Free".into(),
            currency: Currency::USD,
            interval: Interval::monthly(),
            model: PriceModel::Flat { amount: 0 },
            trial_days: 0,
            unit_label: None,
            min_quantity: Some(1),
            max_quantity: Some(1),
        }
    }

    #[test]
    fn renewal_keeps_the_month_end_anchor_and_bills_the_next_period_in_advance() {
        let pro = per_seat("pro", Interval::monthly(), 1200);
        let decision = at_period_end(&PeriodEndInput {
            price: &pro,
            quantity: 3,
            anchor: at(2028, 1, 31),
            period_end: at(2028, 2, 29),
            scheduled: None,
            cancel_at_period_end: false,
            free_price: None,
            coupon: None,
            pending_lines: &[],
        })
        .unwrap();
        let PeriodEndDecision::Renew {
            period, invoice, ..
        } = decision
        else {
            panic!("expected a renewal, got {decision:?}");
        };
        // Leap year: Jan 31 → Feb 29 → Mar 31.
        assert_eq!(
            (period.start, period.end),
            (at(2028, 2, 29), at(2028, 3, 31))
        );
        // 3 seats × $12.00 = $36.00, a full period.
        assert_eq!(invoice.total.minor_units(), 3600);
    }

    #[test]
    fn lines_left_for_the_next_invoice_are_billed_with_the_renewal() {
        use crate::domain::invoice::{InvoiceLine, LineKind};
        use crate::domain::period::PeriodFraction;
        let pro = per_seat("pro", Interval::monthly(), 1200);
        let june = BillingPeriod::new(at(2026, 6, 16), at(2026, 7, 1)).unwrap();
        let line = |kind, minor: i64| InvoiceLine {
            kind,
            description: "proration".into(),
            price_id: Some("pro".into()),
            quantity: 3,
            period: june,
            fraction: PeriodFraction::FULL,
            exact_minor: rust_decimal::Decimal::from(minor),
            amount: crate::domain::Money::from_minor(minor, Currency::USD),
            explanation: String::new(),
        };
        let pending = [
            line(LineKind::ProrationCredit, -1000),
            line(LineKind::ProrationCharge, 2500),
        ];
        let decision = at_period_end(&PeriodEndInput {
            price: &pro,
            quantity: 3,
            anchor: at(2026, 1, 1),
            period_end: at(2026, 7, 1),
            scheduled: None,
            cancel_at_period_end: false,
            free_price: None,
            coupon: None,
            pending_lines: &pending,
        })
        .unwrap();
        let PeriodEndDecision::Renew { invoice, .. } = decision else {
            panic!("expected a renewal");
        };
        let kinds: Vec<_> = invoice.lines.iter().map(|l| l.kind).collect();
        assert_eq!(
            kinds,
            [
                LineKind::Recurring,
                LineKind::ProrationCredit,
                LineKind::ProrationCharge
            ]
        );
        // $36.00 for July, then -$10.00 and +$25.00 from June's change.
        assert_eq!(invoice.total.minor_units(), 3600 - 1000 + 2500);
    }

    #[test]
    fn a_scheduled_interval_switch_starts_a_new_anchor_at_the_old_period_end() {
        let annual = per_seat("pro_annual", Interval::yearly(), 12000);
        let monthly = per_seat("pro_monthly", Interval::monthly(), 1200);
        let decision = at_period_end(&PeriodEndInput {
            price: &annual,
            quantity: 2,
            anchor: at(2026, 3, 10),
            period_end: at(2027, 3, 10),
            scheduled: Some((&monthly, 4)),
            cancel_at_period_end: false,
            free_price: None,
            coupon: None,
            pending_lines: &[],
        })
        .unwrap();
        let PeriodEndDecision::Renew {
            price_id,
            quantity,
            anchor,
            period,
            invoice,
            applied_scheduled,
        } = decision
        else {
            panic!("expected a renewal");
        };
        assert_eq!(
            (price_id.as_str(), quantity, applied_scheduled),
            ("pro_monthly", 4, true)
        );
        assert_eq!(anchor, at(2027, 3, 10));
        assert_eq!(period.end, at(2027, 4, 10));
        // 4 seats × $12.00 = $48.00.
        assert_eq!(invoice.total.minor_units(), 4800);
    }

    #[test]
    fn cancelling_moves_to_the_free_price_or_ends() {
        let pro = per_seat("pro", Interval::monthly(), 1200);
        let free = free();
        let input = PeriodEndInput {
            price: &pro,
            quantity: 5,
            anchor: at(2026, 1, 15),
            period_end: at(2026, 6, 15),
            scheduled: None,
            cancel_at_period_end: true,
            free_price: Some(&free),
            coupon: None,
            pending_lines: &[],
        };
        assert_eq!(
            at_period_end(&input).unwrap(),
            PeriodEndDecision::MoveToFree {
                price_id: "free".into(),
                quantity: 1,
                anchor: at(2026, 6, 15),
                period: BillingPeriod::new(at(2026, 6, 15), at(2026, 7, 15)).unwrap(),
            }
        );
        let without_free = PeriodEndInput {
            free_price: None,
            ..input
        };
        assert_eq!(
            at_period_end(&without_free).unwrap(),
            PeriodEndDecision::End
        );
    }

    #[test]
    fn a_free_price_in_another_currency_does_not_count() {
        let mut eur = per_seat("pro_eur", Interval::monthly(), 1100);
        eur.currency = Currency::EUR;
        assert_eq!(
            stop_paid_service(&eur, at(2026, 2, 1), Some(&free())).unwrap(),
            PeriodEndDecision::End
        );
    }

    #[test]
    fn retries_follow_the_schedule_then_stop() {
        let schedule = RetrySchedule::default();
        let first_failure = at(2026, 2, 15);
        let second = schedule.next_attempt(1, first_failure).unwrap();
        assert_eq!(second, at(2026, 2, 18));
        let third = schedule.next_attempt(2, second).unwrap();
        assert_eq!(third, at(2026, 2, 23));
        let fourth = schedule.next_attempt(3, third).unwrap();
        assert_eq!(fourth, at(2026, 3, 2));
        assert_eq!(schedule.next_attempt(4, fourth), None);
        assert_eq!(schedule.next_attempt(0, first_failure), None);
    }

    #[test]
    fn schedules_parse_with_clear_errors() {
        assert_eq!(
            RetrySchedule::parse(" 1, 2 ,4")
                .unwrap()
                .days_after_previous,
            vec![1, 2, 4]
        );
        assert!(RetrySchedule::parse("")
            .unwrap()
            .days_after_previous
            .is_empty());
        let err = RetrySchedule::parse("3,x").unwrap_err();
        assert!(err.contains("\"x\""), "{err}");
        assert!(RetrySchedule::parse("0").is_err());
    }
}
