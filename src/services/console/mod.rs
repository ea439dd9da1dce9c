//! The support console's actions: what each is ([`StaffAction`]), how it is confirmed, and when
//! it waits for an approver. The actions themselves are in `money` (refunds, credits, credit
//! notes, voids, payment retries) and `customer` (trials, plan changes, emails, test clocks,
//! renewals); `approvals` decides the requests that wait.
//!
//! Every console action runs in two steps. The first submission checks the role and the input,
//! works out exactly what the action would do (amounts, balances, dates) and sends the browser to
//! `/support/confirm`, which shows that effect with a confirm button. The confirm button submits
//! the same fields again with the effect's key: a digest of the staff member, the action, its
//! fields and the effect's text. The server works the effect out again; only if its key is the one
//! confirmed does the action happen, so what happens is what was shown. If anything changed in
//! between (a payment arrived, time passed), the keys differ and the new effect is shown instead.

pub mod approvals;
pub mod contracts;
pub mod customer;
pub mod money;

use crate::domain::access::StaffRole;
use crate::domain::ids::{InvoiceId, OrgId};
use crate::error::AppError;
use crate::server::AppState;
use crate::wire::console::{ACTION_REASONS, NOTE_MAX};

/// The console actions, each with its form's fields (in the order of its server function's
/// arguments): the name is what `/support/confirm?do=…` and a stored approval carry.
macro_rules! staff_actions {
    ($($variant:ident($form:ident) = $name:literal { $($field:ident),+ $(,)? }),+ $(,)?) => {
        $(
            #[doc = concat!("The fields of the `", $name, "` console action.")]
            #[derive(Clone, Debug, Default, PartialEq, Eq)]
            pub struct $form {
                $(pub $field: String),+
            }

            impl $form {
                /// The same form with every field trimmed, as it is checked and confirmed.
                pub fn trimmed(self) -> $form {
                    $form { $($field: self.$field.trim().to_string()),+ }
                }

                pub fn action(&self) -> StaffAction {
                    StaffAction::$variant(self.clone())
                }
            }
        )+

        /// A console action that moves money or changes what a customer gets, read from its form.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum StaffAction {
            $($variant($form)),+
        }

        impl StaffAction {
            /// Every action's name.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            pub fn name(&self) -> &'static str {
                match self {
                    $(StaffAction::$variant(_) => $name),+
                }
            }

            /// The form's fields by name, in order.
            pub fn fields(&self) -> Vec<(&'static str, &str)> {
                match self {
                    $(StaffAction::$variant(form) => vec![$((stringify!($field), form.$field.as_str())),+]),+
                }
            }

            /// The action named `name` with its fields taken from `field` ("" when absent).
            fn from_fields(name: &str, field: impl Fn(&str) -> String) -> Option<StaffAction> {
                match name {
                    $($name => Some(StaffAction::$variant($form { $($field: field(stringify!($field))),+ }.trimmed())),)+
                    _ => None,
                }
            }
        }
    };
}

staff_actions! {
    Refund(RefundForm) = "refund" { invoice_id, amount, reason_code, note, token },
    Credit(CreditForm) = "credit" { org_id, amount, reason_code, note, token },
    Close(CloseForm) = "close" { invoice_id, action, reason_code, note },
    Retry(RetryForm) = "retry" { invoice_id, reason_code, note },
    ExtendTrial(ExtendTrialForm) = "extend_trial" { org_id, days, reason_code, note },
    ChangePlan(ChangePlanForm) = "change_plan" { org_id, price_id, seats, reason_code, note },
    ReduceInvoice(ReduceInvoiceForm) = "reduce_invoice" { invoice_id, amount, reason_code, note, token },
    ResendInvoice(ResendInvoiceForm) = "resend_invoice" { invoice_id, reason_code, note },
    AdvanceClock(AdvanceClockForm) = "advance_clock" { org_id, days, reason_code, note },
    RetryRenewal(RetryRenewalForm) = "retry_renewal" { org_id, reason_code, note },
    GiveContract(GiveContractForm) = "give_contract" { org_id, price_id, amount, minimum, ends_on, reason_code, note },
    EndContract(EndContractForm) = "end_contract" { org_id, reason_code, note },
}

