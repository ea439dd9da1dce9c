//! Moving the subscribers of one price version to another at their renewal: a preview of what
//! each pays now and will pay, a request by a catalog admin, an approval by a second person that
//! tells every customer, and the move itself at each one's renewal (see `bill_run`).

use crate::domain::access::StaffRole;
use crate::domain::catalog::find_price;
use crate::domain::cohort::Cohort;
use crate::domain::period::format_date;
use crate::domain::{Money, Price};
use crate::error::AppError;
use crate::server::AppState;
use crate::store::price_migrations as store;
use crate::wire::console::{MigrationLine, MigrationPreview, MigrationRow, MigrationTotal};
use crate::wire::StaffSession;
use std::collections::BTreeMap;

/// Who may approve a migration (never the person who asked for it).
pub const DECIDERS: [StaffRole; 2] = [StaffRole::CatalogAdmin, StaffRole::Approver];

/// What a period of `quantity` costs on `price`, or why it cannot be priced.
fn amount(price: &Price, quantity: i64) -> Result<Money, String> {
    price.amount_for(quantity).map_err(|e| e.to_string())
}

/// The preview of moving `from`'s subscribers to `to`: each customer's recurring amount now and
/// after, and the totals per currency. Refused when the two prices cannot be swapped at renewal.
pub async fn preview(
    state: &AppState,
    from: &str,
    to: &str,
    cohort: &Cohort,
) -> Result<MigrationPreview, AppError> {
    let plans = crate::store::catalog::load(&state.db)
        .await
        .map_err(AppError::internal)?;
    // A contract's price is one organisation's; it changes through its contract, not a migration.
    let (_, old) = find_price(&plans, from.trim())
        .filter(|_| !crate::domain::contract::is_contract_price(from.trim()))
        .ok_or_else(|| {
            AppError::Invalid(format!(
                "There is no price \"{from}\" to migrate; pick one from the list."
            ))
        })?;
    let (to_plan, new) =
        crate::domain::catalog::find_for_sale(&plans, to.trim()).ok_or_else(|| {
            AppError::Invalid(format!(
                "\"{to}\" is not a price for sale; subscribers can only move to a price that is."
            ))
        })?;
    if old.id == new.id {
        return Err(AppError::Invalid("Pick two different prices.".into()));
    }
    if old.currency != new.currency || old.interval != new.interval {
        return Err(AppError::Invalid(format!(
            "{} bills in {} every {} and {} in {} every {}; a migration keeps the currency and the interval.",
            old.id,
            old.currency.code(),
            old.interval.describe(),
            new.id,
            new.currency.code(),
            new.interval.describe()
        )));
    }
    let subscribers = store::cohort(&state.db, &old.id).await?;
    let named: Vec<(&str, &str)> = subscribers
        .iter()
        .map(|s| (s.org_id.as_str(), s.org_name.as_str()))
        .collect();
    if let Some(unknown) = cohort.unknown(&named).first() {
        return Err(AppError::Invalid(format!(
            "No subscriber of {} is named \"{unknown}\" or has that id; check the name on the customer's page, or take it off the list.",
            old.id
        )));
    }
    let subscribers: Vec<_> = subscribers
        .into_iter()
        .filter(|s| cohort.includes(s.org_id.as_str(), &s.org_name, s.quantity))
        .collect();
    let mut rows = Vec::with_capacity(subscribers.len());
    let mut totals: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for s in subscribers {
        let now = amount(old, s.quantity);
        let after = amount(new, s.quantity);
        if let (Ok(a), Ok(b)) = (&now, &after) {
            let t = totals.entry(a.currency().code().to_string()).or_default();
            t.0 += a.minor_units();
            t.1 += b.minor_units();
        }
        rows.push(MigrationLine {
            org_id: s.org_id.to_string(),
            org_name: s.org_name,
            quantity: s.quantity,
            current: now.map(|m| m.to_string()).unwrap_or_else(|e| e),
            new: after
                .map(|m| m.to_string())
                .unwrap_or_else(|e| format!("cannot be priced: {e}")),
            renews: format_date(s.current_period_end),
        });
    }
    let totals = totals
        .into_iter()
        .map(|(code, (now, after))| {
            let currency = crate::domain::Currency::parse(&code).unwrap_or(old.currency);
            MigrationTotal {
                currency: code,
                current: Money::from_minor(now, currency).to_string(),
                new: Money::from_minor(after, currency).to_string(),
            }
        })
        .collect();
    Ok(MigrationPreview {
        from: old.id.clone(),
        to: new.id.clone(),
        plan_name: to_plan.name.clone(),
        cohort: cohort.describe(),
        rows,
        totals,
    })
}

/// Asks for the migration the preview showed; it waits for a second person.
pub async fn request(
    state: &AppState,
    staff: &StaffSession,
    from: &str,
    to: &str,
    not_before: Option<i64>,
    cohort: &Cohort,
) -> Result<String, AppError> {
    let preview = preview(state, from, to, cohort).await?;
    if preview.rows.is_empty() {
        return Err(AppError::Invalid(format!(
            "No subscriber of {} is in the cohort ({}); there is nothing to migrate.",
            preview.from, preview.cohort
        )));
    }
    if let Some(bad) = preview
        .rows
        .iter()
        .find(|r| r.new.starts_with("cannot be priced"))
    {
        return Err(AppError::Invalid(format!(
            "{} × {} {}; pick a price that allows their quantity.",
            bad.org_name, bad.quantity, bad.new
        )));
    }
    let totals: Vec<String> = preview
        .totals
        .iter()
        .map(|t| format!("{} → {}", t.current, t.new))
        .collect();
    let note = format!(
        "{} → {}: {} subscriber(s) ({}), recurring {}",
        preview.from,
        preview.to,
        preview.rows.len(),
        preview.cohort,
        totals.join(", ")
    );
    let actor = crate::store::audit::Actor::staff(&staff.email, staff.role);
    store::request(
        &state.db,
        &store::NewMigration {
            from_price_id: &preview.from,
            to_price_id: &preview.to,
            not_before,
            cohort_size: preview.rows.len() as i64,
            cohort,
        },
        &actor,
        &note,
        state.now(),
    )
    .await?;
    Ok(format!(
        "Migration of {} subscriber(s) from {} to {} requested; another catalog admin or an approver approves it.",
        preview.rows.len(),
        preview.from,
        preview.to
    ))
}

