//! Renewals, dunning, test clocks, pay-now, payment methods and PDFs, on SQLite and PostgreSQL,
//! through the real server and the Stripe emulator over HTTP.
#![cfg(feature = "ssr")]

mod common;

use billing_portal::services::bill_run::{self, RunOptions};
use billing_portal::store::test_clocks;
use common::{location, TestApp};
use reqwest::{Client, StatusCode};
use serde_json::json;
use sqlx::Row;

on_both_databases!(
    a_year_of_monthly_renewals_on_a_test_clock_yields_twelve_invoices,
    a_card_that_always_declines_walks_the_whole_dunning_path,
    paying_an_open_invoice_settles_it_and_reactivates_the_plan,
    cancelled_plans_move_to_free_and_scheduled_downgrades_apply_at_renewal,
    two_instances_sharing_a_database_bill_each_invoice_once,
    cards_are_added_made_default_and_the_last_one_is_kept,
    unused_time_becomes_credit_that_renewals_use_first,
    credit_notes_never_exceed_the_invoice_and_void_stops_collection,
);

const DAY: i64 = 86_400;

async fn page_html(app: &TestApp, browser: &Client, path: &str) -> (StatusCode, String) {
    let response = app.get_with(browser, path).await;
    (response.status(), response.text().await.unwrap())
}

async fn advance(app: &TestApp, clock: &str, by_secs: i64) -> bill_run::RunSummary {
    let clock = &billing_portal::domain::ids::ClockId::parse(clock).unwrap();
    let current = test_clocks::find(app.db(), clock).await.unwrap().unwrap();
    let summary = billing_portal::services::test_clock::advance(
        &app.state,
        clock,
        current.frozen_at + by_secs,
        &|_| {},
    )
    .await
    .unwrap();
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    summary
}

/// (number, status, total, amount_due, period_start, period_end, attempt_count) of every
/// renewal invoice, oldest first.
async fn cycle_invoices(app: &TestApp) -> Vec<(String, String, i64, i64, i64, i64, i64)> {
    sqlx::query(
        "SELECT number, status, total, amount_due, period_start, period_end, attempt_count FROM invoices \
         WHERE billing_reason = 'subscription_cycle' ORDER BY period_start",
    )
    .fetch_all(&app.db().pool)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get("number"),
            r.get("status"),
            r.get("total"),
            r.get("amount_due"),
            r.get("period_start"),
            r.get("period_end"),
            r.get("attempt_count"),
        )
    })
    .collect()
}

