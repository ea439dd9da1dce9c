//! Stripe's `/v1` API: the gateway every call passes (API key, injected faults, idempotency)
//! and the handlers of each resource.

use std::time::Duration;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::Value;

use super::charges::{
    confirm_payment_intent, create_payment_intent, create_refund, NewPaymentIntent, NewRefund,
};
use super::checkout::{create_session, expire_session};
use super::error::ApiError;
use super::form::{self, Node, Params};
use super::idempotency::{fingerprint, mismatch_message, Lookup, StoredResponse};
use super::objects::list;
use super::state::{merge_metadata, new_id, now, Customer, RequestInfo, Store};
use super::{lock, EmulatorState};

/// Largest request body accepted (Stripe's requests are small forms).
const MAX_BODY_BYTES: usize = 1024 * 1024;

type ApiResult = Result<Json<Value>, ApiError>;

pub(super) fn routes(state: EmulatorState) -> Router<EmulatorState> {
    Router::new()
        .route("/v1/customers", get(list_customers).post(create_customer))
        .route(
            "/v1/customers/{id}",
            get(retrieve_customer).post(update_customer),
        )
        .route(
            "/v1/customers/{id}/payment_methods",
            get(list_customer_payment_methods),
        )
        .route("/v1/checkout/sessions", post(create_checkout_session))
        .route("/v1/checkout/sessions/{id}", get(retrieve_checkout_session))
        .route(
            "/v1/checkout/sessions/{id}/expire",
            post(expire_checkout_session),
        )
        .route(
            "/v1/checkout/sessions/{id}/line_items",
            get(list_checkout_line_items),
        )
        .route("/v1/payment_intents", post(create_payment_intent_handler))
        .route("/v1/payment_intents/{id}", get(retrieve_payment_intent))
        .route("/v1/setup_intents/{id}", get(retrieve_setup_intent))
        .route("/v1/charges/{id}", get(retrieve_charge))
        .route("/v1/refunds", post(create_refund_handler))
        .route("/v1/refunds/{id}", get(retrieve_refund))
        .route("/v1/payment_methods", get(list_payment_methods))
        .route("/v1/payment_methods/{id}", get(retrieve_payment_method))
        .route(
            "/v1/payment_methods/{id}/detach",
            post(detach_payment_method),
        )
        .route("/v1/events", get(list_events))
        .route("/v1/events/{id}", get(retrieve_event))
        .route("/v1/{*rest}", axum::routing::any(unrecognized))
        .layer(middleware::from_fn_with_state(state, gateway))
}

/// Every `/v1` request passes here, in Stripe's order: API key (401), injected failure (answers
/// without running the operation), idempotency (replay, conflict), the operation, then an
/// injected delay (after the operation ran, as if the response were lost).
async fn gateway(State(state): State<EmulatorState>, request: Request, next: Next) -> Response {
    let info = RequestInfo {
        id: new_id("req_"),
        idempotency_key: header(&request, "idempotency-key"),
    };
    let mut response = run_gateway(&state, info.clone(), request, next).await;
    if let Ok(value) = HeaderValue::from_str(&info.id) {
        response.headers_mut().insert("request-id", value);
    }
    response
}

