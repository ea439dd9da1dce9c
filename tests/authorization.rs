//! The authorization matrix: every server function, every plain HTTP route and every page, each
//! called by every kind of caller (nobody, a member, a billing admin, the owner, the owner of
//! another organisation using this organisation's ids, each staff role, and a staff member
//! viewing as the customer). The endpoints are read from the running application itself (the
//! server functions Leptos registered, the router's route table, the pages' route list), so a
//! new endpoint is refused here until the table below says who may use it.
//!
//! A refused call answers 401, 403 or 404 (a page: a redirect to sign in, or "not found"), shows
//! none of the organisation's data, and changes none of it; an allowed call gets past its
//! authorization (no 401 or 403). Any write that succeeds is in the audit log.
#![cfg(feature = "ssr")]

mod common;

use common::{location, TestApp};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};

on_both_databases!(every_door_answers_only_whom_it_should);

/// Who may use an endpoint on the organisation under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// Anyone, signed in or not (it acts on the caller's own account or on nothing).
    Public,
    /// Any member of the organisation, and a staff member viewing as it.
    Member,
    /// Any member; not a staff view (it is not among the view-as reads).
    MemberNotView,
    /// Owners and billing admins.
    Manager,
    /// Owners only.
    Owner,
    /// Any staff role.
    Staff,
    /// Agents and billing admins.
    StaffAssist,
    /// Staff billing admins.
    StaffAdmin,
    /// Catalog admins, staff billing admins and approvers (the catalog, read).
    CatalogReader,
    /// Catalog admins (the catalog, changed).
    CatalogAdmin,
    /// Catalog admins and approvers (price migrations, decided).
    CatalogDecider,
    /// Approvers.
    Approver,
    /// Only with an API key (no browser session opens it).
    ApiKey,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Nobody,
    Member,
    BillingAdmin,
    Owner,
    OtherOwner,
    Agent,
    StaffAdmin,
    Approver,
    CatalogAdmin,
    ViewAs,
}

const EVERYONE: [Who; 10] = [
    Who::Nobody,
    Who::Member,
    Who::BillingAdmin,
    Who::Owner,
    Who::OtherOwner,
    Who::Agent,
    Who::StaffAdmin,
    Who::Approver,
    Who::CatalogAdmin,
    Who::ViewAs,
];

/// What a call by `who` must do, given the endpoint's access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Allowed,
    Refused,
    /// The owner of another organisation: whatever it answers, nothing of this organisation
    /// is shown or changed.
    NotThisOrg,
}

fn expect(path: &str, access: Access, who: Who) -> Expect {
    use Access as A;
    use Who as W;
    if who == W::OtherOwner {
        return Expect::NotThisOrg;
    }
    if who == W::ViewAs && path.starts_with("/api/") {
        // A view may only read (the guard's list), and use the console's public doors.
        let allowed = billing_portal::http::guard::VIEW_READS.contains(&path)
            || (path.starts_with("/api/support/") && access == A::Public);
        return if allowed {
            Expect::Allowed
        } else {
            Expect::Refused
        };
    }
    let allowed = match access {
        A::Public => who != W::ViewAs,
        A::Member => matches!(who, W::Member | W::BillingAdmin | W::Owner | W::ViewAs),
        A::MemberNotView => matches!(who, W::Member | W::BillingAdmin | W::Owner),
        A::Manager => matches!(who, W::BillingAdmin | W::Owner),
        A::Owner => who == W::Owner,
        A::Staff => matches!(who, W::Agent | W::StaffAdmin | W::Approver),
        A::StaffAssist => matches!(who, W::Agent | W::StaffAdmin),
        A::StaffAdmin => who == W::StaffAdmin,
        A::Approver => who == W::Approver,
        A::CatalogReader => matches!(who, W::CatalogAdmin | W::StaffAdmin | W::Approver),
        A::CatalogDecider => matches!(who, W::CatalogAdmin | W::Approver),
        A::CatalogAdmin => who == W::CatalogAdmin,
        A::ApiKey => false,
    };
    if allowed {
        Expect::Allowed
    } else {
        Expect::Refused
    }
}

/// The organisation under test and the ids an attacker would try.
struct Victim {
    org_id: String,
    invoice_id: String,
    session_id: String,
    member_id: String,
    removable_id: String,
    invitation_id: String,
    card_id: String,
    key_id: String,
    /// Text that only the organisation's own pages show.
    markers: Vec<String>,
}

