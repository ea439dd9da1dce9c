//! The `billing-portal` command line: serve (the default), or one admin command: migrations,
//! the demo seed, the emulator, bill runs, test clocks, the audit log, API keys and staff accounts.

use billing_portal::domain::access::{Email, StaffRole};
use billing_portal::domain::ids::{ClockId, OrgId};
use billing_portal::server::{self, Config, SystemClock};
use clap::{Parser, Subcommand};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "billing-portal",
    version,
    about = "Billing portal and billing engine"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the portal (the default).
    Serve,
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Load the demo catalog and demo accounts (idempotent).
    SeedDemo,
    /// Read the published catalog as a file, or publish one (see the README's "Catalog as code").
    Catalog {
        #[command(subcommand)]
        action: CatalogAction,
    },
    /// Run the built-in Stripe emulator alone (no database or other configuration needed). It
    /// prints its address and the secret key its APIs accept.
    StripeEmulator(stripe_emulator::args::EmulatorArgs),
    /// Run the due bill-run work now (renewals, payment attempts, dunning), with a progress bar
    /// and a summary. Safe to run beside serving instances and other bill runs.
    BillRun {
        /// Rows worked on at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Create, attach and advance test clocks.
    TestClock {
        #[command(subcommand)]
        action: TestClockAction,
    },
    /// Check the audit log's hash chain and report the first broken link.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Create API keys for the REST API under /api/v1.
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// Give a staff member a new second-factor secret (a lost phone, a new app); prints it and its
    /// otpauth:// URL. Codes of the old secret stop working.
    StaffMfa {
        #[arg(long)]
        email: String,
    },
    /// Create a support staff account; prints the secret of its second factor (and its otpauth://
    /// URL) to enrol in an authenticator app.
    CreateStaff {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// agent, billing_admin, approver or catalog_admin
        #[arg(long, value_parser = parse_staff_role)]
        role: StaffRole,
        /// Read from the STAFF_PASSWORD environment variable when not given.
        #[arg(long, env = "STAFF_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

#[derive(Subcommand)]
pub enum CatalogAction {
    /// Write the published catalog as TOML, to standard output or to --output.
    Export {
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
    /// Show what FILE changes against the published catalog, then publish it as one revision.
    /// Every problem is listed and nothing is published while there is one.
    Apply {
        file: std::path::PathBuf,
        /// Only show the changes.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
pub enum ApiKeyAction {
    /// Create a key and print its secret (shown this once). With --server, a key for the
    /// product's own services that may act for any organisation; with --org, one organisation's.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, conflicts_with = "org", required_unless_present = "org")]
        server: bool,
        /// The organisation's id, or the email of a member (their first organisation).
        #[arg(long)]
        org: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum AuditAction {
    /// Recompute every entry's hash and check every checkpoint; exits 1 at the first entry that
    /// does not match.
    Verify {
        /// Only from the last checkpoint on: its entry must still be there with the same hash,
        /// and every later entry must chain from it (catches entries removed from the end).
        #[arg(long)]
        since_checkpoint: bool,
    },
    /// Record the chain's head (sequence number and hash) as a checkpoint, and print it. Keep
    /// the printed line somewhere the database's administrators cannot change.
    Checkpoint,
}

#[derive(Subcommand)]
pub enum TestClockAction {
    /// Create a test clock frozen at a time (RFC 3339, e.g. 2026-01-01T00:00:00Z; default: now).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        at: Option<String>,
    },
    /// Attach an organisation to a test clock: it then lives at the clock's time.
    Attach {
        #[arg(long)]
        clock: String,
        /// The organisation's id, or the email of a member (their first organisation).
        #[arg(long)]
        org: String,
    },
    /// Move a clock forward, running everything that falls due on the way, in order.
    Advance {
        #[arg(long)]
        clock: String,
        /// The new time (RFC 3339).
        #[arg(long, conflicts_with = "by")]
        to: Option<String>,
        /// How far to move, e.g. 30d, 12h, 1y (a year is 365 days).
        #[arg(long)]
        by: Option<String>,
    },
}

/// A staff role as `--role` spells it.
fn parse_staff_role(text: &str) -> Result<StaffRole, String> {
    StaffRole::parse(text).ok_or_else(|| {
        format!("--role {text:?} is not a staff role; use agent, billing_admin, approver or catalog_admin")
    })
}

fn parse_time(flag: &str, text: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.timestamp())
        .map_err(|_| format!("{flag} {text:?} is not a time; write e.g. 2026-01-01T00:00:00Z"))
}

fn parse_span(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let err = || format!("--by {text:?} is not a span; write e.g. 30d, 12h, 90m or 1y");
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?);
    let n: i64 = number.parse().map_err(|_| err())?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "y" => 365 * 86_400,
        _ => return Err(err()),
    };
    n.checked_mul(secs).filter(|s| *s > 0).ok_or_else(err)
}

/// A one-line progress bar on stderr, redrawn in place.
fn progress_bar(
    total: u64,
) -> impl Fn(&billing_portal::services::bill_run::RunSummary) + Send + Sync {
    move |summary| {
        let done = summary.processed() + summary.skipped + summary.errors.len() as u64;
        let total = total.max(done).max(1);
        let width = 30;
        let filled = (done * width / total) as usize;
        eprint!(
            "\r[{}{}] {done}/{total} ",
            "#".repeat(filled),
            ".".repeat(width as usize - filled)
        );
    }
}

/// Runs `command` with `config`.
pub async fn run(command: Command, config: Config) -> Result<(), String> {
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
            billing_portal::http::serve(listener, state)
                .await
                .map_err(|e| e.to_string())
        }
        Command::Migrate => {
            println!("database schema is up to date");
            Ok(())
        }
        Command::SeedDemo => {
            if state.config.stripe.is_live() {
                return Err("seed-demo is refused with a live Stripe key: the demo accounts have a published password".into());
            }
            let summary = billing_portal::services::seed::seed_demo(&state)
                .await
                .map_err(|e| format!("seeding failed: {e}"))?;
            println!("{summary}");
            Ok(())
        }
        Command::Catalog { action } => catalog(&state, action).await,
        Command::BillRun { concurrency } => {
            let (subs, invoices) =
                billing_portal::store::renewals::count_due(&state.db, state.now(), None)
                    .await
                    .map_err(|e| e.to_string())?;
            println!("due now: {subs} subscription period ends, {invoices} payment attempts");
            let options = billing_portal::services::bill_run::RunOptions {
                concurrency: concurrency.max(1),
                ..billing_portal::services::bill_run::RunOptions::for_state(&state)
            };
            let started = std::time::Instant::now();
            // Each renewal may add one payment attempt.
            let bar = progress_bar((2 * subs + invoices) as u64);
            let summary = billing_portal::services::bill_run::run_due(&state, &options, &bar).await;
            eprintln!();
            println!(
                "bill run finished in {:.1}s: {summary}",
                started.elapsed().as_secs_f64()
            );
            for error in summary.errors.iter().take(20) {
                println!("  error: {error}");
            }
            if summary.errors.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{} items could not be processed; they will be retried by the next run",
                    summary.errors.len()
                ))
            }
        }
        Command::TestClock { action } => test_clock(&state, action).await,
        Command::ApiKey {
            action: ApiKeyAction::Create { name, server, org },
        } => {
            let name = cli_text("--name", &name, 60)?;
            let name = name.as_str();
            let org = match org {
                Some(org) if !server => Some(org_of(&state, &org).await?),
                _ => None,
            };
            let (key, secret) = billing_portal::store::usage::create_key(
                &state.db,
                org.as_ref(),
                name,
                &billing_portal::store::audit::Actor::cli(),
                state.now(),
            )
            .await
            .map_err(|e| e.to_string())?;
            eprintln!(
                "created {} key {} ({name}); its secret is shown this once:",
                if org.is_some() {
                    "organisation"
                } else {
                    "server"
                },
                key.id
            );
            println!("{secret}");
            Ok(())
        }
        Command::Audit {
            action: AuditAction::Checkpoint,
        } => {
            let checkpoint =
                billing_portal::store::audit::checkpoint(&state.db, "cli", state.now())
                    .await
                    .map_err(|e| e.to_string())?;
            println!(
                "checkpoint {} at entry {} hash {}",
                checkpoint.id, checkpoint.head_seq, checkpoint.head_hash
            );
            Ok(())
        }
        Command::Audit {
            action: AuditAction::Verify { since_checkpoint },
        } => {
            use billing_portal::store::audit::{verify, verify_since_checkpoint, Verification};
            let result = if since_checkpoint {
                verify_since_checkpoint(&state.db).await
            } else {
                verify(&state.db).await
            };
            match result.map_err(|e| e.to_string())? {
                Verification::Intact { entries } => {
                    if since_checkpoint {
                        println!("audit log intact since the last checkpoint: {entries} later entries, every hash matches");
                    } else {
                        println!("audit log intact: {entries} entries, every hash matches, every checkpoint holds");
                    }
                    Ok(())
                }
                Verification::Broken { seq, problem } => {
                    Err(format!("audit log broken at entry {seq}: {problem}"))
                }
            }
        }
        Command::StripeEmulator(_) => unreachable!("handled before the database is opened"),
        Command::CreateStaff {
            email,
            name,
            role,
            password,
        } => {
            let email = Email::parse(&email).map_err(|e| e.to_string())?;
            let name = cli_text("--name", &name, 100)?;
            billing_portal::domain::access::check_new_password(&password, &email)
                .map_err(|e| e.to_string())?;
            let hash = server::auth::hash_password(password)
                .await
                .map_err(|e| e.to_string())?;
            let secret = server::mfa::new_secret();
            let id = billing_portal::store::staff::create(
                &state.db,
                &email,
                &name,
                role,
                &hash,
                &secret,
                &billing_portal::store::audit::Actor::cli(),
                state.now(),
            )
            .await
            .map_err(|e| e.to_string())?;
            println!(
                "created staff {id} <{}> as {}",
                email.as_str(),
                role.as_str()
            );
            print_enrolment(&secret, email.as_str());
            Ok(())
        }
        Command::StaffMfa { email } => {
            let email = Email::parse(&email).map_err(|e| e.to_string())?;
            let secret = server::mfa::new_secret();
            let found = billing_portal::store::staff::set_totp_secret(
                &state.db,
                &email,
                &secret,
                &billing_portal::store::audit::Actor::cli(),
                state.now(),
            )
            .await
            .map_err(|e| e.to_string())?;
            if !found {
                return Err(format!(
                    "--email {}: there is no staff account with this email",
                    email.as_str()
                ));
            }
            println!("new second factor for <{}>", email.as_str());
            print_enrolment(&secret, email.as_str());
            Ok(())
        }
    }
}

