//! The support console's server functions: search, a customer's page and timeline, refunds, and
//! the audit log. Every function checks the staff member's role before anything else.

#[cfg(feature = "ssr")]
use super::staff_actions::{
    acting_staff, approval_check, gate, reply, request_approval, ApprovalRequest, Effect, Form,
    Outcome, Step,
};
use super::AppError;
#[cfg(feature = "ssr")]
use crate::domain::access::StaffRole;
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
    pub status: crate::domain::InvoiceStatus,
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
    /// The live subscription's price and seats, for the plan change form.
    pub plan: Option<(String, i64)>,
    /// Every price a plan can change to (id, label).
    pub prices: Vec<(String, String)>,
    /// A fresh token for each action form: submitting the same form twice does the action once.
    pub form_token: String,
    /// A renewal that failed too often and waits for staff: how often, and its last error.
    pub renewal_problem: Option<String>,
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
pub(crate) async fn staff_with(
    state: &crate::server::AppState,
    allowed: &[StaffRole],
) -> Result<crate::wire::StaffSession, AppError> {
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
    let live = crate::store::subscriptions::live_for_org(db, &org_id).await?;
    let prices = crate::store::catalog::load(db)
        .await
        .map_err(AppError::internal)?
        .into_iter()
        .flat_map(|plan| plan.prices.into_iter().map(|p| (p.id, p.nickname)))
        .collect();
    Ok(CustomerView {
        plan: live.map(|s| (s.price_id, s.quantity)),
        prices,
        org_name: org.name,
        created_at: org.created_at,
        stripe_customer_id: org.stripe_customer_id,
        test_clock: org.test_clock,
        members: crate::store::console::members(db, &org_id).await?,
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
            .map(|(at, kind, text)| TimelineEntry { at, kind, text })
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
        org_id,
    })
}

/// Refunds part or all of a paid invoice to the card it was paid with: a credit note records it,
/// Stripe moves the money (keyed by the form's token, so a repeated submission is one refund),
/// and the audit log records who, why and how much. Billing admins only; confirmed first (see
/// [`super::staff_actions`]).
#[server(endpoint = "support/refund")]
pub async fn refund_invoice(
    invoice_id: String,
    amount: String,
    reason_code: String,
    note: String,
    token: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = Form::new("refund", [invoice_id, amount, reason_code, note, token]);
    let outcome = refund_step(&state, &form, Step::Act(confirm.as_deref())).await?;
    Ok(reply(&form, outcome))
}

