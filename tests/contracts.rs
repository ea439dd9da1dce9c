//! Contracts on SQLite and PostgreSQL: a billing admin gives one organisation its own price
//! (a negotiated seat price, a minimum per period, an end date) through the console's confirmed
//! action; only that organisation is offered it; its subscription moves to it at renewal, the
//! minimum tops the invoice up, and at the end date (or when ended early) it renews on the list
//! price again.
#![cfg(feature = "ssr")]

mod common;

use common::TestApp;
use reqwest::{Client, StatusCode};
use sqlx::Row;

on_both_databases!(
    a_contract_price_moves_its_customer_at_renewal_with_a_minimum_until_its_end_date,
    a_customer_without_a_plan_checks_out_its_contract_price_and_an_early_end_gives_the_list_price_back,
    bad_contract_input_is_refused_with_what_to_do_and_changes_nothing,
);

/// The date `days` from the app's time, as the form takes it.
fn date_in(app: &TestApp, days: i64) -> String {
    chrono::DateTime::from_timestamp(app.state.now() + days * 86_400, 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

async fn plan_page(app: &TestApp, browser: &Client) -> serde_json::Value {
    app.call(browser, "/api/billing/plan", &[])
        .await
        .json()
        .await
        .unwrap()
}

/// The ids of every price the plan page offers.
fn offered(page: &serde_json::Value) -> Vec<String> {
    page["plans"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["prices"].as_array().unwrap().iter())
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

async fn subscription(app: &TestApp, org: &str) -> (String, i64) {
    let r = sqlx::query("SELECT price_id, quantity FROM subscriptions WHERE org_id = $1")
        .bind(org)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    (r.get("price_id"), r.get("quantity"))
}

/// The newest invoice's total and its lines (kind, amount, explanation).
async fn newest_invoice(app: &TestApp, org: &str) -> (i64, Vec<(String, i64, String)>) {
    let r = sqlx::query(
        "SELECT id, total FROM invoices WHERE org_id = $1 ORDER BY created_at DESC, number DESC LIMIT 1",
    )
    .bind(org)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    let id: String = r.get("id");
    let lines = sqlx::query(
        "SELECT kind, amount, explanation FROM invoice_lines WHERE invoice_id = $1 ORDER BY position",
    )
    .bind(&id)
    .fetch_all(&app.db().pool)
    .await
    .unwrap()
    .iter()
    .map(|l| (l.get("kind"), l.get("amount"), l.get("explanation")))
    .collect();
    (r.get("total"), lines)
}

fn contract_form<'a>(
    org: &'a str,
    price_id: &'a str,
    amount: &'a str,
    minimum: &'a str,
    ends_on: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("org_id", org),
        ("price_id", price_id),
        ("amount", amount),
        ("minimum", minimum),
        ("ends_on", ends_on),
        ("reason_code", "goodwill"),
        ("note", "Signed order form #118"),
    ]
}

async fn a_contract_price_moves_its_customer_at_renewal_with_a_minimum_until_its_end_date(
    app: TestApp,
) {
    // Acme: Pro monthly × 3 at $12.00 a seat.
    let acme = app.subscribed("pro_monthly", "3").await;
    let org = app.org_named("Acme").await;
    let clock = app.clock_for(&org).await;
    let admin = app.staff("admin@demo.test").await;
    let ends_on = date_in(&app, 75);

    // The confirmation says exactly what changes, and for whom; its page posts to the action.
    let form = contract_form(&org, "pro_monthly", "10.00", "50.00", &ends_on);
    let first = app.call(&admin, "/api/support/contract/give", &form).await;
    let page = common::location(&first).expect("a confirmation page");
    let page = app.get_with(&admin, &page).await.text().await.unwrap();
    assert!(page.contains("Give Acme its own Pro price"), "{page}");
    assert!(
        page.contains(r#"action="/api/support/contract/give""#),
        "{page}"
    );
    let (status, body, shown) = app
        .confirmed(&admin, "/api/support/contract/give", &form)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let shown = shown.expect("a confirmation");
    assert_eq!(shown["title"], "Give Acme its own Pro price");
    let lines: Vec<String> = shown["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    let until = billing_portal::domain::period::format_date(
        chrono::NaiveDate::parse_from_str(&ends_on, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp(),
    );
    assert_eq!(
        lines[0],
        format!("Acme pays $10.00 per seat every month, at least $50.00 a period, until {until} for Pro, instead of the list price Pro monthly (pro_monthly).")
    );
    assert!(
        lines[1].contains("3 seat(s) cost $30.00 instead of $36.00 a period"),
        "{lines:?}"
    );
    assert!(body.contains("Acme has its own Pro price"), "{body}");

    // One contract, one private price row, one audit entry; the published catalog, the pricing
    // page and other customers never see it.
    let contract_price: String =
        sqlx::query_scalar("SELECT price_id FROM contracts WHERE org_id = $1")
            .bind(&org)
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert!(contract_price.starts_with("ctr_"), "{contract_price}");
    let private: Option<String> = sqlx::query_scalar("SELECT org_id FROM prices WHERE id = $1")
        .bind(&contract_price)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(private.as_deref(), Some(org.as_str()));
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'contract_given' AND org_id = $1",
    )
    .bind(&org)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);
    let (_, file) = billing_portal::store::catalog::published(app.db())
        .await
        .unwrap();
    assert!(file
        .plans
        .iter()
        .flat_map(|p| p.prices.iter())
        .all(|p| !p.id.starts_with("ctr_")));
    let pricing = app.get("/pricing").await.text().await.unwrap();
    assert!(!pricing.contains(&contract_price));
    assert!(
        !pricing.contains("$10.00"),
        "the list page shows list prices"
    );
    let other = TestApp::browser();
    app.sign_up(&other, "other@example.com", "Other").await;
    let theirs = offered(&plan_page(&app, &other).await);
    assert!(theirs.contains(&"pro_monthly".to_string()), "{theirs:?}");
    assert!(!theirs.contains(&contract_price), "{theirs:?}");
    let (refused, session) = app.start_checkout(&other, &contract_price, "3").await;
    assert!(session.is_none(), "another organisation cannot buy it");
    let refused = refused.text().await.unwrap_or_default();
    assert!(refused.contains("is no longer for sale"), "{refused}");

    // Acme's plan page offers its own price in place of Pro monthly and announces the move.
    let page = plan_page(&app, &acme).await;
    let ours = offered(&page);
    assert!(ours.contains(&contract_price), "{ours:?}");
    assert!(!ours.contains(&"pro_monthly".to_string()), "{ours:?}");
    let renews = page["current"]["current_period_end"].as_i64().unwrap();
    assert_eq!(
        page["current"]["price_change"].as_str().unwrap(),
        format!(
            "Your contract price for Pro starts at your renewal on {}: $30.00 for 3 seats every month ($10.00 per seat every month, at least $50.00 a period, until {until}).",
            billing_portal::domain::period::format_date(renews)
        )
    );
    assert!(page["current"]["contract"].is_null());
    let console = app
        .get_with(&admin, &format!("/support/customers/{org}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        console.contains("Pro: $10.00 per seat every month, at least $50.00 a period"),
        "the console shows the live contract"
    );

    // The renewal bills the contract: 3 × $10.00 = $30.00, topped up to the $50.00 minimum.
    let now = app.state.now();
    let summary = app.advance_clock(&clock, now + 32 * 86_400).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert_eq!(summary.renewed, 1);
    assert_eq!(subscription(&app, &org).await, (contract_price.clone(), 3));
    let (total, lines) = newest_invoice(&app, &org).await;
    assert_eq!(total, 5_000);
    assert_eq!(
        lines
            .iter()
            .map(|(k, a, _)| (k.as_str(), *a))
            .collect::<Vec<_>>(),
        [("recurring", 3_000), ("commitment", 2_000)]
    );
    assert_eq!(
        lines[1].2,
        format!("Your contract's minimum is $50.00 a period (contract until {until}); this period's seats and usage came to $30.00, so $20.00 is added.")
    );
    let page = plan_page(&app, &acme).await;
    assert_eq!(
        page["current"]["contract"].as_str().unwrap(),
        format!("Your contract price: $10.00 per seat every month, at least $50.00 a period, until {until}.")
    );
    assert!(page["current"]["price_change"].is_null(), "{page}");

    // Seats change on the contract's price as on any other, at the figure the page previews.
    let typed: billing_portal::wire::plan::PlanPage = app
        .call(&acme, "/api/billing/plan", &[])
        .await
        .json()
        .await
        .unwrap();
    let current = typed.current.clone().expect("a subscription");
    let ours = typed
        .plans
        .iter()
        .flat_map(|p| p.prices.iter())
        .find(|p| p.id == contract_price)
        .expect("the contract price is offered");
    let due = billing_portal::wire::plan::preview(&current, ours, 6, typed.now, &typed.policies)
        .unwrap()
        .amount_due_now
        .minor_units();
    let version = current.version.to_string();
    let r = app
        .call(
            &acme,
            "/api/billing/plan/change",
            &[
                ("price_id", contract_price.as_str()),
                ("seats", "6"),
                ("expected_due", &due.to_string()),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    assert_eq!(subscription(&app, &org).await, (contract_price.clone(), 6));

    // The next renewal is before the end date: 6 × $10.00 = $60.00, above the minimum.
    let summary = app.advance_clock(&clock, now + 63 * 86_400).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let (total, lines) = newest_invoice(&app, &org).await;
    assert_eq!((total, lines.len()), (6_000, 1));
    // The one after is past it: the list price again, with no minimum.
    let page = plan_page(&app, &acme).await;
    assert!(
        page["current"]["price_change"]
            .as_str()
            .unwrap()
            .starts_with("Your contract price ends at your renewal on"),
        "{page}"
    );
    let summary = app.advance_clock(&clock, now + 94 * 86_400).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert_eq!(
        subscription(&app, &org).await,
        ("pro_monthly".to_string(), 6)
    );
    let (total, lines) = newest_invoice(&app, &org).await;
    assert_eq!((total, lines.len()), (7_200, 1), "6 × $12.00");
    let page = plan_page(&app, &acme).await;
    assert!(page["current"]["contract"].is_null(), "{page}");
    assert!(offered(&page).contains(&"pro_monthly".to_string()));
}

async fn a_customer_without_a_plan_checks_out_its_contract_price_and_an_early_end_gives_the_list_price_back(
    app: TestApp,
) {
    let beta = app.owner_with_catalog().await;
    let org = app.org_named("Acme").await;
    let admin = app.staff("admin@demo.test").await;
    let form = contract_form(&org, "team_monthly", "18.00", "", "");
    let (status, body, shown) = app
        .confirmed(&admin, "/api/support/contract/give", &form)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let lines = shown.unwrap()["lines"].to_string();
    assert!(
        lines.contains("They have no plan yet; the plan page and checkout offer them this price"),
        "{lines}"
    );
    let contract_price: String = sqlx::query_scalar("SELECT price_id FROM contracts")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let page = plan_page(&app, &beta).await;
    assert!(offered(&page).contains(&contract_price));
    assert!(!offered(&page).contains(&"team_monthly".to_string()));

    // Checkout of 3 seats at the contract's $18.00.
    app.pay_checkout(&beta, &contract_price, "3").await;
    app.eventually_count("subscriptions", 1).await;
    assert_eq!(subscription(&app, &org).await, (contract_price.clone(), 3));
    assert_eq!(newest_invoice(&app, &org).await.0, 5_400);
    let clock = app.clock_for(&org).await;

    // A contract's price is not a migration's to move, and is not among the prices to pick.
    let refused = billing_portal::services::price_migration::preview(
        &app.state,
        &contract_price,
        "team_monthly",
        &Default::default(),
    )
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("to migrate"), "{refused}");
    // Archiving the plan stops selling it to the contract's organisation too, and leaves the
    // contract's price row as it was.
    let (_, mut file) = billing_portal::store::catalog::published(app.db())
        .await
        .unwrap();
    let actor = billing_portal::store::audit::Actor {
        name: "catalog@demo.test".into(),
        role: "catalog_admin".into(),
    };
    file.plans
        .iter_mut()
        .find(|p| p.id == "team")
        .unwrap()
        .archived = true;
    billing_portal::services::catalog::publish(&app.state, &file, None, &actor)
        .await
        .unwrap();
    let page = plan_page(&app, &beta).await;
    assert!(!offered(&page).contains(&contract_price), "{page}");
    let active: i64 = sqlx::query_scalar("SELECT active FROM prices WHERE id = $1")
        .bind(&contract_price)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(active, 1);
    file.plans
        .iter_mut()
        .find(|p| p.id == "team")
        .unwrap()
        .archived = false;
    billing_portal::services::catalog::publish(&app.state, &file, None, &actor)
        .await
        .unwrap();
    assert!(offered(&plan_page(&app, &beta).await).contains(&contract_price));

    // Ended early: the confirmation names the list price from the renewal on.
    let end = [
        ("org_id", org.as_str()),
        ("reason_code", "goodwill"),
        ("note", "Contract not renewed"),
    ];
    let first = app.call(&admin, "/api/support/contract/end", &end).await;
    let page = common::location(&first).expect("a confirmation page");
    let page = app.get_with(&admin, &page).await.text().await.unwrap();
    assert!(
        page.contains(r#"action="/api/support/contract/end""#),
        "{page}"
    );
    let (status, body, shown) = app
        .confirmed(&admin, "/api/support/contract/end", &end)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let lines = shown.unwrap()["lines"].to_string();
    assert!(
        lines.contains(
            "3 seat(s) cost $75.00 a period at the list price (team_monthly), with no minimum"
        ),
        "{lines}"
    );
    let (status, body, _) = app
        .confirmed(&admin, "/api/support/contract/end", &end)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("Acme has no contract to end."), "{body}");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('contract_given', 'contract_ended')",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(audited, 2);
    let page = plan_page(&app, &beta).await;
    assert!(
        page["current"]["price_change"]
            .as_str()
            .unwrap()
            .contains("from then Team costs $75.00 for 3 seats every month at the list price"),
        "{page}"
    );
    let summary = app
        .advance_clock(&clock, app.state.now() + 32 * 86_400)
        .await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert_eq!(
        subscription(&app, &org).await,
        ("team_monthly".to_string(), 3)
    );
    assert_eq!(newest_invoice(&app, &org).await.0, 7_500);
}

async fn bad_contract_input_is_refused_with_what_to_do_and_changes_nothing(app: TestApp) {
    let _acme = app.subscribed("pro_monthly", "3").await;
    let org = app.org_named("Acme").await;
    let admin = app.staff("admin@demo.test").await;
    let yesterday = date_in(&app, -1);
    for (form, expected) in [
        (
            contract_form(&org, "pro_monthly", "ten", "", ""),
            "Enter the negotiated price as an amount in USD, e.g. 10.00.",
        ),
        (
            contract_form(&org, "pro_monthly", "10.00", "-5.00", ""),
            "The minimum commitment is -$5.00; enter zero (no minimum) or more.",
        ),
        (
            contract_form(&org, "pro_monthly", "10.00", "", "31/12/2027"),
            "Enter the end date as YYYY-MM-DD (e.g. 2027-12-31), or leave it empty for no end date.",
        ),
        (
            contract_form(&org, "pro_monthly", "10.00", "", &yesterday),
            "is not after today",
        ),
        (
            contract_form(&org, "free_monthly", "10.00", "", ""),
            "free_monthly is free; a contract needs a paid list price to negotiate from.",
        ),
        (
            contract_form(&org, "nope", "10.00", "", ""),
            "Pick the list price to negotiate from; it must be for sale.",
        ),
    ] {
        let (status, body, _) = app
            .confirmed(&admin, "/api/support/contract/give", &form)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.contains(expected), "{expected}: {body}");
    }
    // Agents and approvers may not give contracts.
    for email in ["agent@demo.test", "approver@demo.test"] {
        let client = app.staff(email).await;
        let form = contract_form(&org, "pro_monthly", "10.00", "", "");
        let (status, _, _) = app
            .confirmed(&client, "/api/support/contract/give", &form)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{email}");
    }
    assert_eq!(app.count("contracts").await, 0);
    let private: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM prices WHERE org_id IS NOT NULL")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(private, 0);
}
