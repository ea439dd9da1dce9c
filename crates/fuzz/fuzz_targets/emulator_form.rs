//! Form bodies sent to the Stripe emulator's `/v1` API: decoding and every accessor never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = stripe_emulator::decode_form(data);
});
