//! Customer pages.

mod auth;
mod billing;
mod checkout;
mod plan;
mod pricing;

pub use auth::{SignInPage, SignUpPage};
pub use billing::BillingPage;
pub use checkout::{format_date, CheckoutSuccessPage};
pub use plan::PlanChangePage;
pub use pricing::{HomePage, PricingPage};
