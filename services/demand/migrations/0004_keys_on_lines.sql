-- A line carries the idempotency key it was created under, if any: one row and one unique index
-- per line, where a table of keys cost a second row, its index and a foreign key back to the
-- line. (owner, key) is unique; lines sent without a key have neither (NULLs are distinct).
ALTER TABLE demand_lines
    ADD COLUMN key_owner TEXT,
    ADD COLUMN idempotency_key TEXT,
    ADD COLUMN request_hash TEXT;
UPDATE demand_lines d
    SET key_owner = k.owner, idempotency_key = k.key, request_hash = k.request_hash
    FROM idempotency_keys k
    WHERE k.demand_id = d.demand_id;
ALTER TABLE demand_lines
    ADD CONSTRAINT demand_lines_idempotency UNIQUE (key_owner, idempotency_key),
    ADD CONSTRAINT demand_lines_key_whole CHECK (
        (key_owner IS NULL) = (idempotency_key IS NULL)
        AND (key_owner IS NULL) = (request_hash IS NULL)
    );
DROP TABLE idempotency_keys;
