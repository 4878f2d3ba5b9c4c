-- A supplier's own bids, newest first (GET /v1/bids, the workspace's "Your bids"): without this
-- index every call read the whole bids table.
CREATE INDEX bids_by_supplier ON bids (supplier_id, submitted_at DESC, bid_id);
