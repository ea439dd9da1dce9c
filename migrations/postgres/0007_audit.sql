-- The audit log: append-only, one row per staff action and money movement, each carrying the
-- hash of the one before it, so that changing or removing a row breaks the chain.

CREATE TABLE audit_log (
    seq          BIGINT PRIMARY KEY NOT NULL,
    at           BIGINT NOT NULL,
    actor        TEXT NOT NULL,
    actor_role   TEXT NOT NULL,
    action       TEXT NOT NULL,
    target       TEXT NOT NULL,
    org_id       TEXT,
    amount       BIGINT,
    currency     TEXT,
    reason_code  TEXT,
    note         TEXT NOT NULL,
    request_id   TEXT,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (org_id, seq);

-- The console form submission that made a credit note: submitting the same form twice makes one.
ALTER TABLE credit_notes ADD COLUMN request_key TEXT;
CREATE UNIQUE INDEX credit_notes_request ON credit_notes (request_key);

-- Money actions above the approval threshold wait here for a second staff member (an approver).
CREATE TABLE approval_requests (
    id            TEXT PRIMARY KEY NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('refund', 'credit')),
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
    created_at    BIGINT NOT NULL
);
CREATE INDEX approval_requests_status ON approval_requests (status, created_at);

-- A customer session opened by a staff member to see the portal as the customer does: read-only.
ALTER TABLE sessions ADD COLUMN viewed_by TEXT;
