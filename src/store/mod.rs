//! The database: one set of portable queries over `sqlx::AnyPool` serves SQLite and PostgreSQL.
//! Timestamps are unix seconds, money is minor units, ids are prefixed random strings.

pub mod accounts;
pub mod approvals;
pub mod audit;
pub mod catalog;
pub mod checkouts;
pub mod console;
pub mod contracts;
pub mod coupons;
pub mod credit_notes;
pub mod credits;
pub mod db;
pub mod events;
pub mod ids;
pub mod invoices;
pub mod members;
pub mod payment_methods;
pub mod pending_lines;
pub mod price_migrations;
pub mod renewals;
pub mod sessions;
pub mod staff;
pub mod subscriptions;
pub mod test_clocks;
pub mod usage;

pub use db::{connect, is_unique_violation, lock, migrate, status, Db, Dialect, Lock};

/// A new random id with a prefix saying what it names, e.g. `org_4f1c…`.
pub fn new_id(prefix: &str) -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}_{}", hex::encode(bytes))
}
