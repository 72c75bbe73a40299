//! `ducat bank-sim`'s institutions authorizing direct debits (docs/bank-adapter.md): each debit
//! reference once, the institution's own six-digit OTP texted to the customer (kept in an SMS
//! log, `GET /admin/sms`), a limited number of wrong OTPs, push prompts the simulated customer
//! approves after `--push-approve-after-ms`, and the sandbox's magic account suffixes (`…00`
//! unknown account at the request, `…91` declined at authorization or approval).
//!
//! Decisions are pure (`decide_request`, `decide_authorize`, `settle`); the handlers load, decide,
//! save conditionally on the version loaded, and answer, under the server's faults.

use super::{admit, after_apply, authorized, currency, error, json_body, Refusal, Shared};
use crate::rail::debits::{
    codes as debit_codes, AuthorizeDocument, DebitDocument, DebitFailure, DebitMethod,
    DebitRequestDocument, DebitWireStatus,
};
use crate::rail::protocol::codes;
use crate::rail::sandbox;
use crate::rail::RailError;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ducat_core::banks::{self, AuthorizationMethod, InstitutionKind, SandboxBehaviour};
use rand::rngs::OsRng;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sqlx::{Row, SqlitePool};
use subtle::ConstantTimeEq;

/// Wrong OTPs that fail a debit.
pub const MAX_WRONG_OTPS: u32 = 5;
/// How long an institution's OTP (or push prompt) stays valid.
pub const DEBIT_TTL_MS: i64 = 600_000;
/// The phone a bank account's customer is texted at (a wallet's account is its phone).
pub const DEMO_PHONE: &str = "+251900000000";

/// A debit as the institution keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Debit {
    pub request: DebitRequestDocument,
    pub method: DebitMethod,
    pub status: DebitWireStatus,
    pub failure: Option<DebitFailure>,
    pub failure_reason: Option<String>,
    pub otp: Option<String>,
    pub wrong_otps: u32,
    pub expires_at: i64,
    pub approve_at: Option<i64>,
    pub version: i64,
    pub created_at: i64,
}

impl Debit {
    pub fn document(&self, attempts_left: Option<u32>) -> DebitDocument {
        DebitDocument {
            reference: self.request.reference.clone(),
            method: self.method,
            status: self.status,
            failure: self.failure,
            reason: self.failure_reason.clone(),
            attempts_left,
            created_at: self.created_at,
        }
    }

    fn fail(&self, failure: DebitFailure, reason: &str) -> Debit {
        Debit {
            status: DebitWireStatus::Failed,
            failure: Some(failure),
            failure_reason: Some(reason.to_owned()),
            otp: None,
            ..self.clone()
        }
    }

    fn processed(&self) -> Debit {
        Debit {
            status: DebitWireStatus::Processed,
            otp: None,
            ..self.clone()
        }
    }

    fn is_final(&self) -> bool {
        match self.status {
            DebitWireStatus::Processed | DebitWireStatus::Failed => true,
            DebitWireStatus::AwaitingAuthorization => false,
        }
    }

    fn institution_declines(&self) -> bool {
        banks::sandbox_behaviour(&self.request.account_number) == SandboxBehaviour::Decline
    }
}

/// The phone the institution texts: a wallet's account number is the phone itself.
pub fn customer_phone(kind: InstitutionKind, account_number: &str) -> String {
    match kind {
        InstitutionKind::Wallet => format!("+{account_number}"),
        InstitutionKind::Bank => DEMO_PHONE.to_owned(),
    }
}

