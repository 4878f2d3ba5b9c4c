-- Lots (every tender has at least one; awards are per lot), withdrawals kept apart from the
-- tender lifecycle, who opened a tender, and cancellations.

-- A withdrawal is the demand service's fact; `status` is only the tender lifecycle (open |
-- tendered | awarded), so a withdrawal that races a tender's opening is not lost if the tender
-- is later cancelled and its lines released.
ALTER TABLE demand_lines ADD COLUMN withdrawn BOOLEAN NOT NULL DEFAULT false;
UPDATE demand_lines SET withdrawn = true, status = 'open' WHERE status = 'withdrawn';
DROP INDEX demand_lines_open;
CREATE INDEX demand_lines_open ON demand_lines (trust_id, category, contract_end)
    WHERE status = 'open' AND NOT withdrawn;

ALTER TABLE tenders
    ADD COLUMN lots_by       TEXT,                              -- local_authority | phase
    ADD COLUMN opened_by     TEXT NOT NULL DEFAULT 'manager',   -- manager | policy
    ADD COLUMN cancelled_at  TIMESTAMPTZ,
    ADD COLUMN cancel_reason TEXT;

-- tenders.status is now summarised from its lots: open | awarded | no_bids | cancelled.
CREATE TABLE tender_lots (
    tender_id         UUID NOT NULL REFERENCES tenders (tender_id),
    lot_no            INTEGER NOT NULL,
    name              TEXT,            -- the local authority or phase; NULL without lots
    status            TEXT NOT NULL DEFAULT 'open',  -- open | awarded | no_bids | cancelled
    pooled_quantity   NUMERIC NOT NULL,
    awarded_bid_id    UUID,
    awarded_at        TIMESTAMPTZ,
    awarded_by        TEXT,            -- manager | deadline
    pooled_unit_price NUMERIC,
    standstill_ends   DATE,            -- regulated awards: last day of the standstill period
    PRIMARY KEY (tender_id, lot_no)
);

INSERT INTO tender_lots (tender_id, lot_no, name, status, pooled_quantity, awarded_bid_id,
                         awarded_at, awarded_by, pooled_unit_price)
SELECT t.tender_id, 1, NULL, t.status,
       (SELECT coalesce(sum(l.quantity), 0) FROM tender_lines l WHERE l.tender_id = t.tender_id),
       t.awarded_bid_id, t.awarded_at,
       CASE WHEN t.status = 'awarded' THEN 'manager' END,
       t.pooled_unit_price
FROM tenders t;

ALTER TABLE tenders
    DROP COLUMN awarded_bid_id,
    DROP COLUMN awarded_at,
    DROP COLUMN pooled_quantity,
    DROP COLUMN pooled_unit_price;
CREATE INDEX tenders_due ON tenders (closes_at) WHERE status = 'open';

ALTER TABLE tender_lines ADD COLUMN lot_no INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tender_lines ALTER COLUMN lot_no DROP DEFAULT;
ALTER TABLE tender_lines
    ADD FOREIGN KEY (tender_id, lot_no) REFERENCES tender_lots (tender_id, lot_no);

-- One bid per supplier per lot: a resubmission replaces the supplier's earlier bid for that lot.
ALTER TABLE bids ADD COLUMN lot_no INTEGER NOT NULL DEFAULT 1;
ALTER TABLE bids ALTER COLUMN lot_no DROP DEFAULT;
ALTER TABLE bids DROP CONSTRAINT bids_tender_id_supplier_id_key;
ALTER TABLE bids ADD CONSTRAINT bids_one_per_supplier_and_lot UNIQUE (tender_id, lot_no, supplier_id);
ALTER TABLE bids ADD FOREIGN KEY (tender_id, lot_no) REFERENCES tender_lots (tender_id, lot_no);
