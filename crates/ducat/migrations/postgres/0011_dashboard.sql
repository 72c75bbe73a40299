-- The merchant dashboard: sessions, throttled sign-ins, invitations, the audit log and the
-- confirmation step of an OTP phone change.

-- A session is found by the keyed hash of its cookie token; the token itself is never stored.
CREATE TABLE dashboard_sessions (
    token_hash    TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES dashboard_users (id),
    business_id   TEXT NOT NULL REFERENCES businesses (id),
    csrf_token    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX dashboard_sessions_user ON dashboard_sessions (user_id);

-- One row per failed sign-in, by email and by client address; counted over a window.
CREATE TABLE dashboard_sign_in_failures (
    id          TEXT PRIMARY KEY,
    subject     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX dashboard_sign_in_failures_subject ON dashboard_sign_in_failures (subject, created_at);

CREATE TABLE dashboard_invites (
    token_hash   TEXT PRIMARY KEY,
    business_id  TEXT NOT NULL REFERENCES businesses (id),
    email        TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'developer', 'viewer')),
    invited_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    accepted_at  BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX dashboard_invites_business ON dashboard_invites (business_id, created_at);

ALTER TABLE dashboard_users ADD COLUMN removed_at BIGINT;
ALTER TABLE dashboard_users ADD COLUMN last_sign_in_at BIGINT;

-- Who changed what: written in the same transaction as the change it describes.
CREATE TABLE audit_log (
    id           TEXT PRIMARY KEY,
    business_id  TEXT NOT NULL REFERENCES businesses (id),
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    detail       TEXT NOT NULL,
    ip           TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX audit_log_business ON audit_log (business_id, created_at);

-- A new OTP phone takes effect only once the code sent to it comes back; one pending change
-- per business, replaced by a newer request.
CREATE TABLE otp_phone_changes (
    business_id   TEXT PRIMARY KEY REFERENCES businesses (id),
    phone         TEXT NOT NULL,
    otp_hash      TEXT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    requested_by  TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
