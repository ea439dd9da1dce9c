//! Usage ingest throughput on PostgreSQL: N events (default 1,000,000), one in ten a repeat of an
//! earlier event, sent in batches of 1,000 through `POST /api/v1/usage-events` over loopback by
//! concurrent clients, then checked: the count in the database must be exactly the unique events.
//! In the same run, the same rows go into a table of the same columns with a raw `COPY`, and the
//! bench prints both rates and their ratio.
//!
//! Run with `cargo bench --features ssr --bench usage_ingest`. Settings: `BENCH_EVENTS` (default
//! 1000000), `BENCH_CONCURRENCY` (default 4), `BENCH_CUSTOMERS` (default 100),
//! `BENCH_POSTGRES_URL` (default postgres://postgres@127.0.0.1:5432; a database
//! `bp_bench_<pid>` is made and dropped).

use std::sync::Arc;
use std::time::Instant;

use billing_portal::server::{self, Config};
use futures::StreamExt;
use sqlx::migrate::MigrateDatabase;
use sqlx::Row;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The i-th event of the run: (customer, id, quantity, timestamp). Every tenth one (i ending in
/// 9) repeats an earlier event whole: one about half-way back, itself not a repeat.
fn event(i: usize, customers: usize, now: i64) -> (String, String, i64, i64) {
    let unique = if i % 10 == 9 {
        let earlier = i / 2;
        if earlier % 10 == 9 {
            earlier - 1
        } else {
            earlier
        }
    } else {
        i
    };
    (
        format!("org_bench_{}", unique % customers),
        format!("evt_{unique}"),
        1 + (unique % 7) as i64,
        now - 3600 + (unique % 3600) as i64,
    )
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    sqlx::any::install_default_drivers();
    let n: usize = env_or("BENCH_EVENTS", 1_000_000);
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 4);
    let customers: usize = env_or("BENCH_CUSTOMERS", 100);
    let server_url = std::env::var("BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let url = format!("{server_url}/bp_bench_{}", std::process::id());
    sqlx::Any::create_database(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot create a bench database at {server_url}: {e}"));
    println!(
        "usage_ingest bench: {n} events ({} repeats) for {customers} customers on PostgreSQL, batches of 1000, {concurrency} concurrent clients",
        n / 10
    );

    let config = Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(url.clone()),
        "BILL_RUN_INTERVAL_SECS" => Some("0".into()),
        "LISTEN_ADDR" => Some("127.0.0.1:0".into()),
        "STRIPE_MODE" => Some("emulator".into()),
        _ => None,
    })
    .unwrap();
    let state = server::build_state(config, Arc::new(server::SystemClock))
        .await
        .unwrap();
    let now = state.now();
    billing_portal::services::seed::seed_catalog(&state)
        .await
        .unwrap();
    for chunk in (0..customers).collect::<Vec<_>>().chunks(500) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| format!("(${}, ${}, ${})", r * 3 + 1, r * 3 + 2, r * 3 + 3))
            .collect();
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO organizations (id, name, created_at) VALUES {}",
            values.join(", ")
        )));
        for k in chunk {
            q = q
                .bind(format!("org_bench_{k}"))
                .bind(format!("Bench {k}"))
                .bind(now);
        }
        q.execute(&state.db.pool).await.unwrap();
    }
    let (_, key) = billing_portal::store::usage::create_key(
        &state.db,
        None,
        "bench",
        &billing_portal::store::audit::Actor::cli(),
        now,
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(billing_portal::http::serve(listener, state.clone()));

    // The batches, serialised before the clock starts.
    let bodies: Vec<String> = (0..n)
        .collect::<Vec<_>>()
        .chunks(1000)
        .map(|chunk| {
            let events: Vec<serde_json::Value> = chunk
                .iter()
                .map(|&i| {
                    let (customer, id, quantity, at) = event(i, customers, now);
                    serde_json::json!({"id": id, "customer": customer, "meter": "build_minutes",
                        "quantity": quantity, "timestamp": at, "properties": {"repo": "api"}})
                })
                .collect();
            serde_json::json!({ "events": events }).to_string()
        })
        .collect();
    let http = reqwest::Client::new();
    let endpoint = format!("http://{addr}/api/v1/usage-events");
    let t = Instant::now();
    let results: Vec<(i64, i64, i64)> = futures::stream::iter(bodies)
        .map(|body| {
            let http = http.clone();
            let endpoint = endpoint.clone();
            let key = key.clone();
            async move {
                let response: serde_json::Value = http
                    .post(&endpoint)
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("POST")
                    .json()
                    .await
                    .expect("JSON");
                (
                    response["accepted"].as_i64().expect("accepted"),
                    response["duplicates"].as_i64().expect("duplicates"),
                    response["rejected"].as_i64().expect("rejected"),
                )
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let api_secs = t.elapsed().as_secs_f64();
    let accepted: i64 = results.iter().map(|r| r.0).sum();
    let duplicates: i64 = results.iter().map(|r| r.1).sum();
    let rejected: i64 = results.iter().map(|r| r.2).sum();
    let stored: i64 = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM usage_events")
        .fetch_one(&state.db.pool)
        .await
        .unwrap()
        .get("n");
    let unique = (n - n / 10) as i64;
    println!(
        "API: {n} events in {api_secs:.1} s = {:.0} events/s; accepted {accepted}, duplicates {duplicates}, rejected {rejected}; stored {stored}",
        n as f64 / api_secs
    );
    assert_eq!(rejected, 0);
    assert_eq!(accepted, unique, "every unique event accepted once");
    assert_eq!(
        duplicates,
        (n / 10) as i64,
        "every repeat reported as a duplicate"
    );
    assert_eq!(stored, unique, "the count in the database is exact");

    // The same rows with a raw COPY into a table of the same columns (no keys, no checks).
    let pg = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE usage_events_copy (LIKE usage_events)")
        .execute(&pg)
        .await
        .unwrap();
    let mut csv = String::with_capacity(n * 80);
    for i in 0..n {
        let (customer, id, quantity, at) = event(i, customers, now);
        csv.push_str(&format!(
            "{customer},{id},build_minutes,{quantity},{at},\"{{\"\"repo\"\": \"\"api\"\"}}\",{now}\n"
        ));
    }
    let t = Instant::now();
    let mut conn = pg.acquire().await.unwrap();
    let mut copy = conn
        .copy_in_raw(
            "COPY usage_events_copy (org_id, event_id, meter_id, quantity, occurred_at, properties, received_at) \
             FROM STDIN WITH (FORMAT csv)",
        )
        .await
        .unwrap();
    for piece in csv.as_bytes().chunks(1 << 20) {
        copy.send(piece).await.unwrap();
    }
    let copied = copy.finish().await.unwrap();
    let copy_secs = t.elapsed().as_secs_f64();
    drop(conn);
    println!(
        "COPY: {copied} rows in {copy_secs:.1} s = {:.0} rows/s",
        n as f64 / copy_secs
    );
    println!(
        "ratio: the API ingests at {:.1}% of raw COPY's rate ({:.1}× slower)",
        100.0 * copy_secs / api_secs,
        api_secs / copy_secs
    );
    pg.close().await;
    state.db.pool.close().await;
    let _ = sqlx::Any::force_drop_database(&url).await;
}