#[cfg(feature = "ssr")]
pub(crate) async fn refund_step(
    state: &crate::server::AppState,
    form: &Form,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    use crate::domain::{Currency, Money};
    let staff = acting_staff(state, step, &[StaffRole::BillingAdmin]).await?;
    let reason_code = form.get("reason_code");
    let Some((_, reason_label)) = REFUND_REASONS.iter().find(|(code, _)| *code == reason_code)
    else {
        return Err(AppError::Invalid("Choose a reason for the refund.".into()));
    };
    let note = check_note(form.get("note"))?;
    let note = note.as_str();
    let token = form.get("token");
    if token.len() < 8 {
        return Err(AppError::Invalid(
            "Reload the page and submit the form again.".into(),
        ));
    }
    let target = crate::store::console::invoice_for_refund(&state.db, form.get("invoice_id"))
        .await?
        .ok_or_else(|| AppError::NotFound("That invoice".into()))?;
    let currency = Currency::parse(&target.currency).map_err(AppError::internal)?;
    let amount = Money::parse(form.get("amount"), currency).map_err(|_| {
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
    if let Some(ask) = gate(&staff, form, effect, step) {
        return Ok(ask);
    }
    if check.needed {
        let summary = format!("A refund of {amount} on invoice {}", target.number);
        return request_approval(
            state,
            &staff,
            form,
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalView {
    pub id: String,
    /// What is asked, e.g. "Refund".
    pub kind: String,
    pub org_id: String,
    pub amount: String,
    pub reason: String,
    pub note: String,
    pub requested_by: String,
    pub status: crate::domain::ApprovalStatus,
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
            kind: kind_label(&a.kind).into(),
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

/// An approver approves or rejects a pending request; nobody decides their own. Approving
/// claims the request, then carries out the action exactly as it was asked (its form, as its
/// requester, with every check run again); if it can no longer be done, the request is pending
/// again and the approver is told why.
#[server(endpoint = "support/approvals/decide")]
pub async fn decide_approval(id: String, decision: String) -> Result<String, AppError> {
    use crate::domain::{Currency, Money};
    let state = crate::server::state()?;
    let staff = staff_with(&state, &[StaffRole::Approver]).await?;
    let request = crate::store::approvals::find(&state.db, id.trim())
        .await?
        .ok_or_else(|| AppError::NotFound("That request".into()))?;
    if request.requested_by == staff.email {
        return Err(AppError::Invalid(
            "You asked for this; another approver must decide it.".into(),
        ));
    }
    if request.status != crate::domain::ApprovalStatus::Pending {
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
    if approve && request.payload.is_empty() {
        return Err(AppError::Conflict(
            "This request was made before approvals kept the action's form: reject it and ask for it again."
                .into(),
        ));
    }
    let target_name = format!("approval:{}", request.id);
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
    if !approve {
        return Ok(format!(
            "Rejected: the {} of {amount} will not happen.",
            kind_label(&request.kind).to_lowercase()
        ));
    }
    let requester = crate::wire::StaffSession {
        email: request.requested_by.clone(),
        name: request.requested_by.clone(),
        role: StaffRole::BillingAdmin,
    };
    let form = Form::from_query(&request.payload)?;
    let step = Step::Approved(&requester);
    let carried = match form.action {
        "refund" => refund_step(&state, &form, step).await,
        "credit" => credit_step(&state, &form, step).await,
        "close" => close_step(&state, &form, step).await,
        "reduce_invoice" => super::staff_actions::reduce_invoice_step(&state, &form, step).await,
        "change_plan" => super::staff_actions::change_plan_step(&state, &form, step).await,
        other => Err(AppError::Invalid(format!(
            "A {other} request cannot be approved."
        ))),
    };
    match carried {
        Ok(Outcome::Done { message, .. }) => Ok(format!("Approved: {message}")),
        Ok(Outcome::Confirm { .. }) => Err(AppError::internal(
            "an approved action asked for confirmation",
        )),
        Err(e) => {
            let note = format!("could not be carried out: {e}");
            let action = format!("{}_approval_failed", request.kind);
            crate::store::approvals::reopen(
                &state.db,
                &request.id,
                &crate::store::audit::AuditEntry {
                    action: &action,
                    target: &target_name,
                    org_id: Some(&request.org_id),
                    note: &note,
                    ..by_staff(&staff)
                },
                state.now(),
            )
            .await?;
            Err(AppError::Conflict(format!(
                "Approved, but it could not be carried out: {e} The request is pending again; reject it if it no longer applies."
            )))
        }
    }
}

/// What an approval request asks for, in words.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "refund" => "Refund",
        "credit" => "Account credit",
        "credit_note" => "Credit note",
        "void" => "Void",
        "uncollectible" => "Write-off",
        "plan_change" => "Plan change credit",
        _ => "Request",
    }
}

/// The audit entry's actor fields for a staff member; the rest is filled in per action.
#[cfg(feature = "ssr")]
pub(crate) fn by_staff(staff: &crate::wire::StaffSession) -> crate::store::audit::AuditEntry<'_> {
    crate::store::audit::AuditEntry {
        actor: &staff.email,
        actor_role: staff.role.as_str(),
        ..Default::default()
    }
}

/// `text` with its first letter in lower case ("Void invoice" → "void invoice").
#[cfg(feature = "ssr")]
pub(crate) fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(feature = "ssr")]
pub(crate) fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The audit page: entries matching the filter (newest first, at most 500) and the action names
/// to filter by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPageView {
    pub rows: Vec<AuditView>,
    pub actions: Vec<String>,
    /// More entries match than are shown; the CSV export has them all.
    pub truncated: bool,
    /// The last checkpoint, in words: which entry it anchored, its hash, when and by whom.
    pub checkpoint: Option<String>,
}

/// The most entries the page shows; the CSV export is not limited.
pub const AUDIT_PAGE_ROWS: usize = 500;

#[server(endpoint = "support/audit")]
pub async fn load_audit_log(
    #[server(default)] org_id: String,
    #[server(default)] actor: String,
    #[server(default)] action: String,
    #[server(default)] from: String,
    #[server(default)] until: String,
) -> Result<AuditPageView, AppError> {
    let state = crate::server::state()?;
    staff_with(&state, &READERS).await?;
    let (from, until) = audit_dates(&from, &until)?;
    let filter = crate::store::audit::AuditFilter {
        org_id: org_id.trim(),
        actor: actor.trim(),
        action: action.trim(),
        from,
        until,
    };
    let mut rows =
        crate::store::audit::search(&state.db, &filter, AUDIT_PAGE_ROWS as i64 + 1).await?;
    let truncated = rows.len() > AUDIT_PAGE_ROWS;
    rows.truncate(AUDIT_PAGE_ROWS);
    let checkpoint = crate::store::audit::last_checkpoint(&state.db)
        .await?
        .map(|c| {
            let at = chrono::DateTime::from_timestamp(c.created_at, 0)
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default();
            format!(
                "Last checkpoint: entry {} (hash {}…), taken {at} by {}.",
                c.head_seq,
                &c.head_hash[..c.head_hash.len().min(16)],
                c.created_by
            )
        });
    Ok(AuditPageView {
        rows: rows.into_iter().map(audit_view).collect(),
        actions: crate::store::audit::actions(&state.db).await?,
        truncated,
        checkpoint,
    })
}

/// A filter's dates (`YYYY-MM-DD`, both inclusive, UTC) as unix seconds `[from, until)`.
#[cfg(feature = "ssr")]
pub(crate) fn audit_dates(from: &str, until: &str) -> Result<(Option<i64>, Option<i64>), AppError> {
    let day = |text: &str| -> Result<Option<i64>, AppError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(|d| Some(d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()))
            .map_err(|_| AppError::Invalid(format!("{text:?} is not a date: use YYYY-MM-DD.")))
    };
    let (from, until) = (day(from)?, day(until)?.map(|t| t + 86_400));
    if let (Some(f), Some(u)) = (from, until) {
        if u <= f {
            return Err(AppError::Invalid(
                "The end date is before the start date.".into(),
            ));
        }
    }
    Ok((from, until))
}

#[cfg(feature = "ssr")]
fn audit_view(r: crate::store::audit::AuditRow) -> AuditView {
    AuditView {
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
    }
}

/// Reasons for the other staff actions (code, label).
pub const ACTION_REASONS: [(&str, &str); 5] = [
    ("customer_request", "Customer request"),
    ("service_issue", "Service problem or outage"),
    ("billing_error", "Billing error"),
    ("goodwill", "Goodwill gesture"),
    ("payment_issue", "Payment problem"),
];

/// The longest note a console action takes.
pub const NOTE_MAX: usize = 2_000;

/// A staff action's note: what happened and what the customer was told; multi-line, no control
/// or text-direction characters.
#[cfg(feature = "ssr")]
pub(crate) fn check_note(note: &str) -> Result<String, AppError> {
    if note.trim().is_empty() {
        return Err(AppError::Invalid(
            "Write a note: what happened and what the customer was told.".into(),
        ));
    }
    crate::domain::access::check_text(
        "The note",
        note,
        NOTE_MAX,
        crate::domain::text::Lines::Many,
        true,
    )
}

/// A checked reason and note, and the audit entry's shared fields.
#[cfg(feature = "ssr")]
pub(crate) fn reason_and_note<'a>(
    reason_code: &'a str,
    note: &str,
) -> Result<(&'a str, String), AppError> {
    let reason = reason_code.trim();
    if !ACTION_REASONS.iter().any(|(code, _)| *code == reason) {
        return Err(AppError::Invalid("Choose a reason.".into()));
    }
    Ok((reason, check_note(note)?))
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
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = Form::new("credit", [org_id, amount, reason_code, note, token]);
    let outcome = credit_step(&state, &form, Step::Act(confirm.as_deref())).await?;
    Ok(reply(&form, outcome))
}

