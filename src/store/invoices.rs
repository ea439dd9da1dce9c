//! Invoices as the portal lists them.

use super::Db;
use crate::domain::{Currency, Money};
use sqlx::Row;

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
