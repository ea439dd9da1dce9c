//! Requests for money actions above the approval threshold, decided by a second staff member.

use super::Db;
use crate::domain::ids::{ApprovalId, InvoiceId, OrgId};
use sqlx::Row;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalRow {
    pub id: ApprovalId,
    pub kind: String,
    pub org_id: OrgId,
    pub invoice_id: Option<InvoiceId>,
    pub amount: i64,
    pub currency: String,
    pub reason_code: String,
    pub note: String,
    pub request_key: String,
    pub requested_by: String,
    pub status: crate::domain::ApprovalStatus,
    pub decided_by: Option<String>,
    pub created_at: i64,
    pub payload: String,
}

pub struct NewApproval<'a> {
    /// `refund` (of an invoice) or `credit` (to the account).
    pub kind: &'a str,
    pub org_id: &'a OrgId,
    pub invoice_id: Option<&'a InvoiceId>,
    pub amount: i64,
    pub currency: &'a str,
    pub reason_code: &'a str,
    pub note: &'a str,
    pub request_key: &'a str,
    pub requested_by: &'a str,
    /// The action's form (`do=…&field=…`), performed as asked when approved.
    pub payload: &'a str,
}

/// Records a pending request with its audit entry. A second submission of the same form (same
/// key) is refused by the unique key.
pub async fn request(
    db: &Db,
    new: &NewApproval<'_>,
    audit: &super::audit::AuditEntry<'_>,
    now: i64,
) -> Result<ApprovalId, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let id: ApprovalId = super::ids::new();
    sqlx::query(
        "INSERT INTO approval_requests (id, kind, org_id, invoice_id, amount, currency, reason_code, note, request_key, \
         requested_by, status, created_at, payload) VALUES ($1, $11, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $12)",
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
    .bind(new.payload)
    .execute(&mut *tx)
    .await?;
    super::audit::append_in_tx(&mut tx, db.dialect, audit, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// What `staff` took off organisation `org_id`'s bill in `currency` since `since`: the amounts
/// of their audited `actions`, plus their requests still waiting for an approver.
pub async fn lowered_recently(
    db: &Db,
    staff: &str,
    org_id: &OrgId,
    currency: &str,
    actions: &[&str],
    since: i64,
) -> Result<i64, sqlx::Error> {
    let placeholders: Vec<String> = (0..actions.len()).map(|i| format!("${}", i + 5)).collect();
    let mut done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS n FROM audit_log WHERE actor = $1 AND org_id = $2 \
         AND currency = $3 AND at >= $4 AND action IN ({})",
        placeholders.join(", ")
    )))
    .bind(staff)
    .bind(org_id)
    .bind(currency)
    .bind(since);
    for action in actions {
        done = done.bind(*action);
    }
    let done: i64 = done.fetch_one(&db.pool).await?.try_get("n")?;
    let waiting: i64 = sqlx::query(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS n FROM approval_requests WHERE requested_by = $1 \
         AND org_id = $2 AND currency = $3 AND created_at >= $4 AND status = 'pending'",
    )
    .bind(staff)
    .bind(org_id)
    .bind(currency)
    .bind(since)
    .fetch_one(&db.pool)
    .await?
    .try_get("n")?;
    Ok(done.saturating_add(waiting))
}

const COLUMNS: &str = "id, kind, org_id, invoice_id, amount, currency, reason_code, note, request_key, requested_by, \
    status, decided_by, created_at, payload";

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
        status: crate::store::status(&r, "status")?,
        decided_by: r.try_get("decided_by")?,
        created_at: r.try_get("created_at")?,
        payload: r.try_get("payload")?,
    })
}

pub async fn find(db: &Db, id: &ApprovalId) -> Result<Option<ApprovalRow>, sqlx::Error> {
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

/// Moves a pending request to `approved` or `rejected` once, with its audit entry. Returns
/// false when it was decided before. An approval is claimed this way before its action runs, so
/// two approvers cannot both carry it out.
pub async fn decide(
    db: &Db,
    id: &ApprovalId,
    approved: bool,
    decided_by: &str,
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
    super::audit::append_in_tx(&mut tx, db.dialect, audit, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Puts an approved request back to pending when its action could not be carried out (the
/// invoice was paid meanwhile, say), with the reason in the audit log.
pub async fn reopen(
    db: &Db,
    id: &ApprovalId,
    audit: &super::audit::AuditEntry<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE approval_requests SET status = 'pending', decided_by = NULL, decided_at = NULL WHERE id = $1 AND status = 'approved'",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    super::audit::append_in_tx(&mut tx, db.dialect, audit, now).await?;
    tx.commit().await
}
