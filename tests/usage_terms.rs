//! Usage prices and entitlements are versioned with the catalog: a subscriber keeps the terms of
//! the revision at which it took its price, new customers get the published ones, and a price
//! migration moves a subscriber onto the new terms at its renewal (after the period it ends is
//! rated on the old ones). On SQLite and PostgreSQL, through the HTTP API with real keys.
#![cfg(feature = "ssr")]

mod common;

use billing_portal::domain::catalog_file::LimitValue;
use billing_portal::services::catalog;
use billing_portal::services::price_migration::Timing;
use billing_portal::store::audit::Actor;
use common::TestApp;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use sqlx::Row;

on_both_databases!(new_usage_terms_are_for_new_customers_until_a_migration_moves_the_others);

const DAY: i64 = 86_400;

async fn key_for(app: &TestApp, browser: &Client) -> String {
    let created: Value = app
        .call(browser, "/api/billing/api-keys/create", &[("name", "CI")])
        .await
        .json()
        .await
        .unwrap();
    created["secret"].as_str().expect("a secret").to_string()
}

async fn record_minutes(app: &TestApp, key: &str, org: &str, id: &str, quantity: i64, at: i64) {
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/usage-events"))
        .bearer_auth(key)
        .json(&json!({ "events": [
            {"id": id, "customer": org, "meter": "build_minutes", "quantity": quantity, "timestamp": at}
        ] }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"].as_i64(), Some(1), "{body}");
}

/// The customer's limit on private projects, from the entitlements API.
async fn private_projects(app: &TestApp, key: &str, org: &str) -> i64 {
    let body: Value = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/customers/{org}/entitlements")))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["limits"]["private_repos"]["limit"]
        .as_i64()
        .unwrap_or_else(|| panic!("{body}"))
}

/// The usage line the newest renewal invoice of `org` bills for build minutes.
async fn minutes_line(app: &TestApp, org: &str) -> (String, i64) {
    sqlx::query(
        "SELECT l.price_id, l.amount FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
         WHERE i.org_id = $1 AND i.billing_reason = 'subscription_cycle' AND l.kind = 'usage' \
         ORDER BY i.created_at DESC, i.number DESC LIMIT 1",
    )
    .bind(org)
    .fetch_one(&app.db().pool)
    .await
    .map(|r| (r.get("price_id"), r.get("amount")))
    .unwrap()
}

async fn new_usage_terms_are_for_new_customers_until_a_migration_moves_the_others(app: TestApp) {
    // Acme buys Pro monthly × 2 on today's terms: 1,000 build minutes included, then $0.008 a
    // minute, and 50 private projects.
    let acme = app.subscribed("pro_monthly", "2").await;
    let acme_org = app.org_named("Acme").await;
    let acme_key = key_for(&app, &acme).await;
    assert_eq!(private_projects(&app, &acme_key, &acme_org).await, 50);

    // Gamma opens a checkout for Pro monthly now and pays after the change below.
    let gamma = TestApp::browser();
    app.sign_up(&gamma, "gamma@example.com", "Gamma").await;
    let (_, gamma_session) = app.start_checkout(&gamma, "pro_monthly", "1").await;

    // The catalog admin raises the overage to $0.015 and lowers the limit to 20.
    let (_, mut file) = billing_portal::store::catalog::published(app.db())
        .await
        .unwrap();
    let pro = file.plans.iter_mut().find(|p| p.id == "pro").unwrap();
    pro.usage_prices[0].model = billing_portal::domain::PriceModel::IncludedThenOverage {
        included: 1000,
        base_amount: 0,
        overage_unit_amount: rust_decimal::Decimal::new(15, 1),
    };
    let projects = pro
        .entitlements
        .iter_mut()
        .find(|e| e.key == "private_repos")
        .unwrap();
    projects.limit = Some(LimitValue::Count(20));
    let admin = Actor {
        name: "cat@support.test".into(),
        role: "catalog_admin".into(),
    };
    let said: Vec<String> = catalog::preview(&app.state, &file)
        .await
        .unwrap()
        .changes
        .iter()
        .map(|c| c.describe())
        .collect();
    let said = said.join("\n");
    assert!(
        said.contains("~ price pro_monthly on pro: new version on the same terms"),
        "{said}"
    );
    assert!(
        said.contains("current subscribers keep the version they have"),
        "{said}"
    );
    catalog::publish(&app.state, &file, None, &admin)
        .await
        .unwrap();
    // Publishing the same file again changes nothing.
    assert!(catalog::preview(&app.state, &file)
        .await
        .unwrap()
        .changes
        .is_empty());

    // Acme keeps its terms; Beta, buying now, gets the new ones (and the new price version).
    assert_eq!(private_projects(&app, &acme_key, &acme_org).await, 50);
    let beta = TestApp::browser();
    app.sign_up(&beta, "beta@example.com", "Beta").await;
    app.pay_checkout(&beta, "pro_monthly_v2", "2").await;
    app.eventually_count("subscriptions", 2).await;
    let beta_org = app.org_named("Beta").await;
    let beta_key = key_for(&app, &beta).await;
    assert_eq!(private_projects(&app, &beta_key, &beta_org).await, 20);
    // Gamma pays for the version it was shown, and gets the terms that went with it.
    let paid = app
        .emulator_control(
            &format!("/_emulator/checkout/{}/complete", gamma_session.unwrap()),
            json!({ "card": "4242424242424242" }),
        )
        .await;
    assert_eq!(paid.status(), StatusCode::OK);
    app.eventually_count("subscriptions", 3).await;
    let gamma_org = app.org_named("Gamma").await;
    let gamma_key = key_for(&app, &gamma).await;
    assert_eq!(private_projects(&app, &gamma_key, &gamma_org).await, 50);
    let pricing = app.get("/pricing").await.text().await.unwrap();
    assert!(pricing.contains("20 private projects"), "{pricing}");

    // Each uses 1,500 minutes; a migration of Acme's version to the new one is approved.
    let now = app.state.now();
    record_minutes(&app, &acme_key, &acme_org, "a-1", 1500, now).await;
    record_minutes(&app, &beta_key, &beta_org, "b-1", 1500, now).await;
    app.approved_migration(
        "pro_monthly",
        "pro_monthly_v2",
        Timing::Renewal { not_before: None },
    )
    .await;
    // At renewal each period is rated on the terms it was used under: 500 minutes over at
    // $0.008 for Acme ($4.00), at $0.015 for Beta ($7.50).
    for org in [&acme_org, &beta_org] {
        let clock = app.clock_for(org).await;
        let summary = app.advance_clock(&clock, now + 32 * DAY).await;
        assert!(summary.errors.is_empty(), "{:?}", summary.errors);
        assert_eq!(summary.renewed, 1);
    }
    assert_eq!(minutes_line(&app, &acme_org).await.1, 400);
    let (beta_usage, beta_amount) = minutes_line(&app, &beta_org).await;
    assert_eq!(beta_amount, 750);
    assert_ne!(beta_usage, "pro_build_minutes", "a version of its own");
    // The migration moved Acme onto the new version and its terms.
    assert_eq!(private_projects(&app, &acme_key, &acme_org).await, 20);
    let acme_price: String =
        sqlx::query_scalar("SELECT price_id FROM subscriptions WHERE org_id = $1")
            .bind(&acme_org)
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert_eq!(acme_price, "pro_monthly_v2");
}
