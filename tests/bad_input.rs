//! Bad input at every form field and API field: over-long text, control and direction
//! characters, wrong types, negative and huge numbers, unknown ids and other tenants' ids. Each
//! gets an error that says what to do (never a 500, never a silent success), and the database is
//! byte for byte what it was before (every table dumped and compared).
#![cfg(feature = "ssr")]

mod common;

use common::{location, TestApp};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use sqlx::Row;

on_both_databases!(every_field_refuses_bad_input_and_changes_nothing);

/// Every row of every table, as text, in a fixed order.
async fn dump(app: &TestApp) -> String {
    let pool = &app.db().pool;
    let tables: Vec<String> = match app.backend {
        common::Backend::Sqlite => sqlx::query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT LIKE '_sqlx%' ORDER BY name",
        ),
        common::Backend::Postgres => sqlx::query(
            "SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = 'public' \
             AND table_name NOT LIKE '_sqlx%' ORDER BY table_name",
        ),
    }
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get("name"))
    .collect();
    let mut out = String::new();
    for table in tables {
        let columns: Vec<String> = match app.backend {
            common::Backend::Sqlite => {
                sqlx::query("SELECT name FROM pragma_table_info($1) ORDER BY cid").bind(&table)
            }
            common::Backend::Postgres => sqlx::query(
                "SELECT column_name::text AS name FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
            )
            .bind(&table),
        }
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("name"))
        .collect();
        let row = columns
            .iter()
            .map(|c| format!("COALESCE(CAST(\"{c}\" AS TEXT), '~')"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let rows: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {row} AS line FROM \"{table}\" ORDER BY 1"
        )))
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("line"))
        .collect();
        out.push_str(&format!("== {table}\n{}\n", rows.join("\n")));
    }
    out
}

fn long(n: usize) -> String {
    "x".repeat(n)
}

/// Bad values of each kind of field.
fn text(max: usize, required: bool) -> Vec<String> {
    let mut bad = vec![
        long(max + 1),
        "first\r\nBcc: all@example.com".into(),
        "nul\0byte".into(),
        "direction\u{202e}txt.exe".into(),
    ];
    if required {
        bad.push(String::new());
        bad.push("   ".into());
    }
    bad
}

fn note() -> Vec<String> {
    // Line breaks are fine in a note; other controls are not.
    vec![
        long(2_001),
        "nul\0byte".into(),
        "direction\u{202e}".into(),
        "".into(),
        "bell\u{7}".into(),
    ]
}

fn email() -> Vec<String> {
    vec![
        "".into(),
        "not-an-email".into(),
        "a@b".into(),
        "two@@example.com".into(),
        "crlf\r\n@example.com".into(),
        format!("{}@example.com", long(300)),
        "direction\u{202e}@example.com".into(),
        "nul\0@example.com".into(),
    ]
}

fn amount() -> Vec<String> {
    vec![
        "".into(),
        "abc".into(),
        "-5.00".into(),
        "0".into(),
        "1.005".into(),
        "99999999999999999999".into(),
        "1e5".into(),
        "NaN".into(),
        "12,50".into(),
    ]
}

fn count() -> Vec<String> {
    vec![
        "".into(),
        "abc".into(),
        "-1".into(),
        "0".into(),
        "1.5".into(),
        "99999999999999999999".into(),
        "100000".into(),
    ]
}

fn choice() -> Vec<String> {
    vec!["".into(), "nonsense".into(), long(10_000)]
}

fn id(other_tenant: &str) -> Vec<String> {
    vec![
        "".into(),
        "nope".into(),
        // Well formed, but no record has them: one an organisation's, one a subscription's.
        "org_00ff00ff00ff00ff00ff00ff".into(),
        "sub_00ff00ff00ff00ff00ff00ff".into(),
        other_tenant.into(),
        long(10_000),
        "' OR '1'='1".into(),
    ]
}

