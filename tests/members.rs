//! Members, invitations and seats over HTTP on SQLite and PostgreSQL.
#![cfg(feature = "ssr")]

mod common;

use billing_portal::wire::plan::{preview, PlanPage};
use common::{location, set_cookie, TestApp, PASSWORD};
use reqwest::{Client, StatusCode};
use sqlx::Row;

on_both_databases!(
    an_invited_member_joins_through_the_emailed_link,
    inviting_past_the_seats_adds_one_after_confirmation,
    the_free_plan_has_one_seat,
    seats_never_drop_below_members_and_invitations,
    roles_and_removal_keep_an_owner,
    revoked_and_reused_links_do_not_work,
);

async fn invite(
    app: &TestApp,
    browser: &Client,
    email: &str,
    role: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut fields = vec![("email", email), ("role", role)];
    fields.extend_from_slice(extra);
    app.call(browser, "/api/members/invite", &fields).await
}

/// The invitation link in the newest email to `to`.
async fn emailed_link(app: &TestApp, to: &str) -> String {
    let body: String =
        sqlx::query("SELECT body FROM email_outbox WHERE to_address = $1 ORDER BY created_at DESC")
            .bind(to)
            .fetch_one(&app.db().pool)
            .await
            .unwrap()
            .get("body");
    let start = body.find("/invite/").expect("a link");
    let token: String = body[start + 8..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    format!("/invite/{token}")
}

async fn accept(app: &TestApp, browser: &Client, link: &str, password: &str) -> reqwest::Response {
    let token = link.trim_start_matches("/invite/");
    app.submit_form(
        browser,
        link,
        "/api/invitations/accept",
        &[("token", token), ("password", password)],
    )
    .await
}

/// Members of the test's organisation (the demo seed has an organisation of its own).
async fn acme_members(app: &TestApp) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM memberships m JOIN organizations o ON o.id = m.org_id WHERE o.name = 'Acme'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("n")
}

async fn quantity(app: &TestApp) -> i64 {
    sqlx::query("SELECT quantity FROM subscriptions")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("quantity")
}

async fn an_invited_member_joins_through_the_emailed_link(app: TestApp) {
    let owner = app.subscribed("pro_monthly", "3").await;
    let response = invite(&app, &owner, "Bob@Example.com", "billing_admin", &[]).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap()
    );
    let link = emailed_link(&app, "bob@example.com").await;
    let mailbox = app.mailbox().await;
    assert!(mailbox.contains("owner@example.com invited you to Acme"));
    let members = app
        .get_with(&owner, "/billing/members")
        .await
        .text()
        .await
        .unwrap();
    assert!(members.contains("2 of 3 seat(s) in use") && members.contains("bob@example.com"));

    // Bob has no account: the link's page asks for a password, which becomes his. The page and
    // a refused password do not say whether an account exists.
    let bob = TestApp::browser();
    let page = app.get_with(&bob, &link).await.text().await.unwrap();
    assert!(
        page.contains("You are invited to join Acme as billing admin, with bob@example.com."),
        "{page}"
    );
    let (_, weak) = app
        .follow(&bob, accept(&app, &bob, &link, "short").await)
        .await;
    assert!(weak.contains("That password does not work here."), "{weak}");
    let joined = accept(&app, &bob, &link, "bob's long passphrase").await;
    assert_eq!(location(&joined).as_deref(), Some("/billing"));
    assert!(set_cookie(joined.headers(), "bp_session").is_some());
    let billing = app.get_with(&bob, "/billing").await.text().await.unwrap();
    assert!(billing.contains("Acme") && billing.contains("Billing admin"));
    let role: String = sqlx::query("SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = 'bob@example.com'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("role");
    assert_eq!(role, "billing_admin");
    assert_eq!(acme_members(&app).await, 2);
}

