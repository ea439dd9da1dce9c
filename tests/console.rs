//! The support console on SQLite and PostgreSQL: who may call which console function, a partial
//! refund then a too-large one, a repeated submission, the timeline, and the audit log's hash
//! chain catching a changed row (through `billing-portal audit verify`).
#![cfg(feature = "ssr")]

mod common;

use common::TestApp;
use reqwest::{Client, StatusCode};
use sqlx::Row;

on_both_databases!(
    each_role_can_call_exactly_its_console_functions,
    refunds_are_partial_bounded_idempotent_and_audited,
    a_changed_audit_row_breaks_the_chain,
    large_refunds_wait_for_a_different_approver,
    staff_credit_retry_void_and_extend_with_reasons,
    viewing_as_a_customer_reads_everything_and_changes_nothing,
    plan_changes_credit_notes_emails_and_clocks_from_the_console,
    the_audit_log_filters_and_exports_csv,
);

async fn staff(app: &TestApp, email: &str) -> Client {
    app.staff(email).await
}

/// A subscribed customer (Pro × 2, $24.00 paid) and its organisation id and first invoice id.
async fn paying_customer(app: &TestApp) -> (Client, String, String) {
    let browser = app.subscribed("pro_monthly", "2").await;
    let r = sqlx::query("SELECT org_id, id FROM invoices")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    (browser, r.get("org_id"), r.get("id"))
}

async fn each_role_can_call_exactly_its_console_functions(app: TestApp) {
    let (customer, org, invoice) = paying_customer(&app).await;
    let agent = staff(&app, "agent@demo.test").await;
    let admin = staff(&app, "admin@demo.test").await;
    let approver = staff(&app, "approver@demo.test").await;
    let nobody = TestApp::browser();
    let token = "form_test_token_1";
    let reason = [("reason_code", "customer_request"), ("note", "role check")];
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/api/support/approvals", vec![]),
        (
            "/api/support/credit",
            [
                vec![
                    ("org_id", org.as_str()),
                    ("amount", "1.00"),
                    ("token", "form_role_credit"),
                ],
                reason.to_vec(),
            ]
            .concat(),
        ),
        (
            "/api/support/invoice/retry",
            [vec![("invoice_id", "inv_none")], reason.to_vec()].concat(),
        ),
        (
            "/api/support/invoice/close",
            [
                vec![("invoice_id", "inv_none"), ("action", "void")],
                reason.to_vec(),
            ]
            .concat(),
        ),
        (
            "/api/support/trial/extend",
            [
                vec![("org_id", org.as_str()), ("days", "3")],
                reason.to_vec(),
            ]
            .concat(),
        ),
        ("/api/support/search", vec![("q", "owner")]),
        ("/api/support/customer", vec![("org_id", &org)]),
        ("/api/support/audit", vec![]),
        (
            "/api/support/refund",
            vec![
                ("invoice_id", &invoice),
                ("amount", "1.00"),
                ("reason_code", "goodwill"),
                ("note", "role check"),
                ("token", token),
            ],
        ),
        (
            "/api/support/plan/change",
            [
                vec![
                    ("org_id", org.as_str()),
                    ("price_id", "pro_monthly"),
                    ("seats", "2"),
                ],
                reason.to_vec(),
            ]
            .concat(),
        ),
        (
            "/api/support/invoice/reduce",
            [
                vec![
                    ("invoice_id", "inv_none"),
                    ("amount", "1.00"),
                    ("token", "form_role_reduce"),
                ],
                reason.to_vec(),
            ]
            .concat(),
        ),
        (
            "/api/support/invoice/resend",
            [vec![("invoice_id", invoice.as_str())], reason.to_vec()].concat(),
        ),
        (
            "/api/support/test-clock/advance",
            [
                vec![("org_id", org.as_str()), ("days", "1")],
                reason.to_vec(),
            ]
            .concat(),
        ),
        ("/api/support/usage", vec![("org_id", org.as_str())]),
    ];
    // (who, allowed for each call above)
    // approvals, credit, retry, close, extend, search, customer, audit, refund,
    // change plan, credit note, resend email, advance clock, usage events
    let table: [(&str, &Client, [bool; 14]); 5] = [
        (
            "agent",
            &agent,
            [
                true, false, true, false, true, true, true, true, false, false, false, true, false,
                true,
            ],
        ),
        ("billing admin", &admin, [true; 14]),
        (
            "approver",
            &approver,
            [
                true, false, false, false, false, true, true, true, false, false, false, false,
                false, true,
            ],
        ),
        ("customer", &customer, [false; 14]),
        ("no session", &nobody, [false; 14]),
    ];
    for (who, client, allowed) in table {
        for ((endpoint, fields), allowed) in calls.iter().zip(allowed) {
            let (status, body, _) = app.confirmed(client, endpoint, fields).await;
            if allowed {
                // Allowed: done, or refused for what it asks (no such invoice, not on a trial),
                // never for who is asking.
                assert!(
                    status.is_success()
                        || !(body.contains("Forbidden") || body.contains("Unauthenticated")),
                    "{who} may call {endpoint}: {status} {body}"
                );
            } else {
                assert!(!status.is_success(), "{who} may not call {endpoint}");
                let expected = if who == "customer" || who == "no session" {
                    "Unauthenticated"
                } else {
                    "Forbidden"
                };
                assert!(body.contains(expected), "{who} → {endpoint}: {body}");
            }
        }
    }
    // Only the billing admin's refund and credit happened, and the agent's and the admin's
    // invoice emails were sent.
    assert_eq!(app.count("credit_notes").await, 1);
    assert_eq!(app.count("credit_ledger").await, 1);
    let resent: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM email_outbox WHERE subject = 'Invoice 0001 for $24.00 (paid)'",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap()
    .get("n");
    assert_eq!(resent, 2);
    // The confirmation page itself answers only to the roles of the action it shows.
    let query = format!(
        "do=refund&invoice_id={invoice}&amount=1.00&reason_code=goodwill&note=x&token=form_role_preview"
    );
    for (who, client, allowed) in [
        ("agent", &agent, false),
        ("billing admin", &admin, true),
        ("approver", &approver, false),
    ] {
        let response = app
            .call(client, "/api/support/confirm", &[("query", &query)])
            .await;
        assert_eq!(
            response.status().is_success(),
            allowed,
            "{who} previews a refund"
        );
    }
}

