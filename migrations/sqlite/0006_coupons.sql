-- Coupons and the promotion codes customers type, trials, and what a subscription has redeemed.

CREATE TABLE coupons (
    id                TEXT PRIMARY KEY NOT NULL,
    name              TEXT NOT NULL,
    -- Either a percent (a decimal string such as '20' or '12.5') or an amount in a currency.
    percent_off       TEXT,
    amount_off        BIGINT,
    currency          TEXT,
    duration          TEXT NOT NULL CHECK (duration IN ('once', 'repeating', 'forever')),
    duration_periods  BIGINT,
    created_at        BIGINT NOT NULL
);

CREATE TABLE promotion_codes (
    -- Stored upper-case; customers may type any case.
    code             TEXT PRIMARY KEY NOT NULL,
    coupon_id        TEXT NOT NULL REFERENCES coupons(id),
    active           BIGINT NOT NULL DEFAULT 1,
    expires_at       BIGINT,
    max_redemptions  BIGINT,
    times_redeemed   BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL
);

-- An organisation redeems a coupon at most once.
CREATE TABLE coupon_redemptions (
    id               TEXT PRIMARY KEY NOT NULL,
    code             TEXT NOT NULL REFERENCES promotion_codes(code),
    coupon_id        TEXT NOT NULL REFERENCES coupons(id),
    org_id           TEXT NOT NULL REFERENCES organizations(id),
    subscription_id  TEXT REFERENCES subscriptions(id),
    created_at       BIGINT NOT NULL,
    UNIQUE (coupon_id, org_id)
);

ALTER TABLE subscriptions ADD COLUMN coupon_id TEXT REFERENCES coupons(id);
ALTER TABLE subscriptions ADD COLUMN coupon_periods_applied BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN trial_end BIGINT;
ALTER TABLE checkouts ADD COLUMN promotion_code TEXT;
ALTER TABLE checkouts ADD COLUMN trial_end BIGINT;
