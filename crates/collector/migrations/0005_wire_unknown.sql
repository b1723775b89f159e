-- Values of an order a newer gateway sent that this build does not know
-- (docs/collector-protocol.md §7): a JSON object of the gateway's text by
-- wire field, e.g. {"state":"10","channel":"P905"}; '' when every value is
-- known. The typed columns of an unknown field hold a placeholder that
-- matches nothing (channel '', state 0, amount 0, dialect ''), and the
-- matcher takes only orders whose `unknown` is ''.
ALTER TABLE orders ADD COLUMN unknown TEXT NOT NULL DEFAULT '';
