//! The Stripe emulator: a stateful, Stripe-compatible HTTP server that the billing portal's
//! async-stripe client talks to when no Stripe key is configured. The portal runs it in-process;
//! the `stripe-emulator` binary (and `billing-portal stripe-emulator`) runs it alone.
//!
//! It speaks Stripe's wire format (form-encoded requests with bracket nesting, JSON objects with
//! Stripe ids, Stripe's error object and statuses, `Idempotency-Key` replay), serves a hosted
//! checkout page with Stripe's test cards, signs and delivers webhooks with retries, and takes
//! fault injection through a control API under `/_emulator/` (see [`control`]).
//!
//! It cannot be mistaken for Stripe, nor driven by a stranger: the `/v1` API and the control API
//! answer only requests that carry its secret (`Authorization: Bearer <secret>`, a random
//! `sk_test_emu_…` made at start unless one is configured) and the content type Stripe uses
//! (form-encoded for `/v1`, JSON for the control API), so a web page cannot reach them with a
//! simple form or `text/plain` request. The hosted checkout page is open, as Stripe's is, but its
//! forms accept only posts from the page itself.
//!
//! ```ignore
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let emulator = stripe_emulator::start(listener, EmulatorConfig::default()).await?;
//! let client = stripe::ClientBuilder::new(&emulator.secret).url(&emulator.base_url).build()?;
//! ```

mod api;
#[cfg(feature = "args")]
pub mod args;
mod cards;
mod charges;
mod checkout;
mod checkout_page;
mod control;
mod error;
mod form;
mod idempotency;
mod money;
mod objects;
mod standalone;
mod state;
mod webhooks;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use control::Faults;
use idempotency::IdempotencyCache;
use state::{Event, RequestInfo, Store};
use webhooks::WebhookSettings;

pub use standalone::run_alone;
pub use webhooks::sign_payload;

/// Decodes a form body the way the `/v1` API does (bracket nesting, `[]` appends): the number
/// of values it holds, or the error message the API would answer with. The API's own decoder,
/// for tests and fuzzing from outside the emulator.
pub fn decode_form(body: &[u8]) -> Result<usize, String> {
    fn count(node: &form::Node) -> usize {
        match node {
            form::Node::Value(_) => 1,
            form::Node::Map(children) => children.values().map(count).sum(),
        }
    }
    let node = form::parse(body).map_err(|e| e.to_string())?;
    // Every accessor answers any key without panicking.
    let params = form::Params::root(&node);
    for key in ["amount", "metadata", "line_items", "expand", "customer"] {
        let _ = params.string(key);
        let _ = params.integer(key);
        let _ = params.boolean(key);
        let _ = params.metadata(key);
        let _ = params.list(key);
        let _ = params.object(key);
        let _ = params.strings(key);
    }
    Ok(count(&node))
}

/// How the emulator is set up at start.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Base of the hosted checkout page URLs (`{public_base_url}/checkout/{id}`), when the
    /// browser reaches the emulator through another address than `base_url`.
    pub public_base_url: Option<String>,
    /// Where events are delivered, each signed with its endpoint's secret.
    pub webhook_endpoints: Vec<WebhookEndpoint>,
    /// Delays before each retry of a failed delivery; its length is the number of retries.
    pub retry_schedule: Vec<Duration>,
    /// The only API key the `/v1` and control APIs accept; `None` makes a random one.
    pub secret: Option<String>,
}

impl Default for EmulatorConfig {
    /// No endpoints; retries after 1, 2, 4, 8 and 16 seconds.
    fn default() -> Self {
        EmulatorConfig {
            public_base_url: None,
            webhook_endpoints: Vec::new(),
            retry_schedule: [1, 2, 4, 8, 16]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            secret: None,
        }
    }
}

/// A webhook endpoint: events are POSTed to `url`, signed with `secret` (`whsec_...`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WebhookEndpoint {
    pub url: String,
    pub secret: String,
}

/// A running emulator. Dropping it, or calling [`EmulatorHandle::shutdown`], stops the server.
#[derive(Debug)]
pub struct EmulatorHandle {
    /// `http://127.0.0.1:PORT`: give it to `stripe::ClientBuilder::url`.
    pub base_url: String,
    /// The API key it accepts (`sk_test_…`): give it to `stripe::ClientBuilder::new`, and send
    /// it as `Authorization: Bearer …` to the control API.
    pub secret: String,
    /// The state behind the server, e.g. to mount [`router`] elsewhere as well.
    pub state: EmulatorState,
    server: Option<JoinHandle<()>>,
}

impl EmulatorHandle {
    /// Stops accepting connections and stops webhook delivery. Requests already being answered
    /// may still finish.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
        self.state.inner.stopped.store(true, Ordering::SeqCst);
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Serves the emulator on `listener` until the returned handle is dropped. Must be called
/// inside a tokio runtime.
pub async fn start(
    listener: tokio::net::TcpListener,
    config: EmulatorConfig,
) -> std::io::Result<EmulatorHandle> {
    let address = listener.local_addr()?;
    let base_url = format!("http://{address}");
    let state = EmulatorState::new(config, base_url.clone());
    let secret = state.inner.secret.clone();
    let app = router(state.clone());
    let server = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "stripe emulator stopped");
        }
    });
    Ok(EmulatorHandle {
        base_url,
        secret,
        state,
        server: Some(server),
    })
}

