-- A school that leaves its trust (GIAS blanks its trust code) stays known, in no trust.
ALTER TABLE schools ALTER COLUMN trust_id DROP NOT NULL;

-- A line's life: open -> in_tender (tender.opened) -> awarded (tender.awarded), back to open
-- when its tender is cancelled; open -> withdrawn by the school, its trust, or a registry change.
ALTER TABLE demand_lines ADD COLUMN tender_id UUID;
ALTER TABLE demand_lines ADD COLUMN status_reason TEXT;
ALTER TABLE demand_lines ADD CONSTRAINT demand_lines_status
    CHECK (status IN ('open', 'in_tender', 'awarded', 'withdrawn'));

-- Listing: a trust's lines, or one school's, in a stable order for keyset pagination.
CREATE INDEX demand_lines_trust_order ON demand_lines (trust_id, created_at, demand_id);
CREATE INDEX demand_lines_school_order ON demand_lines (school_urn, created_at, demand_id);
CREATE INDEX demand_lines_tender ON demand_lines (tender_id) WHERE tender_id IS NOT NULL;

-- Keys are claimed before the lines they name are inserted (in one transaction), so that a
-- concurrent request with the same key waits on the key and then replays instead of inserting.
ALTER TABLE idempotency_keys
    ALTER CONSTRAINT idempotency_keys_demand_id_fkey DEFERRABLE INITIALLY DEFERRED;
