//! What the support console reads: search across customers, one organisation's facts, and its
//! timeline merged from every table that records something about it.

use super::Db;
use crate::domain::ids::{ClockId, InvoiceId, OrgId, UserId};
use sqlx::Row;
use std::collections::HashMap;

/// Organisations matching `q` by member email, organisation name, invoice number, Stripe
/// customer id or payment id: (org id, org name, what matched).
/// An organisation a console search found, and what about it matched ("member a@b.c (owner)").
pub struct SearchRow {
    pub org_id: OrgId,
    pub org_name: String,
    pub matched: String,
}

pub async fn search(db: &Db, q: &str, limit: i64) -> Result<Vec<SearchRow>, sqlx::Error> {
    let like = format!("%{}%", q.to_lowercase().replace(['%', '_'], ""));
    let rows = sqlx::query(
        "SELECT o.id, o.name, 'member ' || u.email || ' (' || m.role || ')' AS matched FROM organizations o \
           JOIN memberships m ON m.org_id = o.id JOIN users u ON u.id = m.user_id WHERE LOWER(u.email) LIKE $1 \
         UNION SELECT o.id, o.name, 'organisation' AS matched FROM organizations o WHERE LOWER(o.name) LIKE $1 \
         UNION SELECT o.id, o.name, 'invoice ' || i.number AS matched FROM organizations o \
           JOIN invoices i ON i.org_id = o.id WHERE i.number = $2 OR LOWER(i.id) = $3 \
         UNION SELECT o.id, o.name, 'Stripe customer ' || o.stripe_customer_id AS matched FROM organizations o \
           WHERE LOWER(o.stripe_customer_id) = $3 \
         UNION SELECT o.id, o.name, 'payment ' || p.stripe_payment_intent_id AS matched FROM organizations o \
           JOIN payments p ON p.org_id = o.id WHERE LOWER(p.stripe_payment_intent_id) = $3 \
         ORDER BY 2, 3 LIMIT $4",
    )
    .bind(&like)
    .bind(q.trim())
    .bind(q.trim().to_lowercase())
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SearchRow {
                org_id: r.try_get("id")?,
                org_name: r.try_get("name")?,
                matched: r.try_get("matched")?,
            })
        })
        .collect()
}

pub struct OrganizationRow {
    pub name: String,
    pub created_at: i64,
    pub stripe_customer_id: Option<String>,
    /// The test clock's name and time, when the organisation is on one.
    pub test_clock: Option<String>,
    pub test_clock_id: Option<ClockId>,
}

pub async fn organization(db: &Db, org_id: &OrgId) -> Result<Option<OrganizationRow>, sqlx::Error> {
    sqlx::query(
        "SELECT o.name, o.created_at, o.stripe_customer_id, o.test_clock_id, tc.name AS clock_name, tc.frozen_at \
         FROM organizations o LEFT JOIN test_clocks tc ON tc.id = o.test_clock_id WHERE o.id = $1",
    )
    .bind(org_id)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| {
        let clock: Option<String> = r.try_get("clock_name")?;
        let frozen: Option<i64> = r.try_get("frozen_at")?;
        Ok(OrganizationRow {
            name: r.try_get("name")?,
            created_at: r.try_get("created_at")?,
            stripe_customer_id: r.try_get("stripe_customer_id")?,
            test_clock_id: r.try_get("test_clock_id")?,
            test_clock: clock.map(|name| {
                format!(
                    "{name} at {}",
                    frozen
                        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_default()
                )
            }),
        })
    })
    .transpose()
}

/// Credit notes so far per invoice of the organisation, in minor units.
pub async fn credited_by_invoice(
    db: &Db,
    org_id: &OrgId,
) -> Result<HashMap<InvoiceId, i64>, sqlx::Error> {
    sqlx::query(
        "SELECT invoice_id, CAST(SUM(amount) AS BIGINT) AS n FROM credit_notes WHERE org_id = $1 GROUP BY invoice_id",
    )
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("invoice_id")?, r.try_get("n")?)))
    .collect()
}