async fn refunds_are_partial_bounded_idempotent_and_audited(app: TestApp) {
    let (_, org, invoice) = paying_customer(&app).await;
    let admin = staff(&app, "admin@demo.test").await;
    let refund = |amount: &'static str, token: &'static str| {
        let admin = admin.clone();
        let invoice = invoice.clone();
        let app = &app;
        async move {
            let (status, body, _) = app
                .confirmed(
                    &admin,
                    "/api/support/refund",
                    &[
                        ("invoice_id", &invoice),
                        ("amount", amount),
                        ("reason_code", "service_issue"),
                        ("note", "outage on 14 January"),
                        ("token", token),
                    ],
                )
                .await;
            (status, body)
        }
    };
    let (status, body) = refund("10.00", "form_first_refund").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains("Refunded $10.00 on invoice 0001 (credit note CN-0001)"),
        "{body}"
    );
    // The same form submitted again is the same refund.
    let (_, again) = refund("10.00", "form_first_refund").await;
    assert!(
        again.contains("Already done: credit note CN-0001"),
        "{again}"
    );
    // $24.00 paid, $10.00 refunded: $14.01 is too much.
    let (status, body) = refund("14.01", "form_second_refund").await;
    assert!(!status.is_success());
    assert!(
        body.contains("At most $14.00 can still be refunded on invoice 0001"),
        "{body}"
    );
    // A reason and a note are required.
    let missing = app
        .call(
            &admin,
            "/api/support/refund",
            &[
                ("invoice_id", &invoice),
                ("amount", "1.00"),
                ("reason_code", ""),
                ("note", "x"),
                ("token", "form_third"),
            ],
        )
        .await;
    assert!(missing.text().await.unwrap().contains("Choose a reason"));

    // Stripe refunded exactly once; the customer's timeline and the audit log show it.
    let events: serde_json::Value = app.emulator_get("/_emulator/events").await;
    let refunds = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "charge.refunded" || e["type"] == "refund.created")
        .count();
    assert!(refunds >= 1);
    let view: serde_json::Value = app
        .call(&admin, "/api/support/customer", &[("org_id", &org)])
        .await
        .json()
        .await
        .unwrap();
    let timeline = view["timeline"].as_array().unwrap();
    assert!(timeline.iter().any(|t| t["kind"] == "staff"
        && t["text"]
            .as_str()
            .unwrap()
            .contains("refund by admin@demo.test")));
    assert!(timeline.iter().any(|t| t["kind"] == "credit"
        && t["text"]
            .as_str()
            .unwrap()
            .contains("Credit note CN-0001 for $10.00 (refund)")));
    assert_eq!(view["invoices"][0]["refundable"], "$14.00");
    let audit: serde_json::Value = app
        .call(&admin, "/api/support/audit", &[("action", "refund")])
        .await
        .json()
        .await
        .unwrap();
    let rows = audit["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["amount"], "$10.00");
    assert_eq!(rows[0]["reason"], "service_issue");
    // The checkout's payment is in the log too, as the system's.
    let payments: serde_json::Value = app
        .call(&admin, "/api/support/audit", &[("actor", "system")])
        .await
        .json()
        .await
        .unwrap();
    let payment = payments["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "payment_received")
        .expect("the checkout's payment");
    assert_eq!(payment["amount"], "$24.00");
    let refunded: i64 = sqlx::query("SELECT amount_refunded FROM payments")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("amount_refunded");
    assert_eq!(refunded, 1000);
}

async fn a_changed_audit_row_breaks_the_chain(app: TestApp) {
    use billing_portal::store::audit::{append, verify, AuditEntry, Verification};
    for i in 0..5 {
        let note = format!("entry {i}");
        append(
            app.db(),
            &AuditEntry {
                actor: "admin@demo.test",
                actor_role: "billing_admin",
                action: "credit",
                target: "org:test",
                amount: Some(100 * i),
                currency: Some("USD"),
                note: &note,
                ..AuditEntry::default()
            },
            app.state.now() + i,
        )
        .await
        .unwrap();
    }
    assert_eq!(
        verify(app.db()).await.unwrap(),
        Verification::Intact { entries: 5 }
    );
    let cli = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_billing-portal"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &app.state.config.database_url)
            .env("STRIPE_MODE", "emulator")
            .args(["audit", "verify"])
            .output()
            .unwrap()
    };
    let out = cli();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact: 5 entries"));

    // The request id is covered too: changing which submission an entry came from breaks it.
    app.tamper("UPDATE audit_log SET request_id = 'form:other' WHERE seq = 5")
        .await;
    assert!(matches!(
        verify(app.db()).await.unwrap(),
        Verification::Broken { seq: 5, .. }
    ));
    app.tamper("UPDATE audit_log SET request_id = NULL WHERE seq = 5")
        .await;
    assert_eq!(
        verify(app.db()).await.unwrap(),
        Verification::Intact { entries: 5 }
    );

    // Someone lowers an amount in place: the chain breaks exactly there.
    app.tamper("UPDATE audit_log SET amount = 1 WHERE seq = 3")
        .await;
    assert!(matches!(
        verify(app.db()).await.unwrap(),
        Verification::Broken { seq: 3, .. }
    ));
    let out = cli();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("audit log broken at entry 3"), "{stderr}");
}

