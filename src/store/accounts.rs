//! Users, organisations and memberships.

use super::{is_unique_violation, new_id, Db};
use crate::api::auth::{Email, Role};
use sqlx::Row;

/// A user as stored, with the hash needed to check a password.
#[derive(Clone, Debug)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
}

/// A user's place in an organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipRow {
    pub org_id: String,
    pub org_name: String,
    pub role: Role,
}

/// What creating an account can run into besides the database failing.
#[derive(Debug, thiserror::Error)]
pub enum CreateAccountError {
    #[error("email already registered")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The ids of a newly created account.
#[derive(Clone, Debug)]
pub struct NewAccount {
    pub user_id: String,
    pub org_id: String,
}

/// Creates the user, their organisation and their owner membership in one transaction: either all
/// three exist afterwards or none does.
pub async fn create_account(
    db: &Db,
    email: &Email,
    password_hash: &str,
    org_name: &str,
    now: i64,
) -> Result<NewAccount, CreateAccountError> {
    let user_id = new_id("usr");
    let org_id = new_id("org");
    let mut tx = db.begin_write().await?;
    let inserted = sqlx::query(
        "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&user_id)
    .bind(email.as_str())
    .bind(password_hash)
    .bind(now)
    .execute(&mut *tx)
    .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => return Err(CreateAccountError::EmailTaken),
        other => other?,
    };
    sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&org_id)
        .bind(org_name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&org_id)
    .bind(&user_id)
    .bind(Role::Owner.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(NewAccount { user_id, org_id })
}

pub async fn find_user_by_email(db: &Db, email: &Email) -> Result<Option<UserRow>, sqlx::Error> {
    let row = sqlx::query("SELECT id, email, password_hash FROM users WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| {
        Ok(UserRow {
            id: r.try_get("id")?,
            email: r.try_get("email")?,
            password_hash: r.try_get("password_hash")?,
        })
    })
    .transpose()
}

pub async fn user_email(db: &Db, user_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.try_get("email"))
        .transpose()
}

/// The user's membership in `org_id`, or `None` if they are not (or no longer) a member.
pub async fn membership(
    db: &Db,
    user_id: &str,
    org_id: &str,
) -> Result<Option<MembershipRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT m.org_id, o.name, m.role FROM memberships m \
         JOIN organizations o ON o.id = m.org_id WHERE m.user_id = $1 AND m.org_id = $2",
    )
    .bind(user_id)
    .bind(org_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(membership_from_row).transpose()
}

/// The organisation a user lands in after signing in: the oldest membership.
pub async fn first_membership(
    db: &Db,
    user_id: &str,
) -> Result<Option<MembershipRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT m.org_id, o.name, m.role FROM memberships m \
         JOIN organizations o ON o.id = m.org_id WHERE m.user_id = $1 \
         ORDER BY m.created_at, m.org_id LIMIT 1",
    )
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(membership_from_row).transpose()
}

fn membership_from_row(r: sqlx::any::AnyRow) -> Result<MembershipRow, sqlx::Error> {
    let role: String = r.try_get("role")?;
    Ok(MembershipRow {
        org_id: r.try_get("org_id")?,
        org_name: r.try_get("name")?,
        role: Role::parse(&role)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown role {role:?}").into()))?,
    })
}

/// The organisation's Stripe customer, once it has one.
pub async fn stripe_customer_id(db: &Db, org_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT stripe_customer_id FROM organizations WHERE id = $1")
        .bind(org_id)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.try_get::<Option<String>, _>("stripe_customer_id"))
        .transpose()
        .map(Option::flatten)
}

/// Records the organisation's Stripe customer unless it already has one.
pub async fn set_stripe_customer_id(
    db: &Db,
    org_id: &str,
    customer_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE organizations SET stripe_customer_id = $2 WHERE id = $1 AND stripe_customer_id IS NULL")
        .bind(org_id)
        .bind(customer_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Creates a user without an organisation (they join one by invitation). Returns the id.
pub async fn create_user(
    db: &Db,
    email: &Email,
    password_hash: &str,
    now: i64,
) -> Result<String, sqlx::Error> {
    let id = new_id("usr");
    sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&id)
        .bind(email.as_str())
        .bind(password_hash)
        .bind(now)
        .execute(&db.pool)
        .await?;
    Ok(id)
}
