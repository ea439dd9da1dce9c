//! Changing a subscription over HTTP on SQLite and PostgreSQL: upgrades charged now, downgrades
//! and seat decreases scheduled (and undone), interval switches, cancel and resume, declines,
//! stale previews and concurrent changes. Every amount is checked against the same domain
//! preview the page computes, and against a hand-computed figure.
#![cfg(feature = "ssr")]

mod common;

use billing_portal::wire::plan::{preview, PlanPage};
use chrono::{TimeZone, Utc};
use common::TestApp;
use reqwest::{Client, StatusCode};
use serde_json::json;
use sqlx::Row;

on_both_databases!(
    an_upgrade_is_charged_now_exactly_as_previewed,
    a_changed_figure_is_not_charged,
    a_downgrade_is_scheduled_and_can_be_undone,
    seats_go_up_now_and_down_at_renewal,
    an_interval_switch_starts_a_new_year,
    a_declined_card_changes_nothing,
    concurrent_changes_charge_once_and_tell_the_loser,
    cancel_needs_a_reason_and_can_be_resumed,
    leap_year_month_end_periods_prorate_to_the_second,
    a_plain_form_post_comes_back_with_its_signed_notice,
    a_plans_change_policies_come_from_the_catalog,
    scheduled_changes_compose_in_either_order,
);

const DAY: i64 = 86_400;

async fn plan_page(app: &TestApp, browser: &Client) -> PlanPage {
    app.call(browser, "/api/billing/plan", &[])
        .await
        .json()
        .await
        .expect("plan page JSON")
}

/// What the page would show as due now for `price_id` × `seats`.
async fn browser_preview(
    app: &TestApp,
    browser: &Client,
    price_id: &str,
    seats: i64,
) -> (i64, i64) {
    let page = plan_page(app, browser).await;
    let current = page.current.expect("a subscription");
    let price = page
        .plans
        .iter()
        .flat_map(|p| p.prices.iter())
        .find(|p| p.id == price_id)
        .unwrap();
    let p = preview(&current, price, seats, page.now, &page.policies).unwrap();
    (p.amount_due_now.minor_units(), current.version)
}

async fn change(
    app: &TestApp,
    browser: &Client,
    price_id: &str,
    seats: i64,
    due: i64,
    version: i64,
) -> reqwest::Response {
    app.call(
        browser,
        "/api/billing/plan/change",
        &[
            ("price_id", price_id),
            ("seats", &seats.to_string()),
            ("expected_due", &due.to_string()),
            ("version", &version.to_string()),
        ],
    )
    .await
}

async fn subscription(app: &TestApp) -> (String, i64, Option<String>, Option<i64>, i64, i64) {
    let r = sqlx::query(
        "SELECT price_id, quantity, scheduled_price_id, scheduled_quantity, current_period_start, current_period_end FROM subscriptions",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    (
        r.get("price_id"),
        r.get("quantity"),
        r.get("scheduled_price_id"),
        r.get("scheduled_quantity"),
        r.get("current_period_start"),
        r.get("current_period_end"),
    )
}

async fn an_upgrade_is_charged_now_exactly_as_previewed(app: TestApp) {
    // Pro monthly, 5 seats, paid on 15 January 12:00; period to 15 February (31 days).
    let browser = app.subscribed("pro_monthly", "5").await;
    app.clock.advance_secs(10 * DAY);
    let (due, version) = browser_preview(&app, &browser, "team_monthly", 5).await;
    // Credit: 6000 × 21/31 = 4064.52 → 4065; charge: 12500 × 21/31 = 8467.74 → 8468.
    assert_eq!(due, 8468 - 4065);
    let response = change(&app, &browser, "team_monthly", 5, due, version).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap()
    );
    let (price, quantity, ..) = subscription(&app).await;
    assert_eq!((price.as_str(), quantity), ("team_monthly", 5));
    let invoice = sqlx::query("SELECT total, status, number FROM invoices ORDER BY number DESC")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(
        invoice.get::<i64, _>("total"),
        4403,
        "the server charged what the page showed"
    );
    assert_eq!(invoice.get::<String, _>("status"), "paid");
    assert_eq!(invoice.get::<String, _>("number"), "0002");
    assert_eq!(app.count("payments").await, 2);
    let record = sqlx::query("SELECT kind, actor, amount_due FROM subscription_changes")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(record.get::<String, _>("kind"), "upgrade");
    assert_eq!(record.get::<String, _>("actor"), "owner@example.com");
    assert_eq!(record.get::<i64, _>("amount_due"), 4403);
}

