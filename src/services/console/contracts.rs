//! Console actions on an organisation's contract: giving it its own price for a plan (a
//! negotiated seat price, a minimum per period, an end date) and ending it early. Billing admins;
//! each is confirmed with its exact effect and audited.

use super::{
    acting_staff, by_staff, gate, reason_and_note, Effect, EndContractForm, GiveContractForm,
    Outcome, Step,
};
use crate::domain::access::StaffRole;
use crate::domain::catalog::{find_for_sale, find_price, Plan};
use crate::domain::contract;
use crate::domain::ids::OrgId;
use crate::domain::period::format_date;
use crate::domain::{Money, Price, PriceModel};
use crate::error::AppError;
use crate::server::AppState;
use crate::wire::console::Choice;

/// Who gives and ends contracts.
pub const GIVERS: [StaffRole; 1] = [StaffRole::BillingAdmin];

/// The list prices a contract can be negotiated from: every paid price for sale.
pub fn bases(catalog: &[Plan]) -> Vec<Choice> {
    catalog
        .iter()
        .flat_map(|plan| {
            plan.prices
                .iter()
                .filter(|p| p.model != PriceModel::Flat { amount: 0 })
                .map(|p| Choice {
                    id: p.id.clone(),
                    label: format!("{} · {} · {}", plan.name, p.nickname, p.currency.code()),
                })
        })
        .collect()
}

/// The console's line about the organisation's live contract, if it has one.
pub async fn summary(
    state: &AppState,
    catalog: &[Plan],
    org_id: &OrgId,
) -> Result<Option<String>, AppError> {
    let now = crate::store::test_clocks::org_now(&state.db, org_id, state.now()).await?;
    let rows = crate::store::contracts::for_org(&state.db, org_id).await?;
    Ok(rows
        .iter()
        .rev()
        .find(|row| row.contract.live_at(now))
        .and_then(|row| {
            let (plan, price) = find_price(catalog, &row.contract.price_id)?;
            Some(format!(
                "{}: {} (given by {} on {}: {})",
                plan.name,
                contract::describe(&row.contract, price),
                row.created_by,
                format_date(row.created_at),
                row.note
            ))
        }))
}

/// One amount of the form, in the price's currency; `what` names the field in the error.
fn amount(text: &str, price: &Price, what: &str) -> Result<Money, AppError> {
    Money::parse(text, price.currency).map_err(|_| {
        AppError::Invalid(format!(
            "Enter {what} as an amount in {}, e.g. 10.00.",
            price.currency.code()
        ))
    })
}

/// The date the contract ends (at midnight UTC starting that day), after `now`.
fn end_date(text: &str, now: i64) -> Result<Option<i64>, AppError> {
    if text.is_empty() {
        return Ok(None);
    }
    let at = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp())
        .ok_or_else(|| {
            AppError::Invalid(
                "Enter the end date as YYYY-MM-DD (e.g. 2027-12-31), or leave it empty for no end date."
                    .into(),
            )
        })?;
    if at <= now {
        return Err(AppError::Invalid(format!(
            "The end date {text} is not after today ({}); pick a later date.",
            format_date(now)
        )));
    }
    Ok(Some(at))
}

/// What both contract actions check first: the staff member, the reason and note, and the
/// organisation.
struct Checked<'a> {
    staff: crate::wire::StaffSession,
    reason: &'a str,
    note: String,
    org_id: OrgId,
    org_name: String,
}

async fn check<'a>(
    state: &AppState,
    step: Step<'_>,
    org_id: &str,
    reason_code: &'a str,
    note: &str,
) -> Result<Checked<'a>, AppError> {
    let staff = acting_staff(state, step, &GIVERS).await?;
    let (reason, note) = reason_and_note(reason_code, note)?;
    let org_id = OrgId::parse(org_id)?;
    let org = crate::store::console::organization(&state.db, &org_id)
        .await?
        .ok_or_else(|| AppError::NotFound("That customer".into()))?;
    Ok(Checked {
        staff,
        reason,
        note,
        org_id,
        org_name: org.name,
    })
}

