-- Accounts the bank-sim opened for ducat (POST /v1/accounts), once per ducat reference.
CREATE TABLE accounts (
    account_number TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    currency TEXT NOT NULL,
    bank_code TEXT NOT NULL,
    bank_name TEXT NOT NULL,
    account_name TEXT NOT NULL,
    -- wallet | virtual | checkout
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Money customers sent to ducat's accounts, and the delivery of each one's notification.
CREATE TABLE inflows (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL UNIQUE,
    -- The notification exactly as it is sent, every time.
    body TEXT NOT NULL,
    -- Faults: send once more after the acknowledgement; hold back until a later one is acknowledged.
    duplicate BOOLEAN NOT NULL,
    out_of_order BOOLEAN NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- Deliveries ducat acknowledged with a 2xx.
    deliveries INTEGER NOT NULL DEFAULT 0,
    acknowledged_at BIGINT,
    -- 1 for the first notification ever acknowledged, 2 for the next, …
    ack_rank INTEGER,
    next_attempt_at BIGINT NOT NULL,
    last_status INTEGER,
    last_answer TEXT,
    created_at BIGINT NOT NULL
);