/// The emulator's routes: Stripe's `/v1` API, the hosted checkout page and `/_emulator/`.
pub fn router(state: EmulatorState) -> axum::Router {
    axum::Router::new()
        .merge(api::routes(state.clone()))
        .merge(checkout_page::routes())
        .merge(control::routes(state.clone()))
        .with_state(state)
}

/// The emulator's shared state: the Stripe account, fault settings, idempotency cache and the
/// webhook dispatcher. Cheap to clone.
#[derive(Clone)]
pub struct EmulatorState {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EmulatorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorState")
            .field("base_url", &self.inner.base_url)
            .finish_non_exhaustive()
    }
}

struct Inner {
    base_url: String,
    secret: String,
    public_base_url: Option<String>,
    config_endpoints: Vec<WebhookEndpoint>,
    retry_schedule: Vec<Duration>,
    store: Mutex<Store>,
    faults: Mutex<Faults>,
    webhooks: Mutex<WebhookSettings>,
    idempotency: Mutex<IdempotencyCache>,
    dispatch: mpsc::UnboundedSender<Event>,
    /// Bumped by reset; deliveries of an older generation stop retrying.
    generation: AtomicU64,
    stopped: AtomicBool,
}

impl EmulatorState {
    /// A fresh account whose pages and API live at `base_url`. Spawns the webhook dispatcher,
    /// so it must be called inside a tokio runtime.
    pub fn new(config: EmulatorConfig, base_url: String) -> Self {
        let (dispatch, queue) = mpsc::unbounded_channel();
        let store = Store {
            endpoint_count: config.webhook_endpoints.len() as i64,
            ..Store::default()
        };
        let secret = config.secret.clone().unwrap_or_else(random_secret);
        let inner = Arc::new(Inner {
            base_url: base_url.trim_end_matches('/').to_owned(),
            secret,
            public_base_url: config
                .public_base_url
                .map(|url| url.trim_end_matches('/').to_owned()),
            config_endpoints: config.webhook_endpoints.clone(),
            retry_schedule: config.retry_schedule,
            store: Mutex::new(store),
            faults: Mutex::new(Faults::default()),
            webhooks: Mutex::new(WebhookSettings::new(config.webhook_endpoints)),
            idempotency: Mutex::new(IdempotencyCache::default()),
            dispatch,
            generation: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        });
        webhooks::spawn_dispatcher(Arc::downgrade(&inner), queue);
        EmulatorState { inner }
    }

    /// Where the hosted checkout page of a session lives.
    fn checkout_url(&self, session_id: &str) -> String {
        format!("{}/checkout/{session_id}", self.page_origin())
    }

    /// The origin the hosted page is served from, which its forms are posted from.
    fn page_origin(&self) -> &str {
        self.inner
            .public_base_url
            .as_deref()
            .unwrap_or(&self.inner.base_url)
    }

    /// Whether `authorization` (`Bearer …`) carries this emulator's secret. Compared in constant
    /// time.
    fn authorised(&self, authorization: Option<&str>) -> bool {
        let given = authorization
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or("");
        constant_time_eq(given.as_bytes(), self.inner.secret.as_bytes())
    }

    /// Runs `operation` on the account under its lock, then hands the events it emitted to the
    /// webhook dispatcher. `request` is stamped on those events.
    fn write<T>(
        &self,
        request: Option<&RequestInfo>,
        operation: impl FnOnce(&mut Store) -> T,
    ) -> T {
        let (result, emitted) = {
            let mut store = lock(&self.inner.store);
            store.current_request = request.cloned();
            let result = operation(&mut store);
            store.current_request = None;
            (result, std::mem::take(&mut store.outbox))
        };
        for event in emitted {
            // The dispatcher only goes away with the state itself.
            let _ = self.inner.dispatch.send(event);
        }
        result
    }

    /// Reads the account under its lock.
    fn read<T>(&self, query: impl FnOnce(&Store) -> T) -> T {
        query(&lock(&self.inner.store))
    }

    /// Forgets every object, event, delivery, fault and idempotency key; webhook settings go
    /// back to the configured endpoints with no chaos.
    fn reset(&self) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        let endpoints = self.inner.config_endpoints.clone();
        let count = endpoints.len() as i64;
        *lock(&self.inner.webhooks) = WebhookSettings::new(endpoints);
        *lock(&self.inner.faults) = Faults::default();
        *lock(&self.inner.idempotency) = IdempotencyCache::default();
        *lock(&self.inner.store) = Store {
            endpoint_count: count,
            ..Store::default()
        };
    }
}

/// A fresh secret key: `sk_test_emu_` and 24 random bytes in hex.
fn random_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("sk_test_emu_{}", hex::encode(bytes))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a request's `Content-Type` is `expected` (parameters such as `charset` aside).
fn content_type_is(headers: &axum::http::HeaderMap, expected: &str) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

/// Locks a mutex; a poisoned lock (a panic elsewhere) still yields the data.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
