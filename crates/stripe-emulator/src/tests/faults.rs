//! Idempotency and injected faults: replay, conflict, 5xx before the operation, lost responses.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use stripe::{IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_core::customer::CreateCustomer;

use super::Harness;

fn key(value: &str) -> RequestStrategy {
    RequestStrategy::Idempotent(IdempotencyKey::new(value).expect("key"))
}

#[tokio::test]
async fn same_key_same_body_replays_and_other_body_conflicts() {
    let h = Harness::start().await;
    let (status, _, first) = h
        .post_form("/v1/customers", "email=a%40example.com", Some("key-1"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, second) = h
        .post_form("/v1/customers", "email=a%40example.com", Some("key-1"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["id"], second["id"]);
    assert_eq!(
        headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );

    let (status, _, conflict) = h
        .post_form("/v1/customers", "email=b%40example.com", Some("key-1"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(conflict["error"]["type"], "idempotency_error");
    assert_eq!(h.event_types().await.len(), 1, "one customer.created");
}

#[tokio::test]
async fn errors_are_replayed_too() {
    let h = Harness::start().await;
    let form = "amount=100&currency=usd&payment_method=pm_missing&confirm=true";
    let (first, _, _) = h
        .post_form("/v1/payment_intents", form, Some("pi-key"))
        .await;
    let (second, headers, body) = h
        .post_form("/v1/payment_intents", form, Some("pi-key"))
        .await;
    assert_eq!(first, StatusCode::BAD_REQUEST);
    assert_eq!(second, StatusCode::BAD_REQUEST);
    assert!(headers.contains_key("idempotent-replayed"));
    assert_eq!(body["error"]["code"], "resource_missing");
}

#[tokio::test]
async fn injected_failure_skips_the_operation_so_a_retry_performs_it_once() {
    let h = Harness::start().await;
    let (status, _) = h
        .control("/_emulator/fail_next", json!({ "status": 500, "count": 1 }))
        .await;
    assert_eq!(status, StatusCode::OK);

    let request = CreateCustomer::new().email("once@example.com");
    let failed = request
        .customize()
        .request_strategy(key("create-once"))
        .send(&h.stripe)
        .await;
    match failed {
        Err(StripeError::Stripe(error, 500)) => {
            assert_eq!(error.type_, stripe::ApiErrorsType::ApiError)
        }
        other => panic!("expected an injected 500, got {other:?}"),
    }
    let created = request
        .customize()
        .request_strategy(key("create-once"))
        .send(&h.stripe)
        .await
        .expect("retry");
    let again = request
        .customize()
        .request_strategy(key("create-once"))
        .send(&h.stripe)
        .await
        .expect("replay");
    assert_eq!(created.id, again.id);
    assert_eq!(h.event_types().await, vec!["customer.created"]);
}

#[tokio::test]
async fn lost_response_is_recovered_by_retrying_with_the_same_key() {
    let h = Harness::start().await;
    h.control(
        "/_emulator/timeout_next",
        json!({ "count": 1, "millis": 1500 }),
    )
    .await;

    let request = CreateCustomer::new().email("lost@example.com");
    let lost = request
        .customize()
        .request_strategy(key("lost-1"))
        .timeout(Duration::from_millis(300))
        .send(&h.stripe)
        .await;
    assert!(matches!(lost, Err(StripeError::Timeout)), "{lost:?}");
    let retried = request
        .customize()
        .request_strategy(key("lost-1"))
        .send(&h.stripe)
        .await
        .expect("retry");
    assert!(retried.id.as_str().starts_with("cus_"));
    assert_eq!(
        h.event_types().await,
        vec!["customer.created"],
        "performed once"
    );
}

#[tokio::test]
async fn reset_forgets_everything() {
    let h = Harness::start().await;
    let customer = h.create_customer("gone@example.com").await;
    h.control("/_emulator/reset", json!({})).await;
    assert!(h.event_types().await.is_empty());
    let response = h
        .http
        .get(h.url(&format!("/v1/customers/{customer}")))
        .bearer_auth(&h.emulator.secret)
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// Nobody without the secret, and no request a web page could send, drives the emulator.
#[tokio::test]
async fn only_the_secret_holder_reaches_the_apis() {
    let h = Harness::start().await;
    assert!(h.emulator.secret.starts_with("sk_test_emu_"));

    // The control API: no secret, another key, or a text/plain body (what a form or a simple
    // cross-site fetch sends) are refused and change nothing.
    let no_secret = h
        .http
        .post(h.url("/_emulator/fail_next"))
        .json(&json!({ "count": 5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(no_secret.status(), StatusCode::UNAUTHORIZED);
    let other_key = h
        .http
        .get(h.url("/_emulator/events"))
        .bearer_auth("sk_test_somebody_else")
        .send()
        .await
        .unwrap();
    assert_eq!(other_key.status(), StatusCode::UNAUTHORIZED);
    let plain = h
        .http
        .post(h.url("/_emulator/fail_next"))
        .bearer_auth(&h.emulator.secret)
        .header("content-type", "text/plain")
        .body(r#"{"count": 5}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // No failure was injected: the next call works.
    h.create_customer("still-fine@example.com").await;

    // The Stripe API: another test key, and a body that is not form-encoded, are refused.
    let stranger = h
        .http
        .post(h.url("/v1/customers"))
        .bearer_auth("sk_test_4eC39HqLyjWDarjtT1zdp7dc")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=x@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);
    let json_body = h
        .http
        .post(h.url("/v1/customers"))
        .bearer_auth(&h.emulator.secret)
        .header("content-type", "text/plain")
        .body("email=x@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let customers = h.control_get("/_emulator/events").await;
    let created = customers["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "customer.created")
        .count();
    assert_eq!(created, 1, "only the customer made with the secret exists");
}

/// The hosted page's form posts only from the page itself.
#[tokio::test]
async fn the_hosted_page_refuses_posts_from_other_sites() {
    let h = Harness::start().await;
    let customer = h.create_customer("page@example.com").await;
    let session = h.setup_session(&customer).await;
    let forged = h
        .http
        .post(h.url(&format!("/checkout/{session}/pay")))
        .header("origin", "http://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("card_number=4242424242424242&expiry=12+%2F+34&cvc=123")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let own = h
        .http
        .post(h.url(&format!("/checkout/{session}/pay")))
        .header("origin", h.emulator.base_url.as_str())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("card_number=4242424242424242&expiry=12+%2F+34&cvc=123")
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::SEE_OTHER);
}
