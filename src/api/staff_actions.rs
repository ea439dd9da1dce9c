//! How a console action is confirmed, and the console actions that act through the customer's own
//! engine: a plan or seat change on the customer's behalf, a credit note that lowers what an open
//! invoice owes, resending an invoice email, and advancing the organisation's test clock.
//!
//! Every console action runs in two steps. The first submission checks the role and the input,
//! works out exactly what the action would do (amounts, balances, dates) and sends the browser to
//! `/support/confirm`, which shows that effect with a confirm button. The confirm button submits
//! the same fields again with the effect's key: a digest of the staff member, the action, its
//! fields and the effect's text. The server works the effect out again; only if its key is the one
//! confirmed does the action happen, so what happens is what was shown. If anything changed in
//! between (a payment arrived, time passed), the keys differ and the new effect is shown instead.

use super::AppError;
#[cfg(feature = "ssr")]
use crate::domain::access::StaffRole;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Each console action that moves money or changes what a customer gets: its name in
/// `/support/confirm?do=…`, and its form's fields in the order of its server function's
/// arguments (every one also takes `confirm`).
pub const ACTIONS: [(&str, &[&str]); 10] = [
    (
        "refund",
        &["invoice_id", "amount", "reason_code", "note", "token"],
    ),
    (
        "credit",
        &["org_id", "amount", "reason_code", "note", "token"],
    ),
    ("close", &["invoice_id", "action", "reason_code", "note"]),
    ("retry", &["invoice_id", "reason_code", "note"]),
    ("extend_trial", &["org_id", "days", "reason_code", "note"]),
    (
        "change_plan",
        &["org_id", "price_id", "seats", "reason_code", "note"],
    ),
    (
        "reduce_invoice",
        &["invoice_id", "amount", "reason_code", "note", "token"],
    ),
    ("resend_invoice", &["invoice_id", "reason_code", "note"]),
    ("advance_clock", &["org_id", "days", "reason_code", "note"]),
    ("retry_renewal", &["org_id", "reason_code", "note"]),
];

/// What the confirmation page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmView {
    /// The action's name (see [`ACTIONS`]).
    pub action: String,
    pub org_id: String,
    /// One sentence, e.g. "Refund $10.00 on invoice 0001".
    pub title: String,
    /// The exact effect: amounts before and after, who is charged or paid, what is emailed.
    pub lines: Vec<String>,
    /// How the figures were worked out.
    pub detail: Vec<String>,
    /// The form's fields to submit again, with `confirm` set to `key`.
    pub fields: Vec<(String, String)>,
    pub key: String,
    /// Set when the action has already been done (the same form was confirmed before).
    pub done: Option<String>,
}

/// The form of one console action: its name and its fields by name.
#[cfg(feature = "ssr")]
pub(crate) struct Form {
    pub action: &'static str,
    fields: Vec<(&'static str, String)>,
}

#[cfg(feature = "ssr")]
impl Form {
    /// The form of `action` from its server function's arguments, in [`ACTIONS`] order.
    pub fn new<const N: usize>(action: &'static str, values: [String; N]) -> Form {
        let names = fields_of(action).unwrap_or(&[]);
        debug_assert_eq!(names.len(), N, "{action} takes {} fields", names.len());
        Form {
            action,
            fields: names.iter().copied().zip(values).collect(),
        }
    }

    /// The form of the action a confirmation page's query names (`do=…&field=…`).
    pub fn from_query(query: &str) -> Result<Form, AppError> {
        let pairs: std::collections::HashMap<String, String> =
            form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
                .into_owned()
                .collect();
        let name = pairs.get("do").map(String::as_str).unwrap_or_default();
        let (action, names) = ACTIONS
            .iter()
            .find(|(a, _)| *a == name)
            .ok_or_else(|| AppError::NotFound("That console action".into()))?;
        Ok(Form {
            action,
            fields: names
                .iter()
                .map(|n| (*n, pairs.get(*n).cloned().unwrap_or_default()))
                .collect(),
        })
    }

