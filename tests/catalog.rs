//! The catalog as the pricing page serves it, a bad price refused by its id, and the control
//! plane: publishing documents as revisions, price versions, archiving, every validation problem,
//! and concurrent publishes.
#![cfg(feature = "ssr")]

mod common;

use billing_portal::domain::catalog_file::{CatalogFile, LimitValue};
use billing_portal::services::catalog::{self, CatalogError};
use billing_portal::store::audit::Actor;
use billing_portal::store::catalog::PublishError;
use common::staff_session as session;
use common::TestApp;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use sqlx::Row;

on_both_databases!(
    pricing_page_shows_the_seeded_catalog,
    a_bad_price_is_reported_by_its_id,
    the_published_catalog_exports_and_applies_again_unchanged,
    a_new_price_version_keeps_subscribers_on_theirs,
    an_archived_plan_is_not_sold_and_its_subscribers_renew,
    an_invalid_catalog_names_every_problem_and_publishes_nothing,
    of_two_publishes_prepared_together_one_lands,
    catalog_admins_edit_a_draft_in_the_console_and_publish_it,
    a_price_migration_is_previewed_approved_by_another_and_applied_at_renewal,
    a_customer_moving_to_another_plan_is_not_migrated,
    a_migration_moves_only_its_cohort,
    a_promotion_code_is_archived_from_the_file
);

fn staff() -> Actor {
    Actor {
        name: "cat@support.test".into(),
        role: "catalog_admin".into(),
    }
}

/// The published catalog, as a document.
async fn published(app: &TestApp) -> (i64, CatalogFile) {
    billing_portal::store::catalog::published(app.db())
        .await
        .unwrap()
}

fn set_unit_amount(file: &mut CatalogFile, price_id: &str, cents: i64) {
    let price = file
        .plans
        .iter_mut()
        .flat_map(|p| p.prices.iter_mut())
        .find(|p| p.id == price_id)
        .unwrap();
    price.model = billing_portal::domain::PriceModel::PerUnit {
        unit_amount: Decimal::from(cents),
    };
}

async fn price_of_subscription(app: &TestApp) -> String {
    sqlx::query("SELECT price_id FROM subscriptions")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("price_id")
}

async fn the_published_catalog_exports_and_applies_again_unchanged(app: TestApp) {
    billing_portal::services::seed::seed_demo(&app.state)
        .await
        .unwrap();
    let (revision, _) = published(&app).await;
    assert_eq!(revision, 1, "the demo catalog is published as one revision");
    // Exported, read back and applied: nothing changes, and no revision is made.
    let text = catalog::export(&app.state).await.unwrap();
    assert!(text.contains("[[plans.prices]]"), "{text}");
    let again = catalog::parse(&text).unwrap();
    let outcome = catalog::publish(&app.state, &again, None, &staff())
        .await
        .unwrap();
    assert_eq!(outcome.revision, None);
    assert!(outcome.changes.is_empty());
    billing_portal::services::seed::seed_demo(&app.state)
        .await
        .unwrap();
    assert_eq!(published(&app).await.0, 1);
    // Every change of the first publish was audited with its actor.
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'catalog_%' AND actor = 'cli'",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert!(audited >= 30, "{audited}");
}

