-- Plan and seat changes, scheduled changes, cancellation, and the record of every change.

ALTER TABLE subscriptions ADD COLUMN billing_anchor BIGINT;
UPDATE subscriptions SET billing_anchor = current_period_start WHERE billing_anchor IS NULL;
ALTER TABLE subscriptions ADD COLUMN scheduled_price_id TEXT REFERENCES prices(id);
ALTER TABLE subscriptions ADD COLUMN scheduled_quantity BIGINT;
ALTER TABLE subscriptions ADD COLUMN cancel_at_period_end BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN cancel_reason TEXT;

-- Who changed what, when, and what it cost: the customer's and support's timeline.
CREATE TABLE subscription_changes (
    id               TEXT PRIMARY KEY NOT NULL,
    subscription_id  TEXT NOT NULL REFERENCES subscriptions(id),
    org_id           TEXT NOT NULL REFERENCES organizations(id),
    actor            TEXT NOT NULL,
    kind             TEXT NOT NULL,
    from_price_id    TEXT NOT NULL,
    from_quantity    BIGINT NOT NULL,
    to_price_id      TEXT NOT NULL,
    to_quantity      BIGINT NOT NULL,
    amount_due       BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    effective_at     BIGINT NOT NULL,
    invoice_id       TEXT REFERENCES invoices(id),
    detail           TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX subscription_changes_org ON subscription_changes (org_id, created_at);
