-- People's accounts, their one-time set-password links, their sessions and failed sign-ins.
-- Secrets are never stored as they are: passwords as Argon2id hashes, link tokens and session ids
-- (random, 256 bits) as their SHA-256, so reading these tables gives no one a way in.
CREATE TABLE accounts (
    account_id    UUID PRIMARY KEY,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('manager', 'school', 'supplier', 'operator')),
    -- The trust's id, the school's URN or the supplier's id; none for an operator.
    scope         TEXT CHECK ((role = 'operator') = (scope IS NULL)),
    password_hash TEXT,
    disabled      BOOLEAN NOT NULL DEFAULT false,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
-- One account per address, whatever its case.
CREATE UNIQUE INDEX accounts_email ON accounts (lower(email));

CREATE TABLE password_links (
    token_hash BYTEA PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES accounts ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX password_links_account ON password_links (account_id);

CREATE TABLE sessions (
    session_hash BYTEA PRIMARY KEY,
    account_id   UUID NOT NULL REFERENCES accounts ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

-- Failed sign-ins within the throttle's window (older rows are deleted as new ones come).
CREATE TABLE sign_in_failures (
    email     TEXT NOT NULL,
    client    TEXT NOT NULL,
    failed_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sign_in_failures_email ON sign_in_failures (email, failed_at);
CREATE INDEX sign_in_failures_client ON sign_in_failures (client, failed_at);
