//! What a bill run reads and writes: claiming due work under a lease, moving a subscription past
//! its period end, and recording the outcome of each payment attempt.
//!
//! Exactly-once comes from the rows themselves, not from the leases: a period end is applied only
//! if the subscription is still at the version that was read, a renewal invoice is unique per
//! subscription and period, and an attempt's outcome is recorded only if the invoice is still
//! open at the attempt before it. Leases only keep workers from doing the same work at once.

use super::invoices::{self, NewInvoice};
use super::members::{queue_email, OutgoingEmail};
use super::subscriptions::{record_change, ChangeError, ChangeRecord, SubscriptionRow};
use super::Db;
use crate::domain::ids::{InvoiceId, OrgId, SubscriptionId};
use crate::domain::{Money, PeriodEndDecision};
use sqlx::Row;

/// Which rows a claim may take.
#[derive(Clone, Copy, Debug)]
pub struct Claim<'a> {
    pub holder: &'a str,
    /// The time organisations without a test clock live at.
    pub real_now: i64,
    /// Wall-clock seconds, for leases (they measure whether a worker is alive, not billing time).
    pub wall_now: i64,
    pub lease_secs: i64,
    /// Only organisations on this test clock; all organisations when `None`.
    pub test_clock: Option<&'a str>,
    pub limit: i64,
}

/// Claims live subscriptions whose period has ended (at their organisation's time), oldest first.
pub async fn claim_due_subscriptions(
    db: &Db,
    c: &Claim<'_>,
) -> Result<Vec<SubscriptionId>, sqlx::Error> {
    let live = format!(
        "t.status IN ('active', 'trialing', 'past_due') AND t.renewal_failures < {MAX_RENEWAL_FAILURES}"
    );
    claim_due(db, c, "subscriptions", "current_period_end", &live).await
}

/// Claims open invoices whose next payment attempt is due, oldest first.
pub async fn claim_due_invoices(db: &Db, c: &Claim<'_>) -> Result<Vec<InvoiceId>, sqlx::Error> {
    claim_due(db, c, "invoices", "next_attempt_at", "t.status = 'open'").await
}

/// Leases up to `c.limit` rows of `table` (aliased `t` in `only`) that match `only` and whose
/// `due` time has come at their organisation's time, oldest first, unless another worker's
/// lease on them still runs. Returns their ids.
async fn claim_due<T>(
    db: &Db,
    c: &Claim<'_>,
    table: &'static str,
    due: &'static str,
    only: &str,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    let sql = format!(
        "UPDATE {table} SET lease_holder = $1, lease_until = $2 WHERE id IN ( \
           SELECT t.id FROM {table} t JOIN organizations o ON o.id = t.org_id \
           LEFT JOIN test_clocks tc ON tc.id = o.test_clock_id \
           WHERE {only} AND t.{due} <= COALESCE(tc.frozen_at, $3) \
             AND (t.lease_until IS NULL OR t.lease_until < $4) \
             AND ($5 = '' OR o.test_clock_id = $5) \
           ORDER BY t.{due}, t.id LIMIT $6) \
         AND (lease_until IS NULL OR lease_until < $4) RETURNING id"
    );
    // Only this file's constants reach the text; every value is bound.
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(c.holder)
        .bind(c.wall_now + c.lease_secs)
        .bind(c.real_now)
        .bind(c.wall_now)
        .bind(c.test_clock.unwrap_or(""))
        .bind(c.limit)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

/// What applying a period end wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeriodEndOutcome {
    Renewed {
        /// The renewal invoice, when the new period costs anything.
        invoice: Option<invoices::WrittenInvoice>,
    },
    MovedToFree,
    Ended,
}

/// The usage a period end bills: the ratings to record, and, when the paid plan stops there
/// (moved to free or ended), the invoice for the period's usage (a renewal carries its usage
/// lines on its own invoice instead).
#[derive(Default)]
pub struct UsageBilling<'a> {
    pub ratings: &'a [super::usage::Rating],
    pub final_invoice: Option<&'a crate::domain::InvoiceDraft>,
    /// The pending proration lines the invoice bills ([`super::pending_lines`]).
    pub pending_lines: &'a [String],
}

