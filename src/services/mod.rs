//! The billing workflows, each read top to bottom: they take the state, call the store and the
//! payment gateway, and decide with the domain's rules.

pub mod bill_run;
pub mod catalog;
pub mod console;
pub mod contracts;
pub mod fulfilment;
pub mod plans;
pub mod price_migration;
pub mod seed;
pub mod test_clock;
pub mod usage;
