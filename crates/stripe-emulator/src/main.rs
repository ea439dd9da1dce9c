//! `stripe-emulator`: the Stripe emulator alone, with the options of `billing-portal
//! stripe-emulator`. It prints its address and the secret key its APIs accept, and serves until
//! Ctrl-C.

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "stripe-emulator",
    version,
    about = "A stateful, Stripe-compatible HTTP server for development and tests"
)]
struct Cli {
    #[arg(long, default_value_t = 12111)]
    port: u16,
    /// The address to listen on; loopback unless told otherwise.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// The sk_test_ key it accepts; a random one when not given.
    #[arg(long, env = "STRIPE_EMULATOR_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// Deliver signed webhooks here, e.g. http://127.0.0.1:3000/webhooks/stripe
    #[arg(long)]
    webhook_url: Option<String>,
    /// The whsec_ secret webhooks are signed with.
    #[arg(long, env = "STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    let addr = (cli.host, cli.port).into();
    match stripe_emulator::run_alone(addr, cli.secret, cli.webhook_url, cli.webhook_secret).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("stripe-emulator: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs on stderr, JSON with `LOG_FORMAT=json`; `RUST_LOG` overrides the filter.
fn init_logs() {
    use tracing_subscriber::{fmt, EnvFilter};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    let _ = match std::env::var("LOG_FORMAT").as_deref() {
        Ok("json") => builder.json().flatten_event(true).try_init(),
        _ => builder.compact().try_init(),
    };
}