/// Applies `decision` to `sub` at its period end, all or nothing, if the subscription is still at
/// the version that was read. `reason` says why paid service stops, for the record.
pub async fn apply_period_end(
    db: &Db,
    sub: &SubscriptionRow,
    decision: &PeriodEndDecision,
    usage: &UsageBilling<'_>,
    reason: &str,
    now: i64,
) -> Result<PeriodEndOutcome, ChangeError> {
    let mut tx = db.begin_write().await?;
    let at = sub.current_period_end;
    let (outcome, record_price, record_quantity, kind, detail, amount, invoice_id) = match decision
    {
        PeriodEndDecision::Renew {
            price_id,
            quantity,
            anchor,
            period,
            invoice,
            applied_scheduled,
        } => {
            let updated = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE subscriptions SET {}, price_id = $3, quantity = $4, billing_anchor = $5, \
                 current_period_start = $6, current_period_end = $7, scheduled_price_id = NULL, \
                 scheduled_quantity = NULL, coupon_periods_applied = coupon_periods_applied + $8, \
                 status = CASE WHEN status = 'trialing' THEN 'active' ELSE status END, \
                 lease_holder = NULL, lease_until = NULL, version = version + 1 \
                 WHERE id = $1 AND version = $2",
                super::subscriptions::PIN_TERMS
            )))
            .bind(&sub.id)
            .bind(sub.version)
            .bind(price_id)
            .bind(quantity)
            .bind(anchor.timestamp())
            .bind(period.start.timestamp())
            .bind(period.end.timestamp())
            .bind(i64::from(invoice.coupon_applied))
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() != 1 {
                return Err(ChangeError::Stale);
            }
            let written = if invoice.total.minor_units() != 0 {
                Some(
                    invoices::insert(
                        &mut tx,
                        &NewInvoice {
                            org_id: &sub.org_id,
                            subscription_id: Some(&sub.id),
                            billing_reason: "subscription_cycle",
                            draft: invoice,
                            paid: false,
                            now,
                        },
                    )
                    .await?,
                )
            } else {
                None
            };
            let kind = if *applied_scheduled {
                "renewal_with_scheduled_change"
            } else {
                "renewal"
            };
            let detail = match &written {
                Some(w) => format!(
                    "renewed: {} × {quantity}, invoice {} for {}",
                    price_id, w.number, invoice.total
                ),
                None => format!("renewed: {price_id} × {quantity}, nothing to pay"),
            };
            let invoice_id = written.as_ref().map(|w| w.id.clone());
            (
                PeriodEndOutcome::Renewed { invoice: written },
                price_id.clone(),
                *quantity,
                kind,
                detail,
                invoice.total,
                invoice_id,
            )
        }
        PeriodEndDecision::MoveToFree {
            price_id,
            quantity,
            anchor,
            period,
        } => {
            let updated = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE subscriptions SET {}, price_id = $3, quantity = $4, billing_anchor = $5, \
                 current_period_start = $6, current_period_end = $7, status = 'active', \
                 scheduled_price_id = NULL, scheduled_quantity = NULL, cancel_at_period_end = 0, \
                 lease_holder = NULL, lease_until = NULL, version = version + 1 \
                 WHERE id = $1 AND version = $2",
                super::subscriptions::PIN_TERMS
            )))
            .bind(&sub.id)
            .bind(sub.version)
            .bind(price_id)
            .bind(quantity)
            .bind(anchor.timestamp())
            .bind(period.start.timestamp())
            .bind(period.end.timestamp())
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() != 1 {
                return Err(ChangeError::Stale);
            }
            (
                PeriodEndOutcome::MovedToFree,
                price_id.clone(),
                *quantity,
                "moved_to_free",
                format!("{reason}: moved to the free plan"),
                Money::zero(currency_of_price(&mut tx, price_id).await?),
                None,
            )
        }
        PeriodEndDecision::End => {
            let updated = sqlx::query(
                "UPDATE subscriptions SET status = 'canceled', ended_at = $3, scheduled_price_id = NULL, \
                 scheduled_quantity = NULL, lease_holder = NULL, lease_until = NULL, version = version + 1 \
                 WHERE id = $1 AND version = $2",
            )
            .bind(&sub.id)
            .bind(sub.version)
            .bind(now.min(at).max(sub.current_period_start))
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() != 1 {
                return Err(ChangeError::Stale);
            }
            (
                PeriodEndOutcome::Ended,
                sub.price_id.clone(),
                sub.quantity,
                "ended",
                format!("{reason}: the subscription ended"),
                Money::zero(currency_of_price(&mut tx, &sub.price_id).await?),
                None,
            )
        }
    };
    let system = super::audit::Actor::system();
    record_change(
        &mut tx,
        sub,
        &ChangeRecord {
            actor: &system,
            reason_code: None,
            note: "",
            kind,
            to_price_id: &record_price,
            to_quantity: record_quantity,
            amount_due: amount,
            effective_at: at,
            invoice_id: invoice_id.as_ref(),
            detail: &detail,
            seats_left: None,
        },
        now,
    )
    .await?;
    // A plan that stops at this period end still owes the period's usage: on an invoice of its
    // own, collected like a renewal's.
    let mut usage_invoice = invoice_id.clone();
    if let (false, Some(draft)) = (
        matches!(decision, PeriodEndDecision::Renew { .. }),
        usage.final_invoice,
    ) {
        if draft.total.minor_units() != 0 {
            let written = invoices::insert(
                &mut tx,
                &NewInvoice {
                    org_id: &sub.org_id,
                    subscription_id: Some(&sub.id),
                    billing_reason: "final_usage",
                    draft,
                    paid: false,
                    now,
                },
            )
            .await?;
            usage_invoice = Some(written.id);
        }
    }
    super::usage::record_ratings(&mut tx, &sub.id, usage_invoice.as_ref(), usage.ratings, now)
        .await?;
    if !super::pending_lines::settle_in_tx(
        &mut tx,
        usage.pending_lines,
        usage_invoice.as_ref(),
        now,
    )
    .await?
    {
        return Err(ChangeError::Stale);
    }
    sqlx::query(
        "UPDATE subscriptions SET renewal_failures = 0, renewal_error = NULL, renewal_failed_at = NULL \
         WHERE id = $1 AND renewal_failures > 0",
    )
    .bind(&sub.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// How many times in a row a renewal may fail before the bill run stops trying it and it waits
/// for staff (the console lists it as needing attention, with its error).
pub const MAX_RENEWAL_FAILURES: i64 = 5;

/// Records that renewing a subscription failed with `error`. Returns the failures in a row so
/// far; at [`MAX_RENEWAL_FAILURES`] it stops being claimed, and that is audited.
pub async fn record_renewal_failure(
    db: &Db,
    subscription_id: &SubscriptionId,
    error: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let error: String = error.chars().take(1000).collect();
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "UPDATE subscriptions SET renewal_failures = renewal_failures + 1, renewal_error = $2, \
         renewal_failed_at = $3, lease_holder = NULL, lease_until = NULL WHERE id = $1 \
         RETURNING org_id, CAST(renewal_failures AS BIGINT) AS failures",
    )
    .bind(subscription_id)
    .bind(&error)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(0);
    };
    let failures: i64 = row.try_get("failures")?;
    let org_id: OrgId = row.try_get("org_id")?;
    let target = format!("subscription:{subscription_id}");
    let note = if failures >= MAX_RENEWAL_FAILURES {
        format!("failed {failures} times in a row; no longer retried until staff retry it: {error}")
    } else {
        format!("failed (try {failures} of {MAX_RENEWAL_FAILURES}): {error}")
    };
    super::audit::record(
        &mut tx,
        &super::audit::AuditEntry {
            org_id: Some(&org_id),
            note: &note,
            ..super::audit::Actor::system().did(
                if failures >= MAX_RENEWAL_FAILURES {
                    "renewal_needs_attention"
                } else {
                    "renewal_failed"
                },
                &target,
            )
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(failures)
}

/// A renewal that stopped being retried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StuckRenewal {
    pub subscription_id: SubscriptionId,
    pub org_id: OrgId,
    pub org_name: String,
    pub failures: i64,
    pub error: String,
    pub failed_at: i64,
}

