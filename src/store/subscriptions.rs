//! Subscriptions of organisations.

use super::Db;
use crate::api::billing::SubscriptionSummary;
use sqlx::Row;

/// The organisation's newest subscription that has not ended, with its plan's name.
pub async fn current_for_org(
    db: &Db,
    org_id: &str,
) -> Result<Option<SubscriptionSummary>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT p.name AS plan_name, s.status, s.quantity, s.current_period_end \
         FROM subscriptions s JOIN prices pr ON pr.id = s.price_id JOIN plans p ON p.id = pr.plan_id \
         WHERE s.org_id = $1 AND s.status <> 'canceled' ORDER BY s.created_at DESC, s.id DESC LIMIT 1",
    )
    .bind(org_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(SubscriptionSummary {
            plan_name: r.try_get("plan_name")?,
            status: r.try_get("status")?,
            quantity: r.try_get("quantity")?,
            current_period_end: r.try_get("current_period_end")?,
        })
    })
    .transpose()
}
