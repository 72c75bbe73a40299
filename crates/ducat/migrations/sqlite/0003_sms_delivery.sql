-- Delivery state for the SMS outbox. Messages are still written in the same transaction as the
-- state change that caused them; a worker sends them afterwards, so a provider outage or a crash
-- between the commit and the send delays a message but never loses it.
--
-- delivery_status: pending | sent | failed | not_required. 'not_required' is what the embedded
-- outbox provider leaves: the stored row is the destination, and marking it keeps an operator
-- who later switches to the HTTP provider from sending every old message (stale OTPs included).
-- 'failed' rows are kept so the give-up is visible rather than a message silently vanishing.
ALTER TABLE sms_messages ADD COLUMN delivery_status TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE sms_messages ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
-- 0 means "due at once": enqueue writes no delivery columns, so a new message is due immediately.
ALTER TABLE sms_messages ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
-- Several nodes may share one database: a node claims a message by moving its lease forward with
-- a conditional UPDATE, so two nodes never send the same message at once, and a node that dies
-- mid-send only delays the message until its lease runs out.
ALTER TABLE sms_messages ADD COLUMN lease_until INTEGER;
-- The provider's status code or the transport error; never the body, which carries OTPs.
ALTER TABLE sms_messages ADD COLUMN last_error TEXT;
ALTER TABLE sms_messages ADD COLUMN sent_at INTEGER;

-- Every message written before this migration was written for the outbox (the only provider
-- there was); none of them is waiting to be sent.
UPDATE sms_messages SET delivery_status = 'not_required';

-- Partial, because almost every row is settled: the worker's "what is due" query only ever looks
-- at pending rows, and this keeps that index as small as the backlog rather than the history.
CREATE INDEX sms_messages_due ON sms_messages (next_attempt_at) WHERE delivery_status = 'pending';
