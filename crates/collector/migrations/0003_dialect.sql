-- The merchant protocol an order came through (jiufu, epay, epusdt, gmpay,
-- vmq), shown in the window beside the order.
ALTER TABLE orders ADD COLUMN dialect TEXT NOT NULL DEFAULT 'jiufu';
