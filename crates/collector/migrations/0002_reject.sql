-- The operator's refusal of a false "I have paid" travels in the outbox too.
ALTER TABLE outbox ADD COLUMN reason TEXT NOT NULL DEFAULT '';
-- Today's takings and the payments list read by time.
CREATE INDEX observations_by_time ON observations(observed_at);
CREATE INDEX orders_by_created ON orders(created_at);
