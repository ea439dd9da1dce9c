//! Security and trust over HTTP on SQLite and PostgreSQL: the development mailbox, the audit log's
//! protection, the origin check, rate limits, usage bounds, stuck renewals and races over seats,
//! owners and credit notes.
#![cfg(feature = "ssr")]

mod common;

use common::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

on_both_databases!(
    the_mailbox_shows_only_to_support_staff,
    the_database_refuses_to_change_the_audit_log,
    a_checkpoint_catches_entries_cut_from_the_end,
    writes_come_only_from_the_public_origin,
    impossible_usage_totals_are_refused_at_ingest,
    a_renewal_that_keeps_failing_waits_for_staff,
    invitations_sent_at_once_take_only_the_free_seats,
    a_scheduled_seat_decrease_is_held_against_invitations,
    two_owners_demoting_each_other_leave_one_owner,
    credit_notes_issued_at_once_never_pass_what_the_invoice_charged,
);

/// An owner who has invited `invitee`, so the outbox holds an invitation link.
async fn owner_who_invited(app: &TestApp, invitee: &str) -> reqwest::Client {
    let owner = app.owner_with_catalog().await;
    // The Free plan has one seat; a paid plan with room for the invitation.
    let (_, session) = app.start_checkout(&owner, "pro_monthly", "3").await;
    let paid = app
        .emulator_control(
            &format!("/_emulator/checkout/{}/complete", session.expect("session")),
            serde_json::json!({ "card": "4242424242424242" }),
        )
        .await;
    assert_eq!(paid.status(), StatusCode::OK);
    app.eventually_count("subscriptions", 1).await;
    let invited = app
        .call(
            &owner,
            "/api/members/invite",
            &[("email", invitee), ("role", "member")],
        )
        .await;
    assert_eq!(invited.status(), StatusCode::OK);
    owner
}

async fn the_mailbox_shows_only_to_support_staff(app: TestApp) {
    let invitee = "mallory-target@example.com";
    let owner = owner_who_invited(&app, invitee).await;

    // Nobody, and a customer (even the one who sent the invitation), get a page that does not
    // exist, and the server function behind it answers the same.
    for (who, browser) in [("anonymous", TestApp::browser()), ("customer", owner)] {
        let page = app.get_with(&browser, "/dev/mailbox").await;
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{who}");
        let html = page.text().await.unwrap();
        assert!(html.contains("Page not found"), "{who}: {html}");
        assert!(
            !html.contains(invitee) && !html.contains("/invite/"),
            "{who}"
        );
        let call = app.call(&browser, "/api/dev/mailbox", &[]).await;
        assert_eq!(call.status(), StatusCode::NOT_FOUND, "{who}");
        let body = call.text().await.unwrap();
        assert!(body.contains("NotFound"), "{who}: {body}");
        assert!(
            !body.contains(invitee) && !body.contains("/invite/"),
            "{who}"
        );
    }

    // Signed-in support staff read it.
    let html = app.mailbox().await;
    assert!(
        html.contains(invitee) && html.contains("/invite/"),
        "{html}"
    );
}

/// With `DEV_MAILBOX` unset there is no mailbox, not even for staff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_dev_mailbox_there_is_no_mailbox() {
    let app = TestApp::spawn_with(common::Backend::Sqlite, &[("DEV_MAILBOX", "false")])
        .await
        .expect("sqlite");
    let invitee = "nobody-reads-this@example.com";
    owner_who_invited(&app, invitee).await;
    let agent = app.staff("agent@demo.test").await;
    let page = app.get_with(&agent, "/dev/mailbox").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(!page.text().await.unwrap().contains(invitee));
    let call = app.call(&agent, "/api/dev/mailbox", &[]).await;
    assert_eq!(call.status(), StatusCode::NOT_FOUND);
    assert!(call.text().await.unwrap().contains("NotFound"));
}

async fn some_audit_entries(app: &TestApp) {
    use billing_portal::store::audit::{append, AuditEntry};
    for i in 0..3 {
        append(
            app.db(),
            &AuditEntry {
                actor: "admin@demo.test",
                actor_role: "billing_admin",
                action: "credit",
                target: "org:org_x",
                amount: Some(100 + i),
                currency: Some("USD"),
                note: "goodwill",
                ..AuditEntry::default()
            },
            app.state.now() + i,
        )
        .await
        .unwrap();
    }
}

