//! Catalog files: loading never panics, and every price of a catalog that loads quotes every
//! quantity it allows without panicking or overflowing.
#![no_main]

use billing_portal::domain::Catalog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(catalog) = Catalog::from_json(text) else {
        return;
    };
    for price in catalog.prices() {
        assert!(price.validate().is_ok());
        for quantity in [0, 1, 2, 7, 100, 10_000, 1_000_000_000, i64::MAX] {
            if price.check_quantity(quantity).is_ok() {
                let _ = price.quote(quantity);
                let _ = price.amount_for(quantity);
            }
        }
    }
});
