//! The Stripe webhook inbox: every verified event is stored first, keyed by its id, then processed.
//! A redelivery of a stored event changes nothing.

use super::Db;
use sqlx::Row;

/// Stores an event unless it is already there. Returns whether it was new.
pub async fn record(
    db: &Db,
    id: &str,
    kind: &str,
    created: i64,
    payload: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO stripe_events (id, type, created, payload, received_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(kind)
    .bind(created)
    .bind(payload)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// An event waiting to be processed.
#[derive(Clone, Debug)]
pub struct PendingEvent {
    pub id: String,
    pub kind: String,
    pub payload: String,
}

/// Events not yet processed, oldest first (Stripe's `created`, then arrival).
pub async fn pending(db: &Db, limit: i64) -> Result<Vec<PendingEvent>, sqlx::Error> {
    sqlx::query(
        "SELECT id, type, payload FROM stripe_events WHERE processed_at IS NULL \
         ORDER BY created, received_at, id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(PendingEvent {
            id: r.try_get("id")?,
            kind: r.try_get("type")?,
            payload: r.try_get("payload")?,
        })
    })
    .collect()
}

pub async fn mark_processed(db: &Db, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE stripe_events SET processed_at = $2, attempts = attempts + 1, last_error = NULL \
         WHERE id = $1 AND processed_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn mark_failed(db: &Db, id: &str, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE stripe_events SET attempts = attempts + 1, last_error = $2 WHERE id = $1")
        .bind(id)
        .bind(error)
        .execute(&db.pool)
        .await?;
    Ok(())
}