async fn run_gateway(
    state: &EmulatorState,
    info: RequestInfo,
    request: Request,
    next: Next,
) -> Response {
    if let Err(error) = check_api_key(state, header(&request, "authorization").as_deref()) {
        return error.into_response();
    }

    if let Some(status) = state.take_injected_failure() {
        return ApiError::api(status).into_response();
    }
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return ApiError::invalid_request("Request body too large.", "body").into_response()
        }
    };
    if !body.is_empty()
        && !super::content_type_is(&parts.headers, "application/x-www-form-urlencoded")
    {
        let mut error = ApiError::invalid_request(
            "Stripe's API takes form-encoded bodies: send Content-Type: application/x-www-form-urlencoded.",
            "content-type",
        );
        error.status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        return error.into_response();
    }
    let key = info
        .idempotency_key
        .clone()
        .filter(|_| method == Method::POST);
    let mut claim = None;
    if let Some(key) = &key {
        let request_fingerprint = fingerprint(method.as_str(), &path, &body);
        let lookup = lock(&state.inner.idempotency).begin(key, &request_fingerprint);
        match lookup {
            Lookup::Fresh => {
                claim = Some(KeyClaim {
                    state: state.clone(),
                    key: key.clone(),
                })
            }
            Lookup::Replay(stored) => return replayed(stored),
            Lookup::Mismatch => {
                return ApiError::idempotency(mismatch_message(key)).into_response()
            }
            Lookup::InProgress => {
                let mut error = ApiError::idempotency(
                    "There is currently another in-progress request using this Stripe-Idempotency-Key. Please try again later.",
                )
                .with_code("idempotency_key_in_use");
                error.status = StatusCode::CONFLICT;
                return error.into_response();
            }
        }
    }
    let mut request = Request::from_parts(parts, Body::from(body));
    request.extensions_mut().insert(info);
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let body = to_bytes(body, usize::MAX).await.unwrap_or_default();
    if let Some(claim) = claim {
        claim.finish(StoredResponse {
            status: parts.status,
            body: body.to_vec(),
        });
    }
    if let Some(delay) = state.take_injected_timeout() {
        tokio::time::sleep(delay).await;
    }
    Response::from_parts(parts, Body::from(body))
}

/// A key whose request is running. Dropped without [`KeyClaim::finish`] (the request future
/// was cancelled), it releases the key so a retry runs the request.
struct KeyClaim {
    state: EmulatorState,
    key: String,
}

impl KeyClaim {
    fn finish(self, response: StoredResponse) {
        lock(&self.state.inner.idempotency).finish(&self.key, response);
    }
}

impl Drop for KeyClaim {
    fn drop(&mut self) {
        // A no-op once finished: `abandon` only forgets keys still running.
        lock(&self.state.inner.idempotency).abandon(&self.key);
    }
}

