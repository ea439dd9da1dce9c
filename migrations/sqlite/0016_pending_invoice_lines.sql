-- Proration lines a change leaves for the subscription's next invoice (a plan's policy
-- `prorate_on_next_invoice`, or a price migration on a date). The renewal invoice, or the final
-- invoice when paid service stops, bills them once: `invoice_id` and `settled_at` say where.
CREATE TABLE pending_invoice_lines (
    id               TEXT PRIMARY KEY NOT NULL,
    subscription_id  TEXT NOT NULL REFERENCES subscriptions(id),
    org_id           TEXT NOT NULL REFERENCES organizations(id),
    currency         TEXT NOT NULL,
    -- Signed minor units, as the line says.
    amount           BIGINT NOT NULL,
    -- The whole line (kind, description, period, fraction, explanation) as JSON.
    line             TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    -- The line's place among the subscription's lines, in the order changes left them.
    seq              BIGINT NOT NULL,
    invoice_id       TEXT REFERENCES invoices(id),
    settled_at       BIGINT
);
CREATE INDEX pending_invoice_lines_open ON pending_invoice_lines (subscription_id, settled_at);