async fn large_refunds_wait_for_a_different_approver(app: TestApp) {
    // Team × 5 = $125.00 paid; the default threshold is $100.00.
    let _customer = app.subscribed("team_monthly", "5").await;
    let invoice: String = sqlx::query("SELECT id FROM invoices")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("id");
    let admin = staff(&app, "admin@demo.test").await;
    let approver = staff(&app, "approver@demo.test").await;
    let (_, message, shown) = app
        .confirmed(
            &admin,
            "/api/support/refund",
            &[
                ("invoice_id", &invoice),
                ("amount", "110.00"),
                ("reason_code", "billing_error"),
                ("note", "charged the wrong plan"),
                ("token", "form_large_refund"),
            ],
        )
        .await;
    let shown = shown.expect("a confirmation");
    assert_eq!(
        shown["title"],
        "Ask an approver to refund $110.00 on invoice 0001"
    );
    assert!(shown["lines"][0]
        .as_str()
        .unwrap()
        .contains("above the approval threshold of $100.00"));
    assert!(
        message.contains("waits for an approver. Nothing has changed yet."),
        "{message}"
    );
    assert_eq!(app.count("credit_notes").await, 0);
    let list: serde_json::Value = app
        .call(&approver, "/api/support/approvals", &[])
        .await
        .json()
        .await
        .unwrap();
    let id = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(list[0]["status"], "pending");
    assert_eq!(list[0]["amount"], "$110.00");

    // The billing admin cannot decide; an approver may not decide their own request.
    let by_admin = app
        .call(
            &admin,
            "/api/support/approvals/decide",
            &[("id", &id), ("decision", "approve")],
        )
        .await;
    assert!(by_admin.text().await.unwrap().contains("Forbidden"));
    sqlx::query("UPDATE approval_requests SET requested_by = 'approver@demo.test' WHERE id = $1")
        .bind(&id)
        .execute(&app.db().pool)
        .await
        .unwrap();
    let own = app
        .call(
            &approver,
            "/api/support/approvals/decide",
            &[("id", &id), ("decision", "approve")],
        )
        .await;
    assert!(own
        .text()
        .await
        .unwrap()
        .contains("another approver must decide it"));
    sqlx::query("UPDATE approval_requests SET requested_by = 'admin@demo.test' WHERE id = $1")
        .bind(&id)
        .execute(&app.db().pool)
        .await
        .unwrap();

    // A different approver approves: the money moves once.
    let approved = app
        .call(
            &approver,
            "/api/support/approvals/decide",
            &[("id", &id), ("decision", "approve")],
        )
        .await;
    let message = approved.text().await.unwrap();
    assert!(
        message.contains("Approved: Refunded $110.00 on invoice 0001"),
        "{message}"
    );
    assert_eq!(app.count("credit_notes").await, 1);
    let again = app
        .call(
            &approver,
            "/api/support/approvals/decide",
            &[("id", &id), ("decision", "approve")],
        )
        .await;
    assert!(again.text().await.unwrap().contains("already approved"));
    assert_eq!(app.count("credit_notes").await, 1);
    let actions = audit_actions(&app).await;
    assert_eq!(
        actions,
        [
            "payment_received",
            "refund_requested",
            "refund_approved",
            "refund"
        ]
    );
    assert!(matches!(
        billing_portal::store::audit::verify(app.db())
            .await
            .unwrap(),
        billing_portal::store::audit::Verification::Intact { .. }
    ));
}

