//! Hosted checkouts and what completing one creates: the subscription, its first invoice (paid),
//! the payment and the saved card, written in one transaction.

use super::{invoices, Db};
use crate::domain::ids::{CheckoutId, InvoiceId, OrgId, SubscriptionId};
use crate::domain::InvoiceDraft;
use sqlx::Row;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutRow {
    pub id: CheckoutId,
    pub org_id: OrgId,
    pub price_id: String,
    pub quantity: i64,
    pub currency: String,
    pub amount: i64,
    pub stripe_session_id: Option<String>,
    pub status: crate::domain::CheckoutStatus,
    /// The promotion code the customer entered (upper case), if any.
    pub promotion_code: Option<String>,
    /// For a free trial: when it ends.
    pub trial_end: Option<i64>,
}

pub struct NewCheckout<'a> {
    pub org_id: &'a OrgId,
    pub price_id: &'a str,
    pub quantity: i64,
    pub currency: &'a str,
    pub amount: i64,
    pub created_by: &'a str,
    pub promotion_code: Option<&'a str>,
    pub trial_end: Option<i64>,
}

/// Records a checkout the customer starts (audited as theirs).
pub async fn create(
    db: &Db,
    checkout: &NewCheckout<'_>,
    by: &super::audit::Actor,
    now: i64,
) -> Result<CheckoutId, sqlx::Error> {
    let id: CheckoutId = super::ids::new();
    let query = sqlx::query(
        "INSERT INTO checkouts (id, org_id, price_id, quantity, currency, amount, status, created_by, created_at, \
         promotion_code, trial_end) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, $10)",
    )
    .bind(&id)
    .bind(checkout.org_id)
    .bind(checkout.price_id)
    .bind(checkout.quantity)
    .bind(checkout.currency)
    .bind(checkout.amount)
    .bind(checkout.created_by)
    .bind(now)
    .bind(checkout.promotion_code)
    .bind(checkout.trial_end);
    let target = format!("checkout:{id}");
    let note = format!(
        "{} × {}{}{}",
        checkout.price_id,
        checkout.quantity,
        checkout
            .promotion_code
            .map(|c| format!(", code {c}"))
            .unwrap_or_default(),
        if checkout.trial_end.is_some() {
            ", free trial"
        } else {
            ""
        }
    );
    let currency = checkout.currency.to_uppercase();
    super::audit::execute_audited(
        db,
        query,
        &super::audit::AuditEntry {
            org_id: Some(checkout.org_id),
            amount: Some(checkout.amount),
            currency: Some(&currency),
            note: &note,
            ..by.did("checkout_started", &target)
        },
        now,
    )
    .await?;
    Ok(id)
}

pub async fn attach_session(
    db: &Db,
    checkout_id: &CheckoutId,
    session_id: &str,
    url: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let query = sqlx::query(
        "UPDATE checkouts SET stripe_session_id = $2, stripe_session_url = $3 WHERE id = $1",
    )
    .bind(checkout_id)
    .bind(session_id)
    .bind(url);
    let target = format!("checkout:{checkout_id}");
    super::audit::execute_audited(
        db,
        query,
        &super::audit::AuditEntry {
            note: "Stripe's hosted page created",
            request_id: Some(session_id),
            ..super::audit::Actor::system().did("checkout_session_created", &target)
        },
        now,
    )
    .await?;
    Ok(())
}

const COLUMNS: &str =
    "id, org_id, price_id, quantity, currency, amount, stripe_session_id, status, promotion_code, trial_end";

fn from_row(r: sqlx::any::AnyRow) -> Result<CheckoutRow, sqlx::Error> {
    Ok(CheckoutRow {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        price_id: r.try_get("price_id")?,
        quantity: r.try_get("quantity")?,
        currency: r.try_get("currency")?,
        amount: r.try_get("amount")?,
        stripe_session_id: r.try_get("stripe_session_id")?,
        status: crate::store::status(&r, "status")?,
        promotion_code: r.try_get("promotion_code")?,
        trial_end: r.try_get("trial_end")?,
    })
}

/// The hosted page of an organisation's open checkout for the same price and quantity started
/// after `since`, so that a second click (or a second tab) pays the same session instead of
/// starting another one.
pub async fn open_session_url(
    db: &Db,
    org_id: &OrgId,
    price_id: &str,
    quantity: i64,
    amount: i64,
    since: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query(
        "SELECT stripe_session_url FROM checkouts WHERE org_id = $1 AND price_id = $2 AND quantity = $3 \
         AND amount = $5 AND status = 'open' AND stripe_session_url IS NOT NULL AND created_at > $4 \
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(org_id)
    .bind(price_id)
    .bind(quantity)
    .bind(since)
    .bind(amount)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| r.try_get("stripe_session_url"))
    .transpose()
}

pub async fn find(db: &Db, id: &str) -> Result<Option<CheckoutRow>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM checkouts WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .map(from_row)
    .transpose()
}

pub async fn find_by_session(
    db: &Db,
    session_id: &str,
) -> Result<Option<CheckoutRow>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM checkouts WHERE stripe_session_id = $1"
    )))
    .bind(session_id)
    .fetch_optional(&db.pool)
    .await?
    .map(from_row)
    .transpose()
}

