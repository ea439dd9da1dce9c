//! The only door from the browser: server functions grouped by area. Each checks who is calling,
//! parses its input, calls a service and maps the answer.

pub mod auth;
pub mod billing;
pub mod catalog;
pub mod checkout;
pub mod console;
pub mod invoices;
pub mod members;
pub mod payment_methods;
pub mod staff_actions;
pub mod subscription;
pub mod support;
pub mod usage;

pub use crate::error::AppError;