fn replayed(stored: StoredResponse) -> Response {
    let mut response = (stored.status, Bytes::from(stored.body)).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Only this emulator's own secret key is accepted; any other key, test or live, is 401.
fn check_api_key(state: &EmulatorState, authorization: Option<&str>) -> Result<(), ApiError> {
    let Some(value) = authorization else {
        return Err(ApiError::unauthorized(
            "You did not provide an API key. You need to provide your API key in the Authorization header, \
             using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        ));
    };
    if state.authorised(Some(value)) {
        Ok(())
    } else {
        let key = value.strip_prefix("Bearer ").unwrap_or("").trim();
        let shown: String = key.chars().take(12).collect();
        Err(ApiError::unauthorized(format!(
            "Invalid API Key provided: {shown}*** (this Stripe emulator accepts only the secret key it printed at start)"
        )))
    }
}

impl EmulatorState {
    fn take_injected_failure(&self) -> Option<StatusCode> {
        lock(&self.inner.faults).take_failure()
    }

    fn take_injected_timeout(&self) -> Option<Duration> {
        lock(&self.inner.faults).take_timeout()
    }
}

async fn unrecognized(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::unrecognized_url(method.as_str(), uri.path())
}

fn parse_form(body: &Bytes) -> Result<Node, ApiError> {
    form::parse(body)
}

fn parse_query(query: &Option<String>) -> Result<Node, ApiError> {
    form::parse(query.as_deref().unwrap_or("").as_bytes())
}

// ---- customers ----

async fn create_customer(
    State(state): State<EmulatorState>,
    Extension(info): Extension<RequestInfo>,
    body: Bytes,
) -> ApiResult {
    let tree = parse_form(&body)?;
    let params = Params::root(&tree);
    let customer = Customer {
        id: new_id("cus_"),
        created: now(),
        email: params.string("email")?,
        name: params.string("name")?,
        description: params.string("description")?,
        phone: params.string("phone")?,
        metadata: params
            .metadata("metadata")?
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect(),
        default_payment_method: None,
    };
    let json = customer.to_json();
    state.write(Some(&info), |store| {
        store.emit("customer.created", json.clone());
        store.customers.insert(customer.id.clone(), customer);
    });
    expanded(&state, json, &params)
}

async fn retrieve_customer(
    State(state): State<EmulatorState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let tree = parse_query(&query)?;
    let json = state.read(|store| store.customers.get(&id).map(Customer::to_json));
    let json = json.ok_or_else(|| ApiError::not_found("customer", &id))?;
    expanded(&state, json, &Params::root(&tree))
}

/// Updates contact fields, merges metadata, and sets
/// `invoice_settings[default_payment_method]` (which must be attached to this customer).
async fn update_customer(
    State(state): State<EmulatorState>,
    Extension(info): Extension<RequestInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let tree = parse_form(&body)?;
    let params = Params::root(&tree);
    let email = params.string("email")?;
    let name = params.string("name")?;
    let description = params.string("description")?;
    let phone = params.string("phone")?;
    let metadata = params.metadata("metadata")?;
    let default_payment_method = match params.object("invoice_settings")? {
        Some(settings) => settings.string("default_payment_method")?,
        None => None,
    };
    let json = state.write(Some(&info), |store| -> Result<Value, ApiError> {
        if let Some(pm) = &default_payment_method {
            let attached_here = store.payment_methods.get(pm).map(|p| p.customer.as_deref() == Some(id.as_str()));
            match attached_here {
                None => return Err(ApiError::no_such_param("PaymentMethod", pm, "invoice_settings[default_payment_method]")),
                Some(false) => {
                    return Err(ApiError::invalid_request(
                        format!("The customer does not have a payment method with the ID {pm}. The payment method must be attached to the customer."),
                        "invoice_settings[default_payment_method]",
                    ))
                }
                Some(true) => {}
            }
        }
        let customer = store.customers.get_mut(&id).ok_or_else(|| ApiError::not_found("customer", &id))?;
        if email.is_some() {
            customer.email = email;
        }
        if name.is_some() {
            customer.name = name;
        }
        if description.is_some() {
            customer.description = description;
        }
        if phone.is_some() {
            customer.phone = phone;
        }
        if let Some(update) = metadata {
            if update.is_empty() {
                customer.metadata.clear();
            }
            merge_metadata(&mut customer.metadata, update);
        }
        if default_payment_method.is_some() {
            customer.default_payment_method = default_payment_method;
        }
        let json = customer.to_json();
        store.emit("customer.updated", json.clone());
        Ok(json)
    })?;
    expanded(&state, json, &params)
}

/// `GET /v1/customers?email=...`: newest first, optionally by exact email; `limit` defaults to 10.
async fn list_customers(
    State(state): State<EmulatorState>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let tree = parse_query(&query)?;
    let params = Params::root(&tree);
    let email = params.string("email")?;
    let limit = params.integer("limit")?.unwrap_or(10).clamp(1, 100) as usize;
    let data = state.read(|store| {
        let mut customers: Vec<&Customer> = store
            .customers
            .values()
            .filter(|c| email.is_none() || c.email == email)
            .collect();
        customers.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.id.cmp(&a.id)));
        customers
            .into_iter()
            .take(limit)
            .map(Customer::to_json)
            .collect()
    });
    Ok(Json(list("/v1/customers", data)))
}

async fn list_customer_payment_methods(
    State(state): State<EmulatorState>,
    Path(id): Path<String>,
) -> ApiResult {
    let data = state.read(|store| -> Result<Vec<Value>, ApiError> {
        if !store.customers.contains_key(&id) {
            return Err(ApiError::not_found("customer", &id));
        }
        Ok(store
            .payment_methods_of(&id)
            .into_iter()
            .map(|pm| pm.to_json())
            .collect())
    })?;
    Ok(Json(list(
        &format!("/v1/customers/{id}/payment_methods"),
        data,
    )))
}

// ---- checkout sessions ----

async fn create_checkout_session(
    State(state): State<EmulatorState>,
    Extension(info): Extension<RequestInfo>,
    body: Bytes,
) -> ApiResult {
    let tree = parse_form(&body)?;
    let params = Params::root(&tree);
    let url_state = state.clone();
    let session = state.write(Some(&info), |store| {
        create_session(store, &params, |id| url_state.checkout_url(id))
    })?;
    expanded(&state, session.to_json(), &params)
}

async fn retrieve_checkout_session(
    State(state): State<EmulatorState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let tree = parse_query(&query)?;
    let params = Params::root(&tree);
    let json = state.read(|store| store.sessions.get(&id).map(|s| s.to_json()));
    let json = json.ok_or_else(|| ApiError::not_found("checkout.session", &id))?;
    expanded(&state, json, &params)
}

async fn expire_checkout_session(
    State(state): State<EmulatorState>,
    Extension(info): Extension<RequestInfo>,
    Path(id): Path<String>,
) -> ApiResult {
    let session = state.write(Some(&info), |store| expire_session(store, &id))?;
    Ok(Json(session.to_json()))
}

async fn list_checkout_line_items(
    State(state): State<EmulatorState>,
    Path(id): Path<String>,
) -> ApiResult {
    let items = state.read(|store| {
        store
            .sessions
            .get(&id)
            .map(|s| s.line_items.iter().map(|i| i.to_json()).collect())
    });
    let items: Vec<Value> = items.ok_or_else(|| ApiError::not_found("checkout.session", &id))?;
    Ok(Json(list(
        &format!("/v1/checkout/sessions/{id}/line_items"),
        items,
    )))
}

// ---- payment intents ----

/// Creates a payment intent; with `confirm=true` it is charged at once. The off-session charge
/// of a saved card is `customer`, `payment_method`, `confirm=true`, `off_session=true`.
async fn create_payment_intent_handler(
    State(state): State<EmulatorState>,
    Extension(info): Extension<RequestInfo>,
    body: Bytes,
) -> ApiResult {
    let tree = parse_form(&body)?;
    let params = Params::root(&tree);
    let amount = params
        .integer("amount")?
        .ok_or_else(|| ApiError::missing_param("amount"))?;
    if amount < 1 {
        return Err(ApiError::invalid_request(
            "Amount must be at least 1 (in the currency's minor unit).",
            "amount",
        )
        .with_code("amount_too_small"));
    }
    let currency = params.required_string("currency")?.to_ascii_lowercase();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(ApiError::invalid_request(
            format!("Invalid currency: {currency}."),
            "currency",
        ));
    }
    let customer = params.string("customer")?;
    let payment_method = params.string("payment_method")?;
    let confirm = params.boolean("confirm")?.unwrap_or(false);
    let off_session = params.boolean("off_session")?.unwrap_or(false);
    if off_session && !confirm {
        return Err(ApiError::invalid_request(
            "off_session can only be used when confirm=true.",
            "off_session",
        ));
    }
    if confirm && payment_method.is_none() {
        return Err(ApiError::invalid_request(
            "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.",
            "payment_method",
        )
        .with_code("payment_intent_unexpected_state"));
    }
    let new = NewPaymentIntent {
        amount,
        currency,
        customer: customer.clone(),
        payment_method: payment_method.clone(),
        description: params.string("description")?,
        metadata: params
            .metadata("metadata")?
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect(),
        setup_future_usage: params.string("setup_future_usage")?,
    };
    let json = state.write(Some(&info), |store| -> Result<Value, ApiError> {
        check_payment_method_use(store, customer.as_deref(), payment_method.as_deref())?;
        let id = create_payment_intent(store, new);
        if let (true, Some(pm)) = (confirm, &payment_method) {
            confirm_payment_intent(store, &id, pm, off_session)?;
        }
        store
            .payment_intents
            .get(&id)
            .map(|pi| pi.to_json())
            .ok_or_else(|| ApiError::api(StatusCode::INTERNAL_SERVER_ERROR))
    })?;
    expanded(&state, json, &params)
}

