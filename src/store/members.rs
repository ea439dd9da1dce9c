//! Members of an organisation, invitations to join it, and the seats they take.

use super::{is_unique_violation, new_id, Db};
use crate::domain::access::Role;
use crate::domain::ids::{InvitationId, OrgId, UserId};
use sqlx::Row;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRow {
    pub user_id: UserId,
    pub email: String,
    pub role: Role,
    pub joined_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitationRow {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub org_name: String,
    pub email: String,
    pub role: Role,
    pub invited_by: String,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

fn role_of(raw: String) -> Result<Role, sqlx::Error> {
    Role::parse(&raw).ok_or_else(|| sqlx::Error::Decode(format!("unknown role {raw:?}").into()))
}

pub async fn members(db: &Db, org_id: &OrgId) -> Result<Vec<MemberRow>, sqlx::Error> {
    sqlx::query(
        "SELECT m.user_id, u.email, m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 ORDER BY m.created_at, u.email",
    )
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(MemberRow {
            user_id: r.try_get("user_id")?,
            email: r.try_get("email")?,
            role: role_of(r.try_get("role")?)?,
            joined_at: r.try_get("created_at")?,
        })
    })
    .collect()
}

const INVITATION_COLUMNS: &str = "i.id, i.org_id, o.name, i.email, i.role, i.invited_by, i.expires_at, i.accepted_at, i.revoked_at";

fn invitation_from_row(r: sqlx::any::AnyRow) -> Result<InvitationRow, sqlx::Error> {
    Ok(InvitationRow {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        org_name: r.try_get("name")?,
        email: r.try_get("email")?,
        role: role_of(r.try_get("role")?)?,
        invited_by: r.try_get("invited_by")?,
        expires_at: r.try_get("expires_at")?,
        accepted_at: r.try_get("accepted_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

/// Invitations neither accepted, revoked nor expired.
pub async fn pending_invitations(
    db: &Db,
    org_id: &OrgId,
    now: i64,
) -> Result<Vec<InvitationRow>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN organizations o ON o.id = i.org_id \
         WHERE i.org_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2 \
         ORDER BY i.created_at, i.email"
    )))
    .bind(org_id)
    .bind(now)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(invitation_from_row)
    .collect()
}

pub async fn invitation_by_token(
    db: &Db,
    token_hash: &str,
) -> Result<Option<InvitationRow>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN organizations o ON o.id = i.org_id WHERE i.token_hash = $1"
    )))
    .bind(token_hash)
    .fetch_optional(&db.pool)
    .await?
    .map(invitation_from_row)
    .transpose()
}

/// Seats taken: members plus invitations still pending.
pub async fn seats_in_use(db: &Db, org_id: &OrgId, now: i64) -> Result<i64, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    count_in_use(&mut conn, org_id, now).await
}

async fn count_in_use(
    conn: &mut sqlx::AnyConnection,
    org_id: &OrgId,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "SELECT (SELECT COUNT(*) FROM memberships WHERE org_id = $1) + \
         (SELECT COUNT(*) FROM invitations WHERE org_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL \
          AND expires_at > $2) AS n",
    )
    .bind(org_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")
}

/// The Free plan's seats.
pub const FREE_SEATS: i64 = 1;

/// How many seats an organisation may fill: what it pays for now, and what a scheduled change
/// leaves at the period end (a seat decrease, a plan change, a cancellation that moves it to
/// Free). Members and pending invitations are held against the lower of the two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeatCap {
    pub paid: i64,
    /// The seats a scheduled change leaves, when it leaves fewer than are paid now.
    pub scheduled: Option<i64>,
    pub in_use: i64,
    /// Whether the organisation has a live subscription (else it is on Free).
    pub subscribed: bool,
}

impl SeatCap {
    pub fn limit(&self) -> i64 {
        self.scheduled.map_or(self.paid, |s| s.min(self.paid))
    }

    pub fn free(&self) -> i64 {
        (self.limit() - self.in_use).max(0)
    }
}

/// The organisation's seat cap, read inside the caller's transaction (which should hold the
/// organisation's lock, see [`super::lock`]).
pub async fn seat_cap(
    conn: &mut sqlx::AnyConnection,
    org_id: &OrgId,
    now: i64,
) -> Result<SeatCap, sqlx::Error> {
    let sub = sqlx::query(
        "SELECT quantity, scheduled_quantity, cancel_at_period_end FROM subscriptions \
         WHERE org_id = $1 AND status IN ('active', 'trialing', 'past_due')",
    )
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?;
    let in_use = count_in_use(conn, org_id, now).await?;
    Ok(match sub {
        None => SeatCap {
            paid: FREE_SEATS,
            scheduled: None,
            in_use,
            subscribed: false,
        },
        Some(r) => {
            let paid: i64 = r.try_get("quantity")?;
            let scheduled: Option<i64> = r.try_get("scheduled_quantity")?;
            let cancelling = r.try_get::<i64, _>("cancel_at_period_end")? != 0;
            let after = match (cancelling, scheduled) {
                (true, _) => Some(FREE_SEATS),
                (false, Some(q)) if q < paid => Some(q),
                _ => None,
            };
            SeatCap {
                paid,
                scheduled: after,
                in_use,
                subscribed: true,
            }
        }
    })
}

