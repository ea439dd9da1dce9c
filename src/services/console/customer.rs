//! Console actions on a customer's plan and account: trial extensions, plan and seat changes on
//! their behalf, resending an invoice, advancing a test clock and retrying a stuck renewal.

use super::{
    acting_staff, approval_check, by_staff, capitalise, gate, reason_and_note, request_approval,
    request_key, AdvanceClockForm, ApprovalRequest, ChangePlanForm, Effect, ExtendTrialForm,
    Outcome, ResendInvoiceForm, RetryRenewalForm, Step,
};
use crate::domain::access::StaffRole;
use crate::domain::ids::{InvoiceId, OrgId};
use crate::error::AppError;
use crate::server::AppState;
use crate::wire::console::{
    Choice, CurrentPlan, CustomerView, MemberLine, StaffInvoice, TimelineEntry,
};
use crate::wire::StaffSession;

pub async fn extend_trial_step(
    state: &AppState,
    form: &ExtendTrialForm,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    use crate::domain::period::format_date;
    let staff = acting_staff(state, step, &[StaffRole::Agent, StaffRole::BillingAdmin]).await?;
    let (reason, note) = reason_and_note(form.reason_code.as_str(), form.note.as_str())?;
    let note = note.as_str();
    let org_id = &OrgId::parse(&form.org_id)?;
    let days: i64 = form
        .days
        .as_str()
        .parse()
        .ok()
        .filter(|d| (1..=60).contains(d))
        .ok_or_else(|| AppError::Invalid("Enter a number of days from 1 to 60.".into()))?;
    let sub = crate::store::subscriptions::live_for_org(&state.db, org_id)
        .await?
        .filter(|s| s.status == crate::domain::SubscriptionStatus::Trialing)
        .ok_or_else(|| AppError::Invalid("This customer is not on a trial.".into()))?;
    let new_end = sub.current_period_end + days * 86_400;
    let effect = Effect {
        org_id: org_id.clone(),
        title: format!("Extend the trial by {days} day(s)"),
        lines: vec![
            format!(
                "The trial ends on {}; after this on {}. The first charge moves to that day, and nothing is charged now.",
                format_date(sub.current_period_end),
                format_date(new_end)
            ),
            format!("Reason: {reason}. Note: {note}"),
        ],
        detail: Vec::new(),
    };
    if let Some(ask) = gate(&staff, &form.action(), effect, step) {
        return Ok(ask);
    }
    let target = format!("org:{org_id}");
    let detail = format!("{note} (+{days} days)");
    let new_end = crate::store::subscriptions::extend_trial(
        &state.db,
        org_id,
        days,
        &crate::store::audit::AuditEntry {
            action: "extend_trial",
            target: &target,
            org_id: Some(org_id),
            reason_code: Some(reason),
            note: &detail,
            ..by_staff(&staff)
        },
        state.now(),
    )
    .await?
    .ok_or_else(|| AppError::Invalid("This customer is not on a trial.".into()))?;
    Ok(Outcome::Done {
        org_id: org_id.clone(),
        message: format!("The trial now ends on {}.", format_date(new_end)),
    })
}

