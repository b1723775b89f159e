-- No buying at a discount: the payable amount stays within max_offset_bp
-- basis points of the order amount; a payer (the order's ip) may hold at
-- most max_open_per_payer open orders (0: no limit).
ALTER TABLE merchants ADD COLUMN max_offset_bp INTEGER NOT NULL DEFAULT 200;
ALTER TABLE merchants ADD COLUMN max_open_per_payer INTEGER NOT NULL DEFAULT 3;
CREATE INDEX orders_open_by_payer ON orders(merchant_id, ip) WHERE state IN (1, 2, 5, 8) AND ip != '';

-- Retention passes delete by time. (Order events are found through their
-- finished orders instead: an index on order_events(at) would cost every
-- order creation one more B-tree write.)
CREATE INDEX notify_attempts_by_time ON notify_attempts(at);
CREATE INDEX unmatched_by_time ON unmatched_payments(reported_at);
