//! The JSON shape of each object, as Stripe's API answers it. Every field that async-stripe's
//! response types require (non-`Option`) is present; optional ones appear as `null` when unset.

use serde_json::{json, Value};

use super::state::{
    Charge, CheckoutSession, Customer, Event, LineItem, PaymentIntent, PaymentMethod, Refund,
    SetupIntent,
};

/// The API version stamped on events: the one async-stripe `=1.0.0-rc.10` sends.
pub(crate) const API_VERSION: &str = "2026-09-30.endive";

/// Stripe's list envelope.
pub(crate) fn list(url: &str, data: Vec<Value>) -> Value {
    json!({ "object": "list", "data": data, "has_more": false, "url": url })
}

impl Customer {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "customer",
            "address": null,
            "balance": 0,
            "created": self.created,
            "currency": null,
            "default_source": null,
            "delinquent": false,
            "description": self.description,
            "discount": null,
            "email": self.email,
            "invoice_prefix": invoice_prefix(&self.id),
            "invoice_settings": {
                "custom_fields": null,
                "default_payment_method": self.default_payment_method,
                "footer": null,
                "rendering_options": null,
            },
            "livemode": false,
            "metadata": self.metadata,
            "name": self.name,
            "next_invoice_sequence": 1,
            "phone": self.phone,
            "preferred_locales": [],
            "shipping": null,
            "tax_exempt": "none",
            "test_clock": null,
        })
    }
}

fn invoice_prefix(customer_id: &str) -> String {
    customer_id
        .trim_start_matches("cus_")
        .chars()
        .take(8)
        .collect::<String>()
        .to_ascii_uppercase()
}

impl LineItem {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "item",
            "amount_discount": 0,
            "amount_subtotal": self.amount(),
            "amount_tax": 0,
            "amount_total": self.amount(),
            "currency": self.currency,
            "description": self.name,
            "quantity": self.quantity,
        })
    }
}

impl CheckoutSession {
    pub fn to_json(&self) -> Value {
        let is_payment = self.mode != super::state::SessionMode::Setup;
        let total = if is_payment {
            Some(self.amount_total())
        } else {
            None
        };
        let open = self.status == super::state::SessionStatus::Open;
        json!({
            "id": self.id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "automatic_tax": { "enabled": false, "liability": null, "provider": null, "status": null },
            "billing_address_collection": null,
            "cancel_url": self.cancel_url,
            "client_reference_id": self.client_reference_id,
            "created": self.created,
            "currency": self.currency,
            "custom_fields": [],
            "custom_text": {
                "after_submit": null,
                "shipping_address": null,
                "submit": null,
                "terms_of_service_acceptance": null,
            },
            "customer": self.customer,
            "customer_email": self.customer_email,
            "expires_at": self.expires_at,
            "invoice": self.invoice,
            "livemode": false,
            "locale": null,
            "metadata": self.metadata,
            "mode": self.mode.as_str(),
            "payment_intent": self.payment_intent,
            "payment_method_types": ["card"],
            "payment_status": self.payment_status(),
            "setup_intent": self.setup_intent,
            "shipping_options": [],
            "status": self.status.as_str(),
            "submit_type": null,
            "subscription": self.subscription,
            "success_url": self.success_url,
            "ui_mode": "hosted",
            "url": if open { Some(&self.url) } else { None },
        })
    }
}

impl PaymentMethod {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "payment_method",
            "billing_details": { "address": null, "email": null, "name": null, "phone": null },
            "card": {
                "brand": self.card.brand(),
                "checks": { "address_line1_check": null, "address_postal_code_check": null, "cvc_check": "pass" },
                "country": "US",
                "display_brand": self.card.brand(),
                "exp_month": self.card.exp_month,
                "exp_year": self.card.exp_year,
                "fingerprint": fingerprint(&self.card.number),
                "funding": "credit",
                "last4": self.card.last4(),
                "networks": { "available": [self.card.brand()], "preferred": null },
                "three_d_secure_usage": { "supported": true },
                "wallet": null,
            },
            "created": self.created,
            "customer": self.customer,
            "livemode": false,
            "metadata": {},
            "type": "card",
        })
    }
}

/// Stable per card number, like Stripe's fingerprint.
fn fingerprint(number: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(number.as_bytes()))
        .chars()
        .take(16)
        .collect()
}

impl PaymentIntent {
    pub fn to_json(&self) -> Value {
        let received = if self.status == super::state::PaymentIntentStatus::Succeeded {
            self.amount
        } else {
            0
        };
        json!({
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_capturable": 0,
            "amount_received": received,
            "automatic_payment_methods": null,
            "canceled_at": null,
            "cancellation_reason": null,
            "capture_method": "automatic",
            "client_secret": format!("{}_secret_{}", self.id, &self.id[3.min(self.id.len())..]),
            "confirmation_method": "automatic",
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "description": self.description,
            "last_payment_error": self.last_payment_error,
            "latest_charge": self.latest_charge,
            "livemode": false,
            "metadata": self.metadata,
            "next_action": null,
            "payment_method": self.payment_method,
            "payment_method_types": ["card"],
            "receipt_email": null,
            "setup_future_usage": self.setup_future_usage,
            "status": self.status.as_str(),
        })
    }
}

impl SetupIntent {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "setup_intent",
            "client_secret": format!("{}_secret_{}", self.id, &self.id[5.min(self.id.len())..]),
            "created": self.created,
            "customer": self.customer,
            "description": null,
            "last_setup_error": null,
            "livemode": false,
            "metadata": self.metadata,
            "next_action": null,
            "payment_method": self.payment_method,
            "payment_method_types": ["card"],
            "status": "succeeded",
            "usage": "off_session",
        })
    }
}

impl Charge {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "charge",
            "amount": self.amount,
            "amount_captured": if self.succeeded { self.amount } else { 0 },
            "amount_refunded": self.amount_refunded,
            "billing_details": { "address": null, "email": null, "name": null, "phone": null },
            "captured": self.succeeded,
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "disputed": false,
            "failure_code": self.failure.as_ref().and_then(|f| f.get("code").cloned()),
            "failure_message": self.failure.as_ref().and_then(|f| f.get("message").cloned()),
            "livemode": false,
            "metadata": self.metadata,
            "paid": self.succeeded,
            "payment_intent": self.payment_intent,
            "payment_method": self.payment_method,
            "refunded": self.succeeded && self.amount_refunded >= self.amount,
            "status": if self.succeeded { "succeeded" } else { "failed" },
        })
    }
}

impl Refund {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "charge": self.charge,
            "created": self.created,
            "currency": self.currency,
            "metadata": self.metadata,
            "payment_intent": self.payment_intent,
            "reason": self.reason,
            "status": "succeeded",
        })
    }
}

impl Event {
    /// Stripe's event envelope.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "event",
            "api_version": API_VERSION,
            "created": self.created,
            "data": { "object": self.object },
            "livemode": false,
            "pending_webhooks": self.pending_webhooks,
            "request": {
                "id": self.request.as_ref().map(|r| r.id.clone()),
                "idempotency_key": self.request.as_ref().and_then(|r| r.idempotency_key.clone()),
            },
            "type": self.type_,
        })
    }
}