pub async fn change_plan_step(
    state: &AppState,
    form: &ChangePlanForm,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    use crate::domain::Money;
    use crate::services::plans as engine;
    use crate::wire::plan::ChangeResult;
    let staff = acting_staff(state, step, &[StaffRole::BillingAdmin]).await?;
    let action = form.action();
    let (reason, note) = reason_and_note(form.reason_code.as_str(), form.note.as_str())?;
    let note = note.as_str();
    let org_id = &OrgId::parse(&form.org_id)?;
    let sub = crate::store::subscriptions::live_for_org(&state.db, org_id)
        .await?
        .ok_or_else(|| AppError::Invalid("This customer has no plan to change.".into()))?;
    let prepared = engine::prepare_change(
        state,
        org_id,
        &sub,
        form.price_id.as_str(),
        form.seats.as_str(),
    )
    .await?;
    let from = format!(
        "{} × {}",
        prepared.current.plan_name, prepared.current.quantity
    );
    let to = format!("{} × {}", prepared.plan.name, prepared.quantity);
    let interval = |price: &crate::domain::Price| match price.interval.total_months() {
        Ok(1) => "month".to_string(),
        Ok(12) => "year".to_string(),
        Ok(n) => format!("{n} months"),
        Err(_) => "period".to_string(),
    };
    let mut lines = Vec::new();
    let mut detail = Vec::new();
    let due = match &prepared.preview {
        None => {
            lines.push(format!(
                "The customer is on a trial: nothing is charged now. The first charge, at the trial end on {}, is for {to}.",
                crate::domain::period::format_date(sub.current_period_end)
            ));
            Money::zero(prepared.price.currency)
        }
        Some(p) => {
            if let Some(s) = &p.scheduled {
                lines.push(format!(
                    "Nothing is charged now: the change waits for the period end on {}.",
                    crate::domain::period::format_date(s.effective_at.timestamp())
                ));
            } else if p.credit_to_balance.minor_units() > 0 {
                lines.push(format!(
                    "The unused time is worth more than the new charge: {} goes to the account credit, which the next invoices use first.",
                    p.credit_to_balance
                ));
            } else if p.amount_due_now.minor_units() > 0 {
                lines.push(format!(
                    "{} is charged now to the customer's default card, on an invoice for the rest of this period.",
                    p.amount_due_now
                ));
            } else if let Some(later) = p.next_invoice_total() {
                lines.push(format!(
                    "Nothing is charged now: the difference for the rest of this period, {later}, is on the next invoice, on {}.",
                    crate::domain::period::format_date(sub.current_period_end)
                ));
            } else {
                lines.push("Nothing is charged now.".into());
            }
            for line in &p.lines {
                detail.push(line.explanation.clone());
            }
            lines.push(format!(
                "Then {} per {} from {}.",
                p.new_recurring_amount,
                interval(&prepared.price),
                crate::domain::period::format_date(p.next_period.start.timestamp())
            ));
            p.amount_due_now
        }
    };
    lines.push(format!("Reason: {reason}. Note: {note}"));
    // Unused time that becomes account credit lowers what the customer owes: above the
    // threshold, an approver decides.
    let credit = prepared
        .preview
        .as_ref()
        .map(|p| p.credit_to_balance)
        .filter(|c| c.minor_units() > 0);
    let check = match credit {
        Some(credit) => Some((
            credit,
            approval_check(state, &staff, step, org_id, credit).await?,
        )),
        None => None,
    };
    let needed = check.as_ref().is_some_and(|(_, c)| c.needed);
    if let Some(line) = check.as_ref().and_then(|(credit, c)| c.line(*credit)) {
        lines.insert(0, line);
    }
    let effect = Effect {
        org_id: org_id.clone(),
        title: if needed {
            format!("Ask an approver to change the plan from {from} to {to}")
        } else {
            format!("Change the plan from {from} to {to}")
        },
        lines,
        detail,
    };
    if let Some(ask) = gate(&staff, &action, effect, step) {
        return Ok(ask);
    }
    if let Some((credit, _)) = check.filter(|(_, c)| c.needed) {
        let key = request_key("plan_change", step, state.now());
        let summary = format!("A plan change from {from} to {to} crediting {credit}");
        return request_approval(
            state,
            &staff,
            &action,
            ApprovalRequest {
                kind: "plan_change",
                org_id,
                invoice_id: None,
                amount: credit,
                reason_code: reason,
                note,
                key: &key,
                summary: &summary,
            },
        )
        .await;
    }
    let result = engine::apply_change(
        state,
        org_id,
        &engine::ChangeBy {
            actor: staff.actor(),
            reason_code: Some(reason),
            note,
        },
        &sub,
        &prepared,
        &due.minor_units().to_string(),
    )
    .await?;
    // The change and its audit entry (with the reason and note) were written together.
    let summary = match &result {
        ChangeResult::Applied { charged } => format!("{from} → {to}, {charged} charged"),
        ChangeResult::Scheduled { effective_on } => {
            format!("{from} → {to}, scheduled for {effective_on}")
        }
        ChangeResult::Credited { credit } => {
            format!("{from} → {to}, {credit} to account credit")
        }
        ChangeResult::OnNextInvoice { amount, on } => {
            format!("{from} → {to}, {amount} on the invoice of {on}")
        }
    };
    Ok(Outcome::Done {
        org_id: org_id.clone(),
        message: format!("Plan changed: {summary}."),
    })
}

