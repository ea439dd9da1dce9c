//! Billing intervals, anchored billing periods and the fraction of a period left at an instant.

use chrono::{DateTime, Duration, Months, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Longest supported interval, in months (Stripe allows at most three years).
pub const MAX_INTERVAL_MONTHS: u32 = 36;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalUnit {
    Month,
    Year,
}

/// How often a price renews: every `count` months or years.
/// Serialized as `{"unit": "month", "count": 1}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Interval {
    pub unit: IntervalUnit,
    pub count: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PeriodError {
    #[error("interval count must be at least 1")]
    ZeroInterval,
    #[error(
        "interval of {months} months is longer than the maximum of {MAX_INTERVAL_MONTHS} months"
    )]
    IntervalTooLong { months: u64 },
    #[error("{at} is before the billing anchor {anchor}")]
    BeforeAnchor {
        at: DateTime<Utc>,
        anchor: DateTime<Utc>,
    },
    #[error("{at} is outside the billing period {start} to {end}")]
    OutsidePeriod {
        at: DateTime<Utc>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    #[error("billing period must end after it starts")]
    EmptyPeriod,
    #[error("date is out of the supported range")]
    OutOfRange,
}

impl Interval {
    pub const fn monthly() -> Interval {
        Interval {
            unit: IntervalUnit::Month,
            count: 1,
        }
    }

    pub const fn yearly() -> Interval {
        Interval {
            unit: IntervalUnit::Year,
            count: 1,
        }
    }

    pub const fn months(count: u32) -> Interval {
        Interval {
            unit: IntervalUnit::Month,
            count,
        }
    }

    /// Length in calendar months, checked against 1..=[`MAX_INTERVAL_MONTHS`].
    pub fn total_months(self) -> Result<u32, PeriodError> {
        let months = match self.unit {
            IntervalUnit::Month => u64::from(self.count),
            IntervalUnit::Year => u64::from(self.count) * 12,
        };
        if months == 0 {
            Err(PeriodError::ZeroInterval)
        } else if months > u64::from(MAX_INTERVAL_MONTHS) {
            Err(PeriodError::IntervalTooLong { months })
        } else {
            Ok(months as u32)
        }
    }

    /// "month", "year", "3 months", "2 years".
    pub fn describe(self) -> String {
        let unit = match self.unit {
            IntervalUnit::Month => "month",
            IntervalUnit::Year => "year",
        };
        if self.count == 1 {
            unit.to_string()
        } else {
            format!("{} {unit}s", self.count)
        }
    }
}

/// The half-open time range `[start, end)` one recurring charge pays for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BillingPeriod {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl BillingPeriod {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<BillingPeriod, PeriodError> {
        if end <= start {
            return Err(PeriodError::EmptyPeriod);
        }
        Ok(BillingPeriod { start, end })
    }

    /// The first period of a subscription anchored at `anchor`.
    pub fn first(anchor: DateTime<Utc>, interval: Interval) -> Result<BillingPeriod, PeriodError> {
        BillingPeriod::new(anchor, period_boundary(anchor, interval, 1)?)
    }

    pub fn length_seconds(&self) -> i64 {
        (self.end - self.start).num_seconds()
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    /// The fraction of this period from `at` to its end. `at` must lie in `[start, end]`.
    pub fn remaining_at(&self, at: DateTime<Utc>) -> Result<PeriodFraction, PeriodError> {
        if at < self.start || at > self.end {
            return Err(PeriodError::OutsidePeriod {
                at,
                start: self.start,
                end: self.end,
            });
        }
        PeriodFraction::new((self.end - at).num_seconds(), self.length_seconds())
    }
}

/// The `n`-th period boundary after `anchor`: the anchor moved forward by `n` intervals, keeping
/// the anchor's day of month and clamping it to the month's last day, as Stripe does. Each
/// boundary is computed from the anchor, never from the previous boundary, so an anchor of
/// Jan 31 gives Feb 28 (Feb 29 in leap years), Mar 31, Apr 30. Time of day is kept.
pub fn period_boundary(
    anchor: DateTime<Utc>,
    interval: Interval,
    n: u32,
) -> Result<DateTime<Utc>, PeriodError> {
    let months = interval
        .total_months()?
        .checked_mul(n)
        .ok_or(PeriodError::OutOfRange)?;
    anchor
        .checked_add_months(Months::new(months))
        .ok_or(PeriodError::OutOfRange)
}

/// The anchored billing period that contains `at` (`at >= anchor`).
pub fn period_containing(
    anchor: DateTime<Utc>,
    interval: Interval,
    at: DateTime<Utc>,
) -> Result<BillingPeriod, PeriodError> {
    use chrono::Datelike;
    if at < anchor {
        return Err(PeriodError::BeforeAnchor { at, anchor });
    }
    let interval_months = interval.total_months()?;
    let months_apart = (at.year() - anchor.year()) * 12 + at.month() as i32 - anchor.month() as i32;
    let mut n =
        u32::try_from(months_apart.max(0)).map_err(|_| PeriodError::OutOfRange)? / interval_months;
    while n > 0 && period_boundary(anchor, interval, n)? > at {
        n -= 1;
    }
    while period_boundary(anchor, interval, n + 1)? <= at {
        n += 1;
    }
    BillingPeriod::new(
        period_boundary(anchor, interval, n)?,
        period_boundary(anchor, interval, n + 1)?,
    )
}

