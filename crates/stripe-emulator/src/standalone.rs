//! The emulator on its own, as the `stripe-emulator` binary and `billing-portal stripe-emulator`
//! run it: on one address, with an optional secret key and webhook endpoint, until Ctrl-C.

use std::net::SocketAddr;

use crate::{start, EmulatorConfig, WebhookEndpoint};

/// Serves the emulator on `addr` until Ctrl-C, after printing its address and the secret key its
/// APIs accept on one line of stdout. `secret` is the `sk_test_` key it accepts (a random one
/// when `None`); with `webhook_url`, events are delivered there signed with `webhook_secret`.
/// The error names the flag that is wrong (`--secret`, `--webhook-url`, `--host/--port`).
pub async fn run_alone(
    addr: SocketAddr,
    secret: Option<String>,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
) -> Result<(), String> {
    let webhook_endpoints = match (webhook_url, webhook_secret) {
        (Some(url), Some(secret)) => vec![WebhookEndpoint { url, secret }],
        (Some(_), None) => {
            return Err("--webhook-url needs --webhook-secret (or STRIPE_WEBHOOK_SECRET)".into())
        }
        _ => Vec::new(),
    };
    if let Some(secret) = &secret {
        if !secret.starts_with("sk_test_") || secret.len() < 24 {
            return Err("--secret: use sk_test_ followed by at least 16 random characters".into());
        }
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("--host/--port {addr}: cannot listen: {e}"))?;
    let handle = start(
        listener,
        EmulatorConfig {
            webhook_endpoints,
            secret,
            ..EmulatorConfig::default()
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "Stripe emulator at {} with secret key {} (Ctrl-C to stop)",
        handle.base_url, handle.secret
    );
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown();
    Ok(())
}
