-- OTP-confirmed payouts (v2 and v1), the events every state change appends, and the sandbox
-- bank's record of the transfers it was asked to make.

-- Per-business payout fees: flat + basis points, optionally capped (all minor units).
ALTER TABLE businesses ADD COLUMN payout_fee_flat BIGINT NOT NULL DEFAULT 1000;
ALTER TABLE businesses ADD COLUMN payout_fee_bps BIGINT NOT NULL DEFAULT 10;
ALTER TABLE businesses ADD COLUMN payout_fee_cap BIGINT DEFAULT 5000;
-- Payouts v1 ask for a payout OTP only when the business has it switched on.
ALTER TABLE businesses ADD COLUMN payout_otp_enabled BIGINT NOT NULL DEFAULT 1;

-- The payout's own state beside its public view in `transactions` (which holds the status).
CREATE TABLE payouts (
    transaction_ref   TEXT PRIMARY KEY REFERENCES transactions (transaction_ref),
    business_id       TEXT NOT NULL REFERENCES businesses (id),
    api_version       TEXT NOT NULL CHECK (api_version IN ('v1', 'v2')),
    -- Keyed hash of the current OTP, bound to this transaction; NULL once used or void.
    otp_hash          TEXT,
    wrong_otps        BIGINT NOT NULL DEFAULT 0,
    resends           BIGINT NOT NULL DEFAULT 0,
    deadline_at       BIGINT NOT NULL,
    -- Bumped by every change: two nodes acting on the same payout cannot both win.
    version           BIGINT NOT NULL DEFAULT 0,
    -- Where the bank transfer stands: not_sent (awaiting OTP), queued (to send),
    -- unknown (sent, outcome not known: ask the bank), done (outcome recorded).
    rail_state        TEXT NOT NULL DEFAULT 'not_sent'
                      CHECK (rail_state IN ('not_sent', 'queued', 'unknown', 'done')),
    rail_attempts     BIGINT NOT NULL DEFAULT 0,
    rail_next_at      BIGINT,
    rail_lease_until  BIGINT,
    rail_last_error   TEXT
);
CREATE INDEX payouts_deadline ON payouts (deadline_at);
CREATE INDEX payouts_rail ON payouts (rail_state, rail_next_at);

-- Every status change of every transaction, appended in the transaction that made it, for
-- the webhook deliverer and the dashboard's timeline.
CREATE TABLE events (
    id               TEXT PRIMARY KEY,
    business_id      TEXT NOT NULL REFERENCES businesses (id),
    event_type       TEXT NOT NULL,
    -- Which face's integration the event is for: duplo or beqelal.
    face             TEXT NOT NULL,
    transaction_ref  TEXT,
    payload          TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX events_business_created ON events (business_id, created_at);
CREATE INDEX events_transaction ON events (transaction_ref);

-- The v1 payout OTP belongs to the business, not to one transaction: one live code at a time.
CREATE TABLE payout_otps_v1 (
    business_id   TEXT PRIMARY KEY REFERENCES businesses (id),
    otp_hash      TEXT NOT NULL,
    wrong_otps    BIGINT NOT NULL DEFAULT 0,
    expires_at    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- The in-process sandbox bank's memory: one row per transfer reference, so the same
-- reference is applied once however often it is sent.
CREATE TABLE sandbox_transfers (
    reference       TEXT PRIMARY KEY,
    currency        TEXT NOT NULL,
    bank_code       TEXT NOT NULL,
    account_number  TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('successful', 'failed')),
    session_id      TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
