//! Subscriptions of organisations.

use super::Db;
use crate::domain::ids::{InvoiceId, OrgId, SubscriptionId};
use sqlx::Row;

/// The organisation's current subscription with its plan's name, as its overview shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverviewRow {
    pub plan_name: String,
    pub status: crate::domain::SubscriptionStatus,
    pub quantity: i64,
    /// Unix seconds.
    pub current_period_end: i64,
}

/// The organisation's newest subscription that has not ended, with its plan's name.
pub async fn current_for_org(db: &Db, org_id: &OrgId) -> Result<Option<OverviewRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT p.name AS plan_name, s.status, s.quantity, s.current_period_end \
         FROM subscriptions s JOIN prices pr ON pr.id = s.price_id JOIN plans p ON p.id = pr.plan_id \
         WHERE s.org_id = $1 AND s.status <> 'canceled' ORDER BY s.created_at DESC, s.id DESC LIMIT 1",
    )
    .bind(org_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(OverviewRow {
            plan_name: r.try_get("plan_name")?,
            status: crate::store::status(&r, "status")?,
            quantity: r.try_get("quantity")?,
            current_period_end: r.try_get("current_period_end")?,
        })
    })
    .transpose()
}

/// A live subscription as plan changes need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionRow {
    pub id: SubscriptionId,
    pub org_id: OrgId,
    pub price_id: String,
    pub quantity: i64,
    pub status: crate::domain::SubscriptionStatus,
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub billing_anchor: i64,
    pub scheduled_price_id: Option<String>,
    pub scheduled_quantity: Option<i64>,
    pub cancel_at_period_end: bool,
    pub version: i64,
    pub coupon_id: Option<String>,
    pub coupon_periods_applied: i64,
    /// The catalog revision whose usage prices and entitlements apply: the one published when
    /// the subscription last took a price.
    pub catalog_revision: i64,
}

/// The catalog revision whose usage terms go with price `$3`: the one before its next version
/// replaced it, or the newest for a price still current (or unknown).
macro_rules! terms_of_price_3 {
    () => {
        "SELECT COALESCE(MIN(p.until_revision) - 1, \
         (SELECT COALESCE(MAX(revision), 0) FROM catalog_revisions)) FROM prices p WHERE p.id = $3"
    };
}

/// The same, for a statement that writes a new subscription on price `$3`.
pub(crate) const TERMS_OF_PRICE_3: &str = terms_of_price_3!();

/// What an update that sets `price_id = $3` also sets: when the price changes, the usage terms
/// that go with the new price version ([`TERMS_OF_PRICE_3`]); the ones it had otherwise.
pub(crate) const PIN_TERMS: &str = concat!(
    "catalog_revision = CASE WHEN price_id = $3 THEN catalog_revision ELSE (",
    terms_of_price_3!(),
    ") END"
);

const SUB_COLUMNS: &str =
    "id, org_id, price_id, quantity, status, current_period_start, current_period_end, \
     billing_anchor, scheduled_price_id, scheduled_quantity, cancel_at_period_end, version, coupon_id, \
     coupon_periods_applied, catalog_revision";

fn sub_from_row(r: sqlx::any::AnyRow) -> Result<SubscriptionRow, sqlx::Error> {
    let start: i64 = r.try_get("current_period_start")?;
    Ok(SubscriptionRow {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        price_id: r.try_get("price_id")?,
        quantity: r.try_get("quantity")?,
        status: crate::store::status(&r, "status")?,
        current_period_start: start,
        current_period_end: r.try_get("current_period_end")?,
        billing_anchor: r
            .try_get::<Option<i64>, _>("billing_anchor")?
            .unwrap_or(start),
        scheduled_price_id: r.try_get("scheduled_price_id")?,
        scheduled_quantity: r.try_get("scheduled_quantity")?,
        cancel_at_period_end: r.try_get::<i64, _>("cancel_at_period_end")? != 0,
        version: r.try_get("version")?,
        coupon_id: r.try_get("coupon_id")?,
        coupon_periods_applied: r.try_get("coupon_periods_applied")?,
        catalog_revision: r.try_get("catalog_revision")?,
    })
}