impl StaffAction {
    /// The action a confirmation page's query (or a stored approval) names: `do=…&field=…`.
    pub fn from_query(query: &str) -> Result<StaffAction, AppError> {
        let pairs: std::collections::HashMap<String, String> =
            form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
                .into_owned()
                .collect();
        let name = pairs.get("do").map(String::as_str).unwrap_or_default();
        StaffAction::from_fields(name, |field| pairs.get(field).cloned().unwrap_or_default())
            .ok_or_else(|| AppError::NotFound("That console action".into()))
    }

    /// The query that names this action and its fields.
    pub fn query(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        out.append_pair("do", self.name());
        for (name, value) in self.fields() {
            out.append_pair(name, value);
        }
        out.finish()
    }

    /// Whether an approver can carry this action out (those that take money off a bill).
    pub fn can_be_approved(&self) -> bool {
        matches!(
            self,
            StaffAction::Refund(_)
                | StaffAction::Credit(_)
                | StaffAction::Close(_)
                | StaffAction::ReduceInvoice(_)
                | StaffAction::ChangePlan(_)
        )
    }
}

/// Works the action out at `step`: its effect to confirm, or what it did.
pub async fn run(
    state: &AppState,
    action: &StaffAction,
    step: Step<'_>,
) -> Result<Outcome, AppError> {
    match action {
        StaffAction::Refund(form) => money::refund_step(state, form, step).await,
        StaffAction::Credit(form) => money::credit_step(state, form, step).await,
        StaffAction::Close(form) => money::close_step(state, form, step).await,
        StaffAction::Retry(form) => money::retry_step(state, form, step).await,
        StaffAction::ReduceInvoice(form) => money::reduce_invoice_step(state, form, step).await,
        StaffAction::ExtendTrial(form) => customer::extend_trial_step(state, form, step).await,
        StaffAction::ChangePlan(form) => customer::change_plan_step(state, form, step).await,
        StaffAction::ResendInvoice(form) => customer::resend_invoice_step(state, form, step).await,
        StaffAction::AdvanceClock(form) => customer::advance_clock_step(state, form, step).await,
        StaffAction::RetryRenewal(form) => customer::retry_renewal_step(state, form, step).await,
        StaffAction::GiveContract(form) => contracts::give_contract_step(state, form, step).await,
        StaffAction::EndContract(form) => contracts::end_contract_step(state, form, step).await,
    }
}

/// The exact effect of an action, as worked out just now.
pub struct Effect {
    pub org_id: OrgId,
    /// The title and lines are what is confirmed: the amounts, dates and parties.
    pub title: String,
    pub lines: Vec<String>,
    /// How the figures were worked out (e.g. proration to the second), shown but not part of
    /// what is confirmed, so that it may move on between the preview and the confirmation.
    pub detail: Vec<String>,
}

