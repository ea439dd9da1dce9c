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
    #[command(flatten)]
    args: stripe_emulator::args::EmulatorArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    match cli.args.run().await {
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
