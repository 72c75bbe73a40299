//! The dashboard's own rows: users, sessions, failed sign-ins, invitations and pending OTP
//! phone changes.

use super::{int, opt_int, text, Autocommit, Store, StoreError, Tx};
use ducat_core::ids::BusinessId;
use ducat_core::roles::Role;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct DashboardUser {
    pub id: String,
    pub business_id: BusinessId,
    pub email: String,
    pub role: Role,
    pub created_at: i64,
    pub last_sign_in_at: Option<i64>,
}

const USER_COLUMNS: &str =
    "u.id AS user_id, u.business_id AS user_business_id, u.email AS user_email,
     u.role AS user_role, u.created_at AS user_created_at, u.last_sign_in_at";

fn user_from_row(row: &AnyRow) -> Result<DashboardUser, StoreError> {
    let role = text(row, "user_role");
    Ok(DashboardUser {
        id: text(row, "user_id"),
        business_id: BusinessId::from_trusted(text(row, "user_business_id")),
        email: text(row, "user_email"),
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown role {role:?}")))?,
        created_at: int(row, "user_created_at"),
        last_sign_in_at: opt_int(row, "last_sign_in_at"),
    })
}

/// An active (not removed) user and the stored password hash, for sign-in.
pub async fn user_by_email(
    store: &Store,
    email: &str,
) -> Result<Option<(DashboardUser, String)>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS}, u.password_hash FROM dashboard_users u
         WHERE u.email = $1 AND u.removed_at IS NULL"
    ))
    .bind(email)
    .fetch_optional(store.reader())
    .await?;
    row.map(|row| Ok((user_from_row(&row)?, text(&row, "password_hash"))))
        .transpose()
}

pub async fn users_of_business(
    store: &Store,
    business: &BusinessId,
) -> Result<Vec<DashboardUser>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM dashboard_users u
         WHERE u.business_id = $1 AND u.removed_at IS NULL ORDER BY u.created_at, u.id"
    ))
    .bind(business.as_str())
    .fetch_all(store.reader())
    .await?;
    rows.iter().map(user_from_row).collect()
}

pub async fn count_owners(tx: &mut Tx, business: &BusinessId) -> Result<i64, StoreError> {
    Ok(sqlx::query(
        "SELECT COUNT(*) FROM dashboard_users
         WHERE business_id = $1 AND role = 'owner' AND removed_at IS NULL",
    )
    .bind(business.as_str())
    .fetch_one(&mut **tx)
    .await?
    .get(0))
}

/// The user's role, read inside the transaction that changes it.
pub async fn role_of_user(
    tx: &mut Tx,
    business: &BusinessId,
    user_id: &str,
) -> Result<Option<Role>, StoreError> {
    let row = sqlx::query(
        "SELECT role FROM dashboard_users
         WHERE business_id = $1 AND id = $2 AND removed_at IS NULL",
    )
    .bind(business.as_str())
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.and_then(|r| Role::parse(&r.get::<String, _>(0))))
}

pub async fn set_role(
    tx: &mut Tx,
    business: &BusinessId,
    user_id: &str,
    role: Role,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE dashboard_users SET role = $3
         WHERE business_id = $1 AND id = $2 AND removed_at IS NULL",
    )
    .bind(business.as_str())
    .bind(user_id)
    .bind(role.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes the user and ends every session of theirs in the same transaction. The row stays
/// (renamed out of the way of the unique email) so the audit log keeps naming a real user.
pub async fn remove_user(
    tx: &mut Tx,
    business: &BusinessId,
    user_id: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE dashboard_users SET removed_at = $3, email = email || '#removed-' || id
         WHERE business_id = $1 AND id = $2 AND removed_at IS NULL",
    )
    .bind(business.as_str())
    .bind(user_id)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM dashboard_sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_password(
    tx: &mut Tx,
    user_id: &str,
    password_hash: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE dashboard_users SET password_hash = $2 WHERE id = $1")
        .bind(user_id)
        .bind(password_hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Session {
    pub user: DashboardUser,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: &'a str,
    pub business_id: &'a BusinessId,
    pub csrf_token: &'a str,
    pub now_ms: i64,
    pub expires_at: i64,
}

pub async fn insert_session(tx: &mut Tx, session: &NewSession<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO dashboard_sessions
             (token_hash, user_id, business_id, csrf_token, created_at, last_seen_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $5, $6)",
    )
    .bind(session.token_hash)
    .bind(session.user_id)
    .bind(session.business_id.as_str())
    .bind(session.csrf_token)
    .bind(session.now_ms)
    .bind(session.expires_at)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE dashboard_users SET last_sign_in_at = $2 WHERE id = $1")
        .bind(session.user_id)
        .bind(session.now_ms)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The session with this token hash, with its (still active) user; expiry is the caller's call.
pub async fn session(store: &Store, token_hash: &str) -> Result<Option<Session>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS}, s.csrf_token, s.created_at AS session_created_at,
                s.last_seen_at, s.expires_at
         FROM dashboard_sessions s JOIN dashboard_users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND u.removed_at IS NULL"
    ))
    .bind(token_hash)
    .fetch_optional(store.reader())
    .await?;
    row.map(|row| {
        Ok(Session {
            user: user_from_row(&row)?,
            csrf_token: text(&row, "csrf_token"),
            created_at: int(&row, "session_created_at"),
            last_seen_at: int(&row, "last_seen_at"),
            expires_at: int(&row, "expires_at"),
        })
    })
    .transpose()
}

