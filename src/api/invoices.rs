//! Invoice history, one invoice with every line explained, and paying an open invoice.

use super::AppError;
use crate::domain::ids::InvoiceId;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One row of the invoice history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceListItem {
    pub id: InvoiceId,
    pub number: String,
    /// `draft`, `open`, `paid`, `void` or `uncollectible`.
    pub status: crate::domain::InvoiceStatus,
    pub created_at: i64,
    /// Formatted, e.g. "$60.00".
    pub total: String,
    pub amount_due: String,
    pub payable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceList {
    pub org_name: String,
    pub invoices: Vec<InvoiceListItem>,
    /// Account credit that later invoices use first, formatted; `None` when there is none.
    pub credit_balance: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLineView {
    pub description: String,
    pub quantity: i64,
    pub amount: String,
    pub explanation: String,
}

/// One invoice as its page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceView {
    pub id: InvoiceId,
    pub number: String,
    pub status: crate::domain::InvoiceStatus,
    pub org_name: String,
    pub created_at: i64,
    pub period_start: i64,
    pub period_end: i64,
    pub lines: Vec<InvoiceLineView>,
    /// Label and amount rows: subtotal, discount, total, credit applied, paid, due.
    pub totals: Vec<crate::wire::TotalRow>,
    pub amount_due: String,
    /// Open (or uncollectible) with something left to pay, and the viewer may pay it.
    pub payable: bool,
    /// Why the last payment attempt failed and when the next one is, for an unpaid invoice.
    pub payment_note: Option<String>,
}

/// A status as a customer reads it.
pub fn status_label(status: crate::domain::InvoiceStatus) -> &'static str {
    use crate::domain::InvoiceStatus;
    match status {
        InvoiceStatus::Draft => "Draft",
        InvoiceStatus::Open => "Open",
        InvoiceStatus::Paid => "Paid",
        InvoiceStatus::Void => "Void",
        InvoiceStatus::Uncollectible => "Unpaid",
    }
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use super::*;
    use crate::domain::Money;
    use crate::store::invoices::{InvoiceLineRow, InvoiceRow};
    use crate::wire::TotalRow;

    pub fn payable(invoice: &InvoiceRow) -> bool {
        matches!(
            invoice.status,
            crate::domain::InvoiceStatus::Open | crate::domain::InvoiceStatus::Uncollectible
        ) && invoice.amount_due > 0
    }

    pub fn totals(invoice: &InvoiceRow) -> Vec<TotalRow> {
        let money = |minor: i64| Money::from_minor(minor, invoice.currency).to_string();
        let mut rows = vec![TotalRow::new("Subtotal", money(invoice.subtotal))];
        if invoice.discount != 0 {
            rows.push(TotalRow::new("Discount", money(-invoice.discount)));
        }
        rows.push(TotalRow::new("Total", money(invoice.total)));
        if invoice.credit_applied != 0 {
            rows.push(TotalRow::new(
                "Account credit applied",
                money(-invoice.credit_applied),
            ));
        }
        if invoice.amount_paid != 0 {
            rows.push(TotalRow::new("Paid", money(-invoice.amount_paid)));
        }
        let due = if invoice.status == crate::domain::InvoiceStatus::Paid
            || invoice.status == crate::domain::InvoiceStatus::Void
        {
            0
        } else {
            invoice.amount_due
        };
        rows.push(TotalRow::new("Amount due", money(due)));
        rows
    }

    pub fn view(org_name: String, invoice: InvoiceRow, lines: Vec<InvoiceLineRow>) -> InvoiceView {
        let money = |minor: i64| Money::from_minor(minor, invoice.currency).to_string();
        use crate::domain::InvoiceStatus;
        let payment_note = match (invoice.status, &invoice.last_payment_error) {
            (InvoiceStatus::Open, Some(error)) => Some(match invoice.next_attempt_at {
                Some(at) => format!(
                    "The last payment attempt failed: {error} We will try again on {}.",
                    crate::domain::period::format_date(at)
                ),
                None => format!("The last payment attempt failed: {error}"),
            }),
            (InvoiceStatus::Uncollectible, Some(error)) => Some(format!(
                "Every payment attempt failed (last: {error}). Pay now to settle it."
            )),
            _ => None,
        };
        InvoiceView {
            id: invoice.id.clone(),
            number: invoice.number.clone(),
            status: invoice.status,
            org_name,
            created_at: invoice.created_at,
            period_start: invoice.period_start,
            period_end: invoice.period_end,
            lines: lines
                .into_iter()
                .map(|l| InvoiceLineView {
                    description: l.description,
                    quantity: l.quantity,
                    amount: money(l.amount),
                    explanation: l.explanation,
                })
                .collect(),
            totals: totals(&invoice),
            amount_due: money(invoice.amount_due),
            payable: payable(&invoice),
            payment_note,
        }
    }
}

