//! Usage-based billing on SQLite and PostgreSQL, through the HTTP API with real keys: events
//! counted once and rejected one by one, every aggregation in the database against a hand table,
//! usage rated onto the renewal invoice (and late events onto the next one), entitlements with a
//! hard cap, the spend alert emailed once, and the OpenAPI document.
#![cfg(feature = "ssr")]

mod common;

use billing_portal::domain::metering::{Aggregation, Meter};
use common::TestApp;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use sqlx::Row;

on_both_databases!(
    events_are_counted_once_and_rejected_one_by_one,
    each_aggregation_in_the_database_matches_a_hand_table,
    usage_is_rated_onto_the_renewal_and_late_events_onto_the_next,
    entitlements_follow_the_plan_the_usage_and_a_hard_cap,
    the_api_is_described_by_its_openapi_document,
    a_plan_that_stops_bills_its_last_period_of_usage,
);

/// A Pro × 2 customer on the demo catalog, its organisation id, and a key made in the portal.
async fn customer_with_key(app: &TestApp) -> (Client, String, String) {
    let browser = app.subscribed("pro_monthly", "2").await;
    let org: String = sqlx::query("SELECT org_id FROM subscriptions")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("org_id");
    let created: Value = app
        .call(&browser, "/api/billing/api-keys/create", &[("name", "CI")])
        .await
        .json()
        .await
        .unwrap();
    let secret = created["secret"].as_str().expect("a secret").to_string();
    assert!(secret.starts_with("bpk_"), "{secret}");
    (browser, org, secret)
}