/// The organisation's live subscription (active, trialing or past due).
pub async fn live_for_org(db: &Db, org_id: &OrgId) -> Result<Option<SubscriptionRow>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SUB_COLUMNS} FROM subscriptions WHERE org_id = $1 AND status IN ('active', 'trialing', 'past_due')"
    )))
    .bind(org_id)
    .fetch_optional(&db.pool)
    .await?
    .map(sub_from_row)
    .transpose()
}

/// Whether the organisation has had any subscription (a trial is offered once).
pub async fn ever_subscribed(db: &Db, org_id: &OrgId) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM subscriptions WHERE org_id = $1")
        .bind(org_id)
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    Ok(n > 0)
}

/// A subscription by id, whatever its status.
pub async fn by_id(db: &Db, id: &SubscriptionId) -> Result<Option<SubscriptionRow>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SUB_COLUMNS} FROM subscriptions WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .map(sub_from_row)
    .transpose()
}

/// Holds the seats a change leaves against members and pending invitations, inside the change's
/// transaction and under the organisation's lock: an invitation sent at the same moment cannot
/// slip past a seat decrease, nor a decrease past an invitation.
async fn hold_seats(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    org_id: &OrgId,
    seats: Option<i64>,
    now: i64,
) -> Result<(), ChangeError> {
    let Some(seats) = seats else {
        return Ok(());
    };
    super::lock(tx, super::Lock::Organization(org_id)).await?;
    let in_use = super::members::seat_cap(tx, org_id, now).await?.in_use;
    if in_use > seats {
        return Err(ChangeError::SeatsTaken { in_use, seats });
    }
    Ok(())
}

/// A record for the timeline of one change, and (in the same transaction) its audit entry.
pub struct ChangeRecord<'a> {
    pub actor: &'a super::audit::Actor,
    /// A staff member's reason and note, for the audit entry.
    pub reason_code: Option<&'a str>,
    pub note: &'a str,
    pub kind: &'a str,
    pub to_price_id: &'a str,
    pub to_quantity: i64,
    pub amount_due: crate::domain::Money,
    pub effective_at: i64,
    pub invoice_id: Option<&'a InvoiceId>,
    pub detail: &'a str,
    /// The seats the change leaves (now, or at the period end), held against members and
    /// pending invitations in the change's transaction; `None` when it adds none or keeps them.
    pub seats_left: Option<i64>,
}

pub(crate) async fn record_change(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    sub: &SubscriptionRow,
    change: &ChangeRecord<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO subscription_changes (id, subscription_id, org_id, actor, kind, from_price_id, from_quantity, \
         to_price_id, to_quantity, amount_due, currency, effective_at, invoice_id, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(super::new_id("chg"))
    .bind(&sub.id)
    .bind(&sub.org_id)
    .bind(&change.actor.name)
    .bind(change.kind)
    .bind(&sub.price_id)
    .bind(sub.quantity)
    .bind(change.to_price_id)
    .bind(change.to_quantity)
    .bind(change.amount_due.minor_units())
    .bind(change.amount_due.currency().code())
    .bind(change.effective_at)
    .bind(change.invoice_id)
    .bind(change.detail)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let action = format!("subscription_{}", change.kind);
    let target = format!("subscription:{}", sub.id);
    let note = if change.note.is_empty() {
        change.detail.to_string()
    } else {
        format!("{} ({})", change.note, change.detail)
    };
    let amount = change.amount_due.minor_units();
    super::audit::record(
        tx,
        &super::audit::AuditEntry {
            org_id: Some(&sub.org_id),
            amount: (amount != 0).then_some(amount),
            currency: (amount != 0).then_some(change.amount_due.currency().code()),
            reason_code: change.reason_code,
            note: &note,
            request_id: change.invoice_id.map(InvoiceId::as_str),
            ..change.actor.did(&action, &target)
        },
        now,
    )
    .await?;
    Ok(())
}

/// The subscription moved on since it was read (optimistic version check failed), or the change
/// would leave fewer seats than members and pending invitations take.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("the subscription changed since it was read")]
    Stale,
    #[error("{in_use} seats are taken but the change leaves {seats}")]
    SeatsTaken { in_use: i64, seats: i64 },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// What an immediate change writes besides the subscription: the paid invoice and its payment.
pub struct ImmediateCharge<'a> {
    pub invoice: &'a crate::domain::InvoiceDraft,
    pub payment_intent_id: Option<&'a str>,
}

