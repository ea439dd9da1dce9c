//! Amounts of money: whole minor units of one currency.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::currency::Currency;

/// An amount in whole minor units (cents, yen, fils) of one currency.
///
/// Arithmetic is checked: mixing currencies and overflowing `i64` are errors, never silent.
/// Serialized as `{"minor_units": 1250, "currency": "EUR"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    minor_units: i64,
    currency: Currency,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("cannot combine {left} and {right} amounts; convert to one currency first")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("amount is too large to represent")]
    Overflow,
    #[error(
        "\"{input}\" is not an amount; write digits with an optional decimal point, like \"12.50\""
    )]
    Malformed { input: String },
    #[error("\"{input}\" has more decimals than {currency} allows (at most {max})")]
    TooManyDecimals {
        input: String,
        currency: Currency,
        max: u32,
    },
}

impl Money {
    pub const fn from_minor(minor_units: i64, currency: Currency) -> Money {
        Money {
            minor_units,
            currency,
        }
    }

    pub const fn zero(currency: Currency) -> Money {
        Money {
            minor_units: 0,
            currency,
        }
    }

    pub const fn minor_units(self) -> i64 {
        self.minor_units
    }

    pub const fn currency(self) -> Currency {
        self.currency
    }

    pub const fn is_zero(self) -> bool {
        self.minor_units == 0
    }

    pub const fn is_negative(self) -> bool {
        self.minor_units < 0
    }