async fn subscription(app: &TestApp) -> (String, String, i64, i64) {
    let r = sqlx::query(
        "SELECT price_id, status, quantity, current_period_end FROM subscriptions ORDER BY created_at LIMIT 1",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    (
        r.get("price_id"),
        r.get("status"),
        r.get("quantity"),
        r.get("current_period_end"),
    )
}

/// Emulator events of one type.
async fn emulator_events(app: &TestApp, kind: &str) -> usize {
    let events: serde_json::Value = app.emulator_get("/_emulator/events").await;
    events["data"]
        .as_array()
        .or_else(|| events.as_array())
        .map(|list| list.iter().filter(|e| e["type"] == kind).count())
        .unwrap_or(0)
}

async fn a_year_of_monthly_renewals_on_a_test_clock_yields_twelve_invoices(app: TestApp) {
    app.subscribed("pro_monthly", "3").await;
    let (_, clock) = app.first_org_on_test_clock().await;
    // 2026-01-15 12:00 + 365 days = 2027-01-15 12:00: renewals on the 15th of Feb … Jan.
    let summary = advance(&app, &clock, 365 * DAY).await;
    assert_eq!(summary.renewed, 12, "{summary}");
    assert_eq!(summary.payments_succeeded, 12, "{summary}");
    assert_eq!(summary.collected.get("USD"), Some(&(12 * 3600)));

    let invoices = cycle_invoices(&app).await;
    assert_eq!(invoices.len(), 12);
    let mut start = chrono::DateTime::parse_from_rfc3339("2026-02-15T12:00:00Z")
        .unwrap()
        .timestamp();
    for (i, (number, status, total, due, period_start, period_end, attempts)) in
        invoices.iter().enumerate()
    {
        // The checkout's invoice is 0001; renewals follow without gaps.
        assert_eq!(number, &format!("{:04}", i + 2));
        assert_eq!(status, "paid");
        // 3 seats × $12.00 = $36.00, billed in advance for each month.
        assert_eq!((*total, *due, *attempts), (3600, 3600, 1));
        assert_eq!(
            *period_start, start,
            "invoice {number} starts where the last ended"
        );
        assert!(*period_end > *period_start);
        start = *period_end;
    }
    let (_, status, _, period_end) = subscription(&app).await;
    assert_eq!(status, "active");
    assert_eq!(
        period_end,
        chrono::DateTime::parse_from_rfc3339("2027-02-15T12:00:00Z")
            .unwrap()
            .timestamp()
    );
    assert_eq!(app.count("payments").await, 13);
    // Exactly one charge at Stripe per invoice: the checkout's and twelve renewals.
    assert_eq!(emulator_events(&app, "payment_intent.succeeded").await, 13);
    // Nothing more is due: advancing a minute does nothing.
    let again = advance(&app, &clock, 60).await;
    assert_eq!(again.processed(), 0);
}

async fn a_card_that_always_declines_walks_the_whole_dunning_path(app: TestApp) {
    let browser = app.subscribed("pro_monthly", "2").await;
    // The customer saves 4000 0000 0000 0341: it attaches, but every charge is declined.
    app.add_card(&browser, "4000000000000341", 2).await;
    let (_, clock) = app.first_org_on_test_clock().await;

    // The renewal on 15 Feb fails: the invoice stays open, the plan is past due, the owner is told.
    advance(&app, &clock, 31 * DAY).await;
    let invoices = cycle_invoices(&app).await;
    assert_eq!(invoices.len(), 1);
    assert_eq!((invoices[0].1.as_str(), invoices[0].6), ("open", 1));
    assert_eq!(subscription(&app).await.1, "past_due");
    let (code, page) = page_html(&app, &browser, "/billing").await;
    assert_eq!(code, StatusCode::OK);
    assert!(page.contains("data-testid=\"past-due\""), "{page}");

    // Retries 3, 5 and 7 days after each other (18 Feb, 23 Feb, 2 Mar) all fail.
    advance(&app, &clock, 3 * DAY).await;
    assert_eq!(cycle_invoices(&app).await[0].6, 2);
    advance(&app, &clock, 5 * DAY).await;
    assert_eq!(cycle_invoices(&app).await[0].6, 3);
    assert_eq!(subscription(&app).await.1, "past_due");
    let summary = advance(&app, &clock, 7 * DAY).await;
    assert_eq!(summary.moved_to_free, 1, "{summary}");
    let invoices = cycle_invoices(&app).await;
    assert_eq!(
        (invoices[0].1.as_str(), invoices[0].6),
        ("uncollectible", 4)
    );

    // Paid service stopped: the organisation is on the free plan.
    let (price, status, quantity, _) = subscription(&app).await;
    assert_eq!(
        (price.as_str(), status.as_str(), quantity),
        ("free_monthly", "active", 1)
    );
    // One email per failed attempt, each with a link to pay; the last says the plan stopped.
    let mails: Vec<(String, String)> =
        sqlx::query("SELECT subject, body FROM email_outbox WHERE subject LIKE '%invoice 0002%' OR subject LIKE '%(invoice 0002)%' ORDER BY created_at")
            .fetch_all(&app.db().pool)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("subject"), r.get("body")))
            .collect();
    assert_eq!(mails.len(), 4, "{mails:?}");
    assert!(mails
        .iter()
        .all(|(_, body)| body.contains("/billing/invoices/inv_")));
    assert!(mails[0].1.contains("18 February 2026"), "{}", mails[0].1);
    assert!(mails[3].0.starts_with("Final notice"), "{}", mails[3].0);
    // No money moved for the declined attempts, and the free plan bills nothing.
    assert_eq!(app.count("payments").await, 1);
    let later = advance(&app, &clock, 60 * DAY).await;
    assert_eq!(later.invoices_created, 0, "{later}");
}

