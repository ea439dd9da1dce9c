//! The public plan catalog.

use super::AppError;
use crate::domain::Price;
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