async fn staff_credit_retry_void_and_extend_with_reasons(app: TestApp) {
    let (customer, org, _) = paying_customer(&app).await;
    let admin = staff(&app, "admin@demo.test").await;
    let agent = staff(&app, "agent@demo.test").await;
    let approver = staff(&app, "approver@demo.test").await;
    let act = |client: &Client, endpoint: &'static str, fields: Vec<(&'static str, String)>| {
        let client = client.clone();
        let app = &app;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, body, _) = app.confirmed(&client, endpoint, &fields).await;
            (status, body)
        }
    };
    let credit = |amount: &str, token: &str| {
        vec![
            ("org_id", org.clone()),
            ("amount", amount.to_string()),
            ("reason_code", "goodwill".to_string()),
            ("note", "sorry for the outage".to_string()),
            ("token", token.to_string()),
        ]
    };
    // $5.00 now; the same form again does nothing more; $150.00 waits for an approver.
    let (_, body) = act(
        &admin,
        "/api/support/credit",
        credit("5.00", "form_credit_small"),
    )
    .await;
    assert!(body.contains("Added $5.00 of account credit"), "{body}");
    let (_, body) = act(
        &admin,
        "/api/support/credit",
        credit("5.00", "form_credit_small"),
    )
    .await;
    assert!(body.contains("Already done"), "{body}");
    let (_, body) = act(
        &admin,
        "/api/support/credit",
        credit("150.00", "form_credit_large"),
    )
    .await;
    assert!(body.contains("waits for an approver"), "{body}");
    let balance = |app: &TestApp| {
        let db = app.db().clone();
        let org = billing_portal::domain::ids::OrgId::parse(&org).unwrap();
        async move {
            billing_portal::store::credits::balance(
                &db,
                &org,
                billing_portal::domain::Currency::USD,
            )
            .await
            .unwrap()
            .minor_units()
        }
    };
    assert_eq!(balance(&app).await, 500);
    let list: serde_json::Value = app
        .call(&approver, "/api/support/approvals", &[])
        .await
        .json()
        .await
        .unwrap();
    let id = list[0]["id"].as_str().unwrap().to_string();
    let (_, body) = act(
        &approver,
        "/api/support/approvals/decide",
        vec![("id", id.clone()), ("decision", "approve".into())],
    )
    .await;
    assert!(
        body.contains("Approved: Added $150.00 of account credit"),
        "{body}"
    );
    assert_eq!(balance(&app).await, 15_500);

    // A declining card and a month later: the renewal is open; the balance paid part of it.
    app.add_card(&customer, "4000000000000341", 2).await;
    let (_, clock) = app.first_org_on_test_clock().await;
    let now = app.state.now();
    app.advance_clock(&clock, now + 31 * 86_400).await;
    let r = sqlx::query("SELECT id, status, credit_applied, amount_due FROM invoices WHERE billing_reason = 'subscription_cycle'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    let open: String = r.get("id");
    // $24.00 renewal, all of it paid from $155.00 of credit: nothing left to charge.
    assert_eq!(r.get::<String, _>("status"), "paid");
    assert_eq!(r.get::<i64, _>("credit_applied"), 2400);
    let _ = open;

    // Use up the credit so the next renewal is charged (and declined).
    sqlx::query("DELETE FROM credit_ledger")
        .execute(&app.db().pool)
        .await
        .unwrap();
    let now = test_clocks_time(&app, &clock).await;
    app.advance_clock(&clock, now + 29 * 86_400).await;
    let open: String = sqlx::query("SELECT id FROM invoices WHERE status = 'open'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("id");
    let reason = |extra: Vec<(&'static str, String)>| {
        [
            extra,
            vec![
                ("reason_code", "payment_issue".to_string()),
                ("note", "customer asked us to try again".to_string()),
            ],
        ]
        .concat()
    };
    let (_, body) = act(
        &agent,
        "/api/support/invoice/retry",
        reason(vec![("invoice_id", open.clone())]),
    )
    .await;
    assert!(body.contains("declined again"), "{body}");
    let attempts: i64 = sqlx::query("SELECT attempt_count FROM invoices WHERE id = $1")
        .bind(&open)
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("attempt_count");
    assert_eq!(attempts, 2);
    let (_, body) = act(
        &agent,
        "/api/support/invoice/close",
        reason(vec![
            ("invoice_id", open.clone()),
            ("action", "void".into()),
        ]),
    )
    .await;
    assert!(body.contains("Forbidden"), "{body}");
    // The $24.00 void alone is under the threshold, but with the $155.00 of credit the same
    // admin gave this customer today it is not: an approver decides.
    let (_, body) = act(
        &admin,
        "/api/support/invoice/close",
        reason(vec![
            ("invoice_id", open.clone()),
            ("action", "void".into()),
        ]),
    )
    .await;
    assert!(
        body.contains("Void invoice") && body.contains("waits for an approver"),
        "{body}"
    );
    let list: serde_json::Value = app
        .call(&approver, "/api/support/approvals", &[])
        .await
        .json()
        .await
        .unwrap();
    let void_request = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "Void" && r["status"] == "pending")
        .expect("the void waits")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, body) = act(
        &approver,
        "/api/support/approvals/decide",
        vec![("id", void_request), ("decision", "approve".into())],
    )
    .await;
    assert!(
        body.contains("Approved: Invoice") && body.contains("is void"),
        "{body}"
    );
    let (_, body) = act(
        &agent,
        "/api/support/trial/extend",
        reason(vec![("org_id", org.clone()), ("days", "7".into())]),
    )
    .await;
    assert!(body.contains("not on a trial"), "{body}");
    // A reason is required for every action.
    let (_, body) = act(
        &admin,
        "/api/support/invoice/close",
        vec![
            ("invoice_id", open.clone()),
            ("action", "void".into()),
            ("reason_code", "".into()),
            ("note", "x".into()),
        ],
    )
    .await;
    assert!(body.contains("Choose a reason"), "{body}");
    let actions = audit_actions(&app).await;
    assert_eq!(
        actions,
        [
            "payment_received",
            "credit",
            "credit_requested",
            "credit_approved",
            "credit",
            "subscription_renewal",
            "subscription_renewal",
            "payment_failed",
            "payment_failed",
            "retry_payment",
            "void_requested",
            "void_approved",
            "void"
        ]
    );
}

