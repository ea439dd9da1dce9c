//! Moving money: payment intents, their charges, and refunds. Shared by the `/v1` API and the
//! hosted checkout page, so a card behaves the same whichever way it is charged.

use super::cards::TestCard;
use super::error::ApiError;
use super::money::format_amount;
use super::state::{
    new_id, now, Charge, Metadata, PaymentIntent, PaymentIntentStatus, PaymentMethod, Refund, Store,
};

/// What a new payment intent is for.
pub(crate) struct NewPaymentIntent {
    pub amount: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub payment_method: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub setup_future_usage: Option<String>,
}

/// Creates a payment intent (`payment_intent.created`), not yet confirmed.
pub(crate) fn create_payment_intent(store: &mut Store, new: NewPaymentIntent) -> String {
    let status = if new.payment_method.is_some() {
        PaymentIntentStatus::RequiresConfirmation
    } else {
        PaymentIntentStatus::RequiresPaymentMethod
    };
    let intent = PaymentIntent {
        id: new_id("pi_"),
        created: now(),
        amount: new.amount,
        currency: new.currency,
        customer: new.customer,
        description: new.description,
        payment_method: new.payment_method,
        status,
        metadata: new.metadata,
        setup_future_usage: new.setup_future_usage,
        last_payment_error: None,
        latest_charge: None,
    };
    let id = intent.id.clone();
    store.emit("payment_intent.created", intent.to_json());
    store.payment_intents.insert(id.clone(), intent);
    id
}

/// Confirms a payment intent with a payment method: charges the card once.
///
/// On success the intent is `succeeded` with a succeeded charge (`charge.succeeded`,
/// `payment_intent.succeeded`). On a decline it goes back to `requires_payment_method` with
/// `last_payment_error` set (`charge.failed`, `payment_intent.payment_failed`) and the 402
/// `card_error` is returned, carrying the intent, charge and payment method like Stripe's.
/// `off_session` charges cannot authenticate, so 3-D Secure cards decline there.
pub(crate) fn confirm_payment_intent(
    store: &mut Store,
    intent_id: &str,
    payment_method_id: &str,
    off_session: bool,
) -> Result<(), ApiError> {
    let payment_method = store
        .payment_methods
        .get(payment_method_id)
        .cloned()
        .ok_or_else(|| {
            ApiError::no_such_param("PaymentMethod", payment_method_id, "payment_method")
        })?;
    let intent = store
        .payment_intents
        .get(intent_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("payment_intent", intent_id))?;
    if intent.status == PaymentIntentStatus::Succeeded {
        return Err(ApiError::invalid_request(
            "You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed.",
            "payment_intent",
        )
        .with_code("payment_intent_unexpected_state"));
    }
    let failure = payment_method.card.charge_failure(off_session);
    let charge = Charge {
        id: new_id("ch_"),
        created: now(),
        amount: intent.amount,
        amount_refunded: 0,
        currency: intent.currency.clone(),
        customer: intent.customer.clone(),
        payment_intent: intent.id.clone(),
        payment_method: payment_method.id.clone(),
        metadata: intent.metadata.clone(),
        succeeded: failure.is_none(),
        failure: failure.as_ref().map(ApiError::error_object),
    };
    let charge_id = charge.id.clone();
    let charge_json = charge.to_json();
    store.charges.insert(charge_id.clone(), charge);

    let mut updated = intent;
    updated.latest_charge = Some(charge_id.clone());
    match failure {
        None => {
            updated.status = PaymentIntentStatus::Succeeded;
            updated.payment_method = Some(payment_method.id.clone());
            updated.last_payment_error = None;
            store.emit("charge.succeeded", charge_json);
            store.emit("payment_intent.succeeded", updated.to_json());
            store.payment_intents.insert(updated.id.clone(), updated);
            Ok(())
        }
        Some(error) => {
            let error = error
                .with_object("charge", serde_json::json!(charge_id))
                .with_object("payment_method", payment_method.to_json());
            updated.status = PaymentIntentStatus::RequiresPaymentMethod;
            updated.payment_method = None;
            updated.last_payment_error = Some(error.error_object());
            let intent_json = updated.to_json();
            store.emit("charge.failed", charge_json);
            store.emit("payment_intent.payment_failed", intent_json.clone());
            store.payment_intents.insert(updated.id.clone(), updated);
            Err(error.with_object("payment_intent", intent_json))
        }
    }
}