/// One field of one form: the endpoint, who submits it, its other fields (valid), the field
/// and its bad values.
struct Case {
    endpoint: &'static str,
    who: &'static str,
    fields: Vec<(&'static str, String)>,
    field: &'static str,
    bad: Vec<String>,
}

async fn every_field_refuses_bad_input_and_changes_nothing(app: TestApp) {
    // A paying organisation (Pro × 3) with a pending invitation and an API key; a second one on
    // the free plan; another tenant with objects of its own; staff.
    let owner = app.subscribed("pro_monthly", "3").await;
    let invited = app
        .call(
            &owner,
            "/api/members/invite",
            &[("email", "pending@example.com"), ("role", "member")],
        )
        .await;
    assert_eq!(invited.status(), StatusCode::OK);
    let key: Value = app
        .call(
            &owner,
            "/api/billing/api-keys/create",
            &[("name", "ingest")],
        )
        .await
        .json()
        .await
        .unwrap();
    let org_key = key["secret"].as_str().unwrap().to_string();
    let free = TestApp::browser();
    app.sign_up(&free, "free@example.com", "Free Co").await;
    let other = TestApp::browser();
    app.sign_up(&other, "other@example.com", "Other Co").await;
    let (_, session) = app.start_checkout(&other, "pro_monthly", "2").await;
    app.emulator_control(
        &format!("/_emulator/checkout/{}/complete", session.unwrap()),
        json!({ "card": "4242424242424242" }),
    )
    .await;
    app.eventually_count("subscriptions", 2).await;
    let other_key: Value = app
        .call(
            &other,
            "/api/billing/api-keys/create",
            &[("name", "theirs")],
        )
        .await
        .json()
        .await
        .unwrap();
    let admin = app.staff("admin@demo.test").await;
    let approver = app.staff("approver@demo.test").await;
    let q = |sql: String| {
        let pool = app.db().pool.clone();
        async move {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_one(&pool)
                .await
                .unwrap()
                .get::<String, _>(0)
        }
    };
    let acme = "(SELECT id FROM organizations WHERE name = 'Acme')";
    let theirs = "(SELECT id FROM organizations WHERE name = 'Other Co')";
    let org = q(format!("SELECT {acme}")).await;
    let other_org = q(format!("SELECT {theirs}")).await;
    let invoice = q(format!("SELECT id FROM invoices WHERE org_id = {acme}")).await;
    let other_invoice = q(format!("SELECT id FROM invoices WHERE org_id = {theirs}")).await;
    let other_user = q("SELECT id FROM users WHERE email = 'other@example.com'".into()).await;
    let other_card = q(format!(
        "SELECT id FROM payment_methods WHERE org_id = {theirs}"
    ))
    .await;
    let other_invitation = {
        app.call(
            &other,
            "/api/members/invite",
            &[("email", "theirs@example.com"), ("role", "member")],
        )
        .await;
        q(format!(
            "SELECT id FROM invitations WHERE org_id = {theirs}"
        ))
        .await
    };
    let invitation_token = {
        let link = app
            .emailed_link("pending@example.com", "/invite/")
            .await
            .unwrap();
        link.rsplit('/').next().unwrap().to_string()
    };
    let version = {
        let page: Value = app
            .call(&owner, "/api/billing/plan", &[])
            .await
            .json()
            .await
            .unwrap();
        page["current"]["version"].as_i64().unwrap().to_string()
    };
    let s = |v: &str| v.to_string();
    let staff = |extra: Vec<(&'static str, String)>| {
        let mut fields = extra;
        fields.push(("reason_code", s("billing_error")));
        fields.push(("note", s("what happened, and what the customer was told")));
        fields
    };
    let case = |endpoint, who, fields: Vec<(&'static str, String)>, field, bad| Case {
        endpoint,
        who,
        fields,
        field,
        bad,
    };
    let cases = vec![
        case(
            "/api/auth/sign-up",
            "anyone",
            vec![
                ("email", s("new@example.com")),
                ("password", s(common::PASSWORD)),
                ("org_name", s("New Co")),
            ],
            "email",
            email(),
        ),
        case(
            "/api/auth/sign-up",
            "anyone",
            vec![
                ("email", s("new@example.com")),
                ("password", s(common::PASSWORD)),
                ("org_name", s("New Co")),
            ],
            "password",
            vec![
                s(""),
                s("short"),
                long(300),
                s("password1234"),
                s("aaaaaaaaaaaa"),
            ],
        ),
        case(
            "/api/auth/sign-up",
            "anyone",
            vec![
                ("email", s("new@example.com")),
                ("password", s(common::PASSWORD)),
                ("org_name", s("New Co")),
            ],
            "org_name",
            text(100, true),
        ),
        case(
            "/api/auth/sign-in",
            "anyone",
            vec![
                ("email", s("owner@example.com")),
                ("password", s(common::PASSWORD)),
                ("next", s("")),
            ],
            "email",
            email(),
        ),
        case(
            "/api/auth/sign-up/confirm",
            "anyone",
            vec![("token", s(""))],
            "token",
            vec![s(""), s("nope"), long(10_000)],
        ),
        case(
            "/api/invitations/accept",
            "anyone",
            vec![
                ("token", invitation_token.clone()),
                ("password", s("a long passphrase for pending")),
            ],
            "token",
            vec![s(""), s("nope"), long(10_000)],
        ),
        case(
            "/api/invitations/accept",
            "anyone",
            vec![
                ("token", invitation_token.clone()),
                ("password", s("a long passphrase for pending")),
            ],
            "password",
            vec![s(""), s("short"), long(300)],
        ),
        case(
            "/api/members/invite",
            "owner",
            vec![("email", s("new@example.com")), ("role", s("member"))],
            "email",
            email(),
        ),
        case(
            "/api/members/invite",
            "owner",
            vec![("email", s("new@example.com")), ("role", s("member"))],
            "role",
            choice(),
        ),
        case(
            "/api/members/revoke",
            "owner",
            vec![("id", s(""))],
            "id",
            id(&other_invitation),
        ),
        case(
            "/api/members/role",
            "owner",
            vec![("user_id", other_user.clone()), ("role", s("member"))],
            "user_id",
            id(&other_user),
        ),
        case(
            "/api/members/role",
            "owner",
            vec![("user_id", other_user.clone()), ("role", s("member"))],
            "role",
            choice(),
        ),
        case(
            "/api/members/remove",
            "owner",
            vec![("user_id", s(""))],
            "user_id",
            id(&other_user),
        ),
        case(
            "/api/billing/checkout",
            "free",
            vec![("price_id", s("pro_monthly")), ("seats", s("1"))],
            "price_id",
            id("team_yearly_nope"),
        ),
        case(
            "/api/billing/checkout",
            "free",
            vec![("price_id", s("pro_monthly")), ("seats", s("1"))],
            "seats",
            count(),
        ),
        case(
            "/api/billing/checkout",
            "free",
            vec![("price_id", s("pro_monthly")), ("seats", s("1"))],
            "promotion_code",
            vec![s("NOPE"), s("bad\r\ncode"), long(10_000)],
        ),
        case(
            "/api/billing/plan/change",
            "owner",
            vec![
                ("price_id", s("team_monthly")),
                ("seats", s("3")),
                ("expected_due", s("1")),
                ("version", version.clone()),
            ],
            "price_id",
            id("nope_monthly"),
        ),
        case(
            "/api/billing/plan/change",
            "owner",
            vec![
                ("price_id", s("pro_monthly")),
                ("seats", s("3")),
                ("expected_due", s("0")),
                ("version", version.clone()),
            ],
            "seats",
            count(),
        ),
        case(
            "/api/billing/plan/change",
            "owner",
            vec![
                ("price_id", s("team_monthly")),
                ("seats", s("3")),
                ("expected_due", s("1")),
                ("version", version.clone()),
            ],
            "expected_due",
            vec![s(""), s("abc"), s("-1"), s("99999999999999999999")],
        ),
        case(
            "/api/billing/plan/change",
            "owner",
            vec![
                ("price_id", s("team_monthly")),
                ("seats", s("3")),
                ("expected_due", s("1")),
                ("version", version.clone()),
            ],
            "version",
            vec![s(""), s("abc"), s("-1"), s("999999")],
        ),
        case(
            "/api/billing/plan/cancel",
            "owner",
            vec![
                ("reason", s("other")),
                ("details", s("")),
                ("version", version.clone()),
            ],
            "reason",
            choice(),
        ),
        case(
            "/api/billing/plan/cancel",
            "owner",
            vec![
                ("reason", s("other")),
                ("details", s("")),
                ("version", version.clone()),
            ],
            "details",
            vec![long(1_001), s("nul\0"), s("direction\u{202e}")],
        ),
        case(
            "/api/billing/plan/cancel",
            "owner",
            vec![
                ("reason", s("other")),
                ("details", s("")),
                ("version", version.clone()),
            ],
            "version",
            vec![s(""), s("abc"), s("999999")],
        ),
        case(
            "/api/billing/plan/promotion-code",
            "owner",
            vec![("code", s("NOPE")), ("version", version.clone())],
            "code",
            vec![s(""), s("NOPE"), s("bad\r\ncode"), long(10_000)],
        ),
        case(
            "/api/billing/plan/undo",
            "owner",
            vec![("version", version.clone())],
            "version",
            vec![s(""), s("abc"), version.clone()],
        ),
        case(
            "/api/billing/plan/resume",
            "owner",
            vec![("version", version.clone())],
            "version",
            vec![s(""), s("abc"), version.clone()],
        ),
        case(
            "/api/billing/invoice/pay",
            "owner",
            vec![("id", s(""))],
            "id",
            id(&other_invoice),
        ),
        case(
            "/api/billing/payment-methods/default",
            "owner",
            vec![("id", s(""))],
            "id",
            id(&other_card),
        ),
        case(
            "/api/billing/payment-methods/remove",
            "owner",
            vec![("id", s(""))],
            "id",
            id(&other_card),
        ),
        case(
            "/api/billing/api-keys/create",
            "owner",
            vec![("name", s("ci"))],
            "name",
            text(60, true),
        ),
        case(
            "/api/billing/api-keys/revoke",
            "owner",
            vec![("id", s(""))],
            "id",
            id(other_key["id"].as_str().unwrap()),
        ),
        case(
            "/api/billing/spend-alert",
            "owner",
            vec![("amount", s("50.00"))],
            "amount",
            vec![
                s("abc"),
                s("-5.00"),
                s("0"),
                s("1.005"),
                s("99999999999999999999"),
                s("1e5"),
            ],
        ),
        case(
            "/api/support/refund",
            "admin",
            staff(vec![
                ("invoice_id", invoice.clone()),
                ("amount", s("1.00")),
                ("token", s("form_bad_refund")),
            ]),
            "invoice_id",
            id("inv_nope"),
        ),
        case(
            "/api/support/refund",
            "admin",
            staff(vec![
                ("invoice_id", invoice.clone()),
                ("amount", s("1.00")),
                ("token", s("form_bad_refund")),
            ]),
            "amount",
            [amount(), vec![s("1000.00")]].concat(),
        ),
        case(
            "/api/support/refund",
            "admin",
            staff(vec![
                ("invoice_id", invoice.clone()),
                ("amount", s("1.00")),
                ("token", s("form_bad_refund")),
            ]),
            "reason_code",
            choice(),
        ),
        case(
            "/api/support/refund",
            "admin",
            staff(vec![
                ("invoice_id", invoice.clone()),
                ("amount", s("1.00")),
                ("token", s("form_bad_refund")),
            ]),
            "note",
            note(),
        ),
        case(
            "/api/support/refund",
            "admin",
            staff(vec![
                ("invoice_id", invoice.clone()),
                ("amount", s("1.00")),
                ("token", s("form_bad_refund")),
            ]),
            "token",
            vec![s(""), s("short")],
        ),
        case(
            "/api/support/credit",
            "admin",
            staff(vec![
                ("org_id", org.clone()),
                ("amount", s("1.00")),
                ("token", s("form_bad_credit")),
            ]),
            "org_id",
            id("org_nope"),
        ),
        case(
            "/api/support/credit",
            "admin",
            staff(vec![
                ("org_id", org.clone()),
                ("amount", s("1.00")),
                ("token", s("form_bad_credit")),
            ]),
            "amount",
            amount(),
        ),
        case(
            "/api/support/credit",
            "admin",
            staff(vec![
                ("org_id", org.clone()),
                ("amount", s("1.00")),
                ("token", s("form_bad_credit")),
            ]),
            "note",
            note(),
        ),
        case(
            "/api/support/credit",
            "admin",
            staff(vec![
                ("org_id", org.clone()),
                ("amount", s("1.00")),
                ("token", s("form_bad_credit")),
            ]),
            "token",
            vec![s(""), s("short")],
        ),
        case(
            "/api/support/invoice/close",
            "admin",
            staff(vec![("invoice_id", invoice.clone()), ("action", s("void"))]),
            "invoice_id",
            id("inv_nope"),
        ),
        case(
            "/api/support/invoice/close",
            "admin",
            staff(vec![("invoice_id", invoice.clone()), ("action", s("void"))]),
            "action",
            choice(),
        ),
        case(
            "/api/support/invoice/close",
            "admin",
            staff(vec![("invoice_id", invoice.clone()), ("action", s("void"))]),
            "reason_code",
            choice(),
        ),
        case(
            "/api/support/invoice/retry",
            "admin",
            staff(vec![("invoice_id", invoice.clone())]),
            "invoice_id",
            id("inv_nope"),
        ),
        case(
            "/api/support/invoice/resend",
            "admin",
            staff(vec![("invoice_id", invoice.clone())]),
            "invoice_id",
            id("inv_nope"),
        ),
        case(
            "/api/support/invoice/resend",
            "admin",
            staff(vec![("invoice_id", invoice.clone())]),
            "note",
            note(),
        ),
        case(
            "/api/support/trial/extend",
            "admin",
            staff(vec![("org_id", org.clone()), ("days", s("7"))]),
            "days",
            [count(), vec![s("61")]].concat(),
        ),
        case(
            "/api/support/plan/change",
            "admin",
            staff(vec![
                ("org_id", org.clone()),
                ("price_id", s("team_monthly")),
                ("seats", s("3")),
            ]),
            "org_id",
            id("org_nope"),
        ),
        case(
            "/api/support/plan/change",
            "admin",
            staff(vec![
                ("org_id", org.clone()),
                ("price_id", s("team_monthly")),
                ("seats", s("3")),
            ]),
            "price_id",
            id("nope_monthly"),
        ),
        case(
            "/api/support/plan/change",
            "admin",
            staff(vec![
                ("org_id", org.clone()),
                ("price_id", s("team_monthly")),
                ("seats", s("3")),
            ]),
            "seats",
            count(),
        ),
        case(
            "/api/support/invoice/reduce",
            "admin",
            staff(vec![
                ("invoice_id", invoice.clone()),
                ("amount", s("1.00")),
                ("token", s("form_bad_reduce")),
            ]),
            "amount",
            amount(),
        ),
        case(
            "/api/support/test-clock/advance",
            "admin",
            staff(vec![("org_id", org.clone()), ("days", s("1"))]),
            "days",
            [count(), vec![s("401")]].concat(),
        ),
        case(
            "/api/support/renewal/retry",
            "admin",
            staff(vec![("org_id", org.clone())]),
            "org_id",
            id(&other_org),
        ),
        case(
            "/api/support/audit",
            "admin",
            vec![("from", s("")), ("until", s(""))],
            "from",
            vec![s("yesterday"), s("2026-13-01"), long(10_000)],
        ),
        case(
            "/api/support/usage",
            "admin",
            vec![("org_id", org.clone()), ("from", s("")), ("until", s(""))],
            "from",
            vec![s("yesterday"), s("1.5"), long(100)],
        ),
        case(
            "/api/support/approvals/decide",
            "approver",
            vec![("id", s("apr_nope")), ("decision", s("approve"))],
            "id",
            id("apr_nope"),
        ),
        case(
            "/api/support/approvals/decide",
            "approver",
            vec![("id", s("apr_nope")), ("decision", s("approve"))],
            "decision",
            choice(),
        ),
    ];

    let anyone = TestApp::browser();
    let browser = |who: &str| -> &Client {
        match who {
            "owner" => &owner,
            "free" => &free,
            "admin" => &admin,
            "approver" => &approver,
            _ => &anyone,
        }
    };
    // An API call first, so the key's last-used time is already set.
    send(
        &app,
        &org_key,
        json!({"events": [{"id": "warm", "customer": org, "meter": "nope", "timestamp": 0}]}),
    )
    .await;
    let mut problems = Vec::new();
    let mut checked = 0;
    for c in &cases {
        for bad in &c.bad {
            let mut fields: Vec<(&str, &str)> =
                c.fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            fields.retain(|(k, _)| *k != c.field);
            fields.push((c.field, bad.as_str()));
            let before = dump(&app).await;
            let response = app.call(browser(c.who), c.endpoint, &fields).await;
            let status = response.status();
            let redirect = location(&response);
            let body = response.text().await.unwrap();
            let after = dump(&app).await;
            checked += 1;
            let shown = bad
                .chars()
                .take(24)
                .collect::<String>()
                .escape_debug()
                .to_string();
            let what = format!("{} {}={shown:?}", c.endpoint, c.field);
            if after != before {
                problems.push(format!("{what}: the database changed"));
            }
            let message = serde_json::from_str::<billing_portal::api::AppError>(&body)
                .map(|e| e.to_string())
                .unwrap_or_default();
            if !status.is_client_error() {
                problems.push(format!(
                    "{what}: answered {status} {redirect:?} {}",
                    body.chars().take(120).collect::<String>()
                ));
            } else if message.len() < 15 || message.contains("Something went wrong") {
                problems.push(format!("{what}: {status} without a clear message: {body}"));
            }
        }
    }

    // The REST API's fields, event by event: each bad event is rejected with its reason.
    let event = |field: &str, value: Value| {
        let mut e = json!({"id": "e-1", "customer": org, "meter": "build_minutes", "quantity": 1, "timestamp": app.state.now() - 60});
        e[field] = value;
        e
    };
    let bad_events = vec![
        (
            "id",
            vec![
                json!(""),
                json!(long(201)),
                json!(123),
                Value::Null,
                json!("a\u{0}b"),
            ],
        ),
        (
            "customer",
            vec![
                json!("org_nope"),
                json!(other_org.clone()),
                json!(""),
                json!(5),
            ],
        ),
        (
            "meter",
            vec![json!("nope"), json!(""), json!([]), json!(long(10_000))],
        ),
        (
            "quantity",
            vec![
                json!(-1),
                json!(1.5),
                json!("10"),
                json!(1_000_000_000_001_i64),
                json!(i64::MAX),
                json!(u64::MAX),
            ],
        ),
        (
            "timestamp",
            vec![
                json!("yesterday"),
                json!({}),
                json!(0),
                json!(app.state.now() + 3_600),
                json!(true),
            ],
        ),
        (
            "properties",
            vec![
                json!([]),
                json!("x"),
                json!({"bad key!": 1}),
                json!({"k": long(5_000)}),
            ],
        ),
    ];
    for (field, values) in bad_events {
        for value in values {
            let before = dump(&app).await;
            let (status, body) = send(
                &app,
                &org_key,
                json!({ "events": [event(field, value.clone())] }),
            )
            .await;
            let after = dump(&app).await;
            checked += 1;
            let what = format!(
                "POST /api/v1/usage-events {field}={}",
                value.to_string().chars().take(24).collect::<String>()
            );
            if after != before {
                problems.push(format!("{what}: the database changed"));
            }
            let reason = body["results"][0]["reason"].as_str().unwrap_or("");
            if status != StatusCode::OK || body["rejected"] != 1 || reason.len() < 10 {
                problems.push(format!("{what}: {status} {body}"));
            }
        }
    }
    for raw in [
        "not json".to_string(),
        json!({"events": "x"}).to_string(),
        json!({"events": []}).to_string(),
        json!({"events": vec![json!({}); 1001]}).to_string(),
        json!({"other": 1}).to_string(),
    ] {
        let before = dump(&app).await;
        let response = Client::new()
            .post(app.url("/api/v1/usage-events"))
            .bearer_auth(&org_key)
            .header("content-type", "application/json")
            .body(raw.clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        checked += 1;
        if dump(&app).await != before {
            problems.push(format!("usage-events body {raw:.30}: the database changed"));
        }
        let message = body["error"]["message"].as_str().unwrap_or("");
        if status != StatusCode::BAD_REQUEST || message.len() < 15 {
            problems.push(format!("usage-events body {raw:.30}: {status} {body}"));
        }
    }
    for path in [
        format!("/api/v1/customers/{other_org}/entitlements"),
        "/api/v1/customers/org_nope/usage".to_string(),
    ] {
        let (status, body) = get(&app, &org_key, &path).await;
        checked += 1;
        if !matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND)
            || body["error"]["message"].as_str().unwrap_or("").len() < 15
        {
            problems.push(format!("GET {path}: {status} {body}"));
        }
    }
    // A server key may read any customer, but an id of another kind (an invoice's, a
    // subscription's) or no id at all names none.
    let (_, server_key) = billing_portal::store::usage::create_key(
        app.db(),
        None,
        "bad input",
        &billing_portal::store::audit::Actor::cli(),
        app.state.now(),
    )
    .await
    .unwrap();
    for customer in [
        invoice.as_str(),
        "sub_00ff00ff00ff00ff00ff00ff",
        "org_",
        "org_zz",
    ] {
        let path = format!("/api/v1/customers/{customer}/entitlements");
        let (status, body) = get(&app, &server_key, &path).await;
        checked += 1;
        let message = body["error"]["message"].as_str().unwrap_or("");
        if status != StatusCode::NOT_FOUND || !message.contains("There is no customer") {
            problems.push(format!("GET {path} with a server key: {status} {body}"));
        }
    }
    eprintln!(
        "bad input: {checked} values at {} form fields and the API's fields, {} problems",
        cases.len(),
        problems.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

async fn get(app: &TestApp, key: &str, path: &str) -> (StatusCode, Value) {
    let response = Client::new()
        .get(app.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn send(app: &TestApp, key: &str, body: Value) -> (StatusCode, Value) {
    let response = Client::new()
        .post(app.url("/api/v1/usage-events"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}
