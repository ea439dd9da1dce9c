//! Requests that wait for a second staff member: approving one performs the stored action exactly,
//! once; rejecting it does nothing but record who decided.

use super::{by_staff, Outcome, StaffAction, Step};
use crate::domain::access::StaffRole;
use crate::domain::ids::ApprovalId;
use crate::error::AppError;
use crate::server::AppState;
use crate::wire::console::kind_label;
use crate::wire::StaffSession;

/// Approves or rejects request `id` as `staff` (an approver who did not ask for it).
pub async fn decide(
    state: &AppState,
    staff: &StaffSession,
    id: &str,
    decision: &str,
) -> Result<String, AppError> {
    use crate::domain::{Currency, Money};
    let id = ApprovalId::parse(id).map_err(|_| AppError::NotFound("That request".into()))?;
    let request = crate::store::approvals::find(&state.db, &id)
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
            ..by_staff(staff)
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
    let action = StaffAction::from_query(&request.payload)?;
    let carried = if action.can_be_approved() {
        super::run(state, &action, Step::Approved(&requester)).await
    } else {
        Err(AppError::Invalid(format!(
            "A {} request cannot be approved.",
            action.name()
        )))
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
                    ..by_staff(staff)
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
