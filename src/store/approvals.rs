//! Requests for money actions above the approval threshold, decided by a second staff member.

use super::{new_id, Db};
use sqlx::Row;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalRow {
    pub id: String,
    pub kind: String,
    pub org_id: String,
    pub invoice_id: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub reason_code: String,
    pub note: String,
    pub request_key: String,
    pub requested_by: String,
    pub status: String,
    pub decided_by: Option<String>,
    pub created_at: i64,
}

pub struct NewApproval<'a> {
    /// `refund` (of an invoice) or `credit` (to the account).
    pub kind: &'a str,
    pub org_id: &'a str,
    pub invoice_id: Option<&'a str>,
    pub amount: i64,
    pub currency: &'a str,
    pub reason_code: &'a str,
    pub note: &'a str,
    pub request_key: &'a str,
    pub requested_by: &'a str,
}

/// Records a pending request with its audit entry. A second submission of the same form (same
/// key) is refused by the unique key.
pub async fn request(
    db: &Db,
    new: &NewApproval<'_>,
    audit: &super::audit::AuditEntry<'_>,
    now: i64,
) -> Result<String, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let id = new_id("apr");
    sqlx::query(
        "INSERT INTO approval_requests (id, kind, org_id, invoice_id, amount, currency, reason_code, note, request_key, \
         requested_by, status, created_at) VALUES ($1, $11, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10)",
    )
    .bind(&id)
    .bind(new.org_id)
    .bind(new.invoice_id)
    .bind(new.amount)
    .bind(new.currency)
    .bind(new.reason_code)
    .bind(new.note)
    .bind(new.request_key)
    .bind(new.requested_by)
    .bind(now)
    .bind(new.kind)
    .execute(&mut *tx)
    .await?;
    super::audit::append_in_tx(&mut tx, db.dialect, audit, now).await?;
    tx.commit().await?;
    Ok(id)
}

const COLUMNS: &str = "id, kind, org_id, invoice_id, amount, currency, reason_code, note, request_key, requested_by, \
    status, decided_by, created_at";

fn from_row(r: sqlx::any::AnyRow) -> Result<ApprovalRow, sqlx::Error> {
    Ok(ApprovalRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        org_id: r.try_get("org_id")?,
        invoice_id: r.try_get("invoice_id")?,
        amount: r.try_get("amount")?,
        currency: r.try_get("currency")?,
        reason_code: r.try_get("reason_code")?,
        note: r.try_get("note")?,
        request_key: r.try_get("request_key")?,
        requested_by: r.try_get("requested_by")?,
        status: r.try_get("status")?,
        decided_by: r.try_get("decided_by")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn find(db: &Db, id: &str) -> Result<Option<ApprovalRow>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM approval_requests WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .map(from_row)
    .transpose()
}

pub async fn by_key(db: &Db, key: &str) -> Result<Option<ApprovalRow>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM approval_requests WHERE request_key = $1"
    )))
    .bind(key)
    .fetch_optional(&db.pool)
    .await?
    .map(from_row)
    .transpose()
}

/// The newest requests, pending first.
pub async fn list(db: &Db, limit: i64) -> Result<Vec<ApprovalRow>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM approval_requests \
         ORDER BY CASE WHEN status = 'pending' THEN 0 ELSE 1 END, created_at DESC LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(from_row)
    .collect()
}

/// Moves a pending request to `approved` or `rejected` once (granting an approved credit in the
/// same transaction). Returns false when it was decided before.
pub async fn decide(
    db: &Db,
    id: &str,
    approved: bool,
    decided_by: &str,
    grant: Option<&super::credits::CreditEntry<'_>>,
    audit: &super::audit::AuditEntry<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE approval_requests SET status = $2, decided_by = $3, decided_at = $4 WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(if approved { "approved" } else { "rejected" })
    .bind(decided_by)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Ok(false);
    }
    // An approved credit is granted with the decision, so two approvers cannot grant it twice.
    if let Some(entry) = grant.filter(|_| approved) {
        super::credits::record_in_tx(&mut tx, entry, now).await?;
    }
    super::audit::append_in_tx(&mut tx, db.dialect, audit, now).await?;
    tx.commit().await?;
    Ok(true)
}
