-- ducat bank-sim: direct debits the institutions were asked to authorize, once per reference,
-- and the text messages they sent customers (readable at GET /admin/sms).
CREATE TABLE debits (
    reference TEXT PRIMARY KEY NOT NULL,
    currency TEXT NOT NULL,
    institution TEXT NOT NULL,
    account_number TEXT NOT NULL,
    amount BIGINT NOT NULL,
    reason TEXT,
    -- otp | push
    method TEXT NOT NULL,
    -- awaiting_authorization | processed | failed
    status TEXT NOT NULL,
    -- declined | otp_attempts_exceeded | expired (when failed)
    failure TEXT,
    failure_reason TEXT,
    -- The institution's OTP (a simulator: kept as is, NULL once used or void).
    otp TEXT,
    wrong_otps BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL,
    -- Push: when the simulated customer answers the prompt.
    approve_at BIGINT,
    version BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE sms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    phone TEXT NOT NULL,
    body TEXT NOT NULL,
    reference TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX sms_by_reference ON sms (reference);
