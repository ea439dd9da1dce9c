//! Saved cards (brand and last four only; Stripe keeps the card).

use super::Db;
use sqlx::Row;

/// The Stripe id of the organisation's default card.
pub async fn default_for_org(db: &Db, org_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT id FROM payment_methods WHERE org_id = $1 AND is_default = 1")
        .bind(org_id)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()
}