pub async fn give_contract_step(
    state: &AppState,
    form: &GiveContractForm,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    let Checked {
        staff,
        reason,
        note,
        org_id,
        org_name,
    } = check(state, step, &form.org_id, &form.reason_code, &form.note).await?;
    let (note, org_id) = (note.as_str(), &org_id);
    let catalog = crate::store::catalog::load(&state.db)
        .await
        .map_err(AppError::internal)?;
    let (plan, base) = find_for_sale(&catalog, &form.price_id).ok_or_else(|| {
        AppError::Invalid("Pick the list price to negotiate from; it must be for sale.".into())
    })?;
    let unit = amount(&form.amount, base, "the negotiated price")?;
    let minimum = if form.minimum.is_empty() {
        Money::zero(base.currency)
    } else {
        amount(&form.minimum, base, "the minimum commitment")?
    };
    if minimum.is_negative() {
        return Err(AppError::Invalid(
            contract::ContractError::NegativeMinimum(minimum).to_string(),
        ));
    }
    let now = crate::store::test_clocks::org_now(&state.db, org_id, state.now()).await?;
    let ends_at = end_date(&form.ends_on, now)?;
    // The id is drawn when the contract is given; the effect confirmed does not name it.
    let id = match step {
        Step::Preview | Step::Act(None) => "ctr_preview".to_string(),
        _ => crate::store::contracts::new_contract_id(),
    };
    let ours = contract::negotiated_price(base, &id, unit)
        .map_err(|e| AppError::Invalid(e.to_string()))?;
    ours.validate()
        .map_err(|e| AppError::Invalid(format!("{}.", e.problem)))?;
    let terms = contract::Contract {
        id: id.clone(),
        price_id: id.clone(),
        base_price_id: base.id.clone(),
        minimum_commitment: minimum.minor_units(),
        ends_at,
        ended_at: None,
    };
    let described = contract::describe(&terms, &ours);
    let mut lines = vec![format!(
        "{} pays {described} for {}, instead of the list price {} ({}).",
        org_name, plan.name, base.nickname, base.id
    )];
    match crate::store::subscriptions::live_for_org(&state.db, org_id).await? {
        Some(sub) => {
            let held = find_price(&catalog, &sub.price_id);
            let same_offer = held.is_some_and(|(p, price)| {
                p.id == plan.id && price.currency == base.currency && price.interval == base.interval
            });
            if same_offer {
                let quantity = sub.scheduled_quantity.unwrap_or(sub.quantity);
                let (now_amount, after) = (
                    held.and_then(|(_, p)| p.amount_for(quantity).ok()),
                    ours.amount_for(quantity).ok(),
                );
                lines.push(format!(
                    "Their subscription moves to it at its renewal on {}: {quantity} seat(s) cost {} instead of {} a period, before any minimum.",
                    format_date(sub.current_period_end),
                    after.map_or("—".into(), |m| m.to_string()),
                    now_amount.map_or("—".into(), |m| m.to_string()),
                ));
            } else {
                lines.push(format!(
                    "Their subscription is on another plan or interval ({}); the plan page offers them this price in place of the list price.",
                    held.map_or(sub.price_id.clone(), |(p, price)| format!("{} · {}", p.name, price.nickname))
                ));
            }
        }
        None => lines.push(
            "They have no plan yet; the plan page and checkout offer them this price in place of the list price."
                .into(),
        ),
    }
    if minimum.minor_units() > 0 {
        lines.push(format!(
            "Each renewal invoice on it comes to at least {minimum}: a \"Minimum commitment\" line adds what the period's seats and usage fall short by."
        ));
    }
    if let Some(live) = crate::store::contracts::for_org(&state.db, org_id)
        .await?
        .into_iter()
        .rev()
        .find(|row| row.contract.live_at(now))
    {
        lines.push(format!(
            "It replaces their current contract {} from its next renewal.",
            live.contract.id
        ));
    }
    lines.push(format!("Reason: {reason}. Note: {note}"));
    let effect = Effect {
        org_id: org_id.clone(),
        title: format!("Give {} its own {} price", org_name, plan.name),
        lines,
        detail: Vec::new(),
    };
    if let Some(ask) = gate(&staff, &form.action(), effect, step) {
        return Ok(ask);
    }
    let target = format!("contract:{id}");
    let detail = format!("{note} ({described}, from {})", base.id);
    crate::store::contracts::give(
        &state.db,
        &crate::store::contracts::NewContract {
            org_id,
            plan_id: &plan.id,
            price: &ours,
            base_price_id: &base.id,
            minimum_commitment: minimum.minor_units(),
            ends_at,
            note,
        },
        &crate::store::audit::AuditEntry {
            action: "contract_given",
            target: &target,
            org_id: Some(org_id),
            amount: Some(minimum.minor_units()),
            currency: Some(base.currency.code()),
            reason_code: Some(reason),
            note: &detail,
            ..by_staff(&staff)
        },
        now,
    )
    .await?;
    Ok(Outcome::Done {
        org_id: org_id.clone(),
        message: format!("{} has its own {} price: {described}.", org_name, plan.name),
    })
}