/// The organisation's seat cap now, outside any transaction (for pages and previews).
pub async fn current_seat_cap(db: &Db, org_id: &OrgId, now: i64) -> Result<SeatCap, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    seat_cap(&mut conn, org_id, now).await
}

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("already a member")]
    AlreadyMember,
    #[error("already invited")]
    AlreadyInvited,
    /// Every seat the organisation may fill is taken (now, or by a scheduled change).
    #[error("no seat is free")]
    NoSeat(SeatCap),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// An email to queue with the write that causes it.
pub struct OutgoingEmail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// Creates an invitation and queues its email in one transaction, with its audit entry, if a
/// seat is free: the organisation is locked, then members and pending invitations are counted
/// against its seat cap, so invitations sent at once cannot take more seats than there are. An
/// expired pending invitation to the same address is retired first.
#[allow(clippy::too_many_arguments)]
pub async fn invite(
    db: &Db,
    org_id: &OrgId,
    email: &str,
    role: Role,
    token_hash: &str,
    invited_by: &super::audit::Actor,
    now: i64,
    expires_at: i64,
    mail: &OutgoingEmail<'_>,
) -> Result<InvitationId, InviteError> {
    let mut tx = db.begin_write().await?;
    super::lock(&mut tx, super::Lock::Organization(org_id)).await?;
    let member: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND u.email = $2",
    )
    .bind(org_id)
    .bind(email)
    .fetch_one(&mut *tx)
    .await?
    .try_get("n")?;
    if member > 0 {
        return Err(InviteError::AlreadyMember);
    }
    sqlx::query(
        "UPDATE invitations SET revoked_at = $3 WHERE org_id = $1 AND email = $2 AND accepted_at IS NULL \
         AND revoked_at IS NULL AND expires_at <= $3",
    )
    .bind(org_id)
    .bind(email)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let cap = seat_cap(&mut tx, org_id, now).await?;
    if cap.in_use + 1 > cap.limit() {
        return Err(InviteError::NoSeat(cap));
    }
    let id: InvitationId = super::ids::new();
    let inserted = sqlx::query(
        "INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(org_id)
    .bind(email)
    .bind(role.as_str())
    .bind(token_hash)
    .bind(&invited_by.name)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *tx)
    .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => return Err(InviteError::AlreadyInvited),
        other => other?,
    };
    queue_email(&mut tx, Some(org_id), mail, now).await?;
    let target = format!("invitation:{id}");
    let note = format!("{email} as {}", role.as_str());
    super::audit::record(
        &mut tx,
        &super::audit::AuditEntry {
            org_id: Some(org_id),
            note: &note,
            ..invited_by.did("invitation_sent", &target)
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn queue_email(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    org_id: Option<&OrgId>,
    mail: &OutgoingEmail<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO email_outbox (id, org_id, to_address, subject, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id("eml"))
    .bind(org_id)
    .bind(mail.to)
    .bind(mail.subject)
    .bind(mail.body)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Who accepts an invitation: an existing account, or a new one created with it.
pub enum Acceptor<'a> {
    Existing {
        user_id: &'a UserId,
    },
    New {
        email: &'a crate::domain::access::Email,
        password_hash: &'a str,
    },
}

/// Accepts a pending invitation: marks it accepted and adds the membership (creating the new
/// account first when there is none), once, with its audit entry, in one transaction. Returns
/// the member's user id, or `None` when the invitation is no longer pending.
pub async fn accept(
    db: &Db,
    invitation: &InvitationRow,
    acceptor: Acceptor<'_>,
    now: i64,
) -> Result<Option<UserId>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    super::lock(&mut tx, super::Lock::Organization(&invitation.org_id)).await?;
    let claimed = sqlx::query(
        "UPDATE invitations SET accepted_at = $2 WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL \
         AND expires_at > $2",
    )
    .bind(&invitation.id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() != 1 {
        return Ok(None);
    }
    let user_id = match acceptor {
        Acceptor::Existing { user_id } => user_id.clone(),
        Acceptor::New {
            email,
            password_hash,
        } => super::accounts::create_user_in_tx(&mut tx, email, password_hash, now).await?,
    };
    sqlx::query(
        "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (org_id, user_id) DO NOTHING",
    )
    .bind(&invitation.org_id)
    .bind(&user_id)
    .bind(invitation.role.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let actor = super::audit::Actor::customer(&invitation.email, invitation.role);
    let target = format!("invitation:{}", invitation.id);
    let note = format!("joined as {}", invitation.role.as_str());
    super::audit::record(
        &mut tx,
        &super::audit::AuditEntry {
            org_id: Some(&invitation.org_id),
            note: &note,
            ..actor.did("invitation_accepted", &target)
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(user_id))
}

/// Revokes a pending invitation of the organisation (its seat is free again), audited.
pub async fn revoke(
    db: &Db,
    org_id: &OrgId,
    invitation_id: &InvitationId,
    by: &super::audit::Actor,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "UPDATE invitations SET revoked_at = $3 WHERE id = $1 AND org_id = $2 AND accepted_at IS NULL \
         AND revoked_at IS NULL RETURNING email",
    )
    .bind(invitation_id)
    .bind(org_id)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let email: String = row.try_get("email")?;
    let target = format!("invitation:{invitation_id}");
    super::audit::record(
        &mut tx,
        &super::audit::AuditEntry {
            org_id: Some(org_id),
            note: &email,
            ..by.did("invitation_revoked", &target)
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

#[derive(Debug, thiserror::Error)]
pub enum MemberChangeError {
    #[error("not a member")]
    NotMember,
    #[error("the last owner")]
    LastOwner,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

async fn other_owners(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    org_id: &OrgId,
    user_id: &UserId,
) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM memberships WHERE org_id = $1 AND role = 'owner' AND user_id <> $2")
        .bind(org_id)
        .bind(user_id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")
}

/// Changes a member's role; an organisation always keeps at least one owner (checked under the
/// organisation's lock, so two owners demoting each other at once cannot both succeed).
pub async fn set_role(
    db: &Db,
    org_id: &OrgId,
    user_id: &UserId,
    role: Role,
    by: &super::audit::Actor,
    now: i64,
) -> Result<(), MemberChangeError> {
    let mut tx = db.begin_write().await?;
    super::lock(&mut tx, super::Lock::Organization(org_id)).await?;
    if role != Role::Owner && other_owners(&mut tx, org_id, user_id).await? == 0 {
        return Err(MemberChangeError::LastOwner);
    }
    let updated =
        sqlx::query("UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2")
            .bind(org_id)
            .bind(user_id)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await?;
    if updated.rows_affected() != 1 {
        return Err(MemberChangeError::NotMember);
    }
    let target = format!("user:{user_id}");
    let note = format!("role set to {}", role.as_str());
    super::audit::record(
        &mut tx,
        &super::audit::AuditEntry {
            org_id: Some(org_id),
            note: &note,
            ..by.did("member_role_changed", &target)
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a member (their seat stays paid until seats are reduced) and ends their sessions;
/// never the last owner (checked under the organisation's lock). Audited.
pub async fn remove(
    db: &Db,
    org_id: &OrgId,
    user_id: &UserId,
    by: &super::audit::Actor,
    now: i64,
) -> Result<(), MemberChangeError> {
    let mut tx = db.begin_write().await?;
    super::lock(&mut tx, super::Lock::Organization(org_id)).await?;
    if other_owners(&mut tx, org_id, user_id).await? == 0 {
        let role: Option<String> =
            sqlx::query("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
                .bind(org_id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("role"))
                .transpose()?;
        if role.as_deref() == Some("owner") {
            return Err(MemberChangeError::LastOwner);
        }
    }
    let deleted = sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    if deleted.rows_affected() != 1 {
        return Err(MemberChangeError::NotMember);
    }
    sqlx::query(
        "DELETE FROM sessions WHERE kind = 'customer' AND principal_id = $1 AND org_id = $2",
    )
    .bind(user_id)
    .bind(org_id)
    .execute(&mut *tx)
    .await?;
    let target = format!("user:{user_id}");
    super::audit::record(
        &mut tx,
        &super::audit::AuditEntry {
            org_id: Some(org_id),
            note: "removed from the organisation; their sessions ended",
            ..by.did("member_removed", &target)
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The newest emails in the outbox (the development mailbox).
pub async fn outbox(
    db: &Db,
    limit: i64,
) -> Result<Vec<(String, String, String, i64)>, sqlx::Error> {
    sqlx::query("SELECT to_address, subject, body, created_at FROM email_outbox ORDER BY created_at DESC, id DESC LIMIT $1")
        .bind(limit)
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get("to_address")?, r.try_get("subject")?, r.try_get("body")?, r.try_get("created_at")?)))
        .collect()
}