/// When a trial of `trial_days` days that starts at `start` ends (same time of day).
pub fn trial_end(start: DateTime<Utc>, trial_days: u32) -> Result<DateTime<Utc>, PeriodError> {
    start
        .checked_add_signed(Duration::days(i64::from(trial_days)))
        .ok_or(PeriodError::OutOfRange)
}

/// A part of a billing period, to the second: `remaining_seconds / period_seconds`, in `[0, 1]`.
///
/// Kept as the two integers so that prorating multiplies before it divides and the only
/// rounding is the line's one rounding to minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PeriodFraction {
    pub remaining_seconds: i64,
    pub period_seconds: i64,
}

pub const SECONDS_PER_DAY: i64 = 86_400;

impl PeriodFraction {
    pub fn new(remaining_seconds: i64, period_seconds: i64) -> Result<PeriodFraction, PeriodError> {
        if period_seconds <= 0 {
            return Err(PeriodError::EmptyPeriod);
        }
        if remaining_seconds < 0 || remaining_seconds > period_seconds {
            return Err(PeriodError::OutOfRange);
        }
        Ok(PeriodFraction {
            remaining_seconds,
            period_seconds,
        })
    }

    pub const FULL: PeriodFraction = PeriodFraction {
        remaining_seconds: 1,
        period_seconds: 1,
    };

    pub fn is_full(&self) -> bool {
        self.remaining_seconds == self.period_seconds
    }

    /// The fraction as a decimal (28 significant digits); for display and comparisons only.
    /// Amounts are prorated with [`PeriodFraction::apply`], which does not round.
    pub fn as_decimal(&self) -> Decimal {
        Decimal::from(self.remaining_seconds)
            .checked_div(Decimal::from(self.period_seconds))
            .unwrap_or(Decimal::ONE)
    }

    /// `amount × remaining / period`, multiplying first. `None` on overflow.
    pub fn apply(&self, amount: Decimal) -> Option<Decimal> {
        if self.is_full() {
            return Some(amount);
        }
        amount
            .checked_mul(Decimal::from(self.remaining_seconds))?
            .checked_div(Decimal::from(self.period_seconds))
    }

    /// "17 of 30 days" when both are whole days, otherwise
    /// "16.54 of 30 days (1,429,056 of 2,592,000 seconds)".
    pub fn describe(&self) -> String {
        let days = |seconds: i64| {
            if seconds % SECONDS_PER_DAY == 0 {
                (seconds / SECONDS_PER_DAY).to_string()
            } else {
                (Decimal::from(seconds) / Decimal::from(SECONDS_PER_DAY))
                    .round_dp(2)
                    .normalize()
                    .to_string()
            }
        };
        let whole_days = self.remaining_seconds % SECONDS_PER_DAY == 0
            && self.period_seconds % SECONDS_PER_DAY == 0;
        if whole_days {
            format!(
                "{} of {} days",
                days(self.remaining_seconds),
                days(self.period_seconds)
            )
        } else {
            format!(
                "{} of {} days ({} of {} seconds)",
                days(self.remaining_seconds),
                days(self.period_seconds),
                group_thousands(self.remaining_seconds),
                group_thousands(self.period_seconds)
            )
        }
    }
}