async fn send(app: &TestApp, key: &str, events: Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/usage-events"))
        .bearer_auth(key)
        .json(&json!({ "events": events }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

fn minutes(org: &str, id: &str, quantity: i64, at: i64) -> Value {
    json!({"id": id, "customer": org, "meter": "build_minutes", "quantity": quantity, "timestamp": at})
}

async fn events_are_counted_once_and_rejected_one_by_one(app: TestApp) {
    let (browser, org, key) = customer_with_key(&app).await;
    let now = app.state.now();
    let batch = json!([
        minutes(&org, "b-1", 10, now - 60),
        minutes(&org, "b-2", 20, now - 50),
        {"id": "b-3", "customer": org, "meter": "api_calls", "timestamp": "2000-01-01T00:00:00Z"},
        minutes(&org, "b-1", 99, now - 40),
        {"id": "b-4", "customer": org, "meter": "pulls", "timestamp": now},
        minutes("org_someone_else", "b-5", 1, now),
        {"id": "b-6", "customer": org, "meter": "api_calls", "timestamp": now, "properties": {"route": "/v1/x"}},
    ]);
    let (status, body) = send(&app, &key, batch.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["accepted"].as_i64(),
            body["duplicates"].as_i64(),
            body["rejected"].as_i64()
        ),
        (Some(3), Some(1), Some(3)),
        "{body}"
    );
    let results = body["results"].as_array().unwrap();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "accepted",
            "accepted",
            "rejected",
            "duplicate",
            "rejected",
            "rejected",
            "accepted"
        ]
    );
    assert!(results[2]["reason"]
        .as_str()
        .unwrap()
        .contains("more than 35 days in the past"));
    assert_eq!(results[4]["reason"], "there is no meter \"pulls\"");
    assert_eq!(
        results[5]["reason"],
        "this API key acts for another customer only"
    );

    // The same batch again: everything recorded is a duplicate, counted once.
    let (_, again) = send(&app, &key, batch).await;
    assert_eq!(
        (again["accepted"].as_i64(), again["duplicates"].as_i64()),
        (Some(0), Some(4)),
        "{again}"
    );
    assert_eq!(app.count("usage_events").await, 3);
    let total: i64 = sqlx::query("SELECT CAST(SUM(quantity) AS BIGINT) AS q FROM usage_events WHERE meter_id = 'build_minutes'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("q");
    assert_eq!(
        total, 30,
        "the repeat of b-1 with another quantity did not count"
    );

    // Batches, bodies and keys that cannot be used.
    let too_many: Vec<Value> = (0..1001)
        .map(|i| minutes(&org, &format!("m-{i}"), 1, now))
        .collect();
    let (status, body) = send(&app, &key, json!(too_many)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("1 to 1000 events; this one has 1001"));
    let not_json = reqwest::Client::new()
        .post(app.url("/api/v1/usage-events"))
        .bearer_auth(&key)
        .body("events=1")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    let (status, _) = send(&app, "bpk_not_a_key", json!([minutes(&org, "x", 1, now)])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let anonymous = reqwest::Client::new()
        .post(app.url("/api/v1/usage-events"))
        .json(&json!({"events": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // A revoked key stops working; a server key acts for any customer that exists.
    let page: Value = app
        .call(&browser, "/api/billing/usage", &[])
        .await
        .json()
        .await
        .unwrap();
    let key_id = page["keys"][0]["id"].as_str().unwrap().to_string();
    assert!(page["keys"][0]["last_used_at"].is_i64(), "{page}");
    let revoked = app
        .call(&browser, "/api/billing/api-keys/revoke", &[("id", &key_id)])
        .await;
    assert!(revoked.status().is_success());
    let (status, _) = send(&app, &key, json!([minutes(&org, "after-revoke", 1, now)])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, server_key) = billing_portal::store::usage::create_key(
        app.db(),
        None,
        "metering service",
        &billing_portal::store::audit::Actor::cli(),
        now,
    )
    .await
    .unwrap();
    let (_, body) = send(
        &app,
        &server_key,
        json!([
            minutes(&org, "s-1", 5, now),
            minutes("org_missing", "s-2", 5, now)
        ]),
    )
    .await;
    assert_eq!(body["results"][0]["status"], "accepted", "{body}");
    assert_eq!(
        body["results"][1]["reason"],
        "there is no customer \"org_missing\""
    );
}

async fn each_aggregation_in_the_database_matches_a_hand_table(app: TestApp) {
    let (_, org, _) = customer_with_key(&app).await;
    let now = app.state.now();
    let meter = |id: &str, aggregation, property: Option<&str>, filter: &[(&str, &str)]| Meter {
        id: id.into(),
        name: id.into(),
        aggregation,
        property: property.map(str::to_string),
        filter: filter
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        unit_label: "unit".into(),
    };
    // The same five events as the domain's table, under a meter "jobs"; every other meter reads
    // them through its own aggregation and filter.
    let table = [
        (meter("jobs", Aggregation::Sum, None, &[]), 24),
        (meter("jobs_count", Aggregation::Count, None, &[]), 5),
        (meter("jobs_max", Aggregation::Max, None, &[]), 9),
        (meter("jobs_latest", Aggregation::Latest, None, &[]), 7),
        (
            meter("jobs_users", Aggregation::UniqueCount, Some("user"), &[]),
            3,
        ),
        (
            meter("jobs_eu", Aggregation::Sum, None, &[("region", "eu")]),
            17,
        ),
        (
            meter(
                "jobs_eu_latest",
                Aggregation::Latest,
                None,
                &[("region", "eu")],
            ),
            1,
        ),
        (
            meter(
                "jobs_eu_users",
                Aggregation::UniqueCount,
                Some("user"),
                &[("region", "eu")],
            ),
            2,
        ),
        (
            meter("jobs_tier", Aggregation::Sum, None, &[("tier", "2")]),
            9,
        ),
        (
            meter("jobs_ci", Aggregation::Count, None, &[("ci", "true")]),
            1,
        ),
    ];
    for (m, _) in &table {
        billing_portal::store::usage::put_meter(app.db(), m, now)
            .await
            .unwrap();
    }
    let (_, key) = billing_portal::store::usage::create_key(
        app.db(),
        None,
        "s",
        &billing_portal::store::audit::Actor::cli(),
        now,
    )
    .await
    .unwrap();
    let event = |i: i64, quantity: i64, at: i64, properties: Value| {
        json!({"id": format!("j-{i}"), "customer": org, "meter": "jobs", "quantity": quantity,
            "timestamp": now - 1000 + at, "properties": properties})
    };
    let (_, body) = send(
        &app,
        &key,
        json!([
            event(1, 5, 100, json!({"user": "ann", "region": "eu"})),
            event(2, 7, 300, json!({"user": "bob", "region": "us"})),
            event(3, 2, 200, json!({"user": "ann", "region": "eu"})),
            event(
                4,
                9,
                150,
                json!({"user": "cid", "region": "eu", "tier": 2, "ci": true})
            ),
            event(5, 1, 250, json!({"region": "eu"})),
        ]),
    )
    .await;
    assert_eq!(body["accepted"], 5, "{body}");
    // The events are stored under "jobs"; the other meters read them as if they were theirs.
    for (m, expected) in &table {
        let as_jobs = Meter {
            id: "jobs".into(),
            ..m.clone()
        };
        let total = billing_portal::store::usage::meter_total(
            app.db(),
            &billing_portal::domain::ids::OrgId::parse(&org).unwrap(),
            &as_jobs,
            now - 2000,
            now + 1,
        )
        .await
        .unwrap();
        assert_eq!(total, *expected, "{}: {}", m.id, m.describe());
    }
    // A window that leaves out the first two events (at +100 and +150).
    let sum = meter("jobs", Aggregation::Sum, None, &[]);
    let later = billing_portal::store::usage::meter_total(
        app.db(),
        &billing_portal::domain::ids::OrgId::parse(&org).unwrap(),
        &sum,
        now - 1000 + 200,
        now + 1,
    )
    .await
    .unwrap();
    assert_eq!(later, 10);
}

async fn usage_is_rated_onto_the_renewal_and_late_events_onto_the_next(app: TestApp) {
    let (_, org, key) = customer_with_key(&app).await;
    let (_, clock) = app.first_org_on_test_clock().await;
    let start: i64 = sqlx::query("SELECT current_period_start FROM subscriptions")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("current_period_start");
    // 1,250 minutes in the first period: Pro includes 1,000, then 0.8¢ a minute.
    let (_, body) = send(
        &app,
        &key,
        json!([
            minutes(&org, "p1-a", 700, start + 1),
            minutes(&org, "p1-b", 550, start + 2)
        ]),
    )
    .await;
    assert_eq!(body["accepted"], 2, "{body}");
    app.advance_clock(&clock, start + 31 * 86_400).await;
    let renewal = |number: &'static str| {
        let db = app.db().clone();
        async move {
            let r = sqlx::query("SELECT id, total, status FROM invoices WHERE number = $1")
                .bind(number)
                .fetch_one(&db.pool)
                .await
                .unwrap();
            let id: String = r.get("id");
            let lines: Vec<(String, String, i64, String)> = sqlx::query(
                "SELECT kind, description, amount, explanation FROM invoice_lines WHERE invoice_id = $1 ORDER BY position",
            )
            .bind(&id)
            .fetch_all(&db.pool)
            .await
            .unwrap()
            .iter()
            .map(|l| (l.get("kind"), l.get("description"), l.get("amount"), l.get("explanation")))
            .collect();
            (
                r.get::<i64, _>("total"),
                r.get::<String, _>("status"),
                lines,
            )
        }
    };
    let (total, status, lines) = renewal("0002").await;
    // $24.00 for the next month in advance, $2.00 for 250 minutes over in arrears.
    assert_eq!((total, status.as_str()), (2600, "paid"), "{lines:?}");
    let usage = lines.iter().find(|l| l.0 == "usage").expect("a usage line");
    assert_eq!(usage.2, 200);
    assert!(usage.1.starts_with("Pro build minutes ("), "{}", usage.1);
    assert!(usage.3.contains("1250 minute = $2.00"), "{}", usage.3);
    assert!(
        usage
            .3
            .contains("the sum of the events' quantities of meter build_minutes from"),
        "{}",
        usage.3
    );

    // A late event for the first period (still inside the 35-day window), and 100 minutes in the
    // second: the next renewal bills the difference the late event made, and nothing for 100
    // minutes (within the 1,000 included).
    let now: i64 = billing_portal::store::test_clocks::find(
        app.db(),
        &billing_portal::domain::ids::ClockId::parse(&clock).unwrap(),
    )
    .await
    .unwrap()
    .unwrap()
    .frozen_at;
    let (_, body) = send(
        &app,
        &key,
        json!([
            minutes(&org, "p1-late", 500, start + 3),
            minutes(&org, "p2-a", 100, now + 60)
        ]),
    )
    .await;
    assert_eq!(body["accepted"], 2, "{body}");
    app.advance_clock(&clock, start + 61 * 86_400).await;
    let (total, _, lines) = renewal("0003").await;
    let late = lines
        .iter()
        .find(|l| l.1.contains("late usage"))
        .expect("a late usage line");
    // 1,750 minutes now rate 750 × 0.8¢ = $6.00; $2.00 was billed, so $4.00 more.
    assert_eq!(late.2, 400, "{late:?}");
    assert!(late.3.contains("from 1250 to 1750 minute"), "{}", late.3);
    assert_eq!(total, 2400 + 400, "{lines:?}");
    // Once billed, a third renewal adds nothing more for it.
    app.advance_clock(&clock, start + 92 * 86_400).await;
    let (total, _, lines) = renewal("0004").await;
    assert_eq!(total, 2400, "{lines:?}");

    // The console's drill-down lists the events behind the first period's figure.
    let staff = app.staff("agent@demo.test").await;
    let (from, until) = (start.to_string(), (start + 31 * 86_400).to_string());
    let drill: Value = app
        .call(
            &staff,
            "/api/support/usage",
            &[
                ("org_id", &org),
                ("meter", "build_minutes"),
                ("from", &from),
                ("until", &until),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(drill["total"], 1750);
    let ids: Vec<&str> = drill["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["p1-a", "p1-b", "p1-late"]);
    let outsider = app
        .call(
            &TestApp::browser(),
            "/api/support/usage",
            &[("org_id", &org)],
        )
        .await;
    assert!(!outsider.status().is_success());
}

async fn entitlements(app: &TestApp, key: &str, org: &str) -> Value {
    let response = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/customers/{org}/entitlements")))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn entitlements_follow_the_plan_the_usage_and_a_hard_cap(app: TestApp) {
    let (browser, org, key) = customer_with_key(&app).await;
    let now = app.state.now();
    let e = entitlements(&app, &key, &org).await;
    assert_eq!(e["plan"], "pro");
    assert_eq!(e["features"], json!({"audit_log": true, "sso": false}));
    assert_eq!(
        e["limits"]["seats"],
        json!({"limit": 2, "used": 1, "remaining": 1, "allowed": true})
    );
    assert_eq!(e["limits"]["private_repos"]["limit"], 50);
    assert_eq!(
        e["limits"]["build_minutes"],
        json!({"limit": 1000, "used": 0, "remaining": 1000, "allowed": true, "meter": "build_minutes"})
    );

    // Usage invalidates the cached answer at once; beyond the included minutes Pro bills the
    // overage, so use stays allowed.
    send(&app, &key, json!([minutes(&org, "e-1", 1200, now)])).await;
    let e = entitlements(&app, &key, &org).await;
    assert_eq!(e["limits"]["build_minutes"]["used"], 1200);
    assert_eq!(e["limits"]["build_minutes"]["remaining"], 0);
    assert_eq!(e["limits"]["build_minutes"]["allowed"], true);
    assert_eq!(e["usage_charges"], "$1.60");

    // A $1.50 alert with a hard cap: the charges ($1.60) have reached it, so metered use is
    // denied, and the owner is emailed once however many events follow.
    let set = app
        .call(
            &browser,
            "/api/billing/spend-alert",
            &[("amount", "1.50"), ("hard_cap", "on")],
        )
        .await;
    let message = set.text().await.unwrap();
    assert!(
        message.contains("metered use stops at that amount"),
        "{message}"
    );
    assert!(
        message.contains("the alert email is on its way"),
        "{message}"
    );
    let e = entitlements(&app, &key, &org).await;
    assert_eq!(e["capped"], true);
    assert_eq!(e["hard_cap"], "$1.50");
    assert_eq!(e["limits"]["build_minutes"]["allowed"], false);
    assert_eq!(
        e["limits"]["private_repos"]["allowed"], true,
        "unmetered limits are not capped"
    );
    for i in 0..3 {
        send(
            &app,
            &key,
            json!([minutes(&org, &format!("e-more-{i}"), 10, now)]),
        )
        .await;
    }
    let alerts: i64 = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM email_outbox WHERE subject LIKE 'Usage alert:%'",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap()
    .get("n");
    assert_eq!(alerts, 1);
    // Raising the cap allows use again.
    app.call(
        &browser,
        "/api/billing/spend-alert",
        &[("amount", "100.00"), ("hard_cap", "on")],
    )
    .await;
    let e = entitlements(&app, &key, &org).await;
    assert_eq!(e["limits"]["build_minutes"]["allowed"], true);

    // A seat change is seen at once (the cached entry's subscription version is stale).
    sqlx::query("UPDATE subscriptions SET quantity = 5, version = version + 1")
        .execute(&app.db().pool)
        .await
        .unwrap();
    let e = entitlements(&app, &key, &org).await;
    assert_eq!(e["limits"]["seats"]["limit"], 5);

    // Another customer's key may not read these; a key may not read a customer that is not there.
    let other = reqwest::Client::new()
        .get(app.url("/api/v1/customers/org_other/entitlements"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    let (_, server_key) = billing_portal::store::usage::create_key(
        app.db(),
        None,
        "s",
        &billing_portal::store::audit::Actor::cli(),
        now,
    )
    .await
    .unwrap();
    let missing = reqwest::Client::new()
        .get(app.url("/api/v1/customers/org_other/entitlements"))
        .bearer_auth(&server_key)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let e = entitlements(&app, &server_key, &org).await;
    assert_eq!(e["customer"], org.as_str());

    // The portal's page shows the same figures and the day's usage in the chart's data.
    let page: Value = app
        .call(
            &browser,
            "/api/billing/usage",
            &[("meter", "build_minutes")],
        )
        .await
        .json()
        .await
        .unwrap();
    let build = page["meters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "build_minutes")
        .unwrap();
    assert_eq!(build["quantity"], 1230);
    assert_eq!(build["amount"], "$1.84");
    let charted: i64 = page["daily"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["value"].as_i64().unwrap())
        .sum();
    assert_eq!(charted, 1230);
}

async fn the_api_is_described_by_its_openapi_document(app: TestApp) {
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/usage-events",
        "/customers/{id}/entitlements",
        "/customers/{id}/usage",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert_eq!(
        doc["paths"]["/usage-events"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"]["properties"]["events"]["maxItems"],
        1000
    );
}

async fn a_plan_that_stops_bills_its_last_period_of_usage(app: TestApp) {
    let (browser, org, key) = customer_with_key(&app).await;
    let (_, clock) = app.first_org_on_test_clock().await;
    let start: i64 = sqlx::query("SELECT current_period_start FROM subscriptions")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("current_period_start");
    send(
        &app,
        &key,
        json!([minutes(&org, "last-1", 1500, start + 1)]),
    )
    .await;
    let version: i64 = sqlx::query("SELECT version FROM subscriptions")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("version");
    let cancelled = app
        .call(
            &browser,
            "/api/billing/plan/cancel",
            &[
                ("reason", "unused"),
                ("details", ""),
                ("version", &version.to_string()),
            ],
        )
        .await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    app.advance_clock(&clock, start + 31 * 86_400).await;
    // The plan moved to Free, and the period's 500 minutes over the included 1,000 were billed
    // on an invoice of their own and charged: $4.00.
    let price: String = sqlx::query("SELECT price_id FROM subscriptions")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("price_id");
    assert_eq!(price, "free_monthly");
    let r = sqlx::query("SELECT total, status FROM invoices WHERE billing_reason = 'final_usage'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(
        (r.get::<i64, _>("total"), r.get::<String, _>("status")),
        (400, "paid".to_string())
    );
}
