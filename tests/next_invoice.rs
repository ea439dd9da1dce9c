//! What a change leaves for the next invoice: a plan whose policy prorates on the next invoice,
//! and a price migration on a date. Nothing is charged at the change; the renewal invoice (or
//! the final one when paid service stops) bills exactly the lines the change computed, once,
//! and credits that outweigh the charges become account credit.
#![cfg(feature = "ssr")]

mod common;

use billing_portal::domain::access::StaffRole;
use billing_portal::domain::ProrationPolicy;
use billing_portal::services::catalog;
use billing_portal::services::price_migration::{self as migration, Timing};
use billing_portal::store::audit::Actor;
use common::staff_session as session;
use common::TestApp;
use reqwest::{Client, StatusCode};
use sqlx::Row;

on_both_databases!(
    a_seat_increase_on_the_next_invoice_is_billed_with_the_renewal,
    a_seat_decrease_on_the_next_invoice_leaves_account_credit,
    lines_left_for_the_next_invoice_go_on_the_final_invoice_when_the_plan_ends,
    a_migration_on_a_date_moves_mid_period_and_the_renewal_bills_the_difference,
    a_migration_moves_whom_its_request_listed_and_leaves_contract_holders_alone,
    lines_left_when_dunning_stops_the_plan_go_on_a_final_invoice,
    a_late_run_moves_on_a_date_as_of_a_seat_change_made_after_it
);

const DAY: i64 = 86_400;

fn catalog_admin() -> Actor {
    Actor {
        name: "cat@support.test".into(),
        role: "catalog_admin".into(),
    }
}

/// Publishes the catalog with the Pro plan's seat changes prorated on the next invoice.
async fn pro_seats_on_the_next_invoice(app: &TestApp) {
    let (_, mut file) = billing_portal::store::catalog::published(app.db())
        .await
        .unwrap();
    let pro = file.plans.iter_mut().find(|p| p.id == "pro").unwrap();
    pro.policies.seat_increase = ProrationPolicy::ProrateOnNextInvoice;
    pro.policies.seat_decrease = ProrationPolicy::ProrateOnNextInvoice;
    catalog::publish(&app.state, &file, None, &catalog_admin())
        .await
        .unwrap();
}

/// Changes the seats of the browser's subscription, expecting nothing due now; returns the
/// sentence the customer reads.
async fn change_seats(app: &TestApp, browser: &Client, seats: &str) -> String {
    let version = app.plan_version(browser).await;
    let changed = app
        .call(
            browser,
            "/api/billing/plan/change",
            &[
                ("price_id", "pro_monthly"),
                ("seats", seats),
                ("expected_due", "0"),
                ("version", &version),
            ],
        )
        .await;
    let status = changed.status();
    let body = changed.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The lines waiting for the next invoice: (kind, amount), in order.
async fn waiting(app: &TestApp) -> Vec<(String, i64)> {
    sqlx::query(
        "SELECT line, amount FROM pending_invoice_lines WHERE settled_at IS NULL ORDER BY seq",
    )
    .fetch_all(&app.db().pool)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        let line: serde_json::Value = serde_json::from_str(&r.get::<String, _>("line")).unwrap();
        (line["kind"].as_str().unwrap().to_string(), r.get("amount"))
    })
    .collect()
}

/// The lines of the newest invoice of `reason`: (kind, amount), and its total and status.
async fn newest_invoice(app: &TestApp, reason: &str) -> (Vec<(String, i64)>, i64, String) {
    let row = sqlx::query(
        "SELECT id, total, status FROM invoices WHERE billing_reason = $1 ORDER BY created_at DESC, number DESC LIMIT 1",
    )
    .bind(reason)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    let id: String = row.get("id");
    let lines = sqlx::query(
        "SELECT kind, amount FROM invoice_lines WHERE invoice_id = $1 ORDER BY position",
    )
    .bind(&id)
    .fetch_all(&app.db().pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("kind"), r.get("amount")))
    .collect();
    // Every line it billed is settled by it, and nothing is left waiting.
    let open: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pending_invoice_lines WHERE settled_at IS NULL")
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert_eq!(open, 0, "lines left unbilled");
    (lines, row.get("total"), row.get("status"))
}

