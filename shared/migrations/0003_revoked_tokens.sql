-- Bearer tokens an operator has revoked (event token.revoked on procurement.access). Every
-- service keeps its own copy and refuses these token ids (shared/revocations.py).
CREATE TABLE revoked_tokens (
    token_id   TEXT PRIMARY KEY,
    reason     TEXT,
    revoked_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