async fn paying_an_open_invoice_settles_it_and_reactivates_the_plan(app: TestApp) {
    let browser = app.subscribed("pro_monthly", "2").await;
    app.add_card(&browser, "4000000000000341", 2).await;
    let (_, clock) = app.first_org_on_test_clock().await;
    advance(&app, &clock, 31 * DAY).await;
    let invoice_id: String =
        sqlx::query("SELECT id FROM invoices WHERE billing_reason = 'subscription_cycle'")
            .fetch_one(&app.db().pool)
            .await
            .unwrap()
            .get("id");

    // The detail page explains the line and offers to pay what is due.
    let (code, page) = page_html(&app, &browser, &format!("/billing/invoices/{invoice_id}")).await;
    assert_eq!(code, StatusCode::OK);
    assert!(page.contains("2 seats × $12.00"), "{page}");
    assert!(page.contains("Pay $24.00 now"), "{page}");
    assert!(page.contains("data-testid=\"payment-note\""));

    // The PDF carries the same total; another organisation cannot read it.
    let pdf = app
        .get_with(&browser, &format!("/billing/invoices/{invoice_id}/pdf"))
        .await;
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("%PDF-1.") && text.trim_end().ends_with("%%EOF"));
    assert!(
        text.contains("(Invoice 0002)") && text.contains("($24.00)"),
        "{text}"
    );
    let stranger = TestApp::browser();
    app.sign_up(&stranger, "someone@elsewhere.test", "Elsewhere")
        .await;
    let denied = app
        .get_with(&stranger, &format!("/billing/invoices/{invoice_id}/pdf"))
        .await;
    assert_eq!(denied.status(), StatusCode::NOT_FOUND);
    let anonymous = app
        .get_with(
            &TestApp::browser(),
            &format!("/billing/invoices/{invoice_id}/pdf"),
        )
        .await;
    assert!(anonymous.status().is_redirection());
    assert!(location(&anonymous)
        .unwrap_or_default()
        .starts_with("/sign-in"));

    // Pay now: a hosted page for exactly what is due, paid with a good card.
    let response = app
        .submit_form(
            &browser,
            &format!("/billing/invoices/{invoice_id}"),
            "/api/billing/invoice/pay",
            &[("id", &invoice_id)],
        )
        .await;
    let url = location(&response).expect("redirect to the hosted page");
    let session = url.rsplit('/').next().unwrap().to_string();
    let paid = app
        .emulator_control(
            &format!("/_emulator/checkout/{session}/complete"),
            json!({ "card": "4242424242424242" }),
        )
        .await;
    assert_eq!(paid.status(), StatusCode::OK);
    app.eventually_count("payments", 2).await;
    let invoices = cycle_invoices(&app).await;
    assert_eq!(invoices[0].1, "paid");
    assert_eq!(subscription(&app).await.1, "active");
    // The card just used is now the default, so the next renewal succeeds.
    let default: String = sqlx::query("SELECT last4 FROM payment_methods WHERE is_default = 1")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("last4");
    assert_eq!(default, "4242");
    let summary = advance(&app, &clock, 28 * DAY).await;
    assert_eq!(
        (summary.renewed, summary.payments_succeeded),
        (1, 1),
        "{summary}"
    );
    // Paying again is refused with a clear message.
    let again = app
        .call(&browser, "/api/billing/invoice/pay", &[("id", &invoice_id)])
        .await;
    assert!(!again.status().is_success());
    assert!(again.text().await.unwrap().contains("nothing left to pay"));
}