/// The audit log's money and staff actions, oldest first: without the sign-ups, sign-ins,
/// checkouts, catalog and cards every test also records.
async fn audit_actions(app: &TestApp) -> Vec<String> {
    const ROUTINE: [&str; 11] = [
        "catalog_",
        "staff_created",
        "sign_",
        "staff_sign_in",
        "checkout_",
        "stripe_customer_linked",
        "card_",
        "subscription_created",
        "test_clock_",
        "invitation_",
        "payment_method_",
    ];
    sqlx::query("SELECT action FROM audit_log ORDER BY seq")
        .fetch_all(&app.db().pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("action"))
        .filter(|a| !ROUTINE.iter().any(|p| a.starts_with(p)))
        .collect()
}

async fn test_clocks_time(app: &TestApp, clock: &str) -> i64 {
    billing_portal::store::test_clocks::find(
        app.db(),
        &billing_portal::domain::ids::ClockId::parse(clock).unwrap(),
    )
    .await
    .unwrap()
    .unwrap()
    .frozen_at
}

async fn viewing_as_a_customer_reads_everything_and_changes_nothing(app: TestApp) {
    let (_, org, invoice) = paying_customer(&app).await;
    let agent = staff(&app, "agent@demo.test").await;
    let opened = app
        .submit_form(
            &agent,
            "/support",
            "/api/support/view-as",
            &[("org_id", &org)],
        )
        .await;
    assert_eq!(common::location(&opened).as_deref(), Some("/billing"));
    // Pages and reads work, under a banner.
    let page = app.get_with(&agent, "/billing").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("data-testid=\"viewing-banner\""), "{html}");
    assert!(html.contains("read-only. Signed in to support as agent@demo.test"));
    for read in [
        "/api/billing/overview",
        "/api/billing/plan",
        "/api/billing/invoices",
    ] {
        assert!(
            app.call(&agent, read, &[]).await.status().is_success(),
            "{read}"
        );
    }
    // Every write is refused, whatever it is.
    let writes: [(&str, Vec<(&str, &str)>); 8] = [
        (
            "/api/billing/plan/cancel",
            vec![("reason", "other"), ("details", ""), ("version", "1")],
        ),
        (
            "/api/billing/plan/change",
            vec![
                ("price_id", "team_monthly"),
                ("seats", "3"),
                ("expected_due", "0"),
                ("version", "1"),
            ],
        ),
        (
            "/api/billing/checkout",
            vec![("price_id", "pro_monthly"), ("seats", "1")],
        ),
        ("/api/billing/invoice/pay", vec![("id", &invoice)]),
        ("/api/billing/payment-methods/add", vec![]),
        (
            "/api/members/invite",
            vec![("email", "new@example.com"), ("role", "member")],
        ),
        (
            "/api/auth/sign-up",
            vec![
                ("email", "x@example.com"),
                ("password", "correct horse battery"),
                ("org_name", "X"),
            ],
        ),
        (
            "/api/billing/plan/promotion-code",
            vec![("code", "LAUNCH20"), ("version", "1")],
        ),
    ];
    for (endpoint, fields) in writes {
        let response = app.call(&agent, endpoint, &fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{endpoint}");
        assert!(response.text().await.unwrap().contains("read-only"));
    }
    assert_eq!(app.count("checkouts").await, 1);
    assert_eq!(app.count("invitations").await, 0);
    let viewed: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'view_as_customer'")
            .fetch_one(&app.db().pool)
            .await
            .unwrap()
            .get("n");
    assert_eq!(viewed, 1);
}