async fn inviting_past_the_seats_adds_one_after_confirmation(app: TestApp) {
    let owner = app.subscribed("pro_monthly", "1").await;
    app.clock.advance_secs(86_400);
    let refused = invite(&app, &owner, "carol@example.com", "member", &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(refused.contains("Every seat is taken"), "{refused}");
    assert_eq!(app.count("invitations").await, 0);

    let page: PlanPage = app
        .call(&owner, "/api/billing/plan", &[])
        .await
        .json()
        .await
        .unwrap();
    let current = page.current.unwrap();
    let due = preview(&current, &current.price, 2, page.now, &page.policies)
        .unwrap()
        .amount_due_now
        .minor_units();
    // Credit for 1 seat: 1200 × 30/31 = 1161.29 → 1161; charge for 2: 2400 × 30/31 = 2322.58 → 2323.
    assert_eq!(due, 2323 - 1161);
    let ok = invite(
        &app,
        &owner,
        "carol@example.com",
        "member",
        &[
            ("expected_due", &due.to_string()),
            ("version", &current.version.to_string()),
        ],
    )
    .await;
    assert_eq!(ok.status(), StatusCode::OK, "{}", ok.text().await.unwrap());
    assert_eq!(quantity(&app).await, 2);
    assert_eq!(app.count("invitations").await, 1);
    let last: i64 = sqlx::query("SELECT total FROM invoices WHERE number = '0002'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("total");
    assert_eq!(last, 1162);
}

async fn the_free_plan_has_one_seat(app: TestApp) {
    let owner = app.owner_with_catalog().await;
    let refused = invite(&app, &owner, "dan@example.com", "member", &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(refused.contains("The Free plan has one seat"), "{refused}");
}

async fn seats_never_drop_below_members_and_invitations(app: TestApp) {
    let owner = app.subscribed("pro_monthly", "3").await;
    invite(&app, &owner, "erin@example.com", "member", &[]).await;
    let page: PlanPage = app
        .call(&owner, "/api/billing/plan", &[])
        .await
        .json()
        .await
        .unwrap();
    let version = page.current.unwrap().version.to_string();
    let refused = app
        .call(
            &owner,
            "/api/billing/plan/change",
            &[
                ("price_id", "pro_monthly"),
                ("seats", "1"),
                ("expected_due", "0"),
                ("version", &version),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        refused.contains("2 seats are taken by members and pending invitations"),
        "{refused}"
    );
}

async fn roles_and_removal_keep_an_owner(app: TestApp) {
    let owner = app.subscribed("pro_monthly", "3").await;
    invite(&app, &owner, "finn@example.com", "member", &[]).await;
    let finn = TestApp::browser();
    let link = emailed_link(&app, "finn@example.com").await;
    accept(&app, &finn, &link, "a long passphrase for f").await;
    // A plain member cannot invite.
    let refused = invite(&app, &finn, "gus@example.com", "member", &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(refused.contains("Forbidden"), "{refused}");

    let owner_id: String = sqlx::query("SELECT id FROM users WHERE email = 'owner@example.com'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("id");
    let finn_id: String = sqlx::query("SELECT id FROM users WHERE email = 'finn@example.com'")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("id");
    let last_owner = app
        .call(
            &owner,
            "/api/members/role",
            &[("user_id", &owner_id), ("role", "member")],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        last_owner.contains("needs at least one owner"),
        "{last_owner}"
    );
    assert_eq!(
        app.call(
            &owner,
            "/api/members/role",
            &[("user_id", &finn_id), ("role", "billing_admin")]
        )
        .await
        .status(),
        StatusCode::OK
    );

    assert_eq!(
        app.get_with(&finn, "/billing").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.call(&owner, "/api/members/remove", &[("user_id", &finn_id)])
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get_with(&finn, "/billing").await.status(),
        StatusCode::FOUND,
        "a removed member is signed out"
    );
    let cannot = app
        .call(&owner, "/api/members/remove", &[("user_id", &owner_id)])
        .await
        .text()
        .await
        .unwrap();
    assert!(
        cannot.contains("The last owner cannot be removed"),
        "{cannot}"
    );
}

async fn revoked_and_reused_links_do_not_work(app: TestApp) {
    let owner = app.subscribed("pro_monthly", "3").await;
    invite(&app, &owner, "hana@example.com", "member", &[]).await;
    let link = emailed_link(&app, "hana@example.com").await;
    let id: String = sqlx::query("SELECT id FROM invitations")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("id");
    assert_eq!(
        app.call(&owner, "/api/members/revoke", &[("id", &id)])
            .await
            .status(),
        StatusCode::OK
    );
    let hana = TestApp::browser();
    let page = app.get_with(&hana, &link).await.text().await.unwrap();
    assert!(page.contains("This invitation was revoked."), "{page}");
    let refused = app
        .call(
            &hana,
            "/api/invitations/accept",
            &[
                ("token", link.trim_start_matches("/invite/")),
                ("password", PASSWORD),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(refused.contains("can no longer be used"), "{refused}");

    // A fresh invitation is accepted once; the link then shows it as used.
    app.clock.advance_secs(1);
    invite(&app, &owner, "hana@example.com", "member", &[]).await;
    let link = emailed_link(&app, "hana@example.com").await;
    accept(&app, &hana, &link, PASSWORD).await;
    let page = app
        .get_with(&TestApp::browser(), &link)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("This invitation was accepted."));
    assert_eq!(acme_members(&app).await, 2);
}
