//! The two dialects' migrations give the same tables and columns.
#![cfg(feature = "ssr")]

mod common;

use common::{Backend, TestDatabase};
use sqlx::Row;
use std::collections::BTreeMap;

type Schema = BTreeMap<String, Vec<(String, bool)>>;

async fn schema_of(backend: Backend) -> Option<Schema> {
    let database = TestDatabase::create(backend).await?;
    let db = billing_portal::store::connect(&database.url)
        .await
        .expect("connect");
    billing_portal::store::migrate(&db).await.expect("migrate");
    let rows = match backend {
        Backend::Sqlite => sqlx::query(
            "SELECT m.name AS table_name, p.name AS column_name, p.\"notnull\" AS not_null \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
             ORDER BY m.name, p.cid",
        )
        .fetch_all(&db.pool)
        .await
        .expect("sqlite schema"),
        Backend::Postgres => sqlx::query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name, \
             CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END AS not_null \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%' \
             ORDER BY table_name, ordinal_position",
        )
        .fetch_all(&db.pool)
        .await
        .expect("postgres schema"),
    };
    let mut schema = Schema::new();
    for row in rows {
        let table: String = row.get("table_name");
        let column: String = row.get("column_name");
        let not_null: i64 = row
            .try_get::<i64, _>("not_null")
            .or_else(|_| row.try_get::<i32, _>("not_null").map(i64::from))
            .expect("not_null");
        schema
            .entry(table)
            .or_default()
            .push((column, not_null != 0));
    }
    db.pool.close().await;
    Some(schema)
}

#[tokio::test]
async fn sqlite_and_postgres_have_the_same_tables_and_columns() {
    let sqlite = schema_of(Backend::Sqlite)
        .await
        .expect("sqlite always runs");
    let Some(postgres) = schema_of(Backend::Postgres).await else {
        return;
    };
    assert!(
        sqlite.contains_key("users") && sqlite.contains_key("sessions"),
        "{sqlite:?}"
    );
    // Column order may differ by dialect; names and nullability may not.
    let sorted = |s: &Schema| -> Schema {
        s.iter()
            .map(|(t, cols)| {
                let mut cols = cols.clone();
                cols.sort();
                (t.clone(), cols)
            })
            .collect()
    };
    assert_eq!(sorted(&sqlite), sorted(&postgres));
}