/// Decides what accepting a debit request means: pure but for the OTP drawn by the caller.
pub(super) fn decide_request(
    request: DebitRequestDocument,
    now_ms: i64,
    push_after_ms: i64,
    otp: String,
) -> Result<(Debit, String), Refusal> {
    super::check_reference_and_amount(&request.reference, request.amount)?;
    let currency = currency(&request.currency)?;
    let institution = banks::find_institution(currency, &request.institution).ok_or_else(|| {
        super::rail_error(RailError::UnknownBank(
            request.institution.clone(),
            currency,
        ))
    })?;
    sandbox::resolve(currency, &request.institution, &request.account_number)
        .map_err(super::rail_error)?;
    let method = match institution.authorization_method {
        AuthorizationMethod::Otp => DebitMethod::Otp,
        AuthorizationMethod::PushUssd => DebitMethod::Push,
    };
    let amount = ducat_core::money::MinorUnits(request.amount).to_major_string(currency);
    let text = match method {
        DebitMethod::Otp => format!(
            "{}: {otp} is your code to approve a payment of {} {amount}. It expires in {} minutes. Never share it.",
            institution.name,
            currency.code(),
            DEBIT_TTL_MS / 60_000
        ),
        DebitMethod::Push => format!(
            "{}: approve a payment of {} {amount} on the prompt on your phone.",
            institution.name,
            currency.code()
        ),
    };
    let debit = Debit {
        method,
        status: DebitWireStatus::AwaitingAuthorization,
        failure: None,
        failure_reason: None,
        otp: match method {
            DebitMethod::Otp => Some(otp),
            DebitMethod::Push => None,
        },
        wrong_otps: 0,
        expires_at: now_ms.saturating_add(DEBIT_TTL_MS),
        approve_at: match method {
            DebitMethod::Otp => None,
            DebitMethod::Push => Some(now_ms.saturating_add(push_after_ms)),
        },
        version: 0,
        created_at: now_ms,
        request,
    };
    Ok((debit, text))
}

/// What time alone does to a debit: a push prompt answered, a lifetime run out.
pub fn settle(debit: &Debit, now_ms: i64) -> Debit {
    if debit.is_final() {
        return debit.clone();
    }
    match (debit.method, debit.approve_at) {
        (DebitMethod::Push, Some(at)) if now_ms >= at && at < debit.expires_at => {
            return if debit.institution_declines() {
                debit.fail(DebitFailure::Declined, "the customer declined the payment")
            } else {
                debit.processed()
            };
        }
        (DebitMethod::Push | DebitMethod::Otp, _) => {}
    }
    if now_ms >= debit.expires_at {
        return debit.fail(
            DebitFailure::Expired,
            "the debit was not authorized in time",
        );
    }
    debit.clone()
}

/// The result of an authorization: the debit after it, and what the answer says beyond it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorized {
    /// The debit as it now stands (processed, failed, or already final before).
    Settled(Debit),
    /// A wrong OTP, counted; this many remain.
    WrongOtp(Debit, u32),
    /// The debit is approved by push, not by OTP.
    NotOtp,
}

pub fn decide_authorize(debit: &Debit, presented: &str, now_ms: i64) -> Authorized {
    let debit = settle(debit, now_ms);
    if debit.is_final() {
        return Authorized::Settled(debit);
    }
    match debit.method {
        DebitMethod::Push => Authorized::NotOtp,
        DebitMethod::Otp => {
            let matches = debit
                .otp
                .as_deref()
                .is_some_and(|otp| bool::from(otp.as_bytes().ct_eq(presented.as_bytes())));
            if matches {
                Authorized::Settled(if debit.institution_declines() {
                    debit.fail(
                        DebitFailure::Declined,
                        "the institution declined the payment",
                    )
                } else {
                    debit.processed()
                })
            } else {
                let wrong_otps = debit.wrong_otps.saturating_add(1);
                let counted = Debit {
                    wrong_otps,
                    ..debit
                };
                if wrong_otps >= MAX_WRONG_OTPS {
                    Authorized::Settled(
                        counted.fail(DebitFailure::OtpAttemptsExceeded, "too many invalid OTPs"),
                    )
                } else {
                    Authorized::WrongOtp(counted, MAX_WRONG_OTPS - wrong_otps)
                }
            }
        }
    }
}

