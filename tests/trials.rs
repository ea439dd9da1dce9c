//! Free trials on SQLite and PostgreSQL: the card is saved without a charge, the plan can change
//! freely during the trial, and at its end the first period is charged, or, when cancelled, the
//! organisation moves to the free plan without paying anything.
#![cfg(feature = "ssr")]

mod common;

use common::{location, TestApp};
use reqwest::{Client, StatusCode};
use serde_json::json;
use sqlx::Row;

on_both_databases!(
    a_trial_saves_the_card_and_converts_at_its_end,
    a_cancelled_trial_ends_on_the_free_plan_without_a_charge,
);

const DAY: i64 = 86_400;

/// Starts the Team annual trial (14 days in the demo catalog) and saves a card on the hosted page.
async fn start_trial(app: &TestApp) -> Client {
    let browser = app.owner_with_catalog().await;
    let response = app
        .submit_form(
            &browser,
            "/pricing",
            "/api/billing/checkout",
            &[("price_id", "team_annual"), ("seats", "3")],
        )
        .await;
    let session = location(&response)
        .and_then(|l| l.rsplit('/').next().map(str::to_string))
        .filter(|s| s.starts_with("cs_"))
        .expect("a hosted page to save the card");
    let saved = app
        .emulator_control(
            &format!("/_emulator/checkout/{session}/complete"),
            json!({ "card": "4242424242424242" }),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    app.eventually_count("subscriptions", 1).await;
    let status: serde_json::Value = app
        .call(
            &browser,
            "/api/billing/checkout-status",
            &[("session_id", &session)],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        status["Trialing"]["trial_ends_at"],
        app.state.now() + 14 * DAY,
        "{status}"
    );
    browser
}

async fn plan(app: &TestApp, browser: &Client) -> serde_json::Value {
    app.call(browser, "/api/billing/plan", &[])
        .await
        .json()
        .await
        .unwrap()
}

async fn a_trial_saves_the_card_and_converts_at_its_end(app: TestApp) {
    let browser = start_trial(&app).await;
    // Nothing was charged or invoiced; the card is on file.
    assert_eq!(app.count("payments").await, 0);
    assert_eq!(app.count("invoices").await, 0);
    assert_eq!(app.count("payment_methods").await, 1);
    let page = plan(&app, &browser).await;
    // Times reach the browser as unix seconds.
    assert!(page["current"]["trial_end"].is_i64(), "{page}");

    // During the trial the plan changes at no charge: Team monthly with 4 seats.
    let version = page["current"]["version"].to_string();
    let changed = app
        .call(
            &browser,
            "/api/billing/plan/change",
            &[
                ("price_id", "team_monthly"),
                ("seats", "4"),
                ("expected_due", "0"),
                ("version", &version),
            ],
        )
        .await;
    assert!(
        changed.status().is_success(),
        "{}",
        changed.text().await.unwrap()
    );
    assert_eq!(app.count("payments").await, 0);

    // The trial ends on day 14: the first month of what was chosen is charged.
    let (_, clock) = app.first_org_on_test_clock().await;
    let summary = app.advance_clock(&clock, app.state.now() + 15 * DAY).await;
    assert_eq!(
        (summary.renewed, summary.payments_succeeded),
        (1, 1),
        "{summary}"
    );
    let r = sqlx::query(
        "SELECT status, price_id, current_period_start, current_period_end FROM subscriptions",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(r.get::<String, _>("status"), "active");
    assert_eq!(r.get::<String, _>("price_id"), "team_monthly");
    let trial_end = app.state.now() + 14 * DAY;
    assert_eq!(r.get::<i64, _>("current_period_start"), trial_end);
    // 4 seats × $25.00 = $100.00 for the first month after the trial.
    let total: i64 = sqlx::query("SELECT total FROM invoices WHERE status = 'paid'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("total");
    assert_eq!(total, 10_000);
}

async fn a_cancelled_trial_ends_on_the_free_plan_without_a_charge(app: TestApp) {
    let browser = start_trial(&app).await;
    let version = plan(&app, &browser).await["current"]["version"].to_string();
    let cancelled = app
        .call(
            &browser,
            "/api/billing/plan/cancel",
            &[
                ("reason", "temporary"),
                ("details", ""),
                ("version", &version),
            ],
        )
        .await;
    assert!(cancelled.status().is_success());
    let (_, clock) = app.first_org_on_test_clock().await;
    let summary = app.advance_clock(&clock, app.state.now() + 20 * DAY).await;
    assert_eq!(summary.moved_to_free, 1, "{summary}");
    let price: String = sqlx::query("SELECT price_id FROM subscriptions")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("price_id");
    assert_eq!(price, "free_monthly");
    assert_eq!(app.count("payments").await, 0);
    assert_eq!(app.count("invoices").await, 0);
}
