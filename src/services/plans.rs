//! Changing what an organisation pays for: plan and interval changes, seats, scheduled changes
//! and their undo, cancel and resume, and promotion codes, for customers and for staff acting
//! on their behalf.

use crate::domain::catalog::{find_price, Plan};
use crate::domain::ids::OrgId;
use crate::domain::{ChangeKind, Money};
use crate::domain::{ChangePolicies, Price, ProrationPreview};
use crate::error::AppError;
use crate::payments::gateway::ChargeOutcome;
use crate::server::AppState;
use crate::store::subscriptions::{
    self, ChangeError, ChangeRecord, ImmediateCharge, SubscriptionRow,
};
use crate::wire::plan::{preview, ChangeResult, CurrentPlan, ScheduledPlan, CANCEL_REASONS};
use crate::wire::CustomerSession;
use chrono::{DateTime, Utc};

/// The time the organisation lives at: its test clock's, or the server's.
pub async fn org_time(state: &AppState, org_id: &OrgId) -> Result<DateTime<Utc>, AppError> {
    let secs = crate::store::test_clocks::org_now(&state.db, org_id, state.now()).await?;
    Ok(timestamp(secs))
}

/// The catalog as the organisation may buy from it now: with its contract's price, if it has
/// one, in place of the list price it replaces.
pub async fn catalog_for(state: &AppState, org_id: &OrgId) -> Result<Vec<Plan>, AppError> {
    let now = crate::store::test_clocks::org_now(&state.db, org_id, state.now()).await?;
    crate::store::catalog::load_for(&state.db, org_id, now)
        .await
        .map_err(AppError::internal)
}

/// The promotion code if this organisation may use it now on a plan billed in `currency`.
pub async fn usable_promotion(
    state: &AppState,
    org_id: &OrgId,
    code: &str,
    currency: crate::domain::Currency,
) -> Result<crate::domain::promotion::PromotionCode, AppError> {
    use crate::domain::promotion::PromotionError;
    let promotion = crate::store::coupons::promotion_code(&state.db, code)
        .await?
        .ok_or_else(|| AppError::Invalid(PromotionError::Unknown(code.to_string()).to_string()))?;
    let redeemed =
        crate::store::coupons::redeemed_by(&state.db, &promotion.coupon.id, org_id).await?;
    promotion
        .check(org_time(state, org_id).await?, currency, redeemed)
        .map_err(|e| AppError::Invalid(e.to_string()))?;
    Ok(promotion)
}

pub async fn current_plan_with_coupon(
    state: &AppState,
    plans: &[Plan],
    sub: &SubscriptionRow,
) -> Result<CurrentPlan, AppError> {
    let mut current = current_plan(plans, sub)?;
    // What the renewal bills, worked out once for the contract and migration sentences.
    let catalog = crate::store::catalog::load(&state.db)
        .await
        .map_err(AppError::internal)?;
    let next = crate::services::contracts::next_period(&state.db, &catalog, sub).await?;
    let (terms, contract_change) =
        crate::services::contracts::plan_page_lines(&catalog, &next, sub);
    current.contract = terms;
    current.price_change = contract_change
        .or_else(|| crate::services::price_migration::coming_change(&catalog, &next, sub));
    current.next_invoice = crate::store::pending_lines::open_for(&state.db, &sub.id)
        .await?
        .iter()
        .map(|w| describe_waiting(&w.line))
        .collect();
    if let Some(coupon_id) = &sub.coupon_id {
        if let Some(coupon) = crate::store::coupons::coupon(&state.db, coupon_id).await? {
            let applied = crate::domain::AppliedCoupon {
                coupon: coupon.clone(),
                periods_applied: u32::try_from(sub.coupon_periods_applied).unwrap_or(u32::MAX),
            };
            let left = match coupon.duration {
                crate::domain::CouponDuration::Repeating { periods } => {
                    format!(
                        " ({} left)",
                        periods.saturating_sub(applied.periods_applied)
                    )
                }
                _ => String::new(),
            };
            // Shown while it still discounts a coming invoice.
            if applied.applies_to_next_period() {
                current.coupon = Some(format!(
                    "{}: {}{left}",
                    coupon.name,
                    crate::domain::promotion::describe(&coupon)
                ));
            }
        }
    }
    Ok(current)
}

