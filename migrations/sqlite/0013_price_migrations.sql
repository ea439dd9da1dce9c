-- Moving the subscribers of one price version to another at their renewal. A catalog admin asks
-- with the preview's figures; another person approves; approving pins every subscriber then on
-- the old version (its cohort) to the move.
CREATE TABLE price_migrations (
    id             TEXT PRIMARY KEY NOT NULL,
    from_price_id  TEXT NOT NULL REFERENCES prices(id),
    to_price_id    TEXT NOT NULL REFERENCES prices(id),
    -- The move happens at the first renewal on or after this time; NULL: the next renewal.
    not_before     BIGINT,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    requested_by   TEXT NOT NULL,
    -- How many subscribers the preview listed when it was asked for.
    cohort_size    BIGINT NOT NULL,
    decided_by     TEXT,
    decided_at     BIGINT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX price_migrations_status ON price_migrations (status, created_at);

-- A subscriber's coming move; a later approved migration of the same subscription replaces it.
CREATE TABLE subscription_migrations (
    subscription_id  TEXT PRIMARY KEY NOT NULL REFERENCES subscriptions(id),
    migration_id     TEXT NOT NULL REFERENCES price_migrations(id),
    from_price_id    TEXT NOT NULL,
    to_price_id      TEXT NOT NULL,
    not_before       BIGINT,
    applied_at       BIGINT
);
