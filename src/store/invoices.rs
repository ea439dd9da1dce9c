//! Invoices as the portal lists them.

use super::{new_id, Db};
use crate::domain::{Currency, InvoiceDraft, Money};
use sqlx::Row;

/// Writes `draft` as a paid invoice with the next number of the organisation (numbers have no
/// gaps: they are counted inside the caller's transaction, and a unique index refuses a
/// duplicate), with its lines. Returns the invoice id.
pub async fn insert_paid(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    org_id: &str,
    draft: &InvoiceDraft,
    now: i64,
) -> Result<String, sqlx::Error> {
    let invoice_id = new_id("inv");
    let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM invoices WHERE org_id = $1")
        .bind(org_id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
    sqlx::query(
        "INSERT INTO invoices (id, org_id, number, status, currency, subtotal, discount, total, amount_paid, \
         period_start, period_end, created_at, paid_at) \
         VALUES ($1, $2, $3, 'paid', $4, $5, $6, $7, $7, $8, $9, $10, $10)",
    )
    .bind(&invoice_id)
    .bind(org_id)
    .bind(format!("{:04}", count + 1))
    .bind(draft.currency.code())
    .bind(draft.subtotal.minor_units())
    .bind(draft.discount.minor_units())
    .bind(draft.total.minor_units())
    .bind(draft.period.start.timestamp())
    .bind(draft.period.end.timestamp())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    for (position, line) in draft.lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO invoice_lines (invoice_id, position, kind, description, price_id, quantity, amount, explanation) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&invoice_id)
        .bind(position as i64)
        .bind(format!("{:?}", line.kind).to_lowercase())
        .bind(&line.description)
        .bind(line.price_id.as_deref())
        .bind(line.quantity)
        .bind(line.amount.minor_units())
        .bind(&line.explanation)
        .execute(&mut **tx)
        .await?;
    }
    Ok(invoice_id)
}

/// Records money received (optionally for an invoice).
pub async fn insert_payment(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    org_id: &str,
    invoice_id: Option<&str>,
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
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceSummary {
    pub id: String,
    pub number: String,
    pub status: String,
    /// Formatted for display, e.g. "$60.00".
    pub total: String,
    pub created_at: i64,
}

/// The organisation's newest invoice.
pub async fn latest_for_org(db: &Db, org_id: &str) -> Result<Option<InvoiceSummary>, sqlx::Error> {
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
            status: r.try_get("status")?,
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
