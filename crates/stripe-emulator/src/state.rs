//! The emulator's in-memory Stripe account: every object it has created, the events it has
//! emitted and the webhook deliveries it has attempted. Held behind one mutex by
//! [`super::EmulatorState`]; nothing here awaits.

use std::collections::{BTreeMap, HashMap};

use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::Serialize;
use serde_json::Value;

use super::cards::TestCard;

pub(crate) type Metadata = BTreeMap<String, String>;

/// A fresh Stripe-style id: `cus_` + 24 random alphanumerics.
pub(crate) fn new_id(prefix: &str) -> String {
    let suffix: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("{prefix}{suffix}")
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Applies a metadata update the way Stripe does: keys merge, an empty value removes its key.
pub(crate) fn merge_metadata(target: &mut Metadata, update: Metadata) {
    for (key, value) in update {
        if value.is_empty() {
            target.remove(&key);
        } else {
            target.insert(key, value);
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub id: String,
    pub created: i64,
    pub email: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub phone: Option<String>,
    pub metadata: Metadata,
    pub default_payment_method: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionMode {
    Payment,
    Setup,
    Subscription,
}

impl SessionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionMode::Payment => "payment",
            SessionMode::Setup => "setup",
            SessionMode::Subscription => "subscription",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionStatus {
    Open,
    Complete,
    Expired,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Open => "open",
            SessionStatus::Complete => "complete",
            SessionStatus::Expired => "expired",
        }
    }
}

/// One `line_items[n]` of a checkout session, from inline `price_data`.
#[derive(Debug, Clone)]
pub(crate) struct LineItem {
    pub id: String,
    pub name: String,
    pub currency: String,
    pub unit_amount: i64,
    pub quantity: i64,
    /// `day`, `week`, `month` or `year` for recurring prices (subscription mode).
    pub recurring_interval: Option<String>,
}

impl LineItem {
    pub fn amount(&self) -> i64 {
        self.unit_amount.saturating_mul(self.quantity)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CheckoutSession {
    pub id: String,
    pub created: i64,
    pub expires_at: i64,
    pub mode: SessionMode,
    pub status: SessionStatus,
    pub line_items: Vec<LineItem>,
    pub currency: Option<String>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub url: String,
    pub customer: Option<String>,
    pub customer_email: Option<String>,
    /// `customer_creation=always` in payment mode; setup and subscription always create one.
    pub always_create_customer: bool,
    pub client_reference_id: Option<String>,
    pub metadata: Metadata,
    pub payment_intent: Option<String>,
    pub setup_intent: Option<String>,
    pub subscription: Option<String>,
    pub invoice: Option<String>,
    /// `payment_intent_data[setup_future_usage]`: `on_session` or `off_session`.
    pub setup_future_usage: Option<String>,
    pub payment_intent_metadata: Metadata,
    pub setup_intent_metadata: Metadata,
    pub subscription_metadata: Metadata,
    /// A 3-D Secure card waiting on the authentication step of the hosted page.
    pub pending_authentication: Option<TestCard>,
}

impl CheckoutSession {
    pub fn amount_total(&self) -> i64 {
        self.line_items
            .iter()
            .map(LineItem::amount)
            .fold(0, i64::saturating_add)
    }

    pub fn payment_status(&self) -> &'static str {
        match (self.mode, self.status) {
            (SessionMode::Setup, _) => "no_payment_required",
            (_, SessionStatus::Complete) => "paid",
            _ => "unpaid",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct PaymentMethod {
    pub id: String,
    pub created: i64,
    pub customer: Option<String>,
    pub card: TestCard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PaymentIntentStatus {
    RequiresPaymentMethod,
    RequiresConfirmation,
    Succeeded,
}

impl PaymentIntentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentIntentStatus::RequiresPaymentMethod => "requires_payment_method",
            PaymentIntentStatus::RequiresConfirmation => "requires_confirmation",
            PaymentIntentStatus::Succeeded => "succeeded",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct PaymentIntent {
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub payment_method: Option<String>,
    pub status: PaymentIntentStatus,
    pub metadata: Metadata,
    pub setup_future_usage: Option<String>,
    /// The `error` object of the last failed attempt.
    pub last_payment_error: Option<Value>,
    pub latest_charge: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct SetupIntent {
    pub id: String,
    pub created: i64,
    pub customer: Option<String>,
    pub payment_method: Option<String>,
    pub metadata: Metadata,
}

#[derive(Debug, Clone)]
pub(crate) struct Charge {
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub amount_refunded: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub payment_intent: String,
    pub payment_method: String,
    pub metadata: Metadata,
    /// `succeeded` or `failed`.
    pub succeeded: bool,
    pub failure: Option<Value>,
}

#[derive(Debug, Clone)]
pub(crate) struct Refund {
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub charge: String,
    pub payment_intent: String,
    pub reason: Option<String>,
    pub metadata: Metadata,
}

/// An emitted event; `object` is a snapshot of the object when the event happened.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub id: String,
    pub created: i64,
    pub type_: String,
    pub object: Value,
    pub request: Option<RequestInfo>,
    pub pending_webhooks: i64,
}

/// The API request that caused something, as shown in an event's `request`.
#[derive(Debug, Clone)]
pub(crate) struct RequestInfo {
    pub id: String,
    pub idempotency_key: Option<String>,
}

/// One attempt to deliver one event to one endpoint.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Delivery {
    pub event_id: String,
    pub event_type: String,
    pub url: String,
    /// 1 for the first attempt, 2 for the first retry, ...
    pub attempt: u32,
    /// The endpoint's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Connection error, when it did not answer.
    pub error: Option<String>,
    pub delivered: bool,
    pub at: String,
}

/// Everything the emulated Stripe account holds.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub customers: HashMap<String, Customer>,
    pub sessions: HashMap<String, CheckoutSession>,
    pub payment_methods: HashMap<String, PaymentMethod>,
    /// Attachment order of payment methods, newest last (lists answer newest first).
    pub payment_method_order: Vec<String>,
    pub payment_intents: HashMap<String, PaymentIntent>,
    pub setup_intents: HashMap<String, SetupIntent>,
    pub charges: HashMap<String, Charge>,
    pub refunds: HashMap<String, Refund>,
    pub events: Vec<Event>,
    pub deliveries: Vec<Delivery>,
    /// Events emitted since the last flush, waiting to be handed to the webhook dispatcher.
    pub outbox: Vec<Event>,
    /// The API request currently being served, stamped on the events it emits.
    pub current_request: Option<RequestInfo>,
    /// How many webhook endpoints there are now (an event's `pending_webhooks`).
    pub endpoint_count: i64,
}

impl Store {
    /// Records an event about `object` and queues it for delivery.
    pub fn emit(&mut self, type_: &str, object: Value) -> String {
        let event = Event {
            id: new_id("evt_"),
            created: now(),
            type_: type_.to_owned(),
            object,
            request: self.current_request.clone(),
            pending_webhooks: self.endpoint_count,
        };
        let id = event.id.clone();
        self.events.push(event.clone());
        self.outbox.push(event);
        id
    }

    pub fn event(&self, id: &str) -> Option<&Event> {
        self.events.iter().find(|e| e.id == id)
    }

    /// Refunded so far on a charge.
    pub fn refunded_on(&self, charge_id: &str) -> i64 {
        self.refunds
            .values()
            .filter(|r| r.charge == charge_id)
            .map(|r| r.amount)
            .sum()
    }

    /// Payment methods attached to a customer, newest first.
    pub fn payment_methods_of(&self, customer: &str) -> Vec<&PaymentMethod> {
        self.payment_method_order
            .iter()
            .rev()
            .filter_map(|id| self.payment_methods.get(id))
            .filter(|pm| pm.customer.as_deref() == Some(customer))
            .collect()
    }
}
