-- The collector version each device last reported in its heartbeat
-- (printable, at most 32 characters; '' until the first one), shown by
-- `jiufu-gateway collector list` to tell old collectors apart.
ALTER TABLE devices ADD COLUMN version TEXT NOT NULL DEFAULT '';
