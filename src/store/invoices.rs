//! Invoices as the portal lists them.

use super::{new_id, Db};
use crate::domain::ids::{InvoiceId, OrgId, SubscriptionId};
use crate::domain::{Currency, InvoiceDraft, LineKind, Money};
use sqlx::Row;

/// An invoice about to be written.
pub struct NewInvoice<'a> {
    pub org_id: &'a OrgId,
    pub subscription_id: Option<&'a SubscriptionId>,
    /// `subscription_create`, `subscription_cycle` or `subscription_update`.
    pub billing_reason: &'a str,
    pub draft: &'a InvoiceDraft,
    /// Already paid (at a checkout or an immediate change): written as `paid`.
    pub paid: bool,
    pub now: i64,
}

/// What was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenInvoice {
    pub id: InvoiceId,
    pub number: String,
    /// Left to collect after account credit: 0 when the invoice is paid.
    pub amount_due: i64,
}

/// Writes an invoice with the next number of the organisation and its lines. Numbers have no
/// gaps: they are counted inside the caller's transaction and a unique index refuses a duplicate.
/// An unpaid invoice first consumes the organisation's account credit in its currency; what is
/// left is due now (`next_attempt_at` = now), and an invoice the credit covers is paid. One that
/// comes to less than nothing is paid and leaves the difference as account credit.
pub async fn insert(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    new: &NewInvoice<'_>,
) -> Result<WrittenInvoice, sqlx::Error> {
    let draft = new.draft;
    let invoice_id: InvoiceId = super::ids::new();
    let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM invoices WHERE org_id = $1")
        .bind(new.org_id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
    let number = format!("{:04}", count + 1);
    let total = draft.total.minor_units();
    let credit_applied = if new.paid || total <= 0 {
        0
    } else {
        super::credits::balance_in_tx(tx, new.org_id, draft.currency)
            .await?
            .clamp(0, total)
    };
    let amount_due = if new.paid { 0 } else { total - credit_applied };
    let paid_now = new.paid || amount_due <= 0;
    sqlx::query(
        "INSERT INTO invoices (id, org_id, number, status, currency, subtotal, discount, total, amount_paid, \
         period_start, period_end, created_at, paid_at, subscription_id, billing_reason, credit_applied, amount_due, \
         next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    )
    .bind(&invoice_id)
    .bind(new.org_id)
    .bind(&number)
    .bind(if paid_now { "paid" } else { "open" })
    .bind(draft.currency.code())
    .bind(draft.subtotal.minor_units())
    .bind(draft.discount.minor_units())
    .bind(total)
    .bind(if new.paid { total } else { 0 })
    .bind(draft.period.start.timestamp())
    .bind(draft.period.end.timestamp())
    .bind(new.now)
    .bind(paid_now.then_some(new.now))
    .bind(new.subscription_id)
    .bind(new.billing_reason)
    .bind(credit_applied)
    .bind(amount_due.max(0))
    .bind((!paid_now).then_some(new.now))
    .execute(&mut **tx)
    .await?;
    for (position, line) in draft.lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO invoice_lines (invoice_id, position, kind, description, price_id, quantity, amount, explanation) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&invoice_id)
        .bind(position as i64)
        .bind(line_kind_name(line.kind))
        .bind(&line.description)
        .bind(line.price_id.as_deref())
        .bind(line.quantity)
        .bind(line.amount.minor_units())
        .bind(&line.explanation)
        .execute(&mut **tx)
        .await?;
    }
    // An invoice whose credits outweigh its charges (a downgrade's unused time billed on the
    // renewal, say) owes the customer the difference: it becomes account credit.
    if !new.paid && total < 0 {
        super::credits::record_in_tx(
            tx,
            &super::credits::CreditEntry {
                org_id: new.org_id,
                currency: draft.currency,
                amount: -total,
                reason: &format!("Left over from invoice {number}"),
                invoice_id: Some(&invoice_id),
                credit_note_id: None,
                actor: "system",
            },
            new.now,
        )
        .await?;
    }
    if credit_applied > 0 {
        super::credits::record_in_tx(
            tx,
            &super::credits::CreditEntry {
                org_id: new.org_id,
                currency: draft.currency,
                amount: -credit_applied,
                reason: &format!("Applied to invoice {number}"),
                invoice_id: Some(&invoice_id),
                credit_note_id: None,
                actor: "system",
            },
            new.now,
        )
        .await?;
    }
    Ok(WrittenInvoice {
        id: invoice_id,
        number,
        amount_due: amount_due.max(0),
    })
}

fn line_kind_name(kind: LineKind) -> &'static str {
    match kind {
        LineKind::Recurring => "recurring",
        LineKind::Usage => "usage",
        LineKind::ProrationCredit => "prorationcredit",
        LineKind::ProrationCharge => "prorationcharge",
        LineKind::Discount => "discount",
        LineKind::Commitment => "commitment",
    }
}