pub async fn touch_session(store: &Store, token_hash: &str, now_ms: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE dashboard_sessions SET last_seen_at = $2 WHERE token_hash = $1")
        .bind(token_hash)
        .bind(now_ms)
        .execute_in(store)
        .await?;
    Ok(())
}

pub async fn delete_session(store: &Store, token_hash: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM dashboard_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute_in(store)
        .await?;
    Ok(())
}

/// Forgets sessions and sign-in failures nobody can use any more.
pub async fn purge_expired(
    store: &Store,
    now_ms: i64,
    failure_window_ms: i64,
) -> Result<u64, StoreError> {
    let sessions = sqlx::query("DELETE FROM dashboard_sessions WHERE expires_at <= $1")
        .bind(now_ms)
        .execute_in(store)
        .await?
        .rows_affected();
    let failures = sqlx::query("DELETE FROM dashboard_sign_in_failures WHERE created_at <= $1")
        .bind(now_ms - failure_window_ms)
        .execute_in(store)
        .await?
        .rows_affected();
    Ok(sessions + failures)
}

pub async fn record_sign_in_failure(
    store: &Store,
    subjects: &[&str],
    now_ms: i64,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    for subject in subjects {
        sqlx::query(
            "INSERT INTO dashboard_sign_in_failures (id, subject, created_at) VALUES ($1, $2, $3)",
        )
        .bind(super::time_ordered_id("fail_", now_ms))
        .bind(*subject)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The subject's failures since `since_ms`, oldest first.
pub async fn sign_in_failures(
    store: &Store,
    subject: &str,
    since_ms: i64,
) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query(
        "SELECT created_at FROM dashboard_sign_in_failures
         WHERE subject = $1 AND created_at > $2 ORDER BY created_at",
    )
    .bind(subject)
    .bind(since_ms)
    .fetch_all(store.reader())
    .await?;
    Ok(rows.iter().map(|r| r.get::<i64, _>(0)).collect())
}

pub async fn clear_sign_in_failures(store: &Store, subject: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM dashboard_sign_in_failures WHERE subject = $1")
        .bind(subject)
        .execute_in(store)
        .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Invite {
    pub token_hash: String,
    pub business_id: BusinessId,
    pub email: String,
    pub role: Role,
    pub invited_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

fn invite_from_row(row: &AnyRow) -> Result<Invite, StoreError> {
    let role = text(row, "role");
    Ok(Invite {
        token_hash: text(row, "token_hash"),
        business_id: BusinessId::from_trusted(text(row, "business_id")),
        email: text(row, "email"),
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown role {role:?}")))?,
        invited_by: text(row, "invited_by"),
        created_at: int(row, "created_at"),
        expires_at: int(row, "expires_at"),
        accepted_at: opt_int(row, "accepted_at"),
        revoked_at: opt_int(row, "revoked_at"),
    })
}

const INVITE_COLUMNS: &str =
    "token_hash, business_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at";

pub async fn insert_invite(tx: &mut Tx, invite: &Invite) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO dashboard_invites ({INVITE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(&invite.token_hash)
    .bind(invite.business_id.as_str())
    .bind(&invite.email)
    .bind(invite.role.as_str())
    .bind(&invite.invited_by)
    .bind(invite.created_at)
    .bind(invite.expires_at)
    .bind(invite.accepted_at)
    .bind(invite.revoked_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn invite(store: &Store, token_hash: &str) -> Result<Option<Invite>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {INVITE_COLUMNS} FROM dashboard_invites WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(store.reader())
    .await?;
    row.as_ref().map(invite_from_row).transpose()
}

/// Marks an open invitation accepted; false when it was already used, revoked or expired.
pub async fn accept_invite(tx: &mut Tx, token_hash: &str, now_ms: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE dashboard_invites SET accepted_at = $2
         WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn revoke_invite(
    tx: &mut Tx,
    business: &BusinessId,
    token_hash: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE dashboard_invites SET revoked_at = $3
         WHERE business_id = $1 AND token_hash = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(business.as_str())
    .bind(token_hash)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Invitations not yet accepted, revoked or expired.
pub async fn open_invites(
    store: &Store,
    business: &BusinessId,
    now_ms: i64,
) -> Result<Vec<Invite>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {INVITE_COLUMNS} FROM dashboard_invites
         WHERE business_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2
         ORDER BY created_at DESC"
    ))
    .bind(business.as_str())
    .bind(now_ms)
    .fetch_all(store.reader())
    .await?;
    rows.iter().map(invite_from_row).collect()
}

#[derive(Debug, Clone)]
pub struct PhoneChange {
    pub phone: String,
    pub otp_hash: String,
    pub attempts: i64,
    pub requested_by: String,
    pub created_at: i64,
    pub expires_at: i64,
}

fn phone_change_from_row(row: &AnyRow) -> PhoneChange {
    PhoneChange {
        phone: text(row, "phone"),
        otp_hash: text(row, "otp_hash"),
        attempts: int(row, "attempts"),
        requested_by: text(row, "requested_by"),
        created_at: int(row, "created_at"),
        expires_at: int(row, "expires_at"),
    }
}

/// Replaces any pending change: only the newest requested number can be confirmed.
pub async fn put_phone_change(
    tx: &mut Tx,
    business: &BusinessId,
    change: &PhoneChange,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM otp_phone_changes WHERE business_id = $1")
        .bind(business.as_str())
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO otp_phone_changes
             (business_id, phone, otp_hash, attempts, requested_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(business.as_str())
    .bind(&change.phone)
    .bind(&change.otp_hash)
    .bind(change.attempts)
    .bind(&change.requested_by)
    .bind(change.created_at)
    .bind(change.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn phone_change(
    store: &Store,
    business: &BusinessId,
) -> Result<Option<PhoneChange>, StoreError> {
    let row = sqlx::query(
        "SELECT phone, otp_hash, attempts, requested_by, created_at, expires_at
         FROM otp_phone_changes WHERE business_id = $1",
    )
    .bind(business.as_str())
    .fetch_optional(store.reader())
    .await?;
    Ok(row.as_ref().map(phone_change_from_row))
}

/// The pending change, locked for the transaction that checks its code.
pub async fn phone_change_for_update(
    tx: &mut Tx,
    business: &BusinessId,
    engine: super::Engine,
) -> Result<Option<PhoneChange>, StoreError> {
    let lock = match engine {
        super::Engine::Postgres => " FOR UPDATE",
        super::Engine::Sqlite => "",
    };
    let row = sqlx::query(&format!(
        "SELECT phone, otp_hash, attempts, requested_by, created_at, expires_at
         FROM otp_phone_changes WHERE business_id = $1{lock}"
    ))
    .bind(business.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.as_ref().map(phone_change_from_row))
}

pub async fn count_phone_change_attempt(
    tx: &mut Tx,
    business: &BusinessId,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE otp_phone_changes SET attempts = attempts + 1 WHERE business_id = $1")
        .bind(business.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn delete_phone_change(tx: &mut Tx, business: &BusinessId) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM otp_phone_changes WHERE business_id = $1")
        .bind(business.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Money in and out of a currency's wallet per UTC day since `since_ms`: successful credits
/// and successful debits, by amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyFlow {
    pub day: i64,
    pub inflow: i64,
    pub outflow: i64,
}

pub async fn daily_flows(
    store: &Store,
    business: &BusinessId,
    currency: &str,
    since_ms: i64,
) -> Result<Vec<DailyFlow>, StoreError> {
    let rows = sqlx::query(
        "SELECT created_at / 86400000 AS day,
                CAST(SUM(CASE WHEN type = 'credit' THEN amount ELSE 0 END) AS BIGINT) AS inflow,
                CAST(SUM(CASE WHEN type = 'debit' THEN amount ELSE 0 END) AS BIGINT) AS outflow
         FROM transactions
         WHERE business_id = $1 AND currency = $2 AND created_at >= $3 AND status = 'successful'
         GROUP BY created_at / 86400000 ORDER BY day",
    )
    .bind(business.as_str())
    .bind(currency)
    .bind(since_ms)
    .fetch_all(store.reader())
    .await?;
    Ok(rows
        .iter()
        .map(|row| DailyFlow {
            day: row.get::<i64, _>("day"),
            inflow: row.get::<i64, _>("inflow"),
            outflow: row.get::<i64, _>("outflow"),
        })
        .collect())
}
