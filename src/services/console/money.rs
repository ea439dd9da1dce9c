//! Console actions that move money: refunds, account credit, credit notes, voids and write-offs,
//! and payment retries.

use super::{
    acting_staff, approval_check, by_staff, capitalise, check_note, gate, lower_first,
    reason_and_note, request_approval, ApprovalRequest, CloseForm, CreditForm, Effect, Outcome,
    ReduceInvoiceForm, RefundForm, RetryForm, Step,
};
use crate::domain::access::StaffRole;
use crate::domain::ids::{InvoiceId, OrgId};
use crate::error::AppError;
use crate::server::AppState;
use crate::wire::console::REFUND_REASONS;

pub async fn refund_step(
    state: &AppState,
    form: &RefundForm,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    use crate::domain::{Currency, Money};
    let staff = acting_staff(state, step, &[StaffRole::BillingAdmin]).await?;
    let action = form.action();
    let reason_code = form.reason_code.as_str();
    let Some((_, reason_label)) = REFUND_REASONS.iter().find(|(code, _)| *code == reason_code)
    else {
        return Err(AppError::Invalid("Choose a reason for the refund.".into()));
    };
    let note = check_note(form.note.as_str())?;
    let note = note.as_str();
    let token = form.token.as_str();
    if token.len() < 8 {
        return Err(AppError::Invalid(
            "Reload the page and submit the form again.".into(),
        ));
    }
    let target =
        crate::store::console::invoice_for_refund(&state.db, &InvoiceId::parse(&form.invoice_id)?)
            .await?
            .ok_or_else(|| AppError::NotFound("That invoice".into()))?;
    let currency = Currency::parse(&target.currency).map_err(AppError::internal)?;
    let amount = Money::parse(form.amount.as_str(), currency).map_err(|_| {
        AppError::Invalid(format!(
            "Enter the amount to refund in {}, e.g. 10.00.",
            currency.code()
        ))
    })?;
    if amount.minor_units() <= 0 {
        return Err(AppError::Invalid(
            "The refund must be more than zero.".into(),
        ));
    }
    if let Some(done) = crate::store::console::credit_note_for_request(&state.db, token).await? {
        return Ok(Outcome::Done {
            org_id: target.org_id,
            message: format!("Already done: credit note {done}."),
        });
    }
    if amount.minor_units() > target.refundable {
        return Err(AppError::Invalid(format!(
            "At most {} can still be refunded on invoice {}.",
            Money::from_minor(target.refundable, currency),
            target.number
        )));
    }
    let intent = target.payment_intent_id.clone().ok_or_else(|| {
        AppError::Invalid(format!(
            "Invoice {} was not paid by card; credit the account instead.",
            target.number
        ))
    })?;
    let check = approval_check(state, &staff, step, &target.org_id, amount).await?;
    let before = Money::from_minor(target.refundable, currency);
    let after = Money::from_minor(target.refundable - amount.minor_units(), currency);
    let effect = Effect {
        org_id: target.org_id.clone(),
        title: if check.needed {
            format!("Ask an approver to refund {amount} on invoice {}", target.number)
        } else {
            format!("Refund {amount} on invoice {}", target.number)
        },
        lines: [
            check.line(amount),
            Some(format!(
                "Stripe returns {amount} to the card that paid invoice {} (payment {intent}); a credit note records it.",
                target.number
            )),
            Some(format!("Still refundable on the invoice: {before} now, {after} after.")),
            Some(format!("Reason: {reason_label}. Note: {note}")),
        ]
        .into_iter()
        .flatten()
        .collect(),
        detail: Vec::new(),
    };
    if let Some(ask) = gate(&staff, &action, effect, step) {
        return Ok(ask);
    }
    if check.needed {
        let summary = format!("A refund of {amount} on invoice {}", target.number);
        return request_approval(
            state,
            &staff,
            &action,
            ApprovalRequest {
                kind: "refund",
                org_id: &target.org_id,
                invoice_id: Some(&target.id),
                amount,
                reason_code,
                note,
                key: token,
                summary: &summary,
            },
        )
        .await;
    }
    let number = perform_refund(
        state,
        &staff,
        &target,
        &intent,
        amount,
        Refund {
            reason_code,
            reason_label,
            note,
            key: token,
        },
    )
    .await?;
    Ok(Outcome::Done {
        org_id: target.org_id.clone(),
        message: format!(
            "Refunded {} on invoice {} (credit note {number}).",
            amount, target.number
        ),
    })
}

struct Refund<'a> {
    reason_code: &'a str,
    reason_label: &'a str,
    note: &'a str,
    key: &'a str,
}

