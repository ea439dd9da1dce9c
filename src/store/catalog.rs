//! Plans and their prices. A price's model is kept as the domain's JSON shape; loading the catalog
//! parses and validates every price, so a bad row is reported by its id instead of mis-billing.

use super::Db;
use crate::domain::catalog::Plan;
use crate::domain::{Currency, Interval, IntervalUnit, Price, PriceModel};
use sqlx::Row;

/// A catalog row that cannot be used, with the price or plan it belongs to.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("price \"{price_id}\": {problem}")]
    BadPrice { price_id: String, problem: String },
    #[error("plan \"{plan_id}\": {problem}")]
    BadPlan { plan_id: String, problem: String },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The active catalog, plans in display order with their active prices, read in one transaction
/// so a concurrent import is seen whole or not at all.
pub async fn load(db: &Db) -> Result<Vec<Plan>, CatalogError> {
    let mut tx = db.pool.begin().await?;
    let plan_rows = sqlx::query(
        "SELECT id, name, description, features FROM plans WHERE active = 1 ORDER BY sort_order, id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let price_rows = sqlx::query(
        "SELECT id, plan_id, nickname, currency, interval_unit, interval_count, model, unit_label, \
         min_quantity, max_quantity, trial_days FROM prices WHERE active = 1 \
         ORDER BY plan_id, interval_unit, interval_count, id",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;

    let mut plans = Vec::with_capacity(plan_rows.len());
    for r in plan_rows {
        let id: String = r.try_get("id")?;
        let features: String = r.try_get("features")?;
        let features =
            serde_json::from_str::<Vec<String>>(&features).map_err(|e| CatalogError::BadPlan {
                plan_id: id.clone(),
                problem: format!("features must be a JSON list of strings ({e})"),
            })?;
        plans.push(Plan {
            id,
            name: r.try_get("name")?,
            description: r.try_get("description")?,
            features,
            prices: Vec::new(),
        });
    }
    for r in price_rows {
        let plan_id: String = r.try_get("plan_id")?;
        let price = price_from_row(&r)?;
        if let Some(plan) = plans.iter_mut().find(|p| p.id == plan_id) {
            plan.prices.push(price);
        }
    }
    Ok(plans)
}

fn price_from_row(r: &sqlx::any::AnyRow) -> Result<Price, CatalogError> {
    let id: String = r.try_get("id")?;
    let bad = |problem: String| CatalogError::BadPrice {
        price_id: id.clone(),
        problem,
    };
    let currency_code: String = r.try_get("currency")?;
    let currency = Currency::parse(&currency_code).map_err(|e| bad(e.to_string()))?;
    let unit: String = r.try_get("interval_unit")?;
    let unit = match unit.as_str() {
        "month" => IntervalUnit::Month,
        "year" => IntervalUnit::Year,
        other => return Err(bad(format!("interval unit {other:?} is not month or year"))),
    };
    let count: i64 = r.try_get("interval_count")?;
    let count = u32::try_from(count)
        .map_err(|_| bad(format!("interval count {count} is not a positive number")))?;
    let model: String = r.try_get("model")?;
    let model: PriceModel = serde_json::from_str(&model)
        .map_err(|e| bad(format!("model is not a valid price model ({e})")))?;
    let trial_days: i64 = r.try_get("trial_days")?;
    let price = Price {
        id: id.clone(),
        nickname: r.try_get("nickname")?,
        currency,
        interval: Interval { unit, count },
        model,
        trial_days: u32::try_from(trial_days)
            .map_err(|_| bad(format!("trial of {trial_days} days is negative")))?,
        unit_label: r.try_get("unit_label")?,
        min_quantity: r.try_get("min_quantity")?,
        max_quantity: r.try_get("max_quantity")?,
    };
    price.validate().map_err(|e| bad(e.problem.to_string()))?;
    Ok(price)
}

/// Inserts or replaces a plan and its prices (the demo seed and catalog imports): afterwards the
/// plan offers exactly `plan.prices`; prices it no longer lists are retired (kept for existing
/// subscriptions, no longer offered). Every price is validated first; nothing is written if one
/// is bad.
pub async fn upsert_plan(
    db: &Db,
    plan: &Plan,
    sort_order: i64,
    now: i64,
) -> Result<(), CatalogError> {
    for price in &plan.prices {
        price.validate().map_err(|e| CatalogError::BadPrice {
            price_id: e.price_id,
            problem: e.problem.to_string(),
        })?;
    }
    let features = serde_json::to_string(&plan.features).map_err(|e| CatalogError::BadPlan {
        plan_id: plan.id.clone(),
        problem: e.to_string(),
    })?;
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO plans (id, name, description, features, sort_order, active) \
         VALUES ($1, $2, $3, $4, $5, 1) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, \
         features = excluded.features, sort_order = excluded.sort_order, active = 1",
    )
    .bind(&plan.id)
    .bind(&plan.name)
    .bind(&plan.description)
    .bind(&features)
    .bind(sort_order)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE prices SET active = 0 WHERE plan_id = $1")
        .bind(&plan.id)
        .execute(&mut *tx)
        .await?;
    for price in &plan.prices {
        let model = serde_json::to_string(&price.model).map_err(|e| CatalogError::BadPrice {
            price_id: price.id.clone(),
            problem: e.to_string(),
        })?;
        let unit = match price.interval.unit {
            IntervalUnit::Month => "month",
            IntervalUnit::Year => "year",
        };
        sqlx::query(
            "INSERT INTO prices (id, plan_id, nickname, currency, interval_unit, interval_count, model, \
             unit_label, min_quantity, max_quantity, trial_days, active) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1) \
             ON CONFLICT (id) DO UPDATE SET plan_id = excluded.plan_id, nickname = excluded.nickname, \
             currency = excluded.currency, interval_unit = excluded.interval_unit, \
             interval_count = excluded.interval_count, model = excluded.model, \
             unit_label = excluded.unit_label, min_quantity = excluded.min_quantity, \
             max_quantity = excluded.max_quantity, trial_days = excluded.trial_days, active = 1",
        )
        .bind(&price.id)
        .bind(&plan.id)
        .bind(&price.nickname)
        .bind(price.currency.code())
        .bind(unit)
        .bind(i64::from(price.interval.count))
        .bind(&model)
        .bind(price.unit_label.as_deref())
        .bind(price.min_quantity)
        .bind(price.max_quantity)
        .bind(i64::from(price.trial_days))
        .execute(&mut *tx)
        .await?;
    }
    let target = format!("plan:{}", plan.id);
    let prices: Vec<&str> = plan.prices.iter().map(|p| p.id.as_str()).collect();
    let note = format!("{} with prices {}", plan.name, prices.join(", "));
    super::audit::record(
        &mut tx,
        &super::audit::AuditEntry {
            note: &note,
            ..super::audit::Actor::cli().did("catalog_plan_put", &target)
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