fn group_thousands(value: i64) -> String {
    let grouped = super::money::group_digits(&value.unsigned_abs().to_string());
    if value < 0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// "22 December 2026" for a unix timestamp (UTC).
pub fn format_date(unix: i64) -> String {
    use chrono::Datelike;
    // Spelled out rather than through chrono's format strings, whose parser would otherwise ship
    // to the browser with the islands that show dates.
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|d| format!("{} {} {}", d.day(), MONTHS[d.month0() as usize], d.year()))
        .unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;

    pub(crate) fn utc(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, s)
            .single()
            .expect("valid test date")
    }

    fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        utc(y, m, d, 0, 0, 0)
    }

    #[test]
    fn dates_read_as_day_month_year_in_utc() {
        assert_eq!(
            format_date(utc(2027, 1, 3, 23, 59, 59).timestamp()),
            "3 January 2027"
        );
        assert_eq!(
            format_date(utc(2026, 12, 22, 0, 0, 0).timestamp()),
            "22 December 2026"
        );
        assert_eq!(
            format_date(utc(2028, 2, 29, 12, 0, 0).timestamp()),
            "29 February 2028"
        );
        // What chrono's own formatting gives, for every day of a leap and a common year.
        for offset in 0..731 {
            let at = day(2027, 1, 1) + Duration::days(offset);
            assert_eq!(
                format_date(at.timestamp()),
                at.format("%-d %B %Y").to_string()
            );
        }
    }

    #[test]
    fn month_end_anchor_in_a_leap_year() {
        let anchor = day(2024, 1, 31);
        let m = Interval::monthly();
        // Jan 31 → Feb 29 (2024 is a leap year) → Mar 31 → Apr 30 → May 31.
        assert_eq!(period_boundary(anchor, m, 1), Ok(day(2024, 2, 29)));
        assert_eq!(period_boundary(anchor, m, 2), Ok(day(2024, 3, 31)));
        assert_eq!(period_boundary(anchor, m, 3), Ok(day(2024, 4, 30)));
        assert_eq!(period_boundary(anchor, m, 4), Ok(day(2024, 5, 31)));
    }

    #[test]
    fn month_end_anchor_in_a_common_year() {
        let anchor = day(2023, 1, 31);
        assert_eq!(
            period_boundary(anchor, Interval::monthly(), 1),
            Ok(day(2023, 2, 28))
        );
        assert_eq!(
            period_boundary(anchor, Interval::monthly(), 2),
            Ok(day(2023, 3, 31))
        );
    }

    #[test]
    fn yearly_and_multi_month_intervals() {
        // Feb 29 anchor, yearly: 2025-02-28 (clamped), then 2028-02-29 after four years.
        let leap = utc(2024, 2, 29, 12, 0, 0);
        assert_eq!(
            period_boundary(leap, Interval::yearly(), 1),
            Ok(utc(2025, 2, 28, 12, 0, 0))
        );
        assert_eq!(
            period_boundary(leap, Interval::yearly(), 4),
            Ok(utc(2028, 2, 29, 12, 0, 0))
        );
        // Quarterly from Nov 30: Feb 28 2025, May 30 2025.
        let quarterly = Interval::months(3);
        assert_eq!(
            period_boundary(day(2024, 11, 30), quarterly, 1),
            Ok(day(2025, 2, 28))
        );
        assert_eq!(
            period_boundary(day(2024, 11, 30), quarterly, 2),
            Ok(day(2025, 5, 30))
        );
    }

    #[test]
    fn finds_the_period_containing_an_instant() {
        let anchor = day(2024, 1, 31);
        let m = Interval::monthly();
        // Jan 31 → Feb 29 → Mar 31.
        assert_eq!(
            period_containing(anchor, m, utc(2024, 3, 1, 9, 0, 0)),
            Ok(BillingPeriod {
                start: day(2024, 2, 29),
                end: day(2024, 3, 31)
            })
        );
        assert_eq!(
            period_containing(anchor, m, day(2024, 2, 29)),
            Ok(BillingPeriod {
                start: day(2024, 2, 29),
                end: day(2024, 3, 31)
            })
        );
        assert_eq!(
            period_containing(anchor, m, utc(2024, 2, 28, 23, 59, 59)),
            Ok(BillingPeriod {
                start: day(2024, 1, 31),
                end: day(2024, 2, 29)
            })
        );
        assert!(matches!(
            period_containing(anchor, m, day(2024, 1, 1)),
            Err(PeriodError::BeforeAnchor { .. })
        ));
    }

    #[test]
    fn rejects_bad_intervals() {
        assert_eq!(
            Interval::months(0).total_months(),
            Err(PeriodError::ZeroInterval)
        );
        assert_eq!(
            Interval {
                unit: IntervalUnit::Year,
                count: 4
            }
            .total_months(),
            Err(PeriodError::IntervalTooLong { months: 48 })
        );
        assert_eq!(
            Interval {
                unit: IntervalUnit::Year,
                count: 3
            }
            .total_months(),
            Ok(36)
        );
    }

    #[test]
    fn fraction_to_the_second() {
        // Feb 2024 period Jan 31 → Feb 29 is 29 days = 2,505,600 s.
        let period = BillingPeriod::new(day(2024, 1, 31), day(2024, 2, 29)).unwrap();
        let f = period.remaining_at(day(2024, 2, 15)).unwrap();
        assert_eq!(
            f,
            PeriodFraction {
                remaining_seconds: 14 * 86_400,
                period_seconds: 29 * 86_400
            }
        );
        assert_eq!(f.describe(), "14 of 29 days");
        // 12:00 on Feb 15: 13.5 days = 1,166,400 s left.
        let f = period.remaining_at(utc(2024, 2, 15, 12, 0, 0)).unwrap();
        assert_eq!(
            f.describe(),
            "13.5 of 29 days (1,166,400 of 2,505,600 seconds)"
        );
        assert!(period.remaining_at(day(2024, 3, 1)).is_err());
    }

    #[test]
    fn trial_end_counts_whole_days() {
        assert_eq!(
            trial_end(utc(2024, 2, 20, 10, 0, 0), 14),
            Ok(utc(2024, 3, 5, 10, 0, 0))
        );
    }

    #[test]
    fn interval_json_shape() {
        assert_eq!(
            serde_json::to_string(&Interval::months(3)).unwrap(),
            r#"{"unit":"month","count":3}"#
        );
    }
}