pub async fn apply_code(
    state: &AppState,
    customer: &CustomerSession,
    code: String,
    version: String,
) -> Result<String, AppError> {
    let sub = editable(state, customer, &version).await?;
    let by = ChangeBy::customer(customer);
    let code = crate::domain::promotion::normalise(&code)
        .ok_or_else(|| AppError::Invalid("Enter a promotion code.".into()))?;
    if let Some(existing) = &sub.coupon_id {
        let plans = crate::store::catalog::load(&state.db)
            .await
            .map_err(AppError::internal)?;
        let current = current_plan_with_coupon(state, &plans, &sub).await?;
        if current.coupon.is_some() {
            return Err(AppError::Invalid(
                crate::domain::promotion::PromotionError::AlreadyDiscounted(
                    current.coupon.unwrap_or_else(|| existing.clone()),
                )
                .to_string(),
            ));
        }
    }
    let currency = currency_of(state, &sub).await?;
    let promotion = usable_promotion(state, &customer.org_id, &code, currency).await?;
    let described = crate::domain::promotion::describe(&promotion.coupon);
    subscriptions::set_coupon(
        &state.db,
        &sub,
        &promotion.code,
        &promotion.coupon.id,
        &by.keeping(
            "coupon_applied",
            &sub,
            Money::zero(currency),
            sub.current_period_end,
            &format!("promotion code {}: {described}", promotion.code),
        ),
        state.now(),
    )
    .await
    .map_err(|e| match e {
        ChangeError::Db(e) if crate::store::is_unique_violation(&e) => AppError::Invalid(
            crate::domain::promotion::PromotionError::AlreadyRedeemed(code.clone()).to_string(),
        ),
        other => from_change_error(other),
    })?;
    Ok(format!(
        "{} applied: {described}, from your next invoice on {}.",
        promotion.code,
        crate::domain::period::format_date(sub.current_period_end)
    ))
}

