//! The background loops of a serving instance: the bill run, the webhook inbox's retries and the
//! sweep of expired sessions. Each only calls a workflow on a timer.

use crate::server::AppState;
use crate::services::bill_run::{run_due, RunOptions};

/// Runs the bill run every `interval` in the background of a serving instance.
pub async fn run_periodically(state: AppState, interval: std::time::Duration) {
    let mut every = tokio::time::interval(interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let options = RunOptions::for_state(&state);
    loop {
        every.tick().await;
        let summary = run_due(&state, &options, &|_| {}).await;
        if summary.processed() > 0 || !summary.errors.is_empty() {
            tracing::info!(%summary, "bill run");
        }
    }
}

/// Events whose processing failed (Stripe unreachable, say) are tried again every 30 seconds.
pub async fn retry_webhook_inbox(state: AppState) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        every.tick().await;
        crate::services::fulfilment::process_pending(&state).await;
    }
}

/// Expired sessions are swept hourly (any number of instances may do so).
pub async fn sweep_expired_sessions(state: AppState) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        state.limits.forget_idle();
        match crate::store::sessions::delete_expired(&state.db, state.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "expired sessions removed"),
            Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
        }
    }
}
