-- The gateway's schema on PostgreSQL: the same tables as the SQLite
-- backend's migrations 0001-0004. Money in integer fen, times in epoch
-- seconds, as everywhere.
CREATE TABLE merchants (
    id                 BIGINT  PRIMARY KEY,
    name               TEXT    NOT NULL,
    key                TEXT    NOT NULL,
    enabled            BOOLEAN NOT NULL DEFAULT TRUE,
    min_fen            BIGINT  NOT NULL,
    max_fen            BIGINT  NOT NULL,
    step_down          BOOLEAN NOT NULL,
    step_count         BIGINT  NOT NULL,
    order_ttl_secs     BIGINT  NOT NULL,
    quarantine_secs    BIGINT  NOT NULL,
    require_collector  BOOLEAN NOT NULL,
    max_offset_bp      BIGINT  NOT NULL,
    max_open_per_payer BIGINT  NOT NULL,
    created_at         BIGINT  NOT NULL
);

CREATE TABLE codes (
    id          BIGSERIAL PRIMARY KEY,
    merchant_id BIGINT  NOT NULL REFERENCES merchants(id),
    channel     TEXT    NOT NULL,
    qr_text     TEXT    NOT NULL,
    amount_fen  BIGINT,
    name        TEXT    NOT NULL,
    enabled     BOOLEAN NOT NULL,
    origin      TEXT    NOT NULL,
    uid         TEXT    NOT NULL,
    removed     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX codes_by_channel ON codes(merchant_id, channel) WHERE NOT removed;

CREATE TABLE orders (
    id               TEXT    PRIMARY KEY,
    merchant_id      BIGINT  NOT NULL REFERENCES merchants(id),
    order_no         TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    state            INTEGER NOT NULL,
    order_fen        BIGINT  NOT NULL,
    payable_fen      BIGINT  NOT NULL,
    -- TRUE while the payable amount is reserved (open, or ended within quarantine)
    slot_held        BOOLEAN NOT NULL,
    code_id          BIGINT  NOT NULL REFERENCES codes(id),
    qr_text          TEXT    NOT NULL,
    notify_url       TEXT    NOT NULL,
    return_url       TEXT    NOT NULL,
    ip               TEXT    NOT NULL,
    order_time       TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    expire_at        BIGINT  NOT NULL,
    quarantine_until BIGINT  NOT NULL,
    claimed_at       BIGINT,
    paid_at          BIGINT,
    paid_fen         BIGINT,
    confirmed_by     TEXT,
    evidence_id      TEXT,
    evidence_json    TEXT,
    notified         BOOLEAN NOT NULL DEFAULT FALSE,
    dialect          TEXT    NOT NULL DEFAULT 'jiufu',
    shop_data        TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX orders_by_merchant_no ON orders(merchant_id, order_no);
-- The rule that makes payments recognisable by their amount, enforced by
-- the database for every instance at once.
CREATE UNIQUE INDEX orders_unique_payable ON orders(merchant_id, channel, payable_fen) WHERE slot_held;
-- One payment confirms one order.
CREATE UNIQUE INDEX orders_evidence_once ON orders(merchant_id, evidence_id) WHERE evidence_id IS NOT NULL;
CREATE INDEX orders_open_by_expiry ON orders(expire_at) WHERE state BETWEEN 1 AND 8;
CREATE INDEX orders_held_by_quarantine ON orders(quarantine_until) WHERE slot_held;
CREATE INDEX orders_by_state ON orders(merchant_id, state, created_at);
CREATE INDEX orders_open_by_payer ON orders(merchant_id, ip) WHERE state BETWEEN 1 AND 8 AND ip <> '';

-- Order changes, for history (seq) and for the collectors' long poll
-- (commit_seq). Transactions on several instances take seq numbers in one
-- order and commit in another, so a cursor over seq could skip an event
-- that commits late. commit_seq is given afterwards, in (txid, seq) order,
-- only to events of transactions older than every one still running:
-- numbered that way, no later event can ever fall behind the cursor.
CREATE TABLE order_events (
    seq         BIGSERIAL PRIMARY KEY,
    order_id    TEXT    NOT NULL REFERENCES orders(id),
    merchant_id BIGINT  NOT NULL,
    from_state  INTEGER,
    to_state    INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    at          BIGINT  NOT NULL,
    txid        XID8    NOT NULL DEFAULT pg_current_xact_id(),
    commit_seq  BIGINT
);
CREATE UNIQUE INDEX order_events_by_merchant ON order_events(merchant_id, commit_seq);
-- The last commit_seq given: numbers never go back, even when retention
-- deletes the newest events of an idle shop.
CREATE TABLE event_counter (last BIGINT NOT NULL);
INSERT INTO event_counter VALUES (0);
CREATE INDEX order_events_unnumbered ON order_events(txid, seq) WHERE commit_seq IS NULL;
CREATE INDEX order_events_by_order ON order_events(order_id, seq);

-- Transactional outbox, written in the same transaction as the move to 9.
-- A worker leases due rows (lease_until) so that of several instances one
-- attempts each notification; a lease left by a killed instance runs out.
CREATE TABLE notifications (
    order_id     TEXT   PRIMARY KEY REFERENCES orders(id),
    merchant_id  BIGINT NOT NULL,
    url          TEXT   NOT NULL,
    status       TEXT   NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    next_at      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    delivered_at BIGINT,
    lease_until  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX notifications_due ON notifications(next_at) WHERE status = 'pending';

CREATE TABLE notify_attempts (
    id           BIGSERIAL PRIMARY KEY,
    order_id     TEXT    NOT NULL REFERENCES orders(id),
    at           BIGINT  NOT NULL,
    http_status  BIGINT,
    body_excerpt TEXT    NOT NULL,
    error        TEXT    NOT NULL,
    delivered    BOOLEAN NOT NULL
);
CREATE INDEX notify_attempts_by_order ON notify_attempts(order_id, id);
CREATE INDEX notify_attempts_by_time ON notify_attempts(at);

CREATE TABLE pairing_tokens (
    token_hash  TEXT   PRIMARY KEY,
    merchant_id BIGINT NOT NULL REFERENCES merchants(id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    device_id   TEXT
);

CREATE TABLE devices (
    id           TEXT   PRIMARY KEY,
    merchant_id  BIGINT NOT NULL REFERENCES merchants(id),
    name         TEXT   NOT NULL,
    secret       TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen    BIGINT,
    sources_json TEXT   NOT NULL DEFAULT '[]'
);

CREATE TABLE device_nonces (
    device_id  TEXT   NOT NULL,
    nonce      TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (device_id, nonce)
);
CREATE INDEX device_nonces_by_expiry ON device_nonces(expires_at);

CREATE TABLE unmatched_payments (
    device_id      TEXT   NOT NULL,
    observation_id TEXT   NOT NULL,
    merchant_id    BIGINT NOT NULL,
    channel        TEXT   NOT NULL,
    amount_fen     BIGINT NOT NULL,
    observed_at    BIGINT NOT NULL,
    source         TEXT   NOT NULL,
    raw_text       TEXT   NOT NULL,
    reported_at    BIGINT NOT NULL,
    PRIMARY KEY (device_id, observation_id)
);
CREATE INDEX unmatched_by_merchant ON unmatched_payments(merchant_id, reported_at);
CREATE INDEX unmatched_by_time ON unmatched_payments(reported_at);