/// Records money received (optionally for an invoice), with its entry in the audit log in the
/// same transaction: every payment is in the log, whatever took it (checkout, renewal, pay now,
/// a plan change).
pub async fn insert_payment(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    org_id: &OrgId,
    invoice_id: Option<&InvoiceId>,
    payment_intent_id: Option<&str>,
    amount: Money,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO payments (id, org_id, invoice_id, stripe_payment_intent_id, amount, currency, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'succeeded', $7)",
    )
    .bind(new_id("pay"))
    .bind(org_id)
    .bind(invoice_id)
    .bind(payment_intent_id)
    .bind(amount.minor_units())
    .bind(amount.currency().code().to_lowercase())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let dialect = if tx.backend_name() == "PostgreSQL" {
        super::Dialect::Postgres
    } else {
        super::Dialect::Sqlite
    };
    let target = match invoice_id {
        Some(id) => format!("invoice:{id}"),
        None => format!("org:{org_id}"),
    };
    let note = match payment_intent_id {
        Some(intent) => format!("card payment {intent}"),
        None => "payment".to_string(),
    };
    super::audit::append_in_tx(
        tx,
        dialect,
        &super::audit::AuditEntry {
            actor: "system",
            actor_role: "system",
            action: "payment_received",
            target: &target,
            org_id: Some(org_id),
            amount: Some(amount.minor_units()),
            currency: Some(amount.currency().code()),
            note: &note,
            request_id: payment_intent_id,
            ..Default::default()
        },
        now,
    )
    .await?;
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceSummary {
    pub id: InvoiceId,
    pub number: String,
    pub status: crate::domain::InvoiceStatus,
    /// Formatted for display, e.g. "$60.00".
    pub total: String,
    pub created_at: i64,
}

/// The organisation's newest invoice.
pub async fn latest_for_org(
    db: &Db,
    org_id: &OrgId,
) -> Result<Option<InvoiceSummary>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, number, status, currency, total, created_at FROM invoices WHERE org_id = $1 \
         ORDER BY created_at DESC, number DESC LIMIT 1",
    )
    .bind(org_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        let currency: String = r.try_get("currency")?;
        let currency =
            Currency::parse(&currency).map_err(|e| sqlx::Error::Decode(e.to_string().into()))?;
        Ok(InvoiceSummary {
            id: r.try_get("id")?,
            number: r.try_get("number")?,
            status: crate::store::status(&r, "status")?,
            total: Money::from_minor(r.try_get("total")?, currency).to_string(),
            created_at: r.try_get("created_at")?,
        })
    })
    .transpose()
}

/// Whether a payment for this Stripe payment intent has been recorded.
pub async fn payment_recorded(db: &Db, payment_intent_id: &str) -> Result<bool, sqlx::Error> {
    let n: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM payments WHERE stripe_payment_intent_id = $1")
            .bind(payment_intent_id)
            .fetch_one(&db.pool)
            .await?
            .try_get("n")?;
    Ok(n > 0)
}

/// An invoice as the customer's list and detail pages show it (amounts in minor units).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceRow {
    pub id: InvoiceId,
    pub org_id: OrgId,
    pub number: String,
    pub status: crate::domain::InvoiceStatus,
    pub currency: Currency,
    pub subtotal: i64,
    pub discount: i64,
    pub total: i64,
    pub credit_applied: i64,
    pub amount_due: i64,
    pub amount_paid: i64,
    pub period_start: i64,
    pub period_end: i64,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    pub billing_reason: String,
    pub attempt_count: i64,
    pub next_attempt_at: Option<i64>,
    pub last_payment_error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceLineRow {
    pub description: String,
    pub quantity: i64,
    pub amount: i64,
    pub explanation: String,
}

const INVOICE_COLUMNS: &str = "id, org_id, number, status, currency, subtotal, discount, total, credit_applied, \
    amount_due, amount_paid, period_start, period_end, created_at, paid_at, billing_reason, attempt_count, \
    next_attempt_at, last_payment_error";

fn invoice_from_row(r: sqlx::any::AnyRow) -> Result<InvoiceRow, sqlx::Error> {
    let currency: String = r.try_get("currency")?;
    Ok(InvoiceRow {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        number: r.try_get("number")?,
        status: crate::store::status(&r, "status")?,
        currency: Currency::parse(&currency)
            .map_err(|e| sqlx::Error::Decode(e.to_string().into()))?,
        subtotal: r.try_get("subtotal")?,
        discount: r.try_get("discount")?,
        total: r.try_get("total")?,
        credit_applied: r.try_get("credit_applied")?,
        amount_due: r.try_get("amount_due")?,
        amount_paid: r.try_get("amount_paid")?,
        period_start: r.try_get("period_start")?,
        period_end: r.try_get("period_end")?,
        created_at: r.try_get("created_at")?,
        paid_at: r.try_get("paid_at")?,
        billing_reason: r.try_get("billing_reason")?,
        attempt_count: r.try_get("attempt_count")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_payment_error: r.try_get("last_payment_error")?,
    })
}

/// The organisation's invoices, newest first.
pub async fn list_for_org(db: &Db, org_id: &OrgId) -> Result<Vec<InvoiceRow>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices WHERE org_id = $1 ORDER BY created_at DESC, number DESC"
    )))
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(invoice_from_row)
    .collect()
}

/// One invoice of the organisation with its lines; `None` when it does not exist or belongs to
/// another organisation.
pub async fn find_for_org(
    db: &Db,
    org_id: &OrgId,
    invoice_id: &InvoiceId,
) -> Result<Option<(InvoiceRow, Vec<InvoiceLineRow>)>, sqlx::Error> {
    let Some(invoice) = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = $1 AND org_id = $2"
    )))
    .bind(invoice_id)
    .bind(org_id)
    .fetch_optional(&db.pool)
    .await?
    .map(invoice_from_row)
    .transpose()?
    else {
        return Ok(None);
    };
    let lines = sqlx::query(
        "SELECT description, quantity, amount, explanation FROM invoice_lines WHERE invoice_id = $1 ORDER BY position",
    )
    .bind(invoice_id)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(InvoiceLineRow {
            description: r.try_get("description")?,
            quantity: r.try_get("quantity")?,
            amount: r.try_get("amount")?,
            explanation: r.try_get("explanation")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Some((invoice, lines)))
}