#[cfg(feature = "ssr")]
pub(crate) async fn credit_step(
    state: &crate::server::AppState,
    form: &Form,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    use crate::domain::{Currency, Money};
    let staff = acting_staff(state, step, &[StaffRole::BillingAdmin]).await?;
    let (reason, note) = reason_and_note(form.get("reason_code"), form.get("note"))?;
    let note = note.as_str();
    let org_id = form.get("org_id");
    let token = form.get("token");
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
    let amount = Money::parse(form.get("amount"), currency)
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
            org_id: org_id.to_string(),
            message: "Already done.".into(),
        });
    }
    let check = approval_check(state, &staff, step, org_id, amount).await?;
    let balance = crate::store::credits::balance(&state.db, org_id, currency).await?;
    let after = Money::from_minor(balance.minor_units() + amount.minor_units(), currency);
    let effect = Effect {
        org_id: org_id.to_string(),
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
    if let Some(ask) = gate(&staff, form, effect, step) {
        return Ok(ask);
    }
    let target = format!("org:{org_id}");
    let request = format!("form:{token}");
    if check.needed {
        let summary = format!("A credit of {amount} for {}", org.name);
        return request_approval(
            state,
            &staff,
            form,
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
        org_id: org_id.to_string(),
        message: format!("Added {amount} of account credit to {}.", org.name),
    })
}

