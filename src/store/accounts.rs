//! Users, organisations and memberships.

use super::{is_unique_violation, Db};
use crate::domain::access::{Email, Role};
use crate::domain::ids::{OrgId, UserId};
use sqlx::Row;

/// A user as stored, with the hash needed to check a password.
#[derive(Clone, Debug)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub password_hash: String,
}

/// A user's place in an organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipRow {
    pub org_id: OrgId,
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
    pub user_id: UserId,
    pub org_id: OrgId,
}

/// Creates the user, their organisation and their owner membership in one transaction, with
/// the audit entry of the sign-up: either all of it exists afterwards or none does.
pub async fn create_account(
    db: &Db,
    email: &Email,
    password_hash: &str,
    org_name: &str,
    now: i64,
) -> Result<NewAccount, CreateAccountError> {
    let mut tx = db.begin_write().await?;
    let account = create_account_in_tx(&mut tx, email, password_hash, org_name, now).await?;
    tx.commit().await?;
    Ok(account)
}

async fn create_account_in_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    email: &Email,
    password_hash: &str,
    org_name: &str,
    now: i64,
) -> Result<NewAccount, CreateAccountError> {
    let user_id: UserId = super::ids::new();
    let org_id: OrgId = super::ids::new();
    let inserted = sqlx::query(
        "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&user_id)
    .bind(email.as_str())
    .bind(password_hash)
    .bind(now)
    .execute(&mut **tx)
    .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => return Err(CreateAccountError::EmailTaken),
        other => other?,
    };
    sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&org_id)
        .bind(org_name)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&org_id)
    .bind(&user_id)
    .bind(Role::Owner.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let actor = super::audit::Actor::customer(email.as_str(), Role::Owner);
    let target = format!("org:{org_id}");
    let note = format!("account and organisation {org_name:?} created");
    super::audit::record(
        tx,
        &super::audit::AuditEntry {
            org_id: Some(&org_id),
            note: &note,
            ..actor.did("sign_up", &target)
        },
        now,
    )
    .await?;
    Ok(NewAccount { user_id, org_id })
}

/// A sign-up waiting for its email address to be confirmed.
#[derive(Clone, Debug)]
pub struct PendingSignUp {
    pub email: String,
    pub org_name: String,
    pub expires_at: i64,
    pub completed: bool,
}

/// Records a sign-up and queues the email that confirms it, in one transaction; when the address
/// already has an account, queues an email saying so instead (so the answer to the visitor is
/// the same either way). Both are audited.
#[allow(clippy::too_many_arguments)]
pub async fn request_sign_up(
    db: &Db,
    email: &Email,
    password_hash: &str,
    org_name: &str,
    token_hash: &str,
    expires_at: i64,
    new_account_mail: &super::members::OutgoingEmail<'_>,
    existing_account_mail: &super::members::OutgoingEmail<'_>,
    from_address: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let exists = sqlx::query("SELECT id FROM users WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    let actor = super::audit::Actor::visitor(email.as_str());
    let note = format!("from {from_address}");
    if exists {
        super::members::queue_email(&mut tx, None, existing_account_mail, now).await?;
        super::audit::record(
            &mut tx,
            &super::audit::AuditEntry {
                note: &note,
                ..actor.did("sign_up_for_existing_account", "signup")
            },
            now,
        )
        .await?;
    } else {
        sqlx::query(
            "INSERT INTO signups (token_hash, email, password_hash, org_name, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(email.as_str())
        .bind(password_hash)
        .bind(org_name)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        super::members::queue_email(&mut tx, None, new_account_mail, now).await?;
        super::audit::record(
            &mut tx,
            &super::audit::AuditEntry {
                note: &note,
                ..actor.did("sign_up_requested", "signup")
            },
            now,
        )
        .await?;
    }
    tx.commit().await
}

/// The sign-up a confirmation link is for.
pub async fn pending_sign_up(
    db: &Db,
    token_hash: &str,
) -> Result<Option<PendingSignUp>, sqlx::Error> {
    sqlx::query(
        "SELECT email, org_name, expires_at, completed_at FROM signups WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| {
        Ok(PendingSignUp {
            email: r.try_get("email")?,
            org_name: r.try_get("org_name")?,
            expires_at: r.try_get("expires_at")?,
            completed: r.try_get::<Option<i64>, _>("completed_at")?.is_some(),
        })
    })
    .transpose()
}

/// What confirming a sign-up can run into.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmSignUpError {
    #[error("the link is unknown, used or expired")]
    NotPending,
    #[error("email already registered")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Confirms a sign-up: the account, its organisation and owner membership are created and the
/// sign-up is marked done, once, in one transaction.
pub async fn confirm_sign_up(
    db: &Db,
    token_hash: &str,
    now: i64,
) -> Result<(NewAccount, Email), ConfirmSignUpError> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "UPDATE signups SET completed_at = $2 WHERE token_hash = $1 AND completed_at IS NULL \
         AND expires_at > $2 RETURNING email, password_hash, org_name",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ConfirmSignUpError::NotPending)?;
    let email: String = row.try_get("email")?;
    let email = Email::parse(&email)
        .map_err(|e| ConfirmSignUpError::Db(sqlx::Error::Decode(e.to_string().into())))?;
    let hash: String = row.try_get("password_hash")?;
    let org_name: String = row.try_get("org_name")?;
    let account = create_account_in_tx(&mut tx, &email, &hash, &org_name, now)
        .await
        .map_err(|e| match e {
            CreateAccountError::EmailTaken => ConfirmSignUpError::EmailTaken,
            CreateAccountError::Db(e) => ConfirmSignUpError::Db(e),
        })?;
    tx.commit().await?;
    Ok((account, email))
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

pub async fn user_email(db: &Db, user_id: &UserId) -> Result<Option<String>, sqlx::Error> {
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
    user_id: &UserId,
    org_id: &OrgId,
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
    user_id: &UserId,
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
pub async fn stripe_customer_id(db: &Db, org_id: &OrgId) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT stripe_customer_id FROM organizations WHERE id = $1")
        .bind(org_id)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.try_get::<Option<String>, _>("stripe_customer_id"))
        .transpose()
        .map(Option::flatten)
}

/// Records the organisation's Stripe customer unless it already has one (audited as the
/// system's).
pub async fn set_stripe_customer_id(
    db: &Db,
    org_id: &OrgId,
    customer_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE organizations SET stripe_customer_id = $2 WHERE id = $1 AND stripe_customer_id IS NULL",
    )
    .bind(org_id)
    .bind(customer_id)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 1 {
        let system = super::audit::Actor::system();
        let target = format!("org:{org_id}");
        let note = format!("Stripe customer {customer_id}");
        super::audit::record(
            &mut tx,
            &super::audit::AuditEntry {
                org_id: Some(org_id),
                note: &note,
                request_id: Some(customer_id),
                ..system.did("stripe_customer_linked", &target)
            },
            now,
        )
        .await?;
    }
    tx.commit().await
}

/// Creates a user without an organisation (they join one by invitation) inside the caller's
/// transaction. Returns the id.
pub async fn create_user_in_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    email: &Email,
    password_hash: &str,
    now: i64,
) -> Result<UserId, sqlx::Error> {
    let id: UserId = super::ids::new();
    sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&id)
        .bind(email.as_str())
        .bind(password_hash)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}
