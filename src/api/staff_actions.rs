//! The confirmation page of a console action, and the server functions of the actions that act
//! through the customer's own engine: a plan or seat change on the customer's behalf, a credit
//! note that lowers what an open invoice owes, resending an invoice email, advancing the
//! organisation's test clock and retrying a stuck renewal.
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
use crate::wire::console::FormField;
use crate::wire::console::{AttentionItem, ConfirmView};
use leptos::prelude::*;

/// Sends the browser on: to the confirmation page, or back to the customer with what was done.
/// Returns the message for callers that do not follow redirects.
#[cfg(feature = "ssr")]
pub(crate) fn reply(
    action: &crate::services::console::StaffAction,
    outcome: crate::services::console::Outcome,
) -> String {
    use crate::services::console::Outcome;
    match outcome {
        Outcome::Confirm { effect, .. } => {
            leptos_axum::redirect(&format!("/support/confirm?{}", action.query()));
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

/// Submits a console action: confirmed with `confirm` (the key of the effect shown), it is done;
/// otherwise the browser is sent to its confirmation.
#[cfg(feature = "ssr")]
pub(crate) async fn act(
    state: &crate::server::AppState,
    action: crate::services::console::StaffAction,
    confirm: Option<String>,
) -> Result<String, AppError> {
    use crate::services::console::{self, Step};
    let outcome = console::run(state, &action, Step::Act(confirm.as_deref())).await?;
    Ok(reply(&action, outcome))
}

/// The confirmation page's content: the action named by `query` worked out now, without doing it.
#[server(endpoint = "support/confirm", output = crate::error::JsonAnswer)]
pub async fn preview_staff_action(query: String) -> Result<ConfirmView, AppError> {
    use crate::services::console::{self, Outcome, StaffAction, Step};
    let state = crate::server::state()?;
    let action = StaffAction::from_query(&query)?;
    let outcome = console::run(&state, &action, Step::Preview).await?;
    let fields = action
        .fields()
        .into_iter()
        .map(|(name, value)| FormField {
            name: name.to_string(),
            value: value.to_string(),
        })
        .collect();
    Ok(match outcome {
        Outcome::Confirm { effect, key } => ConfirmView {
            action: action.name().to_string(),
            org_id: effect.org_id,
            title: effect.title,
            lines: effect.lines,
            detail: effect.detail,
            fields,
            key,
            done: None,
        },
        Outcome::Done { org_id, message } => ConfirmView {
            action: action.name().to_string(),
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
#[server(endpoint = "support/plan/change", output = crate::error::JsonAnswer)]
pub async fn change_plan_for_customer(
    org_id: String,
    price_id: String,
    seats: String,
    reason_code: String,
    note: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = crate::services::console::ChangePlanForm {
        org_id,
        price_id,
        seats,
        reason_code,
        note,
    };
    act(&state, form.trimmed().action(), confirm).await
}

/// Issues a credit note that lowers what an open invoice still owes. Billing admins; the form's
/// one-time key makes a repeated submission one credit note.
#[server(endpoint = "support/invoice/reduce", output = crate::error::JsonAnswer)]
pub async fn reduce_invoice(
    invoice_id: String,
    amount: String,
    reason_code: String,
    note: String,
    token: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = crate::services::console::ReduceInvoiceForm {
        invoice_id,
        amount,
        reason_code,
        note,
        token,
    };
    act(&state, form.trimmed().action(), confirm).await
}

/// Emails the invoice again to the organisation's billing contact, with a link to it (agents and
/// billing admins).
#[server(endpoint = "support/invoice/resend", output = crate::error::JsonAnswer)]
pub async fn resend_invoice(
    invoice_id: String,
    reason_code: String,
    note: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = crate::services::console::ResendInvoiceForm {
        invoice_id,
        reason_code,
        note,
    };
    act(&state, form.trimmed().action(), confirm).await
}

/// Moves the organisation's test clock forward by 1 to 400 days, running every renewal and
/// payment retry due on the way, in order. Billing admins.
#[server(endpoint = "support/test-clock/advance", output = crate::error::JsonAnswer)]
pub async fn advance_test_clock(
    org_id: String,
    days: String,
    reason_code: String,
    note: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = crate::services::console::AdvanceClockForm {
        org_id,
        days,
        reason_code,
        note,
    };
    act(&state, form.trimmed().action(), confirm).await
}

/// Lets the bill run try a renewal again that stopped after failing too often (its cause fixed).
/// Billing admins.
#[server(endpoint = "support/renewal/retry", output = crate::error::JsonAnswer)]
pub async fn retry_renewal(
    org_id: String,
    reason_code: String,
    note: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = crate::services::console::RetryRenewalForm {
        org_id,
        reason_code,
        note,
    };
    act(&state, form.trimmed().action(), confirm).await
}

/// Renewals that need staff: they failed too often in a row and are no longer retried.
#[server(endpoint = "support/attention", output = crate::error::JsonAnswer)]
pub async fn load_attention() -> Result<Vec<AttentionItem>, AppError> {
    use crate::domain::access::StaffRole;
    let state = crate::server::state()?;
    crate::services::console::staff_with(
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

pub use give::{give_contract, GiveContract};

/// The contract form has more fields than clippy's limit for one function's arguments; every one
/// is a field of the posted form, so they stay arguments.
mod give {
    #![allow(clippy::too_many_arguments)]
    #[cfg(feature = "ssr")]
    use super::act;
    use super::AppError;
    use leptos::prelude::*;

    /// Gives the organisation its own price for a plan: a negotiated price per seat (or for a flat
    /// price, per period), an optional minimum per renewal invoice and an optional end date.
    /// Billing admins.
    #[server(endpoint = "support/contract/give", output = crate::error::JsonAnswer)]
    pub async fn give_contract(
        org_id: String,
        price_id: String,
        amount: String,
        minimum: String,
        ends_on: String,
        reason_code: String,
        note: String,
        confirm: Option<String>,
    ) -> Result<String, AppError> {
        let state = crate::server::state()?;
        let form = crate::services::console::GiveContractForm {
            org_id,
            price_id,
            amount,
            minimum,
            ends_on,
            reason_code,
            note,
        };
        act(&state, form.trimmed().action(), confirm).await
    }
}

/// Ends the organisation's contract now: it renews on the list price. Billing admins.
#[server(endpoint = "support/contract/end", output = crate::error::JsonAnswer)]
pub async fn end_contract(
    org_id: String,
    reason_code: String,
    note: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = crate::services::console::EndContractForm {
        org_id,
        reason_code,
        note,
    };
    act(&state, form.trimmed().action(), confirm).await
}
