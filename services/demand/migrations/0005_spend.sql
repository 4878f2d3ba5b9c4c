-- What schools were actually invoiced (spend lines), quantity in the category's canonical unit.
-- (school_urn, invoice_ref) is the idempotency key on every channel; request_hash tells a
-- re-send of the same line from another line under the same reference.
CREATE TABLE spend_lines (
    spend_id     UUID PRIMARY KEY,
    trust_id     TEXT NOT NULL,
    school_urn   TEXT NOT NULL REFERENCES schools (urn),
    category     TEXT NOT NULL,
    unit         TEXT NOT NULL,
    supplier     TEXT NOT NULL,
    invoice_ref  TEXT NOT NULL,
    period_start DATE NOT NULL,
    period_end   DATE NOT NULL CHECK (period_end >= period_start),
    quantity     NUMERIC NOT NULL CHECK (quantity > 0),
    amount       NUMERIC(15, 2) NOT NULL CHECK (amount >= 0),
    request_hash TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT spend_lines_invoice UNIQUE (school_urn, invoice_ref)
);
CREATE INDEX spend_lines_trust ON spend_lines (trust_id, category, period_end);
CREATE INDEX spend_lines_created ON spend_lines (created_at, spend_id);
