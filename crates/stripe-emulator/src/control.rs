//! The test control API under `/_emulator/` (JSON in, JSON out): fault injection, webhook
//! chaos, inspection of events and deliveries, browserless checkout, reset. Every call carries
//! the emulator's secret (`Authorization: Bearer <secret>`, else 401), and every POST is
//! `Content-Type: application/json` (else 415), so a web page cannot drive it.
//!
//! | route | body | effect |
//! | --- | --- | --- |
//! | `POST /_emulator/fail_next` | `{"status": 500, "count": 1}` | the next N `/v1` calls answer `status` with an `api_error` and do nothing |
//! | `POST /_emulator/timeout_next` | `{"count": 1, "millis": 30000}` | the next N `/v1` calls run, then hang `millis` before answering |
//! | `POST /_emulator/webhooks` | `{"duplicate": bool, "delay_millis": N, "reorder": bool}` | webhook chaos (omitted fields keep their value) |
//! | `POST /_emulator/webhook_endpoints` | `{"url": "...", "secret": "whsec_..."}` | adds an endpoint |
//! | `POST /_emulator/events/{id}/resend` | | queues the event for delivery again |
//! | `GET /_emulator/events` | | every event, oldest first, in Stripe's envelope |
//! | `GET /_emulator/deliveries` | | every delivery attempt |
//! | `POST /_emulator/checkout/{id}/complete` | `{"card": "4242...", "authenticate": true}` | pays a session as the hosted page would |
//! | `POST /_emulator/fixtures/customers` | `{"count": 1000, "card": "4242..."}` | creates customers, each with that card attached, without events (for load tests) |
//! | `POST /_emulator/reset` | | forgets everything |

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::checkout::{authenticate, pay, PayOutcome};
use super::{lock, EmulatorState, WebhookEndpoint};

/// Injected faults, consumed one per `/v1` call.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    fail_remaining: u32,
    fail_status: Option<StatusCode>,
    timeout_remaining: u32,
    timeout: Duration,
}

impl Faults {
    pub fn take_failure(&mut self) -> Option<StatusCode> {
        if self.fail_remaining == 0 {
            return None;
        }
        self.fail_remaining -= 1;
        Some(
            self.fail_status
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        )
    }

    pub fn take_timeout(&mut self) -> Option<Duration> {
        if self.timeout_remaining == 0 {
            return None;
        }
        self.timeout_remaining -= 1;
        Some(self.timeout)
    }
}

pub(super) fn routes(state: EmulatorState) -> Router<EmulatorState> {
    Router::new()
        .route("/_emulator/fail_next", post(fail_next))
        .route("/_emulator/timeout_next", post(timeout_next))
        .route("/_emulator/webhooks", post(webhook_chaos))
        .route("/_emulator/webhook_endpoints", post(add_webhook_endpoint))
        .route("/_emulator/events", get(events))
        .route("/_emulator/events/{id}/resend", post(resend_event))
        .route("/_emulator/deliveries", get(deliveries))
        .route("/_emulator/checkout/{id}/complete", post(complete_checkout))
        .route("/_emulator/fixtures/customers", post(customer_fixtures))
        .route("/_emulator/reset", post(reset))
        .layer(axum::middleware::from_fn_with_state(state, gate))
}

/// Lets a control call through only with the emulator's secret and, for a POST, a JSON body.
async fn gate(
    State(state): State<EmulatorState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let authorization = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !state.authorised(authorization) {
        return ControlError(
            StatusCode::UNAUTHORIZED,
            "send the emulator's secret as Authorization: Bearer <secret>".into(),
        )
        .into_response();
    }
    if request.method() == axum::http::Method::POST
        && !super::content_type_is(request.headers(), "application/json")
    {
        return ControlError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send Content-Type: application/json".into(),
        )
        .into_response();
    }
    next.run(request).await
}

/// A control API mistake: 400 with `{"error": "..."}`.
struct ControlError(StatusCode, String);

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

