-- Two additions for issue 16's dashboard words and schools' own page.
--
-- The winning bidder's trading name, as the award event gave it (tender.awarded's
-- supplier_name): the dashboard shows "Name (id)". Entries recorded from events written before
-- names were asked for have none; their pages show the supplier id alone, as before.
ALTER TABLE ledger_entries ADD COLUMN supplier_name TEXT;

-- Dashboard sessions of schools as well as managers: each session records the role its token
-- had and that role's scope. A manager's session keeps its trust (trust_id); a school's keeps
-- its URN (school_urn) and no trust: a school reads its own entries, whichever trust's contracts
-- they are in. Sessions opened before were all managers'.
ALTER TABLE dashboard_sessions ADD COLUMN role TEXT NOT NULL DEFAULT 'manager';
ALTER TABLE dashboard_sessions ADD COLUMN school_urn TEXT;
ALTER TABLE dashboard_sessions ALTER COLUMN trust_id DROP NOT NULL;
ALTER TABLE dashboard_sessions ADD CONSTRAINT dashboard_sessions_scope CHECK (
    (role = 'manager' AND trust_id IS NOT NULL AND school_urn IS NULL)
    OR (role = 'school' AND school_urn IS NOT NULL AND trust_id IS NULL)
);