fn timestamp(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

/// The change policies of the plan that holds `price_id` (the subscription's current price): they
/// decide how a change away from it is prorated.
pub fn policies_of(plans: &[Plan], price_id: &str) -> ChangePolicies {
    find_price(plans, price_id)
        .map(|(plan, _)| plan.policies)
        .unwrap_or_default()
}

pub fn current_plan(plans: &[Plan], sub: &SubscriptionRow) -> Result<CurrentPlan, AppError> {
    let (plan, price) = find_price(plans, &sub.price_id).ok_or_else(|| {
        AppError::internal(format!(
            "price {} of {} is not in the catalog",
            sub.price_id, sub.id
        ))
    })?;
    let scheduled = match (&sub.scheduled_price_id, sub.scheduled_quantity) {
        (Some(price_id), Some(quantity)) => {
            let plan_name = find_price(plans, price_id)
                .map(|(p, _)| p.name.clone())
                .unwrap_or_else(|| price_id.clone());
            Some(ScheduledPlan {
                plan_name,
                price_id: price_id.clone(),
                quantity,
            })
        }
        _ => None,
    };
    Ok(CurrentPlan {
        plan_name: plan.name.clone(),
        price: price.clone(),
        quantity: sub.quantity,
        billing_anchor: timestamp(sub.billing_anchor),
        current_period_end: timestamp(sub.current_period_end),
        scheduled,
        cancel_at_period_end: sub.cancel_at_period_end,
        version: sub.version,
        coupon: None,
        trial_end: (sub.status == crate::domain::SubscriptionStatus::Trialing)
            .then(|| timestamp(sub.current_period_end)),
        price_change: None,
        contract: None,
        next_invoice: Vec::new(),
    })
}

/// A line left for the next invoice, as the plan page and the console list it.
pub fn describe_waiting(line: &crate::domain::InvoiceLine) -> String {
    format!(
        "{}: {} ({})",
        line.description, line.amount, line.explanation
    )
}

/// Everything waiting for the subscription, in the order the renewal applies it, for staff: the
/// customer's own scheduled change (or cancellation), a price migration and the lines changes
/// left for the next invoice. `next` is its [`crate::services::contracts::next_period`].
pub fn pending_changes(
    plans: &[Plan],
    next: &crate::services::contracts::NextPeriod,
    sub: &SubscriptionRow,
    waiting: &[crate::store::pending_lines::PendingLine],
) -> Vec<String> {
    let renewal = crate::domain::period::format_date(sub.current_period_end);
    let name = |price_id: &str| {
        find_price(plans, price_id).map_or(price_id.to_string(), |(plan, price)| {
            format!("{} ({})", plan.name, price.id)
        })
    };
    let mut out = Vec::new();
    if sub.cancel_at_period_end {
        out.push(format!("Cancels at the renewal on {renewal}."));
    }
    if let (Some(price), Some(quantity)) = (&sub.scheduled_price_id, sub.scheduled_quantity) {
        out.push(format!(
            "The customer's change at the renewal on {renewal}: {} × {quantity}.",
            name(price)
        ));
    }
    if let Some(m) = &next.pending {
        let when = match (m.prorate_on_date, m.not_before) {
            (true, Some(t)) => format!(
                "on {}, the rest of that period prorated on the next invoice",
                crate::domain::period::format_date(t)
            ),
            (false, Some(t)) => format!(
                "at the first renewal on or after {}",
                crate::domain::period::format_date(t)
            ),
            _ => format!("at the renewal on {renewal}"),
        };
        let applies = if m.from_price_id == next.own {
            String::new()
        } else {
            " (it does not apply: the customer's own change leaves that price)".into()
        };
        out.push(format!(
            "Price migration {}: {} → {} {when}{applies}.",
            m.migration_id,
            m.from_price_id,
            name(&m.to_price_id)
        ));
    }
    if next.price_id != next.after_migration() {
        out.push(format!(
            "Their contract decides the renewal's price: {}.",
            name(&next.price_id)
        ));
    }
    out.extend(
        waiting
            .iter()
            .map(|w| format!("On the next invoice: {}", describe_waiting(&w.line))),
    );
    out
}

fn stale() -> AppError {
    AppError::Conflict(
        "This subscription changed since you opened the page (perhaps someone else changed it). Review the new figures and confirm again."
            .into(),
    )
}

fn from_change_error(e: ChangeError) -> AppError {
    match e {
        ChangeError::Stale => stale(),
        ChangeError::SeatsTaken { in_use, seats } if seats == crate::store::members::FREE_SEATS => {
            AppError::Invalid(format!(
                "Cancelling moves the organisation to the Free plan, which has {seats} seat, but {in_use} are taken by members and pending invitations. Remove members and revoke invitations first."
            ))
        }
        ChangeError::SeatsTaken { in_use, seats } => AppError::Invalid(format!(
            "{in_use} seats are taken by members and pending invitations, but this change leaves {seats}; keep at least {in_use} or remove some first."
        )),
        ChangeError::Db(e) => AppError::internal(e),
    }
}

/// The billing manager's live subscription at the version their page showed.
async fn editable(
    state: &AppState,
    customer: &CustomerSession,
    version: &str,
) -> Result<SubscriptionRow, AppError> {
    if !customer.role.can_manage_billing() {
        return Err(AppError::Forbidden);
    }
    let sub = subscriptions::live_for_org(&state.db, &customer.org_id)
        .await?
        .ok_or_else(|| AppError::NotFound("An active subscription".into()))?;
    let version: i64 = version.trim().parse().map_err(|_| stale())?;
    if sub.version != version {
        return Err(stale());
    }
    Ok(sub)
}

pub async fn change(
    state: &AppState,
    customer: &CustomerSession,
    price_id: String,
    seats: String,
    expected_due: String,
    version: String,
) -> Result<ChangeResult, AppError> {
    let sub = editable(state, customer, &version).await?;
    let prepared = prepare_change(state, &customer.org_id, &sub, &price_id, &seats).await?;
    apply_change(
        state,
        &customer.org_id,
        &ChangeBy::customer(customer),
        &sub,
        &prepared,
        &expected_due,
    )
    .await
}

/// A plan or seat change checked against the catalog, the seats in use and the
/// subscription's state, with its preview at the organisation's time (none while trialing:
/// nothing is charged during a trial).
pub struct PreparedChange {
    pub plan: Plan,
    pub price: Price,
    pub quantity: i64,
    pub current: CurrentPlan,
    pub now: DateTime<Utc>,
    pub preview: Option<ProrationPreview>,
}

pub async fn prepare_change(
    state: &AppState,
    org_id: &OrgId,
    sub: &SubscriptionRow,
    price_id: &str,
    seats: &str,
) -> Result<PreparedChange, AppError> {
    if sub.cancel_at_period_end {
        return Err(AppError::Conflict(
            "This subscription is set to cancel. Resume it before changing the plan.".into(),
        ));
    }
    let quantity: i64 = seats
        .trim()
        .parse()
        .map_err(|_| AppError::Invalid("Enter a whole number of seats.".into()))?;
    let plans = catalog_for(state, org_id).await?;
    let current = current_plan(&plans, sub)?;
    // Seats on the price a subscriber holds can change whether or not it is still for sale.
    let found = if price_id == sub.price_id {
        find_price(&plans, price_id)
    } else {
        crate::domain::catalog::find_for_sale(&plans, price_id)
    };
    let (plan, price) = found.ok_or_else(|| {
        if find_price(&plans, price_id).is_some() {
            AppError::Invalid("That price is no longer for sale; pick one on the plan page.".into())
        } else {
            AppError::NotFound("That plan".into())
        }
    })?;
    price
        .check_quantity(quantity)
        .map_err(|e| AppError::Invalid(crate::domain::catalog::explain_quantity(plan, price, e)))?;
    let in_use = crate::store::members::seats_in_use(&state.db, org_id, state.now()).await?;
    if quantity < in_use {
        return Err(AppError::Invalid(format!(
            "{in_use} seats are taken by members and pending invitations; keep at least {in_use} or remove some first."
        )));
    }
    let now = org_time(state, org_id).await?;
    let preview = if sub.status == crate::domain::SubscriptionStatus::Trialing {
        None
    } else {
        Some(
            preview(
                &current,
                price,
                quantity,
                now,
                &policies_of(&plans, &sub.price_id),
            )
            .map_err(AppError::Invalid)?,
        )
    };
    Ok(PreparedChange {
        plan: plan.clone(),
        price: price.clone(),
        quantity,
        current,
        now,
        preview,
    })
}

/// Who makes a change: a customer, or a staff member with their reason and note.
pub struct ChangeBy<'a> {
    pub actor: crate::store::audit::Actor,
    pub reason_code: Option<&'a str>,
    pub note: &'a str,
}