/// Parses a JSON body without axum's plain-text rejections; an empty body is `{}`.
fn body<T: for<'de> Deserialize<'de>>(raw: &axum::body::Bytes) -> Result<T, ControlError> {
    let text = if raw.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &raw[..]
    };
    serde_json::from_slice(text)
        .map_err(|e| ControlError(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
}

#[derive(Deserialize)]
struct FailNext {
    #[serde(default = "default_status")]
    status: u16,
    #[serde(default = "one")]
    count: u32,
}

fn default_status() -> u16 {
    500
}

fn one() -> u32 {
    1
}

async fn fail_next(
    State(state): State<EmulatorState>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ControlError> {
    let request: FailNext = body(&raw)?;
    let status = StatusCode::from_u16(request.status)
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error())
        .ok_or_else(|| {
            ControlError(
                StatusCode::BAD_REQUEST,
                "status must be a 4xx or 5xx code".into(),
            )
        })?;
    let mut faults = lock(&state.inner.faults);
    faults.fail_status = Some(status);
    faults.fail_remaining = request.count;
    Ok(Json(
        json!({ "status": status.as_u16(), "count": request.count }),
    ))
}

#[derive(Deserialize)]
struct TimeoutNext {
    #[serde(default = "one")]
    count: u32,
    #[serde(default = "default_timeout_millis")]
    millis: u64,
}

fn default_timeout_millis() -> u64 {
    30_000
}

async fn timeout_next(
    State(state): State<EmulatorState>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ControlError> {
    let request: TimeoutNext = body(&raw)?;
    let mut faults = lock(&state.inner.faults);
    faults.timeout = Duration::from_millis(request.millis);
    faults.timeout_remaining = request.count;
    Ok(Json(
        json!({ "count": request.count, "millis": request.millis }),
    ))
}

#[derive(Deserialize)]
struct WebhookChaos {
    duplicate: Option<bool>,
    delay_millis: Option<u64>,
    reorder: Option<bool>,
}

async fn webhook_chaos(
    State(state): State<EmulatorState>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ControlError> {
    let request: WebhookChaos = body(&raw)?;
    let mut settings = lock(&state.inner.webhooks);
    if let Some(duplicate) = request.duplicate {
        settings.duplicate = duplicate;
    }
    if let Some(delay) = request.delay_millis {
        settings.delay = Duration::from_millis(delay);
    }
    if let Some(reorder) = request.reorder {
        settings.reorder = reorder;
    }
    Ok(Json(json!({
        "duplicate": settings.duplicate,
        "delay_millis": u64::try_from(settings.delay.as_millis()).unwrap_or(u64::MAX),
        "reorder": settings.reorder,
    })))
}

async fn add_webhook_endpoint(
    State(state): State<EmulatorState>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ControlError> {
    let endpoint: WebhookEndpoint = body(&raw)?;
    if !(endpoint.url.starts_with("http://") || endpoint.url.starts_with("https://")) {
        return Err(ControlError(
            StatusCode::BAD_REQUEST,
            "url must be an http(s) URL".into(),
        ));
    }
    let count = {
        let mut settings = lock(&state.inner.webhooks);
        settings.endpoints.push(endpoint.clone());
        settings.endpoints.len()
    };
    lock(&state.inner.store).endpoint_count = count as i64;
    Ok(Json(json!({ "url": endpoint.url, "endpoints": count })))
}

async fn events(State(state): State<EmulatorState>) -> Json<Value> {
    let data: Vec<Value> = state.read(|store| store.events.iter().map(|e| e.to_json()).collect());
    Json(json!({ "data": data }))
}

async fn resend_event(
    State(state): State<EmulatorState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ControlError> {
    let event = state.read(|store| store.event(&id).cloned());
    let event =
        event.ok_or_else(|| ControlError(StatusCode::NOT_FOUND, format!("no such event: {id}")))?;
    let _ = state.inner.dispatch.send(event);
    Ok(Json(json!({ "resent": id })))
}

async fn deliveries(State(state): State<EmulatorState>) -> Json<Value> {
    let data = state.read(|store| serde_json::to_value(&store.deliveries).unwrap_or(Value::Null));
    Json(json!({ "data": data }))
}

#[derive(Deserialize)]
struct CompleteCheckout {
    #[serde(default = "default_card")]
    card: String,
    #[serde(default)]
    expiry: String,
    /// For 3-D Secure cards: pass (`true`, the default) or fail the authentication step.
    #[serde(default = "yes")]
    authenticate: bool,
}

fn default_card() -> String {
    "4242424242424242".into()
}

fn yes() -> bool {
    true
}

/// Pays a session through the same code as the hosted page's form. Answers 200 with
/// `{"outcome": "completed", "redirect_url": ...}`, 402 with `{"outcome": "declined",
/// "message": ...}`, 409 when already complete, 410 when expired, 404 when unknown.
async fn complete_checkout(
    State(state): State<EmulatorState>,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Response, ControlError> {
    let request: CompleteCheckout = body(&raw)?;
    let outcome = state.write(None, |store| {
        match pay(store, &id, &request.card, &request.expiry) {
            PayOutcome::AuthenticationRequired => authenticate(store, &id, request.authenticate),
            other => other,
        }
    });
    let response = match outcome {
        PayOutcome::Completed { redirect_url } => (
            StatusCode::OK,
            Json(json!({ "outcome": "completed", "session": id, "redirect_url": redirect_url })),
        ),
        PayOutcome::Declined { message } => (
            StatusCode::PAYMENT_REQUIRED,
            Json(json!({ "outcome": "declined", "message": message })),
        ),
        PayOutcome::AuthenticationRequired => (
            StatusCode::PAYMENT_REQUIRED,
            Json(json!({ "outcome": "authentication_required" })),
        ),
        PayOutcome::AlreadyComplete => (
            StatusCode::CONFLICT,
            Json(
                json!({ "outcome": "already_complete", "message": "This checkout is already complete." }),
            ),
        ),
        PayOutcome::Expired => (
            StatusCode::GONE,
            Json(json!({ "outcome": "expired", "message": "This checkout session has expired." })),
        ),
        PayOutcome::NotFound => (
            StatusCode::NOT_FOUND,
            Json(
                json!({ "outcome": "not_found", "message": format!("No such checkout session: {id}") }),
            ),
        ),
    };
    Ok(response.into_response())
}

#[derive(Deserialize)]
struct CustomerFixtures {
    count: usize,
    card: String,
}

/// Creates `count` customers with `card` attached; answers `[{"customer", "payment_method"}]`.
async fn customer_fixtures(
    State(state): State<EmulatorState>,
    raw: axum::body::Bytes,
) -> Result<Response, ControlError> {
    use super::state::{new_id, now, Customer, PaymentMethod};
    let request: CustomerFixtures = body(&raw)?;
    let card = super::cards::TestCard::parse(&request.card, "12/34").map_err(|_| {
        ControlError(
            StatusCode::BAD_REQUEST,
            format!("{:?} is not one of the emulator's test cards", request.card),
        )
    })?;
    let created = state.write(None, |store| {
        (0..request.count.min(1_000_000))
            .map(|_| {
                let customer = Customer {
                    id: new_id("cus_"),
                    created: now(),
                    email: None,
                    name: None,
                    description: None,
                    phone: None,
                    metadata: Default::default(),
                    default_payment_method: None,
                };
                let method = PaymentMethod {
                    id: new_id("pm_"),
                    created: now(),
                    customer: Some(customer.id.clone()),
                    card: card.clone(),
                };
                let pair = json!({ "customer": customer.id, "payment_method": method.id });
                store.payment_method_order.push(method.id.clone());
                store.payment_methods.insert(method.id.clone(), method);
                store.customers.insert(customer.id.clone(), customer);
                pair
            })
            .collect::<Vec<_>>()
    });
    Ok(Json(Value::Array(created)).into_response())
}

async fn reset(State(state): State<EmulatorState>) -> Json<Value> {
    state.reset();
    Json(json!({ "reset": true }))
}
