-- One payment confirms one order: a collector's evidence id (its
-- observation_id) stands behind at most one order of a merchant.
--
-- Orders confirmed before this rule may share an evidence id. The earliest
-- confirmation (by paid_at, then rowid) keeps it; each later one keeps its
-- full evidence in evidence_json and gets the id with a marker appended, so
-- that the rule can hold and the reuse stays visible.
UPDATE orders
   SET evidence_id = evidence_id || ' #reused-before-0002:' || id
 WHERE evidence_id IS NOT NULL
   AND EXISTS (
       SELECT 1 FROM orders AS earlier
        WHERE earlier.merchant_id = orders.merchant_id
          AND earlier.evidence_id = orders.evidence_id
          AND (COALESCE(earlier.paid_at, 0) < COALESCE(orders.paid_at, 0)
               OR (COALESCE(earlier.paid_at, 0) = COALESCE(orders.paid_at, 0) AND earlier.rowid < orders.rowid)));

CREATE UNIQUE INDEX orders_evidence_once ON orders(merchant_id, evidence_id) WHERE evidence_id IS NOT NULL;
