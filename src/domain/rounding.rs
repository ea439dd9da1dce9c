//! The one rounding rule of the billing engine.
//!
//! Every amount that is not already a whole number of minor units (a prorated charge, a unit
//! price with sub-cent decimals, a percent discount) is rounded exactly once, when it becomes an
//! invoice line, by [`round_to_minor_units`]. Nothing else in `domain` rounds money.
//!
//! The mode is **half away from zero** (commercial rounding: 0.5 → 1, -0.5 → -1) because
//! - it is symmetric, `round(-x) == -round(x)`, so a credit and a charge for the same time cancel
//!   to the minor unit and a refund mirrors the charge it undoes;
//! - it is what a customer or a support agent gets when checking a line by hand, and what
//!   Stripe's invoices show;
//! - its bias (at most half a minor unit per line, only on exact midpoints) is bounded by the
//!   number of lines, and lines are few; banker's rounding would trade that for answers that
//!   surprise people ("$0.125 → $0.12").

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use super::currency::Currency;
use super::money::{Money, MoneyError};

/// The rounding strategy used for every invoice line.
pub const LINE_ROUNDING: RoundingStrategy = RoundingStrategy::MidpointAwayFromZero;

/// How [`LINE_ROUNDING`] is named in line explanations.
pub const LINE_ROUNDING_NAME: &str = "rounded half away from zero";

/// Rounds an exact amount expressed in minor units (e.g. `3399.5` cents) to whole minor units
/// with [`LINE_ROUNDING`]. Fails with [`MoneyError::Overflow`] if the result does not fit `i64`.
pub fn round_to_minor_units(exact_minor: Decimal, currency: Currency) -> Result<Money, MoneyError> {
    exact_minor
        .round_dp_with_strategy(0, LINE_ROUNDING)
        .to_i64()
        .map(|minor| Money::from_minor(minor, currency))
        .ok_or(MoneyError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn round(exact: &str) -> i64 {
        round_to_minor_units(Decimal::from_str(exact).unwrap(), Currency::USD)
            .unwrap()
            .minor_units()
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(round("2.5"), 3);
        assert_eq!(round("3.5"), 4); // banker's would give 4 here and 2 above
        assert_eq!(round("-2.5"), -3);
        assert_eq!(round("2.4999999"), 2);
        assert_eq!(round("-0.4"), 0);
        assert_eq!(round("12.5000000000001"), 13);
    }

    #[test]
    fn is_symmetric() {
        for exact in ["0.5", "1.5", "7.25", "99.51", "1234567.5"] {
            let d = Decimal::from_str(exact).unwrap();
            let pos = round_to_minor_units(d, Currency::EUR)
                .unwrap()
                .minor_units();
            let neg = round_to_minor_units(-d, Currency::EUR)
                .unwrap()
                .minor_units();
            assert_eq!(pos, -neg);
        }
    }

    #[test]
    fn reports_overflow() {
        let huge = Decimal::from(i64::MAX) + Decimal::from(10);
        assert_eq!(
            round_to_minor_units(huge, Currency::USD),
            Err(MoneyError::Overflow)
        );
    }
}