async fn a_new_price_version_keeps_subscribers_on_theirs(app: TestApp) {
    app.subscribed("pro_monthly", "2").await;
    let (org, clock) = app.first_org_on_test_clock().await;
    let (revision, mut file) = published(&app).await;
    set_unit_amount(&mut file, "pro_monthly", 1400);
    let preview = catalog::preview(&app.state, &file).await.unwrap();
    assert_eq!(preview.revision, revision);
    let lines: Vec<String> = preview.changes.iter().map(|c| c.describe()).collect();
    assert_eq!(
        lines,
        ["~ price pro_monthly on pro: new version, $14.00 per seat every month (was $12.00 per seat every month); current subscribers keep the old version"]
    );
    let outcome = catalog::publish(&app.state, &file, Some(revision), &staff())
        .await
        .unwrap();
    assert_eq!(outcome.revision, Some(revision + 1));
    let note: String = sqlx::query_scalar(
        "SELECT note FROM audit_log WHERE action = 'catalog_price_version' AND target = 'price:pro_monthly_v2'",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert!(
        note.contains("\"unit_amount\":\"1200\"") && note.contains("\"unit_amount\":\"1400\""),
        "{note}"
    );
    let actor: String =
        sqlx::query_scalar("SELECT actor FROM audit_log WHERE action = 'catalog_price_version'")
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert_eq!(actor, "cat@support.test");

    // New customers see and buy version 2; version 1 is no longer sold.
    let html = app.get("/pricing").await.text().await.unwrap();
    assert!(
        html.contains("$14.00") && !html.contains("$12.00"),
        "{html}"
    );
    let newcomer = TestApp::browser();
    app.sign_up(&newcomer, "new@example.com", "Newco").await;
    let (refused, session) = app.start_checkout(&newcomer, "pro_monthly", "1").await;
    assert!(session.is_none());
    let refused = refused.text().await.unwrap_or_default();
    assert!(
        refused.contains("That price is no longer for sale; pick one on the pricing page."),
        "{refused}"
    );
    let (_, session) = app.start_checkout(&newcomer, "pro_monthly_v2", "1").await;
    assert!(session.is_some(), "version 2 is for sale");

    // The existing subscriber keeps version 1 and renews on it: 2 seats × $12.00.
    assert_eq!(price_of_subscription(&app).await, "pro_monthly");
    let now = app.state.now();
    let summary = app.advance_clock(&clock, now + 32 * 86_400).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert_eq!(summary.renewed, 1);
    let total: i64 = sqlx::query_scalar(
        "SELECT total FROM invoices WHERE org_id = $1 ORDER BY created_at DESC, number DESC LIMIT 1",
    )
    .bind(&org)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(total, 2400);

    // The export names the price by its id with version 2's terms.
    let (_, again) = published(&app).await;
    let pro = again.plans.iter().find(|p| p.id == "pro").unwrap();
    let monthly = pro.prices.iter().find(|p| p.id == "pro_monthly").unwrap();
    assert_eq!(
        monthly.model,
        billing_portal::domain::PriceModel::PerUnit {
            unit_amount: Decimal::from(1400)
        }
    );
    // A third version after that is pro_monthly_v3.
    set_unit_amount(&mut file, "pro_monthly", 1500);
    catalog::publish(&app.state, &file, None, &staff())
        .await
        .unwrap();
    let rows: Vec<(String, i64, i64)> = sqlx::query(
        "SELECT id, version, active FROM prices WHERE lookup_key = 'pro_monthly' ORDER BY version",
    )
    .fetch_all(&app.db().pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("id"), r.get("version"), r.get("active")))
    .collect();
    assert_eq!(
        rows,
        [
            ("pro_monthly".to_string(), 1, 0),
            ("pro_monthly_v2".to_string(), 2, 0),
            ("pro_monthly_v3".to_string(), 3, 1)
        ]
    );
}

async fn an_archived_plan_is_not_sold_and_its_subscribers_renew(app: TestApp) {
    app.subscribed("team_monthly", "3").await;
    let (_, clock) = app.first_org_on_test_clock().await;
    let (_, mut file) = published(&app).await;
    file.plans.retain(|p| p.id != "team");
    let preview = catalog::preview(&app.state, &file).await.unwrap();
    let lines: Vec<String> = preview.changes.iter().map(|c| c.describe()).collect();
    assert_eq!(
        lines,
        ["- plan team: archived (not for sale; its subscribers keep renewing)"]
    );
    catalog::publish(&app.state, &file, None, &staff())
        .await
        .unwrap();
    let html = app.get("/pricing").await.text().await.unwrap();
    assert!(
        !html.contains("data-testid=\"plan-team\""),
        "the pricing page no longer offers Team"
    );
    let newcomer = TestApp::browser();
    app.sign_up(&newcomer, "new@example.com", "Newco").await;
    let (_, session) = app.start_checkout(&newcomer, "team_monthly", "3").await;
    assert!(session.is_none(), "an archived plan cannot be bought");

    // Its subscriber still sees the plan and renews on it.
    let now = app.state.now();
    let summary = app.advance_clock(&clock, now + 32 * 86_400).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert_eq!(summary.renewed, 1);
    assert_eq!(price_of_subscription(&app).await, "team_monthly");

    // The export says it is archived; applying the export changes nothing; listing it as for
    // sale again restores it.
    let (_, exported) = published(&app).await;
    let team = exported.plans.iter().find(|p| p.id == "team").unwrap();
    assert!(team.archived && team.prices.iter().all(|p| p.archived));
    assert!(catalog::preview(&app.state, &exported)
        .await
        .unwrap()
        .changes
        .is_empty());
    let mut restored = exported.clone();
    for plan in restored.plans.iter_mut().filter(|p| p.id == "team") {
        plan.archived = false;
        for price in &mut plan.prices {
            price.archived = false;
        }
    }
    catalog::publish(&app.state, &restored, None, &staff())
        .await
        .unwrap();
    let html = app.get("/pricing").await.text().await.unwrap();
    assert!(html.contains("data-testid=\"plan-team\""));
}

