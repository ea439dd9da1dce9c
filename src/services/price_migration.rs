//! Moving the subscribers of one price version to another at their renewal: a preview of what
//! each pays now and will pay, a request by a catalog admin, an approval by a second person that
//! tells every customer, and the move itself at each one's renewal (see `bill_run`).

use crate::domain::access::StaffRole;
use crate::domain::catalog::find_price;
use crate::domain::cohort::Cohort;
use crate::domain::ids::SubscriptionId;
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
    Ok(preview_of(state, from, to, cohort, None).await?.0)
}

/// The preview, and the subscriptions it lists; with `pinned`, of those subscriptions alone
/// (the ones a request listed, at approval). A subscriber whose contract prices their renewal
/// is left out (the migration would not change what they pay) and named in `held`.
async fn preview_of(
    state: &AppState,
    from: &str,
    to: &str,
    cohort: &Cohort,
    pinned: Option<&[SubscriptionId]>,
) -> Result<(MigrationPreview, Vec<SubscriptionId>), AppError> {
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
    // At approval the request's subscribers are pinned: a listed name may have changed since.
    if let Some(unknown) = cohort.unknown(&named).first().filter(|_| pinned.is_none()) {
        return Err(AppError::Invalid(format!(
            "No subscriber of {} is named \"{unknown}\" or has that id; check the name on the customer's page, or take it off the list.",
            old.id
        )));
    }
    let subscribers: Vec<_> = subscribers
        .into_iter()
        .filter(|s| match pinned {
            Some(ids) => ids.contains(&s.subscription_id),
            None => cohort.includes(s.org_id.as_str(), &s.org_name, s.quantity),
        })
        .collect();
    let mut rows = Vec::with_capacity(subscribers.len());
    let mut moved = Vec::with_capacity(subscribers.len());
    let mut held = Vec::new();
    let mut totals: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for s in subscribers {
        // The bill run's own rule: after the migration, the organisation's contract decides.
        let contracts = crate::store::contracts::terms_of(&state.db, &s.org_id).await?;
        let billed = crate::domain::contract::price_at_renewal(
            &plans,
            &new.id,
            &contracts,
            s.current_period_end,
        );
        if billed != new.id {
            held.push(format!(
                "{} is not moved: their contract prices their renewal ({billed}).",
                s.org_name
            ));
            continue;
        }
        moved.push(s.subscription_id.clone());
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
    Ok((
        MigrationPreview {
            from: old.id.clone(),
            to: new.id.clone(),
            plan_name: to_plan.name.clone(),
            cohort: cohort.describe(),
            rows,
            totals,
            held,
        },
        moved,
    ))
}

/// When a migration moves its subscribers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    /// At each subscriber's next renewal (on or after the date, when there is one).
    Renewal { not_before: Option<i64> },
    /// On the date itself, mid-period: the rest of the period is credited at the old price and
    /// charged at the new one on the next invoice.
    OnDate { at: i64 },
}

impl Timing {
    /// Reads the console's fields: `when` is `renewal` or `date`; `date` is `YYYY-MM-DD`.
    pub fn parse(when: &str, date: &str, now: i64) -> Result<Timing, AppError> {
        let day = match date.trim() {
            "" => None,
            text => Some(
                chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| {
                        AppError::Invalid(format!(
                            "\"{text}\" is not a date; write it as 2027-01-31, or leave it empty for the next renewal."
                        ))
                    })?
                    .and_hms_opt(0, 0, 0)
                    .map(|t| t.and_utc().timestamp())
                    .unwrap_or_default(),
            ),
        };
        match when.trim() {
            "" | "renewal" => Ok(Timing::Renewal { not_before: day }),
            "date" => match day {
                None => Err(AppError::Invalid(
                    "A migration on a date needs the date; pick one, or move subscribers at their renewal.".into(),
                )),
                Some(at) if at <= now => Err(AppError::Invalid(format!(
                    "{} has begun or passed; a migration on a date starts on a later day.",
                    format_date(at)
                ))),
                Some(at) => Ok(Timing::OnDate { at }),
            },
            other => Err(AppError::Invalid(format!(
                "\"{other}\" is not a time to migrate; choose at renewal or on a date."
            ))),
        }
    }

    fn stored(self) -> (Option<i64>, bool) {
        match self {
            Timing::Renewal { not_before } => (not_before, false),
            Timing::OnDate { at } => (Some(at), true),
        }
    }

    fn of(migration: &store::Migration) -> Timing {
        match (migration.prorate_on_date, migration.not_before) {
            (true, Some(at)) => Timing::OnDate { at },
            (_, not_before) => Timing::Renewal { not_before },
        }
    }

    /// "at the next renewal", "from 1 March 2027", "on 1 March 2027, prorated".
    fn describe(self) -> String {
        match self {
            Timing::Renewal { not_before: None } => "at the next renewal".into(),
            Timing::Renewal {
                not_before: Some(t),
            } => format!("from {}", format_date(t)),
            Timing::OnDate { at } => format!("on {}, prorated", format_date(at)),
        }
    }
}

