//! Event envelopes: parsing never panics, and an accepted event is a Stripe event with an object.
#![no_main]

use billing_portal::payments::webhook::parse_event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = parse_event(data) {
        assert!(event.id.starts_with("evt_") && event.id.len() <= 255);
        assert!(event.data.object.is_object());
    }
});