impl ChangeBy<'_> {
    /// The signed-in customer, who gives no reason or note.
    pub fn customer(customer: &CustomerSession) -> ChangeBy<'static> {
        ChangeBy {
            actor: customer.actor(),
            reason_code: None,
            note: "",
        }
    }

    /// The record of a change by this actor to `to` (price and seats), which holds the seats
    /// it leaves against members and invitations.
    fn record<'r>(
        &'r self,
        kind: &'r str,
        to: (&'r str, i64),
        amount_due: Money,
        effective_at: i64,
        detail: &'r str,
    ) -> ChangeRecord<'r> {
        ChangeRecord {
            actor: &self.actor,
            reason_code: self.reason_code,
            note: self.note,
            kind,
            to_price_id: to.0,
            to_quantity: to.1,
            amount_due,
            effective_at,
            invoice_id: None,
            detail,
            seats_left: Some(to.1),
        }
    }

    /// The record of a change that keeps the plan and seats (a coupon, an undo, a resume).
    fn keeping<'r>(
        &'r self,
        kind: &'r str,
        sub: &'r SubscriptionRow,
        amount_due: Money,
        effective_at: i64,
        detail: &'r str,
    ) -> ChangeRecord<'r> {
        ChangeRecord {
            seats_left: None,
            ..self.record(
                kind,
                (&sub.price_id, sub.quantity),
                amount_due,
                effective_at,
                detail,
            )
        }
    }
}