/// Renewals that need attention (failed [`MAX_RENEWAL_FAILURES`] times), newest failure first;
/// `org_id` narrows them to one organisation.
pub async fn stuck_renewals(
    db: &Db,
    org_id: Option<&OrgId>,
) -> Result<Vec<StuckRenewal>, sqlx::Error> {
    sqlx::query(
        "SELECT s.id, s.org_id, o.name, CAST(s.renewal_failures AS BIGINT) AS failures, \
         COALESCE(s.renewal_error, '') AS error, COALESCE(s.renewal_failed_at, 0) AS failed_at \
         FROM subscriptions s JOIN organizations o ON o.id = s.org_id \
         WHERE s.renewal_failures >= $1 AND s.status IN ('active', 'trialing', 'past_due') \
         AND ($2 = '' OR s.org_id = $2) ORDER BY s.renewal_failed_at DESC, s.id LIMIT 200",
    )
    .bind(MAX_RENEWAL_FAILURES)
    .bind(org_id.map_or("", OrgId::as_str))
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(StuckRenewal {
            subscription_id: r.try_get("id")?,
            org_id: r.try_get("org_id")?,
            org_name: r.try_get("name")?,
            failures: r.try_get("failures")?,
            error: r.try_get("error")?,
            failed_at: r.try_get("failed_at")?,
        })
    })
    .collect()
}

