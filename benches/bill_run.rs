//! Bill-run throughput: N subscriptions (default 100,000) on PostgreSQL all due at the same
//! instant, renewed and charged against the built-in Stripe emulator over HTTP. Prints invoices
//! per second, the time of each phase and the peak memory of the process (which also holds the
//! emulator's state).
//!
//! Run with `cargo bench --features ssr --bench bill_run`. Settings: `BENCH_SUBSCRIPTIONS`
//! (default 100000), `BENCH_CONCURRENCY` (default 16), `BENCH_POSTGRES_URL` (default
//! postgres://postgres@127.0.0.1:5432; a database `bp_bench_<pid>` is made and dropped), or
//! `BENCH_DATABASE=sqlite` for a temporary SQLite file instead.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use billing_portal::domain::clock::Clock;
use billing_portal::server::{self, Config};
use billing_portal::services::bill_run::{self, RunOptions};
use chrono::{DateTime, TimeZone, Utc};
use sqlx::migrate::MigrateDatabase;
use sqlx::Row;
use stripe_emulator::EmulatorConfig;

struct SettableClock(AtomicI64);

impl Clock for SettableClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_opt(self.0.load(Ordering::SeqCst), 0)
            .single()
            .expect("valid time")
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident memory of this process, from /proc (Linux), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    sqlx::any::install_default_drivers();
    let n: usize = env_or("BENCH_SUBSCRIPTIONS", 100_000);
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 16);
    let sqlite = std::env::var("BENCH_DATABASE").as_deref() == Ok("sqlite");
    let (url, cleanup): (String, Box<dyn Fn()>) = if sqlite {
        let path = std::env::temp_dir().join(format!("bp_bench_{}.db", std::process::id()));
        let p = path.clone();
        (
            format!("sqlite://{}?mode=rwc", path.display()),
            Box::new(move || {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
                }
            }),
        )
    } else {
        let server = std::env::var("BENCH_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let url = format!("{server}/bp_bench_{}", std::process::id());
        sqlx::Any::create_database(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot create a bench database at {server}: {e}"));
        let u = url.clone();
        (
            url,
            Box::new(move || {
                let u = u.clone();
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    let _ = rt.block_on(sqlx::Any::force_drop_database(&u));
                })
                .join();
            }),
        )
    };
    println!(
        "bill_run bench: {n} subscriptions on {}, concurrency {concurrency}",
        if sqlite { "SQLite" } else { "PostgreSQL" }
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stripe = stripe_emulator::start(listener, EmulatorConfig::default())
        .await
        .unwrap();
    let base = stripe.base_url.clone();
    let secret = stripe.secret.clone();
    let config = Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(url.clone()),
        "STRIPE_SECRET_KEY" => Some(secret.clone()),
        "STRIPE_WEBHOOK_SECRET" => Some("whsec_bench".into()),
        "STRIPE_API_BASE" => Some(base.clone()),
        "BILL_RUN_INTERVAL_SECS" => Some("0".into()),
        _ => None,
    })
    .unwrap();
    let start = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    let clock = Arc::new(SettableClock(AtomicI64::new(start)));
    let state = server::build_state(config, clock.clone()).await.unwrap();
    billing_portal::services::seed::seed_catalog(&state)
        .await
        .unwrap();

    // Customers with a saved card at the emulator, then organisations and subscriptions all
    // renewing at the same instant, written in multi-row inserts.
    let t = Instant::now();
    let http = reqwest::Client::new();
    let mut fixtures = Vec::with_capacity(n);
    while fixtures.len() < n {
        let count = (n - fixtures.len()).min(20_000);
        let batch: Vec<serde_json::Value> = http
            .post(format!("{base}/_emulator/fixtures/customers"))
            .bearer_auth(&secret)
            .json(&serde_json::json!({ "count": count, "card": "4242424242424242" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        fixtures.extend(batch);
    }
    let period_end = Utc
        .with_ymd_and_hms(2026, 2, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    for (chunk_no, chunk) in fixtures.chunks(500).enumerate() {
        let mut tx = state.db.pool.begin().await.unwrap();
        for (table, columns, per_row) in [
            ("organizations", "id, name, created_at, stripe_customer_id", 4),
            (
                "subscriptions",
                "id, org_id, price_id, status, quantity, current_period_start, current_period_end, created_at, billing_anchor",
                9,
            ),
            (
                "payment_methods",
                "id, org_id, brand, last4, exp_month, exp_year, is_default, created_at",
                8,
            ),
        ] {
            let placeholders: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let cols: Vec<String> =
                        (1..=per_row).map(|c| format!("${}", r * per_row + c)).collect();
                    format!("({})", cols.join(", "))
                })
                .collect();
            let sql = format!("INSERT INTO {table} ({columns}) VALUES {}", placeholders.join(", "));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (i, f) in chunk.iter().enumerate() {
                let k = chunk_no * 500 + i;
                let org = format!("org_bench_{k}");
                let customer = f["customer"].as_str().unwrap().to_string();
                let method = f["payment_method"].as_str().unwrap().to_string();
                query = match table {
                    "organizations" => query
                        .bind(org)
                        .bind(format!("Bench {k}"))
                        .bind(start)
                        .bind(customer),
                    "subscriptions" => query
                        .bind(format!("sub_bench_{k}"))
                        .bind(org)
                        .bind("pro_monthly")
                        .bind("active")
                        .bind(1 + (k % 5) as i64)
                        .bind(start)
                        .bind(period_end)
                        .bind(start)
                        .bind(start),
                    _ => query
                        .bind(method)
                        .bind(org)
                        .bind("visa")
                        .bind("4242")
                        .bind(12_i64)
                        .bind(2034_i64)
                        .bind(1_i64)
                        .bind(start),
                };
            }
            query.execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    println!(
        "setup: {n} subscriptions in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let rss_before = peak_rss_mib();

    // Everything falls due at once.
    clock.0.store(period_end, Ordering::SeqCst);
    let options = RunOptions {
        concurrency,
        batch: 1000,
        ..RunOptions::for_state(&state)
    };
    let t = Instant::now();
    let summary = bill_run::run_due(&state, &options, &|_| {}).await;
    let secs = t.elapsed().as_secs_f64();
    assert!(
        summary.errors.is_empty(),
        "{:?}",
        &summary.errors[..summary.errors.len().min(5)]
    );
    let invoices: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM invoices WHERE billing_reason = 'subscription_cycle' AND status = 'paid'",
    )
    .fetch_one(&state.db.pool)
    .await
    .unwrap()
    .get("n");
    assert_eq!(
        invoices as usize, n,
        "every subscription renewed and paid once"
    );
    println!("bill run: {summary}");
    println!(
        "bill run: {n} invoices created and charged in {secs:.1}s = {:.0} invoices/s",
        n as f64 / secs
    );
    if let (Some(before), Some(peak)) = (rss_before, peak_rss_mib()) {
        println!(
            "memory: peak RSS {peak:.0} MiB for the whole process (database client, bill run and the in-process emulator holding every customer, payment and event); {before:.0} MiB before the run"
        );
    }
    state.db.pool.close().await;
    stripe.shutdown();
    cleanup();
}