// ---- storage ----

const SELECT: &str = "SELECT reference, currency, institution, account_number, amount, reason, method,
    status, failure, failure_reason, otp, wrong_otps, expires_at, approve_at, version, created_at FROM debits";

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Debit, sqlx::Error> {
    let corrupt = |what: String| sqlx::Error::Decode(what.into());
    let method: String = row.get("method");
    let status: String = row.get("status");
    let failure: Option<String> = row.get("failure");
    Ok(Debit {
        request: DebitRequestDocument {
            reference: row.get("reference"),
            currency: row.get("currency"),
            institution: row.get("institution"),
            account_number: row.get("account_number"),
            amount: row.get("amount"),
            reason: row.get("reason"),
        },
        method: DebitMethod::parse(&method).ok_or_else(|| corrupt(format!("method {method}")))?,
        status: DebitWireStatus::parse(&status)
            .ok_or_else(|| corrupt(format!("status {status}")))?,
        failure: match failure {
            None => None,
            Some(text) => {
                Some(DebitFailure::parse(&text).ok_or_else(|| corrupt(format!("failure {text}")))?)
            }
        },
        failure_reason: row.get("failure_reason"),
        otp: row.get("otp"),
        wrong_otps: u32::try_from(row.get::<i64, _>("wrong_otps")).unwrap_or(u32::MAX),
        expires_at: row.get("expires_at"),
        approve_at: row.get("approve_at"),
        version: row.get("version"),
        created_at: row.get("created_at"),
    })
}

async fn find(pool: &SqlitePool, reference: &str) -> Result<Option<Debit>, sqlx::Error> {
    let row = sqlx::query(&format!("{SELECT} WHERE reference = $1"))
        .bind(reference)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Inserts the debit and its text message unless the reference exists; returns the stored one.
async fn insert_once(
    pool: &SqlitePool,
    debit: &Debit,
    phone: &str,
    text: &str,
) -> Result<(Debit, bool), sqlx::Error> {
    let r = &debit.request;
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO debits (reference, currency, institution, account_number, amount, reason, method,
             status, otp, wrong_otps, expires_at, approve_at, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11, 0, $12, $12)
         ON CONFLICT (reference) DO NOTHING",
    )
    .bind(&r.reference)
    .bind(&r.currency)
    .bind(&r.institution)
    .bind(&r.account_number)
    .bind(r.amount)
    .bind(&r.reason)
    .bind(debit.method.as_str())
    .bind(debit.status.as_str())
    .bind(&debit.otp)
    .bind(debit.expires_at)
    .bind(debit.approve_at)
    .bind(debit.created_at)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        sqlx::query("INSERT INTO sms (phone, body, reference, created_at) VALUES ($1, $2, $3, $4)")
            .bind(phone)
            .bind(text)
            .bind(&r.reference)
            .bind(debit.created_at)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    let stored = find(pool, &r.reference)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok((stored, inserted))
}

/// Saves `after` if nobody changed the debit since `before` was loaded.
async fn save(
    pool: &SqlitePool,
    before: &Debit,
    after: &Debit,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    if before == after {
        return Ok(true);
    }
    let updated = sqlx::query(
        "UPDATE debits SET status = $3, failure = $4, failure_reason = $5, otp = $6, wrong_otps = $7,
             version = version + 1, updated_at = $8
         WHERE reference = $1 AND version = $2",
    )
    .bind(&before.request.reference)
    .bind(before.version)
    .bind(after.status.as_str())
    .bind(after.failure.map(DebitFailure::as_str))
    .bind(&after.failure_reason)
    .bind(&after.otp)
    .bind(i64::from(after.wrong_otps))
    .bind(now_ms)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

fn store_error(e: sqlx::Error) -> Refusal {
    tracing::error!(error = %e, "bank-sim debits store");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        codes::INTERNAL,
        "the bank could not record the debit",
    )
}

