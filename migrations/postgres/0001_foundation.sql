-- Accounts, staff, sessions, catalog and subscriptions: the foundation schema.
-- Timestamps are UTC unix seconds (BIGINT); money is minor units (BIGINT); ids are prefixed text.

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY NOT NULL,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE TABLE memberships (
    org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'billing_admin', 'member')),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE staff (
    id             TEXT PRIMARY KEY NOT NULL,
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('agent', 'billing_admin', 'approver')),
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

-- One table for customer and staff sessions; the kind keeps the two principals apart.
CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('customer', 'staff')),
    principal_id  TEXT NOT NULL,
    org_id        TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sessions_principal ON sessions (kind, principal_id);

CREATE TABLE plans (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    features     TEXT NOT NULL,
    sort_order   BIGINT NOT NULL,
    active       BIGINT NOT NULL DEFAULT 1
);

-- A price's model (flat, per unit, tiers, package, included units) is the domain's JSON shape.
CREATE TABLE prices (
    id              TEXT PRIMARY KEY NOT NULL,
    plan_id         TEXT NOT NULL REFERENCES plans(id),
    nickname        TEXT NOT NULL,
    currency        TEXT NOT NULL,
    interval_unit   TEXT NOT NULL CHECK (interval_unit IN ('month', 'year')),
    interval_count  BIGINT NOT NULL,
    model           TEXT NOT NULL,
    unit_label      TEXT,
    min_quantity    BIGINT,
    max_quantity    BIGINT,
    trial_days      BIGINT NOT NULL DEFAULT 0,
    active          BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX prices_plan ON prices (plan_id);

CREATE TABLE subscriptions (
    id                    TEXT PRIMARY KEY NOT NULL,
    org_id                TEXT NOT NULL REFERENCES organizations(id),
    price_id              TEXT NOT NULL REFERENCES prices(id),
    status                TEXT NOT NULL,
    quantity              BIGINT NOT NULL,
    current_period_start  BIGINT NOT NULL,
    current_period_end    BIGINT NOT NULL,
    created_at            BIGINT NOT NULL,
    version               BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX subscriptions_org ON subscriptions (org_id);
