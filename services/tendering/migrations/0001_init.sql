-- What tendering knows of the registry: enough to check trusts and to form lots.
CREATE TABLE schools (
    urn             TEXT PRIMARY KEY,
    trust_id        TEXT NOT NULL,
    name            TEXT NOT NULL,
    phase           TEXT,
    local_authority TEXT,
    status          TEXT NOT NULL
);

-- Demand lines as the demand service published them; status follows the tender's life.
CREATE TABLE demand_lines (
    demand_id           UUID PRIMARY KEY,
    trust_id            TEXT NOT NULL,
    school_urn          TEXT NOT NULL,
    category            TEXT NOT NULL,
    unit                TEXT NOT NULL,
    quantity            NUMERIC NOT NULL,
    baseline_unit_price NUMERIC NOT NULL,
    contract_end        DATE NOT NULL,
    term_months         INTEGER NOT NULL,
    status              TEXT NOT NULL DEFAULT 'open',  -- open | tendered | awarded | withdrawn
    tender_id           UUID
);
CREATE INDEX demand_lines_open ON demand_lines (trust_id, category) WHERE status = 'open';

CREATE TABLE tenders (
    tender_id       UUID PRIMARY KEY,
    trust_id        TEXT NOT NULL,
    category        TEXT NOT NULL,
    unit            TEXT NOT NULL,
    pool_id         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open',  -- open | awarded | cancelled
    opened_at       TIMESTAMPTZ NOT NULL,
    closes_at       TIMESTAMPTZ NOT NULL,
    term_months     INTEGER NOT NULL,
    weight_price    NUMERIC NOT NULL,
    weight_quality  NUMERIC NOT NULL,
    route           TEXT NOT NULL,
    value_ex_vat    NUMERIC NOT NULL,
    vat             NUMERIC NOT NULL,
    value_inc_vat   NUMERIC NOT NULL,
    threshold       NUMERIC NOT NULL,
    threshold_name  TEXT NOT NULL,
    route_reason    TEXT NOT NULL,
    awarded_bid_id  UUID,
    awarded_at      TIMESTAMPTZ,
    pooled_quantity NUMERIC,
    pooled_unit_price NUMERIC
);
CREATE INDEX tenders_trust ON tenders (trust_id, status);

-- The lines a tender covers, as they stood when it opened.
CREATE TABLE tender_lines (
    tender_id           UUID NOT NULL REFERENCES tenders (tender_id),
    demand_id           UUID NOT NULL,
    school_urn          TEXT NOT NULL,
    quantity            NUMERIC NOT NULL,
    baseline_unit_price NUMERIC NOT NULL,
    contract_end        DATE NOT NULL,
    PRIMARY KEY (tender_id, demand_id)
);

-- One bid per supplier per tender: a resubmission replaces the earlier one.
CREATE TABLE bids (
    bid_id        UUID PRIMARY KEY,
    tender_id     UUID NOT NULL REFERENCES tenders (tender_id),
    supplier_id   TEXT NOT NULL,
    quality_score NUMERIC NOT NULL,
    price_tiers   JSONB NOT NULL,
    submitted_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (tender_id, supplier_id)
);