async fn invoices_now(app: &TestApp) -> i64 {
    app.count("invoices").await
}

/// The kind names the domain's lines carry in JSON and the invoice table stores.
fn as_stored(lines: &[(String, i64)]) -> Vec<(String, i64)> {
    lines
        .iter()
        .map(|(kind, amount)| {
            let kind = match kind.as_str() {
                "proration_credit" => "prorationcredit",
                "proration_charge" => "prorationcharge",
                other => other,
            };
            (kind.to_string(), *amount)
        })
        .collect()
}

async fn a_seat_increase_on_the_next_invoice_is_billed_with_the_renewal(app: TestApp) {
    // Acme: Pro monthly × 3 at $12.00, seat changes prorated on the next invoice.
    let acme = app.subscribed("pro_monthly", "3").await;
    pro_seats_on_the_next_invoice(&app).await;
    let org = app.org_named("Acme").await;
    let clock = app.clock_for(&org).await;
    let start = app.state.now();
    app.advance_clock(&clock, start + 10 * DAY).await;
    let before = invoices_now(&app).await;

    let said = change_seats(&app, &acme, "5").await;
    assert!(said.contains("OnNextInvoice"), "{said}");
    assert!(said.contains("OnNextInvoice"), "{said}");
    // Nothing was charged: no invoice, no payment; the seats changed now.
    assert_eq!(invoices_now(&app).await, before);
    let quantity: i64 = sqlx::query_scalar("SELECT quantity FROM subscriptions")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(quantity, 5);
    let left = waiting(&app).await;
    assert_eq!(
        left.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["proration_credit", "proration_charge"]
    );
    let (credit, charge) = (left[0].1, left[1].1);
    // Unused time of 3 seats back, remaining time of 5 seats charged: the same days, so the
    // charge is the credit × 5/3 to within the rounding of each line.
    assert!(credit < 0 && charge > 0, "{left:?}");
    assert!(
        (charge * 3 + credit * 5).abs() <= 5,
        "credit {credit}, charge {charge}"
    );
    let audited: String =
        sqlx::query_scalar("SELECT note FROM audit_log WHERE action = 'subscription_seatincrease'")
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert!(audited.contains("on the next invoice"), "{audited}");
    // The plan page and the console list what waits for the next invoice.
    let page = app.plan_page(&acme).await;
    let listed: Vec<String> = page["current"]["next_invoice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        listed[0].starts_with("Unused time on Pro monthly: -$"),
        "{listed:?}"
    );
    assert!(
        listed[1].starts_with("Remaining time on Pro monthly: $"),
        "{listed:?}"
    );
    let console = console_page(&app, &org).await;
    assert!(
        console.contains("On the next invoice: Unused time on Pro monthly"),
        "{console}"
    );

    // The renewal bills 5 × $12.00 for the new period, then the two lines, once.
    let summary = app.advance_clock(&clock, start + 32 * DAY).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let (lines, total, _) = newest_invoice(&app, "subscription_cycle").await;
    let mut expected = vec![("recurring".to_string(), 6000)];
    expected.extend(as_stored(&left));
    assert_eq!(lines, expected);
    assert_eq!(total, 6000 + credit + charge);
    // The next renewal has nothing left to add.
    let summary = app.advance_clock(&clock, start + 63 * DAY).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let (lines, total, _) = newest_invoice(&app, "subscription_cycle").await;
    assert_eq!((lines.len(), total), (1, 6000));
}

