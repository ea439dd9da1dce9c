//! Customer pages.

mod auth;
mod billing;
mod checkout;
mod invoices;
mod members;
mod plan;
mod pricing;
mod usage;

pub use auth::{SignInPage, SignUpConfirmPage, SignUpPage, SignUpSentPage};
pub use billing::BillingPage;
pub use checkout::CheckoutSuccessPage;
pub use invoices::{InvoicePage, InvoicesPage, PaymentMethodsPage};
pub use members::{DevMailboxPage, InvitationPage, MembersPage};
pub use plan::PlanChangePage;
pub use pricing::{HomePage, PricingPage};
pub use usage::UsagePage;
