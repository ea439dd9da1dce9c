//! The REST API for the product's services and customers' own systems, under `/api/v1`:
//! usage ingest, entitlements and usage, described by `/api/v1/openapi.json`. Every call but the
//! document needs `Authorization: Bearer <key>`: an organisation's key (made in the portal) acts
//! for that organisation only; a server key (made with `billing-portal api-key create --server`)
//! acts for any.

use crate::domain::ids::{Id, OrgId};
use crate::domain::metering::{check_event, IngestWindow};
use crate::server::AppState;
use crate::store::usage::{self as store, ApiKeyRow, Recorded};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Json;
use serde_json::{json, Value};

/// The most events one request may carry.
pub const MAX_BATCH: usize = 1_000;

/// `POST /api/v1/usage-events` (bodies up to 8 MiB).
pub fn ingest_route() -> MethodRouter<AppState> {
    post(ingest).layer(DefaultBodyLimit::max(8 * 1024 * 1024))
}

/// `GET /api/v1/customers/{id}/entitlements`.
pub fn entitlements_route() -> MethodRouter<AppState> {
    get(entitlements)
}

/// `GET /api/v1/customers/{id}/usage`.
pub fn usage_route() -> MethodRouter<AppState> {
    get(usage)
}

/// `GET /api/v1/openapi.json`.
pub fn openapi_route() -> MethodRouter<AppState> {
    get(openapi)
}

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": { "message": message.into() } })),
    )
        .into_response()
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "API request failed");
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "The service could not complete the request; retry it (it is safe to repeat).",
    )
}

/// A refusal for going over a rate limit: 429 with `Retry-After` and when to try again.
fn too_many(error: crate::error::AppError) -> Response {
    let wait = match error {
        crate::error::AppError::RateLimited { retry_after_secs } => retry_after_secs,
        _ => 1,
    };
    let mut response = problem(StatusCode::TOO_MANY_REQUESTS, error.to_string());
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(wait.max(1)),
    );
    response
}

/// The request's key, if it is valid and within its rate limit. Missing or invalid keys are
/// counted per client address, so guessing keys is slow; a valid key's calls are counted per key.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
) -> Result<ApiKeyRow, Response> {
    use crate::server::limits::Door;
    let peer = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    let address =
        crate::server::limits::client_address(headers, peer, state.config.trust_forwarded_for);
    let refused_key =
        |response: Response| match state.limits.check(Door::ApiFailedAuthAddress, &address) {
            Ok(()) => response,
            Err(limited) => too_many(limited),
        };
    let secret = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            refused_key(problem(
                StatusCode::UNAUTHORIZED,
                "Send an API key as Authorization: Bearer <key>. Create one on the portal's Usage page.",
            ))
        })?;
    match store::key_by_secret(&state.db, secret, state.now()).await {
        Ok(Some(key)) => match state.limits.check(Door::ApiKey, &key.id) {
            Ok(()) => Ok(key),
            Err(limited) => Err(too_many(limited)),
        },
        Ok(None) => Err(refused_key(problem(
            StatusCode::UNAUTHORIZED,
            "This API key is not valid or has been revoked.",
        ))),
        Err(e) => Err(unavailable(e)),
    }
}

/// Whether `key` may act for organisation `org_id`.
fn may_act_for(key: &ApiKeyRow, org_id: &str) -> bool {
    key.org_id.as_ref().is_none_or(|own| own == org_id)
}

