-- The foundation: businesses and their credentials, wallets, the double-entry ledger,
-- the sandbox bank's inflows, the SMS outbox and idempotency records.
-- Timestamps are unix milliseconds (BIGINT) so one set of queries serves SQLite and PostgreSQL.

CREATE TABLE businesses (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    email               TEXT,
    mode                TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    otp_phone           TEXT,
    webhook_url         TEXT,
    -- Encrypted with the master key (nonce || ciphertext, base64): a database dump alone
    -- must not let anyone forge this business's webhooks.
    webhook_secret_enc  TEXT NOT NULL,
    verify_hash         TEXT NOT NULL,
    -- Comma-separated CIDRs; empty means every address may call.
    ip_allowlist        TEXT NOT NULL DEFAULT '',
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

CREATE TABLE api_credentials (
    id            TEXT PRIMARY KEY,
    business_id   TEXT NOT NULL REFERENCES businesses (id),
    kind          TEXT NOT NULL CHECK (kind IN ('duplo_secret', 'beqelal')),
    mode          TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    -- Beqelal's app-id travels beside the api-key; it identifies, it does not authenticate.
    app_id        TEXT,
    -- The first characters of the key, shown in lists so a person can tell keys apart.
    key_prefix    TEXT NOT NULL,
    -- HMAC-SHA256 of the key under a server key: the key itself is never stored.
    key_hash      TEXT NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
CREATE INDEX api_credentials_business ON api_credentials (business_id);

CREATE TABLE dashboard_users (
    id             TEXT PRIMARY KEY,
    business_id    TEXT NOT NULL REFERENCES businesses (id),
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('owner', 'developer', 'viewer')),
    created_at     BIGINT NOT NULL
);

CREATE TABLE wallets (
    wallet_ref      TEXT PRIMARY KEY,
    business_id     TEXT NOT NULL REFERENCES businesses (id),
    currency        TEXT NOT NULL,
    -- The wallet's funding account at the (sandbox or real) bank: transfers to it credit the wallet.
    bank_code       TEXT NOT NULL,
    bank_name       TEXT NOT NULL,
    account_number  TEXT NOT NULL UNIQUE,
    account_name    TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (business_id, currency)
);

CREATE TABLE ledger_accounts (
    account_key      TEXT PRIMARY KEY,
    wallet_ref       TEXT REFERENCES wallets (wallet_ref),
    currency         TEXT NOT NULL,
    kind             TEXT NOT NULL,
    may_go_negative  BIGINT NOT NULL CHECK (may_go_negative IN (0, 1)),
    -- A cache of the sum of this account's postings, kept in the same transaction as they are
    -- written; `ducat ledger check` proves the two agree.
    balance          BIGINT NOT NULL DEFAULT 0,
    CHECK (may_go_negative = 1 OR balance >= 0)
);

CREATE TABLE journal_entries (
    id          TEXT PRIMARY KEY,
    currency    TEXT NOT NULL,
    -- What movement this is (inflow, hold, release, settle, ...) and what it belongs to.
    kind        TEXT NOT NULL,
    reference   TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX journal_entries_reference ON journal_entries (reference);

CREATE TABLE postings (
    id           BIGSERIAL PRIMARY KEY,
    entry_id     TEXT NOT NULL REFERENCES journal_entries (id),
    account_key  TEXT NOT NULL REFERENCES ledger_accounts (account_key),
    amount       BIGINT NOT NULL CHECK (amount <> 0)
);
CREATE INDEX postings_entry ON postings (entry_id);
CREATE INDEX postings_account ON postings (account_key);

-- Every movement of a business's money as Duplo shows it: payouts, inflows, checkout payments.
CREATE TABLE transactions (
    transaction_ref          TEXT PRIMARY KEY,
    business_id              TEXT NOT NULL REFERENCES businesses (id),
    wallet_ref               TEXT NOT NULL REFERENCES wallets (wallet_ref),
    currency                 TEXT NOT NULL,
    type                     TEXT NOT NULL CHECK (type IN ('credit', 'debit')),
    channel                  TEXT NOT NULL,
    category                 TEXT NOT NULL,
    status                   TEXT NOT NULL,
    amount                   BIGINT NOT NULL,
    fee_amount               BIGINT NOT NULL,
    settled_amount           BIGINT NOT NULL,
    -- The wallet's available balance right after this transaction moved it, as Duplo reports.
    new_balance              BIGINT,
    description              TEXT NOT NULL DEFAULT '',
    external_transaction_id  TEXT,
    -- The bank's NIP session id: unique, so the same notification twice is applied once.
    session_id               TEXT UNIQUE,
    provider_ref_id          TEXT,
    account_number           TEXT,
    source_bank_name         TEXT,
    source_account_number    TEXT,
    source_account_name      TEXT,
    receiver_bank_code       TEXT,
    receiver_bank_name       TEXT,
    receiver_account_number  TEXT,
    receiver_account_name    TEXT,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL,
    UNIQUE (business_id, external_transaction_id)
);
CREATE INDEX transactions_business_created ON transactions (business_id, created_at);

CREATE TABLE sms_messages (
    id            TEXT PRIMARY KEY,
    business_id   TEXT REFERENCES businesses (id),
    to_phone      TEXT NOT NULL,
    body          TEXT NOT NULL,
    reference     TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX sms_messages_business_created ON sms_messages (business_id, created_at);

CREATE TABLE idempotency_keys (
    business_id          TEXT NOT NULL REFERENCES businesses (id),
    idempotency_key      TEXT NOT NULL,
    -- SHA-256 of method, path and body: the same key with another request is refused.
    request_fingerprint  TEXT NOT NULL,
    response_status      BIGINT,
    response_headers     TEXT,
    response_body        TEXT,
    created_at           BIGINT NOT NULL,
    PRIMARY KEY (business_id, idempotency_key)
);

CREATE TABLE instance_settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