/// The card a checkout saved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedCard {
    pub id: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
}

/// Everything a completed checkout turns into.
pub struct Completion<'a> {
    pub checkout: &'a CheckoutRow,
    pub stripe_customer_id: &'a str,
    pub payment_intent_id: Option<&'a str>,
    pub card: Option<&'a SavedCard>,
    /// The first invoice, built by the engine for the first period.
    pub invoice: &'a InvoiceDraft,
    /// The coupon the checkout's promotion code granted.
    pub coupon: Option<&'a crate::domain::Coupon>,
    pub now: i64,
}

/// What completing did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompletionOutcome {
    /// The subscription was created now.
    Activated {
        subscription_id: SubscriptionId,
        /// The first invoice (none when the subscription starts with a trial).
        invoice_id: Option<InvoiceId>,
    },
    /// The checkout had been completed before (a redelivered or duplicate event).
    AlreadyComplete,
    /// The organisation already has a live subscription (a second checkout paid for the same
    /// organisation); the payment is recorded without a subscription and must be refunded.
    AlreadySubscribed,
}

/// Completes a checkout exactly once: marks it complete, creates the subscription, the paid first
/// invoice with its lines, the payment and the saved card, all or nothing.
pub async fn complete(db: &Db, c: &Completion<'_>) -> Result<CompletionOutcome, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    // Claim the checkout: only one transaction can move it from open to complete.
    let claimed = sqlx::query(
        "UPDATE checkouts SET status = 'complete', completed_at = $2 WHERE id = $1 AND status = 'open'",
    )
    .bind(&c.checkout.id)
    .bind(c.now)
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() == 0 {
        return Ok(CompletionOutcome::AlreadyComplete);
    }
    let live = sqlx::query(
        "SELECT COUNT(*) AS n FROM subscriptions WHERE org_id = $1 AND status IN ('active', 'trialing', 'past_due')",
    )
    .bind(&c.checkout.org_id)
    .fetch_one(&mut *tx)
    .await?
    .try_get::<i64, _>("n")?;
    if live > 0 {
        // Keep the record that money arrived, without a second subscription; it is refunded.
        let currency = crate::domain::Currency::parse(&c.checkout.currency)
            .map_err(|e| sqlx::Error::Decode(e.to_string().into()))?;
        let amount = crate::domain::Money::from_minor(c.checkout.amount, currency);
        invoices::insert_payment(
            &mut tx,
            &c.checkout.org_id,
            None,
            c.payment_intent_id,
            amount,
            c.now,
        )
        .await?;
        let target = format!("checkout:{}", c.checkout.id);
        super::audit::record(
            &mut tx,
            &super::audit::AuditEntry {
                org_id: Some(&c.checkout.org_id),
                note: "paid while another subscription is live; the payment is refunded",
                ..super::audit::Actor::stripe().did("checkout_completed_duplicate", &target)
            },
            c.now,
        )
        .await?;
        tx.commit().await?;
        return Ok(CompletionOutcome::AlreadySubscribed);
    }
    sqlx::query("UPDATE organizations SET stripe_customer_id = $2 WHERE id = $1 AND stripe_customer_id IS NULL")
        .bind(&c.checkout.org_id)
        .bind(c.stripe_customer_id)
        .execute(&mut *tx)
        .await?;

    let draft = c.invoice;
    let subscription_id: SubscriptionId = super::ids::new();
    if let Some(card) = c.card {
        sqlx::query("UPDATE payment_methods SET is_default = 0 WHERE org_id = $1")
            .bind(&c.checkout.org_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO payment_methods (id, org_id, brand, last4, exp_month, exp_year, is_default, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7) ON CONFLICT (id) DO UPDATE SET is_default = 1",
        )
        .bind(&card.id)
        .bind(&c.checkout.org_id)
        .bind(&card.brand)
        .bind(&card.last4)
        .bind(card.exp_month)
        .bind(card.exp_year)
        .bind(c.now)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO subscriptions (id, org_id, price_id, status, quantity, current_period_start, \
         current_period_end, created_at, checkout_id, billing_anchor, catalog_revision) \
         VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8, $5, ({}))",
        super::subscriptions::TERMS_OF_PRICE_3
    )))
    .bind(&subscription_id)
    .bind(&c.checkout.org_id)
    .bind(&c.checkout.price_id)
    .bind(c.checkout.quantity)
    .bind(draft.period.start.timestamp())
    .bind(draft.period.end.timestamp())
    .bind(c.now)
    .bind(&c.checkout.id)
    .execute(&mut *tx)
    .await?;
    if let (Some(coupon), Some(code)) = (c.coupon, c.checkout.promotion_code.as_deref()) {
        sqlx::query(
            "UPDATE subscriptions SET coupon_id = $2, coupon_periods_applied = $3 WHERE id = $1",
        )
        .bind(&subscription_id)
        .bind(&coupon.id)
        .bind(i64::from(draft.coupon_applied))
        .execute(&mut *tx)
        .await?;
        super::coupons::redeem_in_tx(
            &mut tx,
            code,
            &coupon.id,
            &c.checkout.org_id,
            &subscription_id,
            c.now,
        )
        .await?;
    }
    let invoice_id = invoices::insert(
        &mut tx,
        &invoices::NewInvoice {
            org_id: &c.checkout.org_id,
            subscription_id: Some(&subscription_id),
            billing_reason: "subscription_create",
            draft,
            paid: true,
            now: c.now,
        },
    )
    .await?
    .id;
    invoices::insert_payment(
        &mut tx,
        &c.checkout.org_id,
        Some(&invoice_id),
        c.payment_intent_id,
        draft.total,
        c.now,
    )
    .await?;
    let target = format!("subscription:{subscription_id}");
    let note = format!(
        "checkout {} completed: {} × {}, invoice {invoice_id}{}",
        c.checkout.id,
        c.checkout.price_id,
        c.checkout.quantity,
        c.card
            .map(|card| format!(
                ", {} ending {} saved as the default card",
                card.brand, card.last4
            ))
            .unwrap_or_default()
    );
    super::audit::record(
        &mut tx,
        &super::audit::AuditEntry {
            org_id: Some(&c.checkout.org_id),
            note: &note,
            request_id: c.payment_intent_id,
            ..super::audit::Actor::stripe().did("subscription_created", &target)
        },
        c.now,
    )
    .await?;
    tx.commit().await?;
    Ok(CompletionOutcome::Activated {
        subscription_id,
        invoice_id: Some(invoice_id),
    })
}

