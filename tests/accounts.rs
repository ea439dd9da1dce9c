//! Accounts over HTTP against the real server: sign up, sign in, sign out, sessions, the origin
//! guard and staff separation, on SQLite and PostgreSQL.
#![cfg(feature = "ssr")]

mod common;

use common::{location, set_cookie, TestApp, PASSWORD};
use reqwest::header::{COOKIE, ORIGIN};
use reqwest::StatusCode;

on_both_databases!(
    sign_up_creates_an_organisation_with_its_owner_signed_in,
    sign_up_problems_are_shown_on_the_form_and_nothing_is_created,
    sign_up_does_not_tell_who_has_an_account,
    sign_in_checks_the_password_and_rotates_the_session,
    sign_out_ends_the_session,
    sessions_expire,
    pages_that_need_an_account_send_visitors_to_sign_in,
    writes_from_another_origin_are_refused,
    hydrated_calls_get_json_errors_and_redirect_headers,
    staff_and_customers_are_separate_principals,
    health_and_readiness_answer,
    a_removed_member_loses_access,
    simultaneous_sign_ups_with_one_email_create_one_account,
);

async fn sign_up_creates_an_organisation_with_its_owner_signed_in(app: TestApp) {
    let browser = TestApp::browser();
    let response = app
        .sign_up(&browser, "ada@example.com", "Analytical Engines Ltd")
        .await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response).as_deref(), Some("/billing"));
    let token = set_cookie(response.headers(), "bp_session").expect("session cookie");
    assert_eq!(token.len(), 64);
    let cookie_header = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie_header.contains("HttpOnly") && cookie_header.contains("SameSite=Lax"),
        "{cookie_header}"
    );

    let (status, html) = app.follow(&browser, response).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Analytical Engines Ltd"),
        "billing page names the organisation"
    );
    assert!(html.contains("Owner"), "billing page shows the role");
    assert!(html.contains("No plan yet"));
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("organizations").await, 1);
    assert_eq!(app.count("memberships").await, 1);
    // Only the token's hash is stored.
    assert_eq!(app.count("sessions").await, 1);
    use sqlx::Row;
    let stored: String = sqlx::query("SELECT token_hash FROM sessions")
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
        .get("token_hash");
    assert_ne!(stored, token);
}

async fn sign_up_problems_are_shown_on_the_form_and_nothing_is_created(app: TestApp) {
    let first = TestApp::browser();
    app.sign_up(&first, "ada@example.com", "Engines").await;

    let cases: [(&str, &str, &str, &str); 7] = [
        (
            "grace@example.com",
            "short",
            "Navy",
            "Use at least 10 characters for your password.",
        ),
        (
            "grace@example.com",
            "passwordpassword",
            "Navy",
            "That password is too easy to guess",
        ),
        ("", "", "", "Enter your email address."),
        (
            "grace@example.com",
            PASSWORD,
            "   ",
            "Enter your organisation",
        ),
        (
            "grace@example.com",
            PASSWORD,
            "Navy\r\nBcc: all@example.com",
            "The organisation name contains a control character",
        ),
        (
            "grace@example.com",
            PASSWORD,
            "Navy\u{202e}ecnaniF",
            "The organisation name contains an invisible text-direction character",
        ),
        (
            "grace@example.com\0",
            PASSWORD,
            "Navy",
            "The email address contains a control character",
        ),
    ];
    for (email, password, org, message) in cases {
        let browser = TestApp::browser();
        let response = app
            .submit_form(
                &browser,
                "/sign-up",
                "/api/auth/sign-up",
                &[("email", email), ("password", password), ("org_name", org)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FOUND, "{email:?}");
        let back = location(&response).unwrap();
        assert!(back.contains("/sign-up?"), "goes back to the form: {back}");
        assert!(
            set_cookie(response.headers(), "bp_session").is_none(),
            "no session for a failed sign-up"
        );
        let (status, html) = app.follow(&browser, response).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains(message),
            "{message:?} should be on the page for {email:?}"
        );
    }
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("organizations").await, 1);
    assert_eq!(app.count("memberships").await, 1);
    assert_eq!(
        app.count("signups").await,
        1,
        "only the first sign-up was recorded"
    );
}