/// Creates a payment method from a test card (`pm_`), attached to `customer` when given
/// (`payment_method.attached`).
pub(crate) fn create_payment_method(
    store: &mut Store,
    card: TestCard,
    customer: Option<&str>,
) -> String {
    let payment_method = PaymentMethod {
        id: new_id("pm_"),
        created: now(),
        customer: customer.map(str::to_owned),
        card,
    };
    let id = payment_method.id.clone();
    if customer.is_some() {
        store.emit("payment_method.attached", payment_method.to_json());
    }
    store.payment_method_order.push(id.clone());
    store.payment_methods.insert(id.clone(), payment_method);
    id
}

/// What a refund request asks for.
pub(crate) struct NewRefund {
    pub payment_intent: Option<String>,
    pub charge: Option<String>,
    /// `None` refunds everything not yet refunded.
    pub amount: Option<i64>,
    pub reason: Option<String>,
    pub metadata: Metadata,
}

/// Refunds (part of) a succeeded charge. Never refunds more than was captured minus what was
/// already refunded; asking for more is a 400 naming both amounts.
pub(crate) fn create_refund(store: &mut Store, new: NewRefund) -> Result<Refund, ApiError> {
    let charge_id = match (&new.charge, &new.payment_intent) {
        (Some(charge), _) => {
            if !store.charges.contains_key(charge) {
                return Err(ApiError::no_such_param("charge", charge, "charge"));
            }
            charge.clone()
        }
        (None, Some(intent_id)) => {
            let intent = store
                .payment_intents
                .get(intent_id)
                .ok_or_else(|| ApiError::no_such_param("payment_intent", intent_id, "payment_intent"))?;
            match (&intent.latest_charge, intent.status) {
                (Some(charge), PaymentIntentStatus::Succeeded) => charge.clone(),
                _ => {
                    return Err(ApiError::invalid_request(
                        format!("This PaymentIntent ({intent_id}) does not have a successful charge to refund."),
                        "payment_intent",
                    ))
                }
            }
        }
        (None, None) => {
            return Err(ApiError::invalid_request(
                "One of the following params should be provided for this request: payment_intent or charge.",
                "payment_intent",
            ))
        }
    };
    let charge = store
        .charges
        .get(&charge_id)
        .cloned()
        .ok_or_else(|| ApiError::no_such_param("charge", &charge_id, "charge"))?;
    if !charge.succeeded {
        return Err(ApiError::invalid_request(
            format!("Charge {charge_id} has not succeeded and cannot be refunded."),
            "charge",
        ));
    }
    let refundable = charge.amount - store.refunded_on(&charge_id);
    if refundable <= 0 {
        return Err(ApiError::invalid_request(
            format!("Charge {charge_id} has already been refunded."),
            "charge",
        )
        .with_code("charge_already_refunded"));
    }
    let amount = new.amount.unwrap_or(refundable);
    if amount <= 0 {
        return Err(ApiError::invalid_request(
            "Refund amount must be a positive integer.",
            "amount",
        )
        .with_code("parameter_invalid_integer"));
    }
    if amount > refundable {
        return Err(ApiError::invalid_request(
            format!(
                "Refund amount ({}) is greater than unrefunded amount on charge ({}).",
                format_amount(amount, &charge.currency),
                format_amount(refundable, &charge.currency)
            ),
            "amount",
        )
        .with_code("amount_too_large"));
    }
    let refund = Refund {
        id: new_id("re_"),
        created: now(),
        amount,
        currency: charge.currency.clone(),
        charge: charge_id.clone(),
        payment_intent: charge.payment_intent.clone(),
        reason: new.reason,
        metadata: new.metadata,
    };
    store.refunds.insert(refund.id.clone(), refund.clone());
    let mut updated = charge;
    updated.amount_refunded += amount;
    store.emit("refund.created", refund.to_json());
    store.emit("charge.refunded", updated.to_json());
    store.charges.insert(charge_id, updated);
    Ok(refund)
}