pub async fn end_contract_step(
    state: &AppState,
    form: &EndContractForm,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    let Checked {
        staff,
        reason,
        note,
        org_id,
        org_name,
    } = check(state, step, &form.org_id, &form.reason_code, &form.note).await?;
    let (note, org_id) = (note.as_str(), &org_id);
    let now = crate::store::test_clocks::org_now(&state.db, org_id, state.now()).await?;
    let live = crate::store::contracts::for_org(&state.db, org_id)
        .await?
        .into_iter()
        .rev()
        .find(|row| row.contract.live_at(now))
        .ok_or_else(|| AppError::Invalid(format!("{} has no contract to end.", org_name)))?;
    let catalog = crate::store::catalog::load(&state.db)
        .await
        .map_err(AppError::internal)?;
    let mut lines = Vec::new();
    if let Some(sub) = crate::store::subscriptions::live_for_org(&state.db, org_id)
        .await?
        .filter(|s| s.price_id == live.contract.price_id)
    {
        let mut ended = live.contract.clone();
        ended.ended_at = Some(now);
        let list = contract::price_at_renewal(
            &catalog,
            &live.contract.price_id,
            &[ended],
            sub.current_period_end,
        );
        let quantity = sub.scheduled_quantity.unwrap_or(sub.quantity);
        let after = find_price(&catalog, &list)
            .and_then(|(_, p)| p.amount_for(quantity).ok())
            .map_or("—".into(), |m| m.to_string());
        lines.push(format!(
            "Their subscription keeps the contract price until its renewal on {}; from then {quantity} seat(s) cost {after} a period at the list price ({list}), with no minimum.",
            format_date(sub.current_period_end)
        ));
    } else {
        lines.push("They are not billed on the contract's price; nothing else changes.".into());
    }
    lines.push(format!("Reason: {reason}. Note: {note}"));
    let effect = Effect {
        org_id: org_id.clone(),
        title: format!("End {}'s contract {}", org_name, live.contract.id),
        lines,
        detail: Vec::new(),
    };
    if let Some(ask) = gate(&staff, &form.action(), effect, step) {
        return Ok(ask);
    }
    let target = format!("contract:{}", live.contract.id);
    if !crate::store::contracts::end(
        &state.db,
        org_id,
        &crate::store::audit::AuditEntry {
            action: "contract_ended",
            target: &target,
            org_id: Some(org_id),
            reason_code: Some(reason),
            note,
            ..by_staff(&staff)
        },
        now,
    )
    .await?
    {
        return Err(AppError::Conflict(format!(
            "{} has no contract to end any more.",
            org_name
        )));
    }
    Ok(Outcome::Done {
        org_id: org_id.clone(),
        message: format!(
            "{}'s contract {} is ended; they renew on the list price.",
            org_name, live.contract.id
        ),
    })
}
