//! Server functions answer a failure with the status that means it.
//!
//! Leptos sends every server-function error as HTTP 500 with the error's JSON body. This layer
//! reads that body back as an [`AppError`] and gives the response the error's own status (422,
//! 401, 403, 404, 409, 429 with `Retry-After`), so a client, a proxy or a log sees what happened.
//! A plain form post (JavaScript off) is answered with a redirect back to its page, which shows
//! the message; that redirect is left as it is.

use crate::error::AppError;
use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::{header, HeaderValue, StatusCode};

/// The largest error body read back (errors are a sentence or two).
const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn server_fn_statuses(request: Request, next: Next) -> Response {
    let is_server_fn =
        request.uri().path().starts_with("/api/") && !request.uri().path().starts_with("/api/v1/");
    let response = next.run(request).await;
    if !is_server_fn || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match to_bytes(body, MAX_ERROR_BODY).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(error = %e, "server function error body could not be read");
            return Response::from_parts(parts, Body::empty());
        }
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let AppError::RateLimited { retry_after_secs } = error {
            parts.headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs.max(1)),
            );
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}
