-- Quality is the buyer's score (docs/domain-rules.md, "Bids, evaluation and award"): recorded
-- after the deadline with an optional comment, NULL until then. Bids of lots still undecided
-- lose the score their supplier sent; decided lots keep the scores they were awarded on.
ALTER TABLE bids ALTER COLUMN quality_score DROP NOT NULL;
ALTER TABLE bids ADD COLUMN quality_comment TEXT;
UPDATE bids b SET quality_score = NULL
FROM tender_lots l
WHERE l.tender_id = b.tender_id AND l.lot_no = b.lot_no AND l.status = 'open';