/// Prints a second factor's secret and its otpauth:// URL for an authenticator app.
async fn catalog(state: &server::AppState, action: CatalogAction) -> Result<(), String> {
    use billing_portal::services::catalog as service;
    match action {
        CatalogAction::Export { output } => {
            let text = service::export(state).await.map_err(|e| e.to_string())?;
            match output {
                Some(path) => std::fs::write(&path, text)
                    .map_err(|e| format!("cannot write {}: {e}", path.display())),
                None => {
                    print!("{text}");
                    Ok(())
                }
            }
        }
        CatalogAction::Apply { file, dry_run } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let proposed = service::parse(&text).map_err(|e| e.to_string())?;
            let preview = service::preview(state, &proposed)
                .await
                .map_err(|e| e.to_string())?;
            if preview.changes.is_empty() {
                println!(
                    "the published catalog (revision {}) already says this; nothing to publish",
                    preview.revision
                );
                return Ok(());
            }
            println!(
                "{} change(s) against revision {}:",
                preview.changes.len(),
                preview.revision
            );
            for change in &preview.changes {
                println!("  {}", change.describe());
            }
            if dry_run {
                println!("dry run: nothing was published");
                return Ok(());
            }
            let published = service::publish(
                state,
                &proposed,
                Some(preview.revision),
                &billing_portal::store::audit::Actor::cli(),
            )
            .await
            .map_err(|e| e.to_string())?;
            match published.revision {
                Some(revision) => println!("published as revision {revision}"),
                None => println!("nothing to publish"),
            }
            Ok(())
        }
    }
}