    /// A field's value, trimmed ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }

    pub fn query(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        out.append_pair("do", self.action);
        for (name, value) in &self.fields {
            out.append_pair(name, value);
        }
        out.finish()
    }
}

#[cfg(feature = "ssr")]
fn fields_of(action: &str) -> Option<&'static [&'static str]> {
    ACTIONS.iter().find(|(a, _)| *a == action).map(|(_, f)| *f)
}

/// The exact effect of an action, as worked out just now.
#[cfg(feature = "ssr")]
pub(crate) struct Effect {
    pub org_id: String,
    /// The title and lines are what is confirmed: the amounts, dates and parties.
    pub title: String,
    pub lines: Vec<String>,
    /// How the figures were worked out (e.g. proration to the second), shown but not part of
    /// what is confirmed, so that it may move on between the preview and the confirmation.
    pub detail: Vec<String>,
}

/// Whether the action is being previewed, submitted (with the key of the effect confirmed, if
/// any), or carried out because an approver approved the request of `requester`.
#[cfg(feature = "ssr")]
#[derive(Clone, Copy)]
pub(crate) enum Step<'a> {
    Preview,
    Act(Option<&'a str>),
    Approved(&'a crate::wire::StaffSession),
}

/// The staff member an action is done as: the signed-in one (who must have one of `roles`), or,
/// for an approved request, the one who asked for it.
#[cfg(feature = "ssr")]
pub(crate) async fn acting_staff(
    state: &crate::server::AppState,
    step: Step<'_>,
    roles: &[StaffRole],
) -> Result<crate::wire::StaffSession, AppError> {
    match step {
        Step::Approved(requester) => Ok(requester.clone()),
        _ => super::console::staff_with(state, roles).await,
    }
}

/// The audit actions that lower what a customer owes or give money back: what the approval
/// threshold adds up over 24 hours.
#[cfg(feature = "ssr")]
pub(crate) const LOWERING_ACTIONS: [&str; 6] = [
    "refund",
    "credit",
    "credit_note",
    "void",
    "mark_uncollectible",
    "account_credit_for_unused_time",
];

/// Whether an action that takes `amount` off what a customer owes needs a second person: when
/// it, with everything the same staff member took off the same customer's bill in the same
/// currency in the last 24 hours (done, or waiting for approval), passes the currency's
/// threshold. Splitting a refund in two does not avoid it.
#[cfg(feature = "ssr")]
pub(crate) struct ApprovalCheck {
    pub needed: bool,
    pub threshold: crate::domain::Money,
    pub recent: crate::domain::Money,
}

#[cfg(feature = "ssr")]
pub(crate) async fn approval_check(
    state: &crate::server::AppState,
    staff: &crate::wire::StaffSession,
    step: Step<'_>,
    org_id: &str,
    amount: crate::domain::Money,
) -> Result<ApprovalCheck, AppError> {
    use crate::domain::Money;
    let currency = amount.currency();
    let threshold = Money::from_minor(state.config.approval_threshold(currency), currency);
    let recent = crate::store::approvals::lowered_recently(
        &state.db,
        &staff.email,
        org_id,
        currency.code(),
        &LOWERING_ACTIONS,
        state.now() - 86_400,
    )
    .await?;
    let recent = Money::from_minor(recent, currency);
    let needed = !matches!(step, Step::Approved(_))
        && recent.minor_units().saturating_add(amount.minor_units()) > threshold.minor_units();
    Ok(ApprovalCheck {
        needed,
        threshold,
        recent,
    })
}

#[cfg(feature = "ssr")]
impl ApprovalCheck {
    /// The line the confirmation shows when an approver must decide.
    pub fn line(&self, amount: crate::domain::Money) -> Option<String> {
        self.needed.then(|| {
            let with = if self.recent.minor_units() > 0 {
                format!(
                    ", counted with the {} you already took off this customer's bill in the last 24 hours,",
                    self.recent
                )
            } else {
                String::new()
            };
            format!(
                "{amount}{with} is above the approval threshold of {}: nothing happens until a different staff member with the approver role approves it.",
                self.threshold
            )
        })
    }
}

/// A request's unique key for an action without a one-time form key: the confirmed effect's
/// key and the second it was confirmed (a double click is one request).
#[cfg(feature = "ssr")]
pub(crate) fn request_key(kind: &str, step: Step<'_>, now: i64) -> String {
    let confirmed = match step {
        Step::Act(Some(key)) => key.trim(),
        _ => "",
    };
    format!("{kind}:{confirmed}:{now}")
}

/// A request an approver decides, for an action that would otherwise be done now.
#[cfg(feature = "ssr")]
pub(crate) struct ApprovalRequest<'a> {
    /// The approval kind: `refund`, `credit`, `credit_note`, `void`, `uncollectible`,
    /// `plan_change`.
    pub kind: &'a str,
    pub org_id: &'a str,
    pub invoice_id: Option<&'a str>,
    pub amount: crate::domain::Money,
    pub reason_code: &'a str,
    pub note: &'a str,
    /// Unique per request: the form's one-time key, or the confirmed effect's key.
    pub key: &'a str,
    /// What the approver will be approving, in one line.
    pub summary: &'a str,
}