pub async fn resend_invoice_step(
    state: &AppState,
    form: &ResendInvoiceForm,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    use crate::domain::Money;
    let staff = acting_staff(state, step, &[StaffRole::Agent, StaffRole::BillingAdmin]).await?;
    let (reason, note) = reason_and_note(form.reason_code.as_str(), form.note.as_str())?;
    let note = note.as_str();
    let (org_id, invoice) =
        super::money::any_invoice(state, &InvoiceId::parse(&form.invoice_id)?).await?;
    let to = crate::store::renewals::billing_contact(&state.db, &org_id)
        .await?
        .ok_or_else(|| AppError::Invalid("This customer has no owner to email.".into()))?;
    let money = |minor| Money::from_minor(minor, invoice.currency);
    let subject = format!(
        "Invoice {} for {} ({})",
        invoice.number,
        money(invoice.total),
        invoice.status
    );
    let effect = Effect {
        org_id: org_id.clone(),
        title: format!("Email invoice {} to {to}", invoice.number),
        lines: vec![
            format!("Subject: {subject}"),
            "The email links to the invoice and its PDF in the portal. No money moves.".into(),
            format!("Reason: {reason}. Note: {note}"),
        ],
        detail: Vec::new(),
    };
    if let Some(ask) = gate(&staff, &form.action(), effect, step) {
        return Ok(ask);
    }
    let link = format!(
        "{}/billing/invoices/{}",
        state.config.public_base_url, invoice.id
    );
    let owed = if invoice.status == crate::domain::InvoiceStatus::Open {
        format!(
            "It is open: {} is still due. You can pay it at the link.",
            money(invoice.amount_due)
        )
    } else {
        format!("Its status is {}.", invoice.status)
    };
    let body = format!(
        "Here is invoice {} for {}, issued on {}. {owed}\n\nView it and download the PDF: {link}\n",
        invoice.number,
        money(invoice.total),
        crate::domain::period::format_date(invoice.created_at)
    );
    let target = format!("invoice:{}", invoice.id);
    let detail = format!("{note} (to {to})");
    let mut tx = state.db.begin_write().await?;
    crate::store::members::queue_email(
        &mut tx,
        Some(&org_id),
        &crate::store::members::OutgoingEmail {
            to: &to,
            subject: &subject,
            body: &body,
        },
        state.now(),
    )
    .await?;
    crate::store::audit::append_in_tx(
        &mut tx,
        state.db.dialect,
        &crate::store::audit::AuditEntry {
            action: "resend_invoice",
            target: &target,
            org_id: Some(&org_id),
            reason_code: Some(reason),
            note: &detail,
            ..by_staff(&staff)
        },
        state.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome::Done {
        org_id,
        message: format!("Invoice {} was emailed to {to}.", invoice.number),
    })
}

