-- Renewals, collection and dunning: invoices that are open until paid, account credit, credit
-- notes, test clocks and the leases that let several instances share the work.

ALTER TABLE invoices ADD COLUMN subscription_id TEXT REFERENCES subscriptions(id);
-- subscription_create, subscription_cycle or subscription_update.
ALTER TABLE invoices ADD COLUMN billing_reason TEXT NOT NULL DEFAULT 'subscription_create';
-- Account credit consumed by this invoice; amount_due = total - credit_applied.
ALTER TABLE invoices ADD COLUMN credit_applied BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN amount_due BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN attempt_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN next_attempt_at BIGINT;
ALTER TABLE invoices ADD COLUMN last_payment_error TEXT;
ALTER TABLE invoices ADD COLUMN voided_at BIGINT;
UPDATE invoices SET amount_due = total;
-- One renewal invoice per subscription and period, however many workers try.
CREATE UNIQUE INDEX invoices_one_per_cycle ON invoices (subscription_id, period_start)
    WHERE billing_reason = 'subscription_cycle';
CREATE INDEX invoices_collect ON invoices (status, next_attempt_at);

ALTER TABLE subscriptions ADD COLUMN ended_at BIGINT;
CREATE INDEX subscriptions_due ON subscriptions (status, current_period_end);

-- Account credit, as an append-only ledger: positive grants, negative consumption.
CREATE TABLE credit_ledger (
    id              TEXT PRIMARY KEY NOT NULL,
    org_id          TEXT NOT NULL REFERENCES organizations(id),
    currency        TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    reason          TEXT NOT NULL,
    invoice_id      TEXT REFERENCES invoices(id),
    credit_note_id  TEXT,
    actor           TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX credit_ledger_org ON credit_ledger (org_id, currency);

CREATE TABLE credit_notes (
    id          TEXT PRIMARY KEY NOT NULL,
    org_id      TEXT NOT NULL REFERENCES organizations(id),
    invoice_id  TEXT NOT NULL REFERENCES invoices(id),
    number      TEXT NOT NULL,
    currency    TEXT NOT NULL,
    amount      BIGINT NOT NULL CHECK (amount > 0),
    -- reduce_due (an open invoice owes less), credit_balance or refund (a paid one).
    outcome     TEXT NOT NULL CHECK (outcome IN ('reduce_due', 'credit_balance', 'refund')),
    reason      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (org_id, number)
);
CREATE INDEX credit_notes_invoice ON credit_notes (invoice_id);

-- A clock that tests and staff move by hand; organisations attached to one live at its time.
CREATE TABLE test_clocks (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    frozen_at   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
ALTER TABLE organizations ADD COLUMN test_clock_id TEXT REFERENCES test_clocks(id);

-- Work leases on the rows a bill run acts on: a worker claims a row until lease_until (wall-clock
-- seconds); a crashed worker's claim simply expires and another worker picks the row up.
ALTER TABLE subscriptions ADD COLUMN lease_holder TEXT;
ALTER TABLE subscriptions ADD COLUMN lease_until BIGINT;
ALTER TABLE invoices ADD COLUMN lease_holder TEXT;
ALTER TABLE invoices ADD COLUMN lease_until BIGINT;
