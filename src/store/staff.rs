//! Support staff accounts, created from the command line only.

use super::{is_unique_violation, Db};
use crate::domain::access::{Email, StaffRole};
use crate::domain::ids::StaffId;
use sqlx::Row;

#[derive(Clone, Debug)]
pub struct StaffRow {
    pub id: StaffId,
    pub email: String,
    pub name: String,
    pub role: StaffRole,
    pub password_hash: String,
    /// The second factor's secret (base32); `None` until enrolled.
    pub totp_secret: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateStaffError {
    #[error("a staff member with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Creates a staff account with its second factor's secret, audited as `by`.
#[allow(clippy::too_many_arguments)]
pub async fn create(
    db: &Db,
    email: &Email,
    name: &str,
    role: StaffRole,
    password_hash: &str,
    totp_secret: &str,
    by: &super::audit::Actor,
    now: i64,
) -> Result<StaffId, CreateStaffError> {
    let id: StaffId = super::ids::new();
    let mut tx = db.begin_write().await?;
    let result = sqlx::query(
        "INSERT INTO staff (id, email, name, role, password_hash, created_at, totp_secret) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(email.as_str())
    .bind(name)
    .bind(role.as_str())
    .bind(password_hash)
    .bind(now)
    .bind(totp_secret)
    .execute(&mut *tx)
    .await;
    match result {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(CreateStaffError::EmailTaken),
        Err(e) => return Err(e.into()),
    }
    let target = format!("staff:{id}");
    let note = format!("{} <{}> as {}", name, email.as_str(), role.as_str());
    super::audit::record(
        &mut tx,
        &super::audit::AuditEntry {
            note: &note,
            ..by.did("staff_created", &target)
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Enrols (or re-enrols) a staff member's second factor with a new secret; returns whether the
/// account exists.
pub async fn set_totp_secret(
    db: &Db,
    email: &Email,
    secret: &str,
    by: &super::audit::Actor,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "UPDATE staff SET totp_secret = $2, totp_last_step = 0 WHERE email = $1 RETURNING id",
    )
    .bind(email.as_str())
    .bind(secret)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let target = format!("staff:{}", row.try_get::<String, _>("id")?);
    super::audit::record(
        &mut tx,
        &super::audit::AuditEntry {
            note: "second factor enrolled with a new secret",
            ..by.did("staff_mfa_enrolled", &target)
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Uses up time step `step` of a staff member's codes: true only if no code of this or a later
/// step was used before (so a code works once).
pub async fn claim_totp_step(db: &Db, staff_id: &StaffId, step: i64) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("UPDATE staff SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2")
            .bind(staff_id)
            .bind(step)
            .execute(&db.pool)
            .await?
            .rows_affected()
            == 1,
    )
}

pub async fn find_by_email(db: &Db, email: &Email) -> Result<Option<StaffRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, email, name, role, password_hash, totp_secret FROM staff WHERE email = $1",
    )
    .bind(email.as_str())
    .fetch_optional(&db.pool)
    .await?;
    row.map(staff_from_row).transpose()
}

pub async fn find(db: &Db, id: &str) -> Result<Option<StaffRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, email, name, role, password_hash, totp_secret FROM staff WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(staff_from_row).transpose()
}

fn staff_from_row(r: sqlx::any::AnyRow) -> Result<StaffRow, sqlx::Error> {
    let role: String = r.try_get("role")?;
    Ok(StaffRow {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        role: StaffRole::parse(&role)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown staff role {role:?}").into()))?,
        password_hash: r.try_get("password_hash")?,
        totp_secret: r.try_get("totp_secret")?,
    })
}