pub async fn advance_clock_step(
    state: &AppState,
    form: &AdvanceClockForm,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    use crate::domain::period::format_date;
    let staff = acting_staff(state, step, &[StaffRole::BillingAdmin]).await?;
    let (reason, note) = reason_and_note(form.reason_code.as_str(), form.note.as_str())?;
    let note = note.as_str();
    crate::services::test_clock::refuse_when_live(state)
        .map_err(|e| AppError::Invalid(format!("{}.", capitalise(&e.to_string()))))?;
    let org_id = &OrgId::parse(&form.org_id)?;
    let days: i64 = form
        .days
        .as_str()
        .parse()
        .ok()
        .filter(|d| (1..=400).contains(d))
        .ok_or_else(|| AppError::Invalid("Enter a number of days from 1 to 400.".into()))?;
    let clock_id = crate::store::console::organization(&state.db, org_id)
        .await?
        .ok_or_else(|| AppError::NotFound("That customer".into()))?
        .test_clock_id
        .ok_or_else(|| {
            AppError::Invalid(
                "This customer is not on a test clock; only test clocks can be advanced.".into(),
            )
        })?;
    let clock = crate::store::test_clocks::find(&state.db, &clock_id)
        .await?
        .ok_or_else(|| AppError::NotFound("That test clock".into()))?;
    let until = clock.frozen_at + days * 86_400;
    let due = crate::store::test_clocks::due_between(&state.db, &clock_id, until).await?;
    let effect = Effect {
        org_id: org_id.clone(),
        title: format!(
            "Advance test clock {} by {days} day(s), from {} to {}",
            clock.name,
            format_date(clock.frozen_at),
            format_date(until)
        ),
        lines: vec![
            format!(
                "On the way: {} period end(s) and {} payment attempt(s) are due, for every organisation on this clock. Each charges the test card on file, through the Stripe {}.",
                due.period_ends,
                due.attempts,
                if state.config.stripe.secret_key.is_none() { "emulator" } else { "test mode" }
            ),
            format!("Reason: {reason}. Note: {note}"),
        ],
        detail: Vec::new(),
    };
    if let Some(ask) = gate(&staff, &form.action(), effect, step) {
        return Ok(ask);
    }
    let summary = crate::services::test_clock::advance(state, &clock_id, until, &|_| {})
        .await
        .map_err(|e| AppError::Invalid(format!("The clock was not advanced: {e}.")))?;
    let target = format!("test_clock:{clock_id}");
    let detail = format!("{note} (to {}: {summary})", format_date(until));
    crate::store::audit::append(
        &state.db,
        &crate::store::audit::AuditEntry {
            action: "advance_test_clock",
            target: &target,
            org_id: Some(org_id),
            reason_code: Some(reason),
            note: &detail,
            ..by_staff(&staff)
        },
        state.now(),
    )
    .await?;
    Ok(Outcome::Done {
        org_id: org_id.clone(),
        message: format!(
            "Test clock {} is now at {}: {summary}.",
            clock.name,
            format_date(until)
        ),
    })
}

pub async fn retry_renewal_step(
    state: &AppState,
    form: &RetryRenewalForm,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    let staff = acting_staff(state, step, &[StaffRole::BillingAdmin]).await?;
    let (reason, note) = reason_and_note(form.reason_code.as_str(), form.note.as_str())?;
    let note = note.as_str();
    let org_id = &OrgId::parse(&form.org_id)?;
    let stuck = crate::store::renewals::stuck_renewals(&state.db, Some(org_id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            AppError::Invalid("This customer's renewal is not waiting for attention.".into())
        })?;
    let effect = Effect {
        org_id: org_id.clone(),
        title: format!("Retry the renewal of {}", stuck.org_name),
        lines: vec![
            format!(
                "It failed {} times in a row, last with: {}",
                stuck.failures, stuck.error
            ),
            "The next bill run tries it again; if it fails as often again, it waits here again."
                .into(),
            format!("Reason: {reason}. Note: {note}"),
        ],
        detail: Vec::new(),
    };
    if let Some(ask) = gate(&staff, &form.action(), effect, step) {
        return Ok(ask);
    }
    let target = format!("subscription:{}", stuck.subscription_id);
    let retried = crate::store::renewals::retry_renewal(
        &state.db,
        &stuck.subscription_id,
        &crate::store::audit::AuditEntry {
            action: "retry_renewal",
            target: &target,
            org_id: Some(org_id),
            reason_code: Some(reason),
            note,
            ..by_staff(&staff)
        },
        state.now(),
    )
    .await?;
    if !retried {
        return Err(AppError::Conflict(
            "Someone retried this renewal first.".into(),
        ));
    }
    Ok(Outcome::Done {
        org_id: org_id.clone(),
        message: format!(
            "The renewal of {} will be tried again by the next bill run.",
            stuck.org_name
        ),
    })
}

