//! Credit notes against an invoice, and voiding an open one. A credit note never changes the
//! invoice's lines: it records an amount taken back, and what happened to it: an open invoice
//! owes less (`reduce_due`), a paid one gives the money back as account credit
//! (`credit_balance`) or as a refund to the card (`refund`, made by the caller at Stripe with the
//! note's id in the key). The notes of an invoice never exceed what it charged.

use super::Db;
use crate::domain::ids::{CreditNoteId, InvoiceId, OrgId};
use crate::domain::{Currency, Money};
use sqlx::Row;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreditOutcome {
    ReduceDue,
    CreditBalance,
    Refund,
}

impl CreditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CreditOutcome::ReduceDue => "reduce_due",
            CreditOutcome::CreditBalance => "credit_balance",
            CreditOutcome::Refund => "refund",
        }
    }
}

/// Why a credit note or a void was refused; the message says what is possible instead.
#[derive(Debug, thiserror::Error)]
pub enum CreditNoteError {
    #[error("there is no such invoice")]
    NotFound,
    #[error("the amount must be more than zero")]
    NotPositive,
    #[error("at most {0} can still be credited on this invoice")]
    TooMuch(Money),
    #[error("a {status} invoice cannot be credited this way: {hint}")]
    WrongState { status: String, hint: &'static str },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A written credit note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreditNote {
    pub id: CreditNoteId,
    pub number: String,
    pub amount: Money,
    pub outcome: CreditOutcome,
}

/// A credit note to issue.
pub struct NewCreditNote<'a> {
    pub org_id: &'a OrgId,
    pub invoice_id: &'a InvoiceId,
    /// Minor units of the invoice's currency.
    pub amount: i64,
    pub outcome: CreditOutcome,
    pub reason: &'a str,
    /// Who issued it (a staff member's email, or `system`).
    pub actor: &'a str,
}

/// Issues a credit note against an invoice of the organisation, all or nothing.
pub async fn issue(
    db: &Db,
    note: &NewCreditNote<'_>,
    now: i64,
) -> Result<CreditNote, CreditNoteError> {
    issue_with(db, note, None, None, now).await
}

/// [`issue`] for a staff action: with the form's request key (a second submission is refused by
/// a unique index) and the audit entry, written in the same transaction.
pub async fn issue_audited(
    db: &Db,
    note: &NewCreditNote<'_>,
    request_key: Option<&str>,
    audit: &super::audit::AuditEntry<'_>,
    now: i64,
) -> Result<CreditNote, CreditNoteError> {
    issue_with(db, note, request_key, Some(audit), now).await
}