async fn a_changed_figure_is_not_charged(app: TestApp) {
    let browser = app.subscribed("pro_monthly", "5").await;
    app.clock.advance_secs(10 * DAY);
    let (due, version) = browser_preview(&app, &browser, "team_monthly", 5).await;
    // An hour passes between preview and confirmation: the server's figure wins.
    app.clock.advance_secs(3600);
    let response = change(&app, &browser, "team_monthly", 5, due, version).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body = response.text().await.unwrap();
    assert!(body.contains("The amount due now is $"), "{body}");
    assert_eq!(subscription(&app).await.0, "pro_monthly");
    assert_eq!(app.count("payments").await, 1);
}

async fn a_downgrade_is_scheduled_and_can_be_undone(app: TestApp) {
    let browser = app.subscribed("team_monthly", "4").await;
    app.clock.advance_secs(3 * DAY);
    let (due, version) = browser_preview(&app, &browser, "pro_monthly", 4).await;
    assert_eq!(due, 0, "downgrades wait for renewal");
    let response = change(&app, &browser, "pro_monthly", 4, due, version).await;
    let body = response.text().await.unwrap();
    assert!(
        body.contains("Scheduled") && body.contains("15 February 2026"),
        "{body}"
    );
    let (price, _, scheduled, scheduled_quantity, ..) = subscription(&app).await;
    assert_eq!(price, "team_monthly");
    assert_eq!(
        (scheduled.as_deref(), scheduled_quantity),
        (Some("pro_monthly"), Some(4))
    );
    let html = app
        .get_with(&browser, "/billing/plan")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Scheduled: Pro with 4 seat(s) from 15 February 2026."));

    let version = plan_page(&app, &browser).await.current.unwrap().version;
    let undo = app
        .call(
            &browser,
            "/api/billing/plan/undo",
            &[("version", &version.to_string())],
        )
        .await;
    assert_eq!(undo.status(), StatusCode::OK);
    assert_eq!(subscription(&app).await.2, None);
    assert_eq!(app.count("payments").await, 1, "nothing was charged");
}

async fn seats_go_up_now_and_down_at_renewal(app: TestApp) {
    let browser = app.subscribed("team_monthly", "3").await;
    app.clock.advance_secs(DAY);
    // 2 more seats × $25.00 × 30/31 days = 4838.71 → 4839, charged now.
    let (due, version) = browser_preview(&app, &browser, "team_monthly", 5).await;
    assert_eq!(due, 4839);
    assert_eq!(
        change(&app, &browser, "team_monthly", 5, due, version)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(subscription(&app).await.1, 5);

    // A scheduled downgrade survives a later seat increase.
    let (due, version) = browser_preview(&app, &browser, "pro_monthly", 5).await;
    assert_eq!(due, 0);
    assert_eq!(
        change(&app, &browser, "pro_monthly", 5, due, version)
            .await
            .status(),
        StatusCode::OK
    );
    let (due, version) = browser_preview(&app, &browser, "team_monthly", 6).await;
    assert_eq!(due, 2419, "1 seat × $25.00 × 30/31 = 2419.35");
    assert_eq!(
        change(&app, &browser, "team_monthly", 6, due, version)
            .await
            .status(),
        StatusCode::OK
    );
    let (price, quantity, scheduled, scheduled_quantity, ..) = subscription(&app).await;
    assert_eq!((price.as_str(), quantity), ("team_monthly", 6));
    assert_eq!(
        (scheduled.as_deref(), scheduled_quantity),
        (Some("pro_monthly"), Some(5))
    );

    // Fewer seats wait for renewal.
    let version = plan_page(&app, &browser).await.current.unwrap().version;
    app.call(
        &browser,
        "/api/billing/plan/undo",
        &[("version", &version.to_string())],
    )
    .await;
    let (due, version) = browser_preview(&app, &browser, "team_monthly", 4).await;
    assert_eq!(due, 0);
    assert_eq!(
        change(&app, &browser, "team_monthly", 4, due, version)
            .await
            .status(),
        StatusCode::OK
    );
    let (_, quantity, scheduled, scheduled_quantity, ..) = subscription(&app).await;
    assert_eq!(
        (quantity, scheduled.as_deref(), scheduled_quantity),
        (6, Some("team_monthly"), Some(4))
    );

    // Never below the plan's minimum, nor the members.
    let version = plan_page(&app, &browser).await.current.unwrap().version;
    let refused = change(&app, &browser, "team_monthly", 2, 0, version)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        refused.contains("Team needs at least 3 seats."),
        "{refused}"
    );
    assert_eq!(app.count("payments").await, 3);
}

