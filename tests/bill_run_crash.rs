//! A `billing-portal bill-run` process killed in the middle of its work, then run again, leaves
//! no renewal invoice missing and charges none twice, on SQLite and PostgreSQL.
#![cfg(feature = "ssr")]

mod common;

use common::TestApp;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Row;
use std::process::{Command, Stdio};
use std::time::Duration;

on_both_databases!(a_killed_bill_run_is_finished_by_the_next_without_double_charges);

const ORGS: usize = 12;

fn bill_run(app: &TestApp) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_billing-portal"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.state.config.database_url)
        // The same Stripe (the test's emulator) the subscriptions were paid through.
        .env("STRIPE_SECRET_KEY", app.emulator_secret())
        .env("STRIPE_WEBHOOK_SECRET", "whsec_bill_run")
        .env("STRIPE_API_BASE", app.emulator())
        .env("JOB_LEASE_SECS", "1")
        .args(["bill-run", "--concurrency", "1"]);
    command
}

async fn cycle_invoices(app: &TestApp) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM invoices WHERE billing_reason = 'subscription_cycle'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("n")
}

async fn a_killed_bill_run_is_finished_by_the_next_without_double_charges(app: TestApp) {
    billing_portal::services::seed::seed_demo(&app.state)
        .await
        .unwrap();
    for i in 0..ORGS {
        let browser = TestApp::browser();
        app.sign_up(
            &browser,
            &format!("owner{i}@example.com"),
            &format!("Org {i}"),
        )
        .await;
        let (_, session) = app.start_checkout(&browser, "pro_monthly", "2").await;
        let paid = app
            .emulator_control(
                &format!("/_emulator/checkout/{}/complete", session.unwrap()),
                json!({ "card": "4242424242424242" }),
            )
            .await;
        assert_eq!(paid.status(), StatusCode::OK);
    }
    app.eventually_count("subscriptions", ORGS as i64).await;
    // The subscriptions started on the test's date (15 Jan 2026); the bill-run process lives at
    // the real date, so every one of them has months of renewals to catch up on.
    let real_now = chrono::Utc::now().timestamp();
    let start = app.state.now();
    assert!(
        real_now > start + 40 * 86_400,
        "the real date is after the test's"
    );

    let mut first = bill_run(&app)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once some (but not all) of the work is done.
    let mut seen = 0;
    for _ in 0..600 {
        seen = cycle_invoices(&app).await;
        if seen >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(
        seen >= 5,
        "the first run made progress before it was killed"
    );
    let after_kill = cycle_invoices(&app).await;

    // Its leases expire; the next run finishes everything.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let out = bill_run(&app).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("bill run finished"), "{stdout}");
    let total = cycle_invoices(&app).await;
    assert!(
        total > after_kill,
        "the second run did the rest ({after_kill} → {total})"
    );

    // Every subscription has one invoice per month from 15 Feb 2026 to its current period, in
    // an unbroken chain, each paid once.
    let subs = sqlx::query(
        "SELECT id, current_period_start, current_period_end, status FROM subscriptions",
    )
    .fetch_all(&app.db().pool)
    .await
    .unwrap();
    let mut expected_total = 0;
    for sub in &subs {
        let id: String = sub.get("id");
        let status: String = sub.get("status");
        assert_eq!(status, "active");
        let current_end: i64 = sub.get("current_period_end");
        assert!(current_end > real_now, "subscription {id} is up to date");
        let periods: Vec<(i64, i64, String)> = sqlx::query(
            "SELECT period_start, period_end, status FROM invoices WHERE subscription_id = $1 ORDER BY period_start",
        )
        .bind(&id)
        .fetch_all(&app.db().pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("period_start"), r.get("period_end"), r.get("status")))
        .collect();
        for pair in periods.windows(2) {
            assert_eq!(
                pair[0].1, pair[1].0,
                "subscription {id}: no period missing or repeated"
            );
        }
        assert!(periods.iter().all(|p| p.2 == "paid"), "{id}: {periods:?}");
        let current_start: i64 = sub.get("current_period_start");
        assert_eq!(periods.last().unwrap().0, current_start);
        expected_total += periods.len() as i64 - 1;
    }
    assert_eq!(total, expected_total);
    // One charge at Stripe per invoice (checkouts included): a charge that was in flight when
    // the process died was replayed under the same key, not made again.
    let payments: i64 = app.count("payments").await;
    assert_eq!(payments, ORGS as i64 + total);
    let events: serde_json::Value = app.emulator_get("/_emulator/events").await;
    let list = events["data"]
        .as_array()
        .or_else(|| events.as_array())
        .unwrap();
    let charges = list
        .iter()
        .filter(|e| e["type"] == "payment_intent.succeeded")
        .count() as i64;
    assert_eq!(charges, payments);
}
