//! Stripe webhook signatures and event envelopes.
//!
//! Stripe signs `"{timestamp}.{raw body}"` with HMAC-SHA256 under the endpoint's secret and sends
//! `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=...]`. A request is genuine when
//! **any** `v1` value matches (several are sent while a secret is being rolled) and the timestamp
//! is within the tolerance of now, which bounds replays.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// How far a signature's timestamp may be from now, in seconds (Stripe's default).
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Why a webhook request was refused. Each says what is wrong without echoing secrets.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header is malformed: {0}")]
    Malformed(&'static str),
    #[error("the signature's timestamp is {0} seconds away from now, beyond the tolerance")]
    OutsideTolerance(i64),
    #[error("no v1 signature matches the payload")]
    NoMatch,
}

/// The parsed `Stripe-Signature` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureHeader {
    pub timestamp: i64,
    pub v1: Vec<Vec<u8>>,
}

impl SignatureHeader {
    pub fn parse(header: &str) -> Result<SignatureHeader, SignatureError> {
        let mut timestamp = None;
        let mut v1 = Vec::new();
        for part in header.split(',') {
            let (key, value) = part
                .trim()
                .split_once('=')
                .ok_or(SignatureError::Malformed("every part must be key=value"))?;
            match key {
                "t" => {
                    let t = value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed("t is not a unix timestamp"))?;
                    if timestamp.replace(t).is_some() {
                        return Err(SignatureError::Malformed("t appears more than once"));
                    }
                }
                "v1" => v1.push(
                    hex::decode(value).map_err(|_| SignatureError::Malformed("v1 is not hex"))?,
                ),
                _ => {} // v0 and future schemes are ignored, as Stripe's libraries do.
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::Malformed("t is missing"))?;
        if v1.is_empty() {
            return Err(SignatureError::Malformed("no v1 signature"));
        }
        Ok(SignatureHeader { timestamp, v1 })
    }
}

/// The hex `v1` signature of `payload` at `timestamp` under `secret`.
pub fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, payload).finalize().into_bytes())
}

fn mac(secret: &str, timestamp: i64, payload: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

/// Checks a webhook request: the header parses, its timestamp is within `tolerance_secs` of
/// `now`, and at least one `v1` matches (compared in constant time).
pub fn verify(
    header: Option<&str>,
    payload: &[u8],
    secret: &str,
    now: i64,
    tolerance_secs: i64,
) -> Result<SignatureHeader, SignatureError> {
    let parsed = SignatureHeader::parse(header.ok_or(SignatureError::Missing)?)?;
    let skew = now.saturating_sub(parsed.timestamp);
    if skew.saturating_abs() > tolerance_secs {
        return Err(SignatureError::OutsideTolerance(skew));
    }
    let expected = mac(secret, parsed.timestamp, payload);
    if parsed
        .v1
        .iter()
        .any(|candidate| expected.clone().verify_slice(candidate).is_ok())
    {
        Ok(parsed)
    } else {
        Err(SignatureError::NoMatch)
    }
}

/// The part of Stripe's event envelope the inbox needs; the object stays raw JSON.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct EventEnvelope {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created: i64,
    pub data: EventData,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
}