async fn an_invalid_catalog_names_every_problem_and_publishes_nothing(app: TestApp) {
    billing_portal::services::seed::seed_demo(&app.state)
        .await
        .unwrap();
    let (revision, good) = published(&app).await;
    let before = catalog::export(&app.state).await.unwrap();
    let mut bad = good.clone();
    let pro = bad.plans.iter_mut().find(|p| p.id == "pro").unwrap();
    let at = |pro: &billing_portal::domain::catalog_file::PlanEntry, id: &str| {
        pro.prices.iter().position(|p| p.id == id).unwrap()
    };
    let (monthly, annual) = (at(pro, "pro_monthly"), at(pro, "pro_annual"));
    pro.prices[monthly].model = billing_portal::domain::PriceModel::Graduated {
        tiers: vec![
            billing_portal::domain::Tier {
                from: 1,
                up_to: Some(9),
                unit_amount: Decimal::from(100),
                flat_amount: 0,
            },
            billing_portal::domain::Tier {
                from: 11,
                up_to: None,
                unit_amount: Decimal::from(80),
                flat_amount: 0,
            },
        ],
    };
    pro.prices[annual].min_quantity = Some(10);
    pro.prices[annual].max_quantity = Some(5);
    pro.usage_prices[0].meter = "gpu_minutes".into();
    pro.entitlements[0].limit = Some(LimitValue::Count(-2));
    pro.entitlements[0].feature = None;
    pro.prices.push(pro.prices[monthly].clone());
    bad.coupons[0].percent = Some(Decimal::from(150));
    bad.meters
        .iter_mut()
        .find(|m| m.id == "build_minutes")
        .unwrap()
        .aggregation = billing_portal::domain::metering::Aggregation::Max;
    let Err(CatalogError::Invalid(problems)) =
        catalog::publish(&app.state, &bad, None, &staff()).await
    else {
        panic!("an invalid catalog is refused")
    };
    let problems: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let expected = [
        "plan \"pro\" › price \"pro_monthly\": tier 2 starts at 11 but tier 1 ends at 9; tiers must be contiguous (start tier 2 at 10)",
        "plan \"pro\" › price \"pro_annual\": \"min_quantity\" 10 is above \"max_quantity\" 5; lower the minimum or raise the maximum",
        "plan \"pro\" › price \"pro_monthly\": the id is used by another price; give each price its own id",
        "plan \"pro\" › usage price \"pro_build_minutes\": meter \"gpu_minutes\" is not in the catalog; add it under [[meters]] or name one that is",
        "coupon \"launch20\": percent is 150; use more than 0 and at most 100",
        "meter \"build_minutes\": what a published meter counts (aggregation, property, filter) cannot change, or past periods would be rated differently; add a new meter instead",
        "coupon \"launch20\": a published coupon's terms cannot change (customers hold it); add a new coupon instead",
    ];
    for line in expected {
        assert!(
            problems.iter().any(|p| p == line),
            "missing {line:?} in {problems:#?}"
        );
    }
    let negative = problems
        .iter()
        .find(|p| p.contains("the limit is -2"))
        .expect("the negative limit");
    assert!(
        negative.starts_with("plan \"pro\" › entitlement "),
        "{negative}"
    );
    // The duplicate price has its own tier problem too.
    assert_eq!(problems.len(), expected.len() + 2, "{problems:#?}");
    // Nothing was written.
    assert_eq!(published(&app).await.0, revision);
    assert_eq!(catalog::export(&app.state).await.unwrap(), before);

    // A file that is not a catalog says where.
    let error =
        catalog::parse("[[plans]]\nid = \"x\"\nname = \"X\"\ndescription = \"\"\ntrail_days = 3\n")
            .unwrap_err()
            .to_string();
    assert!(
        error.contains("trail_days") && error.contains("line 5"),
        "{error}"
    );
}

