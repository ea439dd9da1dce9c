-- Usage-based billing: API keys, meters, the usage events they count, the prices that rate them,
-- what each plan entitles, and the spend alerts customers set.

-- A key is shown once and stored as its SHA-256. An organisation's key acts for that organisation
-- only; a server key (org_id NULL) is for the product's own services and may act for any.
CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY NOT NULL,
    org_id        TEXT REFERENCES organizations(id),
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT,
    last_used_at  BIGINT
);
CREATE INDEX api_keys_org ON api_keys (org_id, created_at);

-- What a meter counts from its events: the sum, the largest or the latest `quantity`, the number
-- of events, or the number of distinct values of one property. Only events whose properties
-- equal every pair of `filter` (a JSON object) count.
CREATE TABLE meters (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    aggregation  TEXT NOT NULL CHECK (aggregation IN ('sum', 'count', 'max', 'unique_count', 'latest')),
    property     TEXT,
    filter       TEXT NOT NULL DEFAULT '{}',
    unit_label   TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

-- One row per accepted event; (org_id, event_id) makes a repeated event count once, for as long
-- as the row is kept.
CREATE TABLE usage_events (
    org_id       TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    meter_id     TEXT NOT NULL,
    quantity     BIGINT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    properties   TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, event_id)
);
CREATE INDEX usage_events_meter ON usage_events (org_id, meter_id, occurred_at);

-- A plan's usage prices: each rates one meter's total for a billing period, in arrears, with the
-- domain's price models (per unit, graduated, volume, package, included then overage).
CREATE TABLE usage_prices (
    id          TEXT PRIMARY KEY NOT NULL,
    plan_id     TEXT NOT NULL REFERENCES plans(id),
    meter_id    TEXT NOT NULL REFERENCES meters(id),
    nickname    TEXT NOT NULL,
    currency    TEXT NOT NULL,
    model       TEXT NOT NULL,
    unit_label  TEXT,
    active      BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX usage_prices_plan ON usage_prices (plan_id);

-- What a plan allows: a feature (value 1 or 0), or a limit (value; NULL for unlimited). A limit
-- with a meter counts that meter's usage this period against it.
CREATE TABLE plan_entitlements (
    plan_id   TEXT NOT NULL REFERENCES plans(id),
    key       TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('feature', 'limit')),
    value     BIGINT,
    meter_id  TEXT REFERENCES meters(id),
    PRIMARY KEY (plan_id, key)
);

-- A customer's spend alert: an email when the period's projected usage charges reach `amount`,
-- once per period; with `hard_cap`, metered entitlements are denied from then on.
CREATE TABLE spend_alerts (
    org_id                 TEXT PRIMARY KEY NOT NULL REFERENCES organizations(id),
    amount                 BIGINT NOT NULL,
    currency               TEXT NOT NULL,
    hard_cap               BIGINT NOT NULL DEFAULT 0,
    notified_period_start  BIGINT,
    updated_at             BIGINT NOT NULL
);

-- Usage already billed, per subscription, usage price and period: the first rating at the period
-- end, and one more for each later invoice that bills the difference late events made.
CREATE TABLE usage_ratings (
    subscription_id  TEXT NOT NULL,
    usage_price_id   TEXT NOT NULL,
    period_start     BIGINT NOT NULL,
    period_end       BIGINT NOT NULL,
    quantity         BIGINT NOT NULL,
    amount           BIGINT NOT NULL,
    invoice_id       TEXT,
    rated_at         BIGINT NOT NULL,
    seq              BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, usage_price_id, period_start, rated_at, seq)
);
