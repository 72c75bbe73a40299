-- Beqelal direct payments: money pulled from a customer's bank or wallet account, authorized
-- by the institution's OTP or a USSD push.

CREATE TABLE direct_payments (
    reference             TEXT PRIMARY KEY,
    business_id           TEXT NOT NULL REFERENCES businesses (id),
    wallet_ref            TEXT NOT NULL REFERENCES wallets (wallet_ref),
    -- The business's own id for the request, unique per business.
    trace_number          TEXT NOT NULL,
    institution_code      TEXT NOT NULL,
    institution_name      TEXT NOT NULL,
    account               TEXT NOT NULL,
    account_name          TEXT NOT NULL,
    customer_phone        TEXT NOT NULL,
    currency              TEXT NOT NULL,
    amount                BIGINT NOT NULL,
    fee                   BIGINT NOT NULL,
    authorization_method  TEXT NOT NULL CHECK (authorization_method IN ('OTP', 'PUSH_USSD')),
    status                TEXT NOT NULL CHECK (status IN ('AWAITING_AUTHORIZATION', 'PROCESSED', 'FAILED')),
    -- Keyed hash of the institution's OTP, bound to this payment; NULL once used or void.
    otp_hash              TEXT,
    wrong_otps            BIGINT NOT NULL DEFAULT 0,
    otp_expires_at        BIGINT NOT NULL,
    callback_url          TEXT,
    reason                TEXT,
    failure_reason        TEXT,
    -- The wallet credit, once processed.
    transaction_ref       TEXT REFERENCES transactions (transaction_ref),
    version               BIGINT NOT NULL DEFAULT 0,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    UNIQUE (business_id, trace_number)
);
CREATE INDEX direct_payments_awaiting ON direct_payments (status, otp_expires_at);