async fn of_two_publishes_prepared_together_one_lands(app: TestApp) {
    billing_portal::services::seed::seed_demo(&app.state)
        .await
        .unwrap();
    let (revision, base) = published(&app).await;
    let mut first = base.clone();
    set_unit_amount(&mut first, "pro_monthly", 1300);
    let mut second = base.clone();
    set_unit_amount(&mut second, "team_monthly", 2700);
    // Both at once, prepared against the same revision: exactly one lands.
    let actor = staff();
    let (a, b) = tokio::join!(
        catalog::publish(&app.state, &first, Some(revision), &actor),
        catalog::publish(&app.state, &second, Some(revision), &actor),
    );
    let landed = [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count();
    assert_eq!(landed, 1, "{a:?} {b:?}");
    let refused = if a.is_ok() { b } else { a }.unwrap_err();
    assert!(
        matches!(
            refused,
            CatalogError::Publish(PublishError::Conflict { .. })
        ),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("look at the catalog again"),
        "{refused}"
    );
    assert_eq!(published(&app).await.0, revision + 1);
    // Straight at the store too: the later of two publishes against one revision is refused.
    let preview = catalog::preview(&app.state, &second).await.unwrap();
    let store = |changes| {
        let app = &app;
        async move {
            billing_portal::store::catalog::publish(app.db(), revision + 1, changes, &staff(), 0)
                .await
        }
    };
    assert!(store(&preview.changes).await.is_ok());
    assert!(matches!(
        store(&preview.changes).await,
        Err(PublishError::Conflict { .. })
    ));
}

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
        // The feature lines come from the entitlements and usage prices the engine bills by.
        "Up to 50 seats",
        "50 private projects",
        "1,000 build minutes a month included, then $0.008 per minute",
        "100 build minutes a month",
        "5,000 build minutes a month included, then $0.006 per minute",
        "3 to 500 seats",
        "Unlimited private projects",
        "SSO",
    ] {
        assert!(html.contains(text), "{text}");
    }
    for contradiction in [
        "500 build minutes",
        "3,000 build minutes",
        "10,000 build minutes",
    ] {
        assert!(!html.contains(contradiction), "{contradiction}");
    }
    let annual = app
        .get("/pricing?interval=year")
        .await
        .text()
        .await
        .unwrap();
    assert!(annual.contains("$120.00") && annual.contains("per seat / year"));
    assert!(
        annual.contains("1,000 build minutes a year included"),
        "a yearly price's included usage is a year's"
    );

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

const SCALE: &str = r#"
[[plans]]
id = "scale"
name = "Scale"
description = "For companies at scale."

[[plans.prices]]
id = "scale_monthly_usd"
nickname = "Scale monthly"
currency = "USD"
interval = { unit = "month", count = 1 }
model = { type = "graduated", tiers = [{ from = 1, up_to = 10, unit_amount = "3000" }, { from = 11, unit_amount = "2000" }] }
unit_label = "seat"
min_quantity = 1

[[plans.entitlements]]
key = "seats"
limit = "unlimited"

[[plans.entitlements]]
key = "sso"
name = "SSO"
feature = true
"#;

