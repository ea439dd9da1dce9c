//! What every request handler, server function, workflow and job can reach.

use super::{limits, Config};
use crate::domain::clock::Clock;
use crate::error::AppError;
use crate::store::Db;
use std::sync::Arc;

/// The clock of the real world; tests and test clocks use others.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}

/// What every request handler and server function can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub payments: Arc<Payments>,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock + Send + Sync>,
    pub leptos_options: leptos::config::LeptosOptions,
    /// Entitlements per organisation, cached for the entitlements API.
    pub entitlements: Arc<super::cache::EntitlementCache>,
    /// The rate limits of sign-in, sign-up, invitations and the REST API.
    pub limits: Arc<limits::RateLimits>,
}

impl AppState {
    /// Current time as unix seconds, from the state's clock.
    pub fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// The address of the client of a request (see [`limits::client_address`]).
    pub fn client_address(&self, parts: &http::request::Parts) -> String {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0);
        limits::client_address(&parts.headers, peer, self.config.trust_forwarded_for)
    }

    /// The client address of the server function being run.
    pub fn caller_address(&self) -> String {
        match leptos::prelude::use_context::<http::request::Parts>() {
            Some(parts) => self.client_address(&parts),
            None => "unknown".into(),
        }
    }
}

impl axum::extract::FromRef<AppState> for leptos::config::LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The application state inside a server function or a rendered page.
pub fn state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| AppError::internal("AppState missing from the server function context"))
}

/// The payment gateway and the webhook secret its events are signed with; with
/// `STRIPE_MODE=emulator`, the built-in emulator it talks to.
pub struct Payments {
    pub gateway: crate::payments::gateway::Gateway,
    pub webhook_secret: String,
    pub emulator: Option<stripe_emulator::EmulatorHandle>,
}

impl Payments {
    /// Real Stripe when a key is configured; otherwise (the configuration asked for it) starts the
    /// emulator, which delivers its webhooks to this portal's `/webhooks/stripe` and accepts only
    /// its own secret key.
    pub async fn connect(config: &Config) -> Result<Payments, StartError> {
        use crate::payments::gateway::Gateway;
        use stripe_emulator::{EmulatorConfig, WebhookEndpoint};
        if let (Some(key), Some(secret)) =
            (&config.stripe.secret_key, &config.stripe.webhook_secret)
        {
            let gateway = Gateway::new(key, config.stripe.api_base.as_deref())
                .map_err(|e| StartError::Stripe(e.to_string()))?;
            return Ok(Payments {
                gateway,
                webhook_secret: secret.clone(),
                emulator: None,
            });
        }
        let webhook_secret = {
            use rand::RngCore;
            let mut bytes = [0u8; 24];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            format!("whsec_{}", hex::encode(bytes))
        };
        let addr = config.stripe.emulator_addr;
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            StartError::Stripe(format!(
                "STRIPE_EMULATOR_ADDR: cannot listen on {addr}: {e}"
            ))
        })?;
        let handle = stripe_emulator::start(
            listener,
            EmulatorConfig {
                webhook_endpoints: vec![WebhookEndpoint {
                    url: format!("{}/webhooks/stripe", config.public_base_url),
                    secret: webhook_secret.clone(),
                }],
                secret: config.stripe.emulator_secret.clone(),
                ..EmulatorConfig::default()
            },
        )
        .await
        .map_err(|e| StartError::Stripe(e.to_string()))?;
        let gateway = Gateway::new(&handle.secret, Some(&handle.base_url))
            .map_err(|e| StartError::Stripe(e.to_string()))?;
        tracing::warn!(emulator = %handle.base_url, "STRIPE_MODE=emulator: payments go to the built-in Stripe emulator, not to Stripe");
        Ok(Payments {
            gateway,
            webhook_secret,
            emulator: Some(handle),
        })
    }
}

/// Whether the site was built with content-hashed file names: the release build writes their
/// hashes to `hash.txt` beside the server binary, and the page shell links the hashed names.
fn built_with_hashed_names() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("hash.txt")))
        .is_some_and(|hashes| hashes.is_file())
}

/// Connects, migrates and assembles the state the router needs.
pub async fn build_state(
    config: Config,
    clock: Arc<dyn Clock + Send + Sync>,
) -> Result<AppState, StartError> {
    let db = crate::store::connect(&config.database_url)
        .await
        .map_err(|e| StartError::Database(redact(&config.database_url), e.to_string()))?;
    crate::store::migrate(&db)
        .await
        .map_err(|e| StartError::Migrate(e.to_string()))?;
    let leptos_options = leptos::config::LeptosOptions::builder()
        .output_name("billing-portal")
        .site_root(config.site_root.clone())
        .site_pkg_dir("pkg")
        .site_addr(config.listen_addr)
        .hash_files(built_with_hashed_names())
        .build();
    let payments = Arc::new(Payments::connect(&config).await?);
    let config_limits = config.rate_limits.clone();
    Ok(AppState {
        db,
        payments,
        config: Arc::new(config),
        clock,
        leptos_options,
        entitlements: Arc::new(super::cache::EntitlementCache::new(
            std::time::Duration::from_secs(5),
        )),
        limits: Arc::new(limits::RateLimits::new(&config_limits)),
    })
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("DATABASE_URL: cannot open {0}: {1}")]
    Database(String, String),
    #[error("database migrations failed: {0}")]
    Migrate(String),
    #[error("Stripe: {0}")]
    Stripe(String),
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
