-- Beqelal hosted checkout links and payment links: a page where the customer picks an
-- institution and pays the amount by a direct payment. The reference in the URL is the key.

CREATE TABLE payment_links (
    reference          TEXT PRIMARY KEY,
    business_id        TEXT NOT NULL REFERENCES businesses (id),
    kind               TEXT NOT NULL CHECK (kind IN ('checkout', 'payment_link')),
    phone              TEXT NOT NULL,
    currency           TEXT NOT NULL,
    amount             BIGINT NOT NULL,
    -- The business's own id for the link, unique per business; attempt n pays as "{trace}-{n}".
    trace_number       TEXT NOT NULL,
    return_url         TEXT,
    callback_url       TEXT,
    item_name          TEXT,
    quantity           BIGINT,
    reason             TEXT,
    expires_at         BIGINT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('OPEN', 'PAID', 'EXPIRED')),
    -- How many direct payments the page has requested, and the newest of them.
    attempts           BIGINT NOT NULL DEFAULT 0,
    -- Set while one request is starting an attempt (between claiming its number and
    -- recording its payment), so a second submit cannot start another payment meanwhile;
    -- a claim older than 30 s is considered abandoned by a crashed request.
    attempt_claimed_at BIGINT,
    attempt_reference  TEXT REFERENCES direct_payments (reference),
    -- The direct payment that paid the link, once paid.
    payment_reference  TEXT REFERENCES direct_payments (reference),
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (business_id, trace_number)
);
