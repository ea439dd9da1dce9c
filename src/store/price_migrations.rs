//! Price migrations: a request to move one price version's subscribers to another at renewal,
//! its approval by a second person, and each subscriber's pending move.

use super::audit::{Actor, AuditEntry};
use super::{new_id, Db};
use crate::domain::ids::{OrgId, SubscriptionId};
use sqlx::Row;

/// A live subscriber of a price, as a migration preview lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscriber {
    pub subscription_id: SubscriptionId,
    pub org_id: OrgId,
    pub org_name: String,
    pub quantity: i64,
    pub current_period_end: i64,
}

/// The live subscriptions on `price_id` (active, trialing or past due), by organisation name.
pub async fn cohort(db: &Db, price_id: &str) -> Result<Vec<Subscriber>, sqlx::Error> {
    sqlx::query(
        "SELECT s.id, s.org_id, o.name, s.quantity, s.current_period_end FROM subscriptions s \
         JOIN organizations o ON o.id = s.org_id \
         WHERE s.price_id = $1 AND s.status IN ('active', 'trialing', 'past_due') ORDER BY o.name, s.id",
    )
    .bind(price_id)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(Subscriber {
            subscription_id: r.try_get("id")?,
            org_id: r.try_get("org_id")?,
            org_name: r.try_get("name")?,
            quantity: r.try_get("quantity")?,
            current_period_end: r.try_get("current_period_end")?,
        })
    })
    .collect()
}

/// One migration request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    pub id: String,
    pub from_price_id: String,
    pub to_price_id: String,
    pub not_before: Option<i64>,
    pub status: String,
    pub requested_by: String,
    pub cohort_size: i64,
    pub decided_by: Option<String>,
    pub created_at: i64,
    /// Who it moves, as stored ([`crate::domain::cohort::Cohort::to_stored`]).
    pub cohort: String,
    /// Moves each subscriber on `not_before` itself, mid-period, with the rest of the period
    /// prorated on the next invoice; otherwise at the first renewal on or after it.
    pub prorate_on_date: bool,
}

fn migration_from_row(r: &sqlx::any::AnyRow) -> Result<Migration, sqlx::Error> {
    Ok(Migration {
        id: r.try_get("id")?,
        from_price_id: r.try_get("from_price_id")?,
        to_price_id: r.try_get("to_price_id")?,
        not_before: r.try_get("not_before")?,
        status: r.try_get("status")?,
        requested_by: r.try_get("requested_by")?,
        cohort_size: r.try_get("cohort_size")?,
        decided_by: r.try_get("decided_by")?,
        created_at: r.try_get("created_at")?,
        cohort: r.try_get("cohort")?,
        prorate_on_date: r.try_get::<i64, _>("prorate_on_date")? != 0,
    })
}

const COLUMNS: &str = "id, from_price_id, to_price_id, not_before, status, requested_by, cohort_size, decided_by, created_at, cohort, prorate_on_date";

/// The newest migrations first.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<Migration>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM price_migrations ORDER BY created_at DESC, id DESC LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(migration_from_row)
    .collect()
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<Migration>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM price_migrations WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(migration_from_row)
    .transpose()
}

/// A migration as asked for.
pub struct NewMigration<'a> {
    pub from_price_id: &'a str,
    pub to_price_id: &'a str,
    pub not_before: Option<i64>,
    /// How many subscribers the preview listed.
    pub cohort_size: i64,
    pub cohort: &'a crate::domain::cohort::Cohort,
    pub prorate_on_date: bool,
    /// The subscriptions the preview listed, which approval moves.
    pub members: &'a [SubscriptionId],
}

