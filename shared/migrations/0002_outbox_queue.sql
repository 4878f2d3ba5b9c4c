-- The outbox is a queue: the relay deletes the rows the broker has acknowledged, instead of
-- marking them published. Marking rewrote each row (payload and all) with a new entry in every
-- index; a delete only marks the row dead. With every row pending, the primary key serves the
-- relay's scan in id order, and event ids (fresh UUIDs) need no index of their own.
DELETE FROM outbox WHERE published_at IS NOT NULL;
DROP INDEX outbox_unpublished;
ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;
ALTER TABLE outbox DROP COLUMN published_at;