/// A server function's path, who may call it, and the fields it is called with.
type ServerFunction = (&'static str, Access, Vec<(&'static str, String)>);

/// The server functions by path: who may call them and with what fields (`{org}` and the like
/// are this organisation's ids). Sign-outs and view-as come last, as they change the caller.
fn server_functions(v: &Victim) -> Vec<ServerFunction> {
    use Access as A;
    let f = |pairs: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, val)| (*k, val.to_string())).collect()
    };
    let staff_form = |extra: &[(&'static str, &str)]| {
        let mut fields = f(extra);
        fields.push(("reason_code", "billing_error".into()));
        fields.push(("note", "checking the door".into()));
        fields
    };
    vec![
        ("/api/auth/session", A::Public, vec![]),
        (
            "/api/auth/sign-in",
            A::Public,
            f(&[
                ("email", "victim-owner@victim.test"),
                ("password", "not the password"),
                ("next", ""),
            ]),
        ),
        (
            "/api/auth/sign-up",
            A::Public,
            f(&[("email", "x"), ("password", "short"), ("org_name", "X")]),
        ),
        (
            "/api/auth/sign-up/details",
            A::Public,
            f(&[("token", "00")]),
        ),
        (
            "/api/auth/sign-up/confirm",
            A::Public,
            f(&[("token", "00")]),
        ),
        ("/api/catalog/plans", A::Public, vec![]),
        ("/api/invitations/details", A::Public, f(&[("token", "00")])),
        (
            "/api/invitations/accept",
            A::Public,
            f(&[("token", "00"), ("password", "whatever 1234")]),
        ),
        (
            "/api/support/sign-in",
            A::Public,
            f(&[
                ("email", "admin@demo.test"),
                ("password", "not the password"),
                ("code", "000000"),
            ]),
        ),
        ("/api/support/session", A::Public, vec![]),
        ("/api/members/list", A::Member, vec![]),
        ("/api/billing/overview", A::Member, vec![]),
        ("/api/billing/plan", A::Member, vec![]),
        ("/api/billing/invoices", A::Member, vec![]),
        (
            "/api/billing/invoice",
            A::Member,
            f(&[("id", &v.invoice_id)]),
        ),
        ("/api/billing/payment-methods", A::Member, vec![]),
        (
            "/api/billing/checkout-status",
            A::Member,
            f(&[("session_id", &v.session_id)]),
        ),
        ("/api/billing/usage", A::Member, vec![]),
        ("/api/billing/api-keys", A::Member, vec![]),
        (
            "/api/members/invite",
            A::Manager,
            f(&[("email", "new@victim.test"), ("role", "nonsense")]),
        ),
        (
            "/api/members/revoke",
            A::Manager,
            f(&[("id", &v.invitation_id)]),
        ),
        (
            "/api/members/remove",
            A::Manager,
            f(&[("user_id", &v.removable_id)]),
        ),
        (
            "/api/members/role",
            A::Owner,
            f(&[("user_id", &v.member_id), ("role", "nonsense")]),
        ),
        (
            "/api/billing/checkout",
            A::Manager,
            f(&[("price_id", "pro_monthly"), ("seats", "1")]),
        ),
        (
            "/api/billing/plan/change",
            A::Manager,
            f(&[
                ("price_id", "pro_monthly"),
                ("seats", "5"),
                ("expected_due", "1"),
                ("version", "0"),
            ]),
        ),
        ("/api/billing/plan/undo", A::Manager, f(&[("version", "0")])),
        (
            "/api/billing/plan/cancel",
            A::Manager,
            f(&[("reason", "other"), ("details", ""), ("version", "0")]),
        ),
        (
            "/api/billing/plan/promotion-code",
            A::Manager,
            f(&[("code", "NOPE"), ("version", "0")]),
        ),
        (
            "/api/billing/plan/resume",
            A::Manager,
            f(&[("version", "0")]),
        ),
        (
            "/api/billing/invoice/pay",
            A::Manager,
            f(&[("id", &v.invoice_id)]),
        ),
        ("/api/billing/payment-methods/add", A::Manager, vec![]),
        (
            "/api/billing/payment-methods/default",
            A::Manager,
            f(&[("id", &v.card_id)]),
        ),
        (
            "/api/billing/payment-methods/remove",
            A::Manager,
            f(&[("id", &v.card_id)]),
        ),
        (
            "/api/billing/api-keys/create",
            A::Manager,
            f(&[("name", "")]),
        ),
        (
            "/api/billing/spend-alert",
            A::Manager,
            f(&[("amount", "lots")]),
        ),
        (
            "/api/billing/api-keys/revoke",
            A::Manager,
            f(&[("id", &v.key_id)]),
        ),
        ("/api/dev/mailbox", A::Staff, vec![]),
        ("/api/support/search", A::Staff, f(&[("q", "Victim")])),
        (
            "/api/support/customer",
            A::Staff,
            f(&[("org_id", &v.org_id)]),
        ),
        ("/api/support/approvals", A::Staff, vec![]),
        ("/api/support/catalog", A::CatalogReader, vec![]),
        (
            "/api/support/catalog/draft",
            A::CatalogAdmin,
            f(&[("body", "# an empty catalog draft")]),
        ),
        (
            "/api/support/catalog/publish",
            A::CatalogAdmin,
            f(&[("revision", "0"), ("digest", "not-the-draft")]),
        ),
        ("/api/support/catalog/discard", A::CatalogAdmin, vec![]),
        (
            "/api/support/catalog/migration/preview",
            A::CatalogReader,
            f(&[("from", "pro_monthly"), ("to", "pro_annual")]),
        ),
        (
            "/api/support/catalog/migration",
            A::CatalogAdmin,
            f(&[
                ("from", "pro_monthly"),
                ("to", "pro_annual"),
                ("not_before", ""),
            ]),
        ),
        (
            "/api/support/catalog/migration/decide",
            A::CatalogDecider,
            f(&[("id", "pm_nope"), ("decision", "approve")]),
        ),
        ("/api/support/attention", A::Staff, vec![]),
        ("/api/support/audit", A::Staff, f(&[("org_id", &v.org_id)])),
        ("/api/support/usage", A::Staff, f(&[("org_id", &v.org_id)])),
        (
            "/api/support/confirm",
            A::StaffAssist,
            f(&[(
                "query",
                &format!(
                    "do=retry&invoice_id={}&reason_code=payment_issue&note=x",
                    v.invoice_id
                ),
            )]),
        ),
        (
            "/api/support/invoice/retry",
            A::StaffAssist,
            staff_form(&[("invoice_id", &v.invoice_id)]),
        ),
        (
            "/api/support/trial/extend",
            A::StaffAssist,
            staff_form(&[("org_id", &v.org_id), ("days", "7")]),
        ),
        (
            "/api/support/invoice/resend",
            A::StaffAssist,
            staff_form(&[("invoice_id", &v.invoice_id)]),
        ),
        (
            "/api/support/refund",
            A::StaffAdmin,
            staff_form(&[
                ("invoice_id", &v.invoice_id),
                ("amount", "1.00"),
                ("token", "form_matrix_refund"),
            ]),
        ),
        (
            "/api/support/credit",
            A::StaffAdmin,
            staff_form(&[
                ("org_id", &v.org_id),
                ("amount", "1.00"),
                ("token", "form_matrix_credit"),
            ]),
        ),
        (
            "/api/support/invoice/close",
            A::StaffAdmin,
            staff_form(&[("invoice_id", &v.invoice_id), ("action", "void")]),
        ),
        (
            "/api/support/invoice/reduce",
            A::StaffAdmin,
            staff_form(&[
                ("invoice_id", &v.invoice_id),
                ("amount", "1.00"),
                ("token", "form_matrix_reduce"),
            ]),
        ),
        (
            "/api/support/plan/change",
            A::StaffAdmin,
            staff_form(&[
                ("org_id", &v.org_id),
                ("price_id", "team_monthly"),
                ("seats", "4"),
            ]),
        ),
        (
            "/api/support/test-clock/advance",
            A::StaffAdmin,
            staff_form(&[("org_id", &v.org_id), ("days", "1")]),
        ),
        (
            "/api/support/renewal/retry",
            A::StaffAdmin,
            staff_form(&[("org_id", &v.org_id)]),
        ),
        (
            "/api/support/contract/give",
            A::StaffAdmin,
            staff_form(&[
                ("org_id", &v.org_id),
                ("price_id", "team_monthly"),
                ("amount", "20.00"),
                ("minimum", ""),
                ("ends_on", ""),
            ]),
        ),
        (
            "/api/support/contract/end",
            A::StaffAdmin,
            staff_form(&[("org_id", &v.org_id)]),
        ),
        (
            "/api/support/approvals/decide",
            A::Approver,
            f(&[("id", "apr_nope"), ("decision", "approve")]),
        ),
        (
            "/api/support/view-as",
            A::Staff,
            f(&[("org_id", &v.org_id)]),
        ),
        ("/api/auth/sign-out", A::Public, vec![]),
        ("/api/support/sign-out", A::Public, vec![]),
    ]
}

