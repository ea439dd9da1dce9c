//! The bill run: everything that is due, done once, by any number of workers.
//!
//! A run repeats two phases until nothing is due: it claims subscriptions whose period has ended
//! (at their organisation's time: real, or a test clock's) and applies each period end — renew
//! with a new invoice, move to the free plan, or end — then claims open invoices whose payment
//! attempt is due and charges them, retrying declines on the dunning schedule. Claims are leases
//! on the rows, so several instances can run at once and a crashed worker's rows are picked up
//! when its lease expires. Correctness does not depend on the leases: see `store::renewals`. The loop that runs it
//! on a timer is in `jobs`.

use crate::domain::ids::{InvoiceId, SubscriptionId};
use std::collections::HashMap;
use std::sync::Mutex;

use futures::StreamExt;

use crate::domain::catalog::{find_price, free_price, Plan};
use crate::domain::renewal::{at_period_end, stop_paid_service, PeriodEndInput};
use crate::domain::{Currency, Money};
use crate::payments::gateway::{ChargeOutcome, GatewayError};
use crate::server::AppState;
use crate::store::members::OutgoingEmail;
use crate::store::renewals::{self, Claim, CollectableInvoice, FailedAttempt, PeriodEndOutcome};
use crate::store::subscriptions::{self, ChangeError};