/// `POST /api/v1/usage-events` with `{"events": [...]}`: each event is checked on its own; the
/// good ones are recorded (a repeated id counts once) and the response says, for every event in
/// order, whether it was accepted, a duplicate, or rejected and why.
async fn ingest(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    body: String,
) -> Response {
    let key = match authenticate(&state, &headers, &extensions).await {
        Ok(key) => key,
        Err(response) => return response,
    };
    let parsed: Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                format!("The body is not JSON ({e}). Send {{\"events\": [...]}}."),
            )
        }
    };
    let Some(events) = parsed.get("events").and_then(Value::as_array) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Send {\"events\": [...]}, a list of 1 to 1000 events.",
        );
    };
    if events.is_empty() || events.len() > MAX_BATCH {
        return problem(
            StatusCode::BAD_REQUEST,
            format!(
                "A batch holds 1 to {MAX_BATCH} events; this one has {}. Split it.",
                events.len()
            ),
        );
    }
    let meters = match store::meters(&state.db).await {
        Ok(m) => store::by_id(m),
        Err(e) => return unavailable(e),
    };
    let now = state.now();
    // Each customer's own time: an organisation on a test clock lives at the clock's time.
    let mut customer_now: std::collections::HashMap<String, i64> = Default::default();
    for raw in events {
        if let Some(customer) = raw.get("customer").and_then(Value::as_str) {
            if !customer_now.contains_key(customer) {
                // Text that is no organisation's id is refused below, event by event.
                let Ok(org) = OrgId::parse(customer) else {
                    continue;
                };
                let at = match crate::store::test_clocks::org_now(&state.db, &org, now).await {
                    Ok(at) => at,
                    Err(e) => return unavailable(e),
                };
                customer_now.insert(customer.to_string(), at);
            }
        }
    }
    let mut results: Vec<Value> = Vec::with_capacity(events.len());
    let mut good = Vec::new();
    let mut good_index = Vec::new();
    for (index, raw) in events.iter().enumerate() {
        let id = raw.get("id").and_then(Value::as_str).unwrap_or("");
        let at = raw
            .get("customer")
            .and_then(Value::as_str)
            .and_then(|c| customer_now.get(c).copied())
            .unwrap_or(now);
        match check_event(raw, |m| meters.contains_key(m), at, IngestWindow::default()) {
            Ok(event) if !may_act_for(&key, &event.customer) => results.push(json!({
                "index": index, "id": id, "status": "rejected",
                "reason": "this API key acts for another customer only",
            })),
            Ok(event) => {
                results.push(Value::Null);
                good_index.push(index);
                good.push(event);
            }
            Err(reason) => results.push(json!({
                "index": index, "id": id, "status": "rejected", "reason": reason,
            })),
        }
    }
    let actor = crate::store::audit::Actor::api_key(&key.id);
    let recorded = match store::record_events(&state.db, &good, &actor, now).await {
        Ok(r) => r,
        Err(e) => return unavailable(e),
    };
    let (mut accepted, mut duplicates) = (0, 0);
    let mut touched = std::collections::BTreeSet::new();
    for ((index, event), outcome) in good_index.iter().zip(&good).zip(recorded) {
        results[*index] = match outcome {
            Recorded::Accepted => {
                accepted += 1;
                // Accepted: the customer is an existing organisation.
                touched.insert(OrgId::from_trusted(event.customer.clone()));
                json!({ "index": index, "id": event.id, "status": "accepted" })
            }
            Recorded::Duplicate => {
                duplicates += 1;
                json!({ "index": index, "id": event.id, "status": "duplicate" })
            }
            Recorded::UnknownCustomer => json!({
                "index": index, "id": event.id, "status": "rejected",
                "reason": format!("there is no customer {:?}", event.customer),
            }),
            Recorded::OverLimit => json!({
                "index": index, "id": event.id, "status": "rejected",
                "reason": format!(
                    "counting it would take this customer's total for meter {:?} past {} units, the most one meter may hold",
                    event.meter,
                    crate::domain::metering::MAX_METER_TOTAL
                ),
            }),
        };
    }
    for org in &touched {
        state.entitlements.invalidate(org);
        if let Ok(Some(_)) = store::spend_alert(&state.db, org).await {
            match crate::services::usage::summary(&state, org).await {
                Ok(summary) => {
                    if let Err(e) = crate::services::usage::check_alert(&state, &summary).await {
                        tracing::warn!(error = %e, %org, "spend alert check failed");
                    }
                }
                Err(e) => tracing::warn!(error = %e, %org, "usage summary failed"),
            }
        }
    }
    let rejected = events.len() - accepted - duplicates;
    Json(json!({
        "accepted": accepted,
        "duplicates": duplicates,
        "rejected": rejected,
        "results": results,
    }))
    .into_response()
}

/// `GET /api/v1/customers/{id}/entitlements`: what the customer may use now.
async fn entitlements(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Path(id): Path<String>,
) -> Response {
    let id = match customer_access(&state, &headers, &extensions, &id).await {
        Ok(org_id) => org_id,
        Err(response) => return response,
    };
    match crate::services::usage::cached_entitlements(&state, &id).await {
        Ok(e) => Json(e).into_response(),
        Err(e) => unavailable(e),
    }
}

/// `GET /api/v1/customers/{id}/usage`: this period's usage per meter, its charges and projection.
async fn usage(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Path(id): Path<String>,
) -> Response {
    let id = match customer_access(&state, &headers, &extensions, &id).await {
        Ok(org_id) => org_id,
        Err(response) => return response,
    };
    match crate::services::usage::summary(&state, &id).await {
        Ok(s) => Json(s).into_response(),
        Err(e) => unavailable(e),
    }
}

/// Checks that the request's key may read customer `org_id`, and that it exists.
async fn customer_access(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
    id: &str,
) -> Result<OrgId, Response> {
    let key = authenticate(state, headers, extensions).await?;
    if !may_act_for(&key, id) {
        return Err(problem(
            StatusCode::FORBIDDEN,
            "This API key acts for another customer only.",
        ));
    }
    let missing = || {
        problem(
            StatusCode::NOT_FOUND,
            format!("There is no customer {id:?}."),
        )
    };
    let org_id = OrgId::parse(id).map_err(|_| missing())?;
    match crate::store::console::organization(&state.db, &org_id).await {
        Ok(Some(_)) => Ok(org_id),
        Ok(None) => Err(missing()),
        Err(e) => Err(unavailable(e)),
    }
}