async fn an_interval_switch_starts_a_new_year(app: TestApp) {
    let browser = app.subscribed("pro_monthly", "5").await;
    app.clock.advance_secs(10 * DAY);
    let (due, version) = browser_preview(&app, &browser, "pro_annual", 5).await;
    // A year of 5 × $120.00 = 60000, less 4065 unused of the month.
    assert_eq!(due, 60000 - 4065);
    assert_eq!(
        change(&app, &browser, "pro_annual", 5, due, version)
            .await
            .status(),
        StatusCode::OK
    );
    let (price, _, _, _, start, end) = subscription(&app).await;
    assert_eq!(price, "pro_annual");
    assert_eq!(
        start,
        Utc.with_ymd_and_hms(2026, 1, 25, 12, 0, 0)
            .unwrap()
            .timestamp()
    );
    assert_eq!(
        end,
        Utc.with_ymd_and_hms(2027, 1, 25, 12, 0, 0)
            .unwrap()
            .timestamp()
    );
}

async fn a_declined_card_changes_nothing(app: TestApp) {
    let browser = app.subscribed("pro_monthly", "5").await;
    app.clock.advance_secs(10 * DAY);
    let (due, version) = browser_preview(&app, &browser, "team_monthly", 5).await;
    app.emulator_control("/_emulator/fail_next", json!({ "status": 402 }))
        .await;
    let response = change(&app, &browser, "team_monthly", 5, due, version).await;
    let body = response.text().await.unwrap();
    assert!(
        body.contains("Your card was not charged") && body.contains("Nothing was changed"),
        "{body}"
    );
    assert_eq!(subscription(&app).await.0, "pro_monthly");
    assert_eq!(app.count("invoices").await, 1);
    assert_eq!(app.count("subscription_changes").await, 0);
}

async fn concurrent_changes_charge_once_and_tell_the_loser(app: TestApp) {
    let browser = app.subscribed("pro_monthly", "2").await;
    // A second admin of the same organisation, in another browser.
    let other = TestApp::browser();
    app.sign_in(&other, "owner@example.com", common::PASSWORD)
        .await;
    app.clock.advance_secs(DAY);
    let (due_a, version) = browser_preview(&app, &browser, "pro_monthly", 4).await;
    let (due_b, _) = browser_preview(&app, &other, "pro_monthly", 6).await;
    let (a, b) = tokio::join!(
        change(&app, &browser, "pro_monthly", 4, due_a, version),
        change(&app, &other, "pro_monthly", 6, due_b, version),
    );
    let statuses = [a.status(), b.status()];
    let bodies = [a.text().await.unwrap(), b.text().await.unwrap()];
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{bodies:?}"
    );
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("changed since you opened the page")),
        "{bodies:?}"
    );
    let quantity = subscription(&app).await.1;
    assert!(quantity == 4 || quantity == 6);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        app.count("payments").await,
        2,
        "the first payment and one change"
    );
    assert_eq!(app.count("subscription_changes").await, 1);
}

