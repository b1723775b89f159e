-- Shop protocols (shop-compat.md): an order remembers the merchant protocol
-- it came through, and what that protocol's notification must echo back
-- (the dialect's own JSON, e.g. the money text as the shop sent it).
ALTER TABLE orders ADD COLUMN dialect TEXT NOT NULL DEFAULT 'jiufu';
ALTER TABLE orders ADD COLUMN shop_data TEXT NOT NULL DEFAULT '';
