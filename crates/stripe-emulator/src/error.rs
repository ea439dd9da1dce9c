//! Stripe's error object (`{"error": {...}}`) and the HTTP status that goes with each kind.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// The `type` of a Stripe error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorType {
    Api,
    Card,
    Idempotency,
    InvalidRequest,
}

impl ErrorType {
    fn as_str(self) -> &'static str {
        match self {
            ErrorType::Api => "api_error",
            ErrorType::Card => "card_error",
            ErrorType::Idempotency => "idempotency_error",
            ErrorType::InvalidRequest => "invalid_request_error",
        }
    }
}

/// A Stripe API error, answered as `{"error": {...}}` with its HTTP status. Boxed so that
/// `Result<_, ApiError>` stays small.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} {}: {}", .0.status, .0.kind.as_str(), .0.message)]
pub(crate) struct ApiError(Box<ApiErrorDetails>);

/// The members of [`ApiError`].
#[derive(Debug, Clone)]
pub(crate) struct ApiErrorDetails {
    pub status: StatusCode,
    pub kind: ErrorType,
    pub code: Option<String>,
    pub decline_code: Option<String>,
    pub message: String,
    pub param: Option<String>,
    /// Extra members of the error object (`payment_intent`, `payment_method`, `charge`).
    pub extra: serde_json::Map<String, Value>,
}

impl std::ops::Deref for ApiError {
    type Target = ApiErrorDetails;

    fn deref(&self) -> &ApiErrorDetails {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ApiErrorDetails {
        &mut self.0
    }
}

impl ApiError {
    fn new(status: StatusCode, kind: ErrorType, message: impl Into<String>) -> Self {
        ApiError(Box::new(ApiErrorDetails {
            status,
            kind,
            code: None,
            decline_code: None,
            message: message.into(),
            param: None,
            extra: serde_json::Map::new(),
        }))
    }

    /// 400 `invalid_request_error` about one parameter.
    pub fn invalid_request(message: impl Into<String>, param: &str) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, ErrorType::InvalidRequest, message);
        error.param = Some(param.to_owned());
        error
    }

    /// 400 `parameter_missing`.
    pub fn missing_param(param: &str) -> Self {
        Self::invalid_request(format!("Missing required param: {param}."), param)
            .with_code("parameter_missing")
    }

    /// 400 `resource_missing` for an id given as a parameter (`customer=cus_nope`).
    pub fn no_such_param(kind: &str, id: &str, param: &str) -> Self {
        Self::invalid_request(format!("No such {kind}: '{id}'"), param)
            .with_code("resource_missing")
    }

    /// 404 `resource_missing` for an id in the URL path.
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequest,
            format!("No such {kind}: '{id}'"),
        )
        .with_code("resource_missing")
        .with_param("id")
    }

    /// 404 for a URL that is no Stripe endpoint.
    pub fn unrecognized_url(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequest,
            format!("Unrecognized request URL ({method}: {path})."),
        )
    }

    /// 401 for a missing or malformed API key.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorType::InvalidRequest, message)
    }

    /// 402 `card_error`.
    pub fn card(code: &str, decline_code: Option<&str>, message: &str) -> Self {
        let mut error =
            Self::new(StatusCode::PAYMENT_REQUIRED, ErrorType::Card, message).with_code(code);
        error.decline_code = decline_code.map(str::to_owned);
        error
    }

    /// 400 `idempotency_error`.
    pub fn idempotency(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorType::Idempotency, message)
    }

    /// An `api_error` with the given 5xx (or other) status, as injected by `fail_next`.
    pub fn api(status: StatusCode) -> Self {
        Self::new(
            status,
            ErrorType::Api,
            "An unknown error occurred while processing your request (injected by the Stripe emulator).",
        )
    }

    pub fn with_code(mut self, code: &str) -> Self {
        self.code = Some(code.to_owned());
        self
    }

    pub fn with_param(mut self, param: &str) -> Self {
        self.param = Some(param.to_owned());
        self
    }

    pub fn with_object(mut self, key: &str, object: Value) -> Self {
        self.extra.insert(key.to_owned(), object);
        self
    }

    /// The `{"error": {...}}` body.
    pub fn body(&self) -> Value {
        let mut error = serde_json::Map::new();
        error.insert("type".into(), json!(self.kind.as_str()));
        error.insert("message".into(), json!(self.message));
        if let Some(code) = &self.code {
            error.insert("code".into(), json!(code));
            error.insert(
                "doc_url".into(),
                json!(format!(
                    "https://stripe.com/docs/error-codes/{}",
                    code.replace('_', "-")
                )),
            );
        }
        if let Some(decline_code) = &self.decline_code {
            error.insert("decline_code".into(), json!(decline_code));
        }
        if let Some(param) = &self.param {
            error.insert("param".into(), json!(param));
        }
        for (key, value) in &self.extra {
            error.insert(key.clone(), value.clone());
        }
        json!({ "error": error })
    }

    /// The `error` member alone, as stored in `last_payment_error`.
    pub fn error_object(&self) -> Value {
        self.body().get("error").cloned().unwrap_or(Value::Null)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let should_retry = matches!(self.kind, ErrorType::Api);
        let mut response = (self.status, axum::Json(self.body())).into_response();
        let should_retry =
            axum::http::HeaderValue::from_static(if should_retry { "true" } else { "false" });
        response
            .headers_mut()
            .insert("stripe-should-retry", should_retry);
        response
    }
}