fn print_enrolment(secret: &str, email: &str) {
    println!("authenticator secret: {secret}");
    if let Some(url) = server::mfa::otpauth_url(secret, email) {
        println!("otpauth URL: {url}");
    }
    println!("Add it to an authenticator app now: the console asks for its code at every sign-in.");
}

/// A one-line name given on the command line, checked like the same text in the portal.
fn cli_text(flag: &str, raw: &str, max: usize) -> Result<String, String> {
    billing_portal::domain::text::clean(raw, max, billing_portal::domain::text::Lines::One, false)
        .map_err(|problem| billing_portal::domain::text::explain(flag, problem))
}

/// An organisation id from `--org`: the id itself, or a member's email (their first
/// organisation).
async fn org_of(state: &server::AppState, org: &str) -> Result<OrgId, String> {
    if !org.contains('@') {
        return OrgId::parse(org).map_err(|e| format!("--org {org:?}: {e}"));
    }
    let email = Email::parse(org).map_err(|e| format!("--org {org:?}: {e}"))?;
    let user = billing_portal::store::accounts::find_user_by_email(&state.db, &email)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("--org {org}: no account has this email"))?;
    Ok(
        billing_portal::store::accounts::first_membership(&state.db, &user.id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("--org {org}: this account belongs to no organisation"))?
            .org_id,
    )
}

