//! Plans and their prices. A price's model is kept as the domain's JSON shape; loading the catalog
//! parses and validates every price, so a bad row is reported by its id instead of mis-billing.

use super::audit::{Actor, AuditEntry};
use super::Db;
use crate::domain::catalog::Plan;
use crate::domain::catalog_file::{
    CatalogFile, Change, CodeEntry, CouponEntry, EntitlementEntry, EntitlementKind, MeterEntry,
    PlanEntry, PriceEntry, UsagePriceEntry,
};
use crate::domain::ids::OrgId;
use crate::domain::{
    ChangePolicies, CouponDuration, CouponValue, Currency, Interval, IntervalUnit, Price,
    PriceModel,
};
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

/// The catalog, plans in display order: each with the prices for sale, and the prices no longer
/// for sale that subscribers may still hold. Read in one transaction so that a concurrent publish
/// is seen whole or not at all.
///
/// A contract's price (negotiated with one organisation) is never for sale here; it is among the
/// archived prices, for billing its subscriber. [`load_for`] gives an organisation's own view.
pub async fn load(db: &Db) -> Result<Vec<Plan>, CatalogError> {
    load_with(db, None).await
}

/// The catalog as `org_id` may buy from it: its live contract's price is for sale to it in place
/// of the list price it was negotiated from (which it still renews on until its next renewal).
/// `now` is the organisation's time (its test clock's, if it has one).
pub async fn load_for(db: &Db, org_id: &OrgId, now: i64) -> Result<Vec<Plan>, CatalogError> {
    load_with(db, Some((org_id, now))).await
}

async fn load_with(db: &Db, org: Option<(&OrgId, i64)>) -> Result<Vec<Plan>, CatalogError> {
    let mut tx = db.pool.begin().await?;
    let plan_rows = sqlx::query(
        "SELECT id, name, description, features, policies, active FROM plans ORDER BY sort_order, id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let price_rows = sqlx::query(
        "SELECT id, plan_id, nickname, currency, interval_unit, interval_count, model, unit_label, \
         min_quantity, max_quantity, trial_days, active, org_id FROM prices \
         ORDER BY plan_id, interval_unit, interval_count, id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let own_price = match org {
        Some((org_id, now)) => {
            let contracts = super::contracts::terms_in(&mut tx, org_id).await?;
            crate::domain::contract::live_at(&contracts, now).map(|c| c.price_id.clone())
        }
        None => None,
    };
    tx.commit().await?;
    let own_price = own_price.as_deref();

    let mut plans = Vec::with_capacity(plan_rows.len());
    for r in &plan_rows {
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
            archived_prices: Vec::new(),
            feature_lines: Default::default(),
            policies: policies_of(r)?,
        });
    }
    // An archived plan sells nothing, not even an organisation's own price on it.
    let archived_plans: Vec<String> = plan_rows
        .iter()
        .filter(|r| r.try_get::<i64, _>("active").is_ok_and(|a| a == 0))
        .filter_map(|r| r.try_get("id").ok())
        .collect();
    for r in price_rows {
        let plan_id: String = r.try_get("plan_id")?;
        let active: i64 = r.try_get("active")?;
        let private: Option<String> = r.try_get("org_id")?;
        let price = price_from_row(&r)?;
        let for_sale = match private {
            Some(_) => own_price == Some(price.id.as_str()) && !archived_plans.contains(&plan_id),
            None => active == 1,
        };
        if let Some(plan) = plans.iter_mut().find(|p| p.id == plan_id) {
            if for_sale {
                plan.prices.push(price);
            } else {
                plan.archived_prices.push(price);
            }
        }
    }
    // The organisation's own price replaces the list price of its plan, currency and interval.
    if let Some(own) = own_price {
        for plan in &mut plans {
            let Some(ours) = plan.prices.iter().find(|p| p.id == own).cloned() else {
                continue;
            };
            let (replaced, kept): (Vec<_>, Vec<_>) =
                std::mem::take(&mut plan.prices).into_iter().partition(|p| {
                    p.id != ours.id && p.currency == ours.currency && p.interval == ours.interval
                });
            plan.prices = kept;
            plan.archived_prices.extend(replaced);
        }
    }
    Ok(plans)
}