async fn cancelled_plans_move_to_free_and_scheduled_downgrades_apply_at_renewal(app: TestApp) {
    let browser = app.subscribed("team_monthly", "5").await;
    let (org, clock) = app.first_org_on_test_clock().await;
    let version = |app: &TestApp| {
        let org = org.clone();
        let db = app.db().clone();
        async move {
            billing_portal::store::subscriptions::live_for_org(
                &db,
                &billing_portal::domain::ids::OrgId::parse(&org).unwrap(),
            )
            .await
            .unwrap()
            .unwrap()
            .version
            .to_string()
        }
    };
    // Downgrade Team × 5 → Pro × 5: scheduled for the period end, applied by the renewal.
    let v = version(&app).await;
    let scheduled = app
        .call(
            &browser,
            "/api/billing/plan/change",
            &[
                ("price_id", "pro_monthly"),
                ("seats", "5"),
                ("expected_due", "0"),
                ("version", &v),
            ],
        )
        .await;
    assert!(
        scheduled.status().is_success(),
        "{}",
        scheduled.text().await.unwrap()
    );
    advance(&app, &clock, 31 * DAY).await;
    let (price, status, quantity, _) = subscription(&app).await;
    assert_eq!(
        (price.as_str(), status.as_str(), quantity),
        ("pro_monthly", "active", 5)
    );
    // 5 seats × $12.00 = $60.00 for the new period, not Team's $125.00.
    assert_eq!(cycle_invoices(&app).await[0].2, 6000);

    // Cancel at the period end: the renewal moves the organisation to Free, billing nothing.
    let v = version(&app).await;
    let cancelled = app
        .call(
            &browser,
            "/api/billing/plan/cancel",
            &[
                ("reason", "too_expensive"),
                ("details", ""),
                ("version", &v),
            ],
        )
        .await;
    assert!(
        cancelled.status().is_success(),
        "{}",
        cancelled.text().await.unwrap()
    );
    let summary = advance(&app, &clock, 31 * DAY).await;
    assert_eq!(
        (summary.moved_to_free, summary.invoices_created),
        (1, 0),
        "{summary}"
    );
    let (price, status, _, _) = subscription(&app).await;
    assert_eq!(
        (price.as_str(), status.as_str()),
        ("free_monthly", "active")
    );
    let kinds: Vec<String> =
        sqlx::query("SELECT kind FROM subscription_changes WHERE actor = 'system' ORDER BY created_at, effective_at")
            .fetch_all(&app.db().pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("kind"))
            .collect();
    assert_eq!(kinds, ["renewal_with_scheduled_change", "moved_to_free"]);
}

async fn two_instances_sharing_a_database_bill_each_invoice_once(app: TestApp) {
    const ORGS: usize = 6;
    app.many_subscribed(ORGS, "pro_monthly", "1").await;
    // Three months pass for everyone; two instances, each with its own connection pool, run
    // the bill run at the same moment.
    app.clock.advance_secs(92 * DAY);
    let second_db = billing_portal::store::connect(&app.state.config.database_url)
        .await
        .unwrap();
    let mut second = app.state.clone();
    second.db = second_db;
    let options = |name: &str| RunOptions {
        holder: name.into(),
        concurrency: 3,
        batch: 2,
        ..RunOptions::for_state(&app.state)
    };
    let (options_a, options_b) = (options("a"), options("b"));
    let (a, b) = tokio::join!(
        bill_run::run_due(&app.state, &options_a, &|_| {}),
        bill_run::run_due(&second, &options_b, &|_| {}),
    );
    assert!(a.errors.is_empty() && b.errors.is_empty(), "{a:?} {b:?}");
    // 6 organisations × 3 renewals (15 Feb, 15 Mar, 15 Apr), between the two instances.
    assert_eq!(a.renewed + b.renewed, 18, "a: {a}; b: {b}");
    assert_eq!(
        a.payments_succeeded + b.payments_succeeded,
        18,
        "a: {a}; b: {b}"
    );
    assert_eq!(cycle_invoices(&app).await.len(), 18);
    let duplicates: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM (SELECT subscription_id, period_start FROM invoices \
         WHERE billing_reason = 'subscription_cycle' GROUP BY subscription_id, period_start HAVING COUNT(*) > 1) d",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap()
    .get("n");
    assert_eq!(duplicates, 0);
    assert_eq!(app.count("payments").await, 6 + 18);
    assert_eq!(
        emulator_events(&app, "payment_intent.succeeded").await,
        6 + 18,
        "one charge per invoice at Stripe"
    );
}

