//! Start-up only: parse the command line, read configuration, then serve or run one admin
//! command (see `cli`).

mod cli;

use billing_portal::server::{config::LogFormat, telemetry, Config};
use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::StripeEmulator(args)) = cli.command {
        telemetry::init(telemetry_format());
        return match args.run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("billing-portal: {message}");
                ExitCode::FAILURE
            }
        };
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("billing-portal: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    match cli::run(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("billing-portal: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The log format for the emulator alone, which reads no other configuration.
fn telemetry_format() -> LogFormat {
    match std::env::var("LOG_FORMAT").as_deref() {
        Ok("json") => LogFormat::Json,
        _ => LogFormat::Pretty,
    }
}
