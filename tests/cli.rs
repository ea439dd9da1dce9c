//! The binary's commands: configuration errors, migrate, seed-demo, create-staff.
#![cfg(feature = "ssr")]

mod common;

use std::process::Command;

fn billing_portal(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_billing-portal"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("STRIPE_MODE", "emulator");
    command
}

#[tokio::test]
async fn a_bad_setting_stops_start_up_naming_the_variable() {
    let out = billing_portal("sqlite::memory:")
        .env("LOG_FORMAT", "xml")
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("LOG_FORMAT: \"xml\" is not a log format; use pretty or json"),
        "{stderr}"
    );

    let out = billing_portal("mysql://localhost/x")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("DATABASE_URL"));

    // A deployment without a Stripe key does not quietly take payments on the emulator.
    let out = billing_portal("sqlite::memory:")
        .env_remove("STRIPE_MODE")
        .env("PUBLIC_BASE_URL", "https://billing.example.com")
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("STRIPE_SECRET_KEY: is not set") && stderr.contains("STRIPE_MODE=emulator"),
        "{stderr}"
    );

    // The development mailbox never runs beside a live key.
    let out = billing_portal("sqlite::memory:")
        .env_remove("STRIPE_MODE")
        .env("STRIPE_SECRET_KEY", "sk_live_123")
        .env("STRIPE_WEBHOOK_SECRET", "whsec_123")
        .env("DEV_MAILBOX", "true")
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("DEV_MAILBOX: cannot be on with a live Stripe key"),
        "{stderr}"
    );
}

#[tokio::test]
async fn migrate_seed_and_create_staff_work_and_repeat_safely() {
    for backend in [common::Backend::Sqlite, common::Backend::Postgres] {
        let Some(database) = common::TestDatabase::create(backend).await else {
            continue;
        };
        let run = |args: &[&str]| {
            let out = billing_portal(&database.url)
                .env("LOG_FORMAT", "json")
                .args(args)
                .env("STAFF_PASSWORD", "a long staff passphrase")
                .output()
                .unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr),
            )
        };
        assert!(run(&["migrate"]).0);
        let (ok, out) = run(&["seed-demo"]);
        assert!(ok, "{out}");
        assert!(out.contains("owner@demo.test"));
        let (ok, out) = run(&["seed-demo"]);
        assert!(ok, "seeding twice is harmless: {out}");

        let (ok, out) = run(&[
            "create-staff",
            "--email",
            "Sam@Support.test",
            "--name",
            "Sam",
            "--role",
            "approver",
        ]);
        assert!(ok, "{out}");
        assert!(out.contains("<sam@support.test> as approver"), "{out}");
        // The second factor's secret is printed once, with the URL an authenticator app reads.
        let secret = out
            .lines()
            .find_map(|l| l.strip_prefix("authenticator secret: "))
            .expect("the secret is printed")
            .to_string();
        assert_eq!(secret.len(), 32, "{out}");
        assert!(out.contains("otpauth://totp/"), "{out}");
        let (ok, out) = run(&["staff-mfa", "--email", "sam@support.test"]);
        assert!(ok, "{out}");
        assert!(
            !out.contains(&secret),
            "a new secret replaces the old: {out}"
        );
        let (ok, out) = run(&["staff-mfa", "--email", "nobody@support.test"]);
        assert!(!ok && out.contains("no staff account"), "{out}");
        let (ok, out) = run(&[
            "create-staff",
            "--email",
            "sam@support.test",
            "--name",
            "Sam",
            "--role",
            "approver",
        ]);
        assert!(!ok && out.contains("already exists"), "{out}");
        let (ok, out) = run(&[
            "create-staff",
            "--email",
            "kim@support.test",
            "--name",
            "Kim",
            "--role",
            "boss",
        ]);
        assert!(
            !ok && out.contains("--role \"boss\" is not a staff role"),
            "{out}"
        );

        let db = billing_portal::store::connect(&database.url).await.unwrap();
        let plans = billing_portal::store::catalog::load(&db).await.unwrap();
        assert_eq!(
            plans.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            ["free", "pro", "team"]
        );
        db.pool.close().await;
    }
}