/// A plan row's change policies; an empty column is the default.
fn policies_of(r: &sqlx::any::AnyRow) -> Result<ChangePolicies, CatalogError> {
    let text: String = r.try_get("policies")?;
    if text.is_empty() {
        return Ok(ChangePolicies::default());
    }
    serde_json::from_str(&text).map_err(|e| CatalogError::BadPlan {
        plan_id: r.try_get("id").unwrap_or_default(),
        problem: format!("policies are not valid change policies ({e})"),
    })
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

// ---------------------------------------------------------------------------------------------
// The catalog as a document, and publishing one

/// The revision the published catalog is at: the number of publishes so far.
pub async fn revision(db: &Db) -> Result<i64, sqlx::Error> {
    revision_in(&mut *db.pool.acquire().await?).await
}

async fn revision_in(conn: &mut sqlx::AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar::<_, i64>(
        "SELECT CAST(COALESCE(MAX(revision), 0) AS BIGINT) FROM catalog_revisions",
    )
    .fetch_one(conn)
    .await
}

/// The published catalog as a document, with the revision it is at. Each price appears under
/// its lookup key with the terms of its newest version.
pub async fn published(db: &Db) -> Result<(i64, CatalogFile), CatalogError> {
    let mut tx = db.pool.begin().await?;
    let revision = revision_in(&mut tx).await?;
    let plan_rows = sqlx::query(
        "SELECT id, name, description, features, policies, active FROM plans ORDER BY sort_order, id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let price_rows = sqlx::query(
        "SELECT id, plan_id, nickname, currency, interval_unit, interval_count, model, unit_label, \
         min_quantity, max_quantity, trial_days, active, COALESCE(lookup_key, id) AS lookup_key, version \
         FROM prices WHERE org_id IS NULL ORDER BY plan_id, lookup_key, version DESC",
    )
    .fetch_all(&mut *tx)
    .await?;
    let usage_rows = sqlx::query(
        "SELECT COALESCE(lookup_key, id) AS id, plan_id, meter_id, nickname, currency, model, unit_label \
         FROM usage_prices WHERE until_revision IS NULL ORDER BY plan_id, COALESCE(lookup_key, id)",
    )
    .fetch_all(&mut *tx)
    .await?;
    let entitlement_rows = sqlx::query(
        "SELECT plan_id, key, name, kind, value, meter_id FROM plan_entitlements WHERE until_revision IS NULL \
         ORDER BY plan_id, kind DESC, key",
    )
    .fetch_all(&mut *tx)
    .await?;
    let coupon_rows = sqlx::query(
        "SELECT id, name, percent_off, amount_off, currency, duration, duration_periods \
         FROM coupons c ORDER BY created_at, id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let code_rows = sqlx::query(
        "SELECT code, coupon_id, active, expires_at, max_redemptions FROM promotion_codes ORDER BY created_at, code",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;

    let meters = super::usage::meters(db)
        .await?
        .iter()
        .map(MeterEntry::of)
        .collect();
    let mut plans = Vec::new();
    for r in plan_rows {
        let id: String = r.try_get("id")?;
        let notes: String = r.try_get("features")?;
        let notes =
            serde_json::from_str::<Vec<String>>(&notes).map_err(|e| CatalogError::BadPlan {
                plan_id: id.clone(),
                problem: format!("features must be a JSON list of strings ({e})"),
            })?;
        let active: i64 = r.try_get("active")?;
        plans.push(PlanEntry {
            id,
            name: r.try_get("name")?,
            description: r.try_get("description")?,
            notes,
            archived: active == 0,
            policies: policies_of(&r)?,
            prices: Vec::new(),
            usage_prices: Vec::new(),
            entitlements: Vec::new(),
        });
    }
    let mut seen = std::collections::HashSet::new();
    for r in price_rows {
        let key: String = r.try_get("lookup_key")?;
        let plan_id: String = r.try_get("plan_id")?;
        // The newest version of each key comes first.
        if !seen.insert(key.clone()) {
            continue;
        }
        let active: i64 = r.try_get("active")?;
        let price = price_from_row(&r)?;
        if let Some(plan) = plans.iter_mut().find(|p| p.id == plan_id) {
            plan.prices.push(PriceEntry::of(&key, &price, active == 0));
        }
    }
    for r in usage_rows {
        let plan_id: String = r.try_get("plan_id")?;
        let id: String = r.try_get("id")?;
        let currency: String = r.try_get("currency")?;
        let model: String = r.try_get("model")?;
        let bad = |problem: String| CatalogError::BadPrice {
            price_id: id.clone(),
            problem,
        };
        let entry = UsagePriceEntry {
            id: id.clone(),
            meter: r.try_get("meter_id")?,
            nickname: r.try_get("nickname")?,
            currency: Currency::parse(&currency).map_err(|e| bad(e.to_string()))?,
            model: serde_json::from_str(&model)
                .map_err(|e| bad(format!("model is not a valid price model ({e})")))?,
            unit_label: r.try_get("unit_label")?,
        };
        if let Some(plan) = plans.iter_mut().find(|p| p.id == plan_id) {
            plan.usage_prices.push(entry);
        }
    }
    for r in entitlement_rows {
        let plan_id: String = r.try_get("plan_id")?;
        let row = super::usage::EntitlementRow {
            key: r.try_get("key")?,
            name: r.try_get("name")?,
            kind: r.try_get("kind")?,
            value: r.try_get("value")?,
            meter_id: r.try_get("meter_id")?,
        };
        if let Some(plan) = plans.iter_mut().find(|p| p.id == plan_id) {
            plan.entitlements
                .push(EntitlementEntry::of(&row.entitlement()));
        }
    }
    let mut coupons = Vec::new();
    for r in coupon_rows {
        let coupon = super::coupons::coupon_from_row(&r)?;
        coupons.push(CouponEntry::of(&coupon, Vec::new()));
    }
    for r in code_rows {
        let coupon_id: String = r.try_get("coupon_id")?;
        let expires_at: Option<i64> = r.try_get("expires_at")?;
        let code = CodeEntry {
            code: r.try_get("code")?,
            expires_at: expires_at
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            max_redemptions: r.try_get("max_redemptions")?,
            archived: r.try_get::<i64, _>("active")? == 0,
        };
        if let Some(coupon) = coupons.iter_mut().find(|c| c.id == coupon_id) {
            coupon.codes.push(code);
        }
    }
    Ok((
        revision,
        CatalogFile {
            meters,
            plans,
            coupons,
        },
    ))
}

/// Why a publish did not land.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Another publish landed after this one was prepared.
    #[error("the catalog was published again (revision {now}) after these changes were prepared against revision {prepared}; look at the catalog again and apply your changes to it")]
    Conflict { prepared: i64, now: i64 },
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn encode(e: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Encode(e.to_string().into())
}

pub(super) fn unit_of(interval: &crate::domain::Interval) -> &'static str {
    match interval.unit {
        IntervalUnit::Month => "month",
        IntervalUnit::Year => "year",
    }
}

/// Publishes `changes` (from [`crate::domain::catalog_file::changes`] against revision
/// `prepared`) in one transaction, each with an audit entry naming the actor and the change
/// before and after, and returns the new revision. Nothing is written if another publish landed
/// since `prepared`.
pub async fn publish(
    db: &Db,
    prepared: i64,
    changes: &[Change],
    actor: &Actor,
    now: i64,
) -> Result<i64, PublishError> {
    let mut tx = db.begin_write().await?;
    let current = revision_in(&mut tx).await?;
    if current != prepared {
        return Err(PublishError::Conflict {
            prepared,
            now: current,
        });
    }
    let revision = prepared + 1;
    let summary = format!("{} change(s)", changes.len());
    let inserted = sqlx::query(
        "INSERT INTO catalog_revisions (revision, published_by, published_at, summary) VALUES ($1, $2, $3, $4)",
    )
    .bind(revision)
    .bind(&actor.name)
    .bind(now)
    .bind(&summary)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(e) if super::is_unique_violation(&e) => {
            return Err(PublishError::Conflict {
                prepared,
                now: revision,
            })
        }
        Err(e) => return Err(e.into()),
    }
    for change in changes {
        let (action, target, before, after) = write_change(&mut tx, change, revision, now).await?;
        let note = format!(
            "revision {revision}: {}\nbefore: {before}\nafter: {after}",
            change.describe()
        );
        super::audit::record(
            &mut tx,
            &AuditEntry {
                note: &note,
                ..actor.did(action, &target)
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(revision)
}

/// Ends the published version of a usage price at `revision` (subscribers on an earlier revision
/// keep it).
async fn close_usage_price(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    lookup_key: &str,
    revision: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE usage_prices SET until_revision = $2, active = 0 \
         WHERE lookup_key = $1 AND until_revision IS NULL",
    )
    .bind(lookup_key)
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Ends the published version of a plan's entitlement at `revision`.
async fn close_entitlement(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    plan_id: &str,
    key: &str,
    revision: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE plan_entitlements SET until_revision = $3 \
         WHERE plan_id = $1 AND key = $2 AND until_revision IS NULL",
    )
    .bind(plan_id)
    .bind(key)
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Writes one change; returns the audit action, its target and the change's before and after.
async fn write_change(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    change: &Change,
    revision: i64,
    now: i64,
) -> Result<(&'static str, String, String, String), PublishError> {
    let none = "null".to_string();
    Ok(match change {
        Change::PutMeter { before, after } => {
            let meter = after.meter();
            sqlx::query(
                "INSERT INTO meters (id, name, aggregation, property, filter, unit_label, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET name = $2, unit_label = $6",
            )
            .bind(&meter.id)
            .bind(&meter.name)
            .bind(meter.aggregation.as_str())
            .bind(&meter.property)
            .bind(json(&meter.filter))
            .bind(&meter.unit_label)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            (
                "catalog_meter_put",
                format!("meter:{}", meter.id),
                before.as_ref().map_or(none, json),
                json(after),
            )
        }
        Change::PutPlan {
            before,
            after,
            sort_order,
        } => {
            put_plan(tx, after, Some(*sort_order)).await?;
            (
                "catalog_plan_put",
                format!("plan:{}", after.id),
                before.as_ref().map_or(none, json),
                json(after),
            )
        }
        Change::ArchivePlan { plan } => {
            put_plan(tx, plan, None).await?;
            sqlx::query("UPDATE prices SET active = 0 WHERE plan_id = $1 AND org_id IS NULL")
                .bind(&plan.id)
                .execute(&mut **tx)
                .await?;
            (
                "catalog_plan_archive",
                format!("plan:{}", plan.id),
                none,
                json(plan),
            )
        }
        Change::AddPrice { plan_id, price } => {
            insert_price(tx, plan_id, price, &price.id, 1).await?;
            (
                "catalog_price_add",
                format!("price:{}", price.id),
                none,
                json(price),
            )
        }
        Change::NewPriceVersion {
            plan_id,
            before,
            after,
        } => {
            let newest: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(MAX(version), 1) AS BIGINT) FROM prices WHERE COALESCE(lookup_key, id) = $1",
            )
            .bind(&after.id)
            .fetch_one(&mut **tx)
            .await?;
            let version = newest + 1;
            let row_id = format!("{}_v{version}", after.id);
            // The version it replaces keeps the terms published before this revision.
            sqlx::query(
                "UPDATE prices SET until_revision = $2 WHERE COALESCE(lookup_key, id) = $1 AND version = $3",
            )
            .bind(&after.id)
            .bind(revision)
            .bind(newest)
            .execute(&mut **tx)
            .await?;
            sqlx::query("UPDATE prices SET active = 0 WHERE COALESCE(lookup_key, id) = $1")
                .bind(&after.id)
                .execute(&mut **tx)
                .await?;
            insert_price(tx, plan_id, after, &row_id, version).await?;
            (
                "catalog_price_version",
                format!("price:{row_id}"),
                json(before),
                json(after),
            )
        }
        Change::SetPriceArchived {
            price, archived, ..
        } => {
            if *archived {
                sqlx::query("UPDATE prices SET active = 0 WHERE COALESCE(lookup_key, id) = $1")
                    .bind(&price.id)
                    .execute(&mut **tx)
                    .await?;
            } else {
                sqlx::query(
                    "UPDATE prices SET active = 1 WHERE COALESCE(lookup_key, id) = $1 AND version = \
                     (SELECT MAX(version) FROM prices WHERE COALESCE(lookup_key, id) = $1)",
                )
                .bind(&price.id)
                .execute(&mut **tx)
                .await?;
            }
            (
                if *archived {
                    "catalog_price_archive"
                } else {
                    "catalog_price_restore"
                },
                format!("price:{}", price.id),
                json(&!archived),
                json(archived),
            )
        }
        Change::PutUsagePrice {
            plan_id,
            before,
            after,
        } => {
            // Subscribers keep the version they have: the published one is closed at this
            // revision and the new terms are a row of their own from it.
            close_usage_price(tx, &after.id, revision).await?;
            let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM usage_prices WHERE id = $1")
                .bind(&after.id)
                .fetch_one(&mut **tx)
                .await?;
            let row_id = if taken == 0 {
                after.id.clone()
            } else {
                format!("{}_r{revision}", after.id)
            };
            if row_id != after.id {
                let clash: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM usage_prices WHERE id = $1")
                        .bind(&row_id)
                        .fetch_one(&mut **tx)
                        .await?;
                if clash > 0 {
                    return Err(PublishError::Refused(format!(
                        "usage price \"{}\": its new version would be stored as \"{row_id}\", which another usage price's id takes; rename one of them",
                        after.id
                    )));
                }
            }
            sqlx::query(
                "INSERT INTO usage_prices (id, plan_id, meter_id, nickname, currency, model, unit_label, active, \
                 lookup_key, since_revision) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9)",
            )
            .bind(&row_id)
            .bind(plan_id)
            .bind(&after.meter)
            .bind(&after.nickname)
            .bind(after.currency.code())
            .bind(serde_json::to_string(&after.model).map_err(encode)?)
            .bind(&after.unit_label)
            .bind(&after.id)
            .bind(revision)
            .execute(&mut **tx)
            .await?;
            (
                "catalog_usage_price_put",
                format!("usage_price:{}", after.id),
                before.as_ref().map_or(none, json),
                json(after),
            )
        }
        Change::RemoveUsagePrice { usage, .. } => {
            close_usage_price(tx, &usage.id, revision).await?;
            (
                "catalog_usage_price_remove",
                format!("usage_price:{}", usage.id),
                json(usage),
                none,
            )
        }
        Change::PutEntitlement {
            plan_id,
            before,
            after,
        } => {
            let e = after.entitlement();
            let (kind, value, meter) = match &e.kind {
                EntitlementKind::Feature { enabled } => {
                    ("feature", Some(i64::from(*enabled)), None)
                }
                EntitlementKind::Limit { value, meter } => ("limit", *value, meter.clone()),
            };
            close_entitlement(tx, plan_id, &e.key, revision).await?;
            sqlx::query(
                "INSERT INTO plan_entitlements (plan_id, key, name, kind, value, meter_id, since_revision) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(plan_id)
            .bind(&e.key)
            .bind(after.name.clone().unwrap_or_default())
            .bind(kind)
            .bind(value)
            .bind(meter)
            .bind(revision)
            .execute(&mut **tx)
            .await?;
            (
                "catalog_entitlement_put",
                format!("entitlement:{plan_id}:{}", e.key),
                before.as_ref().map_or(none, json),
                json(after),
            )
        }
        Change::RemoveEntitlement {
            plan_id,
            entitlement,
        } => {
            close_entitlement(tx, plan_id, &entitlement.key, revision).await?;
            (
                "catalog_entitlement_remove",
                format!("entitlement:{plan_id}:{}", entitlement.key),
                json(entitlement),
                none,
            )
        }
        Change::AddCoupon { coupon } => {
            let c = coupon.coupon().map_err(PublishError::Refused)?;
            let (percent, amount, currency) = match &c.value {
                CouponValue::Percent { percent } => {
                    (Some(percent.normalize().to_string()), None, None)
                }
                CouponValue::FixedAmount { amount } => (
                    None,
                    Some(amount.minor_units()),
                    Some(amount.currency().code().to_string()),
                ),
            };
            let (duration, periods) = match c.duration {
                CouponDuration::Once => ("once", None),
                CouponDuration::Repeating { periods } => ("repeating", Some(i64::from(periods))),
                CouponDuration::Forever => ("forever", None),
            };
            sqlx::query(
                "INSERT INTO coupons (id, name, percent_off, amount_off, currency, duration, duration_periods, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&c.id)
            .bind(&c.name)
            .bind(percent)
            .bind(amount)
            .bind(currency)
            .bind(duration)
            .bind(periods)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            (
                "catalog_coupon_add",
                format!("coupon:{}", c.id),
                none,
                json(coupon),
            )
        }
        Change::PutCode {
            coupon_id,
            before,
            after,
        } => {
            let code = after.normalized();
            let expires_at = after.expiry().map_err(PublishError::Refused)?;
            sqlx::query(
                "INSERT INTO promotion_codes (code, coupon_id, active, expires_at, max_redemptions, created_at) \
                 VALUES ($1, $2, $6, $3, $4, $5) ON CONFLICT (code) DO UPDATE SET expires_at = $3, max_redemptions = $4, active = $6",
            )
            .bind(&code)
            .bind(coupon_id)
            .bind(expires_at)
            .bind(after.max_redemptions)
            .bind(now)
            .bind(i64::from(!after.archived))
            .execute(&mut **tx)
            .await?;
            (
                "catalog_promotion_code_put",
                format!("promotion_code:{code}"),
                before.as_ref().map_or(none, json),
                json(after),
            )
        }
    })
}

async fn put_plan(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    plan: &PlanEntry,
    sort_order: Option<i64>,
) -> Result<(), PublishError> {
    sqlx::query(
        "INSERT INTO plans (id, name, description, features, sort_order, active, policies) \
         VALUES ($1, $2, $3, $4, COALESCE($5, (SELECT COUNT(*) FROM plans)), $6, $7) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, \
         features = excluded.features, sort_order = COALESCE($5, plans.sort_order), active = excluded.active, \
         policies = excluded.policies",
    )
    .bind(&plan.id)
    .bind(&plan.name)
    .bind(&plan.description)
    .bind(serde_json::to_string(&plan.notes).map_err(encode)?)
    .bind(sort_order)
    .bind(i64::from(!plan.archived))
    .bind(serde_json::to_string(&plan.policies).map_err(encode)?)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_price(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    plan_id: &str,
    entry: &PriceEntry,
    row_id: &str,
    version: i64,
) -> Result<(), PublishError> {
    let price = entry.price(row_id);
    let inserted = sqlx::query(
        "INSERT INTO prices (id, plan_id, nickname, currency, interval_unit, interval_count, model, \
         unit_label, min_quantity, max_quantity, trial_days, active, lookup_key, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&price.id)
    .bind(plan_id)
    .bind(&price.nickname)
    .bind(price.currency.code())
    .bind(unit_of(&price.interval))
    .bind(i64::from(price.interval.count))
    .bind(serde_json::to_string(&price.model).map_err(encode)?)
    .bind(price.unit_label.as_deref())
    .bind(price.min_quantity)
    .bind(price.max_quantity)
    .bind(i64::from(price.trial_days))
    .bind(i64::from(!entry.archived))
    .bind(&entry.id)
    .bind(version)
    .execute(&mut **tx)
    .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if super::is_unique_violation(&e) => Err(PublishError::Refused(format!(
            "price id \"{row_id}\" is already taken by a published price version; give the price another id"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The catalog's draft: the document, the revision it started from, who saved it last and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    pub body: String,
    pub base_revision: i64,
    pub updated_by: String,
    pub updated_at: i64,
}

pub async fn draft(db: &Db) -> Result<Option<Draft>, sqlx::Error> {
    sqlx::query(
        "SELECT body, base_revision, updated_by, updated_at FROM catalog_drafts WHERE id = 'draft'",
    )
    .fetch_optional(&db.pool)
    .await?
    .map(|r| {
        Ok(Draft {
            body: r.try_get("body")?,
            base_revision: r.try_get("base_revision")?,
            updated_by: r.try_get("updated_by")?,
            updated_at: r.try_get("updated_at")?,
        })
    })
    .transpose()
}

/// Saves the draft (audited); `base_revision` is kept from the draft it replaces, if any.
pub async fn save_draft(
    db: &Db,
    body: &str,
    base_revision: i64,
    actor: &Actor,
    now: i64,
) -> Result<(), sqlx::Error> {
    let query = sqlx::query(
        "INSERT INTO catalog_drafts (id, body, base_revision, updated_by, updated_at) \
         VALUES ('draft', $1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET body = $1, base_revision = $2, updated_by = $3, updated_at = $4",
    )
    .bind(body)
    .bind(base_revision)
    .bind(&actor.name)
    .bind(now);
    let note = format!("{} bytes", body.len());
    super::audit::execute_audited(
        db,
        query,
        &AuditEntry {
            note: &note,
            ..actor.did("catalog_draft_save", "catalog:draft")
        },
        now,
    )
    .await?;
    Ok(())
}

/// Empties the draft (audited).
pub async fn discard_draft(db: &Db, actor: &Actor, now: i64) -> Result<(), sqlx::Error> {
    super::audit::execute_audited(
        db,
        sqlx::query("DELETE FROM catalog_drafts WHERE id = 'draft'"),
        &actor.did("catalog_draft_discard", "catalog:draft"),
        now,
    )
    .await?;
    Ok(())
}

/// Empties the draft if it still holds `body` (after it was published).
pub async fn clear_draft_if(db: &Db, body: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM catalog_drafts WHERE id = 'draft' AND body = $1")
        .bind(body)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// One publish of the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    pub revision: i64,
    pub published_by: String,
    pub published_at: i64,
    pub summary: String,
}

/// The newest publishes first.
pub async fn revisions(db: &Db, limit: i64) -> Result<Vec<Revision>, sqlx::Error> {
    sqlx::query(
        "SELECT revision, published_by, published_at, summary FROM catalog_revisions \
         ORDER BY revision DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(Revision {
            revision: r.try_get("revision")?,
            published_by: r.try_get("published_by")?,
            published_at: r.try_get("published_at")?,
            summary: r.try_get("summary")?,
        })
    })
    .collect()
}