async fn a_seat_decrease_on_the_next_invoice_leaves_account_credit(app: TestApp) {
    // Acme: Pro monthly × 5; a day in, down to 1 seat: nearly 5 seats' month back, 1 charged.
    let acme = app.subscribed("pro_monthly", "5").await;
    pro_seats_on_the_next_invoice(&app).await;
    let org = app.org_named("Acme").await;
    let clock = app.clock_for(&org).await;
    let start = app.state.now();
    app.advance_clock(&clock, start + DAY).await;
    let said = change_seats(&app, &acme, "1").await;
    assert!(said.contains("OnNextInvoice"), "{said}");
    let left = waiting(&app).await;
    let net: i64 = left.iter().map(|(_, a)| a).sum();
    // Renewal: 1 × $12.00 plus the net, which is a credit worth more.
    assert!(1200 + net < 0, "{left:?}");

    let summary = app.advance_clock(&clock, start + 32 * DAY).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let (lines, total, status) = newest_invoice(&app, "subscription_cycle").await;
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(total, 1200 + net);
    assert_eq!(status, "paid");
    // What the invoice owes the customer is account credit, which the next invoice uses.
    let balance = billing_portal::store::credits::balance(
        app.db(),
        &billing_portal::domain::ids::OrgId::parse(&org).unwrap(),
        billing_portal::domain::Currency::USD,
    )
    .await
    .unwrap();
    assert_eq!(balance.minor_units(), -(1200 + net));
    let summary = app.advance_clock(&clock, start + 63 * DAY).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let applied: (i64, i64) = sqlx::query(
        "SELECT credit_applied, amount_due FROM invoices WHERE billing_reason = 'subscription_cycle' \
         ORDER BY created_at DESC, number DESC LIMIT 1",
    )
    .fetch_one(&app.db().pool)
    .await
    .map(|r| (r.get("credit_applied"), r.get("amount_due")))
    .unwrap();
    let used = (-(1200 + net)).min(1200);
    assert_eq!(applied, (used, 1200 - used));
}

async fn lines_left_for_the_next_invoice_go_on_the_final_invoice_when_the_plan_ends(app: TestApp) {
    let acme = app.subscribed("pro_monthly", "3").await;
    pro_seats_on_the_next_invoice(&app).await;
    let org = app.org_named("Acme").await;
    let clock = app.clock_for(&org).await;
    let start = app.state.now();
    app.advance_clock(&clock, start + 10 * DAY).await;
    change_seats(&app, &acme, "4").await;
    let left = waiting(&app).await;
    let net: i64 = left.iter().map(|(_, a)| a).sum();
    assert!(net > 0, "{left:?}");
    let page = app.plan_page(&acme).await;
    let version = page["current"]["version"].as_i64().unwrap().to_string();
    let cancelled = app
        .call(
            &acme,
            "/api/billing/plan/cancel",
            &[("reason", "unused"), ("details", ""), ("version", &version)],
        )
        .await;
    assert_eq!(
        cancelled.status(),
        StatusCode::OK,
        "{}",
        cancelled.text().await.unwrap()
    );

    // Paid service stops at the period end; the seat change's lines are still billed, once.
    let summary = app.advance_clock(&clock, start + 32 * DAY).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert_eq!(summary.renewed, 0);
    let (lines, total, _) = newest_invoice(&app, "final_usage").await;
    assert_eq!(lines, as_stored(&left));
    assert_eq!(total, net);
}

/// Publishes version 2 of Pro monthly at $14.00 a seat.
async fn pro_at_14(app: &TestApp) {
    let (_, mut file) = billing_portal::store::catalog::published(app.db())
        .await
        .unwrap();
    let price = file
        .plans
        .iter_mut()
        .flat_map(|p| p.prices.iter_mut())
        .find(|p| p.id == "pro_monthly")
        .unwrap();
    price.model = billing_portal::domain::PriceModel::PerUnit {
        unit_amount: rust_decimal::Decimal::from(1400),
    };
    catalog::publish(&app.state, &file, None, &catalog_admin())
        .await
        .unwrap();
}

