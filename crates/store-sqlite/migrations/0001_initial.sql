-- Money in integer fen, times in epoch seconds.
CREATE TABLE merchants (
    id                INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL,
    key               TEXT    NOT NULL,
    enabled           INTEGER NOT NULL DEFAULT 1,
    min_fen           INTEGER NOT NULL,
    max_fen           INTEGER NOT NULL,
    step_down         INTEGER NOT NULL,
    step_count        INTEGER NOT NULL,
    order_ttl_secs    INTEGER NOT NULL,
    quarantine_secs   INTEGER NOT NULL,
    require_collector INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
);

CREATE TABLE codes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_id INTEGER NOT NULL REFERENCES merchants(id),
    channel     TEXT    NOT NULL,
    qr_text     TEXT    NOT NULL,
    amount_fen  INTEGER,
    name        TEXT    NOT NULL,
    enabled     INTEGER NOT NULL,
    origin      TEXT    NOT NULL,
    uid         TEXT    NOT NULL,
    removed     INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE INDEX codes_by_channel ON codes(merchant_id, channel) WHERE removed = 0;

CREATE TABLE orders (
    id               TEXT    PRIMARY KEY,
    merchant_id      INTEGER NOT NULL REFERENCES merchants(id),
    order_no         TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    state            INTEGER NOT NULL,
    order_fen        INTEGER NOT NULL,
    payable_fen      INTEGER NOT NULL,
    -- 1 while the payable amount is reserved (open, or expired/closed in quarantine)
    slot_held        INTEGER NOT NULL,
    code_id          INTEGER NOT NULL REFERENCES codes(id),
    qr_text          TEXT    NOT NULL,
    notify_url       TEXT    NOT NULL,
    return_url       TEXT    NOT NULL,
    ip               TEXT    NOT NULL,
    order_time       TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    expire_at        INTEGER NOT NULL,
    quarantine_until INTEGER NOT NULL,
    claimed_at       INTEGER,
    paid_at          INTEGER,
    paid_fen         INTEGER,
    confirmed_by     TEXT,
    evidence_id      TEXT,
    evidence_json    TEXT,
    notified         INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX orders_by_merchant_no ON orders(merchant_id, order_no);
-- The rule that makes payments recognisable by their amount.
CREATE UNIQUE INDEX orders_unique_payable ON orders(merchant_id, channel, payable_fen) WHERE slot_held = 1;
CREATE INDEX orders_open_by_expiry ON orders(expire_at) WHERE state IN (1, 2, 5, 8);
CREATE INDEX orders_held_by_quarantine ON orders(quarantine_until) WHERE slot_held = 1;
CREATE INDEX orders_by_state ON orders(merchant_id, state, created_at);

CREATE TABLE order_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id    TEXT    NOT NULL REFERENCES orders(id),
    merchant_id INTEGER NOT NULL,
    from_state  INTEGER,
    to_state    INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX order_events_by_merchant ON order_events(merchant_id, seq);
CREATE INDEX order_events_by_order ON order_events(order_id, seq);

-- Transactional outbox: written in the same transaction as the move to 9.
CREATE TABLE notifications (
    order_id     TEXT    PRIMARY KEY REFERENCES orders(id),
    merchant_id  INTEGER NOT NULL,
    url          TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER
);
CREATE INDEX notifications_due ON notifications(next_at) WHERE status = 'pending';

CREATE TABLE notify_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id     TEXT    NOT NULL REFERENCES orders(id),
    at           INTEGER NOT NULL,
    http_status  INTEGER,
    body_excerpt TEXT    NOT NULL,
    error        TEXT    NOT NULL,
    delivered    INTEGER NOT NULL
);
CREATE INDEX notify_attempts_by_order ON notify_attempts(order_id, id);

CREATE TABLE pairing_tokens (
    token_hash  TEXT    PRIMARY KEY,
    merchant_id INTEGER NOT NULL REFERENCES merchants(id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    device_id   TEXT
);

CREATE TABLE devices (
    id           TEXT    PRIMARY KEY,
    merchant_id  INTEGER NOT NULL REFERENCES merchants(id),
    name         TEXT    NOT NULL,
    secret       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen    INTEGER,
    sources_json TEXT    NOT NULL DEFAULT '[]'
);

CREATE TABLE device_nonces (
    device_id  TEXT    NOT NULL,
    nonce      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, nonce)
);
CREATE INDEX device_nonces_by_expiry ON device_nonces(expires_at);

CREATE TABLE unmatched_payments (
    device_id      TEXT    NOT NULL,
    observation_id TEXT    NOT NULL,
    merchant_id    INTEGER NOT NULL,
    channel        TEXT    NOT NULL,
    amount_fen     INTEGER NOT NULL,
    observed_at    INTEGER NOT NULL,
    source         TEXT    NOT NULL,
    raw_text       TEXT    NOT NULL,
    reported_at    INTEGER NOT NULL,
    PRIMARY KEY (device_id, observation_id)
);
CREATE INDEX unmatched_by_merchant ON unmatched_payments(merchant_id, reported_at);