async fn the_database_refuses_to_change_the_audit_log(app: TestApp) {
    some_audit_entries(&app).await;
    for sql in [
        "UPDATE audit_log SET amount = 1 WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 3",
        "DELETE FROM audit_log",
    ] {
        let refused = sqlx::query(sql).execute(&app.db().pool).await;
        let message = refused.expect_err(sql).to_string();
        assert!(message.contains("append-only"), "{sql}: {message}");
    }
    assert_eq!(app.count("audit_log").await, 3);
}

fn audit_cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_billing-portal"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.state.config.database_url)
        .env("STRIPE_MODE", "emulator")
        .arg("audit")
        .args(args)
        .output()
        .unwrap()
}

async fn a_checkpoint_catches_entries_cut_from_the_end(app: TestApp) {
    some_audit_entries(&app).await;
    let out = audit_cli(&app, &["checkpoint"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    // The checkpoint's own entry is the fourth, and it anchors it.
    assert!(printed.contains("at entry 4 hash "), "{printed}");
    let out = audit_cli(&app, &["verify", "--since-checkpoint"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Staff see the checkpoint in the console.
    billing_portal::services::seed::seed_demo(&app.state)
        .await
        .unwrap();
    let agent = app.staff("agent@demo.test").await;
    let page = app
        .get_with(&agent, "/support/audit")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Last checkpoint: entry 4"), "{page}");

    // Someone with the database's owner rights removes the newest entries, which leaves a
    // chain that is consistent in itself: only the checkpoint can tell.
    app.tamper("DELETE FROM audit_log WHERE seq >= 4").await;
    let out = audit_cli(&app, &["verify", "--since-checkpoint"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("audit log broken at entry 4")
            && stderr.contains("entries were removed from the end"),
        "{stderr}"
    );
    let out = audit_cli(&app, &["verify"]);
    assert_eq!(out.status.code(), Some(1));
}

async fn writes_come_only_from_the_public_origin(app: TestApp) {
    // A DNS-rebinding page reaches the portal's address under its own name: it sends that name
    // as Host and as Origin. Only the configured public origin may write.
    let port = app.base.rsplit(':').next().unwrap().to_string();
    let rebound = format!("http://rebind.attacker.example:{port}");
    let response = TestApp::browser()
        .post(app.url("/api/auth/sign-up"))
        .header(
            reqwest::header::HOST,
            format!("rebind.attacker.example:{port}"),
        )
        .header(reqwest::header::ORIGIN, &rebound)
        .form(&[
            ("email", "victim@example.com"),
            ("password", common::PASSWORD),
            ("org_name", "Rebound"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains(&app.base));
    assert_eq!(app.count("signups").await + app.count("users").await, 0);
}

// ---------------------------------------------------------------------------------------------
// Rate limits

/// A form post as a hydrated page sends it, returning the status, `Retry-After` and body.
async fn attempt(
    app: &TestApp,
    client: &reqwest::Client,
    endpoint: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let response = app.call(client, endpoint, fields).await;
    let status = response.status();
    let retry = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, retry, response.text().await.unwrap())
}

/// After the account's allowance of wrong passwords, even the right one waits, nothing is
/// written for the refused attempts, and the answer says when to try again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_rate_limited_per_account_and_per_address() {
    let app = TestApp::spawn_with(
        common::Backend::Sqlite,
        &[
            ("RATE_LIMIT_SIGN_IN_ACCOUNT", "5/15m"),
            ("RATE_LIMIT_SIGN_IN_ADDRESS", "12/15m"),
        ],
    )
    .await
    .unwrap();
    app.sign_up(&TestApp::browser(), "ada@example.com", "Engines")
        .await;
    let client = TestApp::browser();
    for _ in 0..5 {
        let (status, _, body) = attempt(
            &app,
            &client,
            "/api/auth/sign-in",
            &[
                ("email", "ada@example.com"),
                ("password", "wrong password!"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let entries = app.count("audit_log").await;
    let sessions = app.count("sessions").await;
    let (status, retry, body) = attempt(
        &app,
        &client,
        "/api/auth/sign-in",
        &[("email", "ada@example.com"), ("password", common::PASSWORD)],
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let wait: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=180).contains(&wait), "{wait}");
    let shown = serde_json::from_str::<billing_portal::api::AppError>(&body)
        .unwrap()
        .to_string();
    assert_eq!(shown, "Too many attempts. Wait 3 minutes and try again.");
    assert_eq!(app.count("audit_log").await, entries, "nothing is written");
    assert_eq!(app.count("sessions").await, sessions, "nobody is signed in");
    // The failed attempts were recorded as security events.
    let failed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in_failed'")
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert_eq!(failed, 5);
    // Another account from the same address still may, until the address's own limit.
    let mut limited = 0;
    for i in 0..8 {
        let (status, _, _) = attempt(
            &app,
            &client,
            "/api/auth/sign-in",
            &[
                ("email", &format!("someone{i}@example.com")),
                ("password", "whatever 123456"),
            ],
        )
        .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    assert_eq!(
        limited, 2,
        "12 attempts per address: 6 were left for the others"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_staff_sign_in_invitations_and_api_keys_are_rate_limited() {
    let app = TestApp::spawn_with(
        common::Backend::Sqlite,
        &[
            ("RATE_LIMIT_SIGN_UP_ADDRESS", "3/1h"),
            ("RATE_LIMIT_STAFF_SIGN_IN_ACCOUNT", "2/15m"),
            ("RATE_LIMIT_INVITATION_ADDRESS", "2/15m"),
            ("RATE_LIMIT_API_FAILED_AUTH_ADDRESS", "3/1m"),
            ("RATE_LIMIT_API_KEY", "4/1m"),
        ],
    )
    .await
    .unwrap();
    billing_portal::services::seed::seed_demo(&app.state)
        .await
        .unwrap();
    let client = TestApp::browser();
    let sign_up = |i: usize| {
        let app = &app;
        let client = client.clone();
        async move {
            attempt(
                app,
                &client,
                "/api/auth/sign-up",
                &[
                    ("email", &format!("new{i}@example.com")),
                    ("password", common::PASSWORD),
                    ("org_name", "New"),
                ],
            )
            .await
        }
    };
    for i in 0..3 {
        assert_eq!(sign_up(i).await.0, StatusCode::OK);
    }
    let (status, retry, _) = sign_up(3).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry.is_some());
    assert_eq!(app.count("signups").await, 3);

    for _ in 0..2 {
        let (status, _, _) = attempt(
            &app,
            &client,
            "/api/support/sign-in",
            &[
                ("email", "admin@demo.test"),
                ("password", "not the password"),
                ("code", "123456"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let code = billing_portal::server::mfa::code_at(
        billing_portal::server::mfa::DEMO_SECRET,
        app.state.now(),
    )
    .unwrap();
    let (status, _, _) = attempt(
        &app,
        &client,
        "/api/support/sign-in",
        &[
            ("email", "admin@demo.test"),
            ("password", billing_portal::services::seed::DEMO_PASSWORD),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right code waits"
    );

    for _ in 0..2 {
        let (status, _, _) = attempt(
            &app,
            &client,
            "/api/invitations/accept",
            &[("token", "0000"), ("password", "guess 1234567")],
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, _, _) = attempt(
        &app,
        &client,
        "/api/invitations/accept",
        &[("token", "0000"), ("password", "guess 1234567")],
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    // Guessed API keys are counted per address; a real key's calls per key.
    let api = reqwest::Client::new();
    let call = |key: String| {
        let api = api.clone();
        let url = app.url("/api/v1/customers/org_x/entitlements");
        async move {
            let r = api.get(url).bearer_auth(key).send().await.unwrap();
            (r.status(), r.headers().get("retry-after").is_some())
        }
    };
    for i in 0..3 {
        assert_eq!(
            call(format!("bps_guess{i}")).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        call("bps_guess4".into()).await,
        (StatusCode::TOO_MANY_REQUESTS, true)
    );
    let (_, key) = billing_portal::store::usage::create_key(
        app.db(),
        None,
        "service",
        &billing_portal::store::audit::Actor::cli(),
        app.state.now(),
    )
    .await
    .unwrap();
    for _ in 0..4 {
        assert_eq!(call(key.clone()).await.0, StatusCode::NOT_FOUND);
    }
    assert_eq!(call(key).await, (StatusCode::TOO_MANY_REQUESTS, true));
}

// ---------------------------------------------------------------------------------------------
// Money and seats under extremes and concurrency

/// A subscribed owner with an organisation API key: (browser, organisation id, key).
async fn customer_with_key(app: &TestApp, seats: &str) -> (reqwest::Client, String, String) {
    let browser = app.subscribed("pro_monthly", seats).await;
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
    (
        browser,
        org,
        created["secret"].as_str().unwrap().to_string(),
    )
}

async fn send_events(app: &TestApp, key: &str, events: Value) -> (StatusCode, Value) {
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

async fn impossible_usage_totals_are_refused_at_ingest(app: TestApp) {
    use billing_portal::domain::metering::{MAX_EVENT_QUANTITY, MAX_METER_TOTAL};
    let (_, org, key) = customer_with_key(&app, "1").await;
    let now = app.state.now();
    let event = |id: String, quantity: i64| json!({"id": id, "customer": org, "meter": "build_minutes", "quantity": quantity, "timestamp": now - 60});
    // Two events of i64::MAX minutes: each is refused on its own.
    let (status, body) = send_events(
        &app,
        &key,
        json!([
            event("max-1".into(), i64::MAX),
            event("max-2".into(), i64::MAX)
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["rejected"], 2, "{body}");
    assert!(body["results"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("from 0 to 1000000000000"));
    // Up to the meter's ceiling it adds up; past it, the event that would pass it is refused.
    let per_event = MAX_EVENT_QUANTITY;
    let fill = (MAX_METER_TOTAL / per_event) as usize;
    let batch: Vec<Value> = (0..fill)
        .map(|i| event(format!("big-{i}"), per_event))
        .collect();
    let (_, body) = send_events(&app, &key, Value::Array(batch)).await;
    assert_eq!(body["accepted"], fill, "{}", body["results"][0]);
    let (_, body) = send_events(
        &app,
        &key,
        json!([
            event("one-more".into(), 1),
            event("big-0".into(), per_event)
        ]),
    )
    .await;
    assert_eq!(body["results"][0]["status"], "rejected", "{body}");
    assert!(body["results"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("the most one meter may hold"));
    assert_eq!(body["results"][1]["status"], "duplicate", "{body}");
    let total: i64 = sqlx::query(
        "SELECT total FROM usage_totals WHERE org_id = $1 AND meter_id = 'build_minutes'",
    )
    .bind(&org)
    .fetch_one(&app.db().pool)
    .await
    .unwrap()
    .get("total");
    assert_eq!(total, MAX_METER_TOTAL);

    // The customer's figures still answer, and the renewal bills the usage.
    let entitlements = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/customers/{org}/entitlements")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(entitlements.status(), StatusCode::OK);
    let usage = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/customers/{org}/usage")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(usage.status(), StatusCode::OK);
    let (_, clock) = app.first_org_on_test_clock().await;
    let summary = app.advance_clock(&clock, now + 32 * 86_400).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert_eq!(summary.renewed, 1);
}

async fn a_renewal_that_keeps_failing_waits_for_staff(app: TestApp) {
    use billing_portal::store::renewals::MAX_RENEWAL_FAILURES;
    app.subscribed("pro_monthly", "1").await;
    let (org, clock) = app.first_org_on_test_clock().await;
    // The subscription holds more seats than its price allows (written behind the portal's
    // back): the renewal cannot be priced.
    sqlx::query("UPDATE subscriptions SET quantity = 51")
        .execute(&app.db().pool)
        .await
        .unwrap();
    let now = app.state.now();
    let summary = app.advance_clock(&clock, now + 40 * 86_400).await;
    assert!(!summary.errors.is_empty());
    let failures = |app: &TestApp| {
        let pool = app.db().pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT CAST(renewal_failures AS BIGINT) FROM subscriptions",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    // Every bill run tries again, up to the bound; then it stops.
    for _ in 0..(MAX_RENEWAL_FAILURES + 3) {
        billing_portal::services::bill_run::run_due(
            &app.state,
            &billing_portal::services::bill_run::RunOptions {
                test_clock: Some(clock.clone()),
                ..billing_portal::services::bill_run::RunOptions::for_state(&app.state)
            },
            &|_| {},
        )
        .await;
    }
    assert_eq!(failures(&app).await, MAX_RENEWAL_FAILURES);
    let attention: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'renewal_needs_attention'",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(attention, 1);

    // The console shows it, with the error, and a billing admin retries it once fixed.
    let agent = app.staff("agent@demo.test").await;
    let home = app.get_with(&agent, "/support").await.text().await.unwrap();
    assert!(home.contains("Needs attention: 1 renewal(s)"), "{home}");
    assert!(home.contains("is above the maximum of 50"), "{home}");
    let admin = app.staff("admin@demo.test").await;
    let page = app
        .get_with(&admin, &format!("/support/customers/{org}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("failed 5 times in a row"), "{page}");
    sqlx::query("UPDATE subscriptions SET quantity = 1")
        .execute(&app.db().pool)
        .await
        .unwrap();
    let fields = [
        ("org_id", org.as_str()),
        ("reason_code", "billing_error"),
        ("note", "the seat count was corrected"),
    ];
    let preview = app
        .call(&admin, "/api/support/renewal/retry", &fields)
        .await;
    let query = common::location(&preview).expect("a confirmation page");
    // The confirmation page's button posts to the retry itself.
    let page = app.get_with(&admin, &query).await.text().await.unwrap();
    assert!(
        page.contains(r#"action="/api/support/renewal/retry""#),
        "{page}"
    );
    let shown: Value = app
        .call(
            &admin,
            "/api/support/confirm",
            &[("query", query.trim_start_matches("/support/confirm?"))],
        )
        .await
        .json()
        .await
        .unwrap();
    let key = shown["key"].as_str().unwrap().to_string();
    let mut confirm = fields.to_vec();
    confirm.push(("confirm", &key));
    let done = app
        .call(&admin, "/api/support/renewal/retry", &confirm)
        .await;
    assert_eq!(
        done.status(),
        StatusCode::OK,
        "{}",
        done.text().await.unwrap()
    );
    assert_eq!(failures(&app).await, 0);
    let summary = billing_portal::services::bill_run::run_due(
        &app.state,
        &billing_portal::services::bill_run::RunOptions {
            test_clock: Some(clock.clone()),
            ..billing_portal::services::bill_run::RunOptions::for_state(&app.state)
        },
        &|_| {},
    )
    .await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert!(summary.renewed >= 1);
}

async fn invite(app: &TestApp, owner: &reqwest::Client, email: &str) -> (StatusCode, String) {
    let response = app
        .call(
            owner,
            "/api/members/invite",
            &[("email", email), ("role", "member")],
        )
        .await;
    let status = response.status();
    (status, response.text().await.unwrap())
}

async fn in_use(app: &TestApp) -> i64 {
    let members: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships m JOIN organizations o ON o.id = m.org_id WHERE o.name = 'Acme'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let pending: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM invitations WHERE accepted_at IS NULL AND revoked_at IS NULL",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    members + pending
}

async fn invitations_sent_at_once_take_only_the_free_seats(app: TestApp) {
    let owner = app.subscribed("pro_monthly", "7").await;
    for i in 0..5 {
        assert_eq!(
            invite(&app, &owner, &format!("early{i}@example.com"))
                .await
                .0,
            StatusCode::OK
        );
    }
    assert_eq!(in_use(&app).await, 6);
    // Five at once for the one free seat.
    let race = (0..5).map(|i| {
        let app = &app;
        let owner = owner.clone();
        async move { invite(app, &owner, &format!("racer{i}@example.com")).await }
    });
    let results = futures::future::join_all(race).await;
    let sent = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(sent, 1, "{results:?}");
    for (status, body) in results.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!(*status, StatusCode::CONFLICT, "{body}");
        assert!(body.contains("seat"), "{body}");
    }
    assert_eq!(in_use(&app).await, 7);
    let seats: i64 = sqlx::query_scalar("SELECT quantity FROM subscriptions")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(seats, 7);
}

async fn a_scheduled_seat_decrease_is_held_against_invitations(app: TestApp) {
    let owner = app.subscribed("pro_monthly", "7").await;
    async fn version(app: &TestApp, owner: &reqwest::Client) -> String {
        {
            let page: Value = app
                .call(owner, "/api/billing/plan", &[])
                .await
                .json()
                .await
                .unwrap();
            page["current"]["version"].as_i64().unwrap().to_string()
        }
    }
    let v = version(&app, &owner).await;
    let scheduled = app
        .call(
            &owner,
            "/api/billing/plan/change",
            &[
                ("price_id", "pro_monthly"),
                ("seats", "3"),
                ("expected_due", "0"),
                ("version", &v),
            ],
        )
        .await;
    assert_eq!(
        scheduled.status(),
        StatusCode::OK,
        "{}",
        scheduled.text().await.unwrap()
    );
    // 1 member; the scheduled 3 seats leave room for two invitations, not four.
    let mut sent = 0;
    for i in 0..4 {
        let (status, body) = invite(&app, &owner, &format!("later{i}@example.com")).await;
        if status == StatusCode::OK {
            sent += 1;
        } else {
            assert!(
                body.contains("scheduled for the period end leaves 3 seat(s)"),
                "{body}"
            );
        }
    }
    assert_eq!(sent, 2);
    assert_eq!(in_use(&app).await, 3);
    // Scheduling fewer seats than are taken is refused too, even with a fresh version.
    let v = version(&app, &owner).await;
    let fewer = app
        .call(
            &owner,
            "/api/billing/plan/change",
            &[
                ("price_id", "pro_monthly"),
                ("seats", "2"),
                ("expected_due", "0"),
                ("version", &v),
            ],
        )
        .await;
    assert_eq!(fewer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The renewal bills 3 seats with 3 in use.
    let (_, clock) = app.first_org_on_test_clock().await;
    let now = app.state.now();
    app.advance_clock(&clock, now + 32 * 86_400).await;
    let seats: i64 = sqlx::query_scalar("SELECT quantity FROM subscriptions")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(seats, 3);
    assert!(in_use(&app).await <= seats);
}

async fn two_owners_demoting_each_other_leave_one_owner(app: TestApp) {
    let owner = app.subscribed("pro_monthly", "3").await;
    let invited = app
        .call(
            &owner,
            "/api/members/invite",
            &[("email", "co@example.com"), ("role", "owner")],
        )
        .await;
    assert_eq!(invited.status(), StatusCode::OK);
    let link = app
        .emailed_link("co@example.com", "/invite/")
        .await
        .unwrap();
    let co = TestApp::browser();
    let token = link.rsplit('/').next().unwrap().to_string();
    let joined = app
        .submit_form(
            &co,
            &link,
            "/api/invitations/accept",
            &[("token", &token), ("password", "a long passphrase for co")],
        )
        .await;
    assert_eq!(common::location(&joined).as_deref(), Some("/billing"));
    let id = |email: &'static str| {
        let pool = app.db().pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT id FROM users WHERE email = $1")
                .bind(email)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let (owner_id, co_id) = (id("owner@example.com").await, id("co@example.com").await);
    for _ in 0..5 {
        let demote_co = [("user_id", co_id.as_str()), ("role", "member")];
        let demote_owner = [("user_id", owner_id.as_str()), ("role", "member")];
        let a = app.call(&owner, "/api/members/role", &demote_co);
        let b = app.call(&co, "/api/members/role", &demote_owner);
        let _ = futures::future::join(a, b).await;
        let owners: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE role = 'owner' AND org_id = (SELECT org_id FROM subscriptions)")
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
        assert!(owners >= 1, "an organisation always keeps an owner");
        // Whoever is still an owner makes the other one an owner again.
        for (who, other) in [(&owner, &co_id), (&co, &owner_id)] {
            let _ = app
                .call(
                    who,
                    "/api/members/role",
                    &[("user_id", other), ("role", "owner")],
                )
                .await;
        }
    }
}

async fn credit_notes_issued_at_once_never_pass_what_the_invoice_charged(app: TestApp) {
    use billing_portal::store::credit_notes::{
        self, CreditNoteError, CreditOutcome, NewCreditNote,
    };
    app.subscribed("pro_monthly", "2").await;
    let (org, _) = app.first_org_on_test_clock().await;
    let org = billing_portal::domain::ids::OrgId::parse(&org).unwrap();
    let (invoice, paid): (String, i64) =
        sqlx::query_as("SELECT id, amount_paid FROM invoices WHERE status = 'paid'")
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert_eq!(paid, 2400, "the $24.00 first invoice");
    let invoice = billing_portal::domain::ids::InvoiceId::parse(&invoice).unwrap();
    // Ten $5.00 credit notes at once against $24.00: four fit, the other six are refused.
    let attempts = (0..10).map(|i| {
        let (db, org, invoice) = (app.db().clone(), org.clone(), invoice.clone());
        let now = app.state.now();
        async move {
            let reason = format!("outage credit {i}");
            credit_notes::issue(
                &db,
                &NewCreditNote {
                    org_id: &org,
                    invoice_id: &invoice,
                    amount: 500,
                    outcome: CreditOutcome::CreditBalance,
                    reason: &reason,
                    actor: "agent@support.test",
                },
                now,
            )
            .await
        }
    });
    let results = futures::future::join_all(attempts).await;
    let issued = results.iter().filter(|r| r.is_ok()).count();
    for refused in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(refused, CreditNoteError::TooMuch(_)),
            "refused only for the amount: {refused}"
        );
    }
    assert_eq!(issued, 4, "{results:?}");
    let credited: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM credit_notes WHERE invoice_id = $1",
    )
    .bind(&invoice)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(credited, 2000);
    let numbers: Vec<String> =
        sqlx::query_scalar("SELECT number FROM credit_notes ORDER BY number")
            .fetch_all(&app.db().pool)
            .await
            .unwrap();
    assert_eq!(numbers, ["CN-0001", "CN-0002", "CN-0003", "CN-0004"]);
}
