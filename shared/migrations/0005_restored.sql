-- A row here marks a database restored from a backup: when its service next starts, its
-- consumer groups read their topics again from the start, and the events it published after
-- the backup join its history (shared/restored.py). `procure restore` also makes the table,
-- for a backup taken before this migration.
CREATE TABLE IF NOT EXISTS restored (marked_at TIMESTAMPTZ NOT NULL DEFAULT now());