/// The customer must exist, and a payment method attached to a customer can only be used
/// with that customer (Stripe's rule).
fn check_payment_method_use(
    store: &Store,
    customer: Option<&str>,
    payment_method: Option<&str>,
) -> Result<(), ApiError> {
    if let Some(customer) = customer {
        if !store.customers.contains_key(customer) {
            return Err(ApiError::no_such_param("customer", customer, "customer"));
        }
    }
    let Some(pm_id) = payment_method else {
        return Ok(());
    };
    let pm = store
        .payment_methods
        .get(pm_id)
        .ok_or_else(|| ApiError::no_such_param("PaymentMethod", pm_id, "payment_method"))?;
    match (&pm.customer, customer) {
        (Some(owner), Some(customer)) if owner != customer => Err(ApiError::invalid_request(
            format!("The provided PaymentMethod {pm_id} is attached to another Customer than {customer}."),
            "payment_method",
        )),
        (Some(_), None) => Err(ApiError::invalid_request(
            format!("The provided PaymentMethod {pm_id} is attached to a Customer; pass that `customer` too."),
            "customer",
        )),
        _ => Ok(()),
    }
}

async fn retrieve_payment_intent(
    State(state): State<EmulatorState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let tree = parse_query(&query)?;
    let json = state.read(|store| store.payment_intents.get(&id).map(|pi| pi.to_json()));
    let json = json.ok_or_else(|| ApiError::not_found("payment_intent", &id))?;
    expanded(&state, json, &Params::root(&tree))
}

