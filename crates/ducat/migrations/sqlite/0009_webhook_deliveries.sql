-- The webhook outbox. Every event the flows append gets, in the same transaction, one delivery
-- row addressed at that moment (the event's callback_url, else the business's webhook_url; an
-- event with neither gets no row). A worker claims due rows with a lease, POSTs them, records
-- every attempt and moves the row on, so a crash at any instant delays a webhook but never loses
-- it, and several nodes on one database never send the same attempt twice.
--
-- status: pending | delivered | failed | disabled. 'failed' (the schedule ended) and 'disabled'
-- (the receiver answered 410 Gone) rows are kept, visible and replayable. Events raised before
-- this migration get no row: they are not delivered retroactively.
CREATE TABLE webhook_deliveries (
    event_id TEXT PRIMARY KEY REFERENCES events (id),
    business_id TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    last_status_code BIGINT,
    last_error TEXT,
    delivered_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Partial: the deliverer's "what is due" query only looks at pending rows.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_business ON webhook_deliveries (business_id, created_at);

-- One row per POST tried (or refused before sending, e.g. a private target): what an operator
-- and the business see when asking why a webhook did not arrive.
CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES webhook_deliveries (event_id),
    business_id TEXT NOT NULL,
    attempted_at BIGINT NOT NULL,
    url TEXT NOT NULL,
    status_code BIGINT,
    latency_ms BIGINT NOT NULL,
    -- The first KiB of the answer, lossily decoded as UTF-8.
    response_body TEXT,
    error TEXT
);

CREATE INDEX webhook_attempts_event ON webhook_attempts (event_id, attempted_at);
