-- Invitations to join an organisation, and the outbox of emails the portal sends.

CREATE TABLE invitations (
    id           TEXT PRIMARY KEY NOT NULL,
    org_id       TEXT NOT NULL REFERENCES organizations(id),
    email        TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'billing_admin', 'member')),
    token_hash   TEXT NOT NULL UNIQUE,
    invited_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    accepted_at  BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX invitations_org ON invitations (org_id);
-- One pending invitation per address and organisation.
CREATE UNIQUE INDEX invitations_pending ON invitations (org_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- Every email is written here in the same transaction as what caused it, then delivered; with
-- no SMTP server configured it stays here and shows in the development mailbox.
CREATE TABLE email_outbox (
    id          TEXT PRIMARY KEY NOT NULL,
    org_id      TEXT,
    to_address  TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    sent_at     BIGINT
);
CREATE INDEX email_outbox_created ON email_outbox (created_at);