/// What the console may still refund on an invoice: what a paid invoice took, less every credit
/// note so far; nothing on an invoice that is not paid.
pub fn refundable(
    status: crate::domain::InvoiceStatus,
    amount_paid: i64,
    total: i64,
    credited: i64,
) -> i64 {
    if status == crate::domain::InvoiceStatus::Paid {
        (amount_paid.min(total) - credited).max(0)
    } else {
        0
    }
}

/// A paid invoice as a refund needs it.
pub struct RefundTarget {
    pub id: InvoiceId,
    pub org_id: OrgId,
    pub number: String,
    pub currency: String,
    /// Paid, less every credit note so far.
    pub refundable: i64,
    pub payment_intent_id: Option<String>,
}

pub async fn invoice_for_refund(
    db: &Db,
    invoice_id: &InvoiceId,
) -> Result<Option<RefundTarget>, sqlx::Error> {
    let Some(r) = sqlx::query(
        "SELECT i.id, i.org_id, i.number, i.currency, i.status, i.total, i.amount_paid, \
         (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM credit_notes c WHERE c.invoice_id = i.id) AS credited, \
         (SELECT p.stripe_payment_intent_id FROM payments p WHERE p.invoice_id = i.id AND p.status = 'succeeded' \
            ORDER BY p.created_at DESC LIMIT 1) AS intent \
         FROM invoices i WHERE i.id = $1",
    )
    .bind(invoice_id)
    .fetch_optional(&db.pool)
    .await?
    else {
        return Ok(None);
    };
    let status: crate::domain::InvoiceStatus = super::status(&r, "status")?;
    let paid: i64 = r.try_get("amount_paid")?;
    let total: i64 = r.try_get("total")?;
    let credited: i64 = r.try_get("credited")?;
    Ok(Some(RefundTarget {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        number: r.try_get("number")?,
        currency: r.try_get("currency")?,
        refundable: refundable(status, paid, total, credited),
        payment_intent_id: r.try_get("intent")?,
    }))
}

/// The number of the credit note an earlier submission of the same form made, if any.
pub async fn credit_note_for_request(
    db: &Db,
    request_key: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT number FROM credit_notes WHERE request_key = $1")
        .bind(request_key)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.try_get("number"))
        .transpose()
}

fn money(minor: i64, currency: &str) -> String {
    crate::domain::Currency::parse(currency)
        .map(|c| crate::domain::Money::from_minor(minor, c).to_string())
        .unwrap_or_else(|_| format!("{minor} {currency}"))
}

type AnyRow = sqlx::any::AnyRow;

fn text(r: &AnyRow, column: &str) -> Result<String, sqlx::Error> {
    r.try_get(column)
}

/// Entries of one source: (time, text) pairs for each row.
type Entries = Result<Vec<(i64, String)>, sqlx::Error>;

fn invoice_entries(r: &AnyRow) -> Entries {
    let number = text(r, "number")?;
    let created: i64 = r.try_get("created_at")?;
    let total = money(r.try_get("total")?, &text(r, "currency")?);
    let mut entries = vec![(created, format!("Invoice {number} issued for {total}"))];
    if let Some(paid_at) = r.try_get::<Option<i64>, _>("paid_at")? {
        entries.push((paid_at, format!("Invoice {number} paid")));
    }
    Ok(entries)
}

fn email_entries(r: &AnyRow) -> Entries {
    Ok(vec![(
        r.try_get("created_at")?,
        format!(
            "Email to {}: {}",
            text(r, "to_address")?,
            text(r, "subject")?
        ),
    )])
}

fn credit_note_entries(r: &AnyRow) -> Entries {
    Ok(vec![(
        r.try_get("created_at")?,
        format!(
            "Credit note {} for {} ({}) by {}: {}",
            text(r, "number")?,
            money(r.try_get("amount")?, &text(r, "currency")?),
            text(r, "outcome")?.replace('_', " "),
            text(r, "actor")?,
            text(r, "reason")?
        ),
    )])
}

/// Where the timeline's documents come from: the kind shown, the query (with the organisation as
/// `$1`), and how each row reads. Everything that happened (every change, by anyone) comes from
/// the audit log; these add the documents it produced.
type Source = (&'static str, &'static str, fn(&AnyRow) -> Entries);