/// `GET /api/v1/openapi.json`: the API's OpenAPI 3.1 document.
async fn openapi() -> Response {
    Json(document()).into_response()
}

/// The OpenAPI document, built from the same limits the handlers use.
pub fn document() -> Value {
    let error = json!({ "$ref": "#/components/schemas/Error" });
    let errors = |codes: &[&str]| -> Value {
        codes
            .iter()
            .map(|c| {
                (
                    c.to_string(),
                    json!({ "description": c, "content": { "application/json": { "schema": error } } }),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let customer = json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" }, "description": "The customer's organisation id (org_…)." });
    let mut ingest_responses = errors(&["400", "401", "429", "503"]);
    ingest_responses["200"] = json!({ "description": "Every event's outcome, in order.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/IngestResult" } } } });
    let mut entitlement_responses = errors(&["401", "403", "404", "429", "503"]);
    entitlement_responses["200"] = json!({ "description": "What the customer may use now.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Entitlements" } } } });
    let mut usage_responses = errors(&["401", "403", "404", "429", "503"]);
    usage_responses["200"] = json!({ "description": "This period's usage.", "content": { "application/json": { "schema": { "type": "object" } } } });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Billing portal API",
            "version": "1",
            "description": "Usage ingest and entitlements. Authenticate with Authorization: Bearer <key>."
        },
        "servers": [{ "url": "/api/v1" }],
        "security": [{ "apiKey": [] }],
        "paths": {
            "/usage-events": { "post": {
                "summary": "Record a batch of usage events",
                "description": format!("1 to {MAX_BATCH} events. An event's (customer, id) makes it idempotent: a repeat is reported as a duplicate and counted once. Each event is checked on its own: bad ones are rejected with a reason and the rest are recorded. Timestamps may be up to 35 days in the past and 5 minutes in the future."),
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "required": ["events"],
                    "properties": { "events": { "type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": { "$ref": "#/components/schemas/UsageEvent" } } }
                } } } },
                "responses": ingest_responses
            } },
            "/customers/{id}/entitlements": { "get": {
                "summary": "What a customer may use now",
                "description": "Features and limits of the customer's plan with this period's use. Cached for up to 5 seconds, and recomputed at once after a plan or seat change or after usage is recorded for the customer.",
                "parameters": [customer.clone()],
                "responses": entitlement_responses
            } },
            "/customers/{id}/usage": { "get": {
                "summary": "A customer's usage this period, its charges and projection",
                "parameters": [customer],
                "responses": usage_responses
            } }
        },
        "components": {
            "securitySchemes": { "apiKey": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Error": { "type": "object", "properties": { "error": { "type": "object", "properties": { "message": { "type": "string" } } } } },
                "UsageEvent": {
                    "type": "object", "required": ["id", "customer", "meter", "timestamp"],
                    "properties": {
                        "id": { "type": "string", "maxLength": 200, "description": "Unique per customer; repeats count once." },
                        "customer": { "type": "string", "description": "The organisation id." },
                        "meter": { "type": "string", "description": "A meter's id, e.g. build_minutes." },
                        "quantity": { "type": "integer", "minimum": 0, "maximum": crate::domain::metering::MAX_EVENT_QUANTITY, "default": 1, "description": "A customer's total per meter may not pass 10^15; an event that would is rejected." },
                        "timestamp": { "oneOf": [{ "type": "integer", "description": "Unix seconds" }, { "type": "string", "format": "date-time" }] },
                        "properties": { "type": "object", "description": "Up to 4 KiB; names of 1 to 64 letters, digits or _." }
                    }
                },
                "IngestResult": {
                    "type": "object",
                    "properties": {
                        "accepted": { "type": "integer" },
                        "duplicates": { "type": "integer" },
                        "rejected": { "type": "integer" },
                        "results": { "type": "array", "items": { "type": "object", "properties": {
                            "index": { "type": "integer" }, "id": { "type": "string" },
                            "status": { "enum": ["accepted", "duplicate", "rejected"] },
                            "reason": { "type": "string" }
                        } } }
                    }
                },
                "Entitlements": {
                    "type": "object",
                    "properties": {
                        "customer": { "type": "string" }, "plan": { "type": ["string", "null"] },
                        "status": { "type": ["string", "null"] },
                        "period_start": { "type": "integer" }, "period_end": { "type": "integer" },
                        "features": { "type": "object", "additionalProperties": { "type": "boolean" } },
                        "limits": { "type": "object", "additionalProperties": { "type": "object", "properties": {
                            "limit": { "type": ["integer", "null"] }, "used": { "type": "integer" },
                            "remaining": { "type": ["integer", "null"] }, "allowed": { "type": "boolean" },
                            "meter": { "type": "string" }
                        } } },
                        "usage_charges": { "type": "string" }, "hard_cap": { "type": ["string", "null"] },
                        "capped": { "type": "boolean" }
                    }
                }
            }
        }
    })
}
