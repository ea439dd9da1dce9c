//! Start-up only: read configuration, open the database, then serve or run one admin command.

use billing_portal::api::auth::{Email, StaffRole};
use billing_portal::server::{self, telemetry, Config, SystemClock};
use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "billing-portal",
    version,
    about = "Billing portal and billing engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal (the default).
    Serve,
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Load the demo catalog and demo accounts (idempotent).
    SeedDemo,
    /// Run the built-in Stripe emulator alone (no database needed).
    StripeEmulator {
        #[arg(long, default_value_t = 12111)]
        port: u16,
        /// Deliver signed webhooks here, e.g. http://127.0.0.1:3000/webhooks/stripe
        #[arg(long)]
        webhook_url: Option<String>,
        /// The whsec_ secret webhooks are signed with.
        #[arg(long, env = "STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
        webhook_secret: Option<String>,
    },
    /// Create a support staff account.
    CreateStaff {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// agent, billing_admin or approver
        #[arg(long)]
        role: String,
        /// Read from the STAFF_PASSWORD environment variable when not given.
        #[arg(long, env = "STAFF_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("billing-portal: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    if let Some(Command::StripeEmulator {
        port,
        webhook_url,
        webhook_secret,
    }) = cli.command
    {
        return match run_emulator(port, webhook_url, webhook_secret).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("billing-portal: {message}");
                ExitCode::FAILURE
            }
        };
    }
    match run(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("billing-portal: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run_emulator(
    port: u16,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
) -> Result<(), String> {
    use billing_portal::payments::emulator::{self, EmulatorConfig, WebhookEndpoint};
    let webhook_endpoints = match (webhook_url, webhook_secret) {
        (Some(url), Some(secret)) => vec![WebhookEndpoint { url, secret }],
        (Some(_), None) => {
            return Err("--webhook-url needs --webhook-secret (or STRIPE_WEBHOOK_SECRET)".into())
        }
        _ => Vec::new(),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("--port {port}: cannot listen: {e}"))?;
    let handle = emulator::start(
        listener,
        EmulatorConfig {
            webhook_endpoints,
            ..EmulatorConfig::default()
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "Stripe emulator at {} (any sk_test_ key; Ctrl-C to stop)",
        handle.base_url
    );
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown();
    Ok(())
}

async fn run(command: Command, config: Config) -> Result<(), String> {
    let listen_addr = config.listen_addr;
    let public = config.public_base_url.clone();
    let state = server::build_state(config, Arc::new(SystemClock))
        .await
        .map_err(|e| e.to_string())?;
    match command {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(listen_addr)
                .await
                .map_err(|e| format!("LISTEN_ADDR: cannot listen on {listen_addr}: {e}"))?;
            tracing::info!(%listen_addr, %public, "billing portal listening");
            server::serve(listener, state)
                .await
                .map_err(|e| e.to_string())
        }
        Command::Migrate => {
            println!("database schema is up to date");
            Ok(())
        }
        Command::SeedDemo => {
            let summary = billing_portal::store::seed::seed_demo(&state)
                .await
                .map_err(|e| format!("seeding failed: {e}"))?;
            println!("{summary}");
            Ok(())
        }
        Command::StripeEmulator { .. } => unreachable!("handled before the database is opened"),
        Command::CreateStaff {
            email,
            name,
            role,
            password,
        } => {
            let email = Email::parse(&email).map_err(|e| e.to_string())?;
            let role = StaffRole::parse(&role).ok_or_else(|| {
                format!("--role {role:?} is not a staff role; use agent, billing_admin or approver")
            })?;
            let name = name.trim();
            if name.is_empty() {
                return Err("--name must not be empty".into());
            }
            billing_portal::api::auth::check_new_password(&password, &email)
                .map_err(|e| e.to_string())?;
            let hash = server::auth::hash_password(password)
                .await
                .map_err(|e| e.to_string())?;
            let id = billing_portal::store::staff::create(
                &state.db,
                &email,
                name,
                role,
                &hash,
                state.now(),
            )
            .await
            .map_err(|e| e.to_string())?;
            println!(
                "created staff {id} <{}> as {}",
                email.as_str(),
                role.as_str()
            );
            Ok(())
        }
    }
}