async fn issue_with(
    db: &Db,
    note: &NewCreditNote<'_>,
    request_key: Option<&str>,
    audit: Option<&super::audit::AuditEntry<'_>>,
    now: i64,
) -> Result<CreditNote, CreditNoteError> {
    let NewCreditNote {
        org_id,
        invoice_id,
        amount,
        outcome,
        reason,
        actor,
    } = *note;
    if amount <= 0 {
        return Err(CreditNoteError::NotPositive);
    }
    let mut tx = db.begin_write().await?;
    // What can still be credited is read under the invoice's lock, so two credit notes at once
    // cannot together pass what it charged.
    super::lock(&mut tx, super::Lock::Invoice(invoice_id)).await?;
    let row = sqlx::query(
        "SELECT number, status, currency, total, amount_due, amount_paid FROM invoices WHERE id = $1 AND org_id = $2",
    )
    .bind(invoice_id)
    .bind(org_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(CreditNoteError::NotFound)?;
    let status: String = row.try_get("status")?;
    let currency = Currency::parse(&row.try_get::<String, _>("currency")?)
        .map_err(|e| sqlx::Error::Decode(e.to_string().into()))?;
    let credited: i64 = sqlx::query(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS n FROM credit_notes WHERE invoice_id = $1",
    )
    .bind(invoice_id)
    .fetch_one(&mut *tx)
    .await?
    .try_get("n")?;
    let total: i64 = row.try_get("total")?;
    let available = match (outcome, status.as_str()) {
        (CreditOutcome::ReduceDue, "open" | "uncollectible") => row.try_get::<i64, _>("amount_due")?,
        (CreditOutcome::ReduceDue, _) => {
            return Err(CreditNoteError::WrongState {
                status,
                hint: "only what is still due can be reduced; credit a paid invoice to the balance or refund it",
            })
        }
        (_, "paid") => (row.try_get::<i64, _>("amount_paid")?).min(total - credited),
        _ => {
            return Err(CreditNoteError::WrongState {
                status,
                hint: "only a paid invoice can be refunded or credited to the balance; reduce what an open one owes instead",
            })
        }
    };
    if amount > available {
        return Err(CreditNoteError::TooMuch(Money::from_minor(
            available.max(0),
            currency,
        )));
    }
    let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM credit_notes WHERE org_id = $1")
        .bind(org_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
    let id: CreditNoteId = super::ids::new();
    let number = format!("CN-{:04}", count + 1);
    sqlx::query(
        "INSERT INTO credit_notes (id, org_id, invoice_id, number, currency, amount, outcome, reason, actor, created_at, \
         request_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&id)
    .bind(org_id)
    .bind(invoice_id)
    .bind(&number)
    .bind(currency.code())
    .bind(amount)
    .bind(outcome.as_str())
    .bind(reason)
    .bind(actor)
    .bind(now)
    .bind(request_key)
    .execute(&mut *tx)
    .await?;
    match audit {
        Some(entry) => {
            super::audit::append_in_tx(&mut tx, db.dialect, entry, now).await?;
        }
        None => {
            let target = format!("invoice:{invoice_id}");
            let system = super::audit::Actor {
                name: actor.to_string(),
                role: "system".into(),
            };
            super::audit::append_in_tx(
                &mut tx,
                db.dialect,
                &super::audit::AuditEntry {
                    org_id: Some(org_id),
                    amount: Some(amount),
                    currency: Some(currency.code()),
                    note: reason,
                    ..system.did("credit_note", &target)
                },
                now,
            )
            .await?;
        }
    }
    match outcome {
        CreditOutcome::ReduceDue => {
            // What is left to collect; nothing left means the invoice is settled.
            sqlx::query(
                "UPDATE invoices SET amount_due = amount_due - $2, \
                 status = CASE WHEN amount_due - $2 = 0 THEN 'paid' ELSE status END, \
                 paid_at = CASE WHEN amount_due - $2 = 0 THEN $3 ELSE paid_at END, \
                 next_attempt_at = CASE WHEN amount_due - $2 = 0 THEN NULL ELSE next_attempt_at END \
                 WHERE id = $1",
            )
            .bind(invoice_id)
            .bind(amount)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        CreditOutcome::CreditBalance => {
            super::credits::record_in_tx(
                &mut tx,
                &super::credits::CreditEntry {
                    org_id,
                    currency,
                    amount,
                    reason: &format!("Credit note {number}: {reason}"),
                    invoice_id: Some(invoice_id),
                    credit_note_id: Some(&id),
                    actor,
                },
                now,
            )
            .await?;
        }
        CreditOutcome::Refund => {
            sqlx::query(
                "UPDATE payments SET amount_refunded = amount_refunded + $2 WHERE id = \
                 (SELECT id FROM payments WHERE invoice_id = $1 AND status = 'succeeded' \
                  ORDER BY created_at DESC LIMIT 1)",
            )
            .bind(invoice_id)
            .bind(amount)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(CreditNote {
        id,
        number,
        amount: Money::from_minor(amount, currency),
        outcome,
    })
}

/// Voids an open (or uncollectible) invoice: it is no longer owed or collected. Its lines stay.
pub async fn void(
    db: &Db,
    org_id: &OrgId,
    invoice_id: &InvoiceId,
    now: i64,
) -> Result<(), CreditNoteError> {
    close_unpaid(db, org_id, invoice_id, "void", None, now).await
}

/// Closes an unpaid invoice as `void` (not owed) or `uncollectible` (owed, no longer chased),
/// with the staff action's audit entry in the same transaction.
pub async fn close_unpaid(
    db: &Db,
    org_id: &OrgId,
    invoice_id: &InvoiceId,
    status: &str,
    audit: Option<&super::audit::AuditEntry<'_>>,
    now: i64,
) -> Result<(), CreditNoteError> {
    let mut tx = db.begin_write().await?;
    // Void from open or uncollectible; uncollectible only from open.
    let also_from = if status == "void" {
        "uncollectible"
    } else {
        "open"
    };
    let updated = sqlx::query(
        "UPDATE invoices SET status = $4, voided_at = CASE WHEN $4 = 'void' THEN $3 ELSE voided_at END, \
         next_attempt_at = NULL WHERE id = $1 AND org_id = $2 AND (status = 'open' OR status = $5)",
    )
    .bind(invoice_id)
    .bind(org_id)
    .bind(now)
    .bind(status)
    .bind(also_from)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        let current: Option<String> =
            sqlx::query("SELECT status FROM invoices WHERE id = $1 AND org_id = $2")
                .bind(invoice_id)
                .bind(org_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("status"))
                .transpose()?;
        return Err(match current {
            None => CreditNoteError::NotFound,
            Some(current) => CreditNoteError::WrongState {
                status: current,
                hint: if status == "void" {
                    "only an open invoice can be voided; credit or refund a paid one"
                } else {
                    "only an open invoice can be marked uncollectible"
                },
            },
        });
    }
    let target = format!("invoice:{invoice_id}");
    let system = super::audit::Actor::system();
    let entry = super::audit::AuditEntry {
        org_id: Some(org_id),
        note: "closed",
        ..system.did(
            if status == "void" {
                "void"
            } else {
                "mark_uncollectible"
            },
            &target,
        )
    };
    super::audit::append_in_tx(&mut tx, db.dialect, audit.unwrap_or(&entry), now).await?;
    // A past-due subscription with nothing else unpaid is active again.
    sqlx::query(
        "UPDATE subscriptions SET status = 'active', version = version + 1 WHERE status = 'past_due' \
         AND id = (SELECT subscription_id FROM invoices WHERE id = $1) \
         AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.subscription_id = subscriptions.id AND i.status = 'open')",
    )
    .bind(invoice_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