async fn cancel_needs_a_reason_and_can_be_resumed(app: TestApp) {
    let browser = app.subscribed("pro_monthly", "1").await;
    let version = plan_page(&app, &browser)
        .await
        .current
        .unwrap()
        .version
        .to_string();
    let no_reason = app
        .call(
            &browser,
            "/api/billing/plan/cancel",
            &[("reason", ""), ("details", ""), ("version", &version)],
        )
        .await;
    assert!(no_reason
        .text()
        .await
        .unwrap()
        .contains("Choose a reason for cancelling."));
    let ok = app
        .call(
            &browser,
            "/api/billing/plan/cancel",
            &[
                ("reason", "too_expensive"),
                ("details", "budget cut"),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let r = sqlx::query("SELECT cancel_at_period_end, cancel_reason, status FROM subscriptions")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(r.get::<i64, _>("cancel_at_period_end"), 1);
    assert_eq!(
        r.get::<String, _>("cancel_reason"),
        "too_expensive: budget cut"
    );
    assert_eq!(
        r.get::<String, _>("status"),
        "active",
        "access continues until the period ends"
    );
    let html = app
        .get_with(&browser, "/billing/plan")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Cancels on 15 February 2026"));

    let version = plan_page(&app, &browser)
        .await
        .current
        .unwrap()
        .version
        .to_string();
    let resumed = app
        .call(
            &browser,
            "/api/billing/plan/resume",
            &[("version", &version)],
        )
        .await;
    assert_eq!(resumed.status(), StatusCode::OK);
    let r = sqlx::query("SELECT cancel_at_period_end FROM subscriptions")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(r.get::<i64, _>("cancel_at_period_end"), 0);
    let kinds: Vec<String> =
        sqlx::query("SELECT kind FROM subscription_changes ORDER BY created_at, kind")
            .fetch_all(&app.db().pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("kind"))
            .collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&"cancel".to_string()) && kinds.contains(&"resume".to_string()));
}