/// The money side of an immediate change: a paid proration invoice, and account credit for
/// unused time worth more than the new charge.
#[derive(Default)]
pub struct Settlement<'a> {
    pub charge: Option<ImmediateCharge<'a>>,
    pub credit: Option<crate::domain::Money>,
    /// Proration lines left for the next invoice (a `prorate_on_next_invoice` policy).
    pub next_invoice: &'a [crate::domain::InvoiceLine],
}

/// Applies a change now: new price and quantity (and, for an interval switch, a new anchor and
/// period), the paid proration invoice, and the change record, if and only if the subscription is
/// still at `sub.version`. A plan change replaces any scheduled change; a seat change keeps it.
pub async fn apply_now(
    db: &Db,
    sub: &SubscriptionRow,
    new_period: Option<(i64, i64)>,
    keep_scheduled: bool,
    settlement: Settlement<'_>,
    change: &ChangeRecord<'_>,
    now: i64,
) -> Result<Option<InvoiceId>, ChangeError> {
    let Settlement {
        charge,
        credit,
        next_invoice,
    } = settlement;
    let mut tx = db.begin_write().await?;
    let (anchor, start, end) = match new_period {
        Some((start, end)) => (start, start, end),
        None => (
            sub.billing_anchor,
            sub.current_period_start,
            sub.current_period_end,
        ),
    };
    let updated = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE subscriptions SET {PIN_TERMS}, price_id = $3, quantity = $4, billing_anchor = $5, current_period_start = $6, \
         current_period_end = $7, \
         scheduled_price_id = CASE WHEN $8 = 1 THEN scheduled_price_id ELSE NULL END, \
         scheduled_quantity = CASE WHEN $8 = 1 THEN scheduled_quantity ELSE NULL END, \
         version = version + 1 WHERE id = $1 AND version = $2"
    )))
    .bind(&sub.id)
    .bind(sub.version)
    .bind(change.to_price_id)
    .bind(change.to_quantity)
    .bind(anchor)
    .bind(start)
    .bind(end)
    .bind(i64::from(keep_scheduled))
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(ChangeError::Stale);
    }
    hold_seats(&mut tx, &sub.org_id, change.seats_left, now).await?;
    let mut invoice_id = None;
    if let Some(charge) = charge {
        let id = super::invoices::insert(
            &mut tx,
            &super::invoices::NewInvoice {
                org_id: &sub.org_id,
                subscription_id: Some(&sub.id),
                billing_reason: "subscription_update",
                draft: charge.invoice,
                paid: true,
                now,
            },
        )
        .await?
        .id;
        super::invoices::insert_payment(
            &mut tx,
            &sub.org_id,
            Some(&id),
            charge.payment_intent_id,
            charge.invoice.total,
            now,
        )
        .await?;
        invoice_id = Some(id);
    }
    if let Some(credit) = credit.filter(|c| c.minor_units() > 0) {
        super::credits::record_in_tx(
            &mut tx,
            &super::credits::CreditEntry {
                org_id: &sub.org_id,
                currency: credit.currency(),
                amount: credit.minor_units(),
                reason: &format!("Unused time: {}", change.detail),
                invoice_id: invoice_id.as_ref(),
                credit_note_id: None,
                actor: &change.actor.name,
            },
            now,
        )
        .await?;
        let target = format!("org:{}", sub.org_id);
        let note = format!("unused time of the old plan: {}", change.detail);
        super::audit::record(
            &mut tx,
            &super::audit::AuditEntry {
                org_id: Some(&sub.org_id),
                amount: Some(credit.minor_units()),
                currency: Some(credit.currency().code()),
                reason_code: change.reason_code,
                note: &note,
                ..change.actor.did("account_credit_for_unused_time", &target)
            },
            now,
        )
        .await?;
    }
    super::pending_lines::add_in_tx(&mut tx, &sub.id, &sub.org_id, next_invoice, now).await?;
    record_change(
        &mut tx,
        sub,
        &ChangeRecord {
            invoice_id: invoice_id.as_ref(),
            ..*change
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(invoice_id)
}

/// Sets (or, with `None`, clears) the change waiting for the period end, if the subscription is
/// still at `sub.version`.
pub async fn set_scheduled(
    db: &Db,
    sub: &SubscriptionRow,
    scheduled: Option<(&str, i64)>,
    change: &ChangeRecord<'_>,
    now: i64,
) -> Result<(), ChangeError> {
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE subscriptions SET scheduled_price_id = $3, scheduled_quantity = $4, version = version + 1 \
         WHERE id = $1 AND version = $2",
    )
    .bind(&sub.id)
    .bind(sub.version)
    .bind(scheduled.map(|(price, _)| price))
    .bind(scheduled.map(|(_, quantity)| quantity))
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(ChangeError::Stale);
    }
    hold_seats(&mut tx, &sub.org_id, change.seats_left, now).await?;
    record_change(&mut tx, sub, change, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Cancels at the period end (with the reason) or, with `None`, resumes; version-checked.
pub async fn set_cancel_at_period_end(
    db: &Db,
    sub: &SubscriptionRow,
    reason: Option<&str>,
    change: &ChangeRecord<'_>,
    now: i64,
) -> Result<(), ChangeError> {
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE subscriptions SET cancel_at_period_end = $3, cancel_reason = $4, version = version + 1 \
         WHERE id = $1 AND version = $2",
    )
    .bind(&sub.id)
    .bind(sub.version)
    .bind(i64::from(reason.is_some()))
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(ChangeError::Stale);
    }
    hold_seats(&mut tx, &sub.org_id, change.seats_left, now).await?;
    record_change(&mut tx, sub, change, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Puts a coupon on the subscription (replacing a used-up one) and records the redemption,
/// version-checked.
pub async fn set_coupon(
    db: &Db,
    sub: &SubscriptionRow,
    code: &str,
    coupon_id: &str,
    change: &ChangeRecord<'_>,
    now: i64,
) -> Result<(), ChangeError> {
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE subscriptions SET coupon_id = $3, coupon_periods_applied = 0, version = version + 1 \
         WHERE id = $1 AND version = $2",
    )
    .bind(&sub.id)
    .bind(sub.version)
    .bind(coupon_id)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(ChangeError::Stale);
    }
    super::coupons::redeem_in_tx(&mut tx, code, coupon_id, &sub.org_id, &sub.id, now).await?;
    record_change(&mut tx, sub, change, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Moves a trialing subscription's trial end (and first billing date) later by `days`, with the
/// audit entry. Returns the new trial end, or `None` when the organisation is not trialing.
pub async fn extend_trial(
    db: &Db,
    org_id: &OrgId,
    days: i64,
    audit: &super::audit::AuditEntry<'_>,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "UPDATE subscriptions SET current_period_end = current_period_end + $2, billing_anchor = billing_anchor + $2, \
         trial_end = current_period_end + $2, version = version + 1 \
         WHERE org_id = $1 AND status = 'trialing' RETURNING current_period_end",
    )
    .bind(org_id)
    .bind(days * 86_400)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    super::audit::append_in_tx(&mut tx, db.dialect, audit, now).await?;
    tx.commit().await?;
    Ok(Some(row.try_get("current_period_end")?))
}

/// When the newest change of price or seats already in effect in the subscription's period took
/// effect (scheduled changes waiting for the period end do not count).
pub async fn last_change_at(
    db: &Db,
    subscription_id: &SubscriptionId,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT MAX(effective_at) FROM subscription_changes WHERE subscription_id = $1 \
         AND kind NOT LIKE 'scheduled_%' AND (to_price_id <> from_price_id OR to_quantity <> from_quantity) \
         AND effective_at <= \
         (SELECT current_period_end FROM subscriptions WHERE id = $1) - 1",
    )
    .bind(subscription_id)
    .fetch_one(&db.pool)
    .await
}