/// Moves the money at Stripe (keyed, so a retry is the same refund), then records the credit
/// note and its audit entry together. Returns the credit note's number.
async fn perform_refund(
    state: &AppState,
    staff: &crate::wire::StaffSession,
    target: &crate::store::console::RefundTarget,
    intent: &str,
    amount: crate::domain::Money,
    refund: Refund<'_>,
) -> Result<String, AppError> {
    use crate::store::credit_notes::{self, CreditNoteError, CreditOutcome, NewCreditNote};
    state
        .payments
        .gateway
        .refund(
            intent,
            amount.minor_units(),
            &format!("refund:{}", refund.key),
        )
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "refund failed at Stripe");
            AppError::Conflict(format!(
                "Stripe did not make the refund ({e}). Nothing was recorded; try again."
            ))
        })?;
    let detail = format!("{}: {}", refund.reason_label, refund.note);
    let target_name = format!("invoice:{}", target.id);
    let request = format!("form:{}", refund.key);
    let note = credit_notes::issue_audited(
        &state.db,
        &NewCreditNote {
            org_id: &target.org_id,
            invoice_id: &target.id,
            amount: amount.minor_units(),
            outcome: CreditOutcome::Refund,
            reason: &detail,
            actor: &staff.email,
        },
        Some(refund.key),
        &crate::store::audit::AuditEntry {
            action: "refund",
            target: &target_name,
            org_id: Some(&target.org_id),
            amount: Some(amount.minor_units()),
            currency: Some(amount.currency().code()),
            reason_code: Some(refund.reason_code),
            note: refund.note,
            request_id: Some(&request),
            ..by_staff(staff)
        },
        state.now(),
    )
    .await
    .map_err(|e| match e {
        CreditNoteError::Db(e) => AppError::internal(e),
        other => AppError::Invalid(format!("{}.", capitalise(&other.to_string()))),
    })?;
    Ok(note.number)
}

pub async fn credit_step(
    state: &AppState,
    form: &CreditForm,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    use crate::domain::{Currency, Money};
    let staff = acting_staff(state, step, &[StaffRole::BillingAdmin]).await?;
    let action = form.action();
    let (reason, note) = reason_and_note(form.reason_code.as_str(), form.note.as_str())?;
    let note = note.as_str();
    let org_id = &OrgId::parse(&form.org_id)?;
    let token = form.token.as_str();
    if token.len() < 8 {
        return Err(AppError::Invalid(
            "Reload the page and submit the form again.".into(),
        ));
    }
    let org = crate::store::console::organization(&state.db, org_id)
        .await?
        .ok_or_else(|| AppError::NotFound("That customer".into()))?;
    let currency = crate::store::invoices::list_for_org(&state.db, org_id)
        .await?
        .first()
        .map(|i| i.currency)
        .unwrap_or(Currency::USD);
    let amount = Money::parse(form.amount.as_str(), currency)
        .ok()
        .filter(|m| m.minor_units() > 0)
        .ok_or_else(|| {
            AppError::Invalid(format!(
                "Enter an amount above zero in {}, e.g. 25.00.",
                currency.code()
            ))
        })?;
    if crate::store::console::audit_key_used(&state.db, token, "credit").await? {
        return Ok(Outcome::Done {
            org_id: org_id.clone(),
            message: "Already done.".into(),
        });
    }
    let check = approval_check(state, &staff, step, org_id, amount).await?;
    let balance = crate::store::credits::balance(&state.db, org_id, currency).await?;
    let after = Money::from_minor(balance.minor_units() + amount.minor_units(), currency);
    let effect = Effect {
        org_id: org_id.clone(),
        title: if check.needed {
            format!("Ask an approver to add {amount} of account credit for {}", org.name)
        } else {
            format!("Add {amount} of account credit for {}", org.name)
        },
        lines: [
            check.line(amount),
            Some(format!(
                "Account credit: {balance} now, {after} after. The next invoices use it before charging the card; no money moves at Stripe."
            )),
            Some(format!("Reason: {reason}. Note: {note}")),
        ]
        .into_iter()
        .flatten()
        .collect(),
        detail: Vec::new(),
    };
    if let Some(ask) = gate(&staff, &action, effect, step) {
        return Ok(ask);
    }
    let target = format!("org:{org_id}");
    let request = format!("form:{token}");
    if check.needed {
        let summary = format!("A credit of {amount} for {}", org.name);
        return request_approval(
            state,
            &staff,
            &action,
            ApprovalRequest {
                kind: "credit",
                org_id,
                invoice_id: None,
                amount,
                reason_code: reason,
                note,
                key: token,
                summary: &summary,
            },
        )
        .await;
    }
    crate::store::credits::grant_audited(
        &state.db,
        &crate::store::credits::CreditEntry {
            org_id,
            currency,
            amount: amount.minor_units(),
            reason: &format!("Support credit: {note}"),
            invoice_id: None,
            credit_note_id: None,
            actor: &staff.email,
        },
        &crate::store::audit::AuditEntry {
            action: "credit",
            target: &target,
            org_id: Some(org_id),
            amount: Some(amount.minor_units()),
            currency: Some(currency.code()),
            reason_code: Some(reason),
            note,
            request_id: Some(&request),
            ..by_staff(&staff)
        },
        state.now(),
    )
    .await?;
    Ok(Outcome::Done {
        org_id: org_id.clone(),
        message: format!("Added {amount} of account credit to {}.", org.name),
    })
}

