//! Saved cards (brand and last four only; Stripe keeps the card).

use super::Db;
use crate::domain::ids::OrgId;
use sqlx::Row;

/// The Stripe id of the organisation's default card.
pub async fn default_for_org(db: &Db, org_id: &OrgId) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT id FROM payment_methods WHERE org_id = $1 AND is_default = 1")
        .bind(org_id)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()
}

/// A saved card as the payment methods page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardRow {
    pub id: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
    pub is_default: bool,
}

pub async fn list(db: &Db, org_id: &OrgId) -> Result<Vec<CardRow>, sqlx::Error> {
    sqlx::query(
        "SELECT id, brand, last4, exp_month, exp_year, is_default FROM payment_methods WHERE org_id = $1 \
         ORDER BY is_default DESC, created_at, id",
    )
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(CardRow {
            id: r.try_get("id")?,
            brand: r.try_get("brand")?,
            last4: r.try_get("last4")?,
            exp_month: r.try_get("exp_month")?,
            exp_year: r.try_get("exp_year")?,
            is_default: r.try_get::<i64, _>("is_default")? != 0,
        })
    })
    .collect()
}

/// Makes the stored cards of an organisation match `cards` (Stripe's list): new cards are added,
/// the newest of them becomes the default, and cards Stripe no longer has are removed.
pub async fn sync(
    db: &Db,
    org_id: &OrgId,
    cards: &[super::checkouts::SavedCard],
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let known: Vec<String> = sqlx::query("SELECT id FROM payment_methods WHERE org_id = $1")
        .bind(org_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
    let mut newest_new = None;
    for card in cards {
        if known.contains(&card.id) {
            continue;
        }
        sqlx::query(
            "INSERT INTO payment_methods (id, org_id, brand, last4, exp_month, exp_year, is_default, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&card.id)
        .bind(org_id)
        .bind(&card.brand)
        .bind(&card.last4)
        .bind(card.exp_month)
        .bind(card.exp_year)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        newest_new = Some(card.id.clone());
        let target = format!("payment_method:{}", card.id);
        let note = format!("{} ending {} saved at Stripe", card.brand, card.last4);
        super::audit::record(
            &mut tx,
            &super::audit::AuditEntry {
                org_id: Some(org_id),
                note: &note,
                ..super::audit::Actor::stripe().did("card_added", &target)
            },
            now,
        )
        .await?;
    }
    for id in &known {
        if !cards.iter().any(|c| &c.id == id) {
            sqlx::query("DELETE FROM payment_methods WHERE id = $1 AND org_id = $2")
                .bind(id)
                .bind(org_id)
                .execute(&mut *tx)
                .await?;
            let target = format!("payment_method:{id}");
            super::audit::record(
                &mut tx,
                &super::audit::AuditEntry {
                    org_id: Some(org_id),
                    note: "no longer at Stripe",
                    ..super::audit::Actor::stripe().did("card_removed", &target)
                },
                now,
            )
            .await?;
        }
    }
    let has_default = has_default(&mut tx, org_id).await?;
    let default = newest_new.or_else(|| {
        (!has_default)
            .then(|| cards.first().map(|c| c.id.clone()))
            .flatten()
    });
    if let Some(id) = default {
        set_default_in_tx(&mut tx, org_id, &id).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn has_default(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    org_id: &OrgId,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM payment_methods WHERE org_id = $1 AND is_default = 1",
    )
    .bind(org_id)
    .fetch_one(&mut **tx)
    .await?
    .try_get("n")?;
    Ok(n > 0)
}

async fn set_default_in_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    org_id: &OrgId,
    id: &str,
) -> Result<bool, sqlx::Error> {
    let exists: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM payment_methods WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org_id)
            .fetch_one(&mut **tx)
            .await?
            .try_get("n")?;
    if exists == 0 {
        return Ok(false);
    }
    sqlx::query("UPDATE payment_methods SET is_default = CASE WHEN id = $2 THEN 1 ELSE 0 END WHERE org_id = $1")
        .bind(org_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(true)
}

/// Makes card `id` the organisation's default, audited. Returns false when it is not theirs.
pub async fn set_default(
    db: &Db,
    org_id: &OrgId,
    id: &str,
    by: &super::audit::Actor,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let done = set_default_in_tx(&mut tx, org_id, id).await?;
    if done {
        let target = format!("payment_method:{id}");
        super::audit::record(
            &mut tx,
            &super::audit::AuditEntry {
                org_id: Some(org_id),
                ..by.did("card_made_default", &target)
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(done)
}

/// Removes a card, audited; when it was the default, the oldest remaining card becomes the
/// default.
pub async fn remove(
    db: &Db,
    org_id: &OrgId,
    id: &str,
    by: &super::audit::Actor,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let removed = sqlx::query("DELETE FROM payment_methods WHERE id = $1 AND org_id = $2")
        .bind(id)
        .bind(org_id)
        .execute(&mut *tx)
        .await?;
    if removed.rows_affected() == 1 {
        let target = format!("payment_method:{id}");
        super::audit::record(
            &mut tx,
            &super::audit::AuditEntry {
                org_id: Some(org_id),
                ..by.did("card_removed", &target)
            },
            now,
        )
        .await?;
    }
    let has_default = has_default(&mut tx, org_id).await?;
    if !has_default {
        let next: Option<String> = sqlx::query(
            "SELECT id FROM payment_methods WHERE org_id = $1 ORDER BY created_at, id LIMIT 1",
        )
        .bind(org_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()?;
        if let Some(next) = next {
            set_default_in_tx(&mut tx, org_id, &next).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
