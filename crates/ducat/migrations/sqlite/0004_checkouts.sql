-- Pay-with-transfer checkouts, virtual accounts, and a record of every inbound transfer the
-- bank notified, whatever became of it.

-- Per-business collection fees (checkouts and virtual accounts): flat + basis points, capped.
ALTER TABLE businesses ADD COLUMN collection_fee_flat BIGINT NOT NULL DEFAULT 0;
ALTER TABLE businesses ADD COLUMN collection_fee_bps BIGINT NOT NULL DEFAULT 50;
ALTER TABLE businesses ADD COLUMN collection_fee_cap BIGINT DEFAULT 100000;

-- The account a credit arrived through (a checkout's or a virtual account's `act_…`).
ALTER TABLE transactions ADD COLUMN account_ref TEXT;

CREATE TABLE checkouts (
    checkout_reference    TEXT PRIMARY KEY,
    business_id           TEXT NOT NULL REFERENCES businesses (id),
    wallet_ref            TEXT NOT NULL REFERENCES wallets (wallet_ref),
    status                TEXT NOT NULL CHECK (status IN ('pending', 'successful', 'expired')),
    currency              TEXT NOT NULL,
    subtotal              BIGINT NOT NULL,
    discount              BIGINT NOT NULL,
    tax                   BIGINT NOT NULL,
    shipping_fee          BIGINT NOT NULL,
    total                 BIGINT NOT NULL,
    fee                   BIGINT NOT NULL,
    fee_bearer            TEXT NOT NULL CHECK (fee_bearer IN ('customer', 'business')),
    -- Exactly what the customer must transfer; anything else is returned.
    amount_to_pay         BIGINT NOT NULL,
    customer_firstname    TEXT,
    customer_lastname     TEXT,
    customer_phone_number TEXT,
    customer_email        TEXT,
    customer_ref          TEXT,
    description           TEXT NOT NULL DEFAULT '',
    -- The request as sent (line items, discount, tax, metadata), for the business's records.
    order_json            TEXT NOT NULL,
    callback_url          TEXT,
    account_ref           TEXT NOT NULL UNIQUE,
    account_number        TEXT NOT NULL UNIQUE,
    bank_code             TEXT NOT NULL,
    bank_name             TEXT NOT NULL,
    account_name          TEXT NOT NULL,
    expires_at            BIGINT NOT NULL,
    paid_transaction_ref  TEXT REFERENCES transactions (transaction_ref),
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE INDEX checkouts_business_created ON checkouts (business_id, created_at);
CREATE INDEX checkouts_pending_expiry ON checkouts (status, expires_at);

CREATE TABLE virtual_accounts (
    account_ref     TEXT PRIMARY KEY,
    business_id     TEXT NOT NULL REFERENCES businesses (id),
    wallet_ref      TEXT NOT NULL REFERENCES wallets (wallet_ref),
    account_number  TEXT NOT NULL UNIQUE,
    bank_code       TEXT NOT NULL,
    bank_name       TEXT NOT NULL,
    account_name    TEXT NOT NULL,
    first_name      TEXT NOT NULL,
    last_name       TEXT NOT NULL,
    phone_number    TEXT,
    email           TEXT,
    bvn             TEXT,
    purpose         TEXT,
    metadata        TEXT,
    is_permanent    BIGINT NOT NULL CHECK (is_permanent IN (0, 1)),
    single_use      BIGINT NOT NULL CHECK (single_use IN (0, 1)),
    -- When set, only this exact amount is accepted; anything else is returned.
    amount          BIGINT,
    status          TEXT NOT NULL CHECK (status IN ('active', 'used')),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX virtual_accounts_business_created ON virtual_accounts (business_id, created_at);

-- Every inbound transfer notified by the bank, applied once per session id: credited to a
-- wallet, or returned to the sender through suspense (both legs are in the ledger).
CREATE TABLE inbound_transfers (
    session_id             TEXT PRIMARY KEY,
    business_id            TEXT NOT NULL REFERENCES businesses (id),
    account_number         TEXT NOT NULL,
    -- What the account belongs to: a wallet's funding account, a checkout, a virtual account.
    target_kind            TEXT NOT NULL CHECK (target_kind IN ('wallet', 'checkout', 'virtual_account')),
    target_ref             TEXT NOT NULL,
    currency               TEXT NOT NULL,
    amount                 BIGINT NOT NULL,
    source_bank_name       TEXT,
    source_account_number  TEXT,
    source_account_name    TEXT,
    narration              TEXT,
    outcome                TEXT NOT NULL CHECK (outcome IN ('credited', 'returned')),
    reason                 TEXT,
    transaction_ref        TEXT,
    created_at             BIGINT NOT NULL
);
CREATE INDEX inbound_transfers_target ON inbound_transfers (target_kind, target_ref);
