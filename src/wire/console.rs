//! What the support console's pages show, and its fixed choices, shared by its pages and its
//! actions.

use crate::domain::access::Role;
use crate::domain::ids::{ApprovalId, InvoiceId, OrgId};
use serde::{Deserialize, Serialize};

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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub org_id: OrgId,
    pub org_name: String,
    /// What matched, e.g. "owner@acme.test (owner)" or "invoice 0002".
    pub matched: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffInvoice {
    pub id: InvoiceId,
    pub number: String,
    pub status: crate::domain::InvoiceStatus,
    pub created_at: i64,
    pub total: String,
    pub paid: String,
    /// What can still be refunded, formatted, and in minor units.
    pub refundable: String,
    pub refundable_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: i64,
    /// `account`, `plan`, `invoice`, `payment`, `email`, `credit` or `staff`.
    pub kind: String,
    pub text: String,
}

/// A member of a customer's organisation, as the console lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberLine {
    pub email: String,
    pub role: Role,
}

/// The price and seats a customer's live subscription is on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentPlan {
    pub price_id: String,
    pub seats: i64,
}

/// One option of a console form or switch (a price, a meter): its id and what it shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub label: String,
}

/// A form field the confirmation page submits again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormField {
    pub name: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerView {
    pub org_id: OrgId,
    pub org_name: String,
    /// What waits for the live subscription, in the order the renewal applies it.
    #[serde(default)]
    pub pending: Vec<String>,
    pub created_at: i64,
    pub stripe_customer_id: Option<String>,
    pub test_clock: Option<String>,
    pub members: Vec<MemberLine>,
    pub subscription: Option<String>,
    pub cards: Vec<String>,
    pub credit_balance: String,
    pub invoices: Vec<StaffInvoice>,
    pub timeline: Vec<TimelineEntry>,
    pub can_refund: bool,
    /// Agents and billing admins may retry payments and extend trials.
    pub can_assist: bool,
    pub trialing: bool,
    /// The live subscription's price and seats, for the plan change form.
    pub plan: Option<CurrentPlan>,
    /// Every price a plan can change to.
    pub prices: Vec<Choice>,
    /// A fresh token for each action form: submitting the same form twice does the action once.
    pub form_token: String,
    /// A renewal that failed too often and waits for staff: how often, and its last error.
    pub renewal_problem: Option<String>,
    /// The organisation's live contract in a sentence, if it has one.
    pub contract: Option<String>,
    /// The list prices a contract can be negotiated from.
    pub contract_bases: Vec<Choice>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub target: String,
    pub amount: Option<String>,
    pub reason: Option<String>,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalView {
    pub id: ApprovalId,
    /// What is asked, e.g. "Refund".
    pub kind: String,
    pub org_id: OrgId,
    pub amount: String,
    pub reason: String,
    pub note: String,
    pub requested_by: String,
    pub status: crate::domain::ApprovalStatus,
    pub decided_by: Option<String>,
    pub created_at: i64,
}

/// What an approval request asks for, in words.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "refund" => "Refund",
        "credit" => "Account credit",
        "credit_note" => "Credit note",
        "void" => "Void",
        "uncollectible" => "Write-off",
        "plan_change" => "Plan change credit",
        _ => "Request",
    }
}

/// The audit page: entries matching the filter (newest first, at most 500) and the action names
/// to filter by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPageView {
    pub rows: Vec<AuditView>,
    pub actions: Vec<String>,
    /// More entries match than are shown; the CSV export has them all.
    pub truncated: bool,
    /// The last checkpoint, in words: which entry it anchored, its hash, when and by whom.
    pub checkpoint: Option<String>,
}

/// The most entries the page shows; the CSV export is not limited.
pub const AUDIT_PAGE_ROWS: usize = 500;

/// One usage event as the console lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEventView {
    pub id: String,
    pub quantity: i64,
    pub at: i64,
    /// The event's properties as JSON.
    pub properties: String,
}

