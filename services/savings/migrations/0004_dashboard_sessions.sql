-- Dashboard sessions: one row per signed-in browser. The cookie holds a random session id; only
-- its SHA-256 is stored, so these rows cannot be replayed as cookies. A session ends at sign-out
-- (its row is deleted), after an idle period, at an absolute lifetime from sign-in, and when
-- the token it was opened with expires (or, by its token id, when that token is revoked).
CREATE TABLE dashboard_sessions (
    session_hash     BYTEA PRIMARY KEY,
    trust_id         TEXT NOT NULL,
    subject          TEXT NOT NULL,
    token_id         TEXT,
    token_expires_at TIMESTAMPTZ NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    last_seen_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX dashboard_sessions_token ON dashboard_sessions (token_id);
