//! The support console's fixed choices, shared by its pages and its actions.

/// Reasons staff can give for a refund (code, label).
pub const REFUND_REASONS: [(&str, &str); 5] = [
    ("service_issue", "Service problem or outage"),
    ("billing_error", "Billing error"),
    ("duplicate", "Duplicate payment"),
    ("goodwill", "Goodwill gesture"),
    ("cancellation", "Cancellation request"),
];

/// Reasons for the other staff actions (code, label).
pub const ACTION_REASONS: [(&str, &str); 5] = [
    ("customer_request", "Customer request"),
    ("service_issue", "Service problem or outage"),
    ("billing_error", "Billing error"),
    ("goodwill", "Goodwill gesture"),
    ("payment_issue", "Payment problem"),
];

/// The longest note a console action takes.
pub const NOTE_MAX: usize = 2_000;
