//! The payment gateway: every call to Stripe goes through here, through async-stripe, to
//! api.stripe.com or to the built-in emulator (same code, another base URL).
//!
//! Contract: every request that creates or moves something carries an idempotency key derived
//! from what it is for (never the clock or a fresh random value), so retrying after an unknown
//! outcome is always safe. A final decline is `Ok(ChargeOutcome::Declined)`; an unknown outcome
//! (network, timeout, Stripe 5xx) is `Err(GatewayError::Unavailable)` and is retried with the same
//! key.

use crate::domain::ids::OrgId;
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    CreateCheckoutSessionPaymentIntentData, CreateCheckoutSessionPaymentIntentDataSetupFutureUsage,
    ProductData, RetrieveCheckoutSession,
};
use stripe_core::customer::CreateCustomer;
use stripe_core::payment_intent::{CreatePaymentIntent, CreatePaymentIntentOffSession};
use stripe_core::refund::CreateRefund;
use stripe_payment::payment_method::{DetachPaymentMethod, ListPaymentMethod};
use stripe_shared::{CheckoutSessionMode, PaymentIntentStatus};

use crate::store::checkouts::SavedCard;

/// How long one attempt may take before its outcome counts as unknown.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a gateway call did not give an answer to act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The outcome is unknown (network, timeout, Stripe unavailable): retry with the same key.
    #[error("Stripe could not be reached or did not answer: {0}")]
    Unavailable(String),
    /// Stripe refused the request as invalid; retrying will not help.
    #[error("Stripe refused the request: {0}")]
    Rejected(String),
}

/// The result of charging a saved card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChargeOutcome {
    Succeeded {
        payment_intent_id: String,
    },
    /// A final decline, with Stripe's code (e.g. `card_declined`) and message for the customer.
    Declined {
        code: String,
        message: String,
        payment_intent_id: Option<String>,
    },
}

/// A hosted checkout page to send the browser to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostedCheckout {
    pub session_id: String,
    pub url: String,
}

/// What the portal asks a hosted checkout to collect.
#[derive(Clone, Debug)]
pub struct CheckoutRequest<'a> {
    pub customer_id: &'a str,
    /// Lower-case ISO code, e.g. `usd`.
    pub currency: &'a str,
    /// The exact amount, in minor units, the engine computed for the first invoice.
    pub amount: i64,
    pub description: &'a str,
    pub success_url: &'a str,
    pub cancel_url: &'a str,
    pub metadata: HashMap<String, String>,
}

/// A checkout session as Stripe reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutSessionInfo {
    pub id: String,
    pub complete: bool,
    pub paid: bool,
    pub customer_id: Option<String>,
    pub payment_intent_id: Option<String>,
    pub amount_total: Option<i64>,
    pub metadata: HashMap<String, String>,
}

#[derive(Clone)]
pub struct Gateway {
    client: Client,
}

fn idempotent(key: &str) -> Result<RequestStrategy, GatewayError> {
    IdempotencyKey::new(key)
        .map(RequestStrategy::Idempotent)
        .map_err(|e| GatewayError::Rejected(format!("bad idempotency key: {e}")))
}

/// Stripe's currency for a lower-case ISO code; codes the crate has no variant for (BHD, KWD, ...)
/// are passed through as they are.
fn stripe_currency(code: &str) -> stripe_types::Currency {
    stripe_types::Currency::from_str(code)
        .unwrap_or_else(|_| stripe_types::Currency::Unknown(code.to_string()))
}

/// Sorts Stripe's errors into "decided" and "unknown".
fn classify(err: StripeError) -> GatewayError {
    match err {
        StripeError::Stripe(api, status)
            if (400..500).contains(&status) && status != 409 && status != 429 =>
        {
            GatewayError::Rejected(
                api.message
                    .clone()
                    .unwrap_or_else(|| format!("HTTP {status}")),
            )
        }
        StripeError::Stripe(api, status) => GatewayError::Unavailable(
            api.message
                .clone()
                .unwrap_or_else(|| format!("HTTP {status}")),
        ),
        other => GatewayError::Unavailable(other.to_string()),
    }
}