/// Starts the free trial of a completed setup-mode checkout exactly once: the checkout complete,
/// the subscription trialing from `now` to the trial's end (its billing anchor), and the
/// promotion code's coupon, waiting for the first paid period. Nothing is charged.
pub async fn complete_trial(
    db: &Db,
    checkout: &CheckoutRow,
    stripe_customer_id: &str,
    coupon: Option<&crate::domain::Coupon>,
    now: i64,
) -> Result<CompletionOutcome, sqlx::Error> {
    let trial_end = checkout
        .trial_end
        .ok_or_else(|| sqlx::Error::Protocol("not a trial checkout".into()))?;
    let mut tx = db.begin_write().await?;
    let claimed = sqlx::query(
        "UPDATE checkouts SET status = 'complete', completed_at = $2 WHERE id = $1 AND status = 'open'",
    )
    .bind(&checkout.id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() == 0 {
        return Ok(CompletionOutcome::AlreadyComplete);
    }
    let live: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM subscriptions WHERE org_id = $1 AND status IN ('active', 'trialing', 'past_due')",
    )
    .bind(&checkout.org_id)
    .fetch_one(&mut *tx)
    .await?
    .try_get("n")?;
    if live > 0 {
        let target = format!("checkout:{}", checkout.id);
        super::audit::record(
            &mut tx,
            &super::audit::AuditEntry {
                org_id: Some(&checkout.org_id),
                note:
                    "trial checkout completed while another subscription is live; nothing started",
                ..super::audit::Actor::stripe().did("checkout_completed_duplicate", &target)
            },
            now,
        )
        .await?;
        tx.commit().await?;
        return Ok(CompletionOutcome::AlreadySubscribed);
    }
    sqlx::query("UPDATE organizations SET stripe_customer_id = $2 WHERE id = $1 AND stripe_customer_id IS NULL")
        .bind(&checkout.org_id)
        .bind(stripe_customer_id)
        .execute(&mut *tx)
        .await?;
    let subscription_id: SubscriptionId = super::ids::new();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO subscriptions (id, org_id, price_id, status, quantity, current_period_start, \
         current_period_end, created_at, checkout_id, billing_anchor, trial_end, catalog_revision) \
         VALUES ($1, $2, $3, 'trialing', $4, $5, $6, $5, $7, $6, $6, ({}))",
        super::subscriptions::TERMS_OF_PRICE_3
    )))
    .bind(&subscription_id)
    .bind(&checkout.org_id)
    .bind(&checkout.price_id)
    .bind(checkout.quantity)
    .bind(now)
    .bind(trial_end)
    .bind(&checkout.id)
    .execute(&mut *tx)
    .await?;
    if let (Some(coupon), Some(code)) = (coupon, checkout.promotion_code.as_deref()) {
        sqlx::query("UPDATE subscriptions SET coupon_id = $2 WHERE id = $1")
            .bind(&subscription_id)
            .bind(&coupon.id)
            .execute(&mut *tx)
            .await?;
        super::coupons::redeem_in_tx(
            &mut tx,
            code,
            &coupon.id,
            &checkout.org_id,
            &subscription_id,
            now,
        )
        .await?;
    }
    let target = format!("subscription:{subscription_id}");
    let note = format!(
        "checkout {} completed: free trial of {} × {} until {trial_end}",
        checkout.id, checkout.price_id, checkout.quantity
    );
    super::audit::record(
        &mut tx,
        &super::audit::AuditEntry {
            org_id: Some(&checkout.org_id),
            note: &note,
            ..super::audit::Actor::stripe().did("trial_started", &target)
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(CompletionOutcome::Activated {
        subscription_id,
        invoice_id: None,
    })
}
