//! Mid-period changes: what a plan or seat change costs now, later, or at renewal.
//!
//! A change at instant `at` inside the current period `[start, end)` is priced to the second:
//! `fraction = (end - at) / (end - start)`. The customer is credited `fraction` of the old
//! full-period amount and charged `fraction` of the new one, each as its own line rounded once
//! (half away from zero, which is symmetric, so a credit and a charge for the same amount and
//! time cancel exactly). An interval switch (monthly ↔ annual) instead credits the unused old
//! time and charges a full new period starting at `at`, which becomes the new billing anchor.
//!
//! Proration lines are not discounted by fixed-amount coupons (a fixed amount off is per period
//! invoice, not per unit of time); a percent coupon in effect discounts an immediate proration
//! invoice in proportion, credits included, because the credited time was paid at that percent.
//! During a trial nothing has been paid; change the price directly.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::coupon::Coupon;
use super::currency::Currency;
use super::invariants::{check_credit_within_charge, InvariantViolation};
use super::invoice::{
    draft_from_lines, price_line, InvoiceDraft, InvoiceError, InvoiceLine, LineKind, Sign,
};
use super::money::{Money, MoneyError};
use super::period::{period_containing, BillingPeriod, PeriodError, PeriodFraction};
use super::pricing::{Price, PricingError};

/// When and whether a kind of change is prorated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProrationPolicy {
    /// Credit and charge now, on an invoice issued immediately.
    ProrateNowInvoiceNow,
    /// Credit and charge computed now, added to the next period's invoice.
    ProrateOnNextInvoice,
    /// The change takes effect now; the rest of the period is neither credited nor charged.
    NoProration,
    /// Nothing changes until the current period ends; the change is scheduled.
    ApplyAtPeriodEnd,
}

/// The policy for each kind of change. The default: upgrades now, downgrades at renewal,
/// interval switches now, seat increases now, seat decreases at renewal.
/// A kind left out when reading (a catalog file says only what differs) takes its default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChangePolicies {
    pub upgrade: ProrationPolicy,
    pub downgrade: ProrationPolicy,
    pub interval_switch: ProrationPolicy,
    pub seat_increase: ProrationPolicy,
    pub seat_decrease: ProrationPolicy,
}

impl Default for ChangePolicies {
    fn default() -> Self {
        ChangePolicies {
            upgrade: ProrationPolicy::ProrateNowInvoiceNow,
            downgrade: ProrationPolicy::ApplyAtPeriodEnd,
            interval_switch: ProrationPolicy::ProrateNowInvoiceNow,
            seat_increase: ProrationPolicy::ProrateNowInvoiceNow,
            seat_decrease: ProrationPolicy::ApplyAtPeriodEnd,
        }
    }
}

impl ChangePolicies {
    /// Every change prorated and invoiced immediately.
    pub fn all(policy: ProrationPolicy) -> ChangePolicies {
        ChangePolicies {
            upgrade: policy,
            downgrade: policy,
            interval_switch: policy,
            seat_increase: policy,
            seat_decrease: policy,
        }
    }

    pub fn for_kind(&self, kind: ChangeKind) -> ProrationPolicy {
        match kind {
            ChangeKind::Upgrade => self.upgrade,
            ChangeKind::Downgrade => self.downgrade,
            ChangeKind::IntervalSwitch => self.interval_switch,
            ChangeKind::SeatIncrease => self.seat_increase,
            ChangeKind::SeatDecrease => self.seat_decrease,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Another price with the same interval that does not cost less per period.
    Upgrade,
    /// Another price with the same interval that costs less per period.
    Downgrade,
    /// A price with another interval (monthly ↔ annual).
    IntervalSwitch,
    SeatIncrease,
    SeatDecrease,
}

impl ChangeKind {
    /// The name a change of this kind is recorded under.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Upgrade => "upgrade",
            ChangeKind::Downgrade => "downgrade",
            ChangeKind::IntervalSwitch => "intervalswitch",
            ChangeKind::SeatIncrease => "seatincrease",
            ChangeKind::SeatDecrease => "seatdecrease",
        }
    }
}

/// One subscription item as it is now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurrentSubscription {
    pub price: Price,
    pub quantity: i64,
    /// Start of the first paid period; periods are anchored here
    /// (see [`super::period::period_boundary`]).
    pub billing_anchor: DateTime<Utc>,
}