/// Whether the action is being previewed, submitted (with the key of the effect confirmed, if
/// any), or carried out because an approver approved the request of `requester`.
#[derive(Clone, Copy)]
pub enum Step<'a> {
    Preview,
    Act(Option<&'a str>),
    Approved(&'a crate::wire::StaffSession),
}

/// The staff member an action is done as: the signed-in one (who must have one of `roles`), or,
/// for an approved request, the one who asked for it.
pub async fn acting_staff(
    state: &AppState,
    step: Step<'_>,
    roles: &[StaffRole],
) -> Result<crate::wire::StaffSession, AppError> {
    match step {
        Step::Approved(requester) => Ok(requester.clone()),
        _ => staff_with(state, roles).await,
    }
}

/// The audit actions that lower what a customer owes or give money back: what the approval
/// threshold adds up over 24 hours.
pub const LOWERING_ACTIONS: [&str; 6] = [
    "refund",
    "credit",
    "credit_note",
    "void",
    "mark_uncollectible",
    "account_credit_for_unused_time",
];

/// Whether an action that takes `amount` off what a customer owes needs a second person: when
/// it, with everything the same staff member took off the same customer's bill in the same
/// currency in the last 24 hours (done, or waiting for approval), passes the currency's
/// threshold. Splitting a refund in two does not avoid it.
pub struct ApprovalCheck {
    pub needed: bool,
    pub threshold: crate::domain::Money,
    pub recent: crate::domain::Money,
}

pub async fn approval_check(
    state: &AppState,
    staff: &crate::wire::StaffSession,
    step: Step<'_>,
    org_id: &OrgId,
    amount: crate::domain::Money,
) -> Result<ApprovalCheck, AppError> {
    use crate::domain::Money;
    let currency = amount.currency();
    let threshold = Money::from_minor(state.config.approval_threshold(currency), currency);
    let recent = crate::store::approvals::lowered_recently(
        &state.db,
        &staff.email,
        org_id,
        currency.code(),
        &LOWERING_ACTIONS,
        state.now() - 86_400,
    )
    .await?;
    let recent = Money::from_minor(recent, currency);
    let needed = !matches!(step, Step::Approved(_))
        && recent.minor_units().saturating_add(amount.minor_units()) > threshold.minor_units();
    Ok(ApprovalCheck {
        needed,
        threshold,
        recent,
    })
}

impl ApprovalCheck {
    /// The line the confirmation shows when an approver must decide.
    pub fn line(&self, amount: crate::domain::Money) -> Option<String> {
        self.needed.then(|| {
            let with = if self.recent.minor_units() > 0 {
                format!(
                    ", counted with the {} you already took off this customer's bill in the last 24 hours,",
                    self.recent
                )
            } else {
                String::new()
            };
            format!(
                "{amount}{with} is above the approval threshold of {}: nothing happens until a different staff member with the approver role approves it.",
                self.threshold
            )
        })
    }
}

/// A request's unique key for an action without a one-time form key: the confirmed effect's
/// key and the second it was confirmed (a double click is one request).
pub fn request_key(kind: &str, step: Step<'_>, now: i64) -> String {
    let confirmed = match step {
        Step::Act(Some(key)) => key.trim(),
        _ => "",
    };
    format!("{kind}:{confirmed}:{now}")
}

/// A request an approver decides, for an action that would otherwise be done now.
pub struct ApprovalRequest<'a> {
    /// The approval kind: `refund`, `credit`, `credit_note`, `void`, `uncollectible`,
    /// `plan_change`.
    pub kind: &'a str,
    pub org_id: &'a OrgId,
    pub invoice_id: Option<&'a InvoiceId>,
    pub amount: crate::domain::Money,
    pub reason_code: &'a str,
    pub note: &'a str,
    /// Unique per request: the form's one-time key, or the confirmed effect's key.
    pub key: &'a str,
    /// What the approver will be approving, in one line.
    pub summary: &'a str,
}

/// Records the request (with the action's form, so approving it performs exactly this) and its
/// audit entry; the outcome tells the staff member it waits.
pub async fn request_approval(
    state: &AppState,
    staff: &crate::wire::StaffSession,
    action: &StaffAction,
    request: ApprovalRequest<'_>,
) -> Result<Outcome, AppError> {
    let requested = format!("{}_requested", request.kind);
    let target = match request.invoice_id {
        Some(id) => format!("invoice:{id}"),
        None => format!("org:{}", request.org_id),
    };
    let request_id = format!("form:{}", request.key);
    let id = crate::store::approvals::request(
        &state.db,
        &crate::store::approvals::NewApproval {
            kind: request.kind,
            org_id: request.org_id,
            invoice_id: request.invoice_id,
            amount: request.amount.minor_units(),
            currency: request.amount.currency().code(),
            reason_code: request.reason_code,
            note: request.note,
            request_key: request.key,
            requested_by: &staff.email,
            payload: &action.query(),
        },
        &crate::store::audit::AuditEntry {
            action: &requested,
            target: &target,
            org_id: Some(request.org_id),
            amount: Some(request.amount.minor_units()),
            currency: Some(request.amount.currency().code()),
            reason_code: Some(request.reason_code),
            note: request.note,
            request_id: Some(&request_id),
            ..by_staff(staff)
        },
        state.now(),
    )
    .await
    .map_err(|e| {
        if crate::store::is_unique_violation(&e) {
            AppError::Conflict("This was already sent for approval.".into())
        } else {
            AppError::internal(e)
        }
    })?;
    Ok(Outcome::Done {
        org_id: request.org_id.clone(),
        message: format!(
            "{}: it is above the approval threshold, so request {id} now waits for an approver. Nothing has changed yet.",
            request.summary
        ),
    })
}

/// What a step ended with.
pub enum Outcome {
    /// Not done: this effect waits for confirmation.
    Confirm { effect: Effect, key: String },
    /// Done (now, or by an earlier submission of the same form).
    Done { org_id: OrgId, message: String },
}

