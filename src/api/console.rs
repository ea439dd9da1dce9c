//! The support console's server functions: search, a customer's page and timeline, approvals,
//! the audit log and the actions on money (refunds, credit, voids, retries; see
//! `services::console`). Every function checks the staff member's role before anything else.

#[cfg(feature = "ssr")]
use super::staff_actions::act;
use super::AppError;
#[cfg(feature = "ssr")]
use crate::domain::access::StaffRole;
#[cfg(feature = "ssr")]
use crate::domain::ids::OrgId;
#[cfg(feature = "ssr")]
use crate::services::console::{by_staff, staff_with, READERS};
#[cfg(feature = "ssr")]
use crate::wire::console::{kind_label, AuditView, UsageEventView, AUDIT_PAGE_ROWS};
use crate::wire::console::{ApprovalView, AuditPageView, CustomerView, SearchHit, UsageDrillDown};
use leptos::prelude::*;

#[server(endpoint = "support/search", output = crate::error::JsonAnswer)]
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
        .map(|r| SearchHit {
            org_id: r.org_id,
            org_name: r.org_name,
            matched: r.matched,
        })
        .collect())
}

/// The customer a console page's address names; text that is no organisation's id names none.
#[cfg(feature = "ssr")]
fn customer_id(text: &str) -> Result<OrgId, AppError> {
    OrgId::parse(text).map_err(|_| AppError::NotFound("That customer".into()))
}

#[server(endpoint = "support/customer", output = crate::error::JsonAnswer)]
pub async fn load_customer(org_id: String) -> Result<CustomerView, AppError> {
    let state = crate::server::state()?;
    let staff = staff_with(&state, &READERS).await?;
    let org_id = customer_id(&org_id)?;
    crate::services::console::customer::page(&state, &staff, org_id).await
}

/// Refunds part or all of a paid invoice to the card it was paid with: a credit note records it,
/// Stripe moves the money (keyed by the form's token, so a repeated submission is one refund),
/// and the audit log records who, why and how much. Billing admins only; confirmed first (see
/// [`super::staff_actions`]).
#[server(endpoint = "support/refund", output = crate::error::JsonAnswer)]
pub async fn refund_invoice(
    invoice_id: String,
    amount: String,
    reason_code: String,
    note: String,
    token: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = crate::services::console::RefundForm {
        invoice_id,
        amount,
        reason_code,
        note,
        token,
    };
    act(&state, form.trimmed().action(), confirm).await
}

#[server(endpoint = "support/approvals", output = crate::error::JsonAnswer)]
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
#[server(endpoint = "support/approvals/decide", output = crate::error::JsonAnswer)]
pub async fn decide_approval(id: String, decision: String) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let staff = staff_with(&state, &[StaffRole::Approver]).await?;
    crate::services::console::approvals::decide(&state, &staff, &id, &decision).await
}

#[server(endpoint = "support/audit", output = crate::error::JsonAnswer)]
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

/// Adds account credit, which the organisation's next invoices use first. Billing admins; above
/// the approval threshold it becomes a request that an approver decides, like a refund.
#[server(endpoint = "support/credit", output = crate::error::JsonAnswer)]
pub async fn credit_account(
    org_id: String,
    amount: String,
    reason_code: String,
    note: String,
    token: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = crate::services::console::CreditForm {
        org_id,
        amount,
        reason_code,
        note,
        token,
    };
    act(&state, form.trimmed().action(), confirm).await
}

/// Voids an open invoice or marks it uncollectible (`action` = `void` | `uncollectible`).
/// Billing admins.
#[server(endpoint = "support/invoice/close", output = crate::error::JsonAnswer)]
pub async fn close_invoice(
    invoice_id: String,
    action: String,
    reason_code: String,
    note: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = crate::services::console::CloseForm {
        invoice_id,
        action,
        reason_code,
        note,
    };
    act(&state, form.trimmed().action(), confirm).await
}

/// Charges an open invoice now (agents and billing admins).
#[server(endpoint = "support/invoice/retry", output = crate::error::JsonAnswer)]
pub async fn retry_payment(
    invoice_id: String,
    reason_code: String,
    note: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = crate::services::console::RetryForm {
        invoice_id,
        reason_code,
        note,
    };
    act(&state, form.trimmed().action(), confirm).await
}

/// Moves a trial's end later by 1 to 60 days (agents and billing admins).
#[server(endpoint = "support/trial/extend", output = crate::error::JsonAnswer)]
pub async fn extend_trial(
    org_id: String,
    days: String,
    reason_code: String,
    note: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let form = crate::services::console::ExtendTrialForm {
        org_id,
        days,
        reason_code,
        note,
    };
    act(&state, form.trimmed().action(), confirm).await
}

/// Opens the customer portal as the organisation's owner sees it, read-only, in this browser
/// (replacing any customer sign-in it had). The viewing is audited.
#[server(endpoint = "support/view-as", output = crate::error::JsonAnswer)]
pub async fn view_as_customer(org_id: String) -> Result<(), AppError> {
    let state = crate::server::state()?;
    let staff = staff_with(&state, &READERS).await?;
    let org_id = customer_id(&org_id)?;
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

#[server(endpoint = "support/usage", output = crate::error::JsonAnswer)]
pub async fn load_usage_events(
    org_id: String,
    #[server(default)] meter: String,
    #[server(default)] from: String,
    #[server(default)] until: String,
) -> Result<UsageDrillDown, AppError> {
    let state = crate::server::state()?;
    staff_with(&state, &READERS).await?;
    let org_id = customer_id(&org_id)?;
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
        meters: meters
            .into_iter()
            .map(|m| crate::wire::console::Choice {
                id: m.id,
                label: m.name,
            })
            .collect(),
    })
}