/// Approves or rejects a pending migration. Approving tells each customer through the outbox.
pub async fn decide(
    state: &AppState,
    staff: &StaffSession,
    id: &str,
    approve: bool,
) -> Result<String, AppError> {
    let migration = store::by_id(&state.db, id.trim())
        .await?
        .ok_or_else(|| AppError::NotFound("That migration".into()))?;
    if migration.status != "pending" {
        return Err(AppError::Conflict(format!(
            "That migration was {} already.",
            migration.status
        )));
    }
    if migration.requested_by == staff.email {
        return Err(AppError::Invalid(
            "A migration needs a second person: someone other than who asked for it approves it."
                .into(),
        ));
    }
    let mut notices = Vec::new();
    if approve {
        let cohort = Cohort::from_stored(&migration.cohort).map_err(AppError::internal)?;
        let preview = preview(
            state,
            &migration.from_price_id,
            &migration.to_price_id,
            &cohort,
        )
        .await?;
        for row in &preview.rows {
            let org = crate::domain::ids::OrgId::parse(&row.org_id)
                .map_err(|_| AppError::internal("a subscriber's organisation id"))?;
            let Some(to) = crate::store::renewals::billing_contact(&state.db, &org).await? else {
                continue;
            };
            let when = migration
                .not_before
                .map_or("your next renewal".to_string(), |t| {
                    format!("your first renewal on or after {}", format_date(t))
                });
            notices.push(store::Notice {
                org_id: org,
                to,
                subject: format!("Your {} price changes at renewal", preview.plan_name),
                body: format!(
                    "From {when} ({}), {} × {} costs {} a period instead of {}. Nothing changes before then; see your plan at {}/billing/plan.",
                    row.renews,
                    row.quantity,
                    preview.plan_name,
                    row.new,
                    row.current,
                    state.config.public_base_url
                ),
            });
        }
    }
    let actor = crate::store::audit::Actor::staff(&staff.email, staff.role);
    if !store::decide(
        &state.db,
        &migration.id,
        approve,
        &notices,
        &actor,
        state.now(),
    )
    .await?
    {
        return Err(AppError::Conflict(
            "That migration was decided already.".into(),
        ));
    }
    Ok(if approve {
        format!(
            "Migration approved: {} customer(s) move from {} to {} at renewal and were emailed.",
            notices.len(),
            migration.from_price_id,
            migration.to_price_id
        )
    } else {
        "Migration rejected; nobody moves.".into()
    })
}

/// The migrations the catalog page lists, newest first.
pub async fn recent(state: &AppState) -> Result<Vec<MigrationRow>, AppError> {
    Ok(store::recent(&state.db, 20)
        .await?
        .into_iter()
        .map(|m| MigrationRow {
            id: m.id,
            summary: format!(
                "{} → {} · {} subscriber(s){} · {}",
                m.from_price_id,
                m.to_price_id,
                m.cohort_size,
                Cohort::from_stored(&m.cohort)
                    .ok()
                    .filter(|c| !c.is_everyone())
                    .map(|c| format!(" ({})", c.describe()))
                    .unwrap_or_default(),
                m.not_before
                    .map_or("at the next renewal".to_string(), |t| format!(
                        "from {}",
                        format_date(t)
                    ))
            ),
            status: m.status,
            requested_by: m.requested_by,
            decided_by: m.decided_by,
            requested_at: format_date(m.created_at),
        })
        .collect())
}

/// The sentence the plan page shows about a coming price change, if any.
pub async fn coming_change(
    state: &AppState,
    plans: &[crate::domain::catalog::Plan],
    sub: &crate::store::subscriptions::SubscriptionRow,
) -> Result<Option<String>, AppError> {
    let Some(pending) = store::pending_for(&state.db, &sub.id).await? else {
        return Ok(None);
    };
    // The customer's own scheduled change comes first; a move to another price leaves this
    // migration nothing to do.
    let next_price = sub.scheduled_price_id.as_deref().unwrap_or(&sub.price_id);
    if pending.from_price_id != next_price {
        return Ok(None);
    }
    let Some((_, new)) = find_price(plans, &pending.to_price_id) else {
        return Ok(None);
    };
    let quantity = sub.scheduled_quantity.unwrap_or(sub.quantity);
    let Ok(amount) = new.amount_for(quantity) else {
        return Ok(None);
    };
    let when = match pending.not_before {
        Some(t) if t > sub.current_period_end => {
            format!("your first renewal on or after {}", format_date(t))
        }
        _ => format!("your renewal on {}", format_date(sub.current_period_end)),
    };
    Ok(Some(format!(
        "Your plan's price changes at {when}: {} for {} every {}.",
        amount,
        new.quantity_label(quantity),
        new.interval.describe()
    )))
}