/// Asks for the migration the preview showed; it waits for a second person.
pub async fn request(
    state: &AppState,
    staff: &StaffSession,
    from: &str,
    to: &str,
    timing: Timing,
    cohort: &Cohort,
) -> Result<String, AppError> {
    let (preview, members) = preview_of(state, from, to, cohort, None).await?;
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
        "{} → {} {}: {} subscriber(s) ({}), recurring {}",
        preview.from,
        preview.to,
        timing.describe(),
        preview.rows.len(),
        preview.cohort,
        totals.join(", ")
    );
    let (not_before, prorate_on_date) = timing.stored();
    let actor = crate::store::audit::Actor::staff(&staff.email, staff.role);
    store::request(
        &state.db,
        &store::NewMigration {
            from_price_id: &preview.from,
            to_price_id: &preview.to,
            not_before,
            cohort_size: preview.rows.len() as i64,
            cohort,
            prorate_on_date,
            members: &members,
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
    let timing = Timing::of(&migration);
    let mut notices = Vec::new();
    let mut moves = Vec::new();
    if approve {
        if let Timing::OnDate { at } = timing {
            if at <= state.now() {
                return Err(AppError::Invalid(format!(
                    "This migration was to move its subscribers on {}, which has begun; reject it and ask again with a later date.",
                    format_date(at)
                )));
            }
        }
        // The subscribers the request listed, those still on the old version.
        let pinned =
            store::members_still_on(&state.db, &migration.id, &migration.from_price_id).await?;
        let cohort = Cohort::from_stored(&migration.cohort).map_err(AppError::internal)?;
        let (preview, moved) = preview_of(
            state,
            &migration.from_price_id,
            &migration.to_price_id,
            &cohort,
            Some(&pinned),
        )
        .await?;
        moves = moved;
        for row in &preview.rows {
            let org = crate::domain::ids::OrgId::parse(&row.org_id)
                .map_err(|_| AppError::internal("a subscriber's organisation id"))?;
            let Some(to) = crate::store::renewals::billing_contact(&state.db, &org).await? else {
                continue;
            };
            let (subject, body) = match timing {
                Timing::OnDate { at } => (
                    format!("Your {} price changes on {}", preview.plan_name, format_date(at)),
                    format!(
                        "From {}, {} × {} costs {} a period instead of {}. The rest of the period that day falls in is credited at the old price and charged at the new one on the invoice that follows it. See your plan at {}/billing/plan.",
                        format_date(at),
                        row.quantity,
                        preview.plan_name,
                        row.new,
                        row.current,
                        state.config.public_base_url
                    ),
                ),
                Timing::Renewal { not_before } => {
                    let when = not_before.map_or("your next renewal".to_string(), |t| {
                        format!("your first renewal on or after {}", format_date(t))
                    });
                    (
                        format!("Your {} price changes at renewal", preview.plan_name),
                        format!(
                            "From {when} ({}), {} × {} costs {} a period instead of {}. Nothing changes before then; see your plan at {}/billing/plan.",
                            row.renews,
                            row.quantity,
                            preview.plan_name,
                            row.new,
                            row.current,
                            state.config.public_base_url
                        ),
                    )
                }
            };
            notices.push(store::Notice {
                org_id: org,
                to,
                subject,
                body,
            });
        }
    }
    let actor = crate::store::audit::Actor::staff(&staff.email, staff.role);
    if !store::decide(
        &state.db,
        &migration.id,
        approve,
        &moves,
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
            "Migration approved: {} customer(s) move from {} to {} {} and were emailed.",
            moves.len(),
            migration.from_price_id,
            migration.to_price_id,
            match timing {
                Timing::OnDate { .. } => timing.describe(),
                Timing::Renewal { .. } => "at renewal".into(),
            }
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
                Timing::of(&m).describe()
            ),
            id: m.id,
            status: m.status,
            requested_by: m.requested_by,
            decided_by: m.decided_by,
            requested_at: format_date(m.created_at),
        })
        .collect())
}

/// The sentence the plan page shows about a coming price change, if any. `plans` is the
/// published catalog and `next` the subscription's [`crate::services::contracts::next_period`].
pub fn coming_change(
    plans: &[crate::domain::catalog::Plan],
    next: &crate::services::contracts::NextPeriod,
    sub: &crate::store::subscriptions::SubscriptionRow,
) -> Option<String> {
    let pending = next.pending.as_ref()?;
    // The customer's own scheduled change comes first; a move to another price leaves this
    // migration nothing to do.
    let next_price = sub.scheduled_price_id.as_deref().unwrap_or(&sub.price_id);
    if pending.from_price_id != next_price {
        return None;
    }
    let (_, new) = find_price(plans, &pending.to_price_id)?;
    let quantity = sub.scheduled_quantity.unwrap_or(sub.quantity);
    let amount = new.amount_for(quantity).ok()?;
    let what = format!(
        "{} for {} every {}",
        amount,
        new.quantity_label(quantity),
        new.interval.describe()
    );
    Some(match pending.not_before {
        Some(t) if pending.prorate_on_date && t < sub.current_period_end => format!(
            "Your plan's price changes on {}: {what}. The rest of this period from then is credited at the old price and charged at the new one on your invoice of {}.",
            format_date(t),
            format_date(sub.current_period_end)
        ),
        Some(t) if pending.prorate_on_date && t > sub.current_period_end => format!(
            "Your plan's price changes on {}: {what}. The rest of the period from then is credited at the old price and charged at the new one on the invoice that follows.",
            format_date(t)
        ),
        Some(t) if t > sub.current_period_end => format!(
            "Your plan's price changes at your first renewal on or after {}: {what}.",
            format_date(t)
        ),
        _ => format!(
            "Your plan's price changes at your renewal on {}: {what}.",
            format_date(sub.current_period_end)
        ),
    })
}