/// Voids an open invoice or marks it uncollectible (`action` = `void` | `uncollectible`).
/// Billing admins.
#[server(endpoint = "support/invoice/close")]
pub async fn close_invoice(
    invoice_id: String,
    action: String,
    reason_code: String,
    note: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = Form::new("close", [invoice_id, action, reason_code, note]);
    let outcome = close_step(&state, &form, Step::Act(confirm.as_deref())).await?;
    Ok(reply(&form, outcome))
}

#[cfg(feature = "ssr")]
pub(crate) async fn close_step(
    state: &crate::server::AppState,
    form: &Form,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    use crate::domain::Money;
    let staff = acting_staff(state, step, &[StaffRole::BillingAdmin]).await?;
    let (reason, note) = reason_and_note(form.get("reason_code"), form.get("note"))?;
    let note = note.as_str();
    let status = match form.get("action") {
        "void" => crate::domain::InvoiceStatus::Void,
        "uncollectible" => crate::domain::InvoiceStatus::Uncollectible,
        _ => return Err(AppError::Invalid("Choose void or uncollectible.".into())),
    };
    let (org_id, invoice) =
        super::staff_actions::any_invoice(state, form.get("invoice_id")).await?;
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
            format!("Ask an approver to {}", super::console::lower_first(&what))
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
    if let Some(ask) = gate(&staff, form, effect, step) {
        return Ok(ask);
    }
    if check.needed {
        let key = format!("{status}:{}", invoice.id);
        return request_approval(
            state,
            &staff,
            form,
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

/// Charges an open invoice now (agents and billing admins).
#[server(endpoint = "support/invoice/retry")]
pub async fn retry_payment(
    invoice_id: String,
    reason_code: String,
    note: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = Form::new("retry", [invoice_id, reason_code, note]);
    let outcome = retry_step(&state, &form, Step::Act(confirm.as_deref())).await?;
    Ok(reply(&form, outcome))
}

#[cfg(feature = "ssr")]
pub(crate) async fn retry_step(
    state: &crate::server::AppState,
    form: &Form,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    use crate::domain::Money;
    let staff = acting_staff(state, step, &[StaffRole::Agent, StaffRole::BillingAdmin]).await?;
    let (reason, note) = reason_and_note(form.get("reason_code"), form.get("note"))?;
    let note = note.as_str();
    let (org_id, invoice) =
        super::staff_actions::any_invoice(state, form.get("invoice_id")).await?;
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
    if let Some(ask) = gate(&staff, form, effect, step) {
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

/// Moves a trial's end later by 1 to 60 days (agents and billing admins).
#[server(endpoint = "support/trial/extend")]
pub async fn extend_trial(
    org_id: String,
    days: String,
    reason_code: String,
    note: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = Form::new("extend_trial", [org_id, days, reason_code, note]);
    let outcome = extend_trial_step(&state, &form, Step::Act(confirm.as_deref())).await?;
    Ok(reply(&form, outcome))
}

#[cfg(feature = "ssr")]
pub(crate) async fn extend_trial_step(
    state: &crate::server::AppState,
    form: &Form,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    use crate::domain::period::format_date;
    let staff = acting_staff(state, step, &[StaffRole::Agent, StaffRole::BillingAdmin]).await?;
    let (reason, note) = reason_and_note(form.get("reason_code"), form.get("note"))?;
    let note = note.as_str();
    let org_id = form.get("org_id");
    let days: i64 = form
        .get("days")
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
        org_id: org_id.to_string(),
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
    if let Some(ask) = gate(&staff, form, effect, step) {
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
        org_id: org_id.to_string(),
        message: format!("The trial now ends on {}.", format_date(new_end)),
    })
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
    crate::server::auth::start_view_session(
        &state,
        &owner,
        &org_id,
        &staff.email,
        &crate::store::audit::AuditEntry {
            action: "view_as_customer",
            target: &target,
            org_id: Some(&org_id),
            note: "opened the portal read-only",
            ..by_staff(&staff)
        },
    )
    .await?;
    leptos_axum::redirect("/billing");
    Ok(())
}

/// One usage event as the console lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEventView {
    pub id: String,
    pub quantity: i64,
    pub at: i64,
    /// The event's properties as JSON.
    pub properties: String,
}

/// The events behind a meter's figure for a customer over `[from, until)` (unix seconds; both
/// empty: the current period), with the meter's value over the same range: the drill-down behind
/// a usage line on an invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageDrillDown {
    pub org_id: String,
    pub org_name: String,
    pub meter: String,
    pub meter_name: String,
    /// How the meter counts, in words.
    pub counts: String,
    pub unit_label: String,
    pub from: i64,
    pub until: i64,
    pub total: i64,
    /// The first 1,000 events, oldest first.
    pub events: Vec<UsageEventView>,
    /// Every meter (id, name), to switch between them.
    pub meters: Vec<(String, String)>,
}

#[server(endpoint = "support/usage")]
pub async fn load_usage_events(
    org_id: String,
    #[server(default)] meter: String,
    #[server(default)] from: String,
    #[server(default)] until: String,
) -> Result<UsageDrillDown, AppError> {
    let state = crate::server::state()?;
    staff_with(&state, &READERS).await?;
    let org = crate::store::console::organization(&state.db, &org_id)
        .await?
        .ok_or_else(|| AppError::NotFound("That customer".into()))?;
    let meters = crate::store::usage::meters(&state.db).await?;
    let chosen = meters
        .iter()
        .find(|m| m.id == meter.trim())
        .or_else(|| meters.first())
        .cloned()
        .ok_or_else(|| AppError::NotFound("A meter".into()))?;
    let summary = crate::services::usage::summary(&state, &org_id)
        .await
        .map_err(AppError::internal)?;
    let bound = |text: &str, default: i64| -> Result<i64, AppError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(default);
        }
        text.parse()
            .map_err(|_| AppError::Invalid(format!("{text:?} is not a time in unix seconds.")))
    };
    let (from, until) = (
        bound(&from, summary.period_start)?,
        bound(&until, summary.period_end)?,
    );
    let total = crate::store::usage::meter_total(&state.db, &org_id, &chosen, from, until).await?;
    let events = crate::store::usage::meter_events(&state.db, &org_id, &chosen, from, until, 1_000)
        .await?
        .into_iter()
        .map(|(id, e)| UsageEventView {
            id,
            quantity: e.quantity,
            at: e.occurred_at,
            properties: serde_json::Value::Object(e.properties).to_string(),
        })
        .collect();
    Ok(UsageDrillDown {
        org_name: org.name,
        org_id,
        meter: chosen.id.clone(),
        meter_name: chosen.name.clone(),
        counts: chosen.describe(),
        unit_label: chosen.unit_label.clone(),
        from,
        until,
        total,
        events,
        meters: meters.into_iter().map(|m| (m.id, m.name)).collect(),
    })
}