async fn leap_year_month_end_periods_prorate_to_the_second(app: TestApp) {
    // Subscribed on 31 January 2028: the first period ends on 29 February (a leap year).
    app.clock
        .set(Utc.with_ymd_and_hms(2028, 1, 31, 0, 0, 0).unwrap());
    let browser = app.subscribed("pro_monthly", "1").await;
    let (.., start, end) = subscription(&app).await;
    assert_eq!(
        end,
        Utc.with_ymd_and_hms(2028, 2, 29, 0, 0, 0)
            .unwrap()
            .timestamp()
    );
    assert_eq!((end - start) / DAY, 29);
    // Upgrade on 10 February 00:00: 19 of 29 days remain.
    app.clock
        .set(Utc.with_ymd_and_hms(2028, 2, 10, 0, 0, 0).unwrap());
    let (due, version) = browser_preview(&app, &browser, "team_monthly", 3).await;
    // Credit 1200 × 19/29 = 786.21 → 786; charge 7500 × 19/29 = 4913.79 → 4914.
    assert_eq!(due, 4914 - 786);
    assert_eq!(
        change(&app, &browser, "team_monthly", 3, due, version)
            .await
            .status(),
        StatusCode::OK
    );
    let total: i64 = sqlx::query("SELECT total FROM invoices WHERE number = '0002'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("total");
    assert_eq!(total, 4128);
}

/// A change posted as a plain form (JavaScript off, or any form outside an island) comes back to
/// the page it was sent from, with the answer as a notice signed for this browser and page: the
/// page shows it, and shows nothing for changed words, another page or another browser.
async fn a_plain_form_post_comes_back_with_its_signed_notice(app: TestApp) {
    let browser = app.subscribed("pro_monthly", "5").await;
    app.clock.advance_secs(10 * DAY);
    let (due, version) = browser_preview(&app, &browser, "team_monthly", 5).await;
    let response = app
        .submit_form(
            &browser,
            "/billing/plan?seats=6",
            "/api/billing/plan/change",
            &[
                ("price_id", "team_monthly"),
                ("seats", "5"),
                ("expected_due", &due.to_string()),
                ("version", &version.to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let back = common::location(&response).expect("a redirect back");
    assert!(
        back.starts_with("/billing/plan?seats=6&notice=Done."),
        "{back}"
    );
    let sentence = "Done. $44.03 was charged to your saved card.";
    let shown = |page: &str| page.contains(sentence);
    async fn html(client: &Client, url: &str) -> String {
        client.get(url).send().await.unwrap().text().await.unwrap()
    }
    let page = html(&browser, &app.url(&back)).await;
    assert!(shown(&page), "{page}");

    // Changed words, another page, another signed-in browser: no notice.
    let forged = back.replace("%2444.03", "%249%2C999.00");
    assert_ne!(forged, back);
    let page = html(&browser, &app.url(&forged)).await;
    assert!(!page.contains("was charged to your saved card"), "{page}");
    let elsewhere = back.replace("/billing/plan?", "/billing/usage?");
    let page = html(&browser, &app.url(&elsewhere)).await;
    assert!(!page.contains(sentence), "{page}");
    let other = TestApp::browser();
    app.sign_in(&other, "owner@example.com", common::PASSWORD)
        .await;
    let page = html(&other, &app.url(&back)).await;
    assert!(
        page.contains("data-testid=\"current-plan-name\""),
        "signed in: {page}"
    );
    assert!(!page.contains(sentence), "{page}");

    // A failed post comes back with its error instead, and no notice.
    let response = app
        .submit_form(
            &browser,
            &back,
            "/api/billing/plan/change",
            &[
                ("price_id", "pro_monthly"),
                ("seats", "5"),
                ("expected_due", "1"),
                ("version", "0"),
            ],
        )
        .await;
    let (_, page) = app.follow(&browser, response).await;
    assert!(!page.contains(sentence), "{page}");
    assert!(page.contains("data-testid=\"form-error\""), "{page}");
}

async fn a_plans_change_policies_come_from_the_catalog(app: TestApp) {
    let browser = app.subscribed("team_monthly", "6").await;
    app.clock.advance_secs(DAY);
    // Team's seat decreases take effect now, credited; its downgrades stay at renewal.
    let (revision, mut file) = billing_portal::store::catalog::published(app.db())
        .await
        .unwrap();
    let team = file.plans.iter_mut().find(|p| p.id == "team").unwrap();
    team.policies.seat_decrease = billing_portal::domain::ProrationPolicy::ProrateNowInvoiceNow;
    let text = billing_portal::services::catalog::render(&file);
    assert!(
        text.contains("[plans.policies]")
            && text.contains("seat_decrease = \"prorate_now_invoice_now\""),
        "a plan's policies are written when they are not the defaults: {text}"
    );
    assert_eq!(text.matches("[plans.policies]").count(), 1, "{text}");
    let preview = billing_portal::services::catalog::preview(&app.state, &file)
        .await
        .unwrap();
    assert_eq!(
        preview.changes.iter().map(|c| c.describe()).collect::<Vec<_>>(),
        ["~ plan team: change policies upgrade now, downgrade at renewal, interval switch now, seat increase now, seat decrease now (were upgrade now, downgrade at renewal, interval switch now, seat increase now, seat decrease at renewal)"]
    );
    billing_portal::services::catalog::publish(
        &app.state,
        &file,
        Some(revision),
        &billing_portal::store::audit::Actor::cli(),
    )
    .await
    .unwrap();
    let page = plan_page(&app, &browser).await;
    assert_eq!(
        page.policies.seat_decrease,
        billing_portal::domain::ProrationPolicy::ProrateNowInvoiceNow
    );
    // 2 seats fewer now: the change is not scheduled, and the rest of the period is credited.
    let (due, version) = browser_preview(&app, &browser, "team_monthly", 4).await;
    assert_eq!(due, 0);
    let response = change(&app, &browser, "team_monthly", 4, due, version).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap()
    );
    let (price, quantity, scheduled, scheduled_quantity, ..) = subscription(&app).await;
    assert_eq!((price.as_str(), quantity), ("team_monthly", 4));
    assert_eq!((scheduled, scheduled_quantity), (None, None));
    // 2 seats × $25.00 × 30/31 days = 4838.71 → $48.39 back as account credit.
    let credit: i64 =
        sqlx::query_scalar("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM credit_ledger")
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert_eq!(credit.abs(), 4839);
    // A downgrade still waits for renewal.
    let (due, version) = browser_preview(&app, &browser, "pro_monthly", 4).await;
    assert_eq!(due, 0);
    change(&app, &browser, "pro_monthly", 4, due, version).await;
    let (price, _, scheduled, ..) = subscription(&app).await;
    assert_eq!(
        (price.as_str(), scheduled.as_deref()),
        ("team_monthly", Some("pro_monthly"))
    );
}

async fn scheduled_changes_compose_in_either_order(app: TestApp) {
    let browser = app.subscribed("team_monthly", "6").await;
    app.clock.advance_secs(DAY);
    let schedule = |price: &'static str, seats: i64| {
        let (app, browser) = (&app, &browser);
        async move {
            let (due, version) = browser_preview(app, browser, price, seats).await;
            assert_eq!(due, 0, "{price} × {seats} waits for renewal");
            let response = change(app, browser, price, seats, due, version).await;
            let status = response.status();
            (status, response.text().await.unwrap())
        }
    };
    // A downgrade, then fewer seats on the current plan: the downgrade stays, with the seats.
    assert_eq!(schedule("pro_monthly", 5).await.0, StatusCode::OK);
    assert_eq!(schedule("team_monthly", 4).await.0, StatusCode::OK);
    let (price, quantity, scheduled, scheduled_quantity, ..) = subscription(&app).await;
    assert_eq!((price.as_str(), quantity), ("team_monthly", 6));
    assert_eq!(
        (scheduled.as_deref(), scheduled_quantity),
        (Some("pro_monthly"), Some(4))
    );
    let page = plan_page(&app, &browser).await;
    let shown = page.current.unwrap().scheduled.unwrap();
    assert_eq!((shown.plan_name.as_str(), shown.quantity), ("Pro", 4));
    // Fewer seats than the plan moved to allows are refused, naming that plan.
    let version = plan_page(&app, &browser).await.current.unwrap().version;
    sqlx::query("UPDATE prices SET max_quantity = 3 WHERE id = 'pro_monthly'")
        .execute(&app.db().pool)
        .await
        .unwrap();
    let refused = change(&app, &browser, "team_monthly", 4, 0, version)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        refused.contains("Pro allows at most 3 seat(s)."),
        "{refused}"
    );
    sqlx::query("UPDATE prices SET max_quantity = 50 WHERE id = 'pro_monthly'")
        .execute(&app.db().pool)
        .await
        .unwrap();

    // The other order: fewer seats, then a downgrade, which names its own seats.
    let version = plan_page(&app, &browser).await.current.unwrap().version;
    app.call(
        &browser,
        "/api/billing/plan/undo",
        &[("version", &version.to_string())],
    )
    .await;
    assert_eq!(schedule("team_monthly", 4).await.0, StatusCode::OK);
    assert_eq!(schedule("pro_monthly", 3).await.0, StatusCode::OK);
    let (_, _, scheduled, scheduled_quantity, ..) = subscription(&app).await;
    assert_eq!(
        (scheduled.as_deref(), scheduled_quantity),
        (Some("pro_monthly"), Some(3))
    );

    // At renewal the subscription becomes Pro × 3.
    let (_, clock) = app.first_org_on_test_clock().await;
    let summary = app.advance_clock(&clock, app.state.now() + 32 * DAY).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let (price, quantity, scheduled, ..) = subscription(&app).await;
    assert_eq!(
        (price.as_str(), quantity, scheduled),
        ("pro_monthly", 3, None)
    );
}
