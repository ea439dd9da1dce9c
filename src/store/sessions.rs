//! Sign-in sessions. Only a hash of each token is stored, so a copy of the database signs no one in.

use super::Db;
use sqlx::Row;

/// Who a session belongs to; customers and staff are separate principals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Customer,
    Staff,
}

impl SessionKind {
    fn as_str(self) -> &'static str {
        match self {
            SessionKind::Customer => "customer",
            SessionKind::Staff => "staff",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub principal_id: String,
    pub org_id: Option<String>,
    pub expires_at: i64,
    /// The staff member viewing the portal as this customer (a read-only session).
    pub viewed_by: Option<String>,
}

pub async fn create(
    db: &Db,
    token_hash: &str,
    kind: SessionKind,
    principal_id: &str,
    org_id: Option<&str>,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, kind, principal_id, org_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(kind.as_str())
    .bind(principal_id)
    .bind(org_id)
    .bind(now)
    .bind(expires_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Marks a just-created customer session as a staff member's read-only view.
pub async fn mark_viewed_by(
    db: &Db,
    token_hash: &str,
    staff_email: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET viewed_by = $2 WHERE token_hash = $1")
        .bind(token_hash)
        .bind(staff_email)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The live session of `kind` with this token hash; an expired one is treated as absent.
pub async fn find(
    db: &Db,
    token_hash: &str,
    kind: SessionKind,
    now: i64,
) -> Result<Option<SessionRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT principal_id, org_id, expires_at, viewed_by FROM sessions \
         WHERE token_hash = $1 AND kind = $2 AND expires_at > $3",
    )
    .bind(token_hash)
    .bind(kind.as_str())
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(SessionRow {
            principal_id: r.try_get("principal_id")?,
            org_id: r.try_get("org_id")?,
            expires_at: r.try_get("expires_at")?,
            viewed_by: r.try_get("viewed_by")?,
        })
    })
    .transpose()
}

pub async fn delete(db: &Db, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Removes sessions that expired before `now`.
pub async fn delete_expired(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&db.pool)
        .await?
        .rows_affected())
}