/// Records the request (with the action's form, so approving it performs exactly this) and its
/// audit entry; the outcome tells the staff member it waits.
#[cfg(feature = "ssr")]
pub(crate) async fn request_approval(
    state: &crate::server::AppState,
    staff: &crate::wire::StaffSession,
    form: &Form,
    request: ApprovalRequest<'_>,
) -> Result<Outcome, AppError> {
    let action = format!("{}_requested", request.kind);
    let target = match request.invoice_id {
        Some(id) => format!("invoice:{id}"),
        None => format!("org:{}", request.org_id),
    };
    let request_id = format!("form:{}", request.key);
    let id = crate::store::approvals::request(
        &state.db,
        &crate::store::approvals::NewApproval {
            kind: request.kind,
            org_id: request.org_id,
            invoice_id: request.invoice_id,
            amount: request.amount.minor_units(),
            currency: request.amount.currency().code(),
            reason_code: request.reason_code,
            note: request.note,
            request_key: request.key,
            requested_by: &staff.email,
            payload: &form.query(),
        },
        &crate::store::audit::AuditEntry {
            action: &action,
            target: &target,
            org_id: Some(request.org_id),
            amount: Some(request.amount.minor_units()),
            currency: Some(request.amount.currency().code()),
            reason_code: Some(request.reason_code),
            note: request.note,
            request_id: Some(&request_id),
            ..super::console::by_staff(staff)
        },
        state.now(),
    )
    .await
    .map_err(|e| {
        if crate::store::is_unique_violation(&e) {
            AppError::Conflict("This was already sent for approval.".into())
        } else {
            AppError::internal(e)
        }
    })?;
    Ok(Outcome::Done {
        org_id: request.org_id.to_string(),
        message: format!(
            "{}: it is above the approval threshold, so request {id} now waits for an approver. Nothing has changed yet.",
            request.summary
        ),
    })
}

/// What a step ended with.
#[cfg(feature = "ssr")]
pub(crate) enum Outcome {
    /// Not done: this effect waits for confirmation.
    Confirm { effect: Effect, key: String },
    /// Done (now, or by an earlier submission of the same form).
    Done { org_id: String, message: String },
}

/// Lets the action go ahead only when `step` confirms exactly `effect`; otherwise returns the
/// confirmation to show.
#[cfg(feature = "ssr")]
pub(crate) fn gate(
    staff: &crate::wire::StaffSession,
    form: &Form,
    effect: Effect,
    step: Step<'_>,
) -> Option<Outcome> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in [staff.email.as_str(), form.action]
        .into_iter()
        .chain(form.fields.iter().flat_map(|(n, v)| [*n, v.trim()]))
        .chain([effect.org_id.as_str(), effect.title.as_str()])
        .chain(effect.lines.iter().map(String::as_str))
    {
        hasher.update(part.as_bytes());
        hasher.update([0x1f]);
    }
    let key = hex::encode(&hasher.finalize()[..12]);
    match step {
        Step::Act(Some(confirmed)) if confirmed.trim() == key => None,
        // An approver approved exactly this form; its checks have just run again.
        Step::Approved(_) => None,
        _ => Some(Outcome::Confirm { effect, key }),
    }
}

