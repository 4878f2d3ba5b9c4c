-- Savings achieved (docs/domain-rules.md, "Savings achieved"): what schools were invoiced, each
-- spend line classified against the school's joint contracts with its figures rounded to pence.

-- What an award adds to its ledger entries for realised savings: the minimum quantity of the
-- price tier that set the pooled price (NULL from awards that did not carry it: such a contract
-- is never flagged "tier at risk"). One row per award (a tender's lot); lot NULL: no lots.
CREATE TABLE award_tiers (
    tender_id       UUID NOT NULL,
    lot             INTEGER,
    trust_id        TEXT NOT NULL,
    tier_minimum    NUMERIC,
    source_event_id UUID NOT NULL
);
CREATE UNIQUE INDEX award_tiers_award ON award_tiers (tender_id, COALESCE(lot, -1));

-- One row per spend.recorded line. invoice_ref is unique per school (the idempotency key); the
-- first line recorded for it stays. status and the columns after it are the line's
-- classification, worked out again whenever an award for its school and category is recorded
-- (spend may arrive before the award that covers it). Figures a status has no rule for are NULL.
CREATE TABLE spend_lines (
    spend_id             UUID PRIMARY KEY,
    trust_id             TEXT NOT NULL,
    school_urn           TEXT NOT NULL,
    category             TEXT NOT NULL,
    unit                 TEXT NOT NULL,
    supplier             TEXT NOT NULL,
    invoice_ref          TEXT NOT NULL,
    period_start         DATE NOT NULL,
    period_end           DATE NOT NULL,
    quantity             NUMERIC NOT NULL,
    amount               NUMERIC(18, 2) NOT NULL,
    source_event_id      UUID NOT NULL,
    recorded_at          TIMESTAMPTZ NOT NULL,
    status               TEXT NOT NULL
        CHECK (status IN ('on_contract', 'off_contract', 'uncontracted')),
    entry_id             UUID,
    tender_id            UUID,
    lot                  INTEGER,
    contract_supplier_id TEXT,
    baseline_unit_price  NUMERIC,
    contract_unit_price  NUMERIC,
    baseline_cost        NUMERIC(18, 2),
    contract_cost        NUMERIC(18, 2),
    realised_saving      NUMERIC(18, 2),
    expected_saving      NUMERIC(18, 2),
    price_variance       NUMERIC(18, 2),
    off_contract_spend   NUMERIC(18, 2),
    leakage              NUMERIC(18, 2),
    rule_version         TEXT NOT NULL,
    UNIQUE (school_urn, invoice_ref)
);
CREATE INDEX spend_lines_trust ON spend_lines (trust_id, school_urn, category);
