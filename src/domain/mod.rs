//! Billing rules, pure: no IO, no async, no system clock. Compiles for wasm32 so the browser can
//! show the same previews the server charges.
//!
//! Money rules in one paragraph: amounts are `i64` minor units of one [`Currency`]; unit prices
//! are [`rust_decimal::Decimal`] minor units with at most 12 decimals; each invoice line is rounded
//! once by [`rounding::round_to_minor_units`] (half away from zero); an invoice total is the sum
//! of its rounded lines; discounts apply before tax.

pub mod access;
pub mod catalog;
pub mod catalog_file;
pub mod clock;
pub mod cohort;
pub mod contract;
pub mod coupon;
pub mod currency;
pub mod ids;
pub mod invariants;
pub mod invoice;
pub mod metering;
pub mod money;
pub mod period;
pub mod pricing;
pub mod promotion;
pub mod proration;
pub mod renewal;
pub mod rounding;
pub mod status;
pub mod text;

pub use catalog::{Catalog, CatalogError, PriceProblem};
pub use coupon::{AppliedCoupon, Coupon, CouponDuration, CouponError, CouponValue};
pub use currency::{Currency, CurrencyError};
pub use invariants::InvariantViolation;
pub use invoice::{
    build_invoice, InvoiceDraft, InvoiceError, InvoiceLine, LineKind, SubscriptionItem,
    SubscriptionSnapshot,
};
pub use money::{Money, MoneyError};
pub use period::{BillingPeriod, Interval, IntervalUnit, PeriodError, PeriodFraction};
pub use pricing::{Price, PriceModel, PriceQuote, PricingError, Tier};
pub use proration::{
    preview_change, ChangeKind, ChangePolicies, CurrentSubscription, ProrationError,
    ProrationPolicy, ProrationPreview, ScheduledChange, SubscriptionChange,
};
pub use renewal::{at_period_end, PeriodEndDecision, PeriodEndInput, RetrySchedule};
pub use status::{
    ApprovalStatus, CheckoutStatus, InvitationStatus, InvoiceStatus, SubscriptionStatus,
};