/// The plain HTTP routes by method and path.
fn http_routes(v: &Victim) -> BTreeMap<(&'static str, &'static str), (Access, String)> {
    use Access as A;
    BTreeMap::from([
        (("GET", "/healthz"), (A::Public, "/healthz".to_string())),
        (("GET", "/readyz"), (A::Public, "/readyz".to_string())),
        (
            ("POST", "/webhooks/stripe"),
            (A::Public, "/webhooks/stripe".to_string()),
        ),
        (
            ("GET", "/billing/invoices/{id}/pdf"),
            (
                A::MemberNotView,
                format!("/billing/invoices/{}/pdf", v.invoice_id),
            ),
        ),
        (
            ("GET", "/support/audit.csv"),
            (A::Staff, format!("/support/audit.csv?org_id={}", v.org_id)),
        ),
        (
            ("POST", "/api/v1/usage-events"),
            (A::ApiKey, "/api/v1/usage-events".to_string()),
        ),
        (
            ("GET", "/api/v1/customers/{id}/entitlements"),
            (
                A::ApiKey,
                format!("/api/v1/customers/{}/entitlements", v.org_id),
            ),
        ),
        (
            ("GET", "/api/v1/customers/{id}/usage"),
            (A::ApiKey, format!("/api/v1/customers/{}/usage", v.org_id)),
        ),
        (
            ("GET", "/api/v1/openapi.json"),
            (A::Public, "/api/v1/openapi.json".to_string()),
        ),
    ])
}

