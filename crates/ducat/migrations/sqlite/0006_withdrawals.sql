-- Beqelal withdrawals ride on the payout machinery (api_version 'withdraw'): what Beqelal
-- shows of them that a Duplo payout does not have. SQLite cannot change a CHECK constraint
-- in place, so the table is rebuilt with the wider one; nothing references payouts.
CREATE TABLE payouts_rebuilt (
    transaction_ref   TEXT PRIMARY KEY REFERENCES transactions (transaction_ref),
    business_id       TEXT NOT NULL REFERENCES businesses (id),
    api_version       TEXT NOT NULL CHECK (api_version IN ('v1', 'v2', 'withdraw')),
    otp_hash          TEXT,
    wrong_otps        BIGINT NOT NULL DEFAULT 0,
    resends           BIGINT NOT NULL DEFAULT 0,
    deadline_at       BIGINT NOT NULL,
    version           BIGINT NOT NULL DEFAULT 0,
    rail_state        TEXT NOT NULL DEFAULT 'not_sent'
                      CHECK (rail_state IN ('not_sent', 'queued', 'unknown', 'done')),
    rail_attempts     BIGINT NOT NULL DEFAULT 0,
    rail_next_at      BIGINT,
    rail_lease_until  BIGINT,
    rail_last_error   TEXT,
    base_fee          BIGINT,
    callback_url      TEXT,
    trace_number      TEXT
);
INSERT INTO payouts_rebuilt (transaction_ref, business_id, api_version, otp_hash, wrong_otps, resends,
    deadline_at, version, rail_state, rail_attempts, rail_next_at, rail_lease_until, rail_last_error)
SELECT transaction_ref, business_id, api_version, otp_hash, wrong_otps, resends, deadline_at, version,
    rail_state, rail_attempts, rail_next_at, rail_lease_until, rail_last_error
FROM payouts;
DROP TABLE payouts;
ALTER TABLE payouts_rebuilt RENAME TO payouts;
CREATE INDEX payouts_deadline ON payouts (deadline_at);
CREATE INDEX payouts_rail ON payouts (rail_state, rail_next_at);