async fn cards_are_added_made_default_and_the_last_one_is_kept(app: TestApp) {
    let browser = app.subscribed("pro_monthly", "1").await;
    // The only card cannot be removed while the paid plan renews with it.
    let only: String = sqlx::query("SELECT id FROM payment_methods")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("id");
    let refused = app
        .call(
            &browser,
            "/api/billing/payment-methods/remove",
            &[("id", &only)],
        )
        .await;
    assert!(!refused.status().is_success());
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("Add another card first"));

    app.add_card(&browser, "5555555555554444", 2).await;
    let (code, page) = page_html(&app, &browser, "/billing/payment-methods").await;
    assert_eq!(code, StatusCode::OK);
    assert!(page.contains("Mastercard ending 4444"), "{page}");
    // The new card became the default; switch back, then remove the Mastercard.
    let made = app
        .call(
            &browser,
            "/api/billing/payment-methods/default",
            &[("id", &only)],
        )
        .await;
    assert!(made.status().is_success());
    let other: String = sqlx::query("SELECT id FROM payment_methods WHERE is_default = 0")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("id");
    let removed = app
        .call(
            &browser,
            "/api/billing/payment-methods/remove",
            &[("id", &other)],
        )
        .await;
    assert!(
        removed.status().is_success(),
        "{}",
        removed.text().await.unwrap()
    );
    assert_eq!(app.count("payment_methods").await, 1);
    // A card of another organisation is not found, whatever its id.
    let stranger = TestApp::browser();
    app.sign_up(&stranger, "someone@elsewhere.test", "Elsewhere")
        .await;
    let foreign = app
        .call(
            &stranger,
            "/api/billing/payment-methods/remove",
            &[("id", &only)],
        )
        .await;
    assert!(!foreign.status().is_success());
    assert_eq!(app.count("payment_methods").await, 1);
}

async fn unused_time_becomes_credit_that_renewals_use_first(app: TestApp) {
    use billing_portal::wire::plan::{preview, PlanPage};
    let browser = app.subscribed("pro_annual", "2").await;
    app.clock.advance_secs(DAY);
    // Annual → monthly is applied now: a day of the year is used, the rest is worth more than
    // a month of monthly, and the difference becomes account credit.
    let page: PlanPage = app
        .call(&browser, "/api/billing/plan", &[])
        .await
        .json()
        .await
        .unwrap();
    let current = page.current.clone().unwrap();
    let monthly = page
        .plans
        .iter()
        .flat_map(|p| p.prices.iter())
        .find(|p| p.id == "pro_monthly")
        .unwrap();
    let p = preview(&current, monthly, 2, page.now, &page.policies).unwrap();
    assert_eq!(p.amount_due_now.minor_units(), 0);
    // 2 seats × $120.00 × 364 of 365 days = $239.34 unused; a month of 2 × $12.00 = $24.00.
    assert_eq!(p.credit_to_balance.minor_units(), 23934 - 2400);
    let changed = app
        .call(
            &browser,
            "/api/billing/plan/change",
            &[
                ("price_id", "pro_monthly"),
                ("seats", "2"),
                ("expected_due", "0"),
                ("version", &current.version.to_string()),
            ],
        )
        .await;
    assert!(
        changed.status().is_success(),
        "{}",
        changed.text().await.unwrap()
    );
    let balance = |app: &TestApp| {
        let db = app.db().clone();
        async move {
            let r = sqlx::query("SELECT CAST(SUM(amount) AS BIGINT) AS b FROM credit_ledger")
                .fetch_one(&db.pool)
                .await
                .unwrap();
            r.get::<i64, _>("b")
        }
    };
    assert_eq!(balance(&app).await, 21534);
    let (code, page) = page_html(&app, &browser, "/billing/invoices").await;
    assert_eq!(code, StatusCode::OK);
    assert!(page.contains("Account credit: $215.34"), "{page}");

    // The next two monthly invoices are paid from the credit: nothing is charged.
    let (_, clock) = app.first_org_on_test_clock().await;
    let summary = advance(&app, &clock, 61 * DAY).await;
    assert_eq!(
        (summary.renewed, summary.payments_succeeded),
        (2, 0),
        "{summary}"
    );
    let paid_by_credit: Vec<(i64, i64, String)> = sqlx::query(
        "SELECT credit_applied, amount_due, status FROM invoices WHERE billing_reason = 'subscription_cycle' ORDER BY period_start",
    )
    .fetch_all(&app.db().pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("credit_applied"), r.get("amount_due"), r.get("status")))
    .collect();
    assert_eq!(
        paid_by_credit,
        [(2400, 0, "paid".to_string()), (2400, 0, "paid".to_string())]
    );
    assert_eq!(balance(&app).await, 21534 - 4800);
    assert_eq!(app.count("payments").await, 1);
}