#[server(endpoint = "billing/invoices", output = crate::error::JsonAnswer)]
pub async fn load_invoices() -> Result<InvoiceList, AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    let rows = crate::store::invoices::list_for_org(&state.db, &customer.org_id).await?;
    let currency = rows
        .first()
        .map(|r| r.currency)
        .unwrap_or(crate::domain::Currency::USD);
    let credit = crate::store::credits::balance(&state.db, &customer.org_id, currency).await?;
    let invoices = rows
        .into_iter()
        .map(|r| {
            let money =
                |minor: i64| crate::domain::Money::from_minor(minor, r.currency).to_string();
            InvoiceListItem {
                payable: server::payable(&r),
                id: r.id.clone(),
                number: r.number.clone(),
                status: r.status,
                created_at: r.created_at,
                total: money(r.total),
                amount_due: money(r.amount_due),
            }
        })
        .collect();
    Ok(InvoiceList {
        org_name: customer.org_name,
        invoices,
        credit_balance: (credit.minor_units() > 0).then(|| credit.to_string()),
    })
}

/// The invoice a page's address or form names; text that is no invoice's id names none.
#[cfg(feature = "ssr")]
fn invoice_id(text: &str) -> Result<InvoiceId, AppError> {
    InvoiceId::parse(text).map_err(|_| AppError::NotFound("That invoice".into()))
}

#[server(endpoint = "billing/invoice", output = crate::error::JsonAnswer)]
pub async fn load_invoice(id: String) -> Result<InvoiceView, AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    let id = invoice_id(&id)?;
    let (invoice, lines) = crate::store::invoices::find_for_org(&state.db, &customer.org_id, &id)
        .await?
        .ok_or_else(|| AppError::NotFound("That invoice".into()))?;
    let mut view = server::view(customer.org_name, invoice, lines);
    view.payable = view.payable && customer.role.can_manage_billing();
    Ok(view)
}

/// Sends the browser to a hosted payment page for what is left to pay on an open invoice. The
/// invoice is marked paid when Stripe reports the payment (webhook), never by the redirect.
#[server(endpoint = "billing/invoice/pay", output = crate::error::JsonAnswer)]
pub async fn pay_invoice(id: String) -> Result<(), AppError> {
    let state = crate::server::state()?;
    let customer = crate::server::auth::require_customer(&state).await?;
    if !customer.role.can_manage_billing() {
        return Err(AppError::Forbidden);
    }
    let id = invoice_id(&id)?;
    let (invoice, _) = crate::store::invoices::find_for_org(&state.db, &customer.org_id, &id)
        .await?
        .ok_or_else(|| AppError::NotFound("That invoice".into()))?;
    if !server::payable(&invoice) {
        return Err(AppError::Conflict(format!(
            "Invoice {} has nothing left to pay ({}).",
            invoice.number,
            status_label(invoice.status).to_lowercase()
        )));
    }
    let customer_id = crate::api::checkout::stripe_customer(&state, &customer).await?;
    let base = &state.config.public_base_url;
    let success_url = format!("{base}/billing/invoices/{}?paid=1", invoice.id);
    let cancel_url = format!("{base}/billing/invoices/{}", invoice.id);
    let metadata = std::collections::HashMap::from([
        ("org_id".to_string(), customer.org_id.to_string()),
        ("invoice_id".to_string(), invoice.id.to_string()),
    ]);
    let description = format!("Invoice {}", invoice.number);
    let session = state
        .payments
        .gateway
        .create_checkout(
            &crate::payments::gateway::CheckoutRequest {
                customer_id: &customer_id,
                currency: &invoice.currency.code().to_lowercase(),
                amount: invoice.amount_due,
                description: &description,
                success_url: &success_url,
                cancel_url: &cancel_url,
                metadata,
            },
            // One hosted page per invoice and attempt: clicking twice opens the same page.
            &format!("pay:{}:{}", invoice.id, invoice.attempt_count),
        )
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "could not start an invoice payment");
            AppError::Conflict(
                "Payments are unavailable right now. Nothing was charged; please try again in a minute.".into(),
            )
        })?;
    let target = format!("invoice:{}", invoice.id);
    crate::store::audit::append(
        &state.db,
        &crate::store::audit::AuditEntry {
            org_id: Some(&customer.org_id),
            amount: Some(invoice.amount_due),
            currency: Some(invoice.currency.code()),
            note: "Stripe's hosted page opened to pay the invoice",
            request_id: Some(&session.session_id),
            ..customer.actor().did("invoice_payment_started", &target)
        },
        state.now(),
    )
    .await?;
    leptos_axum::redirect(&session.url);
    Ok(())
}
