-- ducat bank-sim's own database: every transfer it applied, once per reference.
CREATE TABLE transfers (
    reference TEXT PRIMARY KEY NOT NULL,
    currency TEXT NOT NULL,
    bank_code TEXT NOT NULL,
    account_number TEXT NOT NULL,
    account_name TEXT NOT NULL,
    amount BIGINT NOT NULL,
    narration TEXT NOT NULL,
    -- successful | failed: the outcome is decided when the transfer is applied.
    status TEXT NOT NULL,
    -- Whether the first answers for this reference say `processing` (accounts ending 92, 93).
    answers_processing BOOLEAN NOT NULL,
    session_id TEXT,
    reason TEXT,
    created_at BIGINT NOT NULL
);

CREATE INDEX transfers_by_time ON transfers (created_at);