/// Sends the browser on: to the confirmation page, or back to the customer with what was done.
/// Returns the message for callers that do not follow redirects.
#[cfg(feature = "ssr")]
pub(crate) fn reply(form: &Form, outcome: Outcome) -> String {
    match outcome {
        Outcome::Confirm { effect, .. } => {
            leptos_axum::redirect(&format!("/support/confirm?{}", form.query()));
            format!("Confirm on the next page: {}.", effect.title)
        }
        Outcome::Done { org_id, message } => {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("done", &message)
                .finish();
            leptos_axum::redirect(&format!("/support/customers/{org_id}?{query}"));
            message
        }
    }
}

/// The confirmation page's content: the action named by `query` worked out now, without doing it.
#[server(endpoint = "support/confirm")]
pub async fn preview_staff_action(query: String) -> Result<ConfirmView, AppError> {
    use super::console as c;
    let state = crate::server::state()?;
    let form = Form::from_query(&query)?;
    let step = Step::Preview;
    let outcome = match form.action {
        "refund" => c::refund_step(&state, &form, step).await?,
        "credit" => c::credit_step(&state, &form, step).await?,
        "close" => c::close_step(&state, &form, step).await?,
        "retry" => c::retry_step(&state, &form, step).await?,
        "extend_trial" => c::extend_trial_step(&state, &form, step).await?,
        "change_plan" => change_plan_step(&state, &form, step).await?,
        "reduce_invoice" => reduce_invoice_step(&state, &form, step).await?,
        "resend_invoice" => resend_invoice_step(&state, &form, step).await?,
        "retry_renewal" => retry_renewal_step(&state, &form, step).await?,
        _ => advance_clock_step(&state, &form, step).await?,
    };
    let fields = form
        .fields
        .iter()
        .map(|(n, v)| (n.to_string(), v.clone()))
        .collect();
    Ok(match outcome {
        Outcome::Confirm { effect, key } => ConfirmView {
            action: form.action.to_string(),
            org_id: effect.org_id,
            title: effect.title,
            lines: effect.lines,
            detail: effect.detail,
            fields,
            key,
            done: None,
        },
        Outcome::Done { org_id, message } => ConfirmView {
            action: form.action.to_string(),
            org_id,
            title: message.clone(),
            lines: Vec::new(),
            detail: Vec::new(),
            fields,
            key: String::new(),
            done: Some(message),
        },
    })
}

/// Changes the customer's plan or seats on their behalf, through the same checks, preview and
/// charge as the portal's plan page. Billing admins.
#[server(endpoint = "support/plan/change")]
pub async fn change_plan_for_customer(
    org_id: String,
    price_id: String,
    seats: String,
    reason_code: String,
    note: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = Form::new("change_plan", [org_id, price_id, seats, reason_code, note]);
    let outcome = change_plan_step(&state, &form, Step::Act(confirm.as_deref())).await?;
    Ok(reply(&form, outcome))
}