/// Applies or schedules a prepared change for `actor` (a customer or a staff member),
/// provided the amount due now is still `expected_due` (minor units).
pub async fn apply_change(
    state: &AppState,
    org_id: &OrgId,
    actor: &ChangeBy<'_>,
    sub: &SubscriptionRow,
    prepared: &PreparedChange,
    expected_due: &str,
) -> Result<ChangeResult, AppError> {
    let PreparedChange {
        plan,
        price,
        quantity,
        now,
        ..
    } = prepared;
    let (quantity, now) = (*quantity, *now);
    let Some(preview) = &prepared.preview else {
        // Nothing is charged during a trial: the plan and seats simply change, and the first
        // charge at the trial end is for what is chosen then.
        if expected_due.trim() != "0" {
            return Err(AppError::Conflict(
                "Nothing is due during your trial. Review the plan and confirm again.".into(),
            ));
        }
        let detail = format!("during the trial: {} × {quantity}", plan.name);
        subscriptions::apply_now(
            &state.db,
            sub,
            None,
            false,
            subscriptions::Settlement::default(),
            &actor.record(
                "trial_change",
                (&price.id, quantity),
                Money::zero(price.currency),
                now.timestamp(),
                &detail,
            ),
            state.now(),
        )
        .await
        .map_err(from_change_error)?;
        return Ok(ChangeResult::Applied {
            charged: Money::zero(price.currency).to_string(),
        });
    };
    let due = preview.amount_due_now;
    if expected_due.trim() != due.minor_units().to_string() {
        return Err(AppError::Conflict(format!(
            "The amount due now is {due}, not what the page showed (time has passed or the plan changed). Review it and confirm again."
        )));
    }
    let kind = preview.kind.as_str();
    if let Some(scheduled) = &preview.scheduled {
        let effective_on = crate::domain::period::format_date(scheduled.effective_at.timestamp());
        // Scheduled changes compose: fewer seats after a scheduled move to another plan keep
        // that move, with the new seat count (checked against the plan moved to).
        let (scheduled_price, plan_name) = match &sub.scheduled_price_id {
            Some(pending) if scheduled.price_id == sub.price_id && *pending != sub.price_id => {
                let plans = crate::store::catalog::load(&state.db)
                    .await
                    .map_err(AppError::internal)?;
                let (pending_plan, pending_price) =
                    find_price(&plans, pending).ok_or_else(|| {
                        AppError::internal(format!(
                            "scheduled price {pending} is not in the catalog"
                        ))
                    })?;
                pending_price
                    .check_quantity(scheduled.quantity)
                    .map_err(|e| {
                        AppError::Invalid(crate::domain::catalog::explain_quantity(
                            pending_plan,
                            pending_price,
                            e,
                        ))
                    })?;
                (pending.clone(), pending_plan.name.clone())
            }
            _ => (scheduled.price_id.clone(), plan.name.clone()),
        };
        let detail = format!(
            "{} scheduled for {effective_on}: {} × {}",
            kind, plan_name, quantity
        );
        subscriptions::set_scheduled(
            &state.db,
            sub,
            Some((&scheduled_price, scheduled.quantity)),
            &actor.record(
                &format!("scheduled_{kind}"),
                (&scheduled_price, scheduled.quantity),
                due,
                scheduled.effective_at.timestamp(),
                &detail,
            ),
            state.now(),
        )
        .await
        .map_err(from_change_error)?;
        return Ok(ChangeResult::Scheduled { effective_on });
    }

    // Charge first (keyed by subscription and version, so a retry or a concurrent click is
    // the same charge), then apply only if nobody changed the subscription meanwhile.
    let key = format!("change:{}:{}", sub.id, sub.version);
    let mut payment_intent = None;
    if due.minor_units() > 0 {
        payment_intent = Some(charge_default_card(state, org_id, due, &key).await?);
    }
    let new_period = (preview.kind == ChangeKind::IntervalSwitch).then(|| {
        (
            preview.next_period.start.timestamp(),
            preview.next_period.end.timestamp(),
        )
    });
    let next_invoice = preview.next_invoice_total();
    let detail = match next_invoice {
        Some(amount) => format!(
            "{kind}: {} × {quantity}, {amount} on the next invoice",
            plan.name
        ),
        None => format!("{kind}: {} × {quantity}, {due} due now", plan.name),
    };
    let applied = subscriptions::apply_now(
        &state.db,
        sub,
        new_period,
        matches!(
            preview.kind,
            ChangeKind::SeatIncrease | ChangeKind::SeatDecrease
        ),
        subscriptions::Settlement {
            charge: preview
                .invoice_now
                .as_ref()
                .filter(|i| i.total.minor_units() > 0)
                .map(|invoice| ImmediateCharge {
                    invoice,
                    payment_intent_id: payment_intent.as_deref(),
                }),
            // Unused time worth more than the new charge becomes account credit, which the
            // next invoices use first.
            credit: (preview.credit_to_balance.minor_units() > 0)
                .then_some(preview.credit_to_balance),
            next_invoice: &preview.next_invoice_lines,
        },
        &actor.record(kind, (&price.id, quantity), due, now.timestamp(), &detail),
        state.now(),
    )
    .await;
    match applied {
        Ok(_) if next_invoice.is_some() => Ok(ChangeResult::OnNextInvoice {
            amount: next_invoice.unwrap_or(due).to_string(),
            on: crate::domain::period::format_date(sub.current_period_end),
        }),
        Ok(_) if preview.credit_to_balance.minor_units() > 0 => Ok(ChangeResult::Credited {
            credit: preview.credit_to_balance.to_string(),
        }),
        Ok(_) => Ok(ChangeResult::Applied {
            charged: due.to_string(),
        }),
        Err(ChangeError::Stale) => {
            if let Some(intent) = payment_intent {
                // Someone else changed the subscription first. Unless their change recorded
                // this very payment (same key, same figures), give the money back.
                if !crate::store::invoices::payment_recorded(&state.db, &intent).await? {
                    let _ = state
                        .payments
                        .gateway
                        .refund(&intent, due.minor_units(), &format!("refund:{key}"))
                        .await;
                }
            }
            Err(stale())
        }
        Err(e) => Err(from_change_error(e)),
    }
}

