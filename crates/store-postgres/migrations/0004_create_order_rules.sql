-- Order creation takes the open states from the program (OrderState::OPEN,
-- as one more parameter, p_open) instead of naming their codes here: the
-- rules live in one place, and this function and the SQLite backend's
-- `orders::create` are twins (the same steps in the same order; a change
-- to one is a change to both; the shared store suite has a case per rule).
-- Otherwise its steps are those of migration 2.
--
-- `o.state = ANY (p_open)` still finds the payer's open orders through the
-- partial index orders_open_by_payer: PostgreSQL plans this statement with
-- the value of p_open (a custom plan) whenever the orders table is more
-- than a handful of rows, and proves the index's `state BETWEEN 1 AND 8`
-- from the codes.
--
-- The 20- and 21-parameter jiufu_create_order of migrations 1 and 2 stay
-- beside this one: instances of the previous releases still call them
-- during a rolling upgrade. A later migration drops them.

CREATE FUNCTION jiufu_create_order(
    p_id TEXT, p_merchant BIGINT, p_order_no TEXT, p_subject TEXT, p_channel TEXT, p_state INTEGER, p_order_fen BIGINT,
    p_candidates BIGINT[], p_notify_url TEXT, p_return_url TEXT, p_ip TEXT, p_order_time TEXT, p_now BIGINT, p_ttl BIGINT,
    p_quarantine BIGINT, p_max_open BIGINT, p_dialect TEXT, p_shop_data TEXT, p_actor TEXT, p_reason TEXT, p_payerless BIGINT,
    p_open INTEGER[]
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
    -- 1. The same order number again: the caller decides between the order
    --    it created and a refusal.
    SELECT o.id INTO v_existing FROM orders o WHERE o.merchant_id = p_merchant AND o.order_no = p_order_no;
    IF FOUND THEN
        RETURN QUERY SELECT 'existing'::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::TEXT, v_existing;
        RETURN;
    END IF;
    -- 2. No enabled code for the channel.
    PERFORM 1 FROM codes c WHERE c.merchant_id = p_merchant AND c.channel = p_channel AND c.enabled AND NOT c.removed;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'no_code'::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::TEXT, NULL::TEXT;
        RETURN;
    END IF;
    -- 3. The payer's open orders, capped (0: no cap); counted and inserted in turns.
    IF p_max_open > 0 AND p_ip <> '' THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('jiufu:payer:' || p_merchant::TEXT || ':' || p_ip, 0));
        SELECT COUNT(*) INTO v_open FROM orders o
         WHERE o.merchant_id = p_merchant AND o.ip = p_ip AND o.state = ANY (p_open) AND o.ip <> '' AND o.expire_at > p_now;
        IF v_open >= p_max_open THEN
            RETURN QUERY SELECT 'payer_limit'::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::TEXT, NULL::TEXT;
            RETURN;
        END IF;
    END IF;
    -- 4. No payer to cap: shop orders without one hold at most p_payerless
    --    of this price's amounts (0: no cap).
    IF p_payerless > 0 AND p_ip = '' THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('jiufu:payerless:' || p_merchant::TEXT || ':' || p_channel || ':'
                                                       || p_order_fen::TEXT, 0));
        SELECT COUNT(*) INTO v_open FROM orders o
         WHERE o.merchant_id = p_merchant AND o.channel = p_channel AND o.order_fen = p_order_fen AND o.slot_held AND o.ip = ''
           AND o.dialect <> 'jiufu';
        IF v_open >= p_payerless THEN
            RETURN QUERY SELECT 'payerless_limit'::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::TEXT, NULL::TEXT;
            RETURN;
        END IF;
    END IF;
    -- 5. The first free candidate amount with a code (a fixed-amount code
    --    for exactly that amount, else a general one), inserted with its event.
    FOREACH v_fen IN ARRAY p_candidates LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.merchant_id = p_merchant AND o.channel = p_channel AND o.slot_held
                                                     AND o.payable_fen = v_fen);
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
