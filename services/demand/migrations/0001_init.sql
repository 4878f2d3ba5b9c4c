-- The registry of trusts' schools, loaded from GIAS-style CSV and kept current by reloads.
CREATE TABLE schools (
    urn             TEXT PRIMARY KEY,
    trust_id        TEXT NOT NULL,
    trust_name      TEXT NOT NULL,
    name            TEXT NOT NULL,
    phase           TEXT,
    postcode        TEXT,
    local_authority TEXT,
    pupils          INTEGER,
    status          TEXT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX schools_trust ON schools (trust_id);

-- One school's need in one category.
CREATE TABLE demand_lines (
    demand_id          UUID PRIMARY KEY,
    trust_id           TEXT NOT NULL,
    school_urn         TEXT NOT NULL REFERENCES schools (urn),
    category           TEXT NOT NULL,
    unit               TEXT NOT NULL,
    quantity           NUMERIC NOT NULL CHECK (quantity > 0),
    current_unit_price NUMERIC NOT NULL CHECK (current_unit_price >= 0),
    current_supplier   TEXT,
    contract_end       DATE NOT NULL,
    term_months        INTEGER NOT NULL CHECK (term_months BETWEEN 1 AND 120),
    notes              TEXT,
    status             TEXT NOT NULL DEFAULT 'open',
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX demand_lines_trust ON demand_lines (trust_id, category, status);

-- A retried submission returns the original result: (who, key) -> what it created.
CREATE TABLE idempotency_keys (
    owner        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    demand_id    UUID NOT NULL REFERENCES demand_lines (demand_id),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, key)
);