/// The pages by route path.
fn pages(v: &Victim) -> BTreeMap<&'static str, (Access, String)> {
    use Access as A;
    BTreeMap::from([
        ("/", (A::Public, "/".to_string())),
        ("/pricing", (A::Public, "/pricing".to_string())),
        ("/sign-up", (A::Public, "/sign-up".to_string())),
        ("/sign-up/sent", (A::Public, "/sign-up/sent".to_string())),
        (
            "/sign-up/confirm/{token}",
            (A::Public, "/sign-up/confirm/00".to_string()),
        ),
        ("/sign-in", (A::Public, "/sign-in".to_string())),
        ("/invite/{token}", (A::Public, "/invite/00".to_string())),
        ("/billing", (A::Member, "/billing".to_string())),
        ("/billing/plan", (A::Member, "/billing/plan".to_string())),
        (
            "/billing/members",
            (A::Member, "/billing/members".to_string()),
        ),
        (
            "/billing/invoices",
            (A::Member, "/billing/invoices".to_string()),
        ),
        ("/billing/usage", (A::Member, "/billing/usage".to_string())),
        (
            "/billing/invoices/{id}",
            (A::Member, format!("/billing/invoices/{}", v.invoice_id)),
        ),
        (
            "/billing/payment-methods",
            (A::Member, "/billing/payment-methods".to_string()),
        ),
        (
            "/billing/checkout/success",
            (
                A::Member,
                format!("/billing/checkout/success?session_id={}", v.session_id),
            ),
        ),
        ("/dev/mailbox", (A::Staff, "/dev/mailbox".to_string())),
        ("/support", (A::Staff, "/support".to_string())),
        (
            "/support/sign-in",
            (A::Public, "/support/sign-in".to_string()),
        ),
        (
            "/support/customers/{id}",
            (A::Staff, format!("/support/customers/{}", v.org_id)),
        ),
        (
            "/support/customers/{id}/usage",
            (A::Staff, format!("/support/customers/{}/usage", v.org_id)),
        ),
        (
            "/support/audit",
            (A::Staff, format!("/support/audit?org_id={}", v.org_id)),
        ),
        (
            "/support/confirm",
            // Retrying a renewal is for agents and billing admins; an approver is refused.
            (A::StaffAssist, "/support/confirm?do=retry".to_string()),
        ),
        (
            "/support/approvals",
            (A::Staff, "/support/approvals".to_string()),
        ),
        (
            "/support/catalog",
            (A::CatalogReader, "/support/catalog".to_string()),
        ),
    ])
}

