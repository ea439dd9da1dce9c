//! The signed-in organisation's billing overview.

use super::AppError;
use crate::domain::access::Role;
pub use crate::wire::SubscriptionSummary;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingOverview {
    pub org_name: String,
    pub email: String,
    pub role: Role,
    pub subscription: Option<SubscriptionSummary>,
}

#[server(endpoint = "billing/overview", output = crate::error::JsonAnswer)]
pub async fn load_billing_overview() -> Result<BillingOverview, AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    let subscription = crate::store::subscriptions::current_for_org(&state.db, &customer.org_id)
        .await?
        .map(|row| SubscriptionSummary {
            plan_name: row.plan_name,
            status: row.status,
            quantity: row.quantity,
            current_period_end: row.current_period_end,
        });
    Ok(BillingOverview {
        org_name: customer.org_name,
        email: customer.email,
        role: customer.role,
        subscription,
    })
}
