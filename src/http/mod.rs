//! The doors from outside, and the composition root: the router of pages, server functions,
//! downloads, webhooks and the REST API, with the origin guard and error statuses around them.

pub mod api_v1;
pub mod guard;
pub mod routes;
pub mod statuses;
pub mod webhooks;

use crate::server::AppState;

/// Serves the app on `listener` until the process gets Ctrl-C or SIGTERM, then finishes the
/// requests in flight. Expired sessions are swept hourly (any number of instances may do so).
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    let sweeper = tokio::spawn(crate::jobs::sweep_expired_sessions(state.clone()));
    let inbox = tokio::spawn(crate::jobs::retry_webhook_inbox(state.clone()));
    let bill_runs = (state.config.bill_run_interval_secs > 0).then(|| {
        tokio::spawn(crate::jobs::run_periodically(
            state.clone(),
            std::time::Duration::from_secs(state.config.bill_run_interval_secs),
        ))
    });
    let app = routes::router(state);
    let result = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await;
    sweeper.abort();
    inbox.abort();
    if let Some(task) = bill_runs {
        task.abort();
    }
    result
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