/// Lets the bill run try a stuck renewal again (after staff fixed its cause), audited.
pub async fn retry_renewal(
    db: &Db,
    subscription_id: &SubscriptionId,
    audit: &super::audit::AuditEntry<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let reset = sqlx::query(
        "UPDATE subscriptions SET renewal_failures = 0, lease_holder = NULL, lease_until = NULL \
         WHERE id = $1 AND renewal_failures >= $2",
    )
    .bind(subscription_id)
    .bind(MAX_RENEWAL_FAILURES)
    .execute(&mut *tx)
    .await?;
    if reset.rows_affected() != 1 {
        return Ok(false);
    }
    super::audit::record(&mut tx, audit, now).await?;
    tx.commit().await?;
    Ok(true)
}

async fn currency_of_price(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    price_id: &str,
) -> Result<crate::domain::Currency, sqlx::Error> {
    let code: String = sqlx::query("SELECT currency FROM prices WHERE id = $1")
        .bind(price_id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("currency")?;
    crate::domain::Currency::parse(&code).map_err(|e| sqlx::Error::Decode(e.to_string().into()))
}

/// An invoice as collecting it needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectableInvoice {
    pub id: InvoiceId,
    pub org_id: OrgId,
    pub subscription_id: Option<SubscriptionId>,
    pub number: String,
    pub status: crate::domain::InvoiceStatus,
    pub currency: String,
    pub amount_due: i64,
    pub attempt_count: i64,
    pub next_attempt_at: Option<i64>,
}

pub async fn collectable(
    db: &Db,
    id: &InvoiceId,
) -> Result<Option<CollectableInvoice>, sqlx::Error> {
    sqlx::query(
        "SELECT id, org_id, subscription_id, number, status, currency, amount_due, attempt_count, next_attempt_at \
         FROM invoices WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| {
        Ok(CollectableInvoice {
            id: r.try_get("id")?,
            org_id: r.try_get("org_id")?,
            subscription_id: r.try_get("subscription_id")?,
            number: r.try_get("number")?,
            status: crate::store::status(&r, "status")?,
            currency: r.try_get("currency")?,
            amount_due: r.try_get("amount_due")?,
            attempt_count: r.try_get("attempt_count")?,
            next_attempt_at: r.try_get("next_attempt_at")?,
        })
    })
    .transpose()
}