/// Why one subscription's period end or one invoice's payment attempt could not be done; the run
/// records it and goes on with the rest.
#[derive(Debug, thiserror::Error)]
pub enum BillRunError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Catalog(#[from] crate::store::catalog::CatalogError),
    #[error(transparent)]
    Usage(#[from] crate::services::usage::UsageError),
    #[error(transparent)]
    Renewal(#[from] crate::domain::renewal::RenewalError),
    #[error(transparent)]
    Invoice(#[from] crate::domain::InvoiceError),
    #[error(transparent)]
    Money(#[from] crate::domain::MoneyError),
    #[error(transparent)]
    Currency(#[from] crate::domain::CurrencyError),
    #[error(transparent)]
    Change(#[from] ChangeError),
    #[error("price {0} is not in the catalog")]
    UnknownPrice(String),
    #[error("scheduled price {0} is not in the catalog")]
    UnknownScheduledPrice(String),
    #[error("there is no such invoice")]
    NoSuchInvoice,
    #[error("the invoice is {0}, not open")]
    NotOpen(crate::domain::InvoiceStatus),
    #[error("Stripe unavailable: {0}")]
    StripeUnavailable(String),
    #[error("Stripe refused the charge: {0}")]
    StripeRefused(String),
    #[error("subscription {0} kept changing; stopping it will be retried")]
    KeptChanging(String),
}

/// How a run behaves.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Names this worker in its leases.
    pub holder: String,
    pub lease_secs: i64,
    /// Rows worked on at once.
    pub concurrency: usize,
    /// Rows claimed per round.
    pub batch: i64,
    /// Only organisations on this test clock.
    pub test_clock: Option<String>,
}

impl RunOptions {
    pub fn for_state(state: &AppState) -> RunOptions {
        RunOptions {
            holder: format!("worker-{}", crate::store::new_id("w")),
            lease_secs: state.config.job_lease_secs,
            concurrency: 8,
            batch: 500,
            test_clock: None,
        }
    }
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub renewed: u64,
    pub invoices_created: u64,
    pub payments_succeeded: u64,
    pub payments_failed: u64,
    pub moved_to_free: u64,
    pub ended: u64,
    /// Subscribers a price migration on a date moved mid-period.
    pub migrated: u64,
    /// Claimed rows another worker had already moved on (nothing to do).
    pub skipped: u64,
    /// Rows that could not be processed; they are retried by a later run.
    pub errors: Vec<String>,
    /// Money collected, per currency, in minor units.
    pub collected: HashMap<String, i64>,
}

impl RunSummary {
    pub fn processed(&self) -> u64 {
        self.renewed
            + self.payments_succeeded
            + self.payments_failed
            + self.moved_to_free
            + self.ended
            + self.migrated
    }
}

impl std::fmt::Display for RunSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} renewed ({} invoices), {} paid, {} payment failures, {} moved to free, {} ended, {} skipped, {} errors",
            self.renewed,
            self.invoices_created,
            self.payments_succeeded,
            self.payments_failed,
            self.moved_to_free,
            self.ended,
            self.skipped,
            self.errors.len()
        )?;
        if self.migrated > 0 {
            write!(f, "; {} moved by a price migration", self.migrated)?;
        }
        let mut collected: Vec<_> = self.collected.iter().collect();
        collected.sort();
        for (code, minor) in collected {
            if let Ok(currency) = Currency::parse(code) {
                write!(f, "; collected {}", Money::from_minor(*minor, currency))?;
            }
        }
        Ok(())
    }
}

fn wall_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Does everything due now; `progress` is called after each row with the summary so far.
pub async fn run_due(
    state: &AppState,
    options: &RunOptions,
    progress: &(dyn Fn(&RunSummary) + Send + Sync),
) -> RunSummary {
    let summary = Mutex::new(RunSummary::default());
    let catalog = match crate::store::catalog::load(&state.db).await {
        Ok(c) => c,
        Err(e) => {
            let mut s = RunSummary::default();
            s.errors.push(format!("cannot load the catalog: {e}"));
            return s;
        }
    };
    loop {
        let claim = Claim {
            holder: &options.holder,
            real_now: state.now(),
            wall_now: wall_now(),
            lease_secs: options.lease_secs,
            test_clock: options.test_clock.as_deref(),
            limit: options.batch,
        };
        // A price migration on a date moves its subscribers mid-period before their renewal
        // bills what it left for the next invoice.
        match crate::services::price_migration::apply_due_on_date(
            state,
            &catalog,
            claim.real_now,
            claim.test_clock,
        )
        .await
        {
            Ok((moved, errors)) => {
                let mut s = lock(&summary);
                s.migrated += moved;
                s.errors.extend(errors);
            }
            Err(e) => lock(&summary)
                .errors
                .push(format!("cannot read the price migrations due: {e}")),
        }
        let subs = match renewals::claim_due_subscriptions(&state.db, &claim).await {
            Ok(ids) => ids,
            Err(e) => {
                lock(&summary)
                    .errors
                    .push(format!("cannot claim subscriptions: {e}"));
                break;
            }
        };
        futures::stream::iter(subs.iter())
            .for_each_concurrent(options.concurrency, |id| {
                let summary = &summary;
                let catalog = &catalog;
                async move {
                    let result = renew(state, catalog, id, claim.real_now).await;
                    if let Err(e) = &result {
                        match renewals::record_renewal_failure(&state.db, id, &e.to_string(), state.now()).await {
                            Ok(n) if n >= renewals::MAX_RENEWAL_FAILURES => tracing::error!(subscription = %id, error = %e, failures = n, "renewal keeps failing; it waits for staff"),
                            Ok(n) => tracing::warn!(subscription = %id, error = %e, failures = n, "renewal failed; it will be retried"),
                            Err(db) => tracing::warn!(subscription = %id, error = %e, %db, "renewal failed, and so did recording it"),
                        }
                    }
                    let mut s = lock(summary);
                    match result {
                        Ok(Some(PeriodEndOutcome::Renewed { invoice })) => {
                            s.renewed += 1;
                            s.invoices_created += u64::from(invoice.is_some());
                        }
                        Ok(Some(PeriodEndOutcome::MovedToFree)) => s.moved_to_free += 1,
                        Ok(Some(PeriodEndOutcome::Ended)) => s.ended += 1,
                        Ok(None) => s.skipped += 1,
                        Err(e) => s.errors.push(format!("subscription {id}: {e}")),
                    }
                    progress(&s);
                }
            })
            .await;
        let invoices = match renewals::claim_due_invoices(&state.db, &claim).await {
            Ok(ids) => ids,
            Err(e) => {
                lock(&summary)
                    .errors
                    .push(format!("cannot claim invoices: {e}"));
                break;
            }
        };
        futures::stream::iter(invoices.iter())
            .for_each_concurrent(options.concurrency, |id| {
                let summary = &summary;
                let catalog = &catalog;
                async move {
                    let result = collect(state, catalog, id, claim.real_now).await;
                    let mut s = lock(summary);
                    match result {
                        Ok(Collected::Paid(amount)) => {
                            s.payments_succeeded += 1;
                            *s.collected
                                .entry(amount.currency().code().to_string())
                                .or_default() += amount.minor_units();
                        }
                        Ok(Collected::Failed { stopped }) => {
                            s.payments_failed += 1;
                            match stopped {
                                Some(PeriodEndOutcome::MovedToFree) => s.moved_to_free += 1,
                                Some(PeriodEndOutcome::Ended) => s.ended += 1,
                                _ => {}
                            }
                        }
                        Ok(Collected::Skipped) => s.skipped += 1,
                        Err(e) => {
                            tracing::warn!(invoice = %id, error = %e, "collection failed; it will be retried");
                            s.errors.push(format!("invoice {id}: {e}"));
                        }
                    }
                    progress(&s);
                }
            })
            .await;
        if subs.is_empty() && invoices.is_empty() {
            break;
        }
    }
    summary.into_inner().unwrap_or_else(|e| e.into_inner())
}

fn lock(summary: &Mutex<RunSummary>) -> std::sync::MutexGuard<'_, RunSummary> {
    summary.lock().unwrap_or_else(|e| e.into_inner())
}

