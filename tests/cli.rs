//! The binary's commands: configuration errors, migrate, seed-demo, create-staff.
#![cfg(feature = "ssr")]

mod common;

use std::process::Command;

fn billing_portal(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_billing-portal"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url);
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
    let customer: serde_json::Value = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/v1/customers"))
        .bearer_auth("sk_test_anything")
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
