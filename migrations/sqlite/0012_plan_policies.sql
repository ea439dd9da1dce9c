-- How each kind of change away from a plan is prorated, as JSON (upgrade, downgrade,
-- interval_switch, seat_increase, seat_decrease); empty: the defaults.
ALTER TABLE plans ADD COLUMN policies TEXT NOT NULL DEFAULT '';