/// The console's customer page of `org`, as a billing admin reads it.
async fn console_page(app: &TestApp, org: &str) -> String {
    let staff = app.staff("admin@demo.test").await;
    app.get_with(&staff, &format!("/support/customers/{org}"))
        .await
        .text()
        .await
        .unwrap()
}

async fn a_migration_on_a_date_moves_mid_period_and_the_renewal_bills_the_difference(app: TestApp) {
    let acme = app.subscribed("pro_monthly", "3").await;
    let org = app.org_named("Acme").await;
    let clock = app.clock_for(&org).await;
    let start = app.state.now();
    pro_at_14(&app).await;

    // A date that has begun, or none, is refused in words.
    let today = chrono::DateTime::from_timestamp(start, 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    let begun = Timing::parse("date", &today, start).unwrap_err();
    assert!(begun.to_string().contains("has begun or passed"), "{begun}");
    let none = Timing::parse("date", "", start).unwrap_err();
    assert!(none.to_string().contains("needs the date"), "{none}");
    let odd = Timing::parse("tomorrow", "", start).unwrap_err();
    assert!(
        odd.to_string().contains("is not a time to migrate"),
        "{odd}"
    );
    let through_http = app
        .call(
            &app.staff("catalog@demo.test").await,
            "/api/support/catalog/migration",
            &[
                ("from", "pro_monthly"),
                ("to", "pro_monthly_v2"),
                ("when", "date"),
                ("not_before", &today),
            ],
        )
        .await;
    assert_eq!(through_http.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("price_migrations").await, 0);

    // On the day 11 days in, Acme moves to $14.00 a seat.
    let day = (start / DAY + 11) * DAY;
    let date = chrono::DateTime::from_timestamp(day, 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    let timing = Timing::parse("date", &date, start).unwrap();
    let approved = app
        .approved_migration("pro_monthly", "pro_monthly_v2", timing)
        .await;
    assert!(approved.contains("prorated"), "{approved}");
    let email: String = sqlx::query_scalar(
        "SELECT body FROM email_outbox WHERE subject LIKE 'Your Pro price changes on%'",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert!(
        email.contains("3 × Pro costs $42.00 a period instead of $36.00"),
        "{email}"
    );
    let page = app.plan_page(&acme).await;
    let said = page["current"]["price_change"].as_str().unwrap_or_default();
    assert!(said.starts_with("Your plan's price changes on"), "{said}");
    assert!(said.contains("credited at the old price"), "{said}");
    let console = console_page(&app, &org).await;
    assert!(
        console.contains(&format!(
            "pro_monthly → Pro (pro_monthly_v2) on {}, the rest of that period prorated on the next invoice.",
            billing_portal::domain::period::format_date(day)
        )),
        "{console}"
    );

    // Before the day nothing moves; on it the price changes and the difference waits.
    let summary = app.advance_clock(&clock, day - 3600).await;
    assert_eq!(summary.migrated, 0);
    let summary = app.advance_clock(&clock, day + 3600).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert_eq!(summary.migrated, 1);
    let held: String = sqlx::query_scalar("SELECT price_id FROM subscriptions")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(held, "pro_monthly_v2");
    let left = waiting(&app).await;
    assert_eq!(left.len(), 2, "{left:?}");
    // The same days at $12.00 back and at $14.00 charged, for 3 seats.
    let (credit, charge) = (left[0].1, left[1].1);
    assert!(
        (charge * 12 + credit * 14).abs() <= 14,
        "credit {credit}, charge {charge}"
    );
    let recorded: (String, i64) = sqlx::query(
        "SELECT kind, effective_at FROM subscription_changes WHERE kind = 'price_migration'",
    )
    .fetch_one(&app.db().pool)
    .await
    .map(|r| (r.get("kind"), r.get("effective_at")))
    .unwrap();
    assert_eq!(recorded.1, day, "the move is as of the day itself");
    // A second run does nothing more.
    let summary = app.advance_clock(&clock, day + 7200).await;
    assert_eq!(summary.migrated, 0);

    // The renewal bills 3 × $14.00 and the difference.
    let summary = app.advance_clock(&clock, start + 32 * DAY).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let (lines, total, _) = newest_invoice(&app, "subscription_cycle").await;
    let mut expected = vec![("recurring".to_string(), 4200)];
    expected.extend(as_stored(&left));
    assert_eq!(lines, expected);
    assert_eq!(total, 4200 + credit + charge);
}

async fn a_migration_moves_whom_its_request_listed_and_leaves_contract_holders_alone(app: TestApp) {
    // Acme (3 seats) holds a contract on Pro; Beta (2 seats) and Gamma (4 seats) do not.
    app.subscribed("pro_monthly", "3").await;
    for (email, name, seats) in [
        ("beta@example.com", "Beta", "2"),
        ("gamma@example.com", "Gamma", "4"),
    ] {
        let browser = TestApp::browser();
        app.sign_up(&browser, email, name).await;
        app.pay_checkout(&browser, "pro_monthly", seats).await;
    }
    app.eventually_count("subscriptions", 3).await;
    let acme_org = app.org_named("Acme").await;
    let admin = app.staff("admin@demo.test").await;
    let form = [
        ("org_id", acme_org.as_str()),
        ("price_id", "pro_monthly"),
        ("amount", "10.00"),
        ("minimum", ""),
        ("ends_on", ""),
        ("reason_code", "goodwill"),
        ("note", "Signed order form #7"),
    ];
    let (status, body, _) = app
        .confirmed(&admin, "/api/support/contract/give", &form)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    pro_at_14(&app).await;

    // Subscribers with 3 seats or more: Gamma; Acme is left out, and the preview says why.
    let cohort = billing_portal::domain::cohort::Cohort::parse("3", "", "").unwrap();
    let preview = migration::preview(&app.state, "pro_monthly", "pro_monthly_v2", &cohort)
        .await
        .unwrap();
    let names: Vec<&str> = preview.rows.iter().map(|r| r.org_name.as_str()).collect();
    assert_eq!(names, ["Gamma"]);
    assert_eq!(preview.held.len(), 1, "{:?}", preview.held);
    assert!(
        preview.held[0].starts_with("Acme is not moved: their contract prices their renewal"),
        "{:?}",
        preview.held
    );
    let admin_page = app
        .get_with(
            &app.staff("catalog@demo.test").await,
            "/support/catalog?from=pro_monthly&to=pro_monthly_v2&min_seats=3",
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        admin_page.contains("Acme is not moved: their contract prices their renewal"),
        "{admin_page}"
    );

    // Asked for now. Before the approval Beta grows to 5 seats, which the criteria would
    // take in; the approval moves whom the request listed, Gamma alone.
    let cat = session("catalog@demo.test", StaffRole::CatalogAdmin);
    migration::request(
        &app.state,
        &cat,
        "pro_monthly",
        "pro_monthly_v2",
        Timing::Renewal { not_before: None },
        &cohort,
    )
    .await
    .unwrap();
    let beta_org = app.org_named("Beta").await;
    sqlx::query("UPDATE subscriptions SET quantity = 5, version = version + 1 WHERE org_id = $1")
        .bind(&beta_org)
        .execute(&app.db().pool)
        .await
        .unwrap();
    let before = app.count("email_outbox").await;
    let id: String = sqlx::query_scalar("SELECT id FROM price_migrations")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let approved = migration::decide(
        &app.state,
        &session("approver@demo.test", StaffRole::Approver),
        &id,
        true,
    )
    .await
    .unwrap();
    assert!(approved.contains("1 customer(s) move"), "{approved}");
    assert_eq!(app.count("email_outbox").await, before + 1);
    let moving: Vec<String> = sqlx::query_scalar(
        "SELECT o.name FROM subscription_migrations sm JOIN subscriptions s ON s.id = sm.subscription_id \
         JOIN organizations o ON o.id = s.org_id ORDER BY o.name",
    )
    .fetch_all(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(moving, ["Gamma"]);
}

async fn lines_left_when_dunning_stops_the_plan_go_on_a_final_invoice(app: TestApp) {
    // Acme's card declines every charge from the first renewal on.
    let acme = app.subscribed("pro_monthly", "3").await;
    pro_seats_on_the_next_invoice(&app).await;
    app.add_card(&acme, "4000000000000341", 2).await;
    let org = app.org_named("Acme").await;
    let clock = app.clock_for(&org).await;
    let start = app.state.now();
    app.advance_clock(&clock, start + 32 * DAY).await;
    let status: String = sqlx::query_scalar("SELECT status FROM subscriptions")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(status, "past_due");
    // While it is past due, two more seats: their difference waits for the next invoice.
    change_seats(&app, &acme, "5").await;
    let left = waiting(&app).await;
    let net: i64 = left.iter().map(|(_, a)| a).sum();
    assert!(net > 0, "{left:?}");

    // Every retry fails and paid service stops: the lines are billed once, on a final invoice.
    let summary = app.advance_clock(&clock, start + 50 * DAY).await;
    assert_eq!(summary.moved_to_free, 1, "{summary}");
    let (lines, total, _) = newest_invoice(&app, "final_usage").await;
    assert_eq!(lines, as_stored(&left));
    assert_eq!(total, net);
    // The free plan's renewal bills nothing of them again.
    let later = app.advance_clock(&clock, start + 90 * DAY).await;
    assert!(later.errors.is_empty(), "{:?}", later.errors);
    let since: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM invoices WHERE billing_reason = 'subscription_cycle' AND total <> 0 AND created_at > $1",
    )
    .bind(start + 50 * DAY)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(since, 0);
}

async fn a_late_run_moves_on_a_date_as_of_a_seat_change_made_after_it(app: TestApp) {
    let acme = app.subscribed("pro_monthly", "3").await;
    pro_seats_on_the_next_invoice(&app).await;
    let org = app.org_named("Acme").await;
    let clock = app.clock_for(&org).await;
    let start = app.state.now();
    pro_at_14(&app).await;
    let day = (start / DAY + 11) * DAY;
    let date = chrono::DateTime::from_timestamp(day, 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    app.approved_migration(
        "pro_monthly",
        "pro_monthly_v2",
        Timing::parse("date", &date, start).unwrap(),
    )
    .await;

    // The clock reaches two days after the date before any run does, and the customer adds
    // seats then: that change is prorated at the old price from its own time.
    let clock_id = billing_portal::domain::ids::ClockId::parse(&clock).unwrap();
    let late = day + 2 * DAY;
    billing_portal::store::test_clocks::set_time(app.db(), &clock_id, late, app.state.now())
        .await
        .unwrap();
    change_seats(&app, &acme, "5").await;
    let summary = app.advance_clock(&clock, late + 3600).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert_eq!(summary.migrated, 1);
    // So the move is as of the seat change, not the date: no day is credited twice.
    let (changed_at, moved_at): (i64, i64) = sqlx::query(
        "SELECT (SELECT effective_at FROM subscription_changes WHERE kind = 'seatincrease') AS changed, \
         (SELECT effective_at FROM subscription_changes WHERE kind = 'price_migration') AS moved",
    )
    .fetch_one(&app.db().pool)
    .await
    .map(|r| (r.get("changed"), r.get("moved")))
    .unwrap();
    assert!(changed_at >= late, "{changed_at} {late}");
    assert_eq!(moved_at, changed_at);
    // The two credits cover the old price's days once: 3 seats from the start of the change,
    // then 5 seats from the same instant (the seat change's charge is credited back by the move).
    let left = waiting(&app).await;
    let kinds: Vec<&str> = left.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "proration_credit",
            "proration_charge",
            "proration_credit",
            "proration_charge"
        ]
    );
    assert_eq!(
        left[1].1, -left[2].1,
        "the seat change's charge is what the move credits"
    );
}
