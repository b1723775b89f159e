-- Money safety, round 2 (issue 16). Per-merchant shop settings: V免签
-- createOrder from the shop's server only; GMPay's pre-v2 md5 signatures
-- taken only when asked for; the hosts notify/return URLs may name
-- (comma-separated, lowercase; empty: any public host).
ALTER TABLE merchants ADD COLUMN vmq_server_only INTEGER NOT NULL DEFAULT 0;
ALTER TABLE merchants ADD COLUMN gmpay_md5 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE merchants ADD COLUMN callback_hosts TEXT NOT NULL DEFAULT '';
-- Orders without a payer address hold at most half of a price's amounts:
-- counted per merchant, channel and price among the held ones.
-- Shop orders only (the native API's own orders are not capped this way, so
-- its creations pay for no extra index write).
CREATE INDEX orders_payerless_by_price ON orders(merchant_id, channel, order_fen) WHERE slot_held = 1 AND ip = '' AND dialect <> 'jiufu';
