//! Usage-based billing on the server: an organisation's usage this period with its charges and
//! projection, spend alerts and caps, what its plan entitles it to (cached), and the usage lines
//! a renewal invoice bills for the period that ended.

use crate::domain::catalog::Plan;
use crate::domain::ids::OrgId;
use crate::domain::metering::{rate, Aggregation, Meter};
use crate::domain::{BillingPeriod, Currency, InvoiceLine, LineKind, Money, PeriodFraction};
use crate::server::AppState;
use crate::store::usage::{self as store, Rating, SpendAlert, UsagePrice};
use crate::store::{subscriptions::SubscriptionRow, Db};
pub use crate::wire::usage::{Entitlements, Limit, MeterUsage, UsageSummary};

/// Why usage could not be summarised, rated or checked.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("catalog: {0}")]
    Catalog(#[from] crate::store::catalog::CatalogError),
    #[error("rating: {0}")]
    Pricing(#[from] crate::domain::PricingError),
    #[error("usage period: {0}")]
    Period(#[from] crate::domain::PeriodError),
}
use std::collections::BTreeMap;

/// The organisation's usage this period: its subscription's period, or the calendar month at its
/// time when it has none.
pub async fn summary(state: &AppState, org_id: &OrgId) -> Result<UsageSummary, UsageError> {
    let db = &state.db;
    let now = crate::store::test_clocks::org_now(db, org_id, state.now()).await?;
    let catalog = crate::store::catalog::load(db).await?;
    let sub = crate::store::subscriptions::live_for_org(db, org_id).await?;
    let found = sub
        .as_ref()
        .and_then(|s| crate::domain::catalog::find_price(&catalog, &s.price_id));
    let (plan, price) = (found.map(|(plan, _)| plan), found.map(|(_, price)| price));
    let (period_start, period_end) = match &sub {
        Some(s) => (s.current_period_start, s.current_period_end),
        None => calendar_month(now),
    };
    let currency = price.map_or(Currency::USD, |p| p.currency);
    let meters = store::meters(db).await?;
    let terms = sub.as_ref().map_or(store::Terms::Published, |s| {
        store::Terms::AtRevision(s.catalog_revision)
    });
    let prices = match plan {
        Some(p) => store::usage_prices(db, &p.id, terms).await?,
        None => Vec::new(),
    };
    // Projections start after a day of the period, so the first minutes do not extrapolate.
    let elapsed = (now.min(period_end) - period_start).max(86_400);
    let length = (period_end - period_start).max(1);
    let mut usage = Vec::new();
    let (mut so_far, mut projected) = (0_i64, 0_i64);
    for meter in &meters {
        let quantity = store::meter_total(db, org_id, meter, period_start, period_end).await?;
        let projected_quantity = match meter.aggregation {
            Aggregation::Sum | Aggregation::Count => {
                ((i128::from(quantity) * i128::from(length)) / i128::from(elapsed)) as i64
            }
            _ => quantity,
        };
        let price = prices
            .iter()
            .find(|p| p.meter_id == meter.id && p.price.currency == currency);
        let (amount, projected_amount, formula) = match price {
            Some(p) => {
                let now_rated = rate(&p.price, quantity)?;
                let later = rate(&p.price, projected_quantity)?;
                so_far += now_rated.amount.minor_units();
                projected += later.amount.minor_units();
                (
                    Some(now_rated.amount),
                    Some(later.amount),
                    Some(now_rated.quote.formula),
                )
            }
            None => (None, None, None),
        };
        usage.push(MeterUsage {
            meter_id: meter.id.clone(),
            name: meter.name.clone(),
            unit_label: meter.unit_label.clone(),
            counts: meter.describe(),
            quantity,
            projected_quantity,
            amount,
            projected_amount,
            formula,
        });
    }
    let recurring = match (price, &sub) {
        (Some(p), Some(s)) => p.amount_for(s.quantity)?,
        _ => Money::zero(currency),
    };
    let alert = store::spend_alert(db, org_id)
        .await?
        .filter(|a| a.currency == currency);
    let capped = alert
        .as_ref()
        .is_some_and(|a| a.hard_cap && so_far >= a.amount);
    Ok(UsageSummary {
        org_id: org_id.clone(),
        plan_id: plan.map(|p| p.id.clone()),
        terms_revision: sub.as_ref().map(|s| s.catalog_revision),
        plan_name: plan.map(|p| p.name.clone()),
        status: sub.as_ref().map(|s| s.status),
        period_start,
        period_end,
        now,
        currency,
        meters: usage,
        usage_so_far: Money::from_minor(so_far, currency),
        projected_usage: Money::from_minor(projected, currency),
        recurring,
        projected_total: Money::from_minor(recurring.minor_units() + projected, currency),
        alert: alert.map(|a| (Money::from_minor(a.amount, a.currency), a.hard_cap)),
        capped,
        seats: sub.as_ref().map(|s| s.quantity),
        priced_meters: prices
            .iter()
            .filter(|p| p.price.currency == currency)
            .map(|p| p.meter_id.clone())
            .collect(),
    })
}

/// The calendar month (UTC) around `at`.
fn calendar_month(at: i64) -> (i64, i64) {
    use chrono::{Datelike, TimeZone};
    let t = chrono::DateTime::from_timestamp(at, 0).unwrap_or_default();
    let start = chrono::Utc
        .with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(t);
    let end = start
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(start);
    (start.timestamp(), end.timestamp())
}

/// Emails the organisation's owner, once per period, when the projected usage charges reach the
/// alert's amount. Returns whether an email was queued now.
pub async fn check_alert(state: &AppState, summary: &UsageSummary) -> Result<bool, UsageError> {
    let Some((amount, _)) = summary.alert else {
        return Ok(false);
    };
    if summary.projected_usage.minor_units() < amount.minor_units() {
        return Ok(false);
    }
    let db = &state.db;
    let to = crate::store::renewals::billing_contact(db, &summary.org_id).await?;
    let subject = format!(
        "Usage alert: projected usage charges of {} reach your {amount} alert",
        summary.projected_usage
    );
    let body = format!(
        "Your usage so far this period costs {}; at this rate the period ends at {} (period ends {}).\n\n\
         See the details or change the alert: {}/billing/usage\n",
        summary.usage_so_far,
        summary.projected_usage,
        crate::domain::period::format_date(summary.period_end),
        state.config.public_base_url
    );
    let mail = to
        .as_deref()
        .map(|to| crate::store::members::OutgoingEmail {
            to,
            subject: &subject,
            body: &body,
        });
    store::claim_alert_email(
        db,
        &summary.org_id,
        summary.period_start,
        mail.as_ref(),
        state.now(),
    )
    .await
    .map_err(UsageError::from)
}

// ---------------------------------------------------------------------------------------------
// Entitlements

/// The usage terms a summary's subscription keeps (the published ones without one).
pub fn summary_terms(summary: &UsageSummary) -> store::Terms {
    summary
        .terms_revision
        .map_or(store::Terms::Published, store::Terms::AtRevision)
}

/// Works entitlements out from the plan, the seats and this period's usage.
pub async fn entitlements(state: &AppState, org_id: &OrgId) -> Result<Entitlements, UsageError> {
    let summary = summary(state, org_id).await?;
    let db = &state.db;
    let rows = match &summary.plan_id {
        Some(plan) => store::entitlements(db, plan, summary_terms(&summary)).await?,
        None => Vec::new(),
    };
    let active = summary.status.is_some_and(|s| s.is_live());
    let seats = summary.seats;
    let mut features = BTreeMap::new();
    let mut limits = BTreeMap::new();
    for row in rows {
        if row.kind == "feature" {
            features.insert(row.key, active && row.value.unwrap_or(0) == 1);
            continue;
        }
        let (limit, used, meter) = if row.key == "seats" && row.meter_id.is_none() {
            let used = crate::store::members::seats_in_use(db, org_id, state.now()).await?;
            (row.value.or(seats), used, None)
        } else if let Some(meter) = &row.meter_id {
            let used = summary
                .meters
                .iter()
                .find(|m| &m.meter_id == meter)
                .map_or(0, |m| m.quantity);
            (row.value, used, Some(meter.clone()))
        } else {
            (row.value, 0, None)
        };
        let remaining = limit.map(|l| (l - used).max(0));
        let priced_overage = meter
            .as_ref()
            .is_some_and(|m| summary.priced_meters.contains(m));
        let within = remaining.is_none_or(|r| r > 0);
        let capped = meter.is_some() && summary.capped;
        limits.insert(
            row.key,
            Limit {
                limit,
                used,
                remaining,
                allowed: active && !capped && (within || priced_overage),
                meter,
            },
        );
    }
    Ok(Entitlements {
        customer: org_id.to_string(),
        plan: summary.plan_id.clone(),
        status: summary.status,
        period_start: summary.period_start,
        period_end: summary.period_end,
        features,
        limits,
        usage_charges: summary.usage_so_far.to_string(),
        hard_cap: summary
            .alert
            .filter(|(_, cap)| *cap)
            .map(|(m, _)| m.to_string()),
        capped: summary.capped,
    })
}

/// The organisation's entitlements, from the state's cache when still good (see
/// [`crate::server::cache::EntitlementCache`]).
pub async fn cached_entitlements(
    state: &AppState,
    org_id: &OrgId,
) -> Result<Entitlements, UsageError> {
    let version = subscription_version(&state.db, org_id).await?;
    if let Some(cached) = state.entitlements.fresh(org_id, version) {
        return Ok(cached);
    }
    let fresh = entitlements(state, org_id).await?;
    state.entitlements.put(org_id, version, fresh.clone());
    Ok(fresh)
}

async fn subscription_version(db: &Db, org_id: &OrgId) -> Result<Option<i64>, UsageError> {
    use sqlx::Row;
    sqlx::query(
        "SELECT version FROM subscriptions WHERE org_id = $1 AND status IN ('active', 'trialing', 'past_due') \
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(org_id)
    .fetch_optional(&db.pool)
    .await
    ?
    .map(|r| r.try_get::<i64, _>("version"))
    .transpose()
    .map_err(UsageError::from)
}

// ---------------------------------------------------------------------------------------------
// Rating at the period end

/// The usage lines a renewal bills: the period that ended, rated by the plan's usage prices, and
/// for each earlier period rated in the last 35 days whose total late events changed, the
/// difference. Usage during a trial is not billed.
pub async fn lines_for_period_end(
    db: &Db,
    catalog: &[Plan],
    sub: &SubscriptionRow,
) -> Result<(Vec<InvoiceLine>, Vec<Rating>), UsageError> {
    let Some((plan, price)) = crate::domain::catalog::find_price(catalog, &sub.price_id) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let currency = price.currency;
    // The period that ended is rated on the usage prices of the subscription's terms; an earlier
    // one that late events changed, on the versions that rated it.
    let prices: Vec<UsagePrice> =
        store::usage_prices(db, &plan.id, store::Terms::AtRevision(sub.catalog_revision))
            .await?
            .into_iter()
            .filter(|p| p.price.currency == currency)
            .collect();
    let meters = store::by_id(store::meters(db).await?);
    let mut periods = Vec::new();
    if sub.status != crate::domain::SubscriptionStatus::Trialing && !prices.is_empty() {
        periods.push((sub.current_period_start, sub.current_period_end, prices));
    }
    let mut versions: BTreeMap<String, Option<UsagePrice>> = BTreeMap::new();
    for (start, end) in
        store::rated_periods(db, &sub.id, sub.current_period_end - 35 * 86_400).await?
    {
        if start == sub.current_period_start {
            continue;
        }
        let mut rated_with = Vec::new();
        for id in store::rated_price_ids(db, &sub.id, start).await? {
            // The same version usually rated every earlier period: read it once.
            let usage = match versions.get(&id) {
                Some(known) => known.clone(),
                None => {
                    let found = store::usage_price_by_id(db, &id).await?;
                    versions.insert(id, found.clone());
                    found
                }
            };
            if let Some(usage) = usage.filter(|u| u.price.currency == currency) {
                rated_with.push(usage);
            }
        }
        periods.push((start, end, rated_with));
    }
    let (mut lines, mut ratings) = (Vec::new(), Vec::new());
    for (start, end, prices) in periods {
        for usage in &prices {
            let Some(meter) = meters.get(&usage.meter_id) else {
                continue;
            };
            let quantity = store::meter_total(db, &sub.org_id, meter, start, end).await?;
            let billed = store::billed(db, &sub.id, &usage.price.id, start).await?;
            let rated = rate(&usage.price, quantity)?;
            let (amount, late) = match billed {
                None if start == sub.current_period_start => (rated.amount.minor_units(), None),
                None => continue,
                Some((q, _)) if q == quantity => continue,
                Some((q, already)) => (rated.amount.minor_units() - already, Some((q, already))),
            };
            ratings.push(Rating {
                usage_price_id: usage.price.id.clone(),
                period_start: start,
                period_end: end,
                quantity,
                amount,
            });
            if amount == 0 && late.is_none() && quantity == 0 {
                continue;
            }
            lines.push(usage_line(
                meter,
                usage,
                currency,
                (start, end),
                &rated,
                amount,
                late,
            )?);
        }
    }
    Ok((lines, ratings))
}

fn usage_line(
    meter: &Meter,
    usage: &UsagePrice,
    currency: Currency,
    (start, end): (i64, i64),
    rated: &crate::domain::metering::Rated,
    amount: i64,
    late: Option<(i64, i64)>,
) -> Result<InvoiceLine, UsageError> {
    let date = crate::domain::period::format_date;
    let ts = |t: i64| chrono::DateTime::from_timestamp(t, 0).unwrap_or_default();
    let period = BillingPeriod::new(ts(start), ts(end))?;
    let money = |minor: i64| Money::from_minor(minor, currency);
    let reproduce = format!(
        "{} of meter {} from {} to {}",
        meter.describe(),
        meter.id,
        ts(start).format("%Y-%m-%d %H:%M UTC"),
        ts(end).format("%Y-%m-%d %H:%M UTC")
    );
    let (description, explanation) = match late {
        None => (
            format!("{} ({} – {})", usage.price.nickname, date(start), date(end)),
            format!(
                "{} {} = {}: {}. Counted as {reproduce}.",
                rated.quantity,
                meter.unit_label,
                rated.amount,
                rated.quote.formula
            ),
        ),
        Some((was, billed)) => (
            format!(
                "{}: late usage for {} – {}",
                usage.price.nickname,
                date(start),
                date(end)
            ),
            format!(
                "Late events changed the period's usage from {was} to {} {}: it now rates {} ({}), {} was billed, so {} more. Counted as {reproduce}.",
                rated.quantity,
                meter.unit_label,
                rated.amount,
                rated.quote.formula,
                money(billed),
                money(amount)
            ),
        ),
    };
    Ok(InvoiceLine {
        kind: LineKind::Usage,
        description,
        price_id: Some(usage.price.id.clone()),
        quantity: rated.quantity,
        period,
        fraction: PeriodFraction::new(end - start, end - start)?,
        exact_minor: rust_decimal::Decimal::from(amount),
        amount: money(amount),
        explanation,
    })
}

/// The alert's figures as stored.
pub fn alert_of(alert: &SpendAlert) -> (Money, bool) {
    (
        Money::from_minor(alert.amount, alert.currency),
        alert.hard_cap,
    )
}
