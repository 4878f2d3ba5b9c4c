-- Each school's own supply window (docs/domain-rules.md, "Supply start, per school"): from the
-- day after the later of its contract end and the standstill's end (the award date without one)
-- for the term, supply_end being the day before supply_start + term_months (clamped to the end
-- of a shorter month, as PostgreSQL's date + interval does). Entries recorded before this were
-- given the award's contract_start (the lot's earliest contract end) for every school, and their
-- award date is the day they were recorded (UTC): the same rule savings applies to award events
-- that carry no contract end per school, so a rebuild gives these rows again.
ALTER TABLE ledger_entries ADD COLUMN supply_start DATE;
ALTER TABLE ledger_entries ADD COLUMN supply_end DATE;
UPDATE ledger_entries SET supply_start = GREATEST(
    contract_start, COALESCE(standstill_ends, (recorded_at AT TIME ZONE 'UTC')::date)
) + 1;
UPDATE ledger_entries
SET supply_end = (supply_start + make_interval(months => term_months))::date - 1;
ALTER TABLE ledger_entries ALTER COLUMN supply_start SET NOT NULL;
ALTER TABLE ledger_entries ALTER COLUMN supply_end SET NOT NULL;
