//! The checkout flow over HTTP against the Stripe emulator, on SQLite and PostgreSQL: the hosted
//! page's test cards, webhook-driven activation, duplicates, forgeries and retries.
#![cfg(feature = "ssr")]

mod common;

use common::{location, TestApp};
use reqwest::StatusCode;
use serde_json::json;

on_both_databases!(
    paying_activates_one_subscription_with_a_paid_invoice,
    declined_cards_leave_nothing_behind,
    duplicated_and_resent_webhooks_change_nothing,
    paying_twice_keeps_one_subscription_and_refunds_the_second,
    forged_and_stale_webhooks_are_refused,
    a_gateway_failure_is_retried_with_the_same_key,
    only_billing_managers_can_check_out,
);

async fn complete(app: &TestApp, session: &str, card: &str) -> reqwest::Response {
    app.emulator_control(
        &format!("/_emulator/checkout/{session}/complete"),
        json!({ "card": card }),
    )
    .await
}

async fn paying_activates_one_subscription_with_a_paid_invoice(app: TestApp) {
    let browser = app.owner_with_catalog().await;
    let (response, session) = app.start_checkout(&browser, "pro_monthly", "5").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let url = location(&response).unwrap();
    assert!(
        url.starts_with(&app.emulator()),
        "the browser goes to the hosted page: {url}"
    );
    let session = session.expect("a checkout session");

    // The hosted page shows what will be charged: 5 seats × $12.00.
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(page.contains("$60.00"), "{page}");

    // Before Stripe confirms, the success page says "processing" and nothing is active.
    let success = format!("/billing/checkout/success?session_id={session}");
    let html = app.get_with(&browser, &success).await.text().await.unwrap();
    assert!(html.contains("Processing your payment"));
    assert_eq!(app.count("subscriptions").await, 0);

    let paid = complete(&app, &session, "4242 4242 4242 4242").await;
    assert_eq!(paid.status(), StatusCode::OK);
    app.eventually_count("subscriptions", 1).await;

    let html = app.get_with(&browser, &success).await.text().await.unwrap();
    assert!(html.contains("You are on Pro"), "{html}");
    assert!(html.contains("$60.00 paid"));
    assert!(
        html.contains("15 February 2026"),
        "renews a month after 15 January 2026"
    );
    use sqlx::Row;
    let invoice = sqlx::query("SELECT status, total, amount_paid, number FROM invoices")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(invoice.get::<String, _>("status"), "paid");
    assert_eq!(invoice.get::<i64, _>("total"), 6000);
    assert_eq!(invoice.get::<i64, _>("amount_paid"), 6000);
    assert_eq!(invoice.get::<String, _>("number"), "0001");
    let line = sqlx::query("SELECT explanation, amount FROM invoice_lines")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(line.get::<i64, _>("amount"), 6000);
    assert!(line.get::<String, _>("explanation").contains("$12.00"));
    let card = sqlx::query("SELECT brand, last4, is_default FROM payment_methods")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(card.get::<String, _>("last4"), "4242");
    assert_eq!(card.get::<i64, _>("is_default"), 1);
    assert_eq!(app.count("payments").await, 1);
    let billing = app
        .get_with(&browser, "/billing")
        .await
        .text()
        .await
        .unwrap();
    assert!(billing.contains("Pro") && billing.contains("renews on 15 February 2026"));
}

async fn declined_cards_leave_nothing_behind(app: TestApp) {
    let browser = app.owner_with_catalog().await;
    let (_, session) = app.start_checkout(&browser, "pro_monthly", "2").await;
    let session = session.unwrap();
    for (card, message) in [
        ("4000000000000002", "Your card was declined."),
        ("4000000000009995", "Your card has insufficient funds."),
        ("4000000000000341", "Your card was declined."),
    ] {
        let response = complete(&app, &session, card).await;
        assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED, "{card}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["message"], message, "{card}");
    }
    // A card that needs authentication: failing it declines, completing it pays.
    let failed = app
        .emulator_control(
            &format!("/_emulator/checkout/{session}/complete"),
            json!({ "card": "4000002760003184", "authenticate": false }),
        )
        .await;
    assert_eq!(failed.status(), StatusCode::PAYMENT_REQUIRED);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.count("subscriptions").await, 0);
    assert_eq!(app.count("invoices").await, 0);
    // The same session can still be paid, here after authenticating.
    assert_eq!(
        complete(&app, &session, "4000002760003184").await.status(),
        StatusCode::OK
    );
    app.eventually_count("subscriptions", 1).await;
}

async fn duplicated_and_resent_webhooks_change_nothing(app: TestApp) {
    let browser = app.owner_with_catalog().await;
    app.emulator_control(
        "/_emulator/webhooks",
        json!({ "duplicate": true, "reorder": true }),
    )
    .await;
    let (_, session) = app.start_checkout(&browser, "team_monthly", "3").await;
    complete(&app, &session.unwrap(), "4242424242424242").await;
    app.eventually_count("subscriptions", 1).await;

    let events: serde_json::Value = app.emulator_get("/_emulator/events").await;
    for event in events["data"].as_array().unwrap() {
        let id = event["id"].as_str().unwrap();
        app.emulator_control(&format!("/_emulator/events/{id}/resend"), json!({}))
            .await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.count("subscriptions").await, 1);
    assert_eq!(app.count("invoices").await, 1);
    assert_eq!(app.count("payments").await, 1);
    // Each event is stored once, however often it arrived.
    let stored = app.count("stripe_events").await;
    assert_eq!(stored, events["data"].as_array().unwrap().len() as i64);
}

