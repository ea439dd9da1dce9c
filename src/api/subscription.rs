//! Changing what an organisation pays for: plan and interval changes, seats, scheduled changes
//! and their undo, cancel and resume. The browser computes every preview with the same domain
//! code and the server's time; the server recomputes before acting, and if the figures differ
//! the server's wins and nothing is charged until the customer confirms again.

use super::AppError;
use crate::wire::plan::{ChangeResult, PlanPage};
use leptos::prelude::*;

#[server(endpoint = "billing/plan", output = crate::error::JsonAnswer)]
pub async fn load_plan_page() -> Result<PlanPage, AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    let plans = crate::services::plans::catalog_for(&state, &customer.org_id).await?;
    let sub = crate::store::subscriptions::live_for_org(&state.db, &customer.org_id).await?;
    let policies = sub.as_ref().map_or_else(Default::default, |s| {
        crate::services::plans::policies_of(&plans, &s.price_id)
    });
    let current = match sub {
        Some(sub) => {
            Some(crate::services::plans::current_plan_with_coupon(&state, &plans, &sub).await?)
        }
        None => None,
    };
    // The page offers what is for sale; the current plan came with `current`.
    let mut plans = plans;
    plans.retain(|p| !p.prices.is_empty());
    for plan in &mut plans {
        plan.archived_prices.clear();
    }
    Ok(PlanPage {
        now: crate::services::plans::org_time(&state, &customer.org_id).await?,
        current,
        plans,
        policies,
        can_manage: customer.role.can_manage_billing(),
    })
}

/// Applies or schedules a change after checking the amount the customer saw.
#[server(endpoint = "billing/plan/change", output = crate::error::JsonAnswer)]
pub async fn change_subscription(
    price_id: String,
    seats: String,
    expected_due: String,
    version: String,
) -> Result<ChangeResult, AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    let result =
        crate::services::plans::change(&state, &customer, price_id, seats, expected_due, version)
            .await?;
    crate::server::notice::redirect_back_with(&result.sentence());
    Ok(result)
}

#[server(endpoint = "billing/plan/undo", output = crate::error::JsonAnswer)]
pub async fn undo_scheduled_change(version: String) -> Result<(), AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    crate::services::plans::undo(&state, &customer, version).await?;
    crate::server::notice::redirect_back_with(
        "The scheduled change is undone; your plan stays as it is.",
    );
    Ok(())
}

#[server(endpoint = "billing/plan/cancel", output = crate::error::JsonAnswer)]
pub async fn cancel_subscription(
    reason: String,
    details: String,
    version: String,
) -> Result<(), AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    crate::services::plans::cancel(&state, &customer, reason, details, version).await?;
    crate::server::notice::redirect_back_with(
        "Your subscription is cancelled at the period end; you can resume it until then.",
    );
    Ok(())
}

/// Applies a promotion code to the live subscription: its coupon discounts the next invoices.
#[server(endpoint = "billing/plan/promotion-code", output = crate::error::JsonAnswer)]
pub async fn apply_promotion_code(code: String, version: String) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    let message = crate::services::plans::apply_code(&state, &customer, code, version).await?;
    crate::server::notice::redirect_back_with(&message);
    Ok(message)
}

#[server(endpoint = "billing/plan/resume", output = crate::error::JsonAnswer)]
pub async fn resume_subscription(version: String) -> Result<(), AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    crate::services::plans::resume(&state, &customer, version).await?;
    crate::server::notice::redirect_back_with("Your subscription continues; it renews as before.");
    Ok(())
}
