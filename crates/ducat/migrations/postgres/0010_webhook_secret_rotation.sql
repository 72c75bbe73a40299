-- Webhook secret rotation with an overlap: the secret being replaced is kept (encrypted with the
-- master key, like the current one) until webhook_previous_secret_expires_at, and until then
-- every delivery is signed with both, so receivers can switch secrets without a gap.
ALTER TABLE businesses ADD COLUMN webhook_previous_secret_enc TEXT;
ALTER TABLE businesses ADD COLUMN webhook_previous_secret_expires_at BIGINT;

-- A receiver that answers 410 Gone disables its URL: the business sees when, why and which URL,
-- and new events for that URL are recorded as disabled (replayable) instead of being sent.
-- Registering a webhook URL again clears all three.
ALTER TABLE businesses ADD COLUMN webhook_disabled_at BIGINT;
ALTER TABLE businesses ADD COLUMN webhook_disabled_reason TEXT;
ALTER TABLE businesses ADD COLUMN webhook_disabled_url TEXT;