const DOCUMENT_SOURCES: [Source; 3] = [
    (
        "invoice",
        "SELECT number, total, currency, created_at, paid_at FROM invoices WHERE org_id = $1",
        invoice_entries,
    ),
    (
        "email",
        "SELECT subject, to_address, created_at FROM email_outbox WHERE org_id = $1",
        email_entries,
    ),
    (
        "credit",
        "SELECT number, amount, currency, outcome, reason, actor, created_at FROM credit_notes WHERE org_id = $1",
        credit_note_entries,
    ),
];

/// The timeline kind of an audit entry: what staff did is `staff`; the rest by what it is about.
fn audit_kind(action: &str, actor_role: &str) -> &'static str {
    let staff = matches!(
        actor_role,
        "agent" | "billing_admin" | "approver" | "catalog_admin"
    ) || actor_role.starts_with("staff:");
    if staff {
        return "staff";
    }
    match action {
        a if a.starts_with("sign_") => "security",
        a if a.starts_with("payment_") || a.starts_with("card_") || a.starts_with("invoice_") => {
            "payment"
        }
        a if a.starts_with("subscription_")
            || a.starts_with("checkout_")
            || a.starts_with("renewal_")
            || a == "trial_started"
            || a == "account_credit_for_unused_time" =>
        {
            "plan"
        }
        "usage_recorded" | "spend_alert_set" | "spend_alert_removed" | "spend_alert_reached" => {
            "usage"
        }
        _ => "account",
    }
}

/// One event of an organisation's story.
pub struct TimelineRow {
    pub at: i64,
    /// `staff`, `billing`, `account`, ... (what the console filters by).
    pub kind: &'static str,
    pub text: String,
}

/// The organisation's story, newest first. It reads the audit log (every change by the
/// customer, staff or the system, and every sign-in) and the documents those changes made
/// (invoices, emails, credit notes).
pub async fn timeline(db: &Db, org_id: &OrgId) -> Result<Vec<TimelineRow>, sqlx::Error> {
    let mut out: Vec<TimelineRow> = Vec::new();
    let audit = sqlx::query(
        "SELECT at, actor, actor_role, action, amount, currency, note FROM audit_log WHERE org_id = $1 \
         ORDER BY seq DESC LIMIT 2000",
    )
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?;
    for r in &audit {
        let action = text(r, "action")?;
        let role = text(r, "actor_role")?;
        let amount = match (
            r.try_get::<Option<i64>, _>("amount")?,
            r.try_get::<Option<String>, _>("currency")?,
        ) {
            (Some(a), Some(c)) => format!(" · {}", money(a, &c)),
            _ => String::new(),
        };
        let note = text(r, "note")?;
        out.push(TimelineRow {
            at: r.try_get("at")?,
            kind: audit_kind(&action, &role),
            text: format!(
                "{} by {}{}{amount}",
                action.replace('_', " "),
                text(r, "actor")?,
                if note.is_empty() {
                    String::new()
                } else {
                    format!(": {note}")
                }
            ),
        });
    }
    for (kind, sql, read) in DOCUMENT_SOURCES {
        for row in sqlx::query(sql).bind(org_id).fetch_all(&db.pool).await? {
            for (at, line) in read(&row)? {
                out.push(TimelineRow {
                    at,
                    kind,
                    text: line,
                });
            }
        }
    }
    out.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.kind.cmp(b.kind)));
    Ok(out)
}

/// Whether a staff form with this one-time key was already acted on as `action` (its audit
/// entry exists).
pub async fn audit_key_used(db: &Db, token: &str, action: &str) -> Result<bool, sqlx::Error> {
    let n: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE request_id = $1 AND action = $2")
            .bind(format!("form:{token}"))
            .bind(action)
            .fetch_one(&db.pool)
            .await?
            .try_get("n")?;
    Ok(n > 0)
}

/// The user id of the organisation's first owner.
pub async fn owner_user(db: &Db, org_id: &OrgId) -> Result<Option<UserId>, sqlx::Error> {
    sqlx::query(
        "SELECT user_id FROM memberships WHERE org_id = $1 AND role = 'owner' ORDER BY created_at, user_id LIMIT 1",
    )
    .bind(org_id)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| r.try_get("user_id"))
    .transpose()
}
