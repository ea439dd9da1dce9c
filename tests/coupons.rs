//! Promotion codes at checkout and on an existing subscription, on SQLite and PostgreSQL: the
//! discounted first charge, the periods a repeating coupon lasts, and a clear message for every
//! code that cannot be used.
#![cfg(feature = "ssr")]

mod common;

use common::{location, TestApp};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Row;

on_both_databases!(
    a_repeating_coupon_discounts_the_checkout_and_the_next_two_renewals,
    codes_that_cannot_be_used_say_why,
    a_code_applied_to_a_plan_discounts_the_next_invoice_once,
);

const DAY: i64 = 86_400;

async fn totals(app: &TestApp) -> Vec<i64> {
    sqlx::query("SELECT total FROM invoices ORDER BY period_start, created_at")
        .fetch_all(&app.db().pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("total"))
        .collect()
}

async fn advance_months(app: &TestApp, days: i64) {
    let (_, clock) = app.first_org_on_test_clock().await;
    let summary = app
        .advance_clock(&clock, app.state.now() + days * DAY)
        .await;
    assert!(summary.errors.is_empty(), "{summary}");
}

async fn a_repeating_coupon_discounts_the_checkout_and_the_next_two_renewals(app: TestApp) {
    let browser = app.owner_with_catalog().await;
    // Typed in lower case with spaces: codes are normalised.
    let response = app
        .submit_form(
            &browser,
            "/pricing",
            "/api/billing/checkout",
            &[
                ("price_id", "pro_monthly"),
                ("seats", "5"),
                ("promotion_code", " launch20 "),
            ],
        )
        .await;
    let session = location(&response)
        .and_then(|l| l.rsplit('/').next().map(str::to_string))
        .filter(|s| s.starts_with("cs_"))
        .expect("a hosted checkout");
    // 5 seats × $12.00 = $60.00, less 20% = $48.00 is what the hosted page charges.
    let amount: i64 = sqlx::query("SELECT amount FROM checkouts")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("amount");
    assert_eq!(amount, 4800);
    let paid = app
        .emulator_control(
            &format!("/_emulator/checkout/{session}/complete"),
            json!({ "card": "4242424242424242" }),
        )
        .await;
    assert_eq!(paid.status(), StatusCode::OK);
    app.eventually_count("subscriptions", 1).await;
    assert_eq!(app.count("coupon_redemptions").await, 1);
    let plan: serde_json::Value = app
        .call(&browser, "/api/billing/plan", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        plan["current"]["coupon"],
        "Launch offer: 20% off 3 billing periods (2 left)"
    );

    // Three renewals: the coupon's 2nd and 3rd periods are discounted, the 4th is not.
    advance_months(&app, 90).await;
    assert_eq!(totals(&app).await, [4800, 4800, 4800, 6000]);
    let lines: Vec<String> = sqlx::query(
        "SELECT l.explanation FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
         WHERE l.kind = 'discount' ORDER BY i.period_start",
    )
    .fetch_all(&app.db().pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get("explanation"))
    .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].contains("20%"), "{}", lines[0]);
}

async fn codes_that_cannot_be_used_say_why(app: TestApp) {
    let browser = app.owner_with_catalog().await;
    let attempt = |code: &'static str| {
        let browser = browser.clone();
        let app = &app;
        async move {
            let response = app
                .call(
                    &browser,
                    "/api/billing/checkout",
                    &[
                        ("price_id", "pro_monthly"),
                        ("seats", "1"),
                        ("promotion_code", code),
                    ],
                )
                .await;
            assert!(!response.status().is_success(), "{code} was accepted");
            response.text().await.unwrap()
        }
    };
    assert!(attempt("NOPE")
        .await
        .contains("The code NOPE does not exist"));
    assert!(attempt("summer25")
        .await
        .contains("The code SUMMER25 expired on 1 September 2025"));
    // Without JavaScript the form comes back with the message.
    let response = app
        .submit_form(
            &browser,
            "/pricing",
            "/api/billing/checkout",
            &[
                ("price_id", "pro_monthly"),
                ("seats", "1"),
                ("promotion_code", "nope"),
            ],
        )
        .await;
    let (_, page) = app.follow(&browser, response).await;
    assert!(page.contains("The code NOPE does not exist"), "{page}");
    assert_eq!(app.count("checkouts").await, 0, "nothing was started");

    // A code used up by its limit.
    sqlx::query("UPDATE promotion_codes SET max_redemptions = 0 WHERE code = 'WELCOME10'")
        .execute(&app.db().pool)
        .await
        .unwrap();
    assert!(attempt("WELCOME10")
        .await
        .contains("used as many times as it allows"));
}

async fn a_code_applied_to_a_plan_discounts_the_next_invoice_once(app: TestApp) {
    let browser = app.subscribed("pro_monthly", "2").await;
    let version = || async {
        let plan: serde_json::Value = app
            .call(&browser, "/api/billing/plan", &[])
            .await
            .json()
            .await
            .unwrap();
        plan["current"]["version"].to_string()
    };
    let v = version().await;
    let applied = app
        .call(
            &browser,
            "/api/billing/plan/promotion-code",
            &[("code", "welcome10"), ("version", &v)],
        )
        .await;
    assert!(applied.status().is_success());
    let message: String = applied.json().await.unwrap();
    assert_eq!(
        message,
        "WELCOME10 applied: $10.00 off the next invoice, from your next invoice on 15 February 2026."
    );
    // A second code while one is waiting is refused.
    let v = version().await;
    let second = app
        .call(
            &browser,
            "/api/billing/plan/promotion-code",
            &[("code", "LAUNCH20"), ("version", &v)],
        )
        .await;
    assert!(second
        .text()
        .await
        .unwrap()
        .contains("Your plan already has a discount"));

    // 2 seats × $12.00 = $24.00 − $10.00 = $14.00 once, then $24.00 again.
    advance_months(&app, 60).await;
    assert_eq!(totals(&app).await, [2400, 1400, 2400]);
    // Used up, the same organisation still cannot use WELCOME10 again.
    let v = version().await;
    let again = app
        .call(
            &browser,
            "/api/billing/plan/promotion-code",
            &[("code", "WELCOME10"), ("version", &v)],
        )
        .await;
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("Your organisation has already used the code WELCOME10"));
}
