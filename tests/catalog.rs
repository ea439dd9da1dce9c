//! The catalog as the pricing page serves it, and a bad price refused by its id.
#![cfg(feature = "ssr")]

mod common;

use common::TestApp;
use reqwest::StatusCode;

on_both_databases!(
    pricing_page_shows_the_seeded_catalog,
    a_bad_price_is_reported_by_its_id
);

async fn pricing_page_shows_the_seeded_catalog(app: TestApp) {
    billing_portal::services::seed::seed_demo(&app.state)
        .await
        .unwrap();
    let response = app.get("/pricing").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    for text in [
        "Free",
        "Pro",
        "Team",
        "$12.00",
        "$25.00",
        "per seat / month",
        "Cancel any time",
    ] {
        assert!(html.contains(text), "{text}");
    }
    let annual = app
        .get("/pricing?interval=year")
        .await
        .text()
        .await
        .unwrap();
    assert!(annual.contains("$120.00") && annual.contains("per seat / year"));

    // The calculator works without JavaScript: the form's query is priced on the server.
    let calc = app
        .get("/pricing?plan=team&seats=7&calc_interval=month")
        .await
        .text()
        .await
        .unwrap();
    assert!(calc.contains("$175.00"), "7 seats × $25.00");
    let below = app
        .get("/pricing?plan=team&seats=2&calc_interval=month")
        .await
        .text()
        .await
        .unwrap();
    assert!(below.contains("Team needs at least 3 seats."));

    let json: serde_json::Value = app
        .call(&app.client, "/api/catalog/plans", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json[1]["prices"][0]["model"]["type"], "per_unit");
}

async fn a_bad_price_is_reported_by_its_id(app: TestApp) {
    billing_portal::services::seed::seed_demo(&app.state)
        .await
        .unwrap();
    sqlx::query("UPDATE prices SET model = $1 WHERE id = 'team_monthly'")
        .bind(r#"{"type":"graduated","tiers":[{"from":1,"up_to":9,"unit_amount":"100"},{"from":11,"unit_amount":"80"}]}"#)
        .execute(&app.db().pool)
        .await
        .unwrap();
    let err = billing_portal::store::catalog::load(app.db())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("price \"team_monthly\": tier 2 starts at 11 but tier 1 ends at 9"),
        "{err}"
    );
    // Customers see a plain error instead of a wrong price.
    let html = app.get("/pricing").await.text().await.unwrap();
    assert!(html.contains("Something went wrong on our side"));
}
