//! Sign-in sessions. Only a hash of each token is stored, so a copy of the database signs no one in.

use super::Db;
use crate::domain::ids::OrgId;
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
    pub org_id: Option<OrgId>,
    pub expires_at: i64,
    /// The staff member viewing the portal as this customer (a read-only session).
    pub viewed_by: Option<String>,
}

/// A session to open.
pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub kind: SessionKind,
    pub principal_id: &'a str,
    pub org_id: Option<&'a OrgId>,
    pub expires_at: i64,
    /// The staff member viewing the portal as this customer (a read-only session).
    pub viewed_by: Option<&'a str>,
    /// The browser's previous session of this kind, retired in the same transaction.
    pub replaces: Option<&'a str>,
}

/// Opens a session (retiring the one it replaces) with its audit entry (a sign-in, a view-as),
/// in one transaction.
pub async fn create(
    db: &Db,
    session: &NewSession<'_>,
    audit: &super::audit::AuditEntry<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    if let Some(old) = session.replaces {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(old)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO sessions (token_hash, kind, principal_id, org_id, created_at, expires_at, viewed_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(session.token_hash)
    .bind(session.kind.as_str())
    .bind(session.principal_id)
    .bind(session.org_id)
    .bind(now)
    .bind(session.expires_at)
    .bind(session.viewed_by)
    .execute(&mut *tx)
    .await?;
    super::audit::record(&mut tx, audit, now).await?;
    tx.commit().await?;
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

/// Ends a session (signing out), with its audit entry when it existed.
pub async fn delete(
    db: &Db,
    token_hash: &str,
    audit: &super::audit::AuditEntry<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let deleted = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&mut *tx)
        .await?;
    if deleted.rows_affected() > 0 {
        super::audit::record(&mut tx, audit, now).await?;
    }
    tx.commit().await?;
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
