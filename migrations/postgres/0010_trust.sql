-- Security and trust.

-- The audit log cannot be changed or cut: the database itself refuses UPDATE, DELETE and TRUNCATE.
CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is refused', TG_TABLE_NAME, TG_OP;
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();

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
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();

-- Every staff action that lowers what a customer owes or gives money back can wait for an
-- approver; `payload` keeps the action's form so approving it performs exactly what was asked.
ALTER TABLE approval_requests DROP CONSTRAINT approval_requests_kind_check;
ALTER TABLE approval_requests ADD CONSTRAINT approval_requests_kind_check
    CHECK (kind IN ('refund', 'credit', 'credit_note', 'void', 'uncollectible', 'plan_change'));
ALTER TABLE approval_requests ADD COLUMN payload TEXT NOT NULL DEFAULT '';
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
SELECT org_id, meter_id, LEAST(SUM(quantity), 9000000000000000000)::BIGINT
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
