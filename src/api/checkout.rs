//! Paying for a plan: start a hosted checkout, then follow it until the webhook has activated the
//! subscription.

use super::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Where a checkout stands, as the success page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckoutProgress {
    /// Paid or being paid; Stripe's confirmation has not been processed yet.
    Processing,
    /// The subscription is active.
    Active {
        plan_name: String,
        quantity: i64,
        renews_at: i64,
        invoice_number: String,
        invoice_total: String,
    },
    /// A free trial started: nothing was charged, the card is saved for its end.
    Trialing {
        plan_name: String,
        quantity: i64,
        trial_ends_at: i64,
    },
}

/// The organisation's Stripe customer, created on first use (the key makes racing requests
/// create one customer).
#[cfg(feature = "ssr")]
pub(crate) async fn stripe_customer(
    state: &crate::server::AppState,
    customer: &crate::wire::CustomerSession,
) -> Result<String, AppError> {
    use crate::store::accounts;
    if let Some(id) = accounts::stripe_customer_id(&state.db, &customer.org_id).await? {
        return Ok(id);
    }
    let id = state
        .payments
        .gateway
        .create_customer(&customer.org_id, &customer.email, &customer.org_name)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "Stripe customer could not be created");
            AppError::Conflict(
                "Payments are unavailable right now. Nothing was charged; please try again in a minute.".into(),
            )
        })?;
    accounts::set_stripe_customer_id(&state.db, &customer.org_id, &id, state.now()).await?;
    Ok(id)
}

/// Starts a hosted checkout for `price_id` and `seats` and sends the browser to it.
#[server(endpoint = "billing/checkout", output = crate::error::JsonAnswer)]
pub async fn start_checkout(
    price_id: String,
    seats: String,
    promotion_code: Option<String>,
) -> Result<(), AppError> {
    use crate::payments::gateway::CheckoutRequest;
    use crate::store::{checkouts, subscriptions};
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    if !customer.role.can_manage_billing() {
        return Err(AppError::Forbidden);
    }
    let seats: i64 = seats
        .trim()
        .parse()
        .map_err(|_| AppError::Invalid("Enter a whole number of seats.".into()))?;
    let catalog = crate::services::plans::catalog_for(&state, &customer.org_id).await?;
    let (plan, price) = crate::domain::catalog::find_for_sale(&catalog, &price_id)
        .ok_or_else(|| not_for_sale(&catalog, &price_id, "pricing"))?;
    price
        .check_quantity(seats)
        .map_err(|e| AppError::Invalid(crate::domain::catalog::explain_quantity(plan, price, e)))?;
    if subscriptions::current_for_org(&state.db, &customer.org_id)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(
            "Your organisation already has a plan. Change it from the billing page instead.".into(),
        ));
    }
    let promotion = match promotion_code
        .as_deref()
        .and_then(crate::domain::promotion::normalise)
    {
        Some(code) => Some(
            crate::services::plans::usable_promotion(
                &state,
                &customer.org_id,
                &code,
                price.currency,
            )
            .await?,
        ),
        None => None,
    };
    if price.trial_days > 0
        && !crate::store::subscriptions::ever_subscribed(&state.db, &customer.org_id).await?
    {
        return start_trial(&state, &customer, plan, price, seats, promotion.as_ref()).await;
    }
    let draft = crate::services::fulfilment::first_invoice(
        price,
        seats,
        state.clock.now(),
        promotion.as_ref().map(|p| &p.coupon),
    )
    .map_err(AppError::internal)?;
    if draft.total.minor_units() <= 0 {
        return Err(AppError::Invalid(if promotion.is_some() {
            format!("With this code the first invoice of {} is free; free first invoices are not offered at checkout. Leave the code empty, or use it on your plan after subscribing.", plan.name)
        } else {
            format!("{} is free: there is nothing to pay.", plan.name)
        }));
    }

    // Stripe's hosted sessions live 24 hours; reuse one started in the last hour.
    if let Some(url) = checkouts::open_session_url(
        &state.db,
        &customer.org_id,
        &price.id,
        seats,
        draft.total.minor_units(),
        state.now() - 3600,
    )
    .await?
    {
        leptos_axum::redirect(&url);
        return Ok(());
    }
    let gateway = &state.payments.gateway;
    let unavailable = |e: crate::payments::gateway::GatewayError| {
        tracing::warn!(error = %e, "checkout could not be started");
        AppError::Conflict("Payments are unavailable right now. Nothing was charged; please try again in a minute.".into())
    };
    let customer_id = stripe_customer(&state, &customer).await?;
    let currency = price.currency.code().to_lowercase();
    let checkout_id = checkouts::create(
        &state.db,
        &checkouts::NewCheckout {
            org_id: &customer.org_id,
            price_id: &price.id,
            quantity: seats,
            currency: &currency,
            amount: draft.total.minor_units(),
            created_by: &customer.email,
            promotion_code: promotion.as_ref().map(|p| p.code.as_str()),
            trial_end: None,
        },
        &customer.actor(),
        state.now(),
    )
    .await?;
    let base = &state.config.public_base_url;
    let success_url = format!("{base}/billing/checkout/success?session_id={{CHECKOUT_SESSION_ID}}");
    let cancel_url = format!("{base}/pricing?checkout=canceled");
    let description = format!("{} · {}", plan.name, price.quantity_label(seats));
    let session = gateway
        .create_checkout(
            &CheckoutRequest {
                customer_id: &customer_id,
                currency: &currency,
                amount: draft.total.minor_units(),
                description: &description,
                success_url: &success_url,
                cancel_url: &cancel_url,
                metadata: crate::services::fulfilment::checkout_metadata(
                    &customer.org_id,
                    &checkout_id,
                ),
            },
            &format!("checkout:{checkout_id}"),
        )
        .await
        .map_err(unavailable)?;
    checkouts::attach_session(
        &state.db,
        &checkout_id,
        &session.session_id,
        &session.url,
        state.now(),
    )
    .await?;
    tracing::info!(checkout = %checkout_id, session = %session.session_id, "checkout started");
    leptos_axum::redirect(&session.url);
    Ok(())
}