fn unknown_debit(reference: &str) -> Refusal {
    error(
        StatusCode::NOT_FOUND,
        debit_codes::UNKNOWN_DEBIT,
        format!("the bank has never seen debit {reference}"),
    )
}

fn draw_otp() -> String {
    OsRng.gen_range(100_000..1_000_000u32).to_string()
}

/// Loads, applies `step`, saves conditionally (retrying on a concurrent change); returns what
/// `step` decided on the debit that was saved.
async fn change<T>(
    pool: &SqlitePool,
    reference: &str,
    step: impl Fn(&Debit, i64) -> (Debit, T),
) -> Result<T, Refusal> {
    for _ in 0..5 {
        let before = find(pool, reference)
            .await
            .map_err(store_error)?
            .ok_or_else(|| unknown_debit(reference))?;
        let now = super::now_ms();
        let (after, result) = step(&before, now);
        if save(pool, &before, &after, now)
            .await
            .map_err(store_error)?
        {
            return Ok(result);
        }
    }
    Err(error(
        StatusCode::SERVICE_UNAVAILABLE,
        codes::UNAVAILABLE,
        "the debit is being changed by another request",
    ))
}

// ---- handlers ----

pub(super) async fn request(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let failure = match admit(&state, &headers).await {
        Ok(failure) => failure,
        Err(refusal) => return refusal.into_response(),
    };
    let request: DebitRequestDocument = match json_body(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    let push_after_ms = i64::try_from(state.push_approve_after.as_millis()).unwrap_or(i64::MAX);
    let (candidate, text) =
        match decide_request(request.clone(), super::now_ms(), push_after_ms, draw_otp()) {
            Ok(decided) => decided,
            Err(refusal) => return refusal.into_response(),
        };
    let kind = banks::find_institution(
        ducat_core::money::Currency::Etb,
        &candidate.request.institution,
    )
    .or_else(|| {
        banks::find_institution(
            ducat_core::money::Currency::Ngn,
            &candidate.request.institution,
        )
    })
    .map(|institution| institution.kind)
    .unwrap_or(InstitutionKind::Bank);
    let phone = customer_phone(kind, &request.account_number);
    let pool = state.store.pool();
    let (stored, inserted) = match insert_once(pool, &candidate, &phone, &text).await {
        Ok(stored) => stored,
        Err(e) => return store_error(e).into_response(),
    };
    if stored.request != request {
        return error(
            StatusCode::CONFLICT,
            codes::REFERENCE_CONFLICT,
            format!(
                "reference {} was used for a different debit",
                request.reference
            ),
        )
        .into_response();
    }
    if inserted {
        tracing::info!(reference = %request.reference, method = stored.method.as_str(), "bank-sim accepted a debit");
    }
    after_apply(failure).await;
    Json(settle(&stored, super::now_ms()).document(None)).into_response()
}

pub(super) async fn authorize(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let failure = match admit(&state, &headers).await {
        Ok(failure) => failure,
        Err(refusal) => return refusal.into_response(),
    };
    let presented: AuthorizeDocument = match json_body(&body) {
        Ok(presented) => presented,
        Err(refusal) => return refusal.into_response(),
    };
    let result = change(
        state.store.pool(),
        &reference,
        |debit, now| match decide_authorize(debit, &presented.otp, now) {
            Authorized::Settled(after) => (after.clone(), Ok(after.document(None))),
            Authorized::WrongOtp(after, left) => (after.clone(), Ok(after.document(Some(left)))),
            Authorized::NotOtp => (
                debit.clone(),
                Err(error(
                    StatusCode::CONFLICT,
                    codes::INVALID_REQUEST,
                    "this debit is approved by push on the customer's phone, not by OTP",
                )),
            ),
        },
    )
    .await;
    after_apply(failure).await;
    match result {
        Ok(Ok(document)) => Json(document).into_response(),
        Ok(Err(refusal)) | Err(refusal) => refusal.into_response(),
    }
}

pub(super) async fn status(
    State(state): State<Shared>,
    Path(reference): Path<String>,
    headers: HeaderMap,
) -> Response {
    let failure = match admit(&state, &headers).await {
        Ok(failure) => failure,
        Err(refusal) => return refusal.into_response(),
    };
    let result = change(state.store.pool(), &reference, |debit, now| {
        let after = settle(debit, now);
        (after.clone(), after.document(None))
    })
    .await;
    after_apply(failure).await;
    match result {
        Ok(document) => Json(document).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct SmsQuery {
    reference: Option<String>,
    phone: Option<String>,
}

#[derive(Debug, Serialize)]
struct SmsMessage {
    phone: String,
    body: String,
    reference: String,
    created_at: i64,
}

/// The institutions' text messages, newest first (`?reference=`, `?phone=` filter).
pub(super) async fn admin_sms(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<SmsQuery>,
) -> Response {
    if !authorized(&state, &headers) {
        return error(StatusCode::UNAUTHORIZED, codes::UNAUTHORIZED, "bad token").into_response();
    }
    let rows = sqlx::query(
        "SELECT phone, body, reference, created_at FROM sms
         WHERE ($1 IS NULL OR reference = $1) AND ($2 IS NULL OR phone = $2)
         ORDER BY id DESC LIMIT 200",
    )
    .bind(&query.reference)
    .bind(&query.phone)
    .fetch_all(state.store.pool())
    .await;
    match rows {
        Ok(rows) => Json(serde_json::json!({
            "messages": rows
                .iter()
                .map(|row| SmsMessage {
                    phone: row.get("phone"),
                    body: row.get("body"),
                    reference: row.get("reference"),
                    created_at: row.get("created_at"),
                })
                .collect::<Vec<_>>()
        }))
        .into_response(),
        Err(e) => store_error(e).into_response(),
    }
}

/// Whether the institution has taken the money.
pub(super) fn is_processed(debit: &Debit) -> bool {
    match debit.status {
        DebitWireStatus::Processed => true,
        DebitWireStatus::AwaitingAuthorization | DebitWireStatus::Failed => false,
    }
}

/// Every debit as stored, with when it last changed (for the statement).
pub(super) async fn all_with_update_times(
    pool: &SqlitePool,
) -> Result<Vec<(Debit, i64)>, sqlx::Error> {
    let select = SELECT.replace(" FROM debits", ", updated_at FROM debits");
    let rows = sqlx::query(&format!("{select} ORDER BY created_at, reference"))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| Ok((from_row(row)?, row.try_get::<i64, _>("updated_at")?)))
        .collect()
}

/// Every debit, oldest first, as a status query would see it now (no OTPs).
pub(super) async fn admin_debits(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return error(StatusCode::UNAUTHORIZED, codes::UNAUTHORIZED, "bad token").into_response();
    }
    let rows = sqlx::query(&format!("{SELECT} ORDER BY created_at, reference"))
        .fetch_all(state.store.pool())
        .await;
    let now = super::now_ms();
    match rows.and_then(|rows| rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()) {
        Ok(debits) => Json(serde_json::json!({
            "debits": debits
                .iter()
                .map(|debit| {
                    let mut document = serde_json::to_value(settle(debit, now).document(None))
                        .unwrap_or_default();
                    document["amount"] = serde_json::json!(debit.request.amount);
                    document["account_number"] = serde_json::json!(debit.request.account_number);
                    document["institution"] = serde_json::json!(debit.request.institution);
                    document
                })
                .collect::<Vec<_>>()
        }))
        .into_response(),
        Err(e) => store_error(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KACHA: &str = "404050";
    const TELEBIRR: &str = "404010";

    fn request(institution: &str, account: &str) -> DebitRequestDocument {
        DebitRequestDocument {
            reference: "R1".into(),
            currency: "ETB".into(),
            institution: institution.into(),
            account_number: account.into(),
            amount: 10_000,
            reason: None,
        }
    }

    fn otp_debit(account: &str) -> Debit {
        decide_request(request(KACHA, account), 0, 1_000, "123456".into())
            .unwrap()
            .0
    }

    #[test]
    fn requests_follow_the_directory_and_magic_values() {
        let (debit, text) =
            decide_request(request(KACHA, "251911234567"), 0, 1_000, "654321".into()).unwrap();
        assert_eq!(debit.method, DebitMethod::Otp);
        assert!(text.contains("654321"), "{text}");
        assert_eq!(debit.status, DebitWireStatus::AwaitingAuthorization);
        let (push, _) =
            decide_request(request(TELEBIRR, "251911234567"), 0, 1_000, "1".into()).unwrap();
        assert_eq!(push.method, DebitMethod::Push);
        assert_eq!(push.otp, None);
        assert_eq!(push.approve_at, Some(1_000));
        let unknown = decide_request(request(KACHA, "251911234500"), 0, 0, "1".into());
        assert_eq!(unknown.unwrap_err().code, codes::UNKNOWN_ACCOUNT);
        let malformed = decide_request(request(KACHA, "12"), 0, 0, "1".into());
        assert_eq!(
            malformed.unwrap_err().status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }

    #[test]
    fn authorizations_check_the_otp_and_count_wrong_ones() {
        let debit = otp_debit("251911234567");
        match decide_authorize(&debit, "123456", 10) {
            Authorized::Settled(after) => assert_eq!(after.status, DebitWireStatus::Processed),
            other => panic!("{other:?}"),
        }
        let mut current = debit.clone();
        for left in (1..MAX_WRONG_OTPS).rev() {
            match decide_authorize(&current, "000000", 10) {
                Authorized::WrongOtp(after, remaining) => {
                    assert_eq!(remaining, left);
                    current = after;
                }
                other => panic!("{other:?}"),
            }
        }
        match decide_authorize(&current, "000000", 10) {
            Authorized::Settled(after) => {
                assert_eq!(after.failure, Some(DebitFailure::OtpAttemptsExceeded))
            }
            other => panic!("{other:?}"),
        }
        // Declined by the institution (…91), expired, and a repeat after the end.
        match decide_authorize(&otp_debit("251911234591"), "123456", 10) {
            Authorized::Settled(after) => assert_eq!(after.failure, Some(DebitFailure::Declined)),
            other => panic!("{other:?}"),
        }
        match decide_authorize(&debit, "123456", DEBIT_TTL_MS) {
            Authorized::Settled(after) => assert_eq!(after.failure, Some(DebitFailure::Expired)),
            other => panic!("{other:?}"),
        }
        let processed = debit.processed();
        assert_eq!(
            decide_authorize(&processed, "999999", 10),
            Authorized::Settled(processed)
        );
    }

    #[test]
    fn push_prompts_are_answered_after_the_delay() {
        let (push, _) =
            decide_request(request(TELEBIRR, "251911234567"), 0, 1_000, "1".into()).unwrap();
        assert_eq!(settle(&push, 999), push);
        assert_eq!(settle(&push, 1_000).status, DebitWireStatus::Processed);
        assert_eq!(decide_authorize(&push, "123456", 10), Authorized::NotOtp);
        let (declining, _) =
            decide_request(request(TELEBIRR, "251911234591"), 0, 1_000, "1".into()).unwrap();
        assert_eq!(
            settle(&declining, 1_000).failure,
            Some(DebitFailure::Declined)
        );
        assert_eq!(
            customer_phone(InstitutionKind::Wallet, "251911234567"),
            "+251911234567"
        );
        assert_eq!(customer_phone(InstitutionKind::Bank, "1000"), DEMO_PHONE);
    }
}
