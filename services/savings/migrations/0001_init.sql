-- School names for reports; the registry is kept current by events.
CREATE TABLE schools (
    urn      TEXT PRIMARY KEY,
    trust_id TEXT NOT NULL,
    name     TEXT NOT NULL
);

-- The per-school savings ledger: one entry per school's demand line per award. Every entry
-- records the award, bid and rule version that produced it, so it can be replayed and audited.
CREATE TABLE ledger_entries (
    entry_id             UUID PRIMARY KEY,
    trust_id             TEXT NOT NULL,
    tender_id            UUID NOT NULL,
    bid_id               UUID NOT NULL,
    supplier_id          TEXT NOT NULL,
    demand_id            UUID NOT NULL,
    school_urn           TEXT NOT NULL,
    category             TEXT NOT NULL,
    unit                 TEXT NOT NULL,
    quantity             NUMERIC NOT NULL,
    baseline_unit_price  NUMERIC NOT NULL,
    pooled_unit_price    NUMERIC NOT NULL,
    solo_unit_price      NUMERIC NOT NULL,
    term_months          INTEGER NOT NULL,
    contract_start       DATE NOT NULL,
    annual_baseline_cost NUMERIC(18, 2) NOT NULL,
    annual_contract_cost NUMERIC(18, 2) NOT NULL,
    annual_saving        NUMERIC(18, 2) NOT NULL,
    term_saving          NUMERIC(18, 2) NOT NULL,
    saving_pct           NUMERIC(9, 2),
    economy_of_scale     NUMERIC(18, 2) NOT NULL,
    rule_version         TEXT NOT NULL,
    source_event_id      UUID NOT NULL,
    recorded_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tender_id, demand_id)
);
CREATE INDEX ledger_trust ON ledger_entries (trust_id);
