-- Security and trust.

-- The audit log cannot be changed or cut: the database itself refuses UPDATE and DELETE.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be changed');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be removed');
END;

-- Checkpoints anchor the chain's head (its last sequence number and hash) at a moment, so that
-- entries removed from the end are noticed. Append-only as well.
CREATE TABLE audit_checkpoints (
    id          TEXT PRIMARY KEY NOT NULL,
    head_seq    BIGINT NOT NULL,
    head_hash   TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX audit_checkpoints_at ON audit_checkpoints (created_at, head_seq);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints cannot be changed');
END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints cannot be removed');
END;

-- Every staff action that lowers what a customer owes or gives money back can wait for an
-- approver; `payload` keeps the action's form so approving it performs exactly what was asked.
CREATE TABLE approval_requests_new (
    id            TEXT PRIMARY KEY NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('refund', 'credit', 'credit_note', 'void', 'uncollectible', 'plan_change')),
    org_id        TEXT NOT NULL REFERENCES organizations(id),
    invoice_id    TEXT REFERENCES invoices(id),
    amount        BIGINT NOT NULL,
    currency      TEXT NOT NULL,
    reason_code   TEXT NOT NULL,
    note          TEXT NOT NULL,
    request_key   TEXT NOT NULL UNIQUE,
    requested_by  TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by    TEXT,
    decided_at    BIGINT,
    created_at    BIGINT NOT NULL,
    payload       TEXT NOT NULL DEFAULT ''
);
INSERT INTO approval_requests_new (id, kind, org_id, invoice_id, amount, currency, reason_code, note,
    request_key, requested_by, status, decided_by, decided_at, created_at)
SELECT id, kind, org_id, invoice_id, amount, currency, reason_code, note, request_key, requested_by,
    status, decided_by, decided_at, created_at FROM approval_requests;
DROP TABLE approval_requests;
ALTER TABLE approval_requests_new RENAME TO approval_requests;
CREATE INDEX approval_requests_status ON approval_requests (status, created_at);
CREATE INDEX approval_requests_org ON approval_requests (org_id, requested_by, created_at);

-- A renewal that keeps failing stops being retried after a bounded number of tries and waits for
-- staff, with its last error.
ALTER TABLE subscriptions ADD COLUMN renewal_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN renewal_error TEXT;
ALTER TABLE subscriptions ADD COLUMN renewal_failed_at BIGINT;

-- Each organisation's running total per meter, kept with the events in one transaction, so that
-- a total no meter arithmetic can hold is refused at ingest.
CREATE TABLE usage_totals (
    org_id    TEXT NOT NULL,
    meter_id  TEXT NOT NULL,
    total     BIGINT NOT NULL,
    PRIMARY KEY (org_id, meter_id)
);
INSERT INTO usage_totals (org_id, meter_id, total)
SELECT org_id, meter_id, CAST(MIN(TOTAL(quantity), 9000000000000000000.0) AS INTEGER)
FROM usage_events GROUP BY org_id, meter_id;

-- Staff sign in with a second factor: a TOTP secret (base32) and the last time step used, so a
-- code works once.
ALTER TABLE staff ADD COLUMN totp_secret TEXT;
ALTER TABLE staff ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;

-- A sign-up waits here until its email address is confirmed through the emailed link; only then
-- do the account and its organisation exist.
CREATE TABLE signups (
    token_hash     TEXT PRIMARY KEY NOT NULL,
    email          TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    org_name       TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    completed_at   BIGINT
);
CREATE INDEX signups_email ON signups (email, created_at);