async fn retrieve_setup_intent(
    State(state): State<EmulatorState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let tree = parse_query(&query)?;
    let json = state.read(|store| store.setup_intents.get(&id).map(|si| si.to_json()));
    let json = json.ok_or_else(|| ApiError::not_found("setup_intent", &id))?;
    expanded(&state, json, &Params::root(&tree))
}

async fn retrieve_charge(State(state): State<EmulatorState>, Path(id): Path<String>) -> ApiResult {
    let json = state.read(|store| store.charges.get(&id).map(|c| c.to_json()));
    json.map(Json)
        .ok_or_else(|| ApiError::not_found("charge", &id))
}

// ---- refunds ----

async fn create_refund_handler(
    State(state): State<EmulatorState>,
    Extension(info): Extension<RequestInfo>,
    body: Bytes,
) -> ApiResult {
    let tree = parse_form(&body)?;
    let params = Params::root(&tree);
    let new = NewRefund {
        payment_intent: params.string("payment_intent")?,
        charge: params.string("charge")?,
        amount: params.integer("amount")?,
        reason: params.string("reason")?,
        metadata: params.metadata("metadata")?.unwrap_or_default(),
    };
    let refund = state.write(Some(&info), |store| create_refund(store, new))?;
    Ok(Json(refund.to_json()))
}

async fn retrieve_refund(State(state): State<EmulatorState>, Path(id): Path<String>) -> ApiResult {
    let json = state.read(|store| store.refunds.get(&id).map(|r| r.to_json()));
    json.map(Json)
        .ok_or_else(|| ApiError::not_found("refund", &id))
}

// ---- payment methods ----

/// `GET /v1/payment_methods?customer=cus_...&type=card`: the customer's cards, newest first.
async fn list_payment_methods(
    State(state): State<EmulatorState>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let tree = parse_query(&query)?;
    let params = Params::root(&tree);
    let customer = params.string("customer")?;
    let kind = params.string("type")?;
    if kind.as_deref().is_some_and(|k| k != "card") {
        return Ok(Json(list("/v1/payment_methods", Vec::new())));
    }
    let data = state.read(|store| -> Result<Vec<Value>, ApiError> {
        match &customer {
            Some(customer) => {
                if !store.customers.contains_key(customer) {
                    return Err(ApiError::no_such_param("customer", customer, "customer"));
                }
                Ok(store
                    .payment_methods_of(customer)
                    .into_iter()
                    .map(|pm| pm.to_json())
                    .collect())
            }
            None => Ok(store
                .payment_method_order
                .iter()
                .rev()
                .filter_map(|id| store.payment_methods.get(id))
                .map(|pm| pm.to_json())
                .collect()),
        }
    })?;
    Ok(Json(list("/v1/payment_methods", data)))
}

async fn retrieve_payment_method(
    State(state): State<EmulatorState>,
    Path(id): Path<String>,
) -> ApiResult {
    let json = state.read(|store| store.payment_methods.get(&id).map(|pm| pm.to_json()));
    json.map(Json)
        .ok_or_else(|| ApiError::not_found("payment_method", &id))
}

