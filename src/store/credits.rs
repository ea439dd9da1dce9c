//! Account credit: an append-only ledger per organisation and currency. Grants are positive
//! (a credit note, a downgrade's unused time, support's goodwill), consumption by invoices is
//! negative; the balance is the sum and never goes below zero.

use super::{new_id, Db};
use crate::domain::ids::{CreditNoteId, InvoiceId, OrgId};
use crate::domain::{Currency, Money};
use sqlx::Row;

/// One ledger entry.
pub struct CreditEntry<'a> {
    pub org_id: &'a OrgId,
    pub currency: Currency,
    /// Signed minor units: positive grants credit, negative uses it.
    pub amount: i64,
    pub reason: &'a str,
    pub invoice_id: Option<&'a InvoiceId>,
    pub credit_note_id: Option<&'a CreditNoteId>,
    /// Who caused it: a customer's or staff member's email, or `system`.
    pub actor: &'a str,
}

pub async fn record_in_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    entry: &CreditEntry<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO credit_ledger (id, org_id, currency, amount, reason, invoice_id, credit_note_id, actor, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new_id("cbt"))
    .bind(entry.org_id)
    .bind(entry.currency.code())
    .bind(entry.amount)
    .bind(entry.reason)
    .bind(entry.invoice_id)
    .bind(entry.credit_note_id)
    .bind(entry.actor)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const BALANCE: &str =
    "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS balance FROM credit_ledger WHERE org_id = $1 AND currency = $2";

/// The balance in minor units, read inside a transaction that is about to use it.
pub async fn balance_in_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    org_id: &OrgId,
    currency: Currency,
) -> Result<i64, sqlx::Error> {
    sqlx::query(BALANCE)
        .bind(org_id)
        .bind(currency.code())
        .fetch_one(&mut **tx)
        .await?
        .try_get("balance")
}

/// The organisation's credit in `currency`.
pub async fn balance(db: &Db, org_id: &OrgId, currency: Currency) -> Result<Money, sqlx::Error> {
    let minor: i64 = sqlx::query(BALANCE)
        .bind(org_id)
        .bind(currency.code())
        .fetch_one(&db.pool)
        .await?
        .try_get("balance")?;
    Ok(Money::from_minor(minor, currency))
}

/// Grants account credit on a staff member's decision, with its audit entry, together.
pub async fn grant_audited(
    db: &Db,
    entry: &CreditEntry<'_>,
    audit: &super::audit::AuditEntry<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    record_in_tx(&mut tx, entry, now).await?;
    super::audit::append_in_tx(&mut tx, db.dialect, audit, now).await?;
    tx.commit().await?;
    Ok(())
}