pub async fn close_step(
    state: &AppState,
    form: &CloseForm,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    use crate::domain::Money;
    let staff = acting_staff(state, step, &[StaffRole::BillingAdmin]).await?;
    let action = form.action();
    let (reason, note) = reason_and_note(form.reason_code.as_str(), form.note.as_str())?;
    let note = note.as_str();
    let status = match form.action.as_str() {
        "void" => crate::domain::InvoiceStatus::Void,
        "uncollectible" => crate::domain::InvoiceStatus::Uncollectible,
        _ => return Err(AppError::Invalid("Choose void or uncollectible.".into())),
    };
    let (org_id, invoice) = any_invoice(state, &InvoiceId::parse(&form.invoice_id)?).await?;
    if invoice.status != crate::domain::InvoiceStatus::Open {
        return Err(AppError::Invalid(format!(
            "Invoice {} is {}: only an open invoice can be voided or marked uncollectible.",
            invoice.number, invoice.status
        )));
    }
    let due = Money::from_minor(invoice.amount_due, invoice.currency);
    let check = approval_check(state, &staff, step, &org_id, due).await?;
    let what = if status == crate::domain::InvoiceStatus::Void {
        format!("Void invoice {}", invoice.number)
    } else {
        format!("Mark invoice {} uncollectible", invoice.number)
    };
    let effect = Effect {
        org_id: org_id.clone(),
        title: if check.needed {
            format!("Ask an approver to {}", lower_first(&what))
        } else {
            what.clone()
        },
        lines: [
            check.line(due),
            Some(if status == crate::domain::InvoiceStatus::Void {
                format!(
                    "It owes {due}; after this it owes nothing, as if it had never been issued."
                )
            } else {
                format!("{due} is written off as not collectable; the invoice stays on record.")
            }),
            Some("No further payment attempts are made and no money moves.".into()),
            Some(format!("Reason: {reason}. Note: {note}")),
        ]
        .into_iter()
        .flatten()
        .collect(),
        detail: Vec::new(),
    };
    if let Some(ask) = gate(&staff, &action, effect, step) {
        return Ok(ask);
    }
    if check.needed {
        let key = format!("{status}:{}", invoice.id);
        return request_approval(
            state,
            &staff,
            &action,
            ApprovalRequest {
                kind: if status == crate::domain::InvoiceStatus::Void {
                    "void"
                } else {
                    "uncollectible"
                },
                org_id: &org_id,
                invoice_id: Some(&invoice.id),
                amount: due,
                reason_code: reason,
                note,
                key: &key,
                summary: &what,
            },
        )
        .await;
    }
    let target_name = format!("invoice:{}", invoice.id);
    crate::store::credit_notes::close_unpaid(
        &state.db,
        &org_id,
        &invoice.id,
        status.as_str(),
        Some(&crate::store::audit::AuditEntry {
            action: if status == crate::domain::InvoiceStatus::Void {
                "void"
            } else {
                "mark_uncollectible"
            },
            target: &target_name,
            org_id: Some(&org_id),
            amount: Some(invoice.amount_due),
            currency: Some(invoice.currency.code()),
            reason_code: Some(reason),
            note,
            ..by_staff(&staff)
        }),
        state.now(),
    )
    .await
    .map_err(|e| match e {
        crate::store::credit_notes::CreditNoteError::Db(e) => AppError::internal(e),
        other => AppError::Invalid(format!("{}.", capitalise(&other.to_string()))),
    })?;
    Ok(Outcome::Done {
        org_id,
        message: format!(
            "Invoice {} is {}.",
            invoice.number,
            if status == crate::domain::InvoiceStatus::Void {
                "void"
            } else {
                "marked uncollectible"
            }
        ),
    })
}