    /// Parses a decimal string in major units, e.g. `"12.50"` EUR → 1250 cents.
    ///
    /// Accepts an optional leading `-`, digits, and at most as many decimals as the currency
    /// has (`"12.505"` is refused for EUR, `"1.5"` for JPY). No grouping separators, no exponent.
    pub fn parse(input: &str, currency: Currency) -> Result<Money, MoneyError> {
        let malformed = || MoneyError::Malformed {
            input: input.to_string(),
        };
        let trimmed = input.trim();
        let (negative, unsigned) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (unsigned, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || (unsigned.contains('.') && fraction.is_empty())
        {
            return Err(malformed());
        }
        let exponent = currency.exponent();
        if fraction.len() > exponent as usize {
            return Err(MoneyError::TooManyDecimals {
                input: input.to_string(),
                currency,
                max: exponent,
            });
        }
        let mut minor: i64 = 0;
        let padded = fraction
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(exponent as usize);
        for digit in whole.bytes().chain(padded) {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(digit - b'0')))
                .ok_or(MoneyError::Overflow)?;
        }
        if negative {
            minor = -minor;
        }
        Ok(Money::from_minor(minor, currency))
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.minor_units
            .checked_add(other.minor_units)
            .map(|m| Money::from_minor(m, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.minor_units
            .checked_sub(other.minor_units)
            .map(|m| Money::from_minor(m, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_neg(self) -> Result<Money, MoneyError> {
        self.minor_units
            .checked_neg()
            .map(|m| Money::from_minor(m, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_mul(self, factor: i64) -> Result<Money, MoneyError> {
        self.minor_units
            .checked_mul(factor)
            .map(|m| Money::from_minor(m, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// Sums amounts that must all be in `currency`; an empty sum is zero.
    pub fn checked_sum<I>(currency: Currency, amounts: I) -> Result<Money, MoneyError>
    where
        I: IntoIterator<Item = Money>,
    {
        amounts
            .into_iter()
            .try_fold(Money::zero(currency), Money::checked_add)
    }

    pub fn min(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Ok(if other.minor_units < self.minor_units {
            other
        } else {
            self
        })
    }

    pub fn max(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Ok(if other.minor_units > self.minor_units {
            other
        } else {
            self
        })
    }

    /// The amount in minor units as an exact decimal (for proration and discounts).
    pub fn to_minor_decimal(self) -> Decimal {
        Decimal::from(self.minor_units)
    }

    /// The amount in major units, exact (`1250` EUR cents → `12.50`).
    pub fn to_major_decimal(self) -> Decimal {
        Decimal::from_i128_with_scale(i128::from(self.minor_units), self.currency.exponent())
    }
}

/// Formats for display: `"€1,234.50"`, `"$12.00"`, `"¥1,235"`, `"KWD 1.235"`, `"-€3.00"`.
impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_major(self.currency, self.to_major_decimal()))
    }
}

/// Formats an exact amount in minor units (which may have decimals, e.g. a unit price of
/// `0.0125` cents) in major units with the currency's symbol, showing at least the currency's
/// decimals and as many more as the value needs: `1200` USD → `"$12.00"`, `0.0125` → `"$0.000125"`.
pub fn format_minor_decimal(currency: Currency, minor: Decimal) -> String {
    let divisor = Decimal::from(10_i64.pow(currency.exponent()));
    // Dividing by 1, 100 or 1000 cannot overflow; the fallback is unreachable.
    let major = minor.checked_div(divisor).unwrap_or(minor);
    format_major(currency, major)
}

fn format_major(currency: Currency, major: Decimal) -> String {
    let exponent = currency.exponent();
    let negative = major.is_sign_negative() && !major.is_zero();
    let mut magnitude = major.abs().normalize();
    if magnitude.scale() < exponent {
        magnitude.rescale(exponent);
    }
    let text = magnitude.to_string();
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text.as_str(), None),
    };
    let grouped = group_digits(whole);
    let number = match fraction {
        Some(fraction) => format!("{grouped}.{fraction}"),
        None => grouped,
    };
    let sign = if negative { "-" } else { "" };
    match currency.symbol() {
        Some(symbol) => format!("{sign}{symbol}{number}"),
        None => format!("{sign}{} {number}", currency.code()),
    }
}

/// "1234567" → "1,234,567" (ASCII digits only).
pub(crate) fn group_digits(digits: &str) -> String {
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    #[test]
    fn formats_for_display() {
        assert_eq!(
            Money::from_minor(123_450, Currency::EUR).to_string(),
            "€1,234.50"
        );
        assert_eq!(usd(1200).to_string(), "$12.00");
        assert_eq!(Money::from_minor(1235, Currency::JPY).to_string(), "¥1,235");
        assert_eq!(
            Money::from_minor(1235, Currency::KWD).to_string(),
            "KWD 1.235"
        );
        assert_eq!(Money::from_minor(-300, Currency::EUR).to_string(), "-€3.00");
        assert_eq!(usd(5).to_string(), "$0.05");
        assert_eq!(usd(0).to_string(), "$0.00");
        assert_eq!(usd(100_000_000).to_string(), "$1,000,000.00");
        assert_eq!(
            Money::from_minor(-1, Currency::KWD).to_string(),
            "-KWD 0.001"
        );
        assert_eq!(usd(i64::MIN).to_string(), "-$92,233,720,368,547,758.08");
    }

    #[test]
    fn formats_unit_prices_with_extra_decimals() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(format_minor_decimal(Currency::USD, d("1200")), "$12.00");
        assert_eq!(
            format_minor_decimal(Currency::USD, d("0.0125")),
            "$0.000125"
        );
        assert_eq!(format_minor_decimal(Currency::USD, d("12.5")), "$0.125");
        assert_eq!(format_minor_decimal(Currency::JPY, d("3.5")), "¥3.5");
        assert_eq!(format_minor_decimal(Currency::KWD, d("1500")), "KWD 1.500");
    }

    #[test]
    fn parses_decimal_strings_per_currency() {
        assert_eq!(
            Money::parse("12.50", Currency::EUR),
            Ok(Money::from_minor(1250, Currency::EUR))
        );
        assert_eq!(
            Money::parse("12.5", Currency::EUR),
            Ok(Money::from_minor(1250, Currency::EUR))
        );
        assert_eq!(
            Money::parse("12", Currency::EUR),
            Ok(Money::from_minor(1200, Currency::EUR))
        );
        assert_eq!(
            Money::parse("-3.00", Currency::EUR),
            Ok(Money::from_minor(-300, Currency::EUR))
        );
        assert_eq!(
            Money::parse("1235", Currency::JPY),
            Ok(Money::from_minor(1235, Currency::JPY))
        );
        assert_eq!(
            Money::parse("1.235", Currency::KWD),
            Ok(Money::from_minor(1235, Currency::KWD))
        );
    }

    #[test]
    fn refuses_more_decimals_than_the_currency_has() {
        assert_eq!(
            Money::parse("12.505", Currency::EUR)
                .unwrap_err()
                .to_string(),
            "\"12.505\" has more decimals than EUR allows (at most 2)"
        );
        assert!(matches!(
            Money::parse("1.5", Currency::JPY),
            Err(MoneyError::TooManyDecimals { max: 0, .. })
        ));
        assert!(matches!(
            Money::parse("1.2345", Currency::KWD),
            Err(MoneyError::TooManyDecimals { max: 3, .. })
        ));
    }

    #[test]
    fn refuses_malformed_amounts() {
        for input in [
            "", "-", "abc", "1,000", "1.", ".5", "1e5", "+5", "1.2.3", "--1", "١٢",
        ] {
            assert!(
                matches!(
                    Money::parse(input, Currency::USD),
                    Err(MoneyError::Malformed { .. })
                ),
                "{input:?}"
            );
        }
        assert_eq!(
            Money::parse("99999999999999999999", Currency::USD),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn arithmetic_refuses_mixed_currencies() {
        let eur = Money::from_minor(100, Currency::EUR);
        assert_eq!(
            usd(100).checked_add(eur),
            Err(MoneyError::CurrencyMismatch {
                left: Currency::USD,
                right: Currency::EUR
            })
        );
        assert!(usd(100).checked_sub(eur).is_err());
        assert!(Money::checked_sum(Currency::USD, [usd(1), eur]).is_err());
    }

    #[test]
    fn arithmetic_reports_overflow_instead_of_wrapping() {
        assert_eq!(usd(i64::MAX).checked_add(usd(1)), Err(MoneyError::Overflow));
        assert_eq!(usd(i64::MIN).checked_sub(usd(1)), Err(MoneyError::Overflow));
        assert_eq!(usd(i64::MIN).checked_neg(), Err(MoneyError::Overflow));
        assert_eq!(
            usd(i64::MAX / 2 + 1).checked_mul(2),
            Err(MoneyError::Overflow)
        );
        assert_eq!(usd(250).checked_add(usd(-50)), Ok(usd(200)));
        assert_eq!(
            Money::checked_sum(Currency::USD, [usd(1), usd(2), usd(3)]),
            Ok(usd(6))
        );
    }

    #[test]
    fn serializes_minor_units_and_code() {
        let json = serde_json::to_string(&Money::from_minor(1250, Currency::EUR)).unwrap();
        assert_eq!(json, r#"{"minor_units":1250,"currency":"EUR"}"#);
        let back: Money = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Money::from_minor(1250, Currency::EUR));
    }
}
