-- The catalog as published data. A published price never changes: editing one adds a row with the
-- next version under the same lookup key, and only the newest row of a key is for sale
-- (`active`); subscribers keep the row they bought and renew on it.
ALTER TABLE prices ADD COLUMN lookup_key TEXT;
ALTER TABLE prices ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
UPDATE prices SET lookup_key = id;
CREATE INDEX prices_lookup_key ON prices (lookup_key, version);

-- What the pricing page calls an entitlement ("private projects", "SSO"); empty: the key.
ALTER TABLE plan_entitlements ADD COLUMN name TEXT NOT NULL DEFAULT '';

-- Each publish of the catalog, numbered from 1. A publish names the revision it was prepared
-- against and writes the next one, so of two publishes prepared against the same revision only
-- the first lands; the other is told to look again.
CREATE TABLE catalog_revisions (
    revision      BIGINT PRIMARY KEY NOT NULL,
    published_by  TEXT NOT NULL,
    published_at  BIGINT NOT NULL,
    summary       TEXT NOT NULL
);

-- Catalog admins edit and publish the catalog.
ALTER TABLE staff DROP CONSTRAINT staff_role_check;
ALTER TABLE staff ADD CONSTRAINT staff_role_check
    CHECK (role IN ('agent', 'billing_admin', 'approver', 'catalog_admin'));

-- The catalog's one draft: the document catalog admins edit together, and the revision it
-- started from. Publishing it lands every change as one revision and empties it.
CREATE TABLE catalog_drafts (
    id             TEXT PRIMARY KEY NOT NULL,
    body           TEXT NOT NULL,
    base_revision  BIGINT NOT NULL,
    updated_by     TEXT NOT NULL,
    updated_at     BIGINT NOT NULL
);
