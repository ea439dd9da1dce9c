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
    match run(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("billing-portal: {message}");
            ExitCode::FAILURE
        }
    }
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
