-- Which lot of a tender an entry's award was (NULL: a tender without lots), and the end of the
-- award's standstill period when it was regulated; for the contract pages.
ALTER TABLE ledger_entries ADD COLUMN lot INTEGER;
ALTER TABLE ledger_entries ADD COLUMN lot_name TEXT;
ALTER TABLE ledger_entries ADD COLUMN standstill_ends DATE;
