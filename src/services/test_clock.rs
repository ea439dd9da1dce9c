//! Moving a test clock forward: everything that would have happened to its organisations in that
//! time happens, in order. The clock stops at each moment something falls due (a period end, a
//! payment retry), the bill run does that work at that time, and so on until the target.

use super::bill_run::{run_due, RunOptions, RunSummary};
use crate::domain::ids::ClockId;
use crate::server::AppState;
use crate::store::test_clocks;

/// Why a test clock could not be moved.
#[derive(Debug, thiserror::Error)]
pub enum TestClockError {
    #[error("test clocks are refused with a live Stripe key (sk_live_…); use a test key or the emulator")]
    Live,
    #[error("there is no test clock {0}")]
    Unknown(String),
    #[error("test clock {clock} is at {at}; it can only move forward")]
    Backwards { clock: String, at: String },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Test clocks move time for real customers' bills, so they exist only where no money is real:
/// with a live Stripe key every test-clock operation is refused.
pub fn refuse_when_live(state: &AppState) -> Result<(), TestClockError> {
    if state.config.stripe.is_live() {
        Err(TestClockError::Live)
    } else {
        Ok(())
    }
}

/// Advances clock `clock_id` to `to` (unix seconds). Returns what the bill runs did on the way.
pub async fn advance(
    state: &AppState,
    clock_id: &ClockId,
    to: i64,
    progress: &(dyn Fn(&RunSummary) + Send + Sync),
) -> Result<RunSummary, TestClockError> {
    refuse_when_live(state)?;
    let db = &state.db;
    let clock = test_clocks::find(db, clock_id)
        .await?
        .ok_or_else(|| TestClockError::Unknown(clock_id.to_string()))?;
    if to < clock.frozen_at {
        return Err(TestClockError::Backwards {
            clock: clock_id.to_string(),
            at: format_time(clock.frozen_at),
        });
    }
    let options = RunOptions {
        test_clock: Some(clock_id.to_string()),
        ..RunOptions::for_state(state)
    };
    let mut total = RunSummary::default();
    let mut current = clock.frozen_at;
    loop {
        let next = test_clocks::next_due(db, clock_id, to).await?;
        let step_to = next.map_or(to, |due| due.max(current));
        test_clocks::set_time(db, clock_id, step_to, state.now()).await?;
        current = step_to;
        let summary = run_due(state, &options, progress).await;
        let did_something = summary.processed() > 0;
        merge(&mut total, summary);
        if next.is_none() {
            break;
        }
        if !did_something {
            // Something is due but could not be done (see the errors): stop here rather than
            // skipping past it.
            total.errors.push(format!(
                "test clock {clock_id} stopped at {}: due work could not be done",
                format_time(current)
            ));
            break;
        }
    }
    Ok(total)
}

fn merge(total: &mut RunSummary, part: RunSummary) {
    total.renewed += part.renewed;
    total.invoices_created += part.invoices_created;
    total.payments_succeeded += part.payments_succeeded;
    total.payments_failed += part.payments_failed;
    total.moved_to_free += part.moved_to_free;
    total.ended += part.ended;
    total.migrated += part.migrated;
    total.skipped += part.skipped;
    total.errors.extend(part.errors);
    for (currency, amount) in part.collected {
        *total.collected.entry(currency).or_default() += amount;
    }
}

fn format_time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| secs.to_string())
}