/// A free trial: a hosted page in setup mode saves the card (nothing is charged); the webhook
/// starts the subscription as trialing until the trial's end, when the first period is charged.
#[cfg(feature = "ssr")]
async fn start_trial(
    state: &crate::server::AppState,
    customer: &crate::wire::CustomerSession,
    plan: &crate::domain::catalog::Plan,
    price: &crate::domain::Price,
    seats: i64,
    promotion: Option<&crate::domain::promotion::PromotionCode>,
) -> Result<(), AppError> {
    use crate::store::checkouts;
    let now = crate::services::plans::org_time(state, &customer.org_id).await?;
    let trial_end = crate::domain::period::trial_end(now, price.trial_days)
        .map_err(AppError::internal)?
        .timestamp();
    let customer_id = stripe_customer(state, customer).await?;
    let currency = price.currency.code().to_lowercase();
    let checkout_id = checkouts::create(
        &state.db,
        &checkouts::NewCheckout {
            org_id: &customer.org_id,
            price_id: &price.id,
            quantity: seats,
            currency: &currency,
            amount: 0,
            created_by: &customer.email,
            promotion_code: promotion.map(|p| p.code.as_str()),
            trial_end: Some(trial_end),
        },
        &customer.actor(),
        state.now(),
    )
    .await?;
    let base = &state.config.public_base_url;
    let session = state
        .payments
        .gateway
        .create_setup_checkout(
            &customer_id,
            &currency,
            &format!("{base}/billing/checkout/success?session_id={{CHECKOUT_SESSION_ID}}"),
            &format!("{base}/pricing?checkout=canceled"),
            crate::services::fulfilment::checkout_metadata(&customer.org_id, &checkout_id),
            &format!("checkout:{checkout_id}"),
        )
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "trial checkout could not be started");
            AppError::Conflict("Payments are unavailable right now. Nothing was charged; please try again in a minute.".into())
        })?;
    checkouts::attach_session(
        &state.db,
        &checkout_id,
        &session.session_id,
        &session.url,
        state.now(),
    )
    .await?;
    tracing::info!(checkout = %checkout_id, plan = %plan.id, "trial checkout started");
    leptos_axum::redirect(&session.url);
    Ok(())
}

/// The state of the signed-in organisation's checkout `session_id`.
#[server(endpoint = "billing/checkout-status", output = crate::error::JsonAnswer)]
pub async fn checkout_status(session_id: String) -> Result<CheckoutProgress, AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    let checkout = crate::store::checkouts::find_by_session(&state.db, &session_id)
        .await?
        .filter(|c| c.org_id == customer.org_id)
        .ok_or_else(|| AppError::NotFound("That checkout".into()))?;
    if checkout.status != crate::domain::CheckoutStatus::Complete {
        return Ok(CheckoutProgress::Processing);
    }
    let overview =
        crate::store::subscriptions::current_for_org(&state.db, &customer.org_id).await?;
    if let Some(s) = overview
        .as_ref()
        .filter(|s| s.status == crate::domain::SubscriptionStatus::Trialing)
    {
        return Ok(CheckoutProgress::Trialing {
            plan_name: s.plan_name.clone(),
            quantity: s.quantity,
            trial_ends_at: s.current_period_end,
        });
    }
    let invoice = crate::store::invoices::latest_for_org(&state.db, &customer.org_id).await?;
    match (overview, invoice) {
        (Some(s), Some(i)) => Ok(CheckoutProgress::Active {
            plan_name: s.plan_name,
            quantity: s.quantity,
            renews_at: s.current_period_end,
            invoice_number: i.number,
            invoice_total: i.total,
        }),
        _ => Ok(CheckoutProgress::Processing),
    }
}

#[cfg(feature = "ssr")]
/// Why `price_id` cannot be bought: no longer for sale (archived, or replaced by a newer version),
/// or not a price at all. `page` is where the customer picks another.
pub(crate) fn not_for_sale(
    catalog: &[crate::domain::catalog::Plan],
    price_id: &str,
    page: &str,
) -> AppError {
    if crate::domain::catalog::find_price(catalog, price_id).is_some() {
        AppError::Invalid(format!(
            "That price is no longer for sale; pick one on the {page} page."
        ))
    } else {
        AppError::NotFound("That plan".into())
    }
}
