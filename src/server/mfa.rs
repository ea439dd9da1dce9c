//! Staff's second factor: time-based one-time codes (RFC 6238: HMAC-SHA1, 6 digits, 30-second
//! steps), as authenticator apps make them. A code is accepted for the current step or one step
//! either side (clock drift), and each step works once per staff member: the last step used is
//! stored, and only later steps are accepted.

use totp_rs::{Algorithm, Secret, TOTP};

/// The demo staff accounts' secret (base32), published in the README so the demo can be signed in
/// to with any authenticator app. Never use it for a real account.
pub const DEMO_SECRET: &str = "DEMOSTAFFTOTPSECRETFORTHEPORTAL2";

/// The issuer authenticator apps show beside the account.
const ISSUER: &str = "Billing portal support";

const STEP_SECS: i64 = 30;

fn totp(secret: &str, account: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().ok()?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECS as u64,
        bytes,
        Some(ISSUER.to_string()),
        account.replace(':', "_"),
    )
    .ok()
}

/// A new random secret of 160 bits, base32-encoded.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    match Secret::Raw(bytes.to_vec()).to_encoded() {
        Secret::Encoded(text) => text,
        Secret::Raw(_) => unreachable!("to_encoded always encodes"),
    }
}

/// The `otpauth://` URL an authenticator app reads (as text or as a QR code).
pub fn otpauth_url(secret: &str, account: &str) -> Option<String> {
    totp(secret, account).map(|t| t.get_url())
}

/// The code for `secret` at unix time `at`.
pub fn code_at(secret: &str, at: i64) -> Option<String> {
    totp(secret, "staff").map(|t| t.generate(at.max(0) as u64))
}

/// The time step `code` belongs to at time `now` (the current step, or one either side), if it
/// is a valid code at all.
pub fn matching_step(secret: &str, code: &str, now: i64) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret, "staff")?;
    let step = now.div_euclid(STEP_SECS);
    [step, step - 1, step + 1].into_iter().find(|s| {
        let expected = totp.generate((s * STEP_SECS).max(0) as u64);
        constant_time_eq(expected.as_bytes(), code.as_bytes())
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_reference_codes() {
        // RFC 6238, appendix B: the SHA-1 secret "12345678901234567890", 8 digits there; the
        // same HMAC truncated to 6 digits gives the last six.
        let secret = match Secret::Raw(b"12345678901234567890".to_vec()).to_encoded() {
            Secret::Encoded(s) => s,
            _ => unreachable!(),
        };
        for (time, eight_digits) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(
                code_at(&secret, time).unwrap(),
                &eight_digits[2..],
                "{time}"
            );
        }
    }

    #[test]
    fn a_code_matches_its_step_and_its_neighbours_only() {
        let secret = new_secret();
        assert_eq!(secret.len(), 32);
        let now = 1_800_000_000;
        let code = code_at(&secret, now).unwrap();
        assert_eq!(matching_step(&secret, &code, now), Some(now / 30));
        assert_eq!(matching_step(&secret, &code, now + 30), Some(now / 30));
        assert_eq!(matching_step(&secret, &code, now - 30), Some(now / 30));
        assert_eq!(matching_step(&secret, &code, now + 90), None);
        assert_eq!(matching_step(&secret, "12345", now), None);
        assert_eq!(matching_step(&secret, "abcdef", now), None);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(matching_step(&secret, &spaced, now), Some(now / 30));
    }

    #[test]
    fn the_enrolment_url_names_the_issuer_and_account() {
        let url = otpauth_url(DEMO_SECRET, "agent@demo.test").unwrap();
        assert!(url.starts_with("otpauth://totp/"), "{url}");
        assert!(url.contains(&format!("secret={DEMO_SECRET}")), "{url}");
        assert!(
            url.contains("agent%40demo.test") || url.contains("agent@demo.test"),
            "{url}"
        );
    }
}
