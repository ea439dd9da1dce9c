//! Acting on Stripe events from the inbox. Fulfilment is driven by webhooks, never by the
//! browser's redirect: a checkout turns into a subscription only when Stripe says it was paid, and
//! the event is confirmed by reading the session back from Stripe rather than trusting its body.
//!
//! Processing is idempotent (a checkout completes once; see `store::checkouts::complete`) and
//! order-safe (an event about an already-complete checkout changes nothing), so duplicates,
//! retries and reordering are harmless.

use crate::domain::ids::{CheckoutId, InvoiceId, OrgId};
use std::collections::HashMap;

/// Why a Stripe event could not be fulfilled (it stays in the inbox and is tried again).
#[derive(Debug, thiserror::Error)]
pub enum FulfilmentError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Catalog(#[from] crate::store::catalog::CatalogError),
    #[error(transparent)]
    Gateway(#[from] crate::payments::gateway::GatewayError),
    #[error(transparent)]
    Period(#[from] crate::domain::PeriodError),
    #[error(transparent)]
    Invoice(#[from] crate::domain::InvoiceError),
    /// The event cannot be read.
    #[error("{0}")]
    BadEvent(String),
    /// What Stripe reports does not match what was recorded here; nothing is fulfilled.
    #[error("{0}")]
    Mismatch(String),
}

use crate::domain::{
    build_invoice, BillingPeriod, InvoiceDraft, Price, SubscriptionItem, SubscriptionSnapshot,
};
use crate::server::AppState;
use crate::store::checkouts::{self, CompletionOutcome};
use crate::store::events::{self, PendingEvent};

/// Processes every unprocessed event, oldest first. Returns how many were processed.
pub async fn process_pending(state: &AppState) -> usize {
    let pending = match events::pending(&state.db, 100).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the webhook inbox");
            return 0;
        }
    };
    let mut done = 0;
    for event in pending {
        match process(state, &event).await {
            Ok(()) => {
                if let Err(e) = events::mark_processed(&state.db, &event.id, state.now()).await {
                    tracing::warn!(event = %event.id, error = %e, "cannot mark event processed");
                } else {
                    done += 1;
                }
            }
            Err(problem) => {
                tracing::warn!(event = %event.id, kind = %event.kind, %problem, "event processing failed; it will be retried");
                let _ = events::mark_failed(&state.db, &event.id, &problem.to_string()).await;
            }
        }
    }
    done
}

async fn process(state: &AppState, event: &PendingEvent) -> Result<(), FulfilmentError> {
    let payload: serde_json::Value = serde_json::from_str(&event.payload)
        .map_err(|e| FulfilmentError::BadEvent(format!("stored payload is not JSON: {e}")))?;
    let object = &payload["data"]["object"];
    match event.kind.as_str() {
        "checkout.session.completed" => {
            let session_id = object["id"]
                .as_str()
                .ok_or_else(|| FulfilmentError::BadEvent("the session has no id".into()))?;
            if object["mode"].as_str() == Some("setup")
                && object["metadata"]["checkout_id"].is_string()
            {
                start_trial(state, session_id).await
            } else if object["mode"].as_str() == Some("setup") {
                card_saved(state, session_id).await
            } else if object["metadata"]["invoice_id"].is_string() {
                invoice_paid(state, session_id).await
            } else {
                complete_checkout(state, session_id).await
            }
        }
        // Recorded for the customer's timeline; nothing else to do yet.
        _ => Ok(()),
    }
}

/// Turns a paid checkout into an active subscription with its first paid invoice. Safe to call
/// any number of times for the same session.
pub async fn complete_checkout(state: &AppState, session_id: &str) -> Result<(), FulfilmentError> {
    let db = &state.db;
    let Some(checkout) = checkouts::find_by_session(db, session_id).await? else {
        tracing::info!(%session_id, "checkout.session.completed for a session this portal did not start");
        return Ok(());
    };
    if checkout.status != crate::domain::CheckoutStatus::Open {
        return Ok(());
    }
    let gateway = &state.payments.gateway;
    let session = gateway.checkout_session(session_id).await?;
    if !(session.complete && session.paid) {
        return Ok(());
    }
    if session.amount_total != Some(checkout.amount) {
        return Err(FulfilmentError::Mismatch(format!(
            "session {session_id} charged {:?} but checkout {} expected {}",
            session.amount_total, checkout.id, checkout.amount
        )));
    }
    let customer_id = session
        .customer_id
        .clone()
        .ok_or_else(|| FulfilmentError::BadEvent("the session has no customer".into()))?;
    let card = gateway
        .payment_methods(&customer_id)
        .await?
        .into_iter()
        .next();

    let catalog = crate::store::catalog::load(db).await?;
    // Bought while it was for sale: honoured even if it was archived since.
    let price = crate::domain::catalog::find_price(&catalog, &checkout.price_id)
        .map(|(_, p)| p)
        .cloned()
        .ok_or_else(|| {
            FulfilmentError::Mismatch(format!(
                "price {} is no longer in the catalog",
                checkout.price_id
            ))
        })?;
    let now = state.clock.now();
    let coupon = match checkout.promotion_code.as_deref() {
        Some(code) => crate::store::coupons::promotion_code(db, code)
            .await?
            .map(|p| p.coupon),
        None => None,
    };
    let draft = first_invoice(&price, checkout.quantity, now, coupon.as_ref())?;
    if draft.total.minor_units() != checkout.amount {
        return Err(FulfilmentError::Mismatch(format!(
            "checkout {} was priced at {} but its invoice totals {}",
            checkout.id,
            checkout.amount,
            draft.total.minor_units()
        )));
    }
    let outcome = checkouts::complete(
        db,
        &checkouts::Completion {
            checkout: &checkout,
            stripe_customer_id: &customer_id,
            payment_intent_id: session.payment_intent_id.as_deref(),
            card: card.as_ref(),
            invoice: &draft,
            coupon: coupon.as_ref(),
            now: now.timestamp(),
        },
    )
    .await?;
    match outcome {
        CompletionOutcome::Activated {
            subscription_id,
            invoice_id,
        } => {
            tracing::info!(checkout = %checkout.id, %subscription_id, invoice = ?invoice_id, "subscription activated");
        }
        CompletionOutcome::AlreadyComplete => {}
        CompletionOutcome::AlreadySubscribed => {
            // A second paid checkout for an organisation that is already subscribed: give the
            // money back. The key makes a retried refund the same refund.
            if let Some(intent) = session.payment_intent_id.as_deref() {
                gateway
                    .refund(
                        intent,
                        checkout.amount,
                        &format!("refund:duplicate-checkout:{}", checkout.id),
                    )
                    .await?;
                tracing::warn!(checkout = %checkout.id, "duplicate checkout refunded");
            }
        }
    }
    Ok(())
}

/// The first invoice of a new subscription to `price` × `quantity` starting at `start`, with the
/// coupon of a promotion code: what a checkout charges, and what its completion records.
pub fn first_invoice(
    price: &Price,
    quantity: i64,
    start: chrono::DateTime<chrono::Utc>,
    coupon: Option<&crate::domain::Coupon>,
) -> Result<InvoiceDraft, FulfilmentError> {
    let period = BillingPeriod::first(start, price.interval)?;
    build_invoice(
        &SubscriptionSnapshot {
            currency: price.currency,
            items: vec![SubscriptionItem {
                price: price.clone(),
                quantity,
            }],
            coupon: coupon.map(|coupon| crate::domain::AppliedCoupon {
                coupon: coupon.clone(),
                periods_applied: 0,
            }),
            pending_lines: Vec::new(),
        },
        period,
    )
    .map_err(FulfilmentError::from)
}

/// Metadata attached to everything a checkout creates at Stripe.
pub fn checkout_metadata(org_id: &OrgId, checkout_id: &CheckoutId) -> HashMap<String, String> {
    HashMap::from([
        ("org_id".to_string(), org_id.to_string()),
        ("checkout_id".to_string(), checkout_id.to_string()),
    ])
}

/// A hosted payment of an open invoice completed: the invoice is paid (once), the card used is
/// saved as the default, and a payment that arrives for an invoice already settled is refunded.
pub async fn invoice_paid(state: &AppState, session_id: &str) -> Result<(), FulfilmentError> {
    use crate::store::renewals;
    let gateway = &state.payments.gateway;
    let session = gateway.checkout_session(session_id).await?;
    if !(session.complete && session.paid) {
        return Ok(());
    }
    let invoice_id = &session
        .metadata
        .get("invoice_id")
        .and_then(|id| InvoiceId::parse(id).ok())
        .ok_or_else(|| FulfilmentError::BadEvent("the session names no invoice".into()))?;
    let Some(invoice) = renewals::collectable(&state.db, invoice_id).await? else {
        tracing::warn!(%session_id, %invoice_id, "payment for an unknown invoice");
        return Ok(());
    };
    if session.metadata.get("org_id").map(String::as_str) != Some(invoice.org_id.as_str()) {
        return Err(FulfilmentError::Mismatch(format!(
            "session {session_id} was not started by invoice {invoice_id}'s organisation"
        )));
    }
    let intent = session
        .payment_intent_id
        .clone()
        .ok_or_else(|| FulfilmentError::BadEvent("the session has no payment".into()))?;
    let amount = session.amount_total.unwrap_or(0);
    let now = crate::store::test_clocks::org_now(&state.db, &invoice.org_id, state.now()).await?;
    // The card just used becomes the default before the invoice reads as settled.
    if let Some(customer_id) = &session.customer_id {
        sync_cards(state, &invoice.org_id, customer_id).await?;
    }
    let settled =
        renewals::record_paid_by_checkout(&state.db, &invoice, &intent, amount, now).await?;
    if !settled && !crate::store::invoices::payment_recorded(&state.db, &intent).await? {
        gateway
            .refund(
                &intent,
                amount,
                &format!("refund:invoice-already-settled:{intent}"),
            )
            .await?;
        tracing::warn!(%invoice_id, %intent, "payment for an invoice already settled was refunded");
    }
    Ok(())
}

/// A trial's setup-mode checkout completed: the card is saved and the trial starts, once.
pub async fn start_trial(state: &AppState, session_id: &str) -> Result<(), FulfilmentError> {
    let db = &state.db;
    let Some(checkout) = checkouts::find_by_session(db, session_id).await? else {
        return Ok(());
    };
    if checkout.status != crate::domain::CheckoutStatus::Open || checkout.trial_end.is_none() {
        return Ok(());
    }
    let session = state.payments.gateway.checkout_session(session_id).await?;
    if !session.complete {
        return Ok(());
    }
    let customer_id = session
        .customer_id
        .clone()
        .ok_or_else(|| FulfilmentError::BadEvent("the session has no customer".into()))?;
    let coupon = match checkout.promotion_code.as_deref() {
        Some(code) => crate::store::coupons::promotion_code(db, code)
            .await?
            .map(|p| p.coupon),
        None => None,
    };
    let now = crate::store::test_clocks::org_now(db, &checkout.org_id, state.now()).await?;
    // The card first: a trial converts only with a card on file.
    sync_cards(state, &checkout.org_id, &customer_id).await?;
    let outcome =
        checkouts::complete_trial(db, &checkout, &customer_id, coupon.as_ref(), now).await?;
    if let CompletionOutcome::Activated {
        subscription_id, ..
    } = outcome
    {
        tracing::info!(checkout = %checkout.id, %subscription_id, "trial started");
    }
    Ok(())
}

/// A setup-mode checkout completed: the organisation's saved cards are read back from Stripe.
pub async fn card_saved(state: &AppState, session_id: &str) -> Result<(), FulfilmentError> {
    let session = state.payments.gateway.checkout_session(session_id).await?;
    if !session.complete {
        return Ok(());
    }
    let org_id = &session
        .metadata
        .get("org_id")
        .and_then(|id| OrgId::parse(id).ok())
        .ok_or_else(|| FulfilmentError::BadEvent("the session names no organisation".into()))?;
    let customer_id = session
        .customer_id
        .as_deref()
        .ok_or_else(|| FulfilmentError::BadEvent("the session has no customer".into()))?;
    let known = crate::store::accounts::stripe_customer_id(&state.db, org_id).await?;
    if known.as_deref() != Some(customer_id) {
        return Err(FulfilmentError::Mismatch(format!(
            "session {session_id} belongs to another Stripe customer"
        )));
    }
    sync_cards(state, org_id, customer_id).await
}

/// Makes the stored cards match Stripe's list; a card seen for the first time becomes the default.
pub async fn sync_cards(
    state: &AppState,
    org_id: &OrgId,
    customer_id: &str,
) -> Result<(), FulfilmentError> {
    let cards = state.payments.gateway.payment_methods(customer_id).await?;
    crate::store::payment_methods::sync(&state.db, org_id, &cards, state.now())
        .await
        .map_err(FulfilmentError::from)
}
