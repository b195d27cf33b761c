-- Each claim of a queued message has its own id: the worker that claimed it records the
-- outcome only while its claim holds, so a claim that lapsed (a stalled send) cannot undo the
-- outcome of the worker that took the message over.
ALTER TABLE outbox ADD COLUMN claim_id TEXT;