/// Parses a verified payload. Refuses anything that is not an event with an `evt_` id.
pub fn parse_event(payload: &[u8]) -> Result<EventEnvelope, String> {
    let event: EventEnvelope =
        serde_json::from_slice(payload).map_err(|e| format!("not a Stripe event: {e}"))?;
    if !event.id.starts_with("evt_") || event.id.len() > 255 {
        return Err("the event id is not a Stripe event id".into());
    }
    if !event.data.object.is_object() {
        return Err("the event's data.object is not an object".into());
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"checkout.session.completed","created":1,"data":{"object":{"id":"cs_1"}}}"#;

    fn header(t: i64, sigs: &[String]) -> String {
        let mut h = format!("t={t}");
        for s in sigs {
            h.push_str(&format!(",v1={s}"));
        }
        h
    }

    #[test]
    fn a_genuine_signature_is_accepted() {
        let sig = sign(SECRET, 1000, BODY);
        assert!(verify(Some(&header(1000, &[sig])), BODY, SECRET, 1010, 300).is_ok());
    }

    #[test]
    fn any_v1_may_match_not_only_the_last() {
        let good = sign(SECRET, 1000, BODY);
        let other = sign("whsec_old", 1000, BODY);
        assert!(verify(
            Some(&header(1000, &[good.clone(), other.clone()])),
            BODY,
            SECRET,
            1000,
            300
        )
        .is_ok());
        assert!(verify(Some(&header(1000, &[other, good])), BODY, SECRET, 1000, 300).is_ok());
    }

    #[test]
    fn forged_stale_and_malformed_headers_are_refused() {
        let sig = sign(SECRET, 1000, BODY);
        assert_eq!(
            verify(None, BODY, SECRET, 1000, 300),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(
                Some(&header(1000, &[sign("whsec_other", 1000, BODY)])),
                BODY,
                SECRET,
                1000,
                300
            ),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(
                Some(&header(1000, std::slice::from_ref(&sig))),
                b"{\"tampered\":true}",
                SECRET,
                1000,
                300
            ),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(
                Some(&header(1000, std::slice::from_ref(&sig))),
                BODY,
                SECRET,
                1301,
                300
            ),
            Err(SignatureError::OutsideTolerance(301))
        );
        assert_eq!(
            verify(
                Some(&header(2000, &[sign(SECRET, 2000, BODY)])),
                BODY,
                SECRET,
                1000,
                300
            ),
            Err(SignatureError::OutsideTolerance(-1000))
        );
        for bad in [
            "",
            "t=",
            "v1=00",
            "t=abc,v1=00",
            "t=1,v1=zz",
            "t=1",
            "t=1,t=2,v1=00",
            "garbage",
        ] {
            assert!(
                matches!(
                    verify(Some(bad), BODY, SECRET, 1, 300),
                    Err(SignatureError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn events_are_parsed_strictly() {
        assert_eq!(
            parse_event(BODY).unwrap().kind,
            "checkout.session.completed"
        );
        assert!(parse_event(b"{}").is_err());
        assert!(
            parse_event(br#"{"id":"x_1","type":"a","created":1,"data":{"object":{}}}"#).is_err()
        );
        assert!(
            parse_event(br#"{"id":"evt_1","type":"a","created":1,"data":{"object":3}}"#).is_err()
        );
    }

    proptest! {
        #[test]
        fn arbitrary_headers_and_bodies_never_panic(header in ".{0,200}", body in proptest::collection::vec(any::<u8>(), 0..400), now in any::<i64>()) {
            let _ = verify(Some(&header), &body, SECRET, now, 300);
            let _ = parse_event(&body);
        }

        #[test]
        fn only_the_exact_body_verifies(body in proptest::collection::vec(any::<u8>(), 0..200), flip in any::<usize>()) {
            let t = 1_700_000_000;
            let h = header(t, &[sign(SECRET, t, &body)]);
            prop_assert!(verify(Some(&h), &body, SECRET, t, 300).is_ok());
            if !body.is_empty() {
                let mut changed = body.clone();
                let i = flip % changed.len();
                changed[i] ^= 0x01;
                prop_assert_eq!(verify(Some(&h), &changed, SECRET, t, 300), Err(SignatureError::NoMatch));
            }
        }

        #[test]
        fn what_the_emulator_signs_verifies(secret in "whsec_[0-9A-Za-z]{0,40}", body in ".{0,200}", t in 0i64..4_000_000_000) {
            let h = header(t, &[stripe_emulator::sign_payload(&secret, t, &body)]);
            prop_assert!(verify(Some(&h), body.as_bytes(), &secret, t, 300).is_ok());
            prop_assert_eq!(stripe_emulator::sign_payload(&secret, t, &body), sign(&secret, t, body.as_bytes()));
        }

        #[test]
        fn header_shaped_strings_never_panic(t in any::<i64>(), parts in proptest::collection::vec("(t|v1|v0|x)=[0-9a-f]{0,70}", 0..5)) {
            let h = format!("t={t},{}", parts.join(","));
            let _ = verify(Some(&h), BODY, SECRET, t, 300);
        }
    }
}