fn timestamp(secs: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// Applies one subscription's period end. `None`: nothing was due any more.
async fn renew(
    state: &AppState,
    catalog: &[Plan],
    sub_id: &SubscriptionId,
    real_now: i64,
) -> Result<Option<PeriodEndOutcome>, BillRunError> {
    let db = &state.db;
    let Some(sub) = subscriptions::by_id(db, sub_id).await? else {
        return Ok(None);
    };
    let org_now = crate::store::test_clocks::org_now(db, &sub.org_id, real_now).await?;
    let live = sub.status.is_live();
    if !live || sub.current_period_end > org_now {
        return Ok(None);
    }
    let (_, price) = find_price(catalog, &sub.price_id)
        .ok_or_else(|| BillRunError::UnknownPrice(sub.price_id.clone()))?;
    // What the next period bills: the customer's own scheduled change (plan or seats), then a
    // price migration of the price that leaves them on, then their contract.
    let crate::services::contracts::NextPeriod {
        price_id: contracted,
        quantity: next_quantity,
        migration,
        contracts,
        ..
    } = crate::services::contracts::next_period(db, catalog, &sub).await?;
    let scheduled = if contracted != sub.price_id || sub.scheduled_price_id.is_some() {
        Some((
            find_price(catalog, &contracted)
                .map(|(_, price)| price)
                .ok_or_else(|| BillRunError::UnknownScheduledPrice(contracted.clone()))?,
            next_quantity,
        ))
    } else {
        None
    };
    let coupon = match &sub.coupon_id {
        Some(id) => crate::store::coupons::coupon(db, id).await?.map(|coupon| {
            crate::domain::AppliedCoupon {
                coupon,
                periods_applied: u32::try_from(sub.coupon_periods_applied).unwrap_or(u32::MAX),
            }
        }),
        None => None,
    };
    // A trial converts only with a card to charge; without one it ends.
    let no_card = sub.status == crate::domain::SubscriptionStatus::Trialing
        && crate::store::payment_methods::default_for_org(db, &sub.org_id)
            .await?
            .is_none();
    // Proration lines earlier changes left for this invoice.
    let (pending_ids, pending_lines) = waiting_for(db, &sub).await?;
    let decision = if no_card {
        stop_paid_service(
            price,
            timestamp(sub.current_period_end),
            free_price(catalog, price.currency).filter(|free| free.id != price.id),
        )
    } else {
        at_period_end(&PeriodEndInput {
            coupon,
            price,
            quantity: sub.quantity,
            anchor: timestamp(sub.billing_anchor),
            period_end: timestamp(sub.current_period_end),
            scheduled,
            cancel_at_period_end: sub.cancel_at_period_end,
            free_price: free_price(catalog, price.currency).filter(|free| free.id != price.id),
            pending_lines: &pending_lines,
        })
    }?;
    // Usage is billed in arrears on the renewal invoice: the period that ended, and what late
    // events changed in earlier ones.
    let mut decision = decision;
    let (lines, ratings) = crate::services::usage::lines_for_period_end(db, catalog, &sub).await?;
    let mut final_invoice = None;
    if let crate::domain::PeriodEndDecision::Renew {
        invoice, price_id, ..
    } = &mut decision
    {
        for line in lines {
            invoice.subtotal = invoice.subtotal.checked_add(line.amount)?;
            invoice.total = invoice.total.checked_add(line.amount)?;
            invoice.lines.push(line);
        }
        // A contract's minimum holds for each period billed on its price.
        if let Some(contract) = crate::domain::contract::live_at(&contracts, sub.current_period_end)
            .filter(|c| c.price_id == *price_id && c.minimum_commitment > 0)
        {
            crate::domain::contract::apply_commitment(contract, invoice)?;
        }
    } else {
        // Paid service stops: what changes left for the next invoice is billed on the final one.
        final_invoice = final_invoice_of(&sub, price.currency, pending_lines, lines)?;
    }
    let reason = if no_card {
        "the trial ended without a card"
    } else {
        "cancelled at the period end"
    };
    match renewals::apply_period_end(
        db,
        &sub,
        &decision,
        &renewals::UsageBilling {
            ratings: &ratings,
            final_invoice: final_invoice.as_ref(),
            pending_lines: &pending_ids,
        },
        reason,
        org_now,
    )
    .await
    {
        Ok(outcome) => {
            if migration.is_some() {
                crate::store::price_migrations::mark_applied(db, &sub.id, org_now).await?;
            }
            Ok(Some(outcome))
        }
        Err(ChangeError::Stale) => Ok(None),
        Err(ChangeError::Db(e)) if crate::store::is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The lines earlier changes left for the subscription's next invoice: their ids (to settle)
/// and the lines.
async fn waiting_for(
    db: &crate::store::Db,
    sub: &subscriptions::SubscriptionRow,
) -> Result<(Vec<String>, Vec<crate::domain::InvoiceLine>), sqlx::Error> {
    Ok(crate::store::pending_lines::open_for(db, &sub.id)
        .await?
        .into_iter()
        .map(|p| (p.id, p.line))
        .unzip())
}

/// The invoice that bills what is left when paid service stops: the lines changes left for the
/// next invoice, then the last period's usage; none when there is nothing.
fn final_invoice_of(
    sub: &subscriptions::SubscriptionRow,
    currency: Currency,
    mut pending: Vec<crate::domain::InvoiceLine>,
    mut usage: Vec<crate::domain::InvoiceLine>,
) -> Result<Option<crate::domain::InvoiceDraft>, crate::domain::InvoiceError> {
    if pending.is_empty() && usage.is_empty() {
        return Ok(None);
    }
    pending.append(&mut usage);
    crate::domain::metering::usage_invoice(
        currency,
        (sub.current_period_start, sub.current_period_end),
        pending,
    )
    .map(Some)
}

enum Collected {
    Paid(Money),
    Failed { stopped: Option<PeriodEndOutcome> },
    Skipped,
}

/// One payment attempt on an open invoice, and what follows from its outcome.
async fn collect(
    state: &AppState,
    catalog: &[Plan],
    invoice_id: &InvoiceId,
    real_now: i64,
) -> Result<Collected, BillRunError> {
    let db = &state.db;
    let Some(invoice) = renewals::collectable(db, invoice_id).await? else {
        return Ok(Collected::Skipped);
    };
    let org_now = crate::store::test_clocks::org_now(db, &invoice.org_id, real_now).await?;
    if invoice.status != crate::domain::InvoiceStatus::Open
        || invoice.next_attempt_at.is_none_or(|at| at > org_now)
    {
        return Ok(Collected::Skipped);
    }
    let currency = Currency::parse(&invoice.currency)?;
    let amount = Money::from_minor(invoice.amount_due, currency);
    let attempt = invoice.attempt_count + 1;
    let customer = crate::store::accounts::stripe_customer_id(db, &invoice.org_id).await?;
    let card = crate::store::payment_methods::default_for_org(db, &invoice.org_id).await?;
    let outcome = match (customer, card) {
        (Some(customer), Some(card)) => state
            .payments
            .gateway
            .charge_off_session(
                &customer,
                &card,
                invoice.amount_due,
                &invoice.currency.to_lowercase(),
                &attempt_key(&invoice.id, attempt),
                HashMap::from([
                    ("org_id".to_string(), invoice.org_id.to_string()),
                    ("invoice_id".to_string(), invoice.id.to_string()),
                ]),
            )
            .await
            .map_err(|e| match e {
                GatewayError::Unavailable(m) => BillRunError::StripeUnavailable(m),
                GatewayError::Rejected(m) => BillRunError::StripeRefused(m),
            })?,
        _ => ChargeOutcome::Declined {
            code: "no_payment_method".into(),
            message: "There is no card on file.".into(),
            payment_intent_id: None,
        },
    };
    match outcome {
        ChargeOutcome::Succeeded { payment_intent_id } => {
            if renewals::record_paid(db, &invoice, attempt, &payment_intent_id, org_now).await? {
                Ok(Collected::Paid(amount))
            } else {
                Ok(Collected::Skipped)
            }
        }
        ChargeOutcome::Declined { message, .. } => {
            let next = state
                .config
                .dunning
                .next_attempt(
                    u32::try_from(attempt).unwrap_or(u32::MAX),
                    timestamp(org_now),
                )
                .map(|t| t.timestamp());
            let contact = renewals::billing_contact(db, &invoice.org_id).await?;
            let link = format!(
                "{}/billing/invoices/{}",
                state.config.public_base_url, invoice.id
            );
            let subject = match next {
                Some(_) => format!("Payment of {amount} failed (invoice {})", invoice.number),
                None => format!(
                    "Final notice: invoice {} for {amount} is unpaid",
                    invoice.number
                ),
            };
            let body = match next {
                Some(at) => format!(
                    "We could not charge your card for invoice {} ({amount}): {message}\n\n\
                     We will try again on {}. To pay now or change your card, open {link}\n",
                    invoice.number,
                    crate::domain::period::format_date(at)
                ),
                None => format!(
                    "We could not charge your card for invoice {} ({amount}) after {attempt} attempts: {message}\n\n\
                     Your paid plan has stopped. You can still pay the invoice at {link}\n",
                    invoice.number
                ),
            };
            let recorded = renewals::record_failed(
                db,
                &invoice,
                &FailedAttempt {
                    attempt,
                    error: &message,
                    next_attempt_at: next,
                    email: contact.as_deref().map(|to| OutgoingEmail {
                        to,
                        subject: &subject,
                        body: &body,
                    }),
                },
                org_now,
            )
            .await?;
            if !recorded {
                return Ok(Collected::Skipped);
            }
            let stopped = if next.is_none() {
                stop_after_failed_payments(state, catalog, &invoice, attempt, org_now).await?
            } else {
                None
            };
            Ok(Collected::Failed { stopped })
        }
    }
}

/// Tries to collect one open invoice now (a staff "retry payment"): the attempt is due at once,
/// then charged like any other, with dunning following a decline. Returns a short outcome.
pub async fn retry_now(state: &AppState, invoice_id: &InvoiceId) -> Result<String, BillRunError> {
    let db = &state.db;
    let invoice = renewals::collectable(db, invoice_id)
        .await?
        .ok_or(BillRunError::NoSuchInvoice)?;
    if invoice.status != crate::domain::InvoiceStatus::Open {
        return Err(BillRunError::NotOpen(invoice.status));
    }
    let org_now = crate::store::test_clocks::org_now(db, &invoice.org_id, state.now()).await?;
    renewals::due_now(db, invoice_id, org_now).await?;
    let catalog = crate::store::catalog::load(db).await?;
    match collect(state, &catalog, invoice_id, state.now()).await? {
        Collected::Paid(amount) => Ok(format!("paid {amount}")),
        Collected::Failed { .. } => Ok("declined again; the dunning schedule continues".into()),
        Collected::Skipped => Ok("nothing to do (another worker settled it)".into()),
    }
}

/// The idempotency key of one payment attempt: a retried request is the same charge.
pub fn attempt_key(invoice_id: &InvoiceId, attempt: i64) -> String {
    format!("invoice:{invoice_id}:attempt:{attempt}")
}

/// The last retry failed: paid service stops (free plan, or the subscription ends).
async fn stop_after_failed_payments(
    state: &AppState,
    catalog: &[Plan],
    invoice: &CollectableInvoice,
    attempts: i64,
    org_now: i64,
) -> Result<Option<PeriodEndOutcome>, BillRunError> {
    let Some(sub_id) = &invoice.subscription_id else {
        return Ok(None);
    };
    for _ in 0..3 {
        let Some(sub) = subscriptions::by_id(&state.db, sub_id).await? else {
            return Ok(None);
        };
        if !sub.status.is_live() {
            return Ok(None);
        }
        let (_, price) = find_price(catalog, &sub.price_id)
            .ok_or_else(|| BillRunError::UnknownPrice(sub.price_id.clone()))?;
        let decision = stop_paid_service(
            price,
            timestamp(org_now),
            free_price(catalog, price.currency).filter(|free| free.id != price.id),
        )?;
        let reason = format!(
            "invoice {} unpaid after {attempts} attempts",
            invoice.number
        );
        // What earlier changes left for the next invoice is still owed (or owing): it goes on a
        // final invoice of its own.
        let (pending_ids, pending_lines) = waiting_for(&state.db, &sub).await?;
        let final_invoice = final_invoice_of(&sub, price.currency, pending_lines, Vec::new())?;
        match renewals::apply_period_end(
            &state.db,
            &sub,
            &decision,
            &renewals::UsageBilling {
                ratings: &[],
                final_invoice: final_invoice.as_ref(),
                pending_lines: &pending_ids,
            },
            &reason,
            org_now,
        )
        .await
        {
            Ok(outcome) => return Ok(Some(outcome)),
            Err(ChangeError::Stale) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(BillRunError::KeptChanging(sub_id.to_string()))
}
