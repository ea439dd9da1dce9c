//! The public plan catalog.

use super::AppError;
use crate::domain::catalog::Plan;
use leptos::prelude::*;

#[server(endpoint = "catalog/plans", output = crate::error::JsonAnswer)]
pub async fn pricing_catalog() -> Result<Vec<Plan>, AppError> {
    let state = crate::server::state()?;
    crate::services::catalog::for_sale(&state)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "the plan catalog cannot be loaded");
            AppError::Internal
        })
}