async fn paying_twice_keeps_one_subscription_and_refunds_the_second(app: TestApp) {
    let browser = app.owner_with_catalog().await;
    // A second click on the same offer goes to the same hosted session.
    let (_, first) = app.start_checkout(&browser, "pro_monthly", "1").await;
    let (_, again) = app.start_checkout(&browser, "pro_monthly", "1").await;
    assert_eq!(first, again);
    // Two tabs with different offers: two sessions, both paid.
    let (_, second) = app.start_checkout(&browser, "pro_monthly", "2").await;
    assert_ne!(first, second);
    let first = first.unwrap();
    complete(&app, &first, "4242424242424242").await;
    app.eventually_count("subscriptions", 1).await;
    complete(&app, &second.unwrap(), "4242424242424242").await;
    app.eventually_count("payments", 2).await;
    let again = complete(&app, &first, "4242424242424242").await;
    assert_eq!(
        again.status(),
        StatusCode::CONFLICT,
        "a paid session cannot be paid again"
    );
    let mut refunded = false;
    for _ in 0..100 {
        let events: serde_json::Value = app.emulator_get("/_emulator/events").await;
        refunded = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "charge.refunded");
        if refunded {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(refunded, "the second payment is refunded");
    assert_eq!(app.count("subscriptions").await, 1);
    assert_eq!(app.count("invoices").await, 1);
    // And a third attempt is refused up front.
    let (third, _) = app.start_checkout(&browser, "pro_monthly", "1").await;
    let (_, html) = app.follow(&browser, third).await;
    assert!(html.contains("already has a plan"));
}

async fn forged_and_stale_webhooks_are_refused(app: TestApp) {
    let body = r#"{"id":"evt_forged","object":"event","type":"checkout.session.completed","created":1,"data":{"object":{"id":"cs_x"}}}"#;
    let post = |signature: String| {
        reqwest::Client::new()
            .post(app.url("/webhooks/stripe"))
            .header("stripe-signature", signature)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let now = chrono::Utc::now().timestamp();
    let forged =
        billing_portal::payments::webhook::sign("whsec_not_the_secret", now, body.as_bytes());
    assert_eq!(
        post(format!("t={now},v1={forged}")).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    let secret = app.state.payments.webhook_secret.clone();
    let stale = now - 3600;
    let stale_sig = billing_portal::payments::webhook::sign(&secret, stale, body.as_bytes());
    assert_eq!(
        post(format!("t={stale},v1={stale_sig}"))
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post("garbage".into()).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.count("stripe_events").await,
        0,
        "nothing refused is stored"
    );
    // The genuine signature, with another v1 listed first, is accepted.
    let good = billing_portal::payments::webhook::sign(&secret, now, body.as_bytes());
    assert_eq!(
        post(format!("t={now},v1={forged},v1={good}"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(app.count("stripe_events").await, 1);
}

async fn a_gateway_failure_is_retried_with_the_same_key(app: TestApp) {
    use billing_portal::payments::gateway::GatewayError;
    let gateway = &app.state.payments.gateway;
    let org = billing_portal::domain::ids::OrgId::parse("org_1").unwrap();
    app.emulator_control("/_emulator/fail_next", json!({ "status": 500, "count": 1 }))
        .await;
    let first = gateway.create_customer(&org, "a@example.com", "A").await;
    assert!(
        matches!(first, Err(GatewayError::Unavailable(_))),
        "{first:?}"
    );
    let second = gateway
        .create_customer(&org, "a@example.com", "A")
        .await
        .unwrap();
    let third = gateway
        .create_customer(&org, "a@example.com", "A")
        .await
        .unwrap();
    assert_eq!(
        second, third,
        "the same key gives the same customer, created once"
    );

    // Through the portal: a failure tells the customer nothing was charged, and a retry works.
    let browser = app.owner_with_catalog().await;
    app.emulator_control("/_emulator/fail_next", json!({ "status": 500, "count": 1 }))
        .await;
    let (failed, session) = app.start_checkout(&browser, "pro_monthly", "1").await;
    assert!(session.is_none());
    let (_, html) = app.follow(&browser, failed).await;
    assert!(html.contains("Payments are unavailable right now. Nothing was charged"));
    let (_, session) = app.start_checkout(&browser, "pro_monthly", "1").await;
    assert!(session.is_some());
}

async fn only_billing_managers_can_check_out(app: TestApp) {
    let browser = app.owner_with_catalog().await;
    sqlx::query("UPDATE memberships SET role = 'member'")
        .execute(&app.db().pool)
        .await
        .unwrap();
    let (response, session) = app.start_checkout(&browser, "pro_monthly", "1").await;
    assert!(session.is_none());
    let (_, html) = app.follow(&browser, response).await;
    assert!(html.contains("Your role does not allow this"));
    let anonymous = TestApp::browser();
    let (response, session) = app.start_checkout(&anonymous, "pro_monthly", "1").await;
    assert!(session.is_none());
    let (_, html) = app.follow(&anonymous, response).await;
    assert!(html.contains("Please sign in"));
    // Seat limits are the plan's.
    sqlx::query("UPDATE memberships SET role = 'owner'")
        .execute(&app.db().pool)
        .await
        .unwrap();
    let (response, _) = app.start_checkout(&browser, "team_monthly", "2").await;
    let (_, html) = app.follow(&browser, response).await;
    assert!(html.contains("Team needs at least 3 seats."));
    assert_eq!(app.count("checkouts").await, 0);
}