async fn credit_notes_never_exceed_the_invoice_and_void_stops_collection(app: TestApp) {
    use billing_portal::store::credit_notes::{self, CreditOutcome, NewCreditNote};
    let browser = app.subscribed("pro_monthly", "2").await;
    let (org, clock) = app.first_org_on_test_clock().await;
    let org = billing_portal::domain::ids::OrgId::parse(&org).unwrap();
    let first: String = sqlx::query("SELECT id FROM invoices")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("id");
    let note = |invoice: &str, amount: i64, outcome: CreditOutcome| {
        let org = org.clone();
        let invoice = billing_portal::domain::ids::InvoiceId::parse(invoice).unwrap();
        let db = app.db().clone();
        let now = app.state.now();
        async move {
            credit_notes::issue(
                &db,
                &NewCreditNote {
                    org_id: &org,
                    invoice_id: &invoice,
                    amount,
                    outcome,
                    reason: "service outage",
                    actor: "agent@support.test",
                },
                now,
            )
            .await
        }
    };
    // The paid $24.00 invoice: $10.00 to the balance, then at most $14.00 more.
    let cn = note(&first, 1000, CreditOutcome::CreditBalance)
        .await
        .unwrap();
    assert_eq!(
        (cn.number.as_str(), cn.amount.to_string()),
        ("CN-0001", "$10.00".to_string())
    );
    let too_much = note(&first, 1401, CreditOutcome::Refund).await.unwrap_err();
    assert_eq!(
        too_much.to_string(),
        "at most $14.00 can still be credited on this invoice"
    );
    assert!(note(&first, 0, CreditOutcome::Refund).await.is_err());
    assert!(note(&first, 100, CreditOutcome::ReduceDue)
        .await
        .unwrap_err()
        .to_string()
        .contains("only what is still due can be reduced"));
    // The balance pays part of the next renewal: $24.00 − $10.00 = $14.00 charged.
    let summary = advance(&app, &clock, 31 * DAY).await;
    assert_eq!(summary.collected.get("USD"), Some(&1400), "{summary}");

    // A declining card leaves the next invoice open; reducing part of it, then voiding it,
    // stops collection and the plan is active again.
    app.add_card(&browser, "4000000000000341", 2).await;
    advance(&app, &clock, 29 * DAY).await;
    let open: String = sqlx::query("SELECT id FROM invoices WHERE status = 'open'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("id");
    assert_eq!(subscription(&app).await.1, "past_due");
    note(&open, 400, CreditOutcome::ReduceDue).await.unwrap();
    let due: i64 = sqlx::query("SELECT amount_due FROM invoices WHERE id = $1")
        .bind(&open)
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("amount_due");
    assert_eq!(due, 2000);
    let now = app.state.now();
    let open = billing_portal::domain::ids::InvoiceId::parse(&open).unwrap();
    credit_notes::void(app.db(), &org, &open, now)
        .await
        .unwrap();
    assert_eq!(subscription(&app).await.1, "active");
    assert!(credit_notes::void(app.db(), &org, &open, now)
        .await
        .unwrap_err()
        .to_string()
        .contains("only an open invoice can be voided"));
    // No more attempts on the void invoice.
    let later = advance(&app, &clock, 10 * DAY).await;
    assert_eq!(later.payments_failed, 0, "{later}");
}
