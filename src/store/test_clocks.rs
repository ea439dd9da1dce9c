//! Test clocks: an organisation attached to one lives at the clock's time instead of the real
//! one, so renewals, retries and period ends happen when the clock is moved forward.

use super::Db;
use crate::domain::ids::{ClockId, OrgId};
use sqlx::Row;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestClockRow {
    pub id: ClockId,
    pub name: String,
    pub frozen_at: i64,
}

/// Creates a test clock frozen at `frozen_at`, audited as the operator's.
pub async fn create(db: &Db, name: &str, frozen_at: i64, now: i64) -> Result<ClockId, sqlx::Error> {
    let id: ClockId = super::ids::new();
    let query = sqlx::query(
        "INSERT INTO test_clocks (id, name, frozen_at, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&id)
    .bind(name)
    .bind(frozen_at)
    .bind(now);
    let target = format!("test_clock:{id}");
    let note = format!("{name:?} at {frozen_at}");
    super::audit::execute_audited(
        db,
        query,
        &super::audit::AuditEntry {
            note: &note,
            ..super::audit::Actor::cli().did("test_clock_created", &target)
        },
        now,
    )
    .await?;
    Ok(id)
}

pub async fn find(db: &Db, id: &ClockId) -> Result<Option<TestClockRow>, sqlx::Error> {
    sqlx::query("SELECT id, name, frozen_at FROM test_clocks WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| {
            Ok(TestClockRow {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                frozen_at: r.try_get("frozen_at")?,
            })
        })
        .transpose()
}

/// Attaches an organisation to a clock, audited. Returns false when the organisation does not
/// exist.
pub async fn attach(
    db: &Db,
    org_id: &OrgId,
    clock_id: &ClockId,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let done = sqlx::query("UPDATE organizations SET test_clock_id = $2 WHERE id = $1")
        .bind(org_id)
        .bind(clock_id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    let target = format!("test_clock:{clock_id}");
    super::audit::record(
        &mut tx,
        &super::audit::AuditEntry {
            org_id: Some(org_id),
            note: "the organisation now lives at the clock's time",
            ..super::audit::Actor::cli().did("test_clock_attached", &target)
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Moves a clock to `at` (never backwards), audited. Returns false when it would go back.
pub async fn set_time(db: &Db, clock_id: &ClockId, at: i64, now: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let moved =
        sqlx::query("UPDATE test_clocks SET frozen_at = $2 WHERE id = $1 AND frozen_at < $2")
            .bind(clock_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
    if moved.rows_affected() == 1 {
        let target = format!("test_clock:{clock_id}");
        let note = format!("moved to {at}");
        super::audit::record(
            &mut tx,
            &super::audit::AuditEntry {
                note: &note,
                ..super::audit::Actor::system().did("test_clock_moved", &target)
            },
            now,
        )
        .await?;
        tx.commit().await?;
        return Ok(true);
    }
    tx.commit().await?;
    // Already there is fine; only going back is refused.
    Ok(find(db, clock_id).await?.is_some_and(|c| c.frozen_at == at))
}

/// The time an organisation lives at: its test clock's, or `real_now`.
pub async fn org_now(db: &Db, org_id: &OrgId, real_now: i64) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT tc.frozen_at FROM organizations o JOIN test_clocks tc ON tc.id = o.test_clock_id WHERE o.id = $1",
    )
    .bind(org_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(match row {
        Some(r) => r.try_get("frozen_at")?,
        None => real_now,
    })
}

/// The earliest moment after which something is due for the organisations on a clock (a period
/// end or a payment retry), if any is due by `until`.
pub async fn next_due(db: &Db, clock_id: &ClockId, until: i64) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT MIN(t) AS t FROM ( \
           SELECT s.current_period_end AS t FROM subscriptions s JOIN organizations o ON o.id = s.org_id \
             WHERE o.test_clock_id = $1 AND s.status IN ('active', 'trialing', 'past_due') AND s.current_period_end <= $2 \
           UNION ALL \
           SELECT i.next_attempt_at AS t FROM invoices i JOIN organizations o ON o.id = i.org_id \
             WHERE o.test_clock_id = $1 AND i.status = 'open' AND i.next_attempt_at <= $2 \
         ) due",
    )
    .bind(clock_id)
    .bind(until)
    .fetch_one(&db.pool)
    .await?;
    row.try_get::<Option<i64>, _>("t")
}

/// What falls due for a clock's organisations by `until`, as of the clock's time now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DueOnTheWay {
    /// Subscriptions that reach at least one period end.
    pub period_ends: i64,
    /// Open invoices with a payment attempt due.
    pub attempts: i64,
}

pub async fn due_between(
    db: &Db,
    clock_id: &ClockId,
    until: i64,
) -> Result<DueOnTheWay, sqlx::Error> {
    let row = sqlx::query(
        "SELECT \
           (SELECT COUNT(*) FROM subscriptions s JOIN organizations o ON o.id = s.org_id \
             WHERE o.test_clock_id = $1 AND s.status IN ('active', 'trialing', 'past_due') \
             AND s.current_period_end <= $2) AS period_ends, \
           (SELECT COUNT(*) FROM invoices i JOIN organizations o ON o.id = i.org_id \
             WHERE o.test_clock_id = $1 AND i.status = 'open' AND i.next_attempt_at <= $2) AS attempts",
    )
    .bind(clock_id)
    .bind(until)
    .fetch_one(&db.pool)
    .await?;
    Ok(DueOnTheWay {
        period_ends: row.try_get("period_ends")?,
        attempts: row.try_get("attempts")?,
    })
}