/// Detaches a card from its customer (`payment_method.detached`); it can no longer be charged
/// and stops being the customer's default.
async fn detach_payment_method(
    State(state): State<EmulatorState>,
    Extension(info): Extension<RequestInfo>,
    Path(id): Path<String>,
) -> ApiResult {
    let json = state.write(Some(&info), |store| -> Result<Value, ApiError> {
        let pm = store.payment_methods.get_mut(&id).ok_or_else(|| ApiError::not_found("payment_method", &id))?;
        let Some(customer) = pm.customer.take() else {
            return Err(ApiError::invalid_request(
                "The payment method you provided is not attached to a customer so detachment is impossible.",
                "payment_method",
            ));
        };
        let json = pm.to_json();
        if let Some(owner) = store.customers.get_mut(&customer) {
            if owner.default_payment_method.as_deref() == Some(id.as_str()) {
                owner.default_payment_method = None;
            }
        }
        store.emit("payment_method.detached", json.clone());
        Ok(json)
    })?;
    Ok(Json(json))
}

// ---- events ----

async fn retrieve_event(State(state): State<EmulatorState>, Path(id): Path<String>) -> ApiResult {
    let json = state.read(|store| store.event(&id).map(|e| e.to_json()));
    json.map(Json)
        .ok_or_else(|| ApiError::not_found("event", &id))
}

/// Newest first, optionally filtered by `type`; `limit` defaults to 10 like Stripe's.
async fn list_events(State(state): State<EmulatorState>, RawQuery(query): RawQuery) -> ApiResult {
    let tree = parse_query(&query)?;
    let params = Params::root(&tree);
    let type_filter = params.string("type")?;
    let limit = params.integer("limit")?.unwrap_or(10).clamp(1, 100) as usize;
    let data = state.read(|store| {
        store
            .events
            .iter()
            .rev()
            .filter(|e| type_filter.as_deref().is_none_or(|t| e.type_ == t))
            .take(limit)
            .map(|e| e.to_json())
            .collect()
    });
    Ok(Json(list("/v1/events", data)))
}

// ---- expansion ----

/// Applies `expand[]=field` / `expand[]=field.nested`: each named id is replaced by its object.
fn expanded(state: &EmulatorState, mut json: Value, params: &Params<'_>) -> ApiResult {
    let paths = params.strings("expand");
    if paths.is_empty() {
        return Ok(Json(json));
    }
    state.read(|store| {
        for path in &paths {
            let segments: Vec<&str> = path.split('.').collect();
            expand_path(store, &mut json, &segments);
        }
    });
    Ok(Json(json))
}

fn expand_path(store: &Store, json: &mut Value, segments: &[&str]) {
    let Some((field, rest)) = segments.split_first() else {
        return;
    };
    if *field == "line_items" {
        if let Some(session) = json
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| store.sessions.get(id))
        {
            let url = format!("/v1/checkout/sessions/{}/line_items", session.id);
            let items = session.line_items.iter().map(|i| i.to_json()).collect();
            if let Some(object) = json.as_object_mut() {
                object.insert("line_items".into(), list(&url, items));
            }
        }
        return;
    }
    let Some(target) = json.get_mut(*field) else {
        return;
    };
    if let Some(id) = target.as_str().map(str::to_owned) {
        if let Some(object) = lookup_object(store, &id) {
            *target = object;
        }
    }
    if !rest.is_empty() {
        expand_path(store, target, rest);
    }
}

/// Any object by its id prefix.
fn lookup_object(store: &Store, id: &str) -> Option<Value> {
    let prefix = id.split('_').next().unwrap_or("");
    match prefix {
        "cus" => store.customers.get(id).map(Customer::to_json),
        "pi" => store.payment_intents.get(id).map(|o| o.to_json()),
        "pm" => store.payment_methods.get(id).map(|o| o.to_json()),
        "seti" => store.setup_intents.get(id).map(|o| o.to_json()),
        "ch" => store.charges.get(id).map(|o| o.to_json()),
        "re" => store.refunds.get(id).map(|o| o.to_json()),
        "cs" => store.sessions.get(id).map(|o| o.to_json()),
        _ => None,
    }
}
