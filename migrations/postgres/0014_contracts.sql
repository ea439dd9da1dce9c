-- Contracts: a price negotiated with one organisation. Its price row carries the organisation
-- (`prices.org_id`), so only that organisation is offered it and the published catalog leaves it
-- out; everyone else, and the catalog file, see list prices only.
ALTER TABLE prices ADD COLUMN org_id TEXT REFERENCES organizations(id);
CREATE INDEX prices_org ON prices (org_id);

CREATE TABLE contracts (
    id                  TEXT PRIMARY KEY NOT NULL,
    org_id              TEXT NOT NULL REFERENCES organizations(id),
    -- The organisation's own price, and the list price it was negotiated from.
    price_id            TEXT NOT NULL REFERENCES prices(id),
    base_price_id       TEXT NOT NULL REFERENCES prices(id),
    -- What each renewal invoice comes to at least, in the price's minor units; 0: no minimum.
    minimum_commitment  BIGINT NOT NULL DEFAULT 0,
    -- The contract ends here (the first renewal on or after it bills the list price); NULL: no
    -- end date.
    ends_at             BIGINT,
    note                TEXT NOT NULL,
    created_by          TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    -- Ended early by a billing admin.
    ended_by            TEXT,
    ended_at            BIGINT
);
CREATE INDEX contracts_org ON contracts (org_id, created_at);
