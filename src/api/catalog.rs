//! The public plan catalog.

use super::AppError;
use crate::domain::{Price, PricingError};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A plan as the pricing page offers it, with its prices (monthly, annual, ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanOffer {
    pub id: String,
    pub name: String,
    pub description: String,
    pub features: Vec<String>,
    pub prices: Vec<Price>,
}

#[server(endpoint = "catalog/plans")]
pub async fn pricing_catalog() -> Result<Vec<PlanOffer>, AppError> {
    let state = crate::server::state()?;
    crate::store::catalog::load(&state.db).await.map_err(|e| {
        tracing::error!(error = %e, "the plan catalog cannot be loaded");
        AppError::Internal
    })
}

/// A customer-facing reason why `price` cannot be bought in a quantity.
pub fn explain_quantity(plan: &PlanOffer, price: &Price, error: PricingError) -> String {
    let unit = price.unit_label.as_deref().unwrap_or("unit");
    match error {
        PricingError::NegativeQuantity { .. } => format!("Enter 1 {unit} or more."),
        PricingError::BelowMinimum { min, .. } => {
            format!("{} needs at least {min} {unit}s.", plan.name)
        }
        PricingError::AboveMaximum { max, .. } => {
            format!("{} allows at most {max} {unit}(s).", plan.name)
        }
        other => other.to_string(),
    }
}