/// What follows a settled invoice, in its transaction: the payment, and a past-due subscription
/// active again once nothing else is left unpaid.
async fn after_payment(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    invoice: &CollectableInvoice,
    payment_intent_id: &str,
    amount: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let currency = crate::domain::Currency::parse(&invoice.currency)
        .map_err(|e| sqlx::Error::Decode(e.to_string().into()))?;
    invoices::insert_payment(
        tx,
        &invoice.org_id,
        Some(&invoice.id),
        Some(payment_intent_id),
        Money::from_minor(amount, currency),
        now,
    )
    .await?;
    if let Some(sub) = &invoice.subscription_id {
        sqlx::query(
            "UPDATE subscriptions SET status = 'active', version = version + 1 WHERE id = $1 AND status = 'past_due' \
             AND NOT EXISTS (SELECT 1 FROM invoices WHERE subscription_id = $1 AND status = 'open')",
        )
        .bind(sub)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Records a successful payment of an open invoice: paid, the payment, and a past-due
/// subscription active again. Returns false (and writes nothing) when the invoice was already
/// settled or another attempt was recorded first.
pub async fn record_paid(
    db: &Db,
    invoice: &CollectableInvoice,
    attempt: i64,
    payment_intent_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE invoices SET status = 'paid', amount_paid = amount_due, paid_at = $3, attempt_count = $2, \
         next_attempt_at = NULL, last_payment_error = NULL, lease_holder = NULL, lease_until = NULL \
         WHERE id = $1 AND status = 'open' AND attempt_count = $2 - 1",
    )
    .bind(&invoice.id)
    .bind(attempt)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Ok(false);
    }
    after_payment(&mut tx, invoice, payment_intent_id, invoice.amount_due, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Records a hosted payment (pay now) of an open or uncollectible invoice for exactly what is
/// due. Returns false when the invoice was settled before (the payment is then to be refunded).
pub async fn record_paid_by_checkout(
    db: &Db,
    invoice: &CollectableInvoice,
    payment_intent_id: &str,
    amount: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE invoices SET status = 'paid', amount_paid = amount_due, paid_at = $3, next_attempt_at = NULL, \
         lease_holder = NULL, lease_until = NULL \
         WHERE id = $1 AND status IN ('open', 'uncollectible') AND amount_due = $2",
    )
    .bind(&invoice.id)
    .bind(amount)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Ok(false);
    }
    after_payment(&mut tx, invoice, payment_intent_id, amount, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// A failed attempt and what follows it.
pub struct FailedAttempt<'a> {
    pub attempt: i64,
    pub error: &'a str,
    /// When to try again; `None` when the retries are used up (the invoice becomes uncollectible).
    pub next_attempt_at: Option<i64>,
    /// The email telling the billing contact, with a link to pay.
    pub email: Option<OutgoingEmail<'a>>,
}

/// Records a failed attempt: the invoice's attempt count and next attempt (or uncollectible), the
/// subscription past due, and the email, together. Returns false when the invoice moved on first.
pub async fn record_failed(
    db: &Db,
    invoice: &CollectableInvoice,
    failed: &FailedAttempt<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE invoices SET attempt_count = $2, last_payment_error = $3, next_attempt_at = $4, \
         status = CASE WHEN $4 IS NULL THEN 'uncollectible' ELSE 'open' END, lease_holder = NULL, lease_until = NULL \
         WHERE id = $1 AND status = 'open' AND attempt_count = $2 - 1",
    )
    .bind(&invoice.id)
    .bind(failed.attempt)
    .bind(failed.error)
    .bind(failed.next_attempt_at)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Ok(false);
    }
    if let Some(sub) = &invoice.subscription_id {
        sqlx::query(
            "UPDATE subscriptions SET status = 'past_due', version = version + 1 WHERE id = $1 AND status = 'active'",
        )
        .bind(sub)
        .execute(&mut *tx)
        .await?;
    }
    if let Some(mail) = &failed.email {
        queue_email(&mut tx, Some(&invoice.org_id), mail, now).await?;
    }
    let target = format!("invoice:{}", invoice.id);
    let note = match failed.next_attempt_at {
        Some(_) => format!(
            "attempt {} failed: {}; retried on the dunning schedule",
            failed.attempt, failed.error
        ),
        None => format!(
            "attempt {} failed: {}; no retries left, the invoice is uncollectible",
            failed.attempt, failed.error
        ),
    };
    super::audit::record(
        &mut tx,
        &super::audit::AuditEntry {
            org_id: Some(&invoice.org_id),
            amount: Some(invoice.amount_due),
            currency: Some(&invoice.currency),
            note: &note,
            ..super::audit::Actor::system().did("payment_failed", &target)
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The email address billing messages go to: the organisation's owner.
pub async fn billing_contact(db: &Db, org_id: &OrgId) -> Result<Option<String>, sqlx::Error> {
    sqlx::query(
        "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 AND m.role = 'owner' ORDER BY m.created_at LIMIT 1",
    )
    .bind(org_id)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| r.try_get("email"))
    .transpose()
}

/// How much is due now: subscriptions past their period end and invoices due for an attempt.
pub async fn count_due(
    db: &Db,
    real_now: i64,
    test_clock: Option<&str>,
) -> Result<(i64, i64), sqlx::Error> {
    let subs: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM subscriptions s JOIN organizations o ON o.id = s.org_id \
         LEFT JOIN test_clocks tc ON tc.id = o.test_clock_id \
         WHERE s.status IN ('active', 'trialing', 'past_due') AND s.current_period_end <= COALESCE(tc.frozen_at, $1) \
           AND ($2 = '' OR o.test_clock_id = $2)",
    )
    .bind(real_now)
    .bind(test_clock.unwrap_or(""))
    .fetch_one(&db.pool)
    .await?
    .try_get("n")?;
    let invoices: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM invoices i JOIN organizations o ON o.id = i.org_id \
         LEFT JOIN test_clocks tc ON tc.id = o.test_clock_id \
         WHERE i.status = 'open' AND i.next_attempt_at <= COALESCE(tc.frozen_at, $1) \
           AND ($2 = '' OR o.test_clock_id = $2)",
    )
    .bind(real_now)
    .bind(test_clock.unwrap_or(""))
    .fetch_one(&db.pool)
    .await?
    .try_get("n")?;
    Ok((subs, invoices))
}

/// Makes an open invoice's next payment attempt due at `at` (a staff member's retry, audited
/// by the caller with the attempt's outcome).
pub async fn due_now(db: &Db, invoice_id: &InvoiceId, at: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE invoices SET next_attempt_at = $2, lease_holder = NULL, lease_until = NULL WHERE id = $1 AND status = 'open'",
    )
    .bind(invoice_id)
    .bind(at)
    .execute(&db.pool)
    .await?;
    Ok(())
}
