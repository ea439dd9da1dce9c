//! End-to-end tests of the emulator over HTTP: the Stripe API through async-stripe (proving it
//! parses every answer), the hosted page and control API through a plain HTTP client, and
//! webhooks through a local receiving endpoint.

mod api;
mod checkout_page;
mod faults;
mod webhooks;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    CreateCheckoutSessionLineItemsPriceDataRecurring,
    CreateCheckoutSessionLineItemsPriceDataRecurringInterval, ProductData,
};
use stripe_types::Currency;

use super::{start, EmulatorConfig, EmulatorHandle, WebhookEndpoint};

pub(super) const SECRET: &str = "whsec_test_secret";

/// A running emulator with clients pointed at it.
pub(super) struct Harness {
    pub emulator: EmulatorHandle,
    pub stripe: stripe::Client,
    pub http: reqwest::Client,
}

impl Harness {
    pub async fn start() -> Harness {
        Self::with_config(EmulatorConfig::default()).await
    }

    pub async fn with_webhooks(url: &str) -> Harness {
        Self::with_config(EmulatorConfig {
            public_base_url: None,
            webhook_endpoints: vec![WebhookEndpoint {
                url: url.to_owned(),
                secret: SECRET.to_owned(),
            }],
            retry_schedule: vec![
                Duration::from_millis(50),
                Duration::from_millis(50),
                Duration::from_millis(50),
            ],
            secret: None,
        })
        .await
    }

    pub async fn with_config(config: EmulatorConfig) -> Harness {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let emulator = start(listener, config).await.expect("start emulator");
        let stripe = stripe::ClientBuilder::new(&emulator.secret)
            .url(&emulator.base_url)
            .build()
            .expect("client");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http");
        Harness {
            emulator,
            stripe,
            http,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.base_url)
    }

    /// POST a form to the Stripe API with a test key, as raw HTTP.
    pub async fn post_form(
        &self,
        path: &str,
        form: &str,
        idempotency_key: Option<&str>,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut request = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.emulator.secret)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned());
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, headers, body)
    }

    /// POST JSON to the control API.
    pub async fn control(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.emulator.secret)
            .json(&body)
            .send()
            .await
            .expect("control request");
        let status = response.status();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    }

    pub async fn control_get(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .bearer_auth(&self.emulator.secret)
            .send()
            .await
            .expect("control get")
            .json()
            .await
            .expect("json")
    }

    /// Event types emitted so far, oldest first.
    pub async fn event_types(&self) -> Vec<String> {
        let events = self.control_get("/_emulator/events").await;
        events["data"]
            .as_array()
            .map(|events| {
                events
                    .iter()
                    .filter_map(|e| e["type"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn create_customer(&self, email: &str) -> String {
        let customer = stripe_core::customer::CreateCustomer::new()
            .email(email)
            .send(&self.stripe)
            .await
            .expect("customer");
        customer.id.as_str().to_owned()
    }

    /// A payment-mode session for one item, created through async-stripe.
    pub async fn payment_session(
        &self,
        customer: Option<&str>,
        amount: i64,
        currency: Currency,
    ) -> String {
        let mut request = CreateCheckoutSession::new()
            .mode(stripe_shared_mode("payment"))
            .line_items(vec![line_item("Pro plan", amount, currency, None, 1)])
            .success_url("http://app.test/done?session={CHECKOUT_SESSION_ID}")
            .cancel_url("http://app.test/cancel");
        if let Some(customer) = customer {
            request = request.customer(customer);
        }
        request
            .send(&self.stripe)
            .await
            .expect("session")
            .id
            .as_str()
            .to_owned()
    }

    /// A setup-mode session for a customer, created through async-stripe.
    pub async fn setup_session(&self, customer: &str) -> String {
        CreateCheckoutSession::new()
            .mode(stripe_shared_mode("setup"))
            .currency(Currency::USD)
            .customer(customer)
            .success_url("http://app.test/saved?session={CHECKOUT_SESSION_ID}")
            .cancel_url("http://app.test/cancel")
            .send(&self.stripe)
            .await
            .expect("setup session")
            .id
            .as_str()
            .to_owned()
    }

    /// Completes a session through the control API (same path as the hosted form).
    pub async fn complete(&self, session: &str, card: &str) -> (StatusCode, Value) {
        self.control(
            &format!("/_emulator/checkout/{session}/complete"),
            json!({ "card": card }),
        )
        .await
    }

    /// A customer with a saved card, via a completed setup session; returns (customer, pm).
    pub async fn customer_with_card(&self, card: &str) -> (String, String) {
        let customer = self.create_customer("saved@example.com").await;
        let session = self.setup_session(&customer).await;
        let (status, _) = self.complete(&session, card).await;
        assert_eq!(status, StatusCode::OK, "setup with {card} completes");
        let methods = stripe_payment::payment_method::ListPaymentMethod::new()
            .customer(customer.as_str())
            .send(&self.stripe)
            .await
            .expect("list payment methods");
        let pm = methods
            .data
            .first()
            .expect("a saved card")
            .id
            .as_str()
            .to_owned();
        (customer, pm)
    }
}

pub(super) fn stripe_shared_mode(mode: &str) -> stripe_checkout::CheckoutSessionMode {
    match mode {
        "setup" => stripe_checkout::CheckoutSessionMode::Setup,
        "subscription" => stripe_checkout::CheckoutSessionMode::Subscription,
        _ => stripe_checkout::CheckoutSessionMode::Payment,
    }
}

pub(super) fn line_item(
    name: &str,
    unit_amount: i64,
    currency: Currency,
    interval: Option<CreateCheckoutSessionLineItemsPriceDataRecurringInterval>,
    quantity: u64,
) -> CreateCheckoutSessionLineItems {
    let mut price = CreateCheckoutSessionLineItemsPriceData::new(currency);
    price.unit_amount = Some(unit_amount);
    price.product_data = Some(ProductData::new(name));
    price.recurring = interval.map(CreateCheckoutSessionLineItemsPriceDataRecurring::new);
    let mut item = CreateCheckoutSessionLineItems::new();
    item.price_data = Some(price);
    item.quantity = Some(quantity);
    item
}

/// A local webhook endpoint that records what it accepts and fails the first `fail_first`
/// deliveries with a 500.
pub(super) struct Receiver {
    pub url: String,
    /// `(Stripe-Signature header, raw body)` of accepted deliveries, in arrival order.
    pub accepted: Arc<Mutex<Vec<(String, String)>>>,
    _server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(fail_first: usize) -> Receiver {
        let accepted: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let failures_left = Arc::new(AtomicUsize::new(fail_first));
        let sink = accepted.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let sink = sink.clone();
                let failures_left = failures_left.clone();
                async move {
                    let fail = failures_left
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    if fail {
                        return StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    let signature = headers
                        .get("stripe-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    sink.lock().expect("sink").push((signature, body));
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url,
            accepted,
            _server: server,
        }
    }

    /// Event types accepted so far, in arrival order.
    pub fn types(&self) -> Vec<String> {
        self.accepted
            .lock()
            .expect("accepted")
            .iter()
            .filter_map(|(_, body)| serde_json::from_str::<Value>(body).ok())
            .filter_map(|event| event["type"].as_str().map(str::to_owned))
            .collect()
    }
}

/// Polls `condition` for up to five seconds.
pub(super) async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..100 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}
