//! Security and trust over HTTP on SQLite and PostgreSQL: the development mailbox.
#![cfg(feature = "ssr")]

mod common;

use common::TestApp;
use reqwest::StatusCode;

on_both_databases!(the_mailbox_shows_only_to_support_staff);

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
    assert!(call.text().await.unwrap().contains("NotFound"));
}
