//! ISO 4217 currencies and their minor-unit exponents, as Stripe uses them.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A currency the billing engine can charge in.
///
/// Only currencies in [`CURRENCIES`] can be constructed, so every `Currency` has a known
/// exponent. Serialized as its upper-case ISO code, e.g. `"EUR"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency {
    index: u8,
}

/// One row of the currency table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurrencyInfo {
    pub code: &'static str,
    /// Number of decimal places of the minor unit (Stripe's convention: 0, 2 or 3).
    pub exponent: u32,
    /// Symbol written before the amount; currencies without one are written as `"KWD 1.235"`.
    pub symbol: Option<&'static str>,
}

const fn info(code: &'static str, exponent: u32, symbol: Option<&'static str>) -> CurrencyInfo {
    CurrencyInfo {
        code,
        exponent,
        symbol,
    }
}

/// Every supported currency. Exponents follow Stripe: zero-decimal and three-decimal currencies
/// are listed explicitly, every other currency uses two decimals.
pub const CURRENCIES: &[CurrencyInfo] = &[
    // Zero-decimal.
    info("BIF", 0, None),
    info("CLP", 0, None),
    info("DJF", 0, None),
    info("GNF", 0, None),
    info("JPY", 0, Some("¥")),
    info("KMF", 0, None),
    info("KRW", 0, Some("₩")),
    info("MGA", 0, None),
    info("PYG", 0, None),
    info("RWF", 0, None),
    info("UGX", 0, None),
    info("VND", 0, Some("₫")),
    info("VUV", 0, None),
    info("XAF", 0, None),
    info("XOF", 0, None),
    info("XPF", 0, None),
    // Three-decimal.
    info("BHD", 3, None),
    info("JOD", 3, None),
    info("KWD", 3, None),
    info("OMR", 3, None),
    info("TND", 3, None),
    // Two-decimal.
    info("USD", 2, Some("$")),
    info("EUR", 2, Some("€")),
    info("GBP", 2, Some("£")),
    info("CAD", 2, Some("CA$")),
    info("AUD", 2, Some("A$")),
    info("CHF", 2, None),
    info("SEK", 2, None),
    info("NOK", 2, None),
    info("DKK", 2, None),
    info("NZD", 2, Some("NZ$")),
    info("SGD", 2, None),
    info("HKD", 2, Some("HK$")),
    info("INR", 2, Some("₹")),
    info("BRL", 2, Some("R$")),
    info("MXN", 2, Some("MX$")),
    info("PLN", 2, None),
    info("CZK", 2, None),
    info("HUF", 2, None),
    info("RON", 2, None),
    info("ZAR", 2, None),
    info("ILS", 2, Some("₪")),
    info("AED", 2, None),
    info("THB", 2, None),
    info("TRY", 2, None),
    info("CNY", 2, Some("CN¥")),
];

// `Currency` stores a row index in a `u8`.
const _: () = assert!(CURRENCIES.len() <= u8::MAX as usize);

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CurrencyError {
    #[error("unknown currency \"{0}\"; use a supported ISO 4217 code such as \"USD\" or \"EUR\"")]
    Unknown(String),
}

impl Currency {
    pub const USD: Currency = Currency::from_table("USD");
    pub const EUR: Currency = Currency::from_table("EUR");
    pub const GBP: Currency = Currency::from_table("GBP");
    pub const JPY: Currency = Currency::from_table("JPY");
    pub const KWD: Currency = Currency::from_table("KWD");

    /// Parses an ISO code, case-insensitively (`"eur"` and `"EUR"` are the same currency).
    pub fn parse(code: &str) -> Result<Currency, CurrencyError> {
        let trimmed = code.trim();
        CURRENCIES
            .iter()
            .position(|row| row.code.eq_ignore_ascii_case(trimmed))
            .map(|index| Currency { index: index as u8 })
            .ok_or_else(|| CurrencyError::Unknown(code.to_string()))
    }

    const fn from_table(code: &'static str) -> Currency {
        let wanted = code.as_bytes();
        let mut index = 0;
        while index < CURRENCIES.len() {
            let candidate = CURRENCIES[index].code.as_bytes();
            if candidate[0] == wanted[0] && candidate[1] == wanted[1] && candidate[2] == wanted[2] {
                return Currency { index: index as u8 };
            }
            index += 1;
        }
        panic!("currency constant missing from CURRENCIES");
    }

    pub fn info(self) -> &'static CurrencyInfo {
        &CURRENCIES[self.index as usize]
    }

    /// Upper-case ISO code.
    pub fn code(self) -> &'static str {
        self.info().code
    }

    /// Decimal places of the minor unit: 0 for JPY, 2 for USD, 3 for KWD.
    pub fn exponent(self) -> u32 {
        self.info().exponent
    }

    pub fn symbol(self) -> Option<&'static str> {
        self.info().symbol
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for Currency {
    type Err = CurrencyError;
    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Currency::parse(code)
    }
}

impl TryFrom<String> for Currency {
    type Error = CurrencyError;
    fn try_from(code: String) -> Result<Self, Self::Error> {
        Currency::parse(&code)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> String {
        currency.code().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_case_insensitively() {
        assert_eq!(Currency::parse("eur"), Ok(Currency::EUR));
        assert_eq!(Currency::parse("Usd"), Ok(Currency::USD));
        assert_eq!(Currency::parse(" jpy "), Ok(Currency::JPY));
    }

    #[test]
    fn rejects_unknown_codes_with_a_helpful_message() {
        let error = Currency::parse("XYZ").unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown currency \"XYZ\"; use a supported ISO 4217 code such as \"USD\" or \"EUR\""
        );
    }

    #[test]
    fn exponents_follow_stripe() {
        for code in [
            "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
            "VUV", "XAF", "XOF", "XPF",
        ] {
            assert_eq!(
                Currency::parse(code).map(Currency::exponent),
                Ok(0),
                "{code}"
            );
        }
        for code in ["BHD", "JOD", "KWD", "OMR", "TND"] {
            assert_eq!(
                Currency::parse(code).map(Currency::exponent),
                Ok(3),
                "{code}"
            );
        }
        for code in [
            "USD", "EUR", "GBP", "CAD", "AUD", "CHF", "SEK", "NOK", "DKK", "NZD", "SGD", "HKD",
            "INR", "BRL", "MXN", "PLN",
        ] {
            assert_eq!(
                Currency::parse(code).map(Currency::exponent),
                Ok(2),
                "{code}"
            );
        }
    }

    #[test]
    fn table_has_no_duplicate_codes() {
        for (i, a) in CURRENCIES.iter().enumerate() {
            for b in &CURRENCIES[i + 1..] {
                assert_ne!(a.code, b.code);
            }
        }
    }

    #[test]
    fn serializes_as_upper_case_code() {
        assert_eq!(
            serde_json::to_string(&Currency::EUR).ok(),
            Some("\"EUR\"".to_string())
        );
        let parsed: Result<Currency, _> = serde_json::from_str("\"gbp\"");
        assert_eq!(parsed.ok(), Some(Currency::GBP));
        assert!(serde_json::from_str::<Currency>("\"XXX\"").is_err());
    }
}