/// The events behind a meter's figure for a customer over `[from, until)` (unix seconds; both
/// empty: the current period), with the meter's value over the same range: the drill-down behind
/// a usage line on an invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageDrillDown {
    pub org_id: OrgId,
    pub org_name: String,
    pub meter: String,
    pub meter_name: String,
    /// How the meter counts, in words.
    pub counts: String,
    pub unit_label: String,
    pub from: i64,
    pub until: i64,
    pub total: i64,
    /// The first 1,000 events, oldest first.
    pub events: Vec<UsageEventView>,
    /// Every meter, to switch between them.
    pub meters: Vec<Choice>,
}

/// What the confirmation page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmView {
    /// The action's name (see `services::console::StaffAction`).
    pub action: String,
    pub org_id: OrgId,
    /// One sentence, e.g. "Refund $10.00 on invoice 0001".
    pub title: String,
    /// The exact effect: amounts before and after, who is charged or paid, what is emailed.
    pub lines: Vec<String>,
    /// How the figures were worked out.
    pub detail: Vec<String>,
    /// The form's fields to submit again, with `confirm` set to `key`.
    pub fields: Vec<FormField>,
    pub key: String,
    /// Set when the action has already been done (the same form was confirmed before).
    pub done: Option<String>,
}

/// A renewal that stopped being retried, as the console lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttentionItem {
    pub org_id: OrgId,
    pub org_name: String,
    pub failures: i64,
    pub error: String,
    pub failed_at: i64,
}

/// `/support/catalog`: the published catalog, its revisions, and the draft with what publishing
/// it would change (or the problems that stop it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogConsoleView {
    pub revision: i64,
    pub revisions: Vec<RevisionLine>,
    pub plans: Vec<CatalogPlanLine>,
    /// The viewer may edit and publish (a catalog admin).
    pub can_edit: bool,
    /// The draft's text: the saved draft, else the published catalog as a starting point.
    pub draft_body: String,
    /// Who saved the draft and when; `None` when there is no draft.
    pub draft_saved: Option<String>,
    /// The draft started from an older revision than the published one.
    pub draft_stale: bool,
    pub changes: Vec<String>,
    pub problems: Vec<ProblemLine>,
    /// Identifies the draft text the preview was made from; publishing names it.
    pub draft_digest: String,
    /// Every price id (the versions subscribers may hold) and the ids for sale, for the
    /// migration form.
    pub price_ids: Vec<String>,
    pub for_sale_ids: Vec<String>,
    pub migrations: Vec<MigrationRow>,
    /// The viewer may approve others' migrations.
    pub can_decide: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionLine {
    pub revision: i64,
    pub published_by: String,
    pub published_at: String,
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogPlanLine {
    pub id: String,
    pub name: String,
    pub archived: bool,
    /// "pro_monthly: $12.00 per seat every month", with "(archived)" for those not for sale.
    pub prices: Vec<String>,
    pub usage: Vec<String>,
    pub entitlements: Vec<String>,
}

/// A problem of the draft: where in the catalog, and what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemLine {
    pub at: String,
    pub message: String,
}

/// What moving one price version's subscribers to another would do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationPreview {
    pub from: String,
    pub to: String,
    pub plan_name: String,
    /// Who it moves, in words ("every subscriber", "subscribers with 10 seats or more").
    pub cohort: String,
    pub rows: Vec<MigrationLine>,
    pub totals: Vec<MigrationTotal>,
    /// Subscribers left out because their contract prices their renewal, in sentences.
    #[serde(default)]
    pub held: Vec<String>,
}

/// One affected customer: their seats and recurring amount now and after the move.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationLine {
    pub org_id: String,
    pub org_name: String,
    pub quantity: i64,
    pub current: String,
    pub new: String,
    pub renews: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationTotal {
    pub currency: String,
    pub current: String,
    pub new: String,
}

/// A migration request as the catalog page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationRow {
    pub id: String,
    pub summary: String,
    pub status: String,
    pub requested_by: String,
    pub decided_by: Option<String>,
    pub requested_at: String,
}