async fn plan_changes_credit_notes_emails_and_clocks_from_the_console(app: TestApp) {
    let (customer, org, _) = paying_customer(&app).await;
    let (_, clock) = app.first_org_on_test_clock().await;
    let admin = staff(&app, "admin@demo.test").await;
    let agent = staff(&app, "agent@demo.test").await;
    let reason = [
        ("reason_code", "customer_request"),
        ("note", "asked by phone"),
    ];
    let upgrade = [
        vec![
            ("org_id", org.as_str()),
            ("price_id", "team_monthly"),
            ("seats", "3"),
        ],
        reason.to_vec(),
    ]
    .concat();

    // The first submission changes nothing and shows the exact effect.
    let first = app.call(&admin, "/api/support/plan/change", &upgrade).await;
    assert!(first.status().is_success());
    assert_eq!(app.count("subscription_changes").await, 0);
    // A key that is not the effect's does nothing either.
    let mut forged = upgrade.clone();
    forged.push(("confirm", "0123456789abcdef01234567"));
    let response = app.call(&admin, "/api/support/plan/change", &forged).await;
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Confirm on the next page"));
    let live = |app: &TestApp| {
        let db = app.db().clone();
        let org = org.clone();
        async move {
            let r = sqlx::query("SELECT price_id, quantity FROM subscriptions WHERE org_id = $1")
                .bind(&org)
                .fetch_one(&db.pool)
                .await
                .unwrap();
            (r.get::<String, _>("price_id"), r.get::<i64, _>("quantity"))
        }
    };
    assert_eq!(live(&app).await, ("pro_monthly".to_string(), 2));

    // Confirmed: the same engine as the portal charges the prorated difference. On the first day
    // of the period, Team × 3 ($75.00) less the unused Pro × 2 ($24.00) is $51.00.
    // The staff member reads the preview; five seconds pass (the proration's seconds move on,
    // the amounts do not), and the confirmation still holds.
    let first = app.call(&admin, "/api/support/plan/change", &upgrade).await;
    let query = first.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .trim_start_matches("/support/confirm?")
        .to_string();
    let shown: serde_json::Value = app
        .call(&admin, "/api/support/confirm", &[("query", &query)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["detail"][1], "3 seats × $25.00 = $75.00", "{shown}");
    let clock_now = test_clocks_time(&app, &clock).await;
    billing_portal::store::test_clocks::set_time(
        app.db(),
        &billing_portal::domain::ids::ClockId::parse(&clock).unwrap(),
        clock_now + 5,
        app.state.now(),
    )
    .await
    .unwrap();
    let mut confirm = upgrade.clone();
    let key = shown["key"].as_str().unwrap().to_string();
    confirm.push(("confirm", &key));
    let response = app.call(&admin, "/api/support/plan/change", &confirm).await;
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(shown["title"], "Change the plan from Pro × 2 to Team × 3");
    let lines: Vec<&str> = shown["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        lines[0].starts_with("$51.00 is charged now to the customer's default card"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Then $75.00 per month from")),
        "{lines:?}"
    );
    assert!(
        body.contains("Plan changed: Pro × 2 → Team × 3, $51.00 charged"),
        "{body}"
    );
    assert_eq!(live(&app).await, ("team_monthly".to_string(), 3));
    let actor: String = sqlx::query("SELECT actor FROM subscription_changes")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("actor");
    assert_eq!(actor, "admin@demo.test");
    let audit: (String, i64) = {
        let r = sqlx::query(
            "SELECT action, amount FROM audit_log WHERE actor = 'admin@demo.test' AND action LIKE 'subscription_%'",
        )
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
        (r.get("action"), r.get("amount"))
    };
    assert_eq!(audit, ("subscription_upgrade".to_string(), 5100));

    // An agent may resend an invoice email but not change plans.
    let (_, body, _) = app
        .confirmed(&agent, "/api/support/plan/change", &upgrade)
        .await;
    assert!(body.contains("Forbidden"), "{body}");
    let invoice: String = sqlx::query("SELECT id FROM invoices WHERE number = '0001'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("id");
    let (_, body, shown) = app
        .confirmed(
            &agent,
            "/api/support/invoice/resend",
            &[vec![("invoice_id", invoice.as_str())], reason.to_vec()].concat(),
        )
        .await;
    assert_eq!(
        shown.unwrap()["title"],
        "Email invoice 0001 to owner@example.com"
    );
    assert!(body.contains("was emailed to owner@example.com"), "{body}");

    // Advancing the clock a month renews at Team × 3 with a declining card: an open invoice.
    app.add_card(&customer, "4000000000000341", 2).await;
    let advance = [
        vec![("org_id", org.as_str()), ("days", "31")],
        reason.to_vec(),
    ]
    .concat();
    let (_, body, shown) = app
        .confirmed(&admin, "/api/support/test-clock/advance", &advance)
        .await;
    let shown = shown.expect("a confirmation");
    assert!(shown["lines"][0]
        .as_str()
        .unwrap()
        .starts_with("On the way: 1 period end(s) and 0 payment attempt(s) are due"));
    assert!(body.contains("Test clock test is now at"), "{body}");
    assert!(test_clocks_time(&app, &clock).await >= app.state.now() + 31 * 86_400);
    let (open, due): (String, i64) = {
        let r = sqlx::query("SELECT id, amount_due FROM invoices WHERE status = 'open'")
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
        (r.get("id"), r.get("amount_due"))
    };
    assert_eq!(due, 7500);

    // A credit note takes $5.00 off what it owes; never more than it owes.
    let reduce = |amount: &'static str, token: &'static str| {
        [
            vec![
                ("invoice_id", open.as_str()),
                ("amount", amount),
                ("token", token),
            ],
            reason.to_vec(),
        ]
        .concat()
    };
    let (status, body, _) = app
        .confirmed(
            &admin,
            "/api/support/invoice/reduce",
            &reduce("75.01", "form_reduce_big"),
        )
        .await;
    assert!(!status.is_success());
    assert!(
        body.contains("owes $75.00: take off at most that"),
        "{body}"
    );
    let (_, body, shown) = app
        .confirmed(
            &admin,
            "/api/support/invoice/reduce",
            &reduce("5.00", "form_reduce_1"),
        )
        .await;
    assert!(shown.unwrap()["lines"][0]
        .as_str()
        .unwrap()
        .contains("owes $75.00 now and will owe $70.00"));
    assert!(body.contains("it now owes $70.00"), "{body}");
    let (_, again, _) = app
        .confirmed(
            &admin,
            "/api/support/invoice/reduce",
            &reduce("5.00", "form_reduce_1"),
        )
        .await;
    assert!(again.contains("Already done"), "{again}");
    let due: i64 = sqlx::query("SELECT amount_due FROM invoices WHERE id = $1")
        .bind(&open)
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("amount_due");
    assert_eq!(due, 7000);

    // A confirmation goes stale when what it showed changes: the retry shown for $70.00 is not
    // made once the invoice owes less; the new amount is shown instead.
    let retry = [vec![("invoice_id", open.as_str())], reason.to_vec()].concat();
    let first = app.call(&admin, "/api/support/invoice/retry", &retry).await;
    let query = first
        .headers()
        .get(reqwest::header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .trim_start_matches("/support/confirm?")
        .to_string();
    let preview: serde_json::Value = app
        .call(&admin, "/api/support/confirm", &[("query", &query)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(preview["title"], "Charge $70.00 now for invoice 0003");
    let (_, _, _) = app
        .confirmed(
            &admin,
            "/api/support/invoice/reduce",
            &reduce("10.00", "form_reduce_2"),
        )
        .await;
    let key = preview["key"].as_str().unwrap();
    let mut stale = retry.clone();
    stale.push(("confirm", key));
    let body = app
        .call(&admin, "/api/support/invoice/retry", &stale)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("Confirm on the next page: Charge $60.00 now"),
        "{body}"
    );
    let attempts: i64 = sqlx::query("SELECT attempt_count FROM invoices WHERE id = $1")
        .bind(&open)
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("attempt_count");
    assert_eq!(attempts, 1, "the stale confirmation charged nothing");

    let actions = audit_actions(&app).await;
    assert_eq!(
        actions,
        [
            "payment_received",
            "payment_received",
            "subscription_upgrade",
            "resend_invoice",
            "subscription_renewal",
            "payment_failed",
            "advance_test_clock",
            "credit_note",
            "credit_note"
        ]
    );
    assert!(matches!(
        billing_portal::store::audit::verify(app.db())
            .await
            .unwrap(),
        billing_portal::store::audit::Verification::Intact { .. }
    ));
}

async fn the_audit_log_filters_and_exports_csv(app: TestApp) {
    let (_, org, invoice) = paying_customer(&app).await;
    let admin = staff(&app, "admin@demo.test").await;
    for (amount, token) in [("1.00", "form_csv_1"), ("2.50", "form_csv_2")] {
        let (status, body, _) = app
            .confirmed(
                &admin,
                "/api/support/refund",
                &[
                    ("invoice_id", &invoice),
                    ("amount", amount),
                    ("reason_code", "goodwill"),
                    ("note", "=HYPERLINK(\"x\"), with a comma"),
                    ("token", token),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let list = |fields: Vec<(&'static str, String)>| {
        let admin = admin.clone();
        let app = &app;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = app.call(&admin, "/api/support/audit", &fields).await;
            let status = response.status();
            (status, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (_, all) = list(vec![]).await;
    assert_eq!(
        all["rows"].as_array().unwrap().len() as i64,
        app.count("audit_log").await,
        "every entry, by anyone"
    );
    // The customer's timeline shows the payment once (as a payment), and staff entries only for
    // what staff did.
    let view: serde_json::Value = app
        .call(&admin, "/api/support/customer", &[("org_id", &org)])
        .await
        .json()
        .await
        .unwrap();
    let staff_entries = view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "staff")
        .count();
    assert_eq!(staff_entries, 2);
    let actions: Vec<&str> = all["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    for expected in ["payment_received", "refund", "sign_up", "staff_sign_in"] {
        assert!(actions.contains(&expected), "{actions:?}");
    }
    let (_, refunds) = list(vec![("action", "refund".into())]).await;
    let amounts: Vec<&str> = refunds["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, ["$2.50", "$1.00"], "newest first");
    let (_, by_admin) = list(vec![
        ("actor", "admin@demo.test".into()),
        ("action", "refund".into()),
    ])
    .await;
    assert_eq!(by_admin["rows"].as_array().unwrap().len(), 2);
    let (_, by_role) = list(vec![("actor", "system".into())]).await;
    let system: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE actor_role = 'system'")
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert_eq!(by_role["rows"].as_array().unwrap().len() as i64, system);
    let (_, other_org) = list(vec![("org_id", "org_nobody".into())]).await;
    assert_eq!(other_org["rows"].as_array().unwrap().len(), 0);
    let today = chrono::DateTime::from_timestamp(app.state.now(), 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    let (_, dated) = list(vec![
        ("from", today.clone()),
        ("until", today.clone()),
        ("action", "refund".into()),
    ])
    .await;
    assert_eq!(dated["rows"].as_array().unwrap().len(), 2);
    let (_, earlier) = list(vec![("until", "2020-01-01".into())]).await;
    assert_eq!(earlier["rows"].as_array().unwrap().len(), 0);
    let (status, bad) = list(vec![("from", "last week".into())]).await;
    assert!(!status.is_success());
    assert!(
        bad.to_string().contains("is not a date: use YYYY-MM-DD"),
        "{bad}"
    );

    // The export has the same filter, every field, and formulas made inert.
    let csv = admin
        .get(app.url(&format!("/support/audit.csv?action=refund&org_id={org}")))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[0],
        "seq,at_utc,actor,role,action,target,org_id,amount_minor,currency,reason,note,request_id"
    );
    assert!(
        lines[1].contains(",admin@demo.test,billing_admin,refund,"),
        "{text}"
    );
    assert!(
        lines[1]
            .contains(",100,USD,goodwill,\"'=HYPERLINK(\"\"x\"\"), with a comma\",form:form_csv_1"),
        "{text}"
    );
    assert!(lines[2].contains(",250,USD,"), "{text}");
    // Staff only.
    let outsider = TestApp::browser()
        .get(app.url("/support/audit.csv"))
        .send()
        .await
        .unwrap();
    assert!(
        outsider.url().path().starts_with("/support/sign-in") || outsider.status().is_redirection()
    );
}
