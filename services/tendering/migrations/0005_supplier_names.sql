-- The bidder's trading name as it gave it with its bid (docs/http-api.md, the bid body): shown
-- beside its supplier id on the tender, the assessment summaries and the award. A later bid of
-- the same supplier for the lot replaces it with its own (or none). Bids made before names were
-- asked for have none.
ALTER TABLE bids ADD COLUMN supplier_name TEXT;
