//! `Stripe-Signature` headers and payloads: the check never panics, accepts only a header that
//! carries the payload's own signature, and always accepts one that does.
#![no_main]

use billing_portal::payments::webhook::{sign, verify, SignatureHeader};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "whsec_fuzz";
const NOW: i64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    // The first line is the header, the rest the payload.
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let (header, payload) = (&data[..split], data.get(split + 1..).unwrap_or(&[]));
    let header = String::from_utf8_lossy(header);
    let _ = SignatureHeader::parse(&header);
    if let Ok(parsed) = verify(Some(&header), payload, SECRET, NOW, 300) {
        let genuine = hex_decode(&sign(SECRET, parsed.timestamp, payload));
        assert!(parsed.v1.contains(&genuine), "accepted a header without the payload's signature");
        assert!((parsed.timestamp - NOW).abs() <= 300);
    }
    // The genuine signature, among whatever else the header says, always verifies.
    let t = NOW - i64::from(data.first().copied().unwrap_or(0)) % 300;
    let good = format!("t={t},v1={},{header}", sign(SECRET, t, payload));
    if SignatureHeader::parse(&good).is_ok() {
        assert!(verify(Some(&good), payload, SECRET, NOW, 300).is_ok());
    }
});

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}
