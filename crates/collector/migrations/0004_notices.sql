-- The notifications already counted (issue 16, M4): what tells one posted
-- notification from another with the same text, kept 24 h, so the same
-- notice re-posted, re-forwarded or replayed by a mirror is one payment.
-- `key` is 'exact:<digest>' (the posting itself: a forwarder's receive time,
-- a mirror's notification key, a push's own fields; seen again = a
-- duplicate) or 'alike:<digest>' (the text alone, where the layout carries
-- nothing more; seen again = ambiguous, recorded unmatched for the operator).
CREATE TABLE notices (
    key            TEXT    PRIMARY KEY,
    observation_id TEXT    NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE INDEX notices_by_expiry ON notices(expires_at);
