//! Amounts typed into forms: parsing never panics, never accepts more decimals than the
//! currency has, and what it accepts reads back to the same amount. Unit prices (decimals) too.
#![no_main]

use billing_portal::domain::{Currency, Money};
use libfuzzer_sys::fuzz_target;
use std::str::FromStr;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for currency in [Currency::USD, Currency::JPY, Currency::parse("KWD").unwrap()] {
        if let Ok(money) = Money::parse(text, currency) {
            let decimals = text.trim().split_once('.').map_or(0, |(_, f)| f.len());
            assert!(decimals <= currency.exponent() as usize);
            let major = money.to_major_decimal().to_string();
            let again = Money::parse(&major, currency).expect("an amount reads back");
            assert_eq!(again, money, "{text:?} -> {major}");
        }
    }
    if let Ok(decimal) = rust_decimal::Decimal::from_str(text) {
        let _ = decimal.checked_mul(rust_decimal::Decimal::from(1_000_000_000_000_i64));
        let _ = billing_portal::domain::rounding::round_to_minor_units(decimal, Currency::USD);
    }
});
