-- A price migration may move its subscribers on its date, mid-period: the rest of the period is
-- credited at the old price and charged at the new one on the next invoice. 0: at the first
-- renewal on or after `not_before` (or the next one).
ALTER TABLE price_migrations ADD COLUMN prorate_on_date BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscription_migrations ADD COLUMN prorate_on_date BIGINT NOT NULL DEFAULT 0;

-- The subscriptions a migration's preview listed when it was asked for: approval moves these
-- (those still on the old version), whatever renames or seat changes happen meanwhile.
CREATE TABLE price_migration_members (
    migration_id     TEXT NOT NULL REFERENCES price_migrations(id),
    subscription_id  TEXT NOT NULL REFERENCES subscriptions(id),
    PRIMARY KEY (migration_id, subscription_id)
);