#[tokio::test]
async fn the_catalog_is_exported_and_applied_as_a_file() {
    for backend in [common::Backend::Sqlite, common::Backend::Postgres] {
        let Some(database) = common::TestDatabase::create(backend).await else {
            continue;
        };
        let run = |args: &[&str]| {
            let out = billing_portal(&database.url)
                .env("LOG_FORMAT", "json")
                .args(args)
                .output()
                .unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr),
            )
        };
        assert!(run(&["seed-demo"]).0);
        let dir = std::env::temp_dir().join(format!("catalog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{backend:?}.toml"));
        let path = file.to_str().unwrap();
        let (ok, out) = run(&["catalog", "export", "--output", path]);
        assert!(ok, "{out}");
        let (ok, out) = run(&["catalog", "apply", path]);
        assert!(
            ok && out.contains("already says this; nothing to publish"),
            "{out}"
        );

        // A new plan and a new price for Pro's monthly seat: a dry run shows both and publishes
        // nothing; applying publishes them as revision 2; applying again changes nothing.
        let text = std::fs::read_to_string(&file).unwrap();
        let edited = text.replacen("unit_amount = \"1200\"", "unit_amount = \"1300\"", 1)
            + "\n[[plans]]\nid = \"scale\"\nname = \"Scale\"\ndescription = \"For scale.\"\n\n\
               [[plans.prices]]\nid = \"scale_monthly\"\nnickname = \"Scale monthly\"\ncurrency = \"EUR\"\n\
               interval = { unit = \"month\", count = 1 }\nmodel = { type = \"flat\", amount = 9900 }\n";
        std::fs::write(&file, edited).unwrap();
        let (ok, out) = run(&["catalog", "apply", "--dry-run", path]);
        assert!(ok, "{out}");
        assert!(out.contains("3 change(s) against revision 1"), "{out}");
        assert!(out.contains("~ price pro_monthly on pro: new version, $13.00 per seat every month (was $12.00 per seat every month)"), "{out}");
        assert!(out.contains("+ plan scale (Scale)"), "{out}");
        assert!(
            out.contains("+ price scale_monthly on scale: €99.00 every month"),
            "{out}"
        );
        assert!(out.contains("dry run: nothing was published"), "{out}");
        let (ok, out) = run(&["catalog", "apply", path]);
        assert!(ok && out.contains("published as revision 2"), "{out}");
        let (ok, out) = run(&["catalog", "apply", path]);
        assert!(ok && out.contains("revision 2) already says this"), "{out}");

        // A bad file: every problem is listed, the command fails, nothing is published.
        let broken = std::fs::read_to_string(&file)
            .unwrap()
            .replace("amount = 9900", "amount = -5")
            .replace("min_quantity = 3", "min_quantity = 900");
        std::fs::write(&file, broken).unwrap();
        let (ok, out) = run(&["catalog", "apply", path]);
        assert!(!ok, "{out}");
        assert!(out.contains("nothing was published"), "{out}");
        assert!(out.contains("plan \"scale\" › price \"scale_monthly\": \"amount\" is -5; amounts must not be negative"), "{out}");
        assert!(out.contains("plan \"team\" › price \"team_monthly\": \"min_quantity\" 900 is above \"max_quantity\" 500"), "{out}");
        let (ok, out) = run(&["catalog", "export"]);
        assert!(ok && out.contains("amount = 9900"), "{out}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test]
async fn the_stripe_emulator_runs_alone() {
    use std::io::{BufRead, BufReader};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = billing_portal("sqlite::memory:")
        .args(["stripe-emulator", "--port", &port.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    let secret = line
        .split_whitespace()
        .find(|w| w.starts_with("sk_test_emu_"))
        .expect("the secret key is printed");
    let other_key = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/v1/customers"))
        .bearer_auth("sk_test_anything")
        .form(&[("email", "a@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(other_key.status(), reqwest::StatusCode::UNAUTHORIZED);
    let customer: serde_json::Value = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/v1/customers"))
        .bearer_auth(secret)
        .form(&[("email", "a@example.com")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(customer["id"].as_str().unwrap().starts_with("cus_"));
    assert_eq!(customer["email"], "a@example.com");
}

/// With a live key nothing that fakes time or publishes demo passwords runs.
#[tokio::test]
async fn a_live_key_refuses_test_clocks_and_the_demo_seed() {
    let database = common::TestDatabase::create(common::Backend::Sqlite)
        .await
        .unwrap();
    let live = |args: &[&str]| {
        billing_portal(&database.url)
            .env_remove("STRIPE_MODE")
            .env("STRIPE_SECRET_KEY", "sk_live_not_a_real_key")
            .env("STRIPE_WEBHOOK_SECRET", "whsec_live")
            .args(args)
            .output()
            .unwrap()
    };
    for args in [
        &["test-clock", "create", "--name", "launch"][..],
        &["test-clock", "advance", "--clock", "tc_x", "--by", "30d"][..],
        &["seed-demo"][..],
    ] {
        let out = live(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("live Stripe key"), "{args:?}: {stderr}");
    }
    let db = billing_portal::store::connect(&database.url).await.unwrap();
    let clocks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM test_clocks")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!((clocks, users), (0, 0));
}
