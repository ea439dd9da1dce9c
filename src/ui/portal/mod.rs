//! Customer pages.

mod auth;
mod billing;
mod pricing;

pub use auth::{SignInPage, SignUpPage};
pub use billing::BillingPage;
pub use pricing::{HomePage, PricingPage};
