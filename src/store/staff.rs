//! Support staff accounts, created from the command line only.

use super::{is_unique_violation, new_id, Db};
use crate::api::auth::{Email, StaffRole};
use sqlx::Row;

#[derive(Clone, Debug)]
pub struct StaffRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: StaffRole,
    pub password_hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateStaffError {
    #[error("a staff member with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub async fn create(
    db: &Db,
    email: &Email,
    name: &str,
    role: StaffRole,
    password_hash: &str,
    now: i64,
) -> Result<String, CreateStaffError> {
    let id = new_id("stf");
    let result = sqlx::query(
        "INSERT INTO staff (id, email, name, role, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(email.as_str())
    .bind(name)
    .bind(role.as_str())
    .bind(password_hash)
    .bind(now)
    .execute(&db.pool)
    .await;
    match result {
        Ok(_) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(CreateStaffError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

pub async fn find_by_email(db: &Db, email: &Email) -> Result<Option<StaffRow>, sqlx::Error> {
    let row =
        sqlx::query("SELECT id, email, name, role, password_hash FROM staff WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&db.pool)
            .await?;
    row.map(staff_from_row).transpose()
}

pub async fn find(db: &Db, id: &str) -> Result<Option<StaffRow>, sqlx::Error> {
    let row = sqlx::query("SELECT id, email, name, role, password_hash FROM staff WHERE id = $1")
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
    })
}
