//! The support console (staff only), at `/support`.

mod approvals;
mod audit;
mod catalog;
mod confirm;
mod customer;
mod home;
mod layout;
mod sign_in;
mod usage;

pub use approvals::ApprovalsPage;
pub use audit::AuditPage;
pub use catalog::CatalogPage;
pub use confirm::ConfirmPage;
pub use customer::CustomerPage;
pub use home::SupportHome;
pub use sign_in::SupportSignInPage;
pub use usage::UsageEventsPage;
