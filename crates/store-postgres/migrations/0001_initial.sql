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

-- An order creation in one round trip, so that PostgreSQL's time goes to
-- the work and not to the protocol. The same steps as the SQLite backend's
-- create: the same order number again (answered with its id, for the
-- caller to compare), a code for the channel, the payer's limit (its count
-- and insert taking turns per payer), then the first free candidate
-- amount. Concurrent creations race on orders_unique_payable; a loser
-- (ON CONFLICT DO NOTHING waited for the winner's commit) reads again and
-- takes the next amount. Runs in the caller's transaction, READ COMMITTED.
CREATE FUNCTION jiufu_create_order(
    p_id TEXT, p_merchant BIGINT, p_order_no TEXT, p_subject TEXT, p_channel TEXT, p_state INTEGER, p_order_fen BIGINT,
    p_candidates BIGINT[], p_notify_url TEXT, p_return_url TEXT, p_ip TEXT, p_order_time TEXT, p_now BIGINT, p_ttl BIGINT,
    p_quarantine BIGINT, p_max_open BIGINT, p_dialect TEXT, p_shop_data TEXT, p_actor TEXT, p_reason TEXT
) RETURNS TABLE (outcome TEXT, payable BIGINT, code BIGINT, qr TEXT, existing TEXT)
LANGUAGE plpgsql AS $$
DECLARE
    v_fen BIGINT;
    v_code BIGINT;
    v_qr TEXT;
    v_open BIGINT;
    v_existing TEXT;
    v_inserted INTEGER;
BEGIN
    SELECT o.id INTO v_existing FROM orders o WHERE o.merchant_id = p_merchant AND o.order_no = p_order_no;
    IF FOUND THEN
        RETURN QUERY SELECT 'existing'::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::TEXT, v_existing;
        RETURN;
    END IF;
    PERFORM 1 FROM codes c WHERE c.merchant_id = p_merchant AND c.channel = p_channel AND c.enabled AND NOT c.removed;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'no_code'::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::TEXT, NULL::TEXT;
        RETURN;
    END IF;
    IF p_max_open > 0 AND p_ip <> '' THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('jiufu:payer:' || p_merchant::TEXT || ':' || p_ip, 0));
        SELECT COUNT(*) INTO v_open FROM orders o
         WHERE o.merchant_id = p_merchant AND o.ip = p_ip AND o.state BETWEEN 1 AND 8 AND o.ip <> '' AND o.expire_at > p_now;
        IF v_open >= p_max_open THEN
            RETURN QUERY SELECT 'payer_limit'::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::TEXT, NULL::TEXT;
            RETURN;
        END IF;
    END IF;
    FOREACH v_fen IN ARRAY p_candidates LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.merchant_id = p_merchant AND o.channel = p_channel AND o.slot_held
                                                     AND o.payable_fen = v_fen);
        -- A fixed-amount code for exactly this amount, else a general one.
        SELECT c.id, c.qr_text INTO v_code, v_qr FROM codes c
         WHERE c.merchant_id = p_merchant AND c.channel = p_channel AND c.enabled AND NOT c.removed
           AND (c.amount_fen = v_fen OR c.amount_fen IS NULL)
         ORDER BY c.amount_fen IS NULL, c.id LIMIT 1;
        CONTINUE WHEN NOT FOUND;
        INSERT INTO orders (id, merchant_id, order_no, subject, channel, state, order_fen, payable_fen, slot_held, code_id, qr_text,
                            notify_url, return_url, ip, order_time, created_at, expire_at, quarantine_until, dialect, shop_data)
        VALUES (p_id, p_merchant, p_order_no, p_subject, p_channel, p_state, p_order_fen, v_fen, TRUE, v_code, v_qr,
                p_notify_url, p_return_url, p_ip, p_order_time, p_now, p_now + p_ttl, p_now + p_ttl + p_quarantine, p_dialect, p_shop_data)
        ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS v_inserted = ROW_COUNT;
        IF v_inserted = 1 THEN
            INSERT INTO order_events (order_id, merchant_id, from_state, to_state, actor, reason, at)
            VALUES (p_id, p_merchant, NULL, p_state, p_actor, p_reason, p_now);
            RETURN QUERY SELECT 'created'::TEXT, v_fen, v_code, v_qr, NULL::TEXT;
            RETURN;
        END IF;
        -- Lost a race: the same order number arriving twice at once, or the amount.
        SELECT o.id INTO v_existing FROM orders o WHERE o.merchant_id = p_merchant AND o.order_no = p_order_no;
        IF FOUND THEN
            RETURN QUERY SELECT 'existing'::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::TEXT, v_existing;
            RETURN;
        END IF;
    END LOOP;
    RETURN QUERY SELECT 'no_free_amount'::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::TEXT, NULL::TEXT;
END $$;
