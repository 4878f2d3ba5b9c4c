-- What the outbox relay has published stays as history (README "Delivery"): when the broker
-- comes back without its topics (the embedded broker keeps them in memory only), the relay
-- publishes the lost topics again from here, in the order they first went out.
CREATE TABLE published_events (
    id      BIGINT PRIMARY KEY,  -- its outbox id: publishing order
    topic   TEXT NOT NULL,
    key     BYTEA NOT NULL,
    payload BYTEA NOT NULL
);

-- Where each partition's log ended after the relay last wrote to it. A log that ends sooner,
-- or takes a new record at a lower offset, has lost what the relay wrote.
CREATE TABLE broker_positions (
    topic       TEXT NOT NULL,
    partition   INT NOT NULL,
    next_offset BIGINT NOT NULL,
    PRIMARY KEY (topic, partition)
);

-- Topics being published again from history, and the last history id published so far.
CREATE TABLE republishing (
    topic    TEXT PRIMARY KEY,
    after_id BIGINT NOT NULL
);
