//! Contracts from the customer's side and the bill run's: what the next period bills once the
//! customer's own change, a price migration and their contract have had their say, and the
//! sentences the plan page shows about it. Giving and ending a contract are console actions
//! (`console::contracts`).

use crate::domain::catalog::{find_price, Plan};
use crate::domain::contract::{self, Contract};
use crate::domain::period::format_date;
use crate::store::price_migrations::PendingMove;
use crate::store::subscriptions::SubscriptionRow;
use crate::store::Db;

/// What a subscription's next period bills, and why.
pub struct NextPeriod {
    /// The customer's own scheduled price, or the one they hold.
    pub own: String,
    /// A migration that moves them at this renewal.
    pub migration: Option<PendingMove>,
    /// The subscription's pending move, whenever it happens (the plan page announces it).
    pub pending: Option<PendingMove>,
    /// The price after the migration and their contract.
    pub price_id: String,
    pub quantity: i64,
    pub contracts: Vec<Contract>,
}

impl NextPeriod {
    /// The price the customer's own change and the migration leave, before the contract.
    pub fn after_migration(&self) -> &str {
        self.migration
            .as_ref()
            .map_or(self.own.as_str(), |m| m.to_price_id.as_str())
    }
}

/// Works out the next period's price: the customer's own scheduled change first, then a price
/// migration of the price that leaves them on (once its date has come), then their contract.
/// `catalog` is the published one ([`crate::store::catalog::load`]).
pub async fn next_period(
    db: &Db,
    catalog: &[Plan],
    sub: &SubscriptionRow,
) -> Result<NextPeriod, sqlx::Error> {
    let own = sub
        .scheduled_price_id
        .clone()
        .unwrap_or_else(|| sub.price_id.clone());
    let pending = crate::store::price_migrations::pending_for(db, &sub.id).await?;
    let migration = pending.clone().filter(|m| {
        m.from_price_id == own && m.not_before.is_none_or(|t| t <= sub.current_period_end)
    });
    let migrated = migration.as_ref().map_or(&own, |m| &m.to_price_id);
    let contracts = crate::store::contracts::terms_of(db, &sub.org_id).await?;
    let price_id =
        contract::price_at_renewal(catalog, migrated, &contracts, sub.current_period_end);
    Ok(NextPeriod {
        own,
        migration,
        pending,
        price_id,
        quantity: sub.scheduled_quantity.unwrap_or(sub.quantity),
        contracts,
    })
}

/// The plan page's sentences about the subscription's contract: its terms while it holds the
/// contract's price, and what its renewal changes because of a contract (starting or ending).
/// `catalog` is the published one and `next` its [`next_period`].
pub fn plan_page_lines(
    catalog: &[Plan],
    next: &NextPeriod,
    sub: &SubscriptionRow,
) -> (Option<String>, Option<String>) {
    let terms = next
        .contracts
        .iter()
        .rev()
        .find(|c| c.price_id == sub.price_id)
        .and_then(|c| {
            let (_, price) = find_price(catalog, &c.price_id)?;
            Some(format!(
                "Your contract price: {}.",
                contract::describe(c, price)
            ))
        });
    if next.price_id == next.after_migration() {
        return (terms, None);
    }
    let Some((plan, price)) = find_price(catalog, &next.price_id) else {
        return (terms, None);
    };
    let Ok(amount) = price.amount_for(next.quantity) else {
        return (terms, None);
    };
    let renewal = format_date(sub.current_period_end);
    let what = format!(
        "{amount} for {} every {}",
        price.quantity_label(next.quantity),
        price.interval.describe()
    );
    let change = match next.contracts.iter().rev().find(|c| c.price_id == next.price_id) {
        Some(c) => format!(
            "Your contract price for {} starts at your renewal on {renewal}: {what} ({}).",
            plan.name,
            contract::describe(c, price)
        ),
        None => format!(
            "Your contract price ends at your renewal on {renewal}; from then {} costs {what} at the list price.",
            plan.name
        ),
    };
    (terms, Some(change))
}