async fn charge_default_card(
    state: &AppState,
    org_id: &OrgId,
    amount: Money,
    key: &str,
) -> Result<String, AppError> {
    let customer_id = crate::store::accounts::stripe_customer_id(&state.db, org_id)
        .await?
        .ok_or_else(|| {
            AppError::Invalid("Add a payment method before changing to a paid plan.".into())
        })?;
    let card = crate::store::payment_methods::default_for_org(&state.db, org_id)
        .await?
        .ok_or_else(|| {
            AppError::Invalid("Add a payment method before changing to a paid plan.".into())
        })?;
    let outcome = state
        .payments
        .gateway
        .charge_off_session(
            &customer_id,
            &card,
            amount.minor_units(),
            &amount.currency().code().to_lowercase(),
            key,
            std::collections::HashMap::from([("org_id".to_string(), org_id.to_string())]),
        )
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "plan change charge failed");
            match e {
                // The same key with other figures: another change of this version went first.
                crate::payments::gateway::GatewayError::Rejected(_) => stale(),
                crate::payments::gateway::GatewayError::Unavailable(_) => AppError::Conflict(
                    "Payments are unavailable right now. Nothing was changed or charged; please try again in a minute.".into(),
                ),
            }
        })?;
    match outcome {
        ChargeOutcome::Succeeded { payment_intent_id } => Ok(payment_intent_id),
        ChargeOutcome::Declined { message, .. } => Err(AppError::Invalid(format!(
            "Your card was not charged: {message} Nothing was changed. Update your payment method and try again."
        ))),
    }
}

