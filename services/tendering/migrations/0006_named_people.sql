-- Who did what to a tender (docs/http-api.md, the tender's history): the token's subject (a
-- person's email address when the web workspace acts for them; "role:scope" for a machine's
-- token; "policy" and "deadline" for the service's own actions).
ALTER TABLE tenders ADD COLUMN cancelled_by TEXT;
ALTER TABLE bids
    ADD COLUMN scored_by TEXT,
    ADD COLUMN scored_at TIMESTAMPTZ;

-- One row per thing done, in the order it was done: opened | bid_received | scores_saved |
-- awarded | no_bids | cancelled. A resubmitted bid or a revised score adds a row; the bids'
-- own columns keep only the latest.
CREATE TABLE tender_history (
    entry_id    BIGSERIAL PRIMARY KEY,
    tender_id   UUID NOT NULL REFERENCES tenders (tender_id),
    at          TIMESTAMPTZ NOT NULL,
    action      TEXT NOT NULL,
    done_by     TEXT NOT NULL,
    lot_no      INTEGER,
    supplier_id TEXT,
    supplier_name TEXT,
    detail      TEXT
);
CREATE INDEX tender_history_tender ON tender_history (tender_id, at, entry_id);

-- What earlier tenders' rows still tell: their opening, latest bids, awards and cancellation.
INSERT INTO tender_history (tender_id, at, action, done_by)
SELECT tender_id, opened_at, 'opened', opened_by FROM tenders;
INSERT INTO tender_history (tender_id, at, action, done_by, lot_no, supplier_id, supplier_name)
SELECT tender_id, submitted_at, 'bid_received', supplier_id, lot_no, supplier_id, supplier_name
FROM bids;
INSERT INTO tender_history (tender_id, at, action, done_by, lot_no, supplier_id, supplier_name)
SELECT l.tender_id, l.awarded_at, 'awarded', coalesce(l.awarded_by, 'manager'), l.lot_no,
       b.supplier_id, b.supplier_name
FROM tender_lots l JOIN bids b ON b.bid_id = l.awarded_bid_id
WHERE l.awarded_at IS NOT NULL;
INSERT INTO tender_history (tender_id, at, action, done_by, detail)
SELECT tender_id, cancelled_at, 'cancelled', 'manager', cancel_reason FROM tenders
WHERE cancelled_at IS NOT NULL;
