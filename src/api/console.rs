//! The support console's server functions: search, a customer's page and timeline, refunds, and
//! the audit log. Every function checks the staff member's role before anything else.

#[cfg(feature = "ssr")]
use super::auth::StaffRole;
use super::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Reasons staff can give for a refund (code, label).
pub const REFUND_REASONS: [(&str, &str); 5] = [
    ("service_issue", "Service problem or outage"),
    ("billing_error", "Billing error"),
    ("duplicate", "Duplicate payment"),
    ("goodwill", "Goodwill gesture"),
    ("cancellation", "Cancellation request"),
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub org_id: String,
    pub org_name: String,
    /// What matched, e.g. "owner@acme.test (owner)" or "invoice 0002".
    pub matched: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffInvoice {
    pub id: String,
    pub number: String,
    pub status: String,
    pub created_at: i64,
    pub total: String,
    pub paid: String,
    /// What can still be refunded, formatted, and in minor units.
    pub refundable: String,
    pub refundable_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: i64,
    /// `account`, `plan`, `invoice`, `payment`, `email`, `credit` or `staff`.
    pub kind: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerView {
    pub org_id: String,
    pub org_name: String,
    pub created_at: i64,
    pub stripe_customer_id: Option<String>,
    pub test_clock: Option<String>,
    pub members: Vec<(String, String)>,
    pub subscription: Option<String>,
    pub cards: Vec<String>,
    pub credit_balance: String,
    pub invoices: Vec<StaffInvoice>,
    pub timeline: Vec<TimelineEntry>,
    pub can_refund: bool,
    /// Agents and billing admins may retry payments and extend trials.
    pub can_assist: bool,
    pub trialing: bool,
    /// A fresh token for each action form: submitting the same form twice does the action once.
    pub form_token: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub target: String,
    pub amount: Option<String>,
    pub reason: Option<String>,
    pub note: String,
}

#[cfg(feature = "ssr")]
async fn staff_with(
    state: &crate::server::AppState,
    allowed: &[StaffRole],
) -> Result<crate::api::auth::StaffSession, AppError> {
    let staff = crate::server::auth::staff(state)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if !allowed.contains(&staff.role) {
        return Err(AppError::Forbidden);
    }
    Ok(staff)
}

/// Every staff role reads.
#[cfg(feature = "ssr")]
const READERS: [StaffRole; 3] = [
    StaffRole::Agent,
    StaffRole::BillingAdmin,
    StaffRole::Approver,
];

#[server(endpoint = "support/search")]
pub async fn search_customers(q: String) -> Result<Vec<SearchHit>, AppError> {
    let state = crate::server::state()?;
    staff_with(&state, &READERS).await?;
    let q = q.trim();
    if q.chars().count() < 2 {
        return Ok(Vec::new());
    }
    Ok(crate::store::console::search(&state.db, q, 20)
        .await?
        .into_iter()
        .map(|(org_id, org_name, matched)| SearchHit {
            org_id,
            org_name,
            matched,
        })
        .collect())
}

#[server(endpoint = "support/customer")]
pub async fn load_customer(org_id: String) -> Result<CustomerView, AppError> {
    use crate::domain::Money;
    let state = crate::server::state()?;
    let staff = staff_with(&state, &READERS).await?;
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
    Ok(CustomerView {
        org_name: org.name,
        created_at: org.created_at,
        stripe_customer_id: org.stripe_customer_id,
        test_clock: org.test_clock,
        members: crate::store::console::members(db, &org_id).await?,
        trialing: sub.as_ref().is_some_and(|s| s.status == "trialing"),
        subscription: sub.map(|s| {
            format!(
                "{} · {} seat(s) · {} · period ends {}",
                s.plan_name,
                s.quantity,
                s.status,
                crate::ui::portal::format_date(s.current_period_end)
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
                    crate::store::console::refundable(&i.status, i.amount_paid, i.total, already);
                StaffInvoice {
                    id: i.id.clone(),
                    number: i.number.clone(),
                    status: i.status.clone(),
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
            .map(|(at, kind, text)| TimelineEntry { at, kind, text })
            .collect(),
        can_refund: staff.role == StaffRole::BillingAdmin,
        can_assist: matches!(staff.role, StaffRole::Agent | StaffRole::BillingAdmin),
        form_token: crate::store::new_id("form"),
        org_id,
    })
}

/// Refunds part or all of a paid invoice to the card it was paid with: a credit note records it,
/// Stripe moves the money (keyed by the form's token, so a repeated submission is one refund),
/// and the audit log records who, why and how much. Billing admins only.
#[server(endpoint = "support/refund")]
pub async fn refund_invoice(
    invoice_id: String,
    amount: String,
    reason_code: String,
    note: String,
    token: String,
) -> Result<String, AppError> {
    use crate::domain::{Currency, Money};
    let state = crate::server::state()?;
    let staff = staff_with(&state, &[StaffRole::BillingAdmin]).await?;
    let Some((_, reason_label)) = REFUND_REASONS
        .iter()
        .find(|(code, _)| *code == reason_code.trim())
    else {
        return Err(AppError::Invalid("Choose a reason for the refund.".into()));
    };
    let note = note.trim();
    if note.is_empty() {
        return Err(AppError::Invalid(
            "Write a note: what happened and what the customer was told.".into(),
        ));
    }
    let token = token.trim();
    if token.len() < 8 {
        return Err(AppError::Invalid(
            "Reload the page and submit the form again.".into(),
        ));
    }
    let target = crate::store::console::invoice_for_refund(&state.db, &invoice_id)
        .await?
        .ok_or_else(|| AppError::NotFound("That invoice".into()))?;
    let currency = Currency::parse(&target.currency).map_err(AppError::internal)?;
    let amount = Money::parse(amount.trim(), currency).map_err(|_| {
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
        return Ok(format!("Already done: credit note {done}."));
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
    if amount.minor_units() > state.config.approval_threshold_minor {
        let target_name = format!("invoice:{}", target.id);
        let id = crate::store::approvals::request(
            &state.db,
            &crate::store::approvals::NewApproval {
                kind: "refund",
                org_id: &target.org_id,
                invoice_id: Some(&target.id),
                amount: amount.minor_units(),
                currency: currency.code(),
                reason_code: reason_code.trim(),
                note,
                request_key: token,
                requested_by: &staff.email,
            },
            &crate::store::audit::AuditEntry {
                action: "refund_requested",
                target: &target_name,
                org_id: Some(&target.org_id),
                amount: Some(amount.minor_units()),
                currency: Some(currency.code()),
                reason_code: Some(reason_code.trim()),
                note,
                ..by_staff(&staff)
            },
            state.now(),
        )
        .await
        .map_err(|e| {
            if crate::store::is_unique_violation(&e) {
                AppError::Conflict("This refund was already requested.".into())
            } else {
                AppError::internal(e)
            }
        })?;
        return Ok(format!(
            "A refund of {amount} is above the approval threshold: request {id} now waits for an approver. Nothing has moved yet."
        ));
    }
    let number = perform_refund(
        &state,
        &staff,
        &target,
        &intent,
        amount,
        Refund {
            reason_code: reason_code.trim(),
            reason_label,
            note,
            key: token,
        },
    )
    .await?;
    Ok(format!(
        "Refunded {} on invoice {} (credit note {number}).",
        amount, target.number
    ))
}

#[cfg(feature = "ssr")]
struct Refund<'a> {
    reason_code: &'a str,
    reason_label: &'a str,
    note: &'a str,
    key: &'a str,
}

/// Moves the money at Stripe (keyed, so a retry is the same refund), then records the credit
/// note and its audit entry together. Returns the credit note's number.
#[cfg(feature = "ssr")]
async fn perform_refund(
    state: &crate::server::AppState,
    staff: &crate::api::auth::StaffSession,
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalView {
    pub id: String,
    pub org_id: String,
    pub amount: String,
    pub reason: String,
    pub note: String,
    pub requested_by: String,
    pub status: String,
    pub decided_by: Option<String>,
    pub created_at: i64,
}

#[server(endpoint = "support/approvals")]
pub async fn load_approvals() -> Result<Vec<ApprovalView>, AppError> {
    let state = crate::server::state()?;
    staff_with(&state, &READERS).await?;
    Ok(crate::store::approvals::list(&state.db, 100)
        .await?
        .into_iter()
        .map(|a| ApprovalView {
            amount: crate::domain::Currency::parse(&a.currency)
                .map(|c| crate::domain::Money::from_minor(a.amount, c).to_string())
                .unwrap_or_default(),
            id: a.id,
            org_id: a.org_id,
            reason: a.reason_code,
            note: a.note,
            requested_by: a.requested_by,
            status: a.status,
            decided_by: a.decided_by,
            created_at: a.created_at,
        })
        .collect())
}

/// An approver approves (the refund is made) or rejects a pending request; nobody decides their
/// own request.
#[server(endpoint = "support/approvals/decide")]
pub async fn decide_approval(id: String, decision: String) -> Result<String, AppError> {
    use crate::domain::{Currency, Money};
    let state = crate::server::state()?;
    let staff = staff_with(&state, &[StaffRole::Approver]).await?;
    let request = crate::store::approvals::find(&state.db, &id)
        .await?
        .ok_or_else(|| AppError::NotFound("That request".into()))?;
    if request.requested_by == staff.email {
        return Err(AppError::Invalid(
            "You asked for this refund; another approver must decide it.".into(),
        ));
    }
    if request.status != "pending" {
        return Err(AppError::Conflict(format!(
            "This request was already {}.",
            request.status
        )));
    }
    let approve = match decision.trim() {
        "approve" => true,
        "reject" => false,
        _ => return Err(AppError::Invalid("Choose approve or reject.".into())),
    };
    let currency = Currency::parse(&request.currency).map_err(AppError::internal)?;
    let amount = Money::from_minor(request.amount, currency);
    let target_name = format!("approval:{}", request.id);
    let credit_reason = format!("Support credit: {}", request.note);
    let grant = crate::store::credits::CreditEntry {
        org_id: &request.org_id,
        currency,
        amount: request.amount,
        reason: &credit_reason,
        invoice_id: None,
        credit_note_id: None,
        actor: &request.requested_by,
    };
    // An approved credit is granted with the decision below; a refund moves at Stripe first.
    if approve && request.kind != "credit" {
        let invoice_id = request.invoice_id.clone().unwrap_or_default();
        let target = crate::store::console::invoice_for_refund(&state.db, &invoice_id)
            .await?
            .ok_or_else(|| AppError::NotFound("The request's invoice".into()))?;
        let intent = target
            .payment_intent_id
            .clone()
            .ok_or_else(|| AppError::Invalid("The invoice was not paid by card.".into()))?;
        let reason_label = REFUND_REASONS
            .iter()
            .find(|(code, _)| *code == request.reason_code)
            .map(|(_, label)| *label)
            .unwrap_or("Refund");
        let requester = crate::api::auth::StaffSession {
            email: request.requested_by.clone(),
            name: request.requested_by.clone(),
            role: StaffRole::BillingAdmin,
        };
        let already =
            crate::store::console::credit_note_for_request(&state.db, &request.request_key).await?;
        if already.is_none() && request.amount > target.refundable {
            return Err(AppError::Invalid(format!(
                "Only {} can still be refunded on invoice {}; reject this request.",
                Money::from_minor(target.refundable, currency),
                target.number
            )));
        }
        if already.is_none() {
            perform_refund(
                &state,
                &requester,
                &target,
                &intent,
                amount,
                Refund {
                    reason_code: &request.reason_code,
                    reason_label,
                    note: &request.note,
                    key: &request.request_key,
                },
            )
            .await?;
        }
    }
    let decision_action = format!(
        "{}_{}",
        request.kind,
        if approve { "approved" } else { "rejected" }
    );
    let decided = crate::store::approvals::decide(
        &state.db,
        &request.id,
        approve,
        &staff.email,
        (request.kind == "credit").then_some(&grant),
        &crate::store::audit::AuditEntry {
            action: &decision_action,
            target: &target_name,
            org_id: Some(&request.org_id),
            amount: Some(request.amount),
            currency: Some(currency.code()),
            reason_code: Some(&request.reason_code),
            note: &request.note,
            ..by_staff(&staff)
        },
        state.now(),
    )
    .await?;
    if !decided {
        return Err(AppError::Conflict(
            "Another approver decided this request first.".into(),
        ));
    }
    let what = if request.kind == "credit" {
        "credited"
    } else {
        "refunded"
    };
    Ok(if approve {
        format!("Approved: {amount} {what}.")
    } else {
        format!("Rejected: {amount} will not be {what}.")
    })
}

/// The audit entry's actor fields for a staff member; the rest is filled in per action.
#[cfg(feature = "ssr")]
fn by_staff(staff: &crate::api::auth::StaffSession) -> crate::store::audit::AuditEntry<'_> {
    crate::store::audit::AuditEntry {
        actor: &staff.email,
        actor_role: staff.role.as_str(),
        ..Default::default()
    }
}

#[cfg(feature = "ssr")]
fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[server(endpoint = "support/audit")]
pub async fn load_audit_log(org_id: Option<String>) -> Result<Vec<AuditView>, AppError> {
    let state = crate::server::state()?;
    staff_with(&state, &READERS).await?;
    let rows =
        crate::store::audit::recent(&state.db, org_id.as_deref().filter(|s| !s.is_empty()), 200)
            .await?;
    Ok(rows
        .into_iter()
        .map(|r| AuditView {
            amount: match (r.amount, r.currency.as_deref()) {
                (Some(a), Some(c)) => crate::domain::Currency::parse(c)
                    .ok()
                    .map(|c| crate::domain::Money::from_minor(a, c).to_string()),
                _ => None,
            },
            seq: r.seq,
            at: r.at,
            actor: r.actor,
            role: r.actor_role,
            action: r.action,
            target: r.target,
            reason: r.reason_code,
            note: r.note,
        })
        .collect())
}

/// Reasons for the other staff actions (code, label).
pub const ACTION_REASONS: [(&str, &str); 5] = [
    ("customer_request", "Customer request"),
    ("service_issue", "Service problem or outage"),
    ("billing_error", "Billing error"),
    ("goodwill", "Goodwill gesture"),
    ("payment_issue", "Payment problem"),
];

/// A checked reason and note, and the audit entry's shared fields.
#[cfg(feature = "ssr")]
fn reason_and_note<'a>(
    reason_code: &'a str,
    note: &'a str,
) -> Result<(&'a str, &'a str), AppError> {
    let reason = reason_code.trim();
    if !ACTION_REASONS.iter().any(|(code, _)| *code == reason) {
        return Err(AppError::Invalid("Choose a reason.".into()));
    }
    let note = note.trim();
    if note.is_empty() {
        return Err(AppError::Invalid(
            "Write a note: what happened and what the customer was told.".into(),
        ));
    }
    Ok((reason, note))
}

/// Adds account credit, which the organisation's next invoices use first. Billing admins; above
/// the approval threshold it becomes a request that an approver decides, like a refund.
#[server(endpoint = "support/credit")]
pub async fn credit_account(
    org_id: String,
    amount: String,
    reason_code: String,
    note: String,
    token: String,
) -> Result<String, AppError> {
    use crate::domain::{Currency, Money};
    let state = crate::server::state()?;
    let staff = staff_with(&state, &[StaffRole::BillingAdmin]).await?;
    let (reason, note) = reason_and_note(&reason_code, &note)?;
    let org = crate::store::console::organization(&state.db, &org_id)
        .await?
        .ok_or_else(|| AppError::NotFound("That customer".into()))?;
    let currency = crate::store::invoices::list_for_org(&state.db, &org_id)
        .await?
        .first()
        .map(|i| i.currency)
        .unwrap_or(Currency::USD);
    let amount = Money::parse(amount.trim(), currency)
        .ok()
        .filter(|m| m.minor_units() > 0)
        .ok_or_else(|| {
            AppError::Invalid(format!(
                "Enter an amount above zero in {}, e.g. 25.00.",
                currency.code()
            ))
        })?;
    if crate::store::console::audit_key_used(&state.db, token.trim()).await? {
        return Ok("Already done.".into());
    }
    let target = format!("org:{org_id}");
    let request = format!("form:{}", token.trim());
    if amount.minor_units() > state.config.approval_threshold_minor {
        let id = crate::store::approvals::request(
            &state.db,
            &crate::store::approvals::NewApproval {
                kind: "credit",
                org_id: &org_id,
                invoice_id: None,
                amount: amount.minor_units(),
                currency: currency.code(),
                reason_code: reason,
                note,
                request_key: token.trim(),
                requested_by: &staff.email,
            },
            &crate::store::audit::AuditEntry {
                action: "credit_requested",
                target: &target,
                org_id: Some(&org_id),
                amount: Some(amount.minor_units()),
                currency: Some(currency.code()),
                reason_code: Some(reason),
                note,
                request_id: Some(&request),
                ..by_staff(&staff)
            },
            state.now(),
        )
        .await
        .map_err(|e| {
            if crate::store::is_unique_violation(&e) {
                AppError::Conflict("This credit was already requested.".into())
            } else {
                AppError::internal(e)
            }
        })?;
        return Ok(format!(
            "A credit of {amount} is above the approval threshold: request {id} now waits for an approver."
        ));
    }
    crate::store::credits::grant_audited(
        &state.db,
        &crate::store::credits::CreditEntry {
            org_id: &org_id,
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
            org_id: Some(&org_id),
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
    Ok(format!("Added {amount} of account credit to {}.", org.name))
}

/// Voids an open invoice or marks it uncollectible (`action` = `void` | `uncollectible`).
/// Billing admins.
#[server(endpoint = "support/invoice/close")]
pub async fn close_invoice(
    invoice_id: String,
    action: String,
    reason_code: String,
    note: String,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let staff = staff_with(&state, &[StaffRole::BillingAdmin]).await?;
    let (reason, note) = reason_and_note(&reason_code, &note)?;
    let status = match action.trim() {
        "void" => "void",
        "uncollectible" => "uncollectible",
        _ => return Err(AppError::Invalid("Choose void or uncollectible.".into())),
    };
    let target = crate::store::console::invoice_for_refund(&state.db, &invoice_id)
        .await?
        .ok_or_else(|| AppError::NotFound("That invoice".into()))?;
    let target_name = format!("invoice:{}", target.id);
    crate::store::credit_notes::close_unpaid(
        &state.db,
        &target.org_id,
        &target.id,
        status,
        Some(&crate::store::audit::AuditEntry {
            action: if status == "void" {
                "void"
            } else {
                "mark_uncollectible"
            },
            target: &target_name,
            org_id: Some(&target.org_id),
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
    Ok(format!(
        "Invoice {} is {}.",
        target.number,
        if status == "void" {
            "void"
        } else {
            "marked uncollectible"
        }
    ))
}

/// Charges an open invoice now (agents and billing admins).
#[server(endpoint = "support/invoice/retry")]
pub async fn retry_payment(
    invoice_id: String,
    reason_code: String,
    note: String,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let staff = staff_with(&state, &[StaffRole::Agent, StaffRole::BillingAdmin]).await?;
    let (reason, note) = reason_and_note(&reason_code, &note)?;
    let target = crate::store::console::invoice_for_refund(&state.db, &invoice_id)
        .await?
        .ok_or_else(|| AppError::NotFound("That invoice".into()))?;
    let outcome = crate::jobs::retry_now(&state, &invoice_id)
        .await
        .map_err(|e| AppError::Invalid(format!("The payment was not retried: {e}.")))?;
    let target_name = format!("invoice:{}", target.id);
    crate::store::audit::append(
        &state.db,
        &crate::store::audit::AuditEntry {
            action: "retry_payment",
            target: &target_name,
            org_id: Some(&target.org_id),
            reason_code: Some(reason),
            note: &format!("{note} ({outcome})"),
            ..by_staff(&staff)
        },
        state.now(),
    )
    .await?;
    Ok(format!("Invoice {}: {outcome}.", target.number))
}

/// Moves a trial's end later by 1 to 60 days (agents and billing admins).
#[server(endpoint = "support/trial/extend")]
pub async fn extend_trial(
    org_id: String,
    days: String,
    reason_code: String,
    note: String,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let staff = staff_with(&state, &[StaffRole::Agent, StaffRole::BillingAdmin]).await?;
    let (reason, note) = reason_and_note(&reason_code, &note)?;
    let days: i64 = days
        .trim()
        .parse()
        .ok()
        .filter(|d| (1..=60).contains(d))
        .ok_or_else(|| AppError::Invalid("Enter a number of days from 1 to 60.".into()))?;
    let target = format!("org:{org_id}");
    let detail = format!("{note} (+{days} days)");
    let new_end = crate::store::subscriptions::extend_trial(
        &state.db,
        &org_id,
        days,
        &crate::store::audit::AuditEntry {
            action: "extend_trial",
            target: &target,
            org_id: Some(&org_id),
            reason_code: Some(reason),
            note: &detail,
            ..by_staff(&staff)
        },
        state.now(),
    )
    .await?
    .ok_or_else(|| AppError::Invalid("This customer is not on a trial.".into()))?;
    Ok(format!(
        "The trial now ends on {}.",
        crate::ui::portal::format_date(new_end)
    ))
}

/// Opens the customer portal as the organisation's owner sees it, read-only, in this browser
/// (replacing any customer sign-in it had). The viewing is audited.
#[server(endpoint = "support/view-as")]
pub async fn view_as_customer(org_id: String) -> Result<(), AppError> {
    let state = crate::server::state()?;
    let staff = staff_with(&state, &READERS).await?;
    let owner = crate::store::console::owner_user(&state.db, &org_id)
        .await?
        .ok_or_else(|| AppError::NotFound("That customer's owner".into()))?;
    let target = format!("org:{org_id}");
    crate::store::audit::append(
        &state.db,
        &crate::store::audit::AuditEntry {
            action: "view_as_customer",
            target: &target,
            org_id: Some(&org_id),
            note: "opened the portal read-only",
            ..by_staff(&staff)
        },
        state.now(),
    )
    .await?;
    crate::server::auth::start_view_session(&state, &owner, &org_id, &staff.email).await?;
    leptos_axum::redirect("/billing");
    Ok(())
}
