//! The portal's usage page: this period's usage per meter with its charges and projection, a
//! daily chart, the organisation's API keys, and its spend alert.

use super::AppError;
use crate::domain::ids::OrgId;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeterView {
    pub id: String,
    pub name: String,
    pub unit_label: String,
    pub counts: String,
    pub quantity: i64,
    pub projected_quantity: i64,
    /// Formatted charges so far and projected, when the plan prices the meter.
    pub amount: Option<String>,
    pub projected_amount: Option<String>,
    pub formula: Option<String>,
    /// The plan's limit for this meter, if it has one.
    pub limit: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyView {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked: bool,
}

/// One day's value of the chart's meter; `day` is the day's start (unix seconds, UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayTotal {
    pub day: i64,
    pub value: i64,
}

/// The spend alert as its form shows it: the amount without the symbol, and whether it caps use.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertView {
    pub amount: String,
    pub hard_cap: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsagePage {
    pub org_id: OrgId,
    pub plan_name: Option<String>,
    pub period_start: i64,
    pub period_end: i64,
    pub now: i64,
    pub meters: Vec<MeterView>,
    pub usage_so_far: String,
    pub projected_usage: String,
    pub recurring: String,
    pub projected_total: String,
    /// The chart's meter and its value per day of the period, up to today.
    pub chart_meter: String,
    pub daily: Vec<DayTotal>,
    pub keys: Vec<KeyView>,
    /// The spend alert's amount (formatted without the symbol, for the form) and hard cap.
    pub alert: Option<AlertView>,
    pub capped: bool,
    pub currency: String,
    pub can_manage: bool,
}

#[server(endpoint = "billing/usage", output = crate::error::JsonAnswer)]
pub async fn load_usage_page(#[server(default)] meter: String) -> Result<UsagePage, AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    let org = &customer.org_id;
    let summary = crate::services::usage::summary(&state, org)
        .await
        .map_err(AppError::internal)?;
    let limits = match &summary.plan_id {
        Some(plan) => {
            crate::store::usage::entitlements(
                &state.db,
                plan,
                crate::services::usage::summary_terms(&summary),
            )
            .await?
        }
        None => Vec::new(),
    };
    let chart_meter = summary
        .meters
        .iter()
        .find(|m| m.meter_id == meter.trim())
        .or_else(|| summary.meters.first())
        .map(|m| m.meter_id.clone())
        .unwrap_or_default();
    let meters = crate::store::usage::by_id(crate::store::usage::meters(&state.db).await?);
    let daily = match meters.get(&chart_meter) {
        Some(m) => {
            crate::store::usage::meter_daily(
                &state.db,
                org,
                m,
                summary.period_start,
                // Every day of the period up to and including today.
                ((summary.now.div_euclid(86_400) + 1) * 86_400)
                    .clamp(summary.period_start + 1, summary.period_end),
            )
            .await?
            .into_iter()
            .map(|(day, value)| DayTotal { day, value })
            .collect()
        }
        None => Vec::new(),
    };
    Ok(UsagePage {
        org_id: org.clone(),
        plan_name: summary.plan_name.clone(),
        period_start: summary.period_start,
        period_end: summary.period_end,
        now: summary.now,
        meters: summary
            .meters
            .iter()
            .map(|m| MeterView {
                id: m.meter_id.clone(),
                name: m.name.clone(),
                unit_label: m.unit_label.clone(),
                counts: m.counts.clone(),
                quantity: m.quantity,
                projected_quantity: m.projected_quantity,
                amount: m.amount.map(|a| a.to_string()),
                projected_amount: m.projected_amount.map(|a| a.to_string()),
                formula: m.formula.clone(),
                limit: limits
                    .iter()
                    .find(|l| l.meter_id.as_deref() == Some(m.meter_id.as_str()))
                    .and_then(|l| l.value),
            })
            .collect(),
        usage_so_far: summary.usage_so_far.to_string(),
        projected_usage: summary.projected_usage.to_string(),
        recurring: summary.recurring.to_string(),
        projected_total: summary.projected_total.to_string(),
        chart_meter,
        daily,
        keys: keys_of(&state, &customer).await?,
        alert: summary.alert.map(|(m, cap)| AlertView {
            amount: m.to_major_decimal().to_string(),
            hard_cap: cap,
        }),
        capped: summary.capped,
        currency: summary.currency.code().to_string(),
        can_manage: customer.role.can_manage_billing(),
    })
}

/// The organisation's API keys, for the usage page's key list to follow creations and
/// revocations without reading the whole usage page again.
#[server(endpoint = "billing/api-keys", output = crate::error::JsonAnswer)]
pub async fn load_api_keys() -> Result<Vec<KeyView>, AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    keys_of(&state, &customer).await
}