/// What the customer (or staff) asks for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SubscriptionChange {
    /// Move to another price, with a quantity for it.
    SwitchPrice { new_price: Price, quantity: i64 },
    /// Same price, another quantity (seats).
    SetQuantity { quantity: i64 },
}

/// A change that waits for the end of the current period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduledChange {
    pub effective_at: DateTime<Utc>,
    pub price_id: String,
    pub quantity: i64,
}

/// What a change costs, and when. Deterministic: the same state, change, time and policies
/// always give the same preview, so the browser's preview is what the server charges.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProrationPreview {
    pub kind: ChangeKind,
    pub policy: ProrationPolicy,
    /// When the new price or quantity starts to apply.
    pub effective_at: DateTime<Utc>,
    /// The period the change falls in.
    pub current_period: BillingPeriod,
    /// Unused part of the current period at the time of the change.
    pub remaining: PeriodFraction,
    /// The credit and charge lines, whenever they are billed (empty if not prorated).
    pub lines: Vec<InvoiceLine>,
    /// The invoice to issue now, if the policy bills now.
    pub invoice_now: Option<InvoiceDraft>,
    /// Lines to add to the next period's invoice (`ProrateOnNextInvoice`).
    pub next_invoice_lines: Vec<InvoiceLine>,
    /// What the customer pays now (never negative).
    pub amount_due_now: Money,
    /// What is credited to the customer's balance now, when credits exceed charges.
    pub credit_to_balance: Money,
    /// The change waiting for period end (`ApplyAtPeriodEnd`).
    pub scheduled: Option<ScheduledChange>,
    /// Full-period amount after the change, before coupons.
    pub new_recurring_amount: Money,
    /// The first full period billed at the new recurring amount.
    pub next_period: BillingPeriod,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ProrationError {
    #[error("nothing to change: the subscription already has this price and quantity")]
    NothingToChange,
    #[error("cannot switch from {from} to {to}; a subscription keeps its currency")]
    CurrencyMismatch { from: Currency, to: Currency },
    #[error(transparent)]
    Period(#[from] PeriodError),
    #[error(transparent)]
    Pricing(#[from] PricingError),
    #[error(transparent)]
    Invoice(#[from] InvoiceError),
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Invariant(#[from] InvariantViolation),
}

/// Classifies a change: another interval is an interval switch; another price that does not
/// cost less per period (at the new quantity) is an upgrade, one that costs less a downgrade;
/// the same price with more or fewer units is a seat increase or decrease.
pub fn classify_change(
    current: &CurrentSubscription,
    change: &SubscriptionChange,
) -> Result<ChangeKind, ProrationError> {
    match change {
        SubscriptionChange::SetQuantity { quantity } => match quantity.cmp(&current.quantity) {
            std::cmp::Ordering::Greater => Ok(ChangeKind::SeatIncrease),
            std::cmp::Ordering::Less => Ok(ChangeKind::SeatDecrease),
            std::cmp::Ordering::Equal => Err(ProrationError::NothingToChange),
        },
        SubscriptionChange::SwitchPrice {
            new_price,
            quantity,
        } => {
            if new_price.currency != current.price.currency {
                return Err(ProrationError::CurrencyMismatch {
                    from: current.price.currency,
                    to: new_price.currency,
                });
            }
            if *new_price == current.price && *quantity == current.quantity {
                return Err(ProrationError::NothingToChange);
            }
            if new_price.interval != current.price.interval {
                return Ok(ChangeKind::IntervalSwitch);
            }
            let old_amount = current.price.amount_for(current.quantity)?;
            let new_amount = new_price.amount_for(*quantity)?;
            if new_amount.minor_units() < old_amount.minor_units() {
                Ok(ChangeKind::Downgrade)
            } else {
                Ok(ChangeKind::Upgrade)
            }
        }
    }
}

impl ProrationPreview {
    /// What the change leaves for the next invoice, the sum of those lines; `None` when it
    /// leaves nothing.
    pub fn next_invoice_total(&self) -> Option<Money> {
        let minor: i64 = self
            .next_invoice_lines
            .iter()
            .map(|l| l.amount.minor_units())
            .sum();
        (!self.next_invoice_lines.is_empty())
            .then(|| Money::from_minor(minor, self.amount_due_now.currency()))
    }
}

/// Previews `change` at instant `at` under `policies`. `coupon` is the coupon discounting the
/// current period, if any (see the module docs for how it applies).
///
/// Per policy:
/// - `ProrateNowInvoiceNow`: credit and charge lines on an invoice issued now.
/// - `ProrateOnNextInvoice`: the same lines, left for the next invoice. An interval switch
///   starts a new period now, so its next invoice *is* now: it behaves as `ProrateNowInvoiceNow`.
/// - `NoProration`: effective now, no credit or charge; an interval switch still bills its new
///   period, which starts now.
/// - `ApplyAtPeriodEnd`: nothing billed now; the change is scheduled for the period end.
pub fn preview_change(
    current: &CurrentSubscription,
    change: &SubscriptionChange,
    at: DateTime<Utc>,
    policies: &ChangePolicies,
    coupon: Option<&Coupon>,
) -> Result<ProrationPreview, ProrationError> {
    let kind = classify_change(current, change)?;
    let policy = policies.for_kind(kind);
    let (new_price, new_quantity) = match change {
        SubscriptionChange::SwitchPrice {
            new_price,
            quantity,
        } => (new_price, *quantity),
        SubscriptionChange::SetQuantity { quantity } => (&current.price, *quantity),
    };
    new_price.check_quantity(new_quantity)?;
    let currency = current.price.currency;
    let old_interval = current.price.interval;
    let current_period = period_containing(current.billing_anchor, old_interval, at)?;
    let remaining = current_period.remaining_at(at)?;
    let unused = BillingPeriod {
        start: at,
        end: current_period.end,
    };
    let new_recurring_amount = new_price.amount_for(new_quantity)?;
    let is_interval_switch = kind == ChangeKind::IntervalSwitch;

    let credit_line = || -> Result<InvoiceLine, ProrationError> {
        let line = price_line(
            LineKind::ProrationCredit,
            format!("Unused time on {}", current.price.nickname),
            &current.price,
            current.quantity,
            unused,
            remaining,
            Sign::Credit,
        )?;
        check_credit_within_charge(line.amount, current.price.amount_for(current.quantity)?)?;
        Ok(line)
    };
    let charge_line = || -> Result<InvoiceLine, ProrationError> {
        if is_interval_switch {
            let new_period = BillingPeriod::first(at, new_price.interval)?;
            Ok(price_line(
                LineKind::Recurring,
                new_price.nickname.clone(),
                new_price,
                new_quantity,
                new_period,
                PeriodFraction::FULL,
                Sign::Charge,
            )?)
        } else {
            Ok(price_line(
                LineKind::ProrationCharge,
                format!("Remaining time on {}", new_price.nickname),
                new_price,
                new_quantity,
                unused,
                remaining,
                Sign::Charge,
            )?)
        }
    };

    let (effective_at, next_period) = match (policy, is_interval_switch) {
        (ProrationPolicy::ApplyAtPeriodEnd, _) => {
            let start = current_period.end;
            let next = if is_interval_switch {
                BillingPeriod::first(start, new_price.interval)?
            } else {
                next_anchored_period(current, current_period)?
            };
            (start, next)
        }
        (_, true) => (at, BillingPeriod::first(at, new_price.interval)?),
        (_, false) => (at, next_anchored_period(current, current_period)?),
    };

    let mut lines = Vec::new();
    match policy {
        ProrationPolicy::ProrateNowInvoiceNow | ProrationPolicy::ProrateOnNextInvoice => {
            lines.push(credit_line()?);
            lines.push(charge_line()?);
        }
        ProrationPolicy::NoProration if is_interval_switch => lines.push(charge_line()?),
        ProrationPolicy::NoProration | ProrationPolicy::ApplyAtPeriodEnd => {}
    }

    let bills_now = match policy {
        ProrationPolicy::ProrateNowInvoiceNow => true,
        ProrationPolicy::ProrateOnNextInvoice | ProrationPolicy::NoProration => is_interval_switch,
        ProrationPolicy::ApplyAtPeriodEnd => false,
    };
    let zero = Money::zero(currency);
    let (invoice_now, next_invoice_lines, amount_due_now, credit_to_balance) =
        if bills_now && !lines.is_empty() {
            let end = lines
                .iter()
                .map(|line| line.period.end)
                .max()
                .unwrap_or(current_period.end);
            let invoice_period = BillingPeriod { start: at, end };
            let percent_coupon = coupon.filter(|c| c.is_percent());
            let draft = draft_from_lines(currency, invoice_period, lines.clone(), percent_coupon)?;
            let due = draft.total.max(zero)?;
            let credit = draft.total.checked_neg()?.max(zero)?;
            (Some(draft), Vec::new(), due, credit)
        } else if policy == ProrationPolicy::ProrateOnNextInvoice {
            (None, lines.clone(), zero, zero)
        } else {
            (None, Vec::new(), zero, zero)
        };

    let scheduled = (policy == ProrationPolicy::ApplyAtPeriodEnd).then(|| ScheduledChange {
        effective_at,
        price_id: new_price.id.clone(),
        quantity: new_quantity,
    });

    Ok(ProrationPreview {
        kind,
        policy,
        effective_at,
        current_period,
        remaining,
        lines,
        invoice_now,
        next_invoice_lines,
        amount_due_now,
        credit_to_balance,
        scheduled,
        new_recurring_amount,
        next_period,
    })
}

/// The anchored period right after `current_period`, computed from the anchor so month-end
/// anchors stay on the month's last day.
fn next_anchored_period(
    current: &CurrentSubscription,
    current_period: BillingPeriod,
) -> Result<BillingPeriod, PeriodError> {
    let interval = current.price.interval;
    let next = period_containing(current.billing_anchor, interval, current_period.end)?;
    debug_assert_eq!(next.start, current_period.end);
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::coupon::tests::percent_coupon;
    use crate::domain::coupon::CouponDuration;
    use crate::domain::invoice::tests::seats_price;
    use crate::domain::period::tests::utc;
    use crate::domain::period::Interval;
    use crate::domain::pricing::tests::price;
    use crate::domain::pricing::PriceModel;
    use proptest::prelude::*;

    fn now_policies() -> ChangePolicies {
        ChangePolicies::all(ProrationPolicy::ProrateNowInvoiceNow)
    }

    fn seats(id: &str, unit_minor: &str, currency: Currency) -> Price {
        let mut p = seats_price(unit_minor, currency);
        p.id = id.into();
        p.nickname = id.into();
        p
    }

    fn subscription(price: Price, quantity: i64, anchor: DateTime<Utc>) -> CurrentSubscription {
        CurrentSubscription {
            price,
            quantity,
            billing_anchor: anchor,
        }
    }

    fn amounts(lines: &[InvoiceLine]) -> Vec<i64> {
        lines.iter().map(|l| l.amount.minor_units()).collect()
    }

    fn switch(new_price: &Price, quantity: i64) -> SubscriptionChange {
        SubscriptionChange::SwitchPrice {
            new_price: new_price.clone(),
            quantity,
        }
    }

    #[test]
    fn upgrade_with_a_month_end_anchor_in_a_leap_year() {
        // Anchor Jan 31 2024: the period holding Feb 15 is Jan 31 → Feb 29 (29 days), 14 left.
        let basic = seats("basic", "1000", Currency::USD);
        let pro = seats("pro", "2000", Currency::USD);
        let current = subscription(basic, 5, utc(2024, 1, 31, 0, 0, 0));
        let at = utc(2024, 2, 15, 0, 0, 0);
        let preview = preview_change(
            &current,
            &switch(&pro, 5),
            at,
            &ChangePolicies::default(),
            None,
        )
        .unwrap();
        assert_eq!(preview.kind, ChangeKind::Upgrade);
        assert_eq!(preview.policy, ProrationPolicy::ProrateNowInvoiceNow);
        assert_eq!(preview.current_period.end, utc(2024, 2, 29, 0, 0, 0));
        // credit: 5 × 1000 × 14/29 = 2413.79 → -2414; charge: 5 × 2000 × 14/29 = 4827.59 → 4828
        assert_eq!(amounts(&preview.lines), vec![-2414, 4828]);
        assert_eq!(preview.amount_due_now.minor_units(), 2414);
        assert_eq!(preview.credit_to_balance.minor_units(), 0);
        assert_eq!(preview.new_recurring_amount.minor_units(), 10000);
        // Next full period keeps the month-end anchor: Feb 29 → Mar 31.
        assert_eq!(
            preview.next_period,
            BillingPeriod {
                start: utc(2024, 2, 29, 0, 0, 0),
                end: utc(2024, 3, 31, 0, 0, 0)
            }
        );
        assert_eq!(
            preview.lines[0].explanation,
            "-(5 seats × $10.00 × 14 of 29 days) ≈ -$24.1379 → -$24.14 (rounded half away from zero)"
        );
        assert_eq!(preview.lines[0].description, "Unused time on basic");
    }

    #[test]
    fn downgrade_defaults_to_period_end_and_can_go_on_the_next_invoice() {
        let basic = seats("basic", "1000", Currency::USD);
        let pro = seats("pro", "2000", Currency::USD);
        let current = subscription(pro, 5, utc(2024, 1, 31, 0, 0, 0));
        // Mar 10 is in Feb 29 → Mar 31 (31 days), 21 days left.
        let at = utc(2024, 3, 10, 0, 0, 0);
        let scheduled = preview_change(
            &current,
            &switch(&basic, 5),
            at,
            &ChangePolicies::default(),
            None,
        )
        .unwrap();
        assert_eq!(scheduled.kind, ChangeKind::Downgrade);
        assert!(scheduled.lines.is_empty());
        assert_eq!(scheduled.amount_due_now.minor_units(), 0);
        assert_eq!(
            scheduled.scheduled,
            Some(ScheduledChange {
                effective_at: utc(2024, 3, 31, 0, 0, 0),
                price_id: "basic".into(),
                quantity: 5
            })
        );
        assert_eq!(scheduled.next_period.end, utc(2024, 4, 30, 0, 0, 0));

        let policies = ChangePolicies {
            downgrade: ProrationPolicy::ProrateOnNextInvoice,
            ..ChangePolicies::default()
        };
        let next = preview_change(&current, &switch(&basic, 5), at, &policies, None).unwrap();
        // credit: 10000 × 21/31 = 6774.19 → -6774; charge: 5000 × 21/31 = 3387.10 → 3387
        assert_eq!(amounts(&next.next_invoice_lines), vec![-6774, 3387]);
        assert!(next.invoice_now.is_none());
        assert_eq!(next.amount_due_now.minor_units(), 0);

        let now = preview_change(&current, &switch(&basic, 5), at, &now_policies(), None).unwrap();
        // Net -3387: nothing due, 3387 to the balance.
        assert_eq!(now.amount_due_now.minor_units(), 0);
        assert_eq!(now.credit_to_balance.minor_units(), 3387);

        let none = ChangePolicies::all(ProrationPolicy::NoProration);
        let free = preview_change(&current, &switch(&basic, 5), at, &none, None).unwrap();
        assert!(free.lines.is_empty());
        assert_eq!(free.effective_at, at);
    }

    #[test]
    fn monthly_to_annual_starts_a_new_anchor() {
        let monthly = price("monthly", Currency::USD, PriceModel::Flat { amount: 2000 });
        let mut annual = price("annual", Currency::USD, PriceModel::Flat { amount: 20000 });
        annual.interval = Interval::yearly();
        let current = subscription(monthly, 1, utc(2024, 1, 31, 0, 0, 0));
        let at = utc(2024, 2, 15, 0, 0, 0);
        let preview = preview_change(
            &current,
            &switch(&annual, 1),
            at,
            &ChangePolicies::default(),
            None,
        )
        .unwrap();
        assert_eq!(preview.kind, ChangeKind::IntervalSwitch);
        // credit: 2000 × 14/29 = 965.52 → -966; charge: a full year, 20000; due 19034.
        assert_eq!(amounts(&preview.lines), vec![-966, 20000]);
        assert_eq!(preview.amount_due_now.minor_units(), 19034);
        let year = BillingPeriod {
            start: at,
            end: utc(2025, 2, 15, 0, 0, 0),
        };
        assert_eq!(preview.next_period, year);
        assert_eq!(preview.lines[1].period, year);
        assert_eq!(preview.lines[1].explanation, "$200.00 flat = $200.00");
    }

    #[test]
    fn annual_to_monthly_credits_the_balance() {
        let mut annual = price("annual", Currency::USD, PriceModel::Flat { amount: 20000 });
        annual.interval = Interval::yearly();
        let monthly = price("monthly", Currency::USD, PriceModel::Flat { amount: 2000 });
        let current = subscription(annual, 1, utc(2024, 1, 1, 0, 0, 0));
        // Jul 1 2024 → Jan 1 2025 is 184 of 366 days (2024 is a leap year).
        let at = utc(2024, 7, 1, 0, 0, 0);
        let preview =
            preview_change(&current, &switch(&monthly, 1), at, &now_policies(), None).unwrap();
        // credit: 20000 × 184/366 = 10054.64 → -10055; charge: a full month from Jul 1, 2000.
        assert_eq!(amounts(&preview.lines), vec![-10055, 2000]);
        assert_eq!(preview.amount_due_now.minor_units(), 0);
        assert_eq!(preview.credit_to_balance.minor_units(), 8055);
        assert_eq!(preview.next_period.end, utc(2024, 8, 1, 0, 0, 0));
        // At period end: switches on Jan 1 2025, first monthly period Jan 1 → Feb 1.
        let later = preview_change(
            &current,
            &switch(&monthly, 1),
            at,
            &ChangePolicies::all(ProrationPolicy::ApplyAtPeriodEnd),
            None,
        )
        .unwrap();
        assert_eq!(later.effective_at, utc(2025, 1, 1, 0, 0, 0));
        assert_eq!(later.next_period.end, utc(2025, 2, 1, 0, 0, 0));
    }

    #[test]
    fn seat_increase_to_the_second() {
        let current = subscription(
            seats("pro", "1200", Currency::USD),
            5,
            utc(2024, 6, 1, 0, 0, 0),
        );
        // June has 30 days = 2,592,000 s. At Jun 14 13:07:09, 16 d 10:52:51 = 1,421,571 s remain.
        let at = utc(2024, 6, 14, 13, 7, 9);
        let change = SubscriptionChange::SetQuantity { quantity: 8 };
        let preview =
            preview_change(&current, &change, at, &ChangePolicies::default(), None).unwrap();
        assert_eq!(preview.kind, ChangeKind::SeatIncrease);
        assert_eq!(
            preview.remaining,
            PeriodFraction {
                remaining_seconds: 1_421_571,
                period_seconds: 2_592_000
            }
        );
        // credit: 6000 × 1421571/2592000 = 3290.67 → -3291; charge: 9600 × … = 5265.08 → 5265
        assert_eq!(amounts(&preview.lines), vec![-3291, 5265]);
        assert_eq!(preview.amount_due_now.minor_units(), 1974);
        assert_eq!(
            preview.lines[1].explanation,
            "8 seats × $12.00 × 16.45 of 30 days (1,421,571 of 2,592,000 seconds) ≈ $52.6508 → $52.65 (rounded half away from zero)"
        );
    }

    #[test]
    fn seat_decrease_defaults_to_period_end() {
        let current = subscription(
            seats("pro", "1200", Currency::USD),
            8,
            utc(2024, 6, 1, 0, 0, 0),
        );
        let at = utc(2024, 6, 14, 0, 0, 0);
        let change = SubscriptionChange::SetQuantity { quantity: 5 };
        let preview =
            preview_change(&current, &change, at, &ChangePolicies::default(), None).unwrap();
        assert_eq!(preview.kind, ChangeKind::SeatDecrease);
        assert_eq!(
            preview.scheduled.map(|s| s.effective_at),
            Some(utc(2024, 7, 1, 0, 0, 0))
        );
        let now = preview_change(&current, &change, at, &now_policies(), None).unwrap();
        // 17 of 30 days left: credit 9600 × 17/30 = -5440, charge 6000 × 17/30 = 3400.
        assert_eq!(amounts(&now.lines), vec![-5440, 3400]);
        assert_eq!(now.credit_to_balance.minor_units(), 2040);
    }

    #[test]
    fn zero_and_three_decimal_currencies() {
        // ¥980 per seat, 3 → 4 seats with 10 of 30 days left: credit 2940 × 1/3 = -980,
        // charge 3920 × 1/3 = 1306.67 → 1307; due ¥327.
        let yen = subscription(
            seats("jp", "980", Currency::JPY),
            3,
            utc(2024, 6, 1, 0, 0, 0),
        );
        let at = utc(2024, 6, 21, 0, 0, 0);
        let p = preview_change(
            &yen,
            &SubscriptionChange::SetQuantity { quantity: 4 },
            at,
            &now_policies(),
            None,
        )
        .unwrap();
        assert_eq!(amounts(&p.lines), vec![-980, 1307]);
        assert_eq!(p.amount_due_now.to_string(), "¥327");
        // KWD 1.235 per seat, 1 → 2 seats, 14 of 29 days left (anchor Jan 31 2024):
        // credit 1235 × 14/29 = 596.21 → -596; charge 2470 × 14/29 = 1192.41 → 1192; due 596 fils.
        let kwd = subscription(
            seats("kw", "1235", Currency::KWD),
            1,
            utc(2024, 1, 31, 0, 0, 0),
        );
        let at = utc(2024, 2, 15, 0, 0, 0);
        let p = preview_change(
            &kwd,
            &SubscriptionChange::SetQuantity { quantity: 2 },
            at,
            &now_policies(),
            None,
        )
        .unwrap();
        assert_eq!(amounts(&p.lines), vec![-596, 1192]);
        assert_eq!(p.amount_due_now.to_string(), "KWD 0.596");
    }

    #[test]
    fn percent_coupon_discounts_the_proration_invoice() {
        let current = subscription(
            seats("basic", "1000", Currency::USD),
            5,
            utc(2024, 1, 31, 0, 0, 0),
        );
        let pro = seats("pro", "2000", Currency::USD);
        let coupon = percent_coupon("20", CouponDuration::Forever);
        let at = utc(2024, 2, 15, 0, 0, 0);
        let p = preview_change(
            &current,
            &switch(&pro, 5),
            at,
            &now_policies(),
            Some(&coupon),
        )
        .unwrap();
        // Net 2414; 20% = 482.8 → 483; due 1931.
        assert_eq!(p.amount_due_now.minor_units(), 1931);
    }

    #[test]
    fn refuses_nonsense_changes() {
        let current = subscription(
            seats("pro", "1200", Currency::USD),
            5,
            utc(2024, 6, 1, 0, 0, 0),
        );
        let at = utc(2024, 6, 10, 0, 0, 0);
        let same = SubscriptionChange::SetQuantity { quantity: 5 };
        assert_eq!(
            preview_change(&current, &same, at, &now_policies(), None),
            Err(ProrationError::NothingToChange)
        );
        let euro = seats("eu", "1000", Currency::EUR);
        assert_eq!(
            preview_change(&current, &switch(&euro, 5), at, &now_policies(), None)
                .unwrap_err()
                .to_string(),
            "cannot switch from USD to EUR; a subscription keeps its currency"
        );
        let negative = SubscriptionChange::SetQuantity { quantity: -2 };
        assert!(matches!(
            preview_change(&current, &negative, at, &now_policies(), None),
            Err(ProrationError::Pricing(
                PricingError::NegativeQuantity { .. }
            ))
        ));
        let before = utc(2024, 5, 1, 0, 0, 0);
        assert!(matches!(
            preview_change(
                &current,
                &SubscriptionChange::SetQuantity { quantity: 6 },
                before,
                &now_policies(),
                None
            ),
            Err(ProrationError::Period(PeriodError::BeforeAnchor { .. }))
        ));
    }

    #[test]
    fn json_shapes() {
        assert_eq!(
            serde_json::to_string(&ChangePolicies::default()).unwrap(),
            r#"{"upgrade":"prorate_now_invoice_now","downgrade":"apply_at_period_end","interval_switch":"prorate_now_invoice_now","seat_increase":"prorate_now_invoice_now","seat_decrease":"apply_at_period_end"}"#
        );
        assert_eq!(
            serde_json::to_string(&SubscriptionChange::SetQuantity { quantity: 3 }).unwrap(),
            r#"{"type":"set_quantity","quantity":3}"#
        );
    }

    const YEAR_SECONDS: i64 = 366 * 86_400;

    fn unit_amount() -> impl Strategy<Value = rust_decimal::Decimal> {
        (1_i64..10_000_000, 0_u32..6)
            .prop_map(|(mantissa, scale)| rust_decimal::Decimal::new(mantissa, scale))
    }

    fn per_unit(id: &str, unit: rust_decimal::Decimal) -> Price {
        price(id, Currency::USD, PriceModel::PerUnit { unit_amount: unit })
    }

    fn net(preview: &ProrationPreview) -> i64 {
        preview.lines.iter().map(|l| l.amount.minor_units()).sum()
    }

    proptest! {
        #[test]
        fn credits_never_exceed_what_was_charged(
            unit in unit_amount(), quantity in 0_i64..5_000, offset in 0_i64..YEAR_SECONDS, new_quantity in 0_i64..5_000,
        ) {
            prop_assume!(new_quantity != quantity);
            let anchor = utc(2024, 1, 31, 0, 0, 0);
            let current = subscription(per_unit("p", unit), quantity, anchor);
            let at = anchor + chrono::Duration::seconds(offset);
            let preview = preview_change(&current, &SubscriptionChange::SetQuantity { quantity: new_quantity }, at, &now_policies(), None).unwrap();
            let charged = current.price.amount_for(quantity).unwrap().minor_units();
            let credit = preview.lines[0].amount.minor_units();
            prop_assert!(credit <= 0 && -credit <= charged);
            prop_assert!(preview.lines[1].amount.minor_units() <= current.price.amount_for(new_quantity).unwrap().minor_units());
        }

        #[test]
        fn upgrade_then_downgrade_never_makes_money_from_nothing(
            low in unit_amount(), extra in unit_amount(), quantity in 1_i64..2_000,
            first in 0_i64..YEAR_SECONDS, later in 0_i64..YEAR_SECONDS,
        ) {
            let anchor = utc(2024, 1, 31, 0, 0, 0);
            let basic = per_unit("basic", low);
            let pro = per_unit("pro", low + extra);
            let t1 = anchor + chrono::Duration::seconds(first);
            let period = period_containing(anchor, Interval::monthly(), t1).unwrap();
            let t2 = t1 + chrono::Duration::seconds(later % (period.end - t1).num_seconds().max(1));
            let up = preview_change(&subscription(basic.clone(), quantity, anchor), &switch(&pro, quantity), t1, &now_policies(), None).unwrap();
            let down = preview_change(&subscription(pro, quantity, anchor), &switch(&basic, quantity), t2, &now_policies(), None).unwrap();
            prop_assert_eq!(up.kind, ChangeKind::Upgrade);
            prop_assert_eq!(down.kind, ChangeKind::Downgrade);
            let lines = (up.lines.len() + down.lines.len()) as i64;
            // The customer paid the higher price for [t1, t2): never less than -1 minor unit per line.
            prop_assert!(net(&up) + net(&down) >= -lines, "net {}", net(&up) + net(&down));
        }

        #[test]
        fn seat_increase_then_the_same_decrease_nets_to_zero(
            unit in unit_amount(), quantity in 1_i64..2_000, added in 1_i64..500,
            first in 0_i64..YEAR_SECONDS, later in 0_i64..YEAR_SECONDS,
        ) {
            let anchor = utc(2024, 1, 31, 0, 0, 0);
            let p = per_unit("seats", unit);
            let t1 = anchor + chrono::Duration::seconds(first);
            let up = preview_change(&subscription(p.clone(), quantity, anchor), &SubscriptionChange::SetQuantity { quantity: quantity + added }, t1, &now_policies(), None).unwrap();
            let down_now = preview_change(&subscription(p.clone(), quantity + added, anchor), &SubscriptionChange::SetQuantity { quantity }, t1, &now_policies(), None).unwrap();
            let lines = (up.lines.len() + down_now.lines.len()) as i64;
            prop_assert!((net(&up) + net(&down_now)).abs() <= lines);
            let period = period_containing(anchor, Interval::monthly(), t1).unwrap();
            let t2 = t1 + chrono::Duration::seconds(later % (period.end - t1).num_seconds().max(1));
            let down_later = preview_change(&subscription(p, quantity + added, anchor), &SubscriptionChange::SetQuantity { quantity }, t2, &now_policies(), None).unwrap();
            prop_assert!(net(&up) + net(&down_later) >= -lines);
        }

        #[test]
        fn previews_are_deterministic(unit in unit_amount(), quantity in 1_i64..100, offset in 0_i64..YEAR_SECONDS) {
            let anchor = utc(2024, 1, 31, 0, 0, 0);
            let current = subscription(per_unit("p", unit), quantity, anchor);
            let change = SubscriptionChange::SetQuantity { quantity: quantity + 1 };
            let at = anchor + chrono::Duration::seconds(offset);
            let a = preview_change(&current, &change, at, &ChangePolicies::default(), None).unwrap();
            let b = preview_change(&current.clone(), &change.clone(), at, &ChangePolicies::default(), None).unwrap();
            prop_assert_eq!(&a, &b);
            let json = serde_json::to_string(&a).unwrap();
            let back: ProrationPreview = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, a);
        }
    }
}