/// A text digest of everything the organisation under test has: any change shows.
async fn fingerprint(app: &TestApp, org_id: &str) -> String {
    let queries = [
        "SELECT user_id || ':' || role FROM memberships WHERE org_id = $1 ORDER BY user_id",
        "SELECT id || ':' || COALESCE(CAST(accepted_at AS TEXT), '') || ':' || COALESCE(CAST(revoked_at AS TEXT), '') FROM invitations WHERE org_id = $1 ORDER BY id",
        "SELECT id || ':' || price_id || ':' || CAST(quantity AS TEXT) || ':' || CAST(version AS TEXT) || ':' || status FROM subscriptions WHERE org_id = $1 ORDER BY id",
        "SELECT id || ':' || CAST(is_default AS TEXT) FROM payment_methods WHERE org_id = $1 ORDER BY id",
        "SELECT id || ':' || COALESCE(CAST(revoked_at AS TEXT), '') FROM api_keys WHERE org_id = $1 ORDER BY id",
        "SELECT CAST(amount AS TEXT) || ':' || CAST(hard_cap AS TEXT) FROM spend_alerts WHERE org_id = $1",
        "SELECT id || ':' || CAST(amount AS TEXT) FROM credit_ledger WHERE org_id = $1 ORDER BY id",
        "SELECT id || ':' || status || ':' || CAST(amount_due AS TEXT) FROM invoices WHERE org_id = $1 ORDER BY id",
        "SELECT id FROM credit_notes WHERE org_id = $1 ORDER BY id",
        "SELECT id || ':' || status FROM approval_requests WHERE org_id = $1 ORDER BY id",
        "SELECT name || ':' || COALESCE(test_clock_id, '') FROM organizations WHERE id = $1",
    ];
    let mut out = String::new();
    for q in queries {
        for r in sqlx::query(q)
            .bind(org_id)
            .fetch_all(&app.db().pool)
            .await
            .unwrap()
        {
            out.push_str(&r.get::<String, _>(0));
            out.push('|');
        }
        out.push('\n');
    }
    out
}

/// A browser that signs in with the form, as the customer `email`.
async fn customer(app: &TestApp, email: &str, password: &str) -> Client {
    let browser = TestApp::browser();
    let signed = app.sign_in(&browser, email, password).await;
    assert_eq!(
        location(&signed).as_deref(),
        Some("/billing"),
        "{email} signs in"
    );
    browser
}

/// Accepts the newest invitation to `email` with `password` in a new browser.
async fn join(app: &TestApp, email: &str, password: &str) -> Client {
    let link = app
        .emailed_link(email, "/invite/")
        .await
        .expect("an invitation");
    let token = link.rsplit('/').next().unwrap().to_string();
    let browser = TestApp::browser();
    let accepted = app
        .submit_form(
            &browser,
            &link,
            "/api/invitations/accept",
            &[("token", &token), ("password", password)],
        )
        .await;
    assert_eq!(
        location(&accepted).as_deref(),
        Some("/billing"),
        "{email} joins"
    );
    browser
}