pub async fn retry_step(
    state: &AppState,
    form: &RetryForm,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    use crate::domain::Money;
    let staff = acting_staff(state, step, &[StaffRole::Agent, StaffRole::BillingAdmin]).await?;
    let (reason, note) = reason_and_note(form.reason_code.as_str(), form.note.as_str())?;
    let note = note.as_str();
    let (org_id, invoice) = any_invoice(state, &InvoiceId::parse(&form.invoice_id)?).await?;
    if invoice.status != crate::domain::InvoiceStatus::Open {
        return Err(AppError::Invalid(format!(
            "Invoice {} is {}: only an open invoice can be charged.",
            invoice.number, invoice.status
        )));
    }
    let card = crate::store::payment_methods::list(&state.db, &org_id)
        .await?
        .into_iter()
        .find(|c| c.is_default);
    let due = Money::from_minor(invoice.amount_due, invoice.currency);
    let effect = Effect {
        org_id: org_id.clone(),
        title: format!("Charge {due} now for invoice {}", invoice.number),
        lines: vec![
            match card {
                Some(c) => format!("To the default card, {} ending {}.", c.brand, c.last4),
                None => "There is no card on file: the attempt will fail.".into(),
            },
            format!(
                "It counts as payment attempt {}: if it fails, the dunning schedule continues from it.",
                invoice.attempt_count + 1
            ),
            format!("Reason: {reason}. Note: {note}"),
        ],
        detail: Vec::new(),
    };
    if let Some(ask) = gate(&staff, &form.action(), effect, step) {
        return Ok(ask);
    }
    let outcome = crate::services::bill_run::retry_now(state, &invoice.id)
        .await
        .map_err(|e| AppError::Invalid(format!("The payment was not retried: {e}.")))?;
    let target_name = format!("invoice:{}", invoice.id);
    crate::store::audit::append(
        &state.db,
        &crate::store::audit::AuditEntry {
            action: "retry_payment",
            target: &target_name,
            org_id: Some(&org_id),
            reason_code: Some(reason),
            note: &format!("{note} ({outcome})"),
            ..by_staff(&staff)
        },
        state.now(),
    )
    .await?;
    Ok(Outcome::Done {
        org_id,
        message: format!("Invoice {}: {outcome}.", invoice.number),
    })
}

pub async fn reduce_invoice_step(
    state: &AppState,
    form: &ReduceInvoiceForm,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    use crate::domain::Money;
    use crate::store::credit_notes::{self, CreditNoteError, CreditOutcome, NewCreditNote};
    let staff = acting_staff(state, step, &[StaffRole::BillingAdmin]).await?;
    let action = form.action();
    let (reason, note) = reason_and_note(form.reason_code.as_str(), form.note.as_str())?;
    let note = note.as_str();
    let token = form.token.as_str();
    if token.len() < 8 {
        return Err(AppError::Invalid(
            "Reload the page and submit the form again.".into(),
        ));
    }
    let (org_id, invoice) = open_invoice(state, &InvoiceId::parse(&form.invoice_id)?).await?;
    if let Some(number) = crate::store::console::credit_note_for_request(&state.db, token).await? {
        return Ok(Outcome::Done {
            org_id,
            message: format!("Already done: credit note {number}."),
        });
    }
    let amount = Money::parse(form.amount.as_str(), invoice.currency)
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
    if let Some(ask) = gate(&staff, &action, effect, step) {
        return Ok(ask);
    }
    if check.needed {
        let summary = format!("A credit note of {amount} on invoice {}", invoice.number);
        return request_approval(
            state,
            &staff,
            &action,
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
            ..by_staff(&staff)
        },
        state.now(),
    )
    .await
    .map_err(|e| match e {
        CreditNoteError::Db(e) if crate::store::is_unique_violation(&e) => {
            AppError::Conflict("This credit note was already issued.".into())
        }
        CreditNoteError::Db(e) => AppError::internal(e),
        other => AppError::Invalid(format!("{}.", capitalise(&other.to_string()))),
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
async fn open_invoice(
    state: &AppState,
    invoice_id: &InvoiceId,
) -> Result<(OrgId, crate::store::invoices::InvoiceRow), AppError> {
    let (org_id, invoice) = any_invoice(state, invoice_id).await?;
    if invoice.status != crate::domain::InvoiceStatus::Open {
        return Err(AppError::Invalid(format!(
            "Invoice {} is {}: only an open invoice can be reduced.",
            invoice.number, invoice.status
        )));
    }
    Ok((org_id, invoice))
}

pub async fn any_invoice(
    state: &AppState,
    invoice_id: &InvoiceId,
) -> Result<(OrgId, crate::store::invoices::InvoiceRow), AppError> {
    let target = crate::store::console::invoice_for_refund(&state.db, invoice_id)
        .await?
        .ok_or_else(|| AppError::NotFound("That invoice".into()))?;
    let invoice = crate::store::invoices::find_for_org(&state.db, &target.org_id, invoice_id)
        .await?
        .ok_or_else(|| AppError::NotFound("That invoice".into()))?;
    Ok((target.org_id, invoice.0))
}
