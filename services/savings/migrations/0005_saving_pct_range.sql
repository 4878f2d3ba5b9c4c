-- A contract price far above a school's baseline is a cost increase of many thousands of per
-- cent: with a baseline of 1e-10 GBP per unit (0.0001 per GWh, converted to kWh) and a price of
-- 1,000,000, saving % is about -1e18 (shared/bounds.py). NUMERIC(9, 2) stopped at 9,999,999.99
-- and failed the whole award; NUMERIC(21, 2) holds every percentage the accepted ranges allow.
ALTER TABLE ledger_entries ALTER COLUMN saving_pct TYPE NUMERIC(21, 2);
