-- The trust's name, for the dashboard's heading; it arrives with every registry.school_joined.
ALTER TABLE schools ADD COLUMN trust_name TEXT;
CREATE INDEX schools_trust ON schools (trust_id);
CREATE INDEX ledger_trust_tender ON ledger_entries (trust_id, tender_id);