/// The catalog page: the published catalog, its revisions and the draft (catalog admins and
/// billing admins).
#[server(endpoint = "support/catalog", output = crate::error::JsonAnswer)]
pub async fn load_catalog_console() -> Result<crate::wire::console::CatalogConsoleView, AppError> {
    let state = crate::server::state()?;
    let staff = staff_with(&state, &crate::services::catalog::CATALOG_READERS).await?;
    crate::services::catalog::console_view(&state, &staff)
        .await
        .map_err(catalog_error)
}

/// Saves the catalog draft (catalog admins).
#[server(endpoint = "support/catalog/draft", output = crate::error::JsonAnswer)]
pub async fn save_catalog_draft(body: String) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let staff = staff_with(&state, &[StaffRole::CatalogAdmin]).await?;
    let message = crate::services::catalog::save_draft(&state, &staff, &body)
        .await
        .map_err(catalog_error)?;
    crate::server::notice::redirect_back_with(&message);
    Ok(message)
}

/// Publishes the draft the page showed (catalog admins).
#[server(endpoint = "support/catalog/publish", output = crate::error::JsonAnswer)]
pub async fn publish_catalog_draft(revision: String, digest: String) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let staff = staff_with(&state, &[StaffRole::CatalogAdmin]).await?;
    let revision: i64 = revision
        .trim()
        .parse()
        .map_err(|_| AppError::Invalid("The form is out of date; reload the page.".into()))?;
    let message = crate::services::catalog::publish_draft(&state, &staff, revision, &digest)
        .await
        .map_err(catalog_error)?;
    crate::server::notice::redirect_back_with(&message);
    Ok(message)
}

/// Empties the draft (catalog admins).
#[server(endpoint = "support/catalog/discard", output = crate::error::JsonAnswer)]
pub async fn discard_catalog_draft() -> Result<String, AppError> {
    let state = crate::server::state()?;
    let staff = staff_with(&state, &[StaffRole::CatalogAdmin]).await?;
    let message = crate::services::catalog::discard_draft(&state, &staff)
        .await
        .map_err(catalog_error)?;
    crate::server::notice::redirect_back_with(&message);
    Ok(message)
}

#[cfg(feature = "ssr")]
fn catalog_error(e: crate::services::catalog::CatalogError) -> AppError {
    use crate::services::catalog::CatalogError;
    use crate::store::catalog::PublishError;
    match e {
        CatalogError::Unreadable(message) => AppError::Invalid(capitalized(&message)),
        CatalogError::Invalid(problems) => AppError::Invalid(format!(
            "The draft has {} problem(s), listed below; nothing was published.",
            problems.len()
        )),
        CatalogError::Publish(PublishError::Conflict { .. }) => {
            AppError::Conflict(capitalized(&e.to_string()))
        }
        CatalogError::Publish(PublishError::Refused(message)) => {
            AppError::Invalid(capitalized(&message))
        }
        other => AppError::internal(other),
    }
}

#[cfg(feature = "ssr")]
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.extend(chars);
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// What moving `from`'s subscribers to `to` would do (catalog readers).
#[server(endpoint = "support/catalog/migration/preview", output = crate::error::JsonAnswer)]
pub async fn preview_price_migration(
    from: String,
    to: String,
    #[server(default)] min_seats: String,
    #[server(default)] max_seats: String,
    #[server(default)] customers: String,
) -> Result<crate::wire::console::MigrationPreview, AppError> {
    let state = crate::server::state()?;
    staff_with(&state, &crate::services::catalog::CATALOG_READERS).await?;
    let cohort = crate::domain::cohort::Cohort::parse(&min_seats, &max_seats, &customers)
        .map_err(AppError::Invalid)?;
    crate::services::price_migration::preview(&state, &from, &to, &cohort).await
}

/// Asks for a price migration, at the next renewal (or the first one from a date), or on a date
/// with the rest of the period prorated (catalog admins).
#[server(endpoint = "support/catalog/migration", output = crate::error::JsonAnswer)]
pub async fn request_price_migration(
    from: String,
    to: String,
    #[server(default)] when: String,
    #[server(default)] not_before: String,
    #[server(default)] min_seats: String,
    #[server(default)] max_seats: String,
    #[server(default)] customers: String,
) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let staff = staff_with(&state, &[StaffRole::CatalogAdmin]).await?;
    let cohort = crate::domain::cohort::Cohort::parse(&min_seats, &max_seats, &customers)
        .map_err(AppError::Invalid)?;
    let timing = crate::services::price_migration::Timing::parse(&when, &not_before, state.now())?;
    let message =
        crate::services::price_migration::request(&state, &staff, &from, &to, timing, &cohort)
            .await?;
    crate::server::notice::redirect_back_with(&message);
    Ok(message)
}

/// Approves or rejects a price migration (catalog admins and approvers, never its requester).
#[server(endpoint = "support/catalog/migration/decide", output = crate::error::JsonAnswer)]
pub async fn decide_price_migration(id: String, decision: String) -> Result<String, AppError> {
    let state = crate::server::state()?;
    let staff = staff_with(&state, &crate::services::price_migration::DECIDERS).await?;
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(AppError::Invalid("Choose approve or reject.".into())),
    };
    let message = crate::services::price_migration::decide(&state, &staff, &id, approve).await?;
    crate::server::notice::redirect_back_with(&message);
    Ok(message)
}
