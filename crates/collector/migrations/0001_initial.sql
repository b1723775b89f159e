-- The collector's own store. Money in fen; times in epoch milliseconds.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE codes (
    uid        TEXT    PRIMARY KEY,
    channel    TEXT    NOT NULL,
    qr_text    TEXT    NOT NULL,
    amount_fen INTEGER,
    name       TEXT    NOT NULL,
    enabled    INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- Mirror of the gateway's orders that can still be paid.
CREATE TABLE orders (
    order_id         TEXT    PRIMARY KEY,
    order_no         TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    state            INTEGER NOT NULL,
    order_fen        INTEGER NOT NULL,
    payable_fen      INTEGER NOT NULL,
    subject          TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    expire_at        INTEGER NOT NULL,
    quarantine_until INTEGER NOT NULL,
    claimed_at       INTEGER
);
CREATE INDEX orders_by_amount ON orders(channel, payable_fen);

-- Every payment notification seen, written before anything else happens to it.
CREATE TABLE observations (
    id           TEXT    PRIMARY KEY,
    source       TEXT    NOT NULL,
    channel      TEXT    NOT NULL,
    amount_fen   INTEGER NOT NULL,
    observed_at  INTEGER NOT NULL,
    app          TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    text         TEXT    NOT NULL,
    -- pending → matched → confirmed | unmatched | duplicate
    status       TEXT    NOT NULL,
    order_id     TEXT,
    duplicate_of TEXT,
    note         TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
);
CREATE INDEX observations_by_amount ON observations(channel, amount_fen, observed_at);
CREATE INDEX observations_by_status ON observations(status, created_at);
CREATE INDEX observations_by_order ON observations(order_id) WHERE order_id IS NOT NULL;

-- Durable queue of what must reach the gateway.
CREATE TABLE outbox (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT    NOT NULL,
    observation_id TEXT    NOT NULL,
    order_id       TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_at        INTEGER NOT NULL,
    done_at        INTEGER,
    last_error     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox(next_at) WHERE done_at IS NULL;

-- Signed pushes already accepted (replay protection).
CREATE TABLE replay (
    key        TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
);

CREATE TABLE sources (
    name       TEXT    PRIMARY KEY,
    kind       TEXT    NOT NULL,
    last_seen  INTEGER,
    errors     INTEGER NOT NULL DEFAULT 0,
    last_error TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    message TEXT    NOT NULL
);
