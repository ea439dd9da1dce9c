//! Webhook delivery: every emitted event is POSTed to every endpoint, signed like Stripe
//! (`Stripe-Signature: t={unix},v1={hex hmac_sha256(secret, "{t}.{body}")}`), in the
//! background. A non-2xx answer or a connection error is retried after each delay of the retry
//! schedule; every attempt is recorded. Chaos settings can duplicate, delay and reorder them.

use std::sync::atomic::Ordering;
use std::sync::Weak;
use std::time::Duration;

use tokio::sync::mpsc;

use super::state::{now, Delivery, Event};
use super::{lock, Inner, WebhookEndpoint};

/// How long the dispatcher collects events before delivering a batch in reverse (`reorder`).
const REORDER_WINDOW: Duration = Duration::from_millis(200);
/// An endpoint that does not answer within this is a failed attempt.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The hex `v1` signature of `payload` sent at `timestamp`: HMAC-SHA256 keyed with the whole
/// endpoint secret (`whsec_...` included, as Stripe does) over `"{timestamp}.{payload}"`.
pub fn sign_payload(secret: &str, timestamp: i64, payload: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Endpoints and chaos settings, changeable at run time through the control API.
#[derive(Debug, Clone)]
pub(crate) struct WebhookSettings {
    pub endpoints: Vec<WebhookEndpoint>,
    /// Deliver every event twice.
    pub duplicate: bool,
    /// Wait this long before delivering.
    pub delay: Duration,
    /// Deliver each batch of queued events newest first.
    pub reorder: bool,
}

impl WebhookSettings {
    pub fn new(endpoints: Vec<WebhookEndpoint>) -> Self {
        WebhookSettings {
            endpoints,
            duplicate: false,
            delay: Duration::ZERO,
            reorder: false,
        }
    }
}

/// Starts the task that delivers queued events. It holds the state weakly and ends when the
/// state is gone.
pub(super) fn spawn_dispatcher(state: Weak<Inner>, mut queue: mpsc::UnboundedReceiver<Event>) {
    let client = reqwest::Client::builder()
        .timeout(DELIVERY_TIMEOUT)
        .build()
        .unwrap_or_default();
    tokio::spawn(async move {
        while let Some(first) = queue.recv().await {
            let Some(settings) = state.upgrade().map(|inner| lock(&inner.webhooks).clone()) else {
                return;
            };
            let mut batch = vec![first];
            if settings.reorder {
                tokio::time::sleep(settings.delay.max(REORDER_WINDOW)).await;
                while let Ok(next) = queue.try_recv() {
                    batch.push(next);
                }
                batch.reverse();
            } else if !settings.delay.is_zero() {
                tokio::time::sleep(settings.delay).await;
            }
            let copies = if settings.duplicate { 2 } else { 1 };
            for event in batch {
                for _ in 0..copies {
                    let endpoints = match state.upgrade() {
                        Some(inner) if !inner.stopped.load(Ordering::SeqCst) => {
                            lock(&inner.webhooks).endpoints.clone()
                        }
                        _ => return,
                    };
                    for endpoint in endpoints {
                        deliver(&state, &client, &event, endpoint).await;
                    }
                }
            }
        }
    });
}

/// First attempt now (in order with other events); retries in the background.
async fn deliver(
    state: &Weak<Inner>,
    client: &reqwest::Client,
    event: &Event,
    endpoint: WebhookEndpoint,
) {
    let payload = event.to_json().to_string();
    let Some(generation) = state
        .upgrade()
        .map(|inner| inner.generation.load(Ordering::SeqCst))
    else {
        return;
    };
    if attempt(state, client, event, &endpoint, &payload, 1).await {
        return;
    }
    let state = state.clone();
    let client = client.clone();
    let event = event.clone();
    tokio::spawn(async move {
        let schedule = match state.upgrade() {
            Some(inner) => inner.retry_schedule.clone(),
            None => return,
        };
        for (retry, delay) in schedule.into_iter().enumerate() {
            tokio::time::sleep(delay).await;
            let still_current = state.upgrade().is_some_and(|inner| {
                !inner.stopped.load(Ordering::SeqCst)
                    && inner.generation.load(Ordering::SeqCst) == generation
            });
            if !still_current {
                return;
            }
            let number = u32::try_from(retry).unwrap_or(u32::MAX).saturating_add(2);
            if attempt(&state, &client, &event, &endpoint, &payload, number).await {
                return;
            }
        }
    });
}

/// One signed POST; records it and says whether the endpoint took it (2xx).
async fn attempt(
    state: &Weak<Inner>,
    client: &reqwest::Client,
    event: &Event,
    endpoint: &WebhookEndpoint,
    payload: &str,
    number: u32,
) -> bool {
    let timestamp = now();
    let signature = format!(
        "t={timestamp},v1={}",
        sign_payload(&endpoint.secret, timestamp, payload)
    );
    let result = client
        .post(&endpoint.url)
        .header("content-type", "application/json; charset=utf-8")
        .header("stripe-signature", signature)
        .header(
            "user-agent",
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        )
        .body(payload.to_owned())
        .send()
        .await;
    let (status, error) = match result {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(error) => (None, Some(error.to_string())),
    };
    let delivered = status.is_some_and(|s| (200..300).contains(&s));
    if !delivered {
        tracing::debug!(event = %event.id, url = %endpoint.url, ?status, ?error, attempt = number, "webhook delivery failed");
    }
    let record = Delivery {
        event_id: event.id.clone(),
        event_type: event.type_.clone(),
        url: endpoint.url.clone(),
        attempt: number,
        status,
        error,
        delivered,
        at: chrono::Utc::now().to_rfc3339(),
    };
    if let Some(inner) = state.upgrade() {
        lock(&inner.store).deliveries.push(record);
    }
    delivered
}