impl Gateway {
    /// A gateway for `secret_key`, talking to `api_base` (Stripe's when `None`).
    pub fn new(secret_key: &str, api_base: Option<&str>) -> Result<Gateway, GatewayError> {
        let mut builder = ClientBuilder::new(secret_key).timeout(ATTEMPT_TIMEOUT);
        if let Some(base) = api_base {
            builder = builder.url(base);
        }
        let client = builder
            .build()
            .map_err(|e| GatewayError::Rejected(e.to_string()))?;
        Ok(Gateway { client })
    }

    /// Creates the Stripe customer of an organisation. The key is derived from the organisation,
    /// so two racing requests create one customer.
    pub async fn create_customer(
        &self,
        org_id: &OrgId,
        email: &str,
        name: &str,
    ) -> Result<String, GatewayError> {
        let customer = CreateCustomer::new()
            .email(email)
            .name(name)
            .metadata(HashMap::from([("org_id".to_string(), org_id.to_string())]))
            .customize()
            .request_strategy(idempotent(&format!("customer:{org_id}"))?)
            .send(&self.client)
            .await
            .map_err(classify)?;
        Ok(customer.id.to_string())
    }

    /// Creates a hosted checkout in payment mode that also saves the card for later renewals.
    pub async fn create_checkout(
        &self,
        request: &CheckoutRequest<'_>,
        key: &str,
    ) -> Result<HostedCheckout, GatewayError> {
        let currency = stripe_currency(request.currency);
        let mut price_data = CreateCheckoutSessionLineItemsPriceData::new(currency);
        price_data.unit_amount = Some(request.amount);
        price_data.product_data = Some(ProductData::new(request.description));
        let mut line = CreateCheckoutSessionLineItems::new();
        line.price_data = Some(price_data);
        line.quantity = Some(1);
        let mut payment_intent_data = CreateCheckoutSessionPaymentIntentData::new();
        payment_intent_data.setup_future_usage =
            Some(CreateCheckoutSessionPaymentIntentDataSetupFutureUsage::OffSession);
        payment_intent_data.metadata = Some(request.metadata.clone());
        self.open_checkout(
            CreateCheckoutSession::new()
                .mode(CheckoutSessionMode::Payment)
                .customer(request.customer_id)
                .line_items(vec![line])
                .payment_intent_data(payment_intent_data)
                .success_url(request.success_url)
                .cancel_url(request.cancel_url)
                .metadata(request.metadata.clone()),
            key,
        )
        .await
    }

    /// Creates a hosted checkout in setup mode: the customer saves a card without paying.
    pub async fn create_setup_checkout(
        &self,
        customer_id: &str,
        currency: &str,
        success_url: &str,
        cancel_url: &str,
        metadata: HashMap<String, String>,
        key: &str,
    ) -> Result<HostedCheckout, GatewayError> {
        self.open_checkout(
            CreateCheckoutSession::new()
                .mode(CheckoutSessionMode::Setup)
                .customer(customer_id)
                .currency(stripe_currency(currency))
                .success_url(success_url)
                .cancel_url(cancel_url)
                .metadata(metadata),
            key,
        )
        .await
    }

    /// Creates a hosted checkout session (keyed, so a retry is the same session) and returns where
    /// to send the customer.
    async fn open_checkout(
        &self,
        session: CreateCheckoutSession,
        key: &str,
    ) -> Result<HostedCheckout, GatewayError> {
        let session = session
            .customize()
            .request_strategy(idempotent(key)?)
            .send(&self.client)
            .await
            .map_err(classify)?;
        let url = session
            .url
            .ok_or_else(|| GatewayError::Unavailable("the checkout session has no URL".into()))?;
        Ok(HostedCheckout {
            session_id: session.id.to_string(),
            url,
        })
    }

