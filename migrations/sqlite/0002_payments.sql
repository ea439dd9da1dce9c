-- Stripe: customers, hosted checkouts, the webhook inbox, invoices, payments and saved cards.

ALTER TABLE organizations ADD COLUMN stripe_customer_id TEXT;
CREATE UNIQUE INDEX organizations_stripe_customer ON organizations (stripe_customer_id);

-- One row per hosted checkout the portal starts; the Stripe session id makes completion idempotent.
CREATE TABLE checkouts (
    id                 TEXT PRIMARY KEY NOT NULL,
    org_id             TEXT NOT NULL REFERENCES organizations(id),
    price_id           TEXT NOT NULL REFERENCES prices(id),
    quantity           BIGINT NOT NULL,
    currency           TEXT NOT NULL,
    amount             BIGINT NOT NULL,
    stripe_session_id  TEXT UNIQUE,
    stripe_session_url TEXT,
    status             TEXT NOT NULL CHECK (status IN ('open', 'complete', 'expired')),
    created_by         TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    completed_at       BIGINT
);
CREATE INDEX checkouts_org ON checkouts (org_id);

-- Every verified Stripe event, stored before it is acted on; the event id makes delivery idempotent.
CREATE TABLE stripe_events (
    id            TEXT PRIMARY KEY NOT NULL,
    type          TEXT NOT NULL,
    created       BIGINT NOT NULL,
    payload       TEXT NOT NULL,
    received_at   BIGINT NOT NULL,
    processed_at  BIGINT,
    attempts      BIGINT NOT NULL DEFAULT 0,
    last_error    TEXT
);
CREATE INDEX stripe_events_unprocessed ON stripe_events (processed_at, received_at);

ALTER TABLE subscriptions ADD COLUMN checkout_id TEXT REFERENCES checkouts(id);
CREATE UNIQUE INDEX subscriptions_checkout ON subscriptions (checkout_id);
-- An organisation has at most one live subscription.
CREATE UNIQUE INDEX subscriptions_one_live_per_org ON subscriptions (org_id)
    WHERE status IN ('active', 'trialing', 'past_due');

CREATE TABLE invoices (
    id            TEXT PRIMARY KEY NOT NULL,
    org_id        TEXT NOT NULL REFERENCES organizations(id),
    number        TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
    currency      TEXT NOT NULL,
    subtotal      BIGINT NOT NULL,
    discount      BIGINT NOT NULL,
    total         BIGINT NOT NULL,
    amount_paid   BIGINT NOT NULL,
    period_start  BIGINT NOT NULL,
    period_end    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    paid_at       BIGINT,
    UNIQUE (org_id, number)
);
CREATE INDEX invoices_org ON invoices (org_id, created_at);

CREATE TABLE invoice_lines (
    invoice_id   TEXT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    position     BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    description  TEXT NOT NULL,
    price_id     TEXT,
    quantity     BIGINT NOT NULL,
    amount       BIGINT NOT NULL,
    explanation  TEXT NOT NULL,
    PRIMARY KEY (invoice_id, position)
);

CREATE TABLE payments (
    id                        TEXT PRIMARY KEY NOT NULL,
    org_id                    TEXT NOT NULL REFERENCES organizations(id),
    invoice_id                TEXT REFERENCES invoices(id),
    stripe_payment_intent_id  TEXT UNIQUE,
    amount                    BIGINT NOT NULL,
    amount_refunded           BIGINT NOT NULL DEFAULT 0,
    currency                  TEXT NOT NULL,
    status                    TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
    failure_code              TEXT,
    created_at                BIGINT NOT NULL
);
CREATE INDEX payments_org ON payments (org_id, created_at);

-- Cards saved with Stripe: brand and last four only.
CREATE TABLE payment_methods (
    id          TEXT PRIMARY KEY NOT NULL,
    org_id      TEXT NOT NULL REFERENCES organizations(id),
    brand       TEXT NOT NULL,
    last4       TEXT NOT NULL,
    exp_month   BIGINT NOT NULL,
    exp_year    BIGINT NOT NULL,
    is_default  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);
CREATE INDEX payment_methods_org ON payment_methods (org_id);