/// Signing up with an address that has an account answers exactly like a new sign-up; only the
/// address's owner learns the difference, by email.
async fn sign_up_does_not_tell_who_has_an_account(app: TestApp) {
    let first = TestApp::browser();
    app.sign_up(&first, "ada@example.com", "Engines").await;
    let answer = |email: &'static str| {
        let app = &app;
        async move {
            let browser = TestApp::browser();
            let response = app
                .submit_form(
                    &browser,
                    "/sign-up",
                    "/api/auth/sign-up",
                    &[
                        ("email", email),
                        ("password", PASSWORD),
                        ("org_name", "Another"),
                    ],
                )
                .await;
            let status = response.status();
            let location = location(&response);
            let cookie = set_cookie(response.headers(), "bp_session");
            let (page_status, page) = app.follow(&browser, response).await;
            (status, location, cookie, page_status, page)
        }
    };
    let taken = answer("ADA@example.com").await;
    let new = answer("grace@example.com").await;
    assert_eq!(taken.0, new.0);
    assert_eq!(taken.1.as_deref(), Some("/sign-up/sent"));
    assert_eq!(taken.1, new.1);
    assert!(
        taken.2.is_none() && new.2.is_none(),
        "nobody is signed in yet"
    );
    assert_eq!(taken.3, new.3);
    // The same page either way (each carries its own script nonce).
    let without_nonces = |html: &str| -> String {
        html.split('"')
            .enumerate()
            .map(|(i, part)| {
                if i % 2 == 1 && part.len() == 22 && !part.contains(' ') {
                    "N"
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("\"")
    };
    assert_eq!(
        without_nonces(&taken.4),
        without_nonces(&new.4),
        "the same page either way"
    );
    assert!(new.4.contains("Check your email"));

    // The owner of the taken address is told by email; the new address gets its link.
    let told: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM email_outbox WHERE to_address = 'ada@example.com' AND subject LIKE '%already have%'",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(told, 1);
    let link = app
        .emailed_link("grace@example.com", "/sign-up/confirm/")
        .await
        .expect("a confirmation link");
    assert_eq!(
        app.count("users").await,
        1,
        "nothing exists before the link is used"
    );

    // The link's page names what it creates; the button creates it, once.
    let grace = TestApp::browser();
    let page = app.get_with(&grace, &link).await.text().await.unwrap();
    assert!(
        page.contains("Create the account grace@example.com and its organisation Another."),
        "{page}"
    );
    let token = link.rsplit('/').next().unwrap();
    let confirmed = app
        .submit_form(
            &grace,
            &link,
            "/api/auth/sign-up/confirm",
            &[("token", token)],
        )
        .await;
    assert_eq!(location(&confirmed).as_deref(), Some("/billing"));
    assert!(set_cookie(confirmed.headers(), "bp_session").is_some());
    let again = app
        .submit_form(
            &TestApp::browser(),
            &link,
            "/api/auth/sign-up/confirm",
            &[("token", token)],
        )
        .await;
    let (_, html) = app.follow(&TestApp::browser(), again).await;
    assert!(html.contains("That sign-up link was not found."), "{html}");
    assert_eq!(app.count("users").await, 2);
    assert_eq!(app.count("organizations").await, 2);

    // A link older than a day no longer works.
    let late = TestApp::browser();
    app.submit_form(
        &late,
        "/sign-up",
        "/api/auth/sign-up",
        &[
            ("email", "late@example.com"),
            ("password", PASSWORD),
            ("org_name", "Late"),
        ],
    )
    .await;
    let link = app
        .emailed_link("late@example.com", "/sign-up/confirm/")
        .await
        .unwrap();
    app.clock.advance_secs(25 * 3600);
    let token = link.rsplit('/').next().unwrap();
    let expired = app
        .submit_form(
            &late,
            &link,
            "/api/auth/sign-up/confirm",
            &[("token", token)],
        )
        .await;
    assert!(set_cookie(expired.headers(), "bp_session").is_none());
    assert_eq!(app.count("users").await, 2);
}

async fn sign_in_checks_the_password_and_rotates_the_session(app: TestApp) {
    let signup = TestApp::browser();
    let first = app.sign_up(&signup, "ada@example.com", "Engines").await;
    let first_token = set_cookie(first.headers(), "bp_session").unwrap();

    for (email, password) in [
        ("ada@example.com", "wrong password!"),
        ("nobody@example.com", PASSWORD),
    ] {
        let browser = TestApp::browser();
        let response = app.sign_in(&browser, email, password).await;
        assert!(set_cookie(response.headers(), "bp_session").is_none());
        let (_, html) = app.follow(&browser, response).await;
        assert!(
            html.contains("That email and password do not match an account."),
            "{email}"
        );
    }
    let browser = TestApp::browser();
    let (_, html) = app
        .follow(&browser, app.sign_in(&browser, "", "").await)
        .await;
    assert!(html.contains("Enter your email and password."));

    // Signing in again from the same browser replaces its token; the old one stops working.
    let again = app.sign_in(&signup, "Ada@Example.com", PASSWORD).await;
    assert_eq!(location(&again).as_deref(), Some("/billing"));
    let second_token = set_cookie(again.headers(), "bp_session").unwrap();
    assert_ne!(first_token, second_token);
    let stale = app
        .client
        .get(app.url("/billing"))
        .header(COOKIE, format!("bp_session={first_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        stale.status(),
        StatusCode::FOUND,
        "the rotated-out token no longer signs in"
    );
    assert_eq!(app.count("sessions").await, 1);

    // `next` is followed within the site, and only there.
    let browser = TestApp::browser();
    let response = app
        .submit_form(
            &browser,
            "/sign-in",
            "/api/auth/sign-in",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "/pricing?interval=year"),
            ],
        )
        .await;
    assert_eq!(
        location(&response).as_deref(),
        Some("/pricing?interval=year")
    );
    let browser = TestApp::browser();
    let response = app
        .submit_form(
            &browser,
            "/sign-in",
            "/api/auth/sign-in",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(location(&response).as_deref(), Some("/billing"));
}

async fn sign_out_ends_the_session(app: TestApp) {
    let browser = TestApp::browser();
    app.sign_up(&browser, "ada@example.com", "Engines").await;
    assert_eq!(
        app.get_with(&browser, "/billing").await.status(),
        StatusCode::OK
    );

    let response = app
        .submit_form(&browser, "/billing", "/api/auth/sign-out", &[])
        .await;
    assert_eq!(location(&response).as_deref(), Some("/sign-in"));
    let cleared = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        cleared.starts_with("bp_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert_eq!(app.count("sessions").await, 0);
    let after = app.get_with(&browser, "/billing").await;
    assert_eq!(after.status(), StatusCode::FOUND);
}

async fn sessions_expire(app: TestApp) {
    let browser = TestApp::browser();
    app.sign_up(&browser, "ada@example.com", "Engines").await;
    app.clock
        .advance_secs(app.state.config.session_ttl_secs - 60);
    assert_eq!(
        app.get_with(&browser, "/billing").await.status(),
        StatusCode::OK
    );
    app.clock.advance_secs(120);
    assert_eq!(
        app.get_with(&browser, "/billing").await.status(),
        StatusCode::FOUND
    );
}

async fn pages_that_need_an_account_send_visitors_to_sign_in(app: TestApp) {
    let response = app.get("/billing").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        location(&response).as_deref(),
        Some("/sign-in?next=/billing")
    );
    let sign_in = app.get("/sign-in?next=/billing").await;
    assert_eq!(sign_in.status(), StatusCode::OK);
    assert!(sign_in.text().await.unwrap().contains(r#"name="next""#));
}

async fn writes_from_another_origin_are_refused(app: TestApp) {
    let response = app
        .client
        .post(app.url("/api/auth/sign-up"))
        .header(ORIGIN, "http://evil.example")
        .form(&[
            ("email", "mallory@example.com"),
            ("password", PASSWORD),
            ("org_name", "Evil"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("did not come from the billing portal"));
    let no_origin = app
        .client
        .post(app.url("/api/auth/sign-up"))
        .form(&[
            ("email", "mallory@example.com"),
            ("password", PASSWORD),
            ("org_name", "Evil"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(no_origin.status(), StatusCode::FORBIDDEN);

    let fields = [
        ("email", "mallory@example.com"),
        ("password", PASSWORD),
        ("org_name", "Evil"),
    ];
    let post = |origin: Option<&str>, referer: Option<String>, fetch_site: Option<&str>| {
        let mut request = app.client.post(app.url("/api/auth/sign-up")).form(&fields);
        if let Some(o) = origin {
            request = request.header(ORIGIN, o);
        }
        if let Some(r) = referer {
            request = request.header("referer", r);
        }
        if let Some(f) = fetch_site {
            request = request.header("sec-fetch-site", f);
        }
        request.send()
    };
    // An opaque origin is refused even with a same-origin Referer.
    let opaque = post(Some("null"), Some(app.url("/sign-up")), None)
        .await
        .unwrap();
    assert_eq!(opaque.status(), StatusCode::FORBIDDEN);
    let foreign_referer = post(None, Some("http://evil.example/page".into()), None)
        .await
        .unwrap();
    assert_eq!(foreign_referer.status(), StatusCode::FORBIDDEN);
    let cross_site = post(Some(&app.base), None, Some("cross-site"))
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("users").await, 0);
    // A browser that sends only a same-origin Referer is let through.
    let referer_only = post(None, Some(app.url("/sign-up")), None).await.unwrap();
    assert_ne!(referer_only.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("signups").await, 1);
    // Server functions answer POST only; a GET changes nothing.
    let get = app
        .client
        .get(app.url("/api/auth/sign-out"))
        .send()
        .await
        .unwrap();
    assert!(get.status().is_client_error());
}

async fn hydrated_calls_get_json_errors_and_redirect_headers(app: TestApp) {
    let browser = TestApp::browser();
    let response = app
        .call(
            &browser,
            "/api/auth/sign-up",
            &[("email", "x"), ("password", PASSWORD), ("org_name", "X")],
        )
        .await;
    assert!(response.status().is_client_error() || response.status().is_server_error());
    let body = response.text().await.unwrap();
    assert!(body.contains("is not an email address"), "{body}");

    let asked = app
        .call(
            &browser,
            "/api/auth/sign-up",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("org_name", "Engines"),
            ],
        )
        .await;
    assert_eq!(asked.status(), StatusCode::OK);
    assert!(set_cookie(asked.headers(), "bp_session").is_none());
    assert_eq!(location(&asked).as_deref(), Some("/sign-up/sent"));
    let link = app
        .emailed_link("ada@example.com", "/sign-up/confirm/")
        .await
        .unwrap();
    let ok = app
        .call(
            &browser,
            "/api/auth/sign-up/confirm",
            &[("token", link.rsplit('/').next().unwrap())],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(set_cookie(ok.headers(), "bp_session").is_some());
    // The hydrated page is told where to go by a header instead of a 302.
    assert!(ok.headers().contains_key("serverfnredirect"));
    assert_eq!(location(&ok).as_deref(), Some("/billing"));
    let session = app.call(&browser, "/api/auth/session", &[]).await;
    let json: serde_json::Value = session.json().await.unwrap();
    assert_eq!(json["org_name"], "Engines");
    assert_eq!(json["role"], "Owner");
}

async fn staff_and_customers_are_separate_principals(app: TestApp) {
    use billing_portal::domain::access::{Email, StaffRole};
    let customer = TestApp::browser();
    app.sign_up(&customer, "ada@example.com", "Engines").await;
    let console = app.get_with(&customer, "/support").await;
    assert_eq!(
        console.status(),
        StatusCode::FOUND,
        "a customer session does not open the console"
    );
    assert_eq!(location(&console).as_deref(), Some("/support/sign-in"));

    let hash = billing_portal::server::auth::hash_password("staff password 2026".into())
        .await
        .unwrap();
    let email = Email::parse("agent@support.test").unwrap();
    let secret = billing_portal::server::mfa::new_secret();
    billing_portal::store::staff::create(
        app.db(),
        &email,
        "Sam Agent",
        StaffRole::Agent,
        &hash,
        &secret,
        &billing_portal::store::audit::Actor::cli(),
        0,
    )
    .await
    .unwrap();
    let code = billing_portal::server::mfa::code_at(&secret, app.state.now()).unwrap();

    // A staff account cannot sign in to the customer portal, nor a customer to the console.
    let staff = TestApp::browser();
    let (_, html) = app
        .follow(
            &staff,
            app.sign_in(&staff, "agent@support.test", "staff password 2026")
                .await,
        )
        .await;
    assert!(html.contains("do not match an account"));
    let wrong = app
        .submit_form(
            &staff,
            "/support/sign-in",
            "/api/support/sign-in",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("code", &code),
            ],
        )
        .await;
    assert!(set_cookie(wrong.headers(), "bp_staff").is_none());
    // The right password without the second factor's code does not sign in either.
    let no_code = app
        .submit_form(
            &staff,
            "/support/sign-in",
            "/api/support/sign-in",
            &[
                ("email", "agent@support.test"),
                ("password", "staff password 2026"),
                ("code", "000000"),
            ],
        )
        .await;
    assert!(set_cookie(no_code.headers(), "bp_staff").is_none());
    let (_, html) = app.follow(&staff, no_code).await;
    assert!(
        html.contains("That email, password and code do not match a staff account."),
        "{html}"
    );

    let ok = app
        .submit_form(
            &staff,
            "/support/sign-in",
            "/api/support/sign-in",
            &[
                ("email", "agent@support.test"),
                ("password", "staff password 2026"),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(location(&ok).as_deref(), Some("/support"));
    let (status, html) = app.follow(&staff, ok).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Welcome, Sam Agent"));
    assert_eq!(
        app.get_with(&staff, "/billing").await.status(),
        StatusCode::FOUND,
        "a staff session is not a customer"
    );

    // A code works once: signing in again with it, even with the password, is refused.
    let replay = TestApp::browser();
    let again = app
        .submit_form(
            &replay,
            "/support/sign-in",
            "/api/support/sign-in",
            &[
                ("email", "agent@support.test"),
                ("password", "staff password 2026"),
                ("code", &code),
            ],
        )
        .await;
    assert!(set_cookie(again.headers(), "bp_staff").is_none());
    let (_, html) = app.follow(&replay, again).await;
    assert!(html.contains("That code was used already."), "{html}");
    // The next code does.
    app.clock.advance_secs(30);
    let next = billing_portal::server::mfa::code_at(&secret, app.state.now()).unwrap();
    let ok = app
        .submit_form(
            &replay,
            "/support/sign-in",
            "/api/support/sign-in",
            &[
                ("email", "agent@support.test"),
                ("password", "staff password 2026"),
                ("code", &next),
            ],
        )
        .await;
    assert_eq!(location(&ok).as_deref(), Some("/support"));
}

async fn health_and_readiness_answer(app: TestApp) {
    let live = app.get("/healthz").await;
    assert_eq!(live.status(), StatusCode::OK);
    assert!(live.headers().contains_key("x-request-id"));
    assert_eq!(live.headers()["x-frame-options"], "DENY");
    assert_eq!(live.headers()["cache-control"], "no-store");
    let echoed = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "req-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "req-123");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap()["database"],
        "ok"
    );
    app.db().pool.close().await;
    assert_eq!(
        app.get("/readyz").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}

async fn a_removed_member_loses_access(app: TestApp) {
    let browser = TestApp::browser();
    app.sign_up(&browser, "ada@example.com", "Engines").await;
    assert_eq!(
        app.get_with(&browser, "/billing").await.status(),
        StatusCode::OK
    );
    sqlx::query("DELETE FROM memberships")
        .execute(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(
        app.get_with(&browser, "/billing").await.status(),
        StatusCode::FOUND
    );
}

async fn simultaneous_sign_ups_with_one_email_create_one_account(app: TestApp) {
    let attempts = (0..4).map(|i| {
        let app = &app;
        async move {
            let browser = TestApp::browser();
            let org = format!("Org {i}");
            app.sign_up(&browser, "race@example.com", &org).await
        }
    });
    let responses = futures::future::join_all(attempts).await;
    let signed_in = responses
        .iter()
        .filter(|r| set_cookie(r.headers(), "bp_session").is_some())
        .count();
    assert_eq!(signed_in, 1);
    assert_eq!(app.count("users").await, 1);
    assert_eq!(
        app.count("organizations").await,
        1,
        "the losers left no organisation behind"
    );
    assert_eq!(app.count("memberships").await, 1);
}