#[cfg(feature = "ssr")]
pub(crate) async fn change_plan_step(
    state: &crate::server::AppState,
    form: &Form,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    use crate::domain::Money;
    use crate::services::plans as engine;
    use crate::wire::plan::ChangeResult;
    let staff = acting_staff(state, step, &[StaffRole::BillingAdmin]).await?;
    let (reason, note) =
        super::console::reason_and_note(form.get("reason_code"), form.get("note"))?;
    let note = note.as_str();
    let org_id = form.get("org_id");
    let sub = crate::store::subscriptions::live_for_org(&state.db, org_id)
        .await?
        .ok_or_else(|| AppError::Invalid("This customer has no plan to change.".into()))?;
    let prepared =
        engine::prepare_change(state, org_id, &sub, form.get("price_id"), form.get("seats"))
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
    let effect = super::staff_actions::Effect {
        org_id: org_id.to_string(),
        title: if needed {
            format!("Ask an approver to change the plan from {from} to {to}")
        } else {
            format!("Change the plan from {from} to {to}")
        },
        lines,
        detail,
    };
    if let Some(ask) = gate(&staff, form, effect, step) {
        return Ok(ask);
    }
    if let Some((credit, _)) = check.filter(|(_, c)| c.needed) {
        let key = request_key("plan_change", step, state.now());
        let summary = format!("A plan change from {from} to {to} crediting {credit}");
        return request_approval(
            state,
            &staff,
            form,
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
    };
    Ok(Outcome::Done {
        org_id: org_id.to_string(),
        message: format!("Plan changed: {summary}."),
    })
}

/// Issues a credit note that lowers what an open invoice still owes. Billing admins; the form's
/// one-time key makes a repeated submission one credit note.
#[server(endpoint = "support/invoice/reduce")]
pub async fn reduce_invoice(
    invoice_id: String,
    amount: String,
    reason_code: String,
    note: String,
    token: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = Form::new(
        "reduce_invoice",
        [invoice_id, amount, reason_code, note, token],
    );
    let outcome = reduce_invoice_step(&state, &form, Step::Act(confirm.as_deref())).await?;
    Ok(reply(&form, outcome))
}

#[cfg(feature = "ssr")]
pub(crate) async fn reduce_invoice_step(
    state: &crate::server::AppState,
    form: &Form,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    use crate::domain::Money;
    use crate::store::credit_notes::{self, CreditNoteError, CreditOutcome, NewCreditNote};
    let staff = acting_staff(state, step, &[StaffRole::BillingAdmin]).await?;
    let (reason, note) =
        super::console::reason_and_note(form.get("reason_code"), form.get("note"))?;
    let note = note.as_str();
    let token = form.get("token");
    if token.len() < 8 {
        return Err(AppError::Invalid(
            "Reload the page and submit the form again.".into(),
        ));
    }
    let (org_id, invoice) = open_invoice(state, form.get("invoice_id")).await?;
    if let Some(number) = crate::store::console::credit_note_for_request(&state.db, token).await? {
        return Ok(Outcome::Done {
            org_id,
            message: format!("Already done: credit note {number}."),
        });
    }
    let amount = Money::parse(form.get("amount"), invoice.currency)
        .ok()
        .filter(|m| m.minor_units() > 0)
        .ok_or_else(|| {
            AppError::Invalid(format!(
                "Enter the amount to take off in {}, e.g. 5.00.",
                invoice.currency.code()
            ))
        })?;
    if amount.minor_units() > invoice.amount_due {
        return Err(AppError::Invalid(format!(
            "Invoice {} owes {}: take off at most that, or void it.",
            invoice.number,
            Money::from_minor(invoice.amount_due, invoice.currency)
        )));
    }
    let after = Money::from_minor(invoice.amount_due - amount.minor_units(), invoice.currency);
    let check = approval_check(state, &staff, step, &org_id, amount).await?;
    let effect = Effect {
        org_id: org_id.clone(),
        title: if check.needed {
            format!("Ask an approver to take {amount} off invoice {}", invoice.number)
        } else {
            format!("Take {amount} off invoice {}", invoice.number)
        },
        lines: [
            check.line(amount),
            Some(format!(
                "Invoice {} owes {} now and will owe {after}; the next payment attempt charges {after}.",
                invoice.number,
                Money::from_minor(invoice.amount_due, invoice.currency)
            )),
            Some("A credit note records it; the invoice's lines do not change, and no money moves.".into()),
            Some(format!("Reason: {reason}. Note: {note}")),
        ]
        .into_iter()
        .flatten()
        .collect(),
        detail: Vec::new(),
    };
    if let Some(ask) = gate(&staff, form, effect, step) {
        return Ok(ask);
    }
    if check.needed {
        let summary = format!("A credit note of {amount} on invoice {}", invoice.number);
        return request_approval(
            state,
            &staff,
            form,
            ApprovalRequest {
                kind: "credit_note",
                org_id: &org_id,
                invoice_id: Some(&invoice.id),
                amount,
                reason_code: reason,
                note,
                key: token,
                summary: &summary,
            },
        )
        .await;
    }
    let target = format!("invoice:{}", invoice.id);
    let request = format!("form:{token}");
    let credit_note = credit_notes::issue_audited(
        &state.db,
        &NewCreditNote {
            org_id: &org_id,
            invoice_id: &invoice.id,
            amount: amount.minor_units(),
            outcome: CreditOutcome::ReduceDue,
            reason: &format!("{reason}: {note}"),
            actor: &staff.email,
        },
        Some(token),
        &crate::store::audit::AuditEntry {
            action: "credit_note",
            target: &target,
            org_id: Some(&org_id),
            amount: Some(amount.minor_units()),
            currency: Some(invoice.currency.code()),
            reason_code: Some(reason),
            note,
            request_id: Some(&request),
            ..super::console::by_staff(&staff)
        },
        state.now(),
    )
    .await
    .map_err(|e| match e {
        CreditNoteError::Db(e) if crate::store::is_unique_violation(&e) => {
            AppError::Conflict("This credit note was already issued.".into())
        }
        CreditNoteError::Db(e) => AppError::internal(e),
        other => AppError::Invalid(format!(
            "{}.",
            super::console::capitalise(&other.to_string())
        )),
    })?;
    Ok(Outcome::Done {
        org_id,
        message: format!(
            "Credit note {} takes {amount} off invoice {}: it now owes {after}.",
            credit_note.number, invoice.number
        ),
    })
}

/// The invoice and its organisation, when it is open.
#[cfg(feature = "ssr")]
async fn open_invoice(
    state: &crate::server::AppState,
    invoice_id: &str,
) -> Result<(String, crate::store::invoices::InvoiceRow), AppError> {
    let (org_id, invoice) = any_invoice(state, invoice_id).await?;
    if invoice.status != crate::domain::InvoiceStatus::Open {
        return Err(AppError::Invalid(format!(
            "Invoice {} is {}: only an open invoice can be reduced.",
            invoice.number, invoice.status
        )));
    }
    Ok((org_id, invoice))
}

#[cfg(feature = "ssr")]
pub(crate) async fn any_invoice(
    state: &crate::server::AppState,
    invoice_id: &str,
) -> Result<(String, crate::store::invoices::InvoiceRow), AppError> {
    let target = crate::store::console::invoice_for_refund(&state.db, invoice_id)
        .await?
        .ok_or_else(|| AppError::NotFound("That invoice".into()))?;
    let invoice = crate::store::invoices::find_for_org(&state.db, &target.org_id, invoice_id)
        .await?
        .ok_or_else(|| AppError::NotFound("That invoice".into()))?;
    Ok((target.org_id, invoice.0))
}

/// Emails the invoice again to the organisation's billing contact, with a link to it (agents and
/// billing admins).
#[server(endpoint = "support/invoice/resend")]
pub async fn resend_invoice(
    invoice_id: String,
    reason_code: String,
    note: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = Form::new("resend_invoice", [invoice_id, reason_code, note]);
    let outcome = resend_invoice_step(&state, &form, Step::Act(confirm.as_deref())).await?;
    Ok(reply(&form, outcome))
}

#[cfg(feature = "ssr")]
pub(crate) async fn resend_invoice_step(
    state: &crate::server::AppState,
    form: &Form,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    use crate::domain::Money;
    let staff = acting_staff(state, step, &[StaffRole::Agent, StaffRole::BillingAdmin]).await?;
    let (reason, note) =
        super::console::reason_and_note(form.get("reason_code"), form.get("note"))?;
    let note = note.as_str();
    let (org_id, invoice) = any_invoice(state, form.get("invoice_id")).await?;
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
    if let Some(ask) = gate(&staff, form, effect, step) {
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
            ..super::console::by_staff(&staff)
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

/// Moves the organisation's test clock forward by 1 to 400 days, running every renewal and
/// payment retry due on the way, in order. Billing admins.
#[server(endpoint = "support/test-clock/advance")]
pub async fn advance_test_clock(
    org_id: String,
    days: String,
    reason_code: String,
    note: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = Form::new("advance_clock", [org_id, days, reason_code, note]);
    let outcome = advance_clock_step(&state, &form, Step::Act(confirm.as_deref())).await?;
    Ok(reply(&form, outcome))
}

#[cfg(feature = "ssr")]
pub(crate) async fn advance_clock_step(
    state: &crate::server::AppState,
    form: &Form,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    use crate::domain::period::format_date;
    let staff = acting_staff(state, step, &[StaffRole::BillingAdmin]).await?;
    let (reason, note) =
        super::console::reason_and_note(form.get("reason_code"), form.get("note"))?;
    let note = note.as_str();
    crate::services::test_clock::refuse_when_live(state).map_err(|e| {
        AppError::Invalid(format!("{}.", super::console::capitalise(&e.to_string())))
    })?;
    let org_id = form.get("org_id");
    let days: i64 = form
        .get("days")
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
        org_id: org_id.to_string(),
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
    if let Some(ask) = gate(&staff, form, effect, step) {
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
            ..super::console::by_staff(&staff)
        },
        state.now(),
    )
    .await?;
    Ok(Outcome::Done {
        org_id: org_id.to_string(),
        message: format!(
            "Test clock {} is now at {}: {summary}.",
            clock.name,
            format_date(until)
        ),
    })
}

/// Lets the bill run try a renewal again that stopped after failing too often (its cause fixed).
/// Billing admins.
#[server(endpoint = "support/renewal/retry")]
pub async fn retry_renewal(
    org_id: String,
    reason_code: String,
    note: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = Form::new("retry_renewal", [org_id, reason_code, note]);
    let outcome = retry_renewal_step(&state, &form, Step::Act(confirm.as_deref())).await?;
    Ok(reply(&form, outcome))
}

#[cfg(feature = "ssr")]
pub(crate) async fn retry_renewal_step(
    state: &crate::server::AppState,
    form: &Form,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    let staff = acting_staff(state, step, &[StaffRole::BillingAdmin]).await?;
    let (reason, note) =
        super::console::reason_and_note(form.get("reason_code"), form.get("note"))?;
    let note = note.as_str();
    let org_id = form.get("org_id");
    let stuck = crate::store::renewals::stuck_renewals(&state.db, Some(org_id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            AppError::Invalid("This customer's renewal is not waiting for attention.".into())
        })?;
    let effect = Effect {
        org_id: org_id.to_string(),
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
    if let Some(ask) = gate(&staff, form, effect, step) {
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
            ..super::console::by_staff(&staff)
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
        org_id: org_id.to_string(),
        message: format!(
            "The renewal of {} will be tried again by the next bill run.",
            stuck.org_name
        ),
    })
}

/// A renewal that stopped being retried, as the console lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttentionItem {
    pub org_id: String,
    pub org_name: String,
    pub failures: i64,
    pub error: String,
    pub failed_at: i64,
}

/// Renewals that need staff: they failed too often in a row and are no longer retried.
#[server(endpoint = "support/attention")]
pub async fn load_attention() -> Result<Vec<AttentionItem>, AppError> {
    use crate::domain::access::StaffRole;
    let state = crate::server::state()?;
    super::console::staff_with(
        &state,
        &[
            StaffRole::Agent,
            StaffRole::BillingAdmin,
            StaffRole::Approver,
        ],
    )
    .await?;
    Ok(crate::store::renewals::stuck_renewals(&state.db, None)
        .await?
        .into_iter()
        .map(|r| AttentionItem {
            org_id: r.org_id,
            org_name: r.org_name,
            failures: r.failures,
            error: r.error,
            failed_at: r.failed_at,
        })
        .collect())
}
