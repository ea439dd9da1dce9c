//! `POST /webhooks/stripe`: verify the signature on the raw body, store the event in the inbox,
//! answer 200 at once, and process the inbox in the background.

use crate::payments::webhook::{self, DEFAULT_TOLERANCE_SECS};
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

pub async fn stripe(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    // Signatures are checked against real time: Stripe signs with its clock, not a test clock.
    let now = chrono::Utc::now().timestamp();
    if let Err(e) = webhook::verify(
        signature,
        &body,
        &state.payments.webhook_secret,
        now,
        DEFAULT_TOLERANCE_SECS,
    ) {
        tracing::warn!(error = %e, "webhook refused");
        return (StatusCode::BAD_REQUEST, "invalid signature");
    }
    let event = match webhook::parse_event(&body) {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(error = %e, "webhook body refused");
            return (StatusCode::BAD_REQUEST, "not a Stripe event");
        }
    };
    let payload = String::from_utf8_lossy(&body);
    match crate::store::events::record(
        &state.db,
        &event.id,
        &event.kind,
        event.created,
        &payload,
        state.now(),
    )
    .await
    {
        Ok(new) => {
            tracing::info!(event = %event.id, kind = %event.kind, new, "webhook received");
            if new {
                let state = state.clone();
                tokio::spawn(async move {
                    crate::services::fulfilment::process_pending(&state).await;
                });
            }
            (StatusCode::OK, "ok")
        }
        Err(e) => {
            // Not stored: answer 5xx so that Stripe delivers it again.
            tracing::error!(error = %e, "cannot store a webhook event");
            (StatusCode::SERVICE_UNAVAILABLE, "try again")
        }
    }
}