async fn catalog_admins_edit_a_draft_in_the_console_and_publish_it(app: TestApp) {
    billing_portal::services::seed::seed_demo(&app.state)
        .await
        .unwrap();
    let view = |client: reqwest::Client| {
        let app = &app;
        async move {
            let response = app.call(&client, "/api/support/catalog", &[]).await;
            let status = response.status();
            (
                status,
                response
                    .json::<serde_json::Value>()
                    .await
                    .unwrap_or_default(),
            )
        }
    };
    // Agents see no catalog; billing admins read it and cannot change it.
    let agent = app.staff("agent@demo.test").await;
    assert_eq!(view(agent.clone()).await.0, StatusCode::FORBIDDEN);
    let admin = app.staff("admin@demo.test").await;
    let (status, read) = view(admin.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["can_edit"], false);
    assert_eq!(read["revision"], 1);
    let refused = app
        .call(&admin, "/api/support/catalog/draft", &[("body", "")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // The catalog admin starts from the published catalog and saves it with plan Scale added.
    let cat = app.staff("catalog@demo.test").await;
    let (_, start) = view(cat.clone()).await;
    assert_eq!(start["can_edit"], true);
    assert_eq!(start["draft_saved"], serde_json::Value::Null);
    let published = start["draft_body"].as_str().unwrap().to_string();
    let body = format!("{published}{SCALE}");
    let saved = app
        .submit_form(
            &cat,
            "/support/catalog",
            "/api/support/catalog/draft",
            &[("body", &body)],
        )
        .await;
    let back = common::location(&saved).expect("back to the page");
    assert!(
        back.starts_with("/support/catalog?notice=Draft+saved"),
        "{back}"
    );
    let page = app.get_with(&cat, &back).await.text().await.unwrap();
    assert!(
        page.contains("Draft saved. Review the changes below, then publish."),
        "{page}"
    );
    assert!(page.contains("+ plan scale (Scale)"), "{page}");
    assert!(page.contains("+ price scale_monthly_usd on scale: graduated per seat: 1–10 at $30.00, 11+ at $20.00 every month"), "{page}");
    assert!(page.contains("Publish as revision 2"), "{page}");
    // Customers see nothing of a draft.
    let pricing = app.get("/pricing").await.text().await.unwrap();
    assert!(!pricing.contains("Scale"));

    // A publish of a preview that is no longer the draft is refused.
    let (_, draft) = view(cat.clone()).await;
    let digest = draft["draft_digest"].as_str().unwrap().to_string();
    let wrong = app
        .call(
            &cat,
            "/api/support/catalog/publish",
            &[("revision", "1"), ("digest", "other")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("saved again after this page showed it"));
    let done = app
        .submit_form(
            &cat,
            "/support/catalog",
            "/api/support/catalog/publish",
            &[("revision", "1"), ("digest", &digest)],
        )
        .await;
    let back = common::location(&done).expect("back to the page");
    let page = app.get_with(&cat, &back).await.text().await.unwrap();
    assert!(
        page.contains("Published revision 2 with 4 change(s)."),
        "{page}"
    );
    assert!(page.contains("Revision 2"), "{page}");
    let pricing = app.get("/pricing").await.text().await.unwrap();
    assert!(
        pricing.contains("data-testid=\"plan-scale\"") && pricing.contains("$30.00"),
        "{pricing}"
    );
    let actor: String = sqlx::query_scalar(
        "SELECT actor FROM audit_log WHERE action = 'catalog_plan_put' AND target = 'plan:scale'",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(actor, "catalog@demo.test");

    // A draft with problems is kept as typed, and the page lists each problem where it is.
    let (_, now) = view(cat.clone()).await;
    let broken = now["draft_body"]
        .as_str()
        .unwrap()
        .replace("unit_amount = \"2000\"", "unit_amount = \"-20\"");
    assert_ne!(broken, now["draft_body"].as_str().unwrap());
    app.submit_form(
        &cat,
        "/support/catalog",
        "/api/support/catalog/draft",
        &[("body", &broken)],
    )
    .await;
    let page = app
        .get_with(&cat, "/support/catalog")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("1 problem(s) stop this draft from being published"),
        "{page}"
    );
    assert!(
        page.contains("plan \"scale\" › price \"scale_monthly_usd\"")
            || page.contains("plan &quot;scale&quot; › price &quot;scale_monthly_usd&quot;"),
        "{page}"
    );
    assert!(
        page.contains("is -20; amounts must not be negative"),
        "{page}"
    );
    assert!(!page.contains("Publish as revision"), "{page}");

    // A draft saved before someone else published cannot be published over their revision.
    let fixed = broken.replace("unit_amount = \"-20\"", "unit_amount = \"1900\"");
    app.call(&cat, "/api/support/catalog/draft", &[("body", &fixed)])
        .await;
    let (_, before) = view(cat.clone()).await;
    let mut other = published_file(&app).await;
    set_unit_amount(&mut other, "team_monthly", 2600);
    catalog::publish(&app.state, &other, None, &staff())
        .await
        .unwrap();
    let stale = app
        .call(
            &cat,
            "/api/support/catalog/publish",
            &[
                ("revision", "2"),
                ("digest", before["draft_digest"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let (_, after) = view(cat.clone()).await;
    assert_eq!(after["draft_stale"], true);
    // Discarding empties the draft.
    app.call(&cat, "/api/support/catalog/discard", &[]).await;
    let (_, empty) = view(cat).await;
    assert_eq!(empty["draft_saved"], serde_json::Value::Null);
}

async fn published_file(app: &TestApp) -> CatalogFile {
    published(app).await.1
}

async fn a_price_migration_is_previewed_approved_by_another_and_applied_at_renewal(app: TestApp) {
    use billing_portal::domain::access::StaffRole;
    use billing_portal::services::price_migration as migration;
    // Acme: Pro monthly × 3; Beta: Pro monthly × 2, with a seat decrease to 1 waiting for renewal.
    let acme = app.subscribed("pro_monthly", "3").await;
    let beta = TestApp::browser();
    app.sign_up(&beta, "beta@example.com", "Beta").await;
    let (_, session_id) = app.start_checkout(&beta, "pro_monthly", "2").await;
    let paid = app
        .emulator_control(
            &format!("/_emulator/checkout/{}/complete", session_id.unwrap()),
            serde_json::json!({ "card": "4242424242424242" }),
        )
        .await;
    assert_eq!(paid.status(), StatusCode::OK);
    app.eventually_count("subscriptions", 2).await;
    let (acme_org, beta_org) = (app.org_named("Acme").await, app.org_named("Beta").await);
    let (acme_clock, beta_clock) = (
        app.clock_for(&acme_org).await,
        app.clock_for(&beta_org).await,
    );
    let page: serde_json::Value = app
        .call(&beta, "/api/billing/plan", &[])
        .await
        .json()
        .await
        .unwrap();
    let version = page["current"]["version"].as_i64().unwrap().to_string();
    let fewer = app
        .call(
            &beta,
            "/api/billing/plan/change",
            &[
                ("price_id", "pro_monthly"),
                ("seats", "1"),
                ("expected_due", "0"),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(
        fewer.status(),
        StatusCode::OK,
        "{}",
        fewer.text().await.unwrap()
    );

    // Version 2 of Pro monthly at $14.00 a seat.
    let (_, mut file) = published(&app).await;
    set_unit_amount(&mut file, "pro_monthly", 1400);
    catalog::publish(&app.state, &file, None, &staff())
        .await
        .unwrap();

    // The preview lists each customer now and after, and the totals.
    let preview = migration::preview(
        &app.state,
        "pro_monthly",
        "pro_monthly_v2",
        &Default::default(),
    )
    .await
    .unwrap();
    let rows: Vec<(String, i64, String, String)> = preview
        .rows
        .iter()
        .map(|r| {
            (
                r.org_name.clone(),
                r.quantity,
                r.current.clone(),
                r.new.clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "Acme".to_string(),
                3,
                "$36.00".to_string(),
                "$42.00".to_string()
            ),
            (
                "Beta".to_string(),
                2,
                "$24.00".to_string(),
                "$28.00".to_string()
            )
        ]
    );
    assert_eq!(preview.totals.len(), 1);
    assert_eq!(
        (
            preview.totals[0].current.as_str(),
            preview.totals[0].new.as_str()
        ),
        ("$60.00", "$70.00")
    );
    // A migration keeps the currency and the interval.
    let across = migration::preview(&app.state, "pro_monthly", "pro_annual", &Default::default())
        .await
        .unwrap_err();
    assert!(
        across
            .to_string()
            .contains("a migration keeps the currency and the interval"),
        "{across}"
    );
    // The console shows the same preview.
    let admin = app.staff("catalog@demo.test").await;
    let html = app
        .get_with(
            &admin,
            "/support/catalog?from=pro_monthly&to=pro_monthly_v2",
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Recurring in USD: $60.00 now, $70.00 after."),
        "{html}"
    );

    // Asked for by one catalog admin; they cannot approve it themselves; an approver does.
    let cat = session("catalog@demo.test", StaffRole::CatalogAdmin);
    migration::request(
        &app.state,
        &cat,
        "pro_monthly",
        "pro_monthly_v2",
        migration::Timing::Renewal { not_before: None },
        &Default::default(),
    )
    .await
    .unwrap();
    let id: String = sqlx::query_scalar("SELECT id FROM price_migrations")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let own = migration::decide(&app.state, &cat, &id, true)
        .await
        .unwrap_err();
    assert!(own.to_string().contains("needs a second person"), "{own}");
    let before = app.count("email_outbox").await;
    let approver = session("approver@demo.test", StaffRole::Approver);
    let approved = migration::decide(&app.state, &approver, &id, true)
        .await
        .unwrap();
    assert!(approved.contains("2 customer(s) move"), "{approved}");
    assert_eq!(app.count("email_outbox").await, before + 2);
    let again = migration::decide(&app.state, &approver, &id, true)
        .await
        .unwrap_err();
    assert!(again.to_string().contains("approved already"), "{again}");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('price_migration_request', 'price_migration_approve')",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(audited, 2);
    // The customer sees it on their plan page.
    let page: serde_json::Value = app
        .call(&acme, "/api/billing/plan", &[])
        .await
        .json()
        .await
        .unwrap();
    let change = page["current"]["price_change"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        change.starts_with("Your plan's price changes at your renewal on"),
        "{change}"
    );
    assert!(
        change.contains("$42.00 for 3 seats every month"),
        "{change}"
    );

    // At renewal Acme moves to version 2; Beta moves too, with the seat decrease it scheduled.
    let now = app.state.now();
    for clock in [&acme_clock, &beta_clock] {
        let summary = app.advance_clock(clock, now + 32 * 86_400).await;
        assert!(summary.errors.is_empty(), "{:?}", summary.errors);
        assert_eq!(summary.renewed, 1);
    }
    let subs: Vec<(String, String, i64)> = sqlx::query(
        "SELECT o.name, s.price_id, s.quantity FROM subscriptions s JOIN organizations o ON o.id = s.org_id ORDER BY o.name",
    )
    .fetch_all(&app.db().pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("name"), r.get("price_id"), r.get("quantity")))
    .collect();
    assert_eq!(
        subs,
        [
            ("Acme".to_string(), "pro_monthly_v2".to_string(), 3),
            ("Beta".to_string(), "pro_monthly_v2".to_string(), 1)
        ]
    );
    let totals: Vec<i64> = sqlx::query_scalar(
        "SELECT i.total FROM invoices i JOIN organizations o ON o.id = i.org_id \
         WHERE i.created_at > $1 AND i.total > 0 ORDER BY o.name",
    )
    .bind(now)
    .fetch_all(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(totals, [4200, 1400], "3 × $14.00 and 1 × $14.00");
    let applied: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM subscription_migrations WHERE applied_at IS NOT NULL",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(applied, 2);
    // Afterwards the plan page says nothing more about it.
    let page: serde_json::Value = app
        .call(&acme, "/api/billing/plan", &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(page["current"]["price_change"].is_null(), "{page}");
}

async fn a_customer_moving_to_another_plan_is_not_migrated(app: TestApp) {
    use billing_portal::services::price_migration as migration;
    let browser = app.subscribed("pro_monthly", "1").await;
    let (_, clock) = app.first_org_on_test_clock().await;
    // The customer schedules the move to Free for the renewal.
    let page: serde_json::Value = app
        .call(&browser, "/api/billing/plan", &[])
        .await
        .json()
        .await
        .unwrap();
    let version = page["current"]["version"].as_i64().unwrap().to_string();
    let down = app
        .call(
            &browser,
            "/api/billing/plan/change",
            &[
                ("price_id", "free_monthly"),
                ("seats", "1"),
                ("expected_due", "0"),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(
        down.status(),
        StatusCode::OK,
        "{}",
        down.text().await.unwrap()
    );
    // Pro monthly gets version 2 and its subscribers are migrated to it.
    let (_, mut file) = published(&app).await;
    set_unit_amount(&mut file, "pro_monthly", 1400);
    catalog::publish(&app.state, &file, None, &staff())
        .await
        .unwrap();
    app.approved_migration(
        "pro_monthly",
        "pro_monthly_v2",
        migration::Timing::Renewal { not_before: None },
    )
    .await;
    // The plan page announces the customer's own change, not the migration.
    let page: serde_json::Value = app
        .call(&browser, "/api/billing/plan", &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(page["current"]["price_change"].is_null(), "{page}");
    assert_eq!(page["current"]["scheduled"]["price_id"], "free_monthly");
    // At renewal the customer's change wins: Free, not Pro version 2.
    let summary = app
        .advance_clock(&clock, app.state.now() + 32 * 86_400)
        .await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert_eq!(price_of_subscription(&app).await, "free_monthly");
}

async fn a_migration_moves_only_its_cohort(app: TestApp) {
    use billing_portal::domain::access::StaffRole;
    use billing_portal::domain::cohort::Cohort;
    use billing_portal::services::price_migration as migration;
    // Acme: Pro monthly × 3; Beta: Pro monthly × 1.
    let _acme = app.subscribed("pro_monthly", "3").await;
    let beta = TestApp::browser();
    app.sign_up(&beta, "beta@example.com", "Beta").await;
    app.pay_checkout(&beta, "pro_monthly", "1").await;
    app.eventually_count("subscriptions", 2).await;
    let (acme_org, beta_org) = (app.org_named("Acme").await, app.org_named("Beta").await);
    let clocks = [
        app.clock_for(&acme_org).await,
        app.clock_for(&beta_org).await,
    ];
    let (_, mut file) = published(&app).await;
    set_unit_amount(&mut file, "pro_monthly", 1400);
    catalog::publish(&app.state, &file, None, &staff())
        .await
        .unwrap();

    // The cohort narrows the preview: by seats, by name (any case) or id; an unknown name is
    // refused by name.
    let names = |p: &billing_portal::wire::console::MigrationPreview| {
        p.rows
            .iter()
            .map(|r| r.org_name.clone())
            .collect::<Vec<_>>()
    };
    let two_or_more = Cohort::parse("2", "", "").unwrap();
    let preview = migration::preview(&app.state, "pro_monthly", "pro_monthly_v2", &two_or_more)
        .await
        .unwrap();
    assert_eq!(names(&preview), ["Acme"]);
    assert_eq!(preview.cohort, "subscribers with 2 seats or more");
    assert_eq!(
        (
            preview.totals[0].current.as_str(),
            preview.totals[0].new.as_str()
        ),
        ("$36.00", "$42.00")
    );
    let by_name = Cohort::parse("", "", &format!("beta, {acme_org}")).unwrap();
    let preview = migration::preview(&app.state, "pro_monthly", "pro_monthly_v2", &by_name)
        .await
        .unwrap();
    assert_eq!(names(&preview), ["Acme", "Beta"]);
    let unknown = Cohort::parse("", "", "Gamma").unwrap();
    let refused = migration::preview(&app.state, "pro_monthly", "pro_monthly_v2", &unknown)
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("No subscriber of pro_monthly is named \"Gamma\""),
        "{refused}"
    );
    // The console's form: a bad bound is refused in words; the cohort is asked for as shown.
    let admin = app.staff("catalog@demo.test").await;
    let bad = app
        .call(
            &admin,
            "/api/support/catalog/migration",
            &[
                ("from", "pro_monthly"),
                ("to", "pro_monthly_v2"),
                ("min_seats", "two"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad
        .text()
        .await
        .unwrap()
        .contains("is not a seat count; enter the fewest seats as a whole number"));
    let asked = app
        .call(
            &admin,
            "/api/support/catalog/migration",
            &[
                ("from", "pro_monthly"),
                ("to", "pro_monthly_v2"),
                ("min_seats", "2"),
                ("max_seats", ""),
                ("customers", ""),
            ],
        )
        .await;
    let message = asked.text().await.unwrap();
    assert!(
        message.contains("Migration of 1 subscriber(s)"),
        "{message}"
    );
    let html = app
        .get_with(
            &admin,
            "/support/catalog?from=pro_monthly&to=pro_monthly_v2&min_seats=2",
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("1 subscriber(s): subscribers with 2 seats or more."),
        "{html}"
    );
    assert!(html.contains("1 subscriber(s) (subscribers with 2 seats or more)"));

    // Approved, it pins Acme alone and emails only Acme.
    let id: String = sqlx::query_scalar("SELECT id FROM price_migrations")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let before = app.count("email_outbox").await;
    let approver = session("approver@demo.test", StaffRole::Approver);
    let approved = migration::decide(&app.state, &approver, &id, true)
        .await
        .unwrap();
    assert!(approved.contains("1 customer(s) move"), "{approved}");
    assert_eq!(app.count("email_outbox").await, before + 1);
    assert_eq!(app.count("subscription_migrations").await, 1);
    let now = app.state.now();
    for clock in &clocks {
        let summary = app.advance_clock(clock, now + 32 * 86_400).await;
        assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    }
    let subs: Vec<(String, String)> = sqlx::query(
        "SELECT o.name, s.price_id FROM subscriptions s JOIN organizations o ON o.id = s.org_id ORDER BY o.name",
    )
    .fetch_all(&app.db().pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("name"), r.get("price_id")))
    .collect();
    assert_eq!(
        subs,
        [
            ("Acme".to_string(), "pro_monthly_v2".to_string()),
            ("Beta".to_string(), "pro_monthly".to_string())
        ]
    );
}

async fn a_promotion_code_is_archived_from_the_file(app: TestApp) {
    let browser = app.subscribed("pro_monthly", "2").await;
    let try_code = |code: &'static str| {
        let (app, browser) = (&app, &browser);
        async move {
            let page: serde_json::Value = app
                .call(browser, "/api/billing/plan", &[])
                .await
                .json()
                .await
                .unwrap();
            let version = page["current"]["version"].to_string();
            app.call(
                browser,
                "/api/billing/plan/promotion-code",
                &[("code", code), ("version", &version)],
            )
            .await
            .text()
            .await
            .unwrap()
        }
    };
    // Marked archived: the change list says what it means, and the code is refused.
    let (_, mut file) = published(&app).await;
    let welcome = file
        .coupons
        .iter_mut()
        .flat_map(|c| c.codes.iter_mut())
        .find(|k| k.code == "WELCOME10")
        .unwrap();
    welcome.archived = true;
    let preview = catalog::preview(&app.state, &file).await.unwrap();
    let described: Vec<String> = preview.changes.iter().map(|c| c.describe()).collect();
    assert_eq!(
        described,
        ["- promotion code WELCOME10 for welcome10: no longer accepted (customers who redeemed it keep their discount)"]
    );
    catalog::publish(&app.state, &file, None, &staff())
        .await
        .unwrap();
    let refused = try_code("welcome10").await;
    assert!(
        refused.contains("The code WELCOME10 is no longer active"),
        "{refused}"
    );
    // The export says so; applying it again changes nothing.
    let exported = catalog::render(&published(&app).await.1);
    assert!(
        exported.contains("code = \"WELCOME10\"\narchived = true"),
        "{exported}"
    );
    assert!(catalog::preview(&app.state, &published(&app).await.1)
        .await
        .unwrap()
        .changes
        .is_empty());
    // Left out of the document, a code is archived too; listed again, it is accepted again.
    let (_, mut file) = published(&app).await;
    for coupon in &mut file.coupons {
        coupon.codes.retain(|k| k.code != "LAUNCH20");
    }
    let preview = catalog::preview(&app.state, &file).await.unwrap();
    assert_eq!(preview.changes.len(), 1);
    assert!(preview.changes[0]
        .describe()
        .starts_with("- promotion code LAUNCH20"));
    catalog::publish(&app.state, &file, None, &staff())
        .await
        .unwrap();
    assert!(try_code("LAUNCH20").await.contains("is no longer active"));
    let (_, mut file) = published(&app).await;
    for k in file.coupons.iter_mut().flat_map(|c| c.codes.iter_mut()) {
        k.archived = false;
    }
    catalog::publish(&app.state, &file, None, &staff())
        .await
        .unwrap();
    let applied = try_code("WELCOME10").await;
    assert!(applied.contains("WELCOME10 applied"), "{applied}");
}
