//! Proration lines waiting for a subscription's next invoice: written in the transaction of the
//! change that leaves them, billed once by the renewal (or the final invoice when paid service
//! stops) in the transaction that writes that invoice.

use super::{new_id, Db};
use crate::domain::ids::{InvoiceId, OrgId, SubscriptionId};
use crate::domain::InvoiceLine;
use sqlx::Row;

/// A line waiting for the next invoice.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingLine {
    pub id: String,
    pub line: InvoiceLine,
}

/// Leaves `lines` for the subscription's next invoice.
pub async fn add_in_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    subscription_id: &SubscriptionId,
    org_id: &OrgId,
    lines: &[InvoiceLine],
    now: i64,
) -> Result<(), sqlx::Error> {
    // Lines keep the order they were left in, across changes: each takes the next place.
    let next: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(seq), -1) + 1 AS BIGINT) FROM pending_invoice_lines WHERE subscription_id = $1",
    )
    .bind(subscription_id)
    .fetch_one(&mut **tx)
    .await?;
    for (i, line) in lines.iter().enumerate() {
        let seq = next + i as i64;
        let json = serde_json::to_string(line).map_err(|e| sqlx::Error::Encode(e.into()))?;
        sqlx::query(
            "INSERT INTO pending_invoice_lines (id, subscription_id, org_id, currency, amount, line, created_at, seq) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(new_id("pil"))
        .bind(subscription_id)
        .bind(org_id)
        .bind(line.amount.currency().code())
        .bind(line.amount.minor_units())
        .bind(json)
        .bind(now)
        .bind(seq)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The lines the subscription's next invoice bills, in the order they were left.
pub async fn open_for(
    db: &Db,
    subscription_id: &SubscriptionId,
) -> Result<Vec<PendingLine>, sqlx::Error> {
    sqlx::query(
        "SELECT id, line FROM pending_invoice_lines WHERE subscription_id = $1 AND settled_at IS NULL \
         ORDER BY seq",
    )
    .bind(subscription_id)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        let json: String = r.try_get("line")?;
        Ok(PendingLine {
            id: r.try_get("id")?,
            line: serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(e.into()))?,
        })
    })
    .collect()
}

/// Marks `ids` billed by `invoice_id` (none when the invoice came to nothing). `false` when one
/// of them was billed already, so the caller's transaction must not go on.
pub async fn settle_in_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ids: &[String],
    invoice_id: Option<&InvoiceId>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    for id in ids {
        let settled = sqlx::query(
            "UPDATE pending_invoice_lines SET invoice_id = $1, settled_at = $2 WHERE id = $3 AND settled_at IS NULL",
        )
        .bind(invoice_id)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if settled != 1 {
            return Ok(false);
        }
    }
    Ok(true)
}
