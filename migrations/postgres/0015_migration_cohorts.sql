-- A migration may move only a cohort of a price's subscribers (by seat count, or named
-- customers), as JSON; empty: every subscriber.
ALTER TABLE price_migrations ADD COLUMN cohort TEXT NOT NULL DEFAULT '';
