-- Direct payments whose institution authorizes them itself over the bank rail (live businesses
-- on the `http` rail): the institution's OTP or push, not ducat's. A row exists exactly for
-- those; the worker asks the bank about a payment when `next_poll_at` passes (a push approval,
-- an authorization whose answer was lost) or when its OTP expires.
CREATE TABLE bank_debits (
    reference     TEXT PRIMARY KEY REFERENCES direct_payments (reference),
    method        TEXT NOT NULL CHECK (method IN ('otp', 'push')),
    next_poll_at  BIGINT,
    polls         BIGINT NOT NULL DEFAULT 0,
    last_error    TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX bank_debits_due ON bank_debits (next_poll_at);