async fn every_door_answers_only_whom_it_should(given: TestApp) {
    // The matrix runs many sign-ins from one address: an app of its own, with room for them.
    let backend = given.backend;
    drop(given);
    let Some(app) = TestApp::spawn_with(
        backend,
        &[
            ("RATE_LIMIT_SIGN_IN_ADDRESS", "5000/15m"),
            ("RATE_LIMIT_SIGN_IN_ACCOUNT", "5000/15m"),
            ("RATE_LIMIT_SIGN_UP_ADDRESS", "5000/1h"),
            ("RATE_LIMIT_STAFF_SIGN_IN_ADDRESS", "5000/15m"),
            ("RATE_LIMIT_STAFF_SIGN_IN_ACCOUNT", "5000/15m"),
            ("RATE_LIMIT_INVITATION_ADDRESS", "5000/15m"),
            ("RATE_LIMIT_API_FAILED_AUTH_ADDRESS", "5000/1m"),
        ],
    )
    .await
    else {
        return;
    };
    billing_portal::services::seed::seed_demo(&app.state)
        .await
        .unwrap();

    // The organisation under test: an owner paying for Pro × 6, a billing admin, a member, a
    // member to remove, a pending invitation, a card and an API key.
    let owner = TestApp::browser();
    app.sign_up(&owner, "victim-owner@victim.test", "Victim Org")
        .await;
    let (_, session) = app.start_checkout(&owner, "pro_monthly", "6").await;
    let session_id = session.expect("a session");
    let paid = app
        .emulator_control(
            &format!("/_emulator/checkout/{session_id}/complete"),
            json!({ "card": "4242424242424242" }),
        )
        .await;
    assert_eq!(paid.status(), StatusCode::OK);
    app.eventually_count("subscriptions", 1).await;
    for (email, role) in [
        ("victim-admin@victim.test", "billing_admin"),
        ("victim-member@victim.test", "member"),
        ("victim-extra@victim.test", "member"),
        ("victim-pending@victim.test", "member"),
    ] {
        let invited = app
            .call(
                &owner,
                "/api/members/invite",
                &[("email", email), ("role", role)],
            )
            .await;
        assert_eq!(invited.status(), StatusCode::OK);
    }
    let billing_admin = join(&app, "victim-admin@victim.test", "tulip window orbit 4711").await;
    let member = join(
        &app,
        "victim-member@victim.test",
        "quartz meadow lantern 82",
    )
    .await;
    join(&app, "victim-extra@victim.test", "copper violin harbor 39").await;
    let created: Value = app
        .call(
            &owner,
            "/api/billing/api-keys/create",
            &[("name", "victim key")],
        )
        .await
        .json()
        .await
        .unwrap();
    let one = |sql: &'static str| {
        let pool = app.db().pool.clone();
        async move {
            sqlx::query(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
                .get::<String, _>(0)
        }
    };
    let victim = Victim {
        org_id: one("SELECT org_id FROM subscriptions").await,
        invoice_id: one("SELECT id FROM invoices").await,
        session_id: session_id.clone(),
        member_id: one("SELECT id FROM users WHERE email = 'victim-member@victim.test'").await,
        removable_id: one("SELECT id FROM users WHERE email = 'victim-extra@victim.test'").await,
        invitation_id: one("SELECT id FROM invitations WHERE email = 'victim-pending@victim.test'")
            .await,
        card_id: one("SELECT id FROM payment_methods").await,
        key_id: created["id"].as_str().unwrap().to_string(),
        markers: vec![],
    };
    let victim = Victim {
        markers: vec![
            "Victim Org".into(),
            "victim-owner@victim.test".into(),
            "victim-member@victim.test".into(),
            victim.org_id.clone(),
            victim.invoice_id.clone(),
            victim.card_id.clone(),
        ],
        ..victim
    };

    // Another organisation, with a plan of its own.
    let other = TestApp::browser();
    app.sign_up(&other, "attacker@evil.test", "Evil Org").await;
    let (_, session) = app.start_checkout(&other, "pro_monthly", "2").await;
    app.emulator_control(
        &format!("/_emulator/checkout/{}/complete", session.unwrap()),
        json!({ "card": "4242424242424242" }),
    )
    .await;
    app.eventually_count("subscriptions", 2).await;

    // A staff member viewing the portal as the organisation: only its read-only cookie.
    let viewer_staff = fresh_staff(&app, "agent@demo.test").await;
    let viewed = app
        .call(
            &viewer_staff,
            "/api/support/view-as",
            &[("org_id", &victim.org_id)],
        )
        .await;
    let view_cookie = common::set_cookie(viewed.headers(), "bp_session").expect("a view session");
    let view_as = {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::COOKIE,
            format!("bp_session={view_cookie}").parse().unwrap(),
        );
        Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap()
    };
    let browsers: BTreeMap<Who, Client> = BTreeMap::from([
        (Who::Nobody, TestApp::browser()),
        (Who::Member, member),
        (Who::BillingAdmin, billing_admin),
        (Who::Owner, owner.clone()),
        (Who::OtherOwner, other),
        (Who::Agent, fresh_staff(&app, "agent@demo.test").await),
        (Who::StaffAdmin, fresh_staff(&app, "admin@demo.test").await),
        (Who::Approver, fresh_staff(&app, "approver@demo.test").await),
        (
            Who::CatalogAdmin,
            fresh_staff(&app, "catalog@demo.test").await,
        ),
        (Who::ViewAs, view_as),
    ]);

    // Every door the application has is in the tables.
    let functions = server_functions(&victim);
    let registered: BTreeSet<(String, String)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, method)| (path.to_string(), method.to_string()))
        .collect();
    let listed: BTreeSet<String> = functions.iter().map(|(p, _, _)| p.to_string()).collect();
    let registered_paths: BTreeSet<String> = registered.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(
        registered_paths, listed,
        "every server function is in the matrix, and only those"
    );
    let routes = http_routes(&victim);
    let route_keys: BTreeSet<(&str, &str)> = routes.keys().copied().collect();
    let table: BTreeSet<(&str, &str)> = billing_portal::http::routes::HTTP_ROUTES
        .into_iter()
        .collect();
    assert_eq!(route_keys, table, "every HTTP route is in the matrix");
    let page_table = pages(&victim);
    let page_paths: BTreeSet<String> = billing_portal::http::routes::page_routes()
        .iter()
        .map(|r| r.path().to_string())
        .collect();
    let listed_pages: BTreeSet<String> = page_table.keys().map(|p| p.to_string()).collect();
    assert_eq!(page_paths, listed_pages, "every page is in the matrix");

    // Writes answer POST only: a GET to any server function changes nothing.
    for (path, method) in &registered {
        assert_eq!(method, "POST", "{path} is a POST");
        let before = fingerprint(&app, &victim.org_id).await;
        let get = browsers[&Who::Owner]
            .get(app.url(path))
            .send()
            .await
            .unwrap();
        assert!(
            matches!(
                get.status(),
                StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST
            ),
            "GET {path} answered {}",
            get.status()
        );
        assert_eq!(
            fingerprint(&app, &victim.org_id).await,
            before,
            "GET {path}"
        );
    }

    // What a stranger (nobody, or another organisation's owner) must never see; the
    // organisation's own members and the staff may. An id the caller sent is not news to them.
    let leaks = |who: Who, asked: &str, body: &str| -> Vec<String> {
        if !matches!(who, Who::Nobody | Who::OtherOwner) {
            return Vec::new();
        }
        victim
            .markers
            .iter()
            .filter(|m| body.contains(m.as_str()) && !asked.contains(m.as_str()))
            .map(|m| format!("{who:?} saw {m} at {asked}"))
            .collect()
    };
    let mut cells = 0;
    let mut problems: Vec<String> = Vec::new();

    // Server functions: the refused callers first, then the allowed ones.
    for (path, access, fields) in &functions {
        let mut order: Vec<Who> = EVERYONE.to_vec();
        order.sort_by_key(|w| (expect(path, *access, *w) == Expect::Allowed, *w));
        for who in order {
            let expected = expect(path, *access, who);
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let asked: String = fields.iter().map(|(_, v)| *v).collect::<Vec<_>>().join(" ");
            let before = fingerprint(&app, &victim.org_id).await;
            let audit_before = app.count("audit_log").await;
            let response = app.call(&browsers[&who], path, &fields).await;
            let status = response.status();
            let body = response.text().await.unwrap();
            let after = fingerprint(&app, &victim.org_id).await;
            cells += 1;
            let cell = format!(
                "{who:?} → {path}: {status} {}",
                body.chars().take(160).collect::<String>()
            );
            match expected {
                Expect::Allowed => {
                    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                        problems.push(format!("refused but allowed: {cell}"));
                    }
                    if after != before && app.count("audit_log").await == audit_before {
                        problems.push(format!("changed without an audit entry: {cell}"));
                    }
                }
                Expect::Refused => {
                    if !matches!(
                        status,
                        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
                    ) {
                        problems.push(format!("not refused: {cell}"));
                    }
                    if after != before {
                        problems.push(format!("changed the organisation: {cell}"));
                    }
                    problems.extend(leaks(who, &asked, &body));
                }
                Expect::NotThisOrg => {
                    if after != before {
                        problems.push(format!("changed another organisation: {cell}"));
                    }
                    problems.extend(leaks(who, &asked, &body));
                }
            }
        }
    }
    // The sign-outs and view-as above changed sessions: sign the callers in again.
    let browsers: BTreeMap<Who, Client> = BTreeMap::from([
        (Who::Nobody, TestApp::browser()),
        (
            Who::Member,
            customer(
                &app,
                "victim-member@victim.test",
                "quartz meadow lantern 82",
            )
            .await,
        ),
        (
            Who::BillingAdmin,
            customer(&app, "victim-admin@victim.test", "tulip window orbit 4711").await,
        ),
        (
            Who::Owner,
            customer(&app, "victim-owner@victim.test", common::PASSWORD).await,
        ),
        (
            Who::OtherOwner,
            customer(&app, "attacker@evil.test", common::PASSWORD).await,
        ),
        (Who::Agent, fresh_staff(&app, "agent@demo.test").await),
        (Who::StaffAdmin, fresh_staff(&app, "admin@demo.test").await),
        (Who::Approver, fresh_staff(&app, "approver@demo.test").await),
        (
            Who::CatalogAdmin,
            fresh_staff(&app, "catalog@demo.test").await,
        ),
        (Who::ViewAs, browsers[&Who::ViewAs].clone()),
    ]);

    // Plain routes and pages: a GET (or the route's POST) as each caller.
    let mut gets: Vec<(String, Access, &str)> = routes
        .iter()
        .map(|((method, _), (access, url))| (url.clone(), *access, *method))
        .collect();
    gets.extend(
        page_table
            .values()
            .map(|(access, url)| (url.clone(), *access, "GET")),
    );
    for (url, access, method) in gets {
        for who in EVERYONE {
            let expected = expect(&url, access, who);
            let before = fingerprint(&app, &victim.org_id).await;
            let request = match method {
                "POST" => browsers[&who]
                    .post(app.url(&url))
                    .header("content-type", "application/json")
                    .body("{}"),
                _ => browsers[&who].get(app.url(&url)),
            };
            let response = request.send().await.unwrap();
            let status = response.status();
            let to = location(&response).unwrap_or_default();
            let body = response.text().await.unwrap();
            cells += 1;
            let cell = format!("{who:?} → {method} {url}: {status} {to}");
            let refused_page = status == StatusCode::UNAUTHORIZED
                || status == StatusCode::FORBIDDEN
                || status == StatusCode::NOT_FOUND
                || to.contains("sign-in")
                || body.contains("Page not found");
            match expected {
                Expect::Allowed => {
                    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                        || (status.is_redirection() && to.contains("sign-in"))
                    {
                        problems.push(format!("refused but allowed: {cell}"));
                    }
                }
                Expect::Refused => {
                    let public_answer = access == Access::Public;
                    if !(refused_page
                        || public_answer
                        || (access == Access::ApiKey && status == StatusCode::UNAUTHORIZED))
                    {
                        problems.push(format!("not refused: {cell}"));
                    }
                    problems.extend(leaks(who, &url, &body));
                }
                Expect::NotThisOrg => problems.extend(leaks(who, &url, &body)),
            }
            if fingerprint(&app, &victim.org_id).await != before && method == "GET" {
                problems.push(format!("a GET changed the organisation: {cell}"));
            }
        }
    }
    let doors = functions.len() + routes.len() + page_table.len();
    eprintln!(
        "authorization matrix: {doors} doors ({} server functions, {} routes, {} pages) × {} callers = {cells} cells, {} problems",
        functions.len(),
        routes.len(),
        page_table.len(),
        EVERYONE.len(),
        problems.len()
    );
    assert_eq!(cells, doors * EVERYONE.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A console browser signed in anew (the test's code step moves on first).
async fn fresh_staff(app: &TestApp, email: &str) -> Client {
    app.clock.advance_secs(30);
    let browser = TestApp::browser();
    let code = billing_portal::server::mfa::code_at(
        billing_portal::server::mfa::DEMO_SECRET,
        app.state.now(),
    )
    .unwrap();
    let signed = app
        .submit_form(
            &browser,
            "/support/sign-in",
            "/api/support/sign-in",
            &[
                ("email", email),
                ("password", billing_portal::services::seed::DEMO_PASSWORD),
                ("code", &code),
            ],
        )
        .await;
    let start = if email.starts_with("catalog@") {
        "/support/catalog"
    } else {
        "/support"
    };
    assert_eq!(location(&signed).as_deref(), Some(start), "{email}");
    browser
}
