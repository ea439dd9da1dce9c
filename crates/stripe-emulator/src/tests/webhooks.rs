//! Signed webhook delivery, retries, duplicates and reordering.

use serde_json::{json, Value};
use stripe_types::Currency;

use super::super::sign_payload;
use super::{eventually, Harness, Receiver, SECRET};

/// Verifies a `Stripe-Signature` header the way the app must: `t=` and any matching `v1=`.
fn signature_matches(header: &str, body: &str, secret: &str) -> bool {
    let timestamp = header
        .split(',')
        .find_map(|part| part.strip_prefix("t="))
        .and_then(|t| t.parse::<i64>().ok());
    let Some(timestamp) = timestamp else {
        return false;
    };
    let expected = sign_payload(secret, timestamp, body);
    header
        .split(',')
        .filter_map(|part| part.strip_prefix("v1="))
        .any(|v1| v1 == expected)
}

#[tokio::test]
async fn checkout_events_are_delivered_signed_in_stripes_envelope() {
    let receiver = Receiver::start(0).await;
    let h = Harness::with_webhooks(&receiver.url).await;
    let session = h.payment_session(None, 500, Currency::USD).await;
    h.complete(&session, "4242424242424242").await;

    eventually("checkout.session.completed", || {
        receiver
            .types()
            .iter()
            .any(|t| t == "checkout.session.completed")
    })
    .await;
    let accepted = receiver.accepted.lock().expect("accepted").clone();
    for (signature, body) in &accepted {
        assert!(
            signature_matches(signature, body, SECRET),
            "valid signature on {body}"
        );
        assert!(!signature_matches(signature, body, "whsec_other"));
    }
    let completed: Value = accepted
        .iter()
        .filter_map(|(_, body)| serde_json::from_str::<Value>(body).ok())
        .find(|event| event["type"] == "checkout.session.completed")
        .expect("completed event");
    assert_eq!(completed["object"], "event");
    assert_eq!(completed["livemode"], false);
    assert_eq!(completed["pending_webhooks"], 1);
    assert!(completed["api_version"].is_string());
    assert!(completed["id"]
        .as_str()
        .unwrap_or_default()
        .starts_with("evt_"));
    assert_eq!(completed["data"]["object"]["id"], session.as_str());
    assert_eq!(completed["data"]["object"]["status"], "complete");
    let types = receiver.types();
    let position = |kind: &str| types.iter().position(|t| t == kind);
    assert!(
        position("payment_intent.succeeded") < position("checkout.session.completed"),
        "{types:?}"
    );
}

#[tokio::test]
async fn failing_endpoint_is_retried_and_every_attempt_recorded() {
    let receiver = Receiver::start(2).await;
    let h = Harness::with_webhooks(&receiver.url).await;
    h.create_customer("retry@example.com").await;

    eventually("delivery after two failures", || {
        !receiver
            .accepted
            .lock()
            .map(|a| a.is_empty())
            .unwrap_or(true)
    })
    .await;
    let deliveries = h.control_get("/_emulator/deliveries").await;
    let attempts: Vec<(u64, Option<u64>)> = deliveries["data"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| (d["attempt"].as_u64().unwrap_or(0), d["status"].as_u64()))
        .collect();
    assert_eq!(
        attempts,
        vec![(1, Some(500)), (2, Some(500)), (3, Some(200))]
    );
}

#[tokio::test]
async fn unreachable_endpoint_is_recorded_as_a_connection_error() {
    let h = Harness::with_webhooks("http://127.0.0.1:9/hook").await;
    h.create_customer("nobody@example.com").await;
    let mut deliveries = Value::Null;
    for _ in 0..100 {
        deliveries = h.control_get("/_emulator/deliveries").await;
        if deliveries["data"].as_array().map(Vec::len) == Some(4) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let data = deliveries["data"].as_array().expect("deliveries");
    assert_eq!(data.len(), 4, "one attempt and three retries: {deliveries}");
    assert!(data
        .iter()
        .all(|d| d["status"].is_null() && d["error"].is_string() && d["delivered"] == false));
}

#[tokio::test]
async fn duplicate_mode_delivers_every_event_twice() {
    let receiver = Receiver::start(0).await;
    let h = Harness::with_webhooks(&receiver.url).await;
    h.control("/_emulator/webhooks", json!({ "duplicate": true }))
        .await;
    h.create_customer("twice@example.com").await;
    eventually("two deliveries", || receiver.types().len() == 2).await;
    let accepted = receiver.accepted.lock().expect("accepted").clone();
    let ids: Vec<Value> = accepted
        .iter()
        .map(|(_, b)| {
            serde_json::from_str::<Value>(b)
                .map(|e| e["id"].clone())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(ids[0], ids[1], "same event id both times");
}

#[tokio::test]
async fn reorder_mode_delivers_queued_events_newest_first() {
    let receiver = Receiver::start(0).await;
    let h = Harness::with_webhooks(&receiver.url).await;
    h.control(
        "/_emulator/webhooks",
        json!({ "reorder": true, "delay_millis": 300 }),
    )
    .await;
    let first = h.create_customer("one@example.com").await;
    let second = h.create_customer("two@example.com").await;
    let third = h.create_customer("three@example.com").await;
    eventually("three deliveries", || receiver.types().len() == 3).await;
    let customers: Vec<String> = receiver
        .accepted
        .lock()
        .expect("accepted")
        .iter()
        .filter_map(|(_, body)| serde_json::from_str::<Value>(body).ok())
        .filter_map(|e| e["data"]["object"]["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(customers, vec![third, second, first]);
}

#[tokio::test]
async fn endpoints_added_at_run_time_and_events_resent() {
    let receiver = Receiver::start(0).await;
    let h = Harness::start().await;
    h.create_customer("before@example.com").await;
    let (status, _) = h
        .control(
            "/_emulator/webhook_endpoints",
            json!({ "url": receiver.url, "secret": SECRET }),
        )
        .await;
    assert!(status.is_success());
    let events = h.control_get("/_emulator/events").await;
    let id = events["data"][0]["id"].as_str().expect("id").to_owned();
    let (status, _) = h
        .control(&format!("/_emulator/events/{id}/resend"), json!({}))
        .await;
    assert!(status.is_success());
    eventually("resent event", || {
        receiver.types() == vec!["customer.created"]
    })
    .await;
    let (signature, body) = receiver.accepted.lock().expect("accepted")[0].clone();
    assert!(signature_matches(&signature, &body, SECRET));
}

#[test]
fn sign_payload_matches_a_known_vector() {
    // HMAC-SHA256("whsec_test_secret", "1700000000.{}"), computed independently.
    let signature = sign_payload("whsec_test_secret", 1_700_000_000, "{}");
    assert_eq!(
        signature,
        "ceb8863f7208fa249a6cd8f951e993c7563412aca65866f6272283debe143ab3"
    );
    assert_ne!(
        signature,
        sign_payload("whsec_test_secret", 1_700_000_001, "{}")
    );
}