/// Moves every subscriber whose migration on a date has come (at their organisation's time)
/// onto the new price, as of that date: the rest of the period is credited at the old price and
/// charged at the new one on the next invoice. Returns how many moved and what failed; a
/// subscriber someone else changed first is left for the next run to look at again.
pub async fn apply_due_on_date(
    state: &AppState,
    catalog: &[crate::domain::catalog::Plan],
    real_now: i64,
    test_clock: Option<&str>,
) -> Result<(u64, Vec<String>), sqlx::Error> {
    let mut moved = 0;
    let mut errors = Vec::new();
    for id in store::due_on_date(&state.db, real_now, test_clock).await? {
        match move_on_date(state, catalog, &id).await {
            Ok(true) => moved += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(subscription = %id, error = %e, "price migration on its date failed; it will be retried");
                errors.push(format!("subscription {id}: {e}"));
            }
        }
    }
    Ok((moved, errors))
}

async fn move_on_date(
    state: &AppState,
    catalog: &[crate::domain::catalog::Plan],
    id: &SubscriptionId,
) -> Result<bool, String> {
    use crate::domain::{
        preview_change, ChangePolicies, CurrentSubscription, ProrationPolicy, SubscriptionChange,
    };
    let db = &state.db;
    let Some(sub) = crate::store::subscriptions::by_id(db, id)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(false);
    };
    let Some(pending) = store::pending_for(db, &sub.id)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(false);
    };
    let Some(at) = pending.not_before.filter(|_| pending.prorate_on_date) else {
        return Ok(false);
    };
    if pending.from_price_id != sub.price_id
        || at < sub.current_period_start
        || at >= sub.current_period_end
    {
        return Ok(false);
    }
    // A change the customer made after the date (the run came late) was prorated at the old
    // price from its own time: the move is as of then, so no day is credited twice.
    let at = crate::store::subscriptions::last_change_at(db, &sub.id)
        .await
        .map_err(|e| e.to_string())?
        .map_or(at, |changed| changed.clamp(at, sub.current_period_end - 1));
    let (_, old) = find_price(catalog, &pending.from_price_id)
        .ok_or_else(|| format!("price {} is not in the catalog", pending.from_price_id))?;
    let (plan, new) = find_price(catalog, &pending.to_price_id)
        .ok_or_else(|| format!("price {} is not in the catalog", pending.to_price_id))?;
    let when = chrono::DateTime::from_timestamp(at, 0).unwrap_or_default();
    // Nothing is billed during a trial: the price simply changes.
    let lines = if sub.status == crate::domain::SubscriptionStatus::Trialing {
        Vec::new()
    } else {
        preview_change(
            &CurrentSubscription {
                price: old.clone(),
                quantity: sub.quantity,
                billing_anchor: chrono::DateTime::from_timestamp(sub.billing_anchor, 0)
                    .unwrap_or_default(),
            },
            &SubscriptionChange::SwitchPrice {
                new_price: new.clone(),
                quantity: sub.quantity,
            },
            when,
            &ChangePolicies::all(ProrationPolicy::ProrateOnNextInvoice),
            None,
        )
        .map_err(|e| e.to_string())?
        .next_invoice_lines
    };
    let net = Money::checked_sum(old.currency, lines.iter().map(|l| l.amount))
        .map_err(|e| e.to_string())?;
    let detail = format!(
        "price migration {} on {}: {} → {} × {}, {net} on the next invoice",
        pending.migration_id,
        format_date(at),
        old.id,
        plan.name,
        sub.quantity
    );
    let system = crate::store::audit::Actor::system();
    store::migrate_now(
        db,
        &sub,
        &pending,
        &lines,
        &crate::store::subscriptions::ChangeRecord {
            actor: &system,
            reason_code: None,
            note: "",
            kind: "price_migration",
            to_price_id: &new.id,
            to_quantity: sub.quantity,
            amount_due: Money::zero(old.currency),
            effective_at: at,
            invoice_id: None,
            detail: &detail,
            seats_left: None,
        },
        state.now(),
    )
    .await
    .map_err(|e| e.to_string())
}