/// Records a request (audited with the preview's figures in `note`); returns its id.
pub async fn request(
    db: &Db,
    new: &NewMigration<'_>,
    actor: &Actor,
    note: &str,
    now: i64,
) -> Result<String, sqlx::Error> {
    let NewMigration {
        from_price_id,
        to_price_id,
        not_before,
        cohort_size,
        cohort,
        prorate_on_date,
        members,
    } = *new;
    let id = new_id("pm");
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO price_migrations (id, from_price_id, to_price_id, not_before, status, requested_by, cohort_size, created_at, cohort, prorate_on_date) \
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(from_price_id)
    .bind(to_price_id)
    .bind(not_before)
    .bind(&actor.name)
    .bind(cohort_size)
    .bind(now)
    .bind(cohort.to_stored())
    .bind(i64::from(prorate_on_date))
    .execute(&mut *tx)
    .await?;
    for member in members {
        sqlx::query(
            "INSERT INTO price_migration_members (migration_id, subscription_id) VALUES ($1, $2)",
        )
        .bind(&id)
        .bind(member)
        .execute(&mut *tx)
        .await?;
    }
    let target = format!("price_migration:{id}");
    super::audit::record(
        &mut tx,
        &AuditEntry {
            note,
            ..actor.did("price_migration_request", &target)
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A customer to tell about an approved migration.
pub struct Notice {
    pub org_id: OrgId,
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// The subscriptions a migration's request listed that are still live on its old version.
pub async fn members_still_on(
    db: &Db,
    id: &str,
    from_price_id: &str,
) -> Result<Vec<SubscriptionId>, sqlx::Error> {
    sqlx::query(
        "SELECT s.id FROM price_migration_members m JOIN subscriptions s ON s.id = m.subscription_id \
         WHERE m.migration_id = $1 AND s.price_id = $2 AND s.status IN ('active', 'trialing', 'past_due') ORDER BY s.id",
    )
    .bind(id)
    .bind(from_price_id)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| r.try_get("id"))
    .collect()
}

/// Approves or rejects a pending migration, once (a decided one is left as it is: `false`). On
/// approval, each of `moves` gets the move and each notice is queued, in the same transaction.
pub async fn decide(
    db: &Db,
    id: &str,
    approve: bool,
    moves: &[SubscriptionId],
    notices: &[Notice],
    actor: &Actor,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let decided = sqlx::query(
        "UPDATE price_migrations SET status = $1, decided_by = $2, decided_at = $3 \
         WHERE id = $4 AND status = 'pending'",
    )
    .bind(if approve { "approved" } else { "rejected" })
    .bind(&actor.name)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if decided == 0 {
        return Ok(false);
    }
    if approve {
        let migration = sqlx::query(
            "SELECT from_price_id, to_price_id, not_before, prorate_on_date FROM price_migrations WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let from: String = migration.try_get("from_price_id")?;
        let to: String = migration.try_get("to_price_id")?;
        let not_before: Option<i64> = migration.try_get("not_before")?;
        let on_date: i64 = migration.try_get("prorate_on_date")?;
        for sub in moves {
            sqlx::query(
                "INSERT INTO subscription_migrations (subscription_id, migration_id, from_price_id, to_price_id, not_before, prorate_on_date) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (subscription_id) DO UPDATE SET migration_id = $2, \
                 from_price_id = $3, to_price_id = $4, not_before = $5, prorate_on_date = $6, applied_at = NULL",
            )
            .bind(sub)
            .bind(id)
            .bind(&from)
            .bind(&to)
            .bind(not_before)
            .bind(on_date)
            .execute(&mut *tx)
            .await?;
        }
        for notice in notices {
            super::members::queue_email(
                &mut tx,
                Some(&notice.org_id),
                &super::members::OutgoingEmail {
                    to: &notice.to,
                    subject: &notice.subject,
                    body: &notice.body,
                },
                now,
            )
            .await?;
        }
    }
    let target = format!("price_migration:{id}");
    super::audit::record(
        &mut tx,
        &actor.did(
            if approve {
                "price_migration_approve"
            } else {
                "price_migration_reject"
            },
            &target,
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// A subscription's move that has not happened yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingMove {
    pub migration_id: String,
    pub from_price_id: String,
    pub to_price_id: String,
    pub not_before: Option<i64>,
    /// Moves on `not_before` itself, mid-period (see [`Migration::prorate_on_date`]).
    pub prorate_on_date: bool,
}

pub async fn pending_for(
    db: &Db,
    subscription_id: &SubscriptionId,
) -> Result<Option<PendingMove>, sqlx::Error> {
    sqlx::query(
        "SELECT migration_id, from_price_id, to_price_id, not_before, prorate_on_date FROM subscription_migrations \
         WHERE subscription_id = $1 AND applied_at IS NULL",
    )
    .bind(subscription_id)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| {
        Ok(PendingMove {
            migration_id: r.try_get("migration_id")?,
            from_price_id: r.try_get("from_price_id")?,
            to_price_id: r.try_get("to_price_id")?,
            not_before: r.try_get("not_before")?,
            prorate_on_date: r.try_get::<i64, _>("prorate_on_date")? != 0,
        })
    })
    .transpose()
}

/// Marks a subscription's move done (after the renewal that made it).
pub async fn mark_applied(
    db: &Db,
    subscription_id: &SubscriptionId,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE subscription_migrations SET applied_at = $1 WHERE subscription_id = $2 AND applied_at IS NULL",
    )
    .bind(now)
    .bind(subscription_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The subscriptions whose migration on a date has come, at their organisation's time, within
/// their current period, while they are still on the old version (only organisations on
/// `test_clock`, when given).
pub async fn due_on_date(
    db: &Db,
    real_now: i64,
    test_clock: Option<&str>,
) -> Result<Vec<SubscriptionId>, sqlx::Error> {
    sqlx::query(
        "SELECT s.id FROM subscription_migrations sm JOIN subscriptions s ON s.id = sm.subscription_id \
         JOIN organizations o ON o.id = s.org_id LEFT JOIN test_clocks tc ON tc.id = o.test_clock_id \
         WHERE sm.applied_at IS NULL AND sm.prorate_on_date = 1 AND s.price_id = sm.from_price_id \
           AND s.status IN ('active', 'trialing', 'past_due') \
           AND (s.scheduled_price_id IS NULL OR s.scheduled_price_id = s.price_id) \
           AND sm.not_before <= COALESCE(tc.frozen_at, $1) \
           AND sm.not_before >= s.current_period_start AND sm.not_before < s.current_period_end \
           AND ($2 = '' OR o.test_clock_id = $2) ORDER BY sm.not_before, s.id",
    )
    .bind(real_now)
    .bind(test_clock.unwrap_or(""))
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| r.try_get("id"))
    .collect()
}

/// Moves a subscription onto its migration's new price now (mid-period), if it is still at
/// `sub.version` and the move is still pending: the new price (and any scheduled seat change
/// on the old one follows it), the proration lines for the next invoice, the change record and
/// the move marked done, in one transaction. `false`: someone changed it first.
pub async fn migrate_now(
    db: &Db,
    sub: &crate::store::subscriptions::SubscriptionRow,
    pending: &PendingMove,
    next_invoice: &[crate::domain::InvoiceLine],
    change: &super::subscriptions::ChangeRecord<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE subscriptions SET {}, price_id = $3, \
         scheduled_price_id = CASE WHEN scheduled_price_id = price_id THEN $3 ELSE scheduled_price_id END, \
         version = version + 1 WHERE id = $1 AND version = $2",
        super::subscriptions::PIN_TERMS
    )))
    .bind(&sub.id)
    .bind(sub.version)
    .bind(&pending.to_price_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    // The move read, not one a later approval put in its place.
    let marked = sqlx::query(
        "UPDATE subscription_migrations SET applied_at = $1 WHERE subscription_id = $2 AND applied_at IS NULL \
         AND migration_id = $3 AND to_price_id = $4",
    )
    .bind(now)
    .bind(&sub.id)
    .bind(&pending.migration_id)
    .bind(&pending.to_price_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated != 1 || marked != 1 {
        return Ok(false);
    }
    super::pending_lines::add_in_tx(&mut tx, &sub.id, &sub.org_id, next_invoice, now).await?;
    super::subscriptions::record_change(&mut tx, sub, change, now).await?;
    tx.commit().await?;
    Ok(true)
}
