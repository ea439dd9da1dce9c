-- Usage prices and entitlements are versioned by catalog revision, as prices are: a publish that
-- changes or removes one closes its row (`until_revision`) and a change adds a row from that
-- revision (`since_revision`). A subscription keeps the terms of the revision at which it last
-- took a price (`catalog_revision`): a new price, a plan change, a renewal onto another price or
-- a price migration moves it to the terms published then.
ALTER TABLE usage_prices ADD COLUMN lookup_key TEXT;
ALTER TABLE usage_prices ADD COLUMN since_revision BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage_prices ADD COLUMN until_revision BIGINT;
UPDATE usage_prices SET lookup_key = id;
-- Removed before there were versions: it applied to nobody from then on.
UPDATE usage_prices SET until_revision = 0 WHERE active = 0;
CREATE INDEX usage_prices_lookup_key ON usage_prices (lookup_key, until_revision);

-- The revision at which a price version was replaced by the next one: a subscription that takes
-- it keeps the terms published just before (NULL: the newest, the terms published now).
ALTER TABLE prices ADD COLUMN until_revision BIGINT;

CREATE TABLE plan_entitlement_versions (
    plan_id         TEXT NOT NULL REFERENCES plans(id),
    key             TEXT NOT NULL,
    name            TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL CHECK (kind IN ('feature', 'limit')),
    value           BIGINT,
    meter_id        TEXT REFERENCES meters(id),
    since_revision  BIGINT NOT NULL,
    until_revision  BIGINT,
    PRIMARY KEY (plan_id, key, since_revision)
);
INSERT INTO plan_entitlement_versions (plan_id, key, name, kind, value, meter_id, since_revision, until_revision)
    SELECT plan_id, key, name, kind, value, meter_id, 0, NULL FROM plan_entitlements;
DROP TABLE plan_entitlements;
ALTER TABLE plan_entitlement_versions RENAME TO plan_entitlements;

ALTER TABLE subscriptions ADD COLUMN catalog_revision BIGINT NOT NULL DEFAULT 0;
UPDATE subscriptions SET catalog_revision = (SELECT COALESCE(MAX(revision), 0) FROM catalog_revisions);