/// Lets the action go ahead only when `step` confirms exactly `effect`; otherwise returns the
/// confirmation to show.
pub fn gate(
    staff: &crate::wire::StaffSession,
    action: &StaffAction,
    effect: Effect,
    step: Step<'_>,
) -> Option<Outcome> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in [staff.email.as_str(), action.name()]
        .into_iter()
        .chain(action.fields().into_iter().flat_map(|(n, v)| [n, v.trim()]))
        .chain([effect.org_id.as_str(), effect.title.as_str()])
        .chain(effect.lines.iter().map(String::as_str))
    {
        hasher.update(part.as_bytes());
        hasher.update([0x1f]);
    }
    let key = hex::encode(&hasher.finalize()[..12]);
    match step {
        Step::Act(Some(confirmed)) if confirmed.trim() == key => None,
        // An approver approved exactly this form; its checks have just run again.
        Step::Approved(_) => None,
        _ => Some(Outcome::Confirm { effect, key }),
    }
}

pub async fn staff_with(
    state: &AppState,
    allowed: &[StaffRole],
) -> Result<crate::wire::StaffSession, AppError> {
    let staff = crate::server::auth::staff(state)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if !allowed.contains(&staff.role) {
        return Err(AppError::Forbidden);
    }
    Ok(staff)
}

/// Every staff role reads.
pub const READERS: [StaffRole; 3] = [
    StaffRole::Agent,
    StaffRole::BillingAdmin,
    StaffRole::Approver,
];

/// The audit entry's actor fields for a staff member; the rest is filled in per action.
pub fn by_staff(staff: &crate::wire::StaffSession) -> crate::store::audit::AuditEntry<'_> {
    crate::store::audit::AuditEntry {
        actor: &staff.email,
        actor_role: staff.role.as_str(),
        ..Default::default()
    }
}

/// `text` with its first letter in lower case ("Void invoice" → "void invoice").
pub fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

pub fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A staff action's note: what happened and what the customer was told; multi-line, no control
/// or text-direction characters.
pub fn check_note(note: &str) -> Result<String, AppError> {
    if note.trim().is_empty() {
        return Err(AppError::Invalid(
            "Write a note: what happened and what the customer was told.".into(),
        ));
    }
    crate::domain::access::check_text(
        "The note",
        note,
        NOTE_MAX,
        crate::domain::text::Lines::Many,
        true,
    )
}

/// A checked reason and note, and the audit entry's shared fields.
pub fn reason_and_note<'a>(
    reason_code: &'a str,
    note: &str,
) -> Result<(&'a str, String), AppError> {
    let reason = reason_code.trim();
    if !ACTION_REASONS.iter().any(|(code, _)| *code == reason) {
        return Err(AppError::Invalid("Choose a reason.".into()));
    }
    Ok((reason, check_note(note)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_is_read_back_from_its_query_with_its_fields_trimmed() {
        let action = RefundForm {
            invoice_id: " inv_1 ".into(),
            amount: "10.00".into(),
            reason_code: "duplicate".into(),
            note: "asked twice & paid twice".into(),
            token: "form_12345678".into(),
        }
        .trimmed()
        .action();
        let query = action.query();
        assert!(
            query.starts_with("do=refund&invoice_id=inv_1&amount=10.00"),
            "{query}"
        );
        assert_eq!(StaffAction::from_query(&query), Ok(action.clone()));
        assert_eq!(StaffAction::from_query(&format!("?{query}")), Ok(action));
        // Missing fields read as empty, for the action's own checks to refuse.
        assert_eq!(
            StaffAction::from_query("do=retry&invoice_id=inv_2"),
            Ok(StaffAction::Retry(RetryForm {
                invoice_id: "inv_2".into(),
                ..RetryForm::default()
            }))
        );
        assert_eq!(
            StaffAction::from_query("do=delete_everything"),
            Err(AppError::NotFound("That console action".into()))
        );
    }

    #[test]
    fn every_action_has_its_own_name_and_only_money_actions_can_be_approved() {
        let names: std::collections::BTreeSet<_> = StaffAction::NAMES.iter().collect();
        assert_eq!(names.len(), StaffAction::NAMES.len());
        for name in StaffAction::NAMES {
            let action = StaffAction::from_query(&format!("do={name}")).unwrap();
            assert_eq!(action.name(), *name);
            let approvable = matches!(
                *name,
                "refund" | "credit" | "close" | "reduce_invoice" | "change_plan"
            );
            assert_eq!(action.can_be_approved(), approvable, "{name}");
        }
    }
}