/// The currency the subscription bills in (its price's).
async fn currency_of(
    state: &AppState,
    sub: &SubscriptionRow,
) -> Result<crate::domain::Currency, AppError> {
    let plans = crate::store::catalog::load(&state.db)
        .await
        .map_err(AppError::internal)?;
    find_price(&plans, &sub.price_id)
        .map(|(_, price)| price.currency)
        .ok_or_else(|| AppError::internal(format!("price {} is not in the catalog", sub.price_id)))
}

pub async fn undo(
    state: &AppState,
    customer: &CustomerSession,
    version: String,
) -> Result<(), AppError> {
    let sub = editable(state, customer, &version).await?;
    let by = ChangeBy::customer(customer);
    if sub.scheduled_price_id.is_none() {
        return Err(AppError::Conflict(
            "There is no scheduled change to undo.".into(),
        ));
    }
    let currency = currency_of(state, &sub).await?;
    subscriptions::set_scheduled(
        &state.db,
        &sub,
        None,
        &by.keeping(
            "undo_scheduled",
            &sub,
            Money::zero(currency),
            state.now(),
            "scheduled change undone",
        ),
        state.now(),
    )
    .await
    .map_err(from_change_error)
}

pub async fn cancel(
    state: &AppState,
    customer: &CustomerSession,
    reason: String,
    details: String,
    version: String,
) -> Result<(), AppError> {
    let sub = editable(state, customer, &version).await?;
    let by = ChangeBy::customer(customer);
    let Some((code, label)) = CANCEL_REASONS
        .iter()
        .find(|(code, _)| *code == reason.trim())
    else {
        return Err(AppError::Invalid("Choose a reason for cancelling.".into()));
    };
    let details = crate::domain::access::check_text(
        "The details",
        &details,
        1000,
        crate::domain::text::Lines::Many,
        false,
    )
    .map_err(|e| match e {
        AppError::Invalid(m) if m.contains("too long") => {
            AppError::Invalid("Keep the details to 1,000 characters or fewer.".into())
        }
        other => other,
    })?;
    let details = details.as_str();
    let stored = if details.is_empty() {
        code.to_string()
    } else {
        format!("{code}: {details}")
    };
    let currency = currency_of(state, &sub).await?;
    subscriptions::set_cancel_at_period_end(
        &state.db,
        &sub,
        Some(&stored),
        &ChangeRecord {
            seats_left: Some(crate::store::members::FREE_SEATS),
            ..by.keeping(
                "cancel",
                &sub,
                Money::zero(currency),
                sub.current_period_end,
                &format!("cancel at period end: {label}"),
            )
        },
        state.now(),
    )
    .await
    .map_err(from_change_error)
}

pub async fn resume(
    state: &AppState,
    customer: &CustomerSession,
    version: String,
) -> Result<(), AppError> {
    let sub = editable(state, customer, &version).await?;
    let by = ChangeBy::customer(customer);
    if !sub.cancel_at_period_end {
        return Err(AppError::Conflict(
            "This subscription is not set to cancel.".into(),
        ));
    }
    let currency = currency_of(state, &sub).await?;
    subscriptions::set_cancel_at_period_end(
        &state.db,
        &sub,
        None,
        &by.keeping(
            "resume",
            &sub,
            Money::zero(currency),
            state.now(),
            "resumed",
        ),
        state.now(),
    )
    .await
    .map_err(from_change_error)
}