/// Everything the console's customer page shows, for `staff` (whose role decides which actions
/// it offers).
pub async fn page(
    state: &AppState,
    staff: &StaffSession,
    org_id: OrgId,
) -> Result<CustomerView, AppError> {
    use crate::domain::Money;
    let db = &state.db;
    let org = crate::store::console::organization(db, &org_id)
        .await?
        .ok_or_else(|| AppError::NotFound("That customer".into()))?;
    let invoices = crate::store::invoices::list_for_org(db, &org_id).await?;
    let credited = crate::store::console::credited_by_invoice(db, &org_id).await?;
    let currency = invoices
        .first()
        .map(|i| i.currency)
        .unwrap_or(crate::domain::Currency::USD);
    let credit = crate::store::credits::balance(db, &org_id, currency).await?;
    let sub = crate::store::subscriptions::current_for_org(db, &org_id).await?;
    let cards = crate::store::payment_methods::list(db, &org_id).await?;
    let live = crate::store::subscriptions::live_for_org(db, &org_id).await?;
    let public = crate::store::catalog::load(db)
        .await
        .map_err(AppError::internal)?;
    let contract = super::contracts::summary(state, &public, &org_id).await?;
    let contract_bases = super::contracts::bases(&public);
    let prices = crate::services::plans::catalog_for(state, &org_id)
        .await?
        .into_iter()
        .flat_map(|plan| {
            plan.prices.into_iter().map(|p| Choice {
                id: p.id,
                label: p.nickname,
            })
        })
        .collect();
    let pending = match &live {
        Some(s) => {
            let next = crate::services::contracts::next_period(db, &public, s).await?;
            let waiting = crate::store::pending_lines::open_for(db, &s.id).await?;
            crate::services::plans::pending_changes(&public, &next, s, &waiting)
        }
        None => Vec::new(),
    };
    Ok(CustomerView {
        pending,
        plan: live.map(|s| CurrentPlan {
            price_id: s.price_id,
            seats: s.quantity,
        }),
        prices,
        org_name: org.name,
        created_at: org.created_at,
        stripe_customer_id: org.stripe_customer_id,
        test_clock: org.test_clock,
        members: crate::store::members::members(db, &org_id)
            .await?
            .into_iter()
            .map(|m| MemberLine {
                email: m.email,
                role: m.role,
            })
            .collect(),
        trialing: sub
            .as_ref()
            .is_some_and(|s| s.status == crate::domain::SubscriptionStatus::Trialing),
        subscription: sub.map(|s| {
            format!(
                "{} · {} seat(s) · {} · period ends {}",
                s.plan_name,
                s.quantity,
                s.status,
                crate::domain::period::format_date(s.current_period_end)
            )
        }),
        cards: cards
            .into_iter()
            .map(|c| {
                format!(
                    "{} ending {} (expires {:02}/{}){}",
                    c.brand,
                    c.last4,
                    c.exp_month,
                    c.exp_year,
                    if c.is_default { ", default" } else { "" }
                )
            })
            .collect(),
        credit_balance: credit.to_string(),
        invoices: invoices
            .into_iter()
            .map(|i| {
                let money = |minor: i64| Money::from_minor(minor, i.currency).to_string();
                let already = credited.get(&i.id).copied().unwrap_or(0);
                let refundable =
                    crate::store::console::refundable(i.status, i.amount_paid, i.total, already);
                StaffInvoice {
                    id: i.id.clone(),
                    number: i.number.clone(),
                    status: i.status,
                    created_at: i.created_at,
                    total: money(i.total),
                    paid: money(i.amount_paid),
                    refundable: money(refundable),
                    refundable_minor: refundable,
                }
            })
            .collect(),
        timeline: crate::store::console::timeline(db, &org_id)
            .await?
            .into_iter()
            .map(|r| TimelineEntry {
                at: r.at,
                kind: r.kind.to_string(),
                text: r.text,
            })
            .collect(),
        can_refund: staff.role == StaffRole::BillingAdmin,
        can_assist: matches!(staff.role, StaffRole::Agent | StaffRole::BillingAdmin),
        form_token: crate::store::new_id("form"),
        renewal_problem: crate::store::renewals::stuck_renewals(db, Some(&org_id))
            .await?
            .into_iter()
            .next()
            .map(|r| {
                format!(
                    "The renewal failed {} times in a row and is no longer retried: {}",
                    r.failures, r.error
                )
            }),
        contract,
        contract_bases,
        org_id,
    })
}
