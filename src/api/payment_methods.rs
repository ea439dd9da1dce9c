//! Saved cards: list, add (through a hosted page in setup mode), make default, remove.

use super::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardView {
    pub id: String,
    /// E.g. "Visa ending 4242".
    pub label: String,
    /// E.g. "expires 12/2034".
    pub expiry: String,
    pub is_default: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethodsPage {
    pub cards: Vec<CardView>,
    pub can_manage: bool,
}

#[cfg(feature = "ssr")]
fn brand_name(brand: &str) -> String {
    match brand {
        "visa" => "Visa".into(),
        "mastercard" => "Mastercard".into(),
        "amex" => "American Express".into(),
        "discover" => "Discover".into(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_else(|| "Card".into())
        }
    }
}

#[server(endpoint = "billing/payment-methods", output = crate::error::JsonAnswer)]
pub async fn load_payment_methods() -> Result<PaymentMethodsPage, AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    let cards = crate::store::payment_methods::list(&state.db, &customer.org_id).await?;
    Ok(PaymentMethodsPage {
        cards: cards
            .into_iter()
            .map(|c| CardView {
                label: format!("{} ending {}", brand_name(&c.brand), c.last4),
                expiry: format!("expires {:02}/{}", c.exp_month, c.exp_year),
                id: c.id,
                is_default: c.is_default,
            })
            .collect(),
        can_manage: customer.role.can_manage_billing(),
    })
}

/// Sends the browser to a hosted page that saves a card (nothing is charged).
#[server(endpoint = "billing/payment-methods/add", output = crate::error::JsonAnswer)]
pub async fn add_payment_method() -> Result<(), AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_billing_manager(&state).await?;
    let customer_id = crate::api::checkout::stripe_customer(&state, &customer).await?;
    let base = &state.config.public_base_url;
    // The currency the organisation pays in: its plan's, else the catalog's first.
    let catalog = crate::store::catalog::load(&state.db)
        .await
        .map_err(AppError::internal)?;
    let sub = crate::store::subscriptions::live_for_org(&state.db, &customer.org_id).await?;
    let currency = sub
        .and_then(|s| crate::domain::catalog::find_price(&catalog, &s.price_id).map(|(_, p)| p))
        .or_else(|| catalog.iter().flat_map(|p| p.prices.iter()).next())
        .map(|p| p.currency.code().to_lowercase())
        .unwrap_or_else(|| "usd".into());
    // A new page per minute at most: a double click opens the same one.
    let key = format!("setup:{}:{}", customer.org_id, state.now().div_euclid(60));
    let session = state
        .payments
        .gateway
        .create_setup_checkout(
            &customer_id,
            &currency,
            &format!("{base}/billing/payment-methods?added=1"),
            &format!("{base}/billing/payment-methods"),
            std::collections::HashMap::from([("org_id".to_string(), customer.org_id.to_string())]),
            &key,
        )
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "could not start adding a card");
            AppError::Conflict(
                "Payments are unavailable right now. Please try again in a minute.".into(),
            )
        })?;
    let target = format!("org:{}", customer.org_id);
    crate::store::audit::append(
        &state.db,
        &crate::store::audit::AuditEntry {
            org_id: Some(&customer.org_id),
            note: "Stripe's hosted page opened to save a card",
            request_id: Some(&session.session_id),
            ..customer.actor().did("card_setup_started", &target)
        },
        state.now(),
    )
    .await?;
    leptos_axum::redirect(&session.url);
    Ok(())
}

#[server(endpoint = "billing/payment-methods/default", output = crate::error::JsonAnswer)]
pub async fn make_default_payment_method(id: String) -> Result<(), AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_billing_manager(&state).await?;
    if !crate::store::payment_methods::set_default(
        &state.db,
        &customer.org_id,
        id.trim(),
        &customer.actor(),
        state.now(),
    )
    .await?
    {
        return Err(AppError::NotFound("That card".into()));
    }
    Ok(())
}

/// Removes a card at Stripe and here. The last card cannot go while a paid plan is active, since
/// renewals charge it.
#[server(endpoint = "billing/payment-methods/remove", output = crate::error::JsonAnswer)]
pub async fn remove_payment_method(id: String) -> Result<(), AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_billing_manager(&state).await?;
    let cards = crate::store::payment_methods::list(&state.db, &customer.org_id).await?;
    if !cards.iter().any(|c| c.id == id) {
        return Err(AppError::NotFound("That card".into()));
    }
    if cards.len() == 1 && paid_plan_active(&state, &customer.org_id).await? {
        return Err(AppError::Conflict(
            "This is your only card and your paid plan renews with it. Add another card first, or cancel the plan.".into(),
        ));
    }
    state.payments.gateway.detach(&id).await.map_err(|e| {
        tracing::warn!(error = %e, "could not detach a card");
        AppError::Conflict(
            "Payments are unavailable right now. Please try again in a minute.".into(),
        )
    })?;
    crate::store::payment_methods::remove(
        &state.db,
        &customer.org_id,
        &id,
        &customer.actor(),
        state.now(),
    )
    .await?;
    Ok(())
}

#[cfg(feature = "ssr")]
async fn paid_plan_active(
    state: &crate::server::AppState,
    org_id: &crate::domain::ids::OrgId,
) -> Result<bool, AppError> {
    let Some(sub) = crate::store::subscriptions::live_for_org(&state.db, org_id).await? else {
        return Ok(false);
    };
    let catalog = crate::store::catalog::load(&state.db)
        .await
        .map_err(AppError::internal)?;
    let free = crate::domain::catalog::find_price(&catalog, &sub.price_id)
        .map(|(_, p)| p)
        .is_some_and(|p| p.model == crate::domain::PriceModel::Flat { amount: 0 });
    Ok(!free)
}