    pub async fn checkout_session(
        &self,
        session_id: &str,
    ) -> Result<CheckoutSessionInfo, GatewayError> {
        let session = RetrieveCheckoutSession::new(session_id)
            .send(&self.client)
            .await
            .map_err(classify)?;
        Ok(CheckoutSessionInfo {
            id: session.id.to_string(),
            complete: matches!(
                session.status,
                Some(stripe_shared::CheckoutSessionStatus::Complete)
            ),
            paid: matches!(
                session.payment_status,
                stripe_checkout::CheckoutSessionPaymentStatus::Paid
            ),
            customer_id: session.customer.as_ref().map(|c| c.id().to_string()),
            payment_intent_id: session.payment_intent.as_ref().map(|p| p.id().to_string()),
            amount_total: session.amount_total,
            metadata: session.metadata.unwrap_or_default(),
        })
    }

    /// Charges a saved card without the customer present.
    pub async fn charge_off_session(
        &self,
        customer_id: &str,
        payment_method_id: &str,
        amount: i64,
        currency: &str,
        key: &str,
        metadata: HashMap<String, String>,
    ) -> Result<ChargeOutcome, GatewayError> {
        let currency = stripe_currency(currency);
        let result = CreatePaymentIntent::new(amount, currency)
            .customer(customer_id)
            .payment_method(payment_method_id)
            .confirm(true)
            .off_session(CreatePaymentIntentOffSession::Bool(true))
            .metadata(metadata)
            .customize()
            .request_strategy(idempotent(key)?)
            .send(&self.client)
            .await;
        match result {
            Ok(intent) if matches!(intent.status, PaymentIntentStatus::Succeeded) => {
                Ok(ChargeOutcome::Succeeded {
                    payment_intent_id: intent.id.to_string(),
                })
            }
            Ok(intent) => Ok(ChargeOutcome::Declined {
                code: "payment_incomplete".into(),
                message: "The payment could not be completed.".into(),
                payment_intent_id: Some(intent.id.to_string()),
            }),
            Err(StripeError::Stripe(api, 402)) => Ok(ChargeOutcome::Declined {
                code: api
                    .code
                    .as_ref()
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "card_declined".into()),
                message: api
                    .message
                    .clone()
                    .unwrap_or_else(|| "Your card was declined.".into()),
                payment_intent_id: api.payment_intent.as_ref().map(|p| p.id.to_string()),
            }),
            Err(other) => Err(classify(other)),
        }
    }

    /// Refunds `amount` of a payment.
    pub async fn refund(
        &self,
        payment_intent_id: &str,
        amount: i64,
        key: &str,
    ) -> Result<String, GatewayError> {
        let refund = CreateRefund::new()
            .payment_intent(payment_intent_id)
            .amount(amount)
            .customize()
            .request_strategy(idempotent(key)?)
            .send(&self.client)
            .await
            .map_err(classify)?;
        Ok(refund.id.to_string())
    }

    /// The cards saved for a customer: brand and last four only.
    pub async fn payment_methods(&self, customer_id: &str) -> Result<Vec<SavedCard>, GatewayError> {
        let list = ListPaymentMethod::new()
            .customer(customer_id)
            .send(&self.client)
            .await
            .map_err(classify)?;
        Ok(list
            .data
            .into_iter()
            .filter_map(|pm| {
                let card = pm.card?;
                Some(SavedCard {
                    id: pm.id.to_string(),
                    brand: card.brand,
                    last4: card.last4,
                    exp_month: card.exp_month,
                    exp_year: card.exp_year,
                })
            })
            .collect())
    }

    pub async fn detach(&self, payment_method_id: &str) -> Result<(), GatewayError> {
        DetachPaymentMethod::new(payment_method_id)
            .send(&self.client)
            .await
            .map_err(classify)?;
        Ok(())
    }
}