/// A test clock's id from `--clock`.
fn clock_of(text: &str) -> Result<ClockId, String> {
    ClockId::parse(text).map_err(|e| format!("--clock {text:?}: {e}"))
}

async fn test_clock(state: &server::AppState, action: TestClockAction) -> Result<(), String> {
    use billing_portal::store::test_clocks;
    billing_portal::services::test_clock::refuse_when_live(state).map_err(|e| e.to_string())?;
    match action {
        TestClockAction::Create { name, at } => {
            let at = match at {
                Some(text) => parse_time("--at", &text)?,
                None => state.now(),
            };
            let name = cli_text("--name", &name, 100)?;
            let id = test_clocks::create(&state.db, &name, at, state.now())
                .await
                .map_err(|e| e.to_string())?;
            println!("{id}");
            Ok(())
        }
        TestClockAction::Attach { clock, org } => {
            let clock = clock_of(&clock)?;
            test_clocks::find(&state.db, &clock)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("--clock {clock}: there is no such test clock"))?;
            let org = org_of(state, &org).await?;
            if !test_clocks::attach(&state.db, &org, &clock, state.now())
                .await
                .map_err(|e| e.to_string())?
            {
                return Err(format!("--org {org}: there is no such organisation"));
            }
            println!("organisation {org} now lives at test clock {clock}");
            Ok(())
        }
        TestClockAction::Advance { clock, to, by } => {
            let clock = clock_of(&clock)?;
            let current = test_clocks::find(&state.db, &clock)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("--clock {clock}: there is no such test clock"))?;
            let target = match (to, by) {
                (Some(to), _) => parse_time("--to", &to)?,
                (None, Some(by)) => current.frozen_at + parse_span(&by)?,
                (None, None) => return Err("give --to TIME or --by SPAN".into()),
            };
            let summary =
                billing_portal::services::test_clock::advance(state, &clock, target, &|_| {})
                    .await
                    .map_err(|e| e.to_string())?;
            println!(
                "test clock {clock} is at {}: {summary}",
                chrono::DateTime::from_timestamp(target, 0).unwrap_or_default()
            );
            for error in summary.errors.iter().take(20) {
                println!("  error: {error}");
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_times_parse_or_say_how_to_write_them() {
        assert_eq!(parse_span("30d"), Ok(30 * 86_400));
        assert_eq!(parse_span("1y"), Ok(365 * 86_400));
        assert_eq!(parse_span("90m"), Ok(5400));
        assert!(parse_span("d").unwrap_err().contains("30d"));
        assert!(parse_span("3w").is_err());
        assert!(parse_span("0d").is_err());
        assert_eq!(
            parse_time("--to", "2026-01-01T00:00:00Z"),
            Ok(1_767_225_600)
        );
        assert!(parse_time("--to", "tomorrow")
            .unwrap_err()
            .contains("2026-01-01T00:00:00Z"));
    }
}