/// The keys a member may see: all of them for owners and billing admins, none for others.
#[cfg(feature = "ssr")]
async fn keys_of(
    state: &crate::server::AppState,
    customer: &crate::wire::CustomerSession,
) -> Result<Vec<KeyView>, AppError> {
    if !customer.role.can_manage_billing() {
        return Ok(Vec::new());
    }
    Ok(crate::store::usage::list_keys(&state.db, &customer.org_id)
        .await?
        .into_iter()
        .map(|k| KeyView {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked: k.revoked_at.is_some(),
        })
        .collect())
}

/// A new key's secret, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKey {
    pub id: String,
    pub name: String,
    pub secret: String,
}

/// Creates an API key for the organisation (owners and billing admins).
#[server(endpoint = "billing/api-keys/create", output = crate::error::JsonAnswer)]
pub async fn create_api_key(name: String) -> Result<NewKey, AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_billing_manager(&state).await?;
    if name.trim().is_empty() || name.trim().chars().count() > 60 {
        return Err(AppError::Invalid(
            "Name the key (up to 60 characters), e.g. \"CI pipeline\".".into(),
        ));
    }
    let name = crate::domain::access::check_text(
        "The key's name",
        &name,
        60,
        crate::domain::text::Lines::One,
        true,
    )?;
    let name = name.as_str();
    let live = crate::store::usage::list_keys(&state.db, &customer.org_id)
        .await?
        .iter()
        .filter(|k| k.revoked_at.is_none())
        .count();
    if live >= 20 {
        return Err(AppError::Invalid(
            "An organisation can have 20 live keys; revoke one you no longer use first.".into(),
        ));
    }
    let (key, secret) = crate::store::usage::create_key(
        &state.db,
        Some(&customer.org_id),
        name,
        &customer.actor(),
        state.now(),
    )
    .await?;
    Ok(NewKey {
        id: key.id,
        name: key.name,
        secret,
    })
}

#[server(endpoint = "billing/api-keys/revoke", output = crate::error::JsonAnswer)]
pub async fn revoke_api_key(id: String) -> Result<(), AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_billing_manager(&state).await?;
    if !crate::store::usage::revoke_key(
        &state.db,
        &customer.org_id,
        id.trim(),
        &customer.actor(),
        state.now(),
    )
    .await?
    {
        return Err(AppError::NotFound("That live key".into()));
    }
    crate::server::notice::redirect_back_with(
        "The key is revoked: requests that use it are refused.",
    );
    Ok(())
}

/// Sets the spend alert (an empty amount removes it). With a hard cap, metered entitlements are
/// denied once the period's usage charges reach the amount.
#[server(endpoint = "billing/spend-alert", output = crate::error::JsonAnswer)]
pub async fn set_spend_alert(
    amount: String,
    #[server(default)] hard_cap: Option<String>,
) -> Result<String, AppError> {
    let message = save_spend_alert(amount, hard_cap).await?;
    crate::server::notice::redirect_back_with(&message);
    Ok(message)
}

#[cfg(feature = "ssr")]
async fn save_spend_alert(amount: String, hard_cap: Option<String>) -> Result<String, AppError> {
    use crate::domain::Money;
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_billing_manager(&state).await?;
    let summary = crate::services::usage::summary(&state, &customer.org_id)
        .await
        .map_err(AppError::internal)?;
    let currency = summary.currency;
    let amount = amount.trim();
    if amount.is_empty() {
        crate::store::usage::set_spend_alert(
            &state.db,
            &customer.org_id,
            None,
            &customer.actor(),
            state.now(),
        )
        .await?;
        state.entitlements.invalidate(&customer.org_id);
        return Ok("The spend alert is off.".into());
    }
    let money = Money::parse(amount, currency)
        .ok()
        .filter(|m| m.minor_units() > 0)
        .ok_or_else(|| {
            AppError::Invalid(format!(
                "Enter an amount above zero in {}, e.g. 50.00, or leave it empty to turn the alert off.",
                currency.code()
            ))
        })?;
    let cap = hard_cap.is_some_and(|v| !v.is_empty() && v != "false");
    crate::store::usage::set_spend_alert(
        &state.db,
        &customer.org_id,
        Some((money.minor_units(), currency, cap)),
        &customer.actor(),
        state.now(),
    )
    .await?;
    state.entitlements.invalidate(&customer.org_id);
    let summary = crate::services::usage::summary(&state, &customer.org_id)
        .await
        .map_err(AppError::internal)?;
    let emailed = crate::services::usage::check_alert(&state, &summary)
        .await
        .map_err(AppError::internal)?;
    Ok(format!(
        "We will email you when projected usage charges reach {money}{}.{}",
        if cap {
            ", and metered use stops at that amount"
        } else {
            ""
        },
        if emailed {
            " They already have: the alert email is on its way."
        } else {
            ""
        }
    ))
}
