//! Money in at the bank-sim: accounts it opens for ducat (`POST /v1/accounts`), customers
//! sending money to them (`POST /admin/inflows`), and the signed notifications it delivers to
//! ducat (`--notify-url`), retried with backoff until ducat answers 2xx.
//!
//! Faults per inflow: `duplicate` (the notification is delivered once more after ducat
//! acknowledged it) and `out_of_order` (held back until a later inflow's notification has been
//! acknowledged). "ducat down" needs no fault here: the sender keeps retrying until ducat
//! answers, and the backlog drains.

use super::{admit, authorized, currency, error, internal, json_body, Refusal, Shared};
use crate::rail::notifications::{
    self, AccountAnswer, AccountKind, AccountRequest, InflowNotification, INFLOWS_PATH,
    SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use crate::rail::protocol::codes;
use crate::rail::sandbox;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ducat_core::banks;
use rand::rngs::OsRng;
use serde::Deserialize;
use sqlx::{Row, SqlitePool};
use std::time::Duration;

/// Where and how notifications go.
#[derive(Debug, Clone, Default)]
pub struct NotifyConfig {
    /// ducat's base URL; notifications go to `{url}/bank/v1/notifications/inflows`. Unset:
    /// inflows are recorded and never delivered.
    pub url: Option<String>,
    pub secret: String,
    /// The wait after the first failed delivery; doubled each time, at most `backoff_cap`.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
}

/// One notification's delivery state: the pure part of the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub seq: i64,
    pub duplicate: bool,
    pub out_of_order: bool,
    pub attempts: u32,
    pub deliveries: u32,
    pub next_attempt_at: i64,
    pub created_at: i64,
}

/// How long a held-back notification waits for a later one before it goes anyway.
pub const HOLD_BACK_LIMIT_MS: i64 = 30_000;

impl Delivery {
    /// Whether ducat still has to acknowledge (once more, for a duplicate) this notification.
    pub fn wants_delivery(&self) -> bool {
        let wanted = if self.duplicate { 2 } else { 1 };
        self.deliveries < wanted
    }

    /// The state after one try at `now_ms`: acknowledged (2xx) or not.
    pub fn after_attempt(
        self,
        acknowledged: bool,
        now_ms: i64,
        base: Duration,
        cap: Duration,
    ) -> Delivery {
        let attempts = self.attempts.saturating_add(1);
        let deliveries = self.deliveries + u32::from(acknowledged);
        let failures = attempts - deliveries;
        let wait = match acknowledged {
            true => Duration::ZERO,
            false => notifications::delivery_delay(failures, base, cap),
        };
        Delivery {
            attempts,
            deliveries,
            next_attempt_at: now_ms
                .saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX)),
            ..self
        }
    }
}

/// The notifications to try now, oldest first: due, still wanted, and not held back (a held
/// notification goes once a later one was acknowledged, or after `HOLD_BACK_LIMIT_MS`).
pub fn due(all: &[Delivery], now_ms: i64) -> Vec<i64> {
    all.iter()
        .filter(|d| d.wants_delivery() && d.next_attempt_at <= now_ms)
        .filter(|d| {
            !d.out_of_order
                || now_ms >= d.created_at.saturating_add(HOLD_BACK_LIMIT_MS)
                || all
                    .iter()
                    .any(|later| later.seq > d.seq && later.deliveries > 0)
        })
        .map(|d| d.seq)
        .collect()
}

fn now_ms() -> i64 {
    super::now_ms()
}

// ---- POST /v1/accounts ----

pub(super) async fn open_account(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let failure = match admit(&state, &headers).await {
        Ok(failure) => failure,
        Err(refusal) => return refusal.into_response(),
    };
    let answer = open(state.store.pool(), &body).await;
    super::after_apply(failure).await;
    match answer {
        Ok(answer) => Json(answer).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn open(pool: &SqlitePool, body: &[u8]) -> Result<AccountAnswer, Refusal> {
    let request: AccountRequest = json_body(body)?;
    let currency = currency(&request.currency)?;
    if request.reference.is_empty() || request.reference.len() > 64 {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::INVALID_REQUEST,
            "reference must be 1 to 64 characters",
        ));
    }
    let bank = banks::house_bank(currency);
    for _ in 0..16 {
        let candidate = banks::generate_account_number(bank, &mut OsRng);
        let inserted = sqlx::query(
            "INSERT INTO accounts (account_number, reference, currency, bank_code, bank_name, account_name, kind, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(&candidate)
        .bind(&request.reference)
        .bind(currency.code())
        .bind(bank.code)
        .bind(bank.name)
        .bind(&request.account_name)
        .bind(request.kind.as_str())
        .bind(now_ms())
        .execute(pool)
        .await
        .map_err(|e| internal(e.into()))?
        .rows_affected()
            == 1;
        let stored = sqlx::query(
            "SELECT account_number, currency, bank_code, bank_name, kind FROM accounts WHERE reference = $1",
        )
        .bind(&request.reference)
        .fetch_optional(pool)
        .await
        .map_err(|e| internal(e.into()))?;
        let Some(row) = stored else {
            // The number was taken by another reference: draw again.
            continue;
        };
        let same = row.get::<String, _>("currency") == currency.code()
            && AccountKind::parse(&row.get::<String, _>("kind")) == Some(request.kind);
        if !same {
            return Err(error(
                StatusCode::CONFLICT,
                codes::REFERENCE_CONFLICT,
                format!(
                    "reference {} was used for another account",
                    request.reference
                ),
            ));
        }
        if inserted {
            tracing::info!(reference = %request.reference, "bank-sim opened an account");
        }
        return Ok(AccountAnswer {
            account_number: row.get("account_number"),
            bank_code: row.get("bank_code"),
            bank_name: row.get("bank_name"),
        });
    }
    Err(error(
        StatusCode::SERVICE_UNAVAILABLE,
        codes::UNAVAILABLE,
        "could not allocate an account number",
    ))
}

// ---- POST /admin/inflows, GET /admin/inflows ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewInflow {
    account_number: String,
    /// Minor units.
    amount: i64,
    currency: String,
    #[serde(default)]
    source_bank_code: Option<String>,
    #[serde(default)]
    source_account_number: Option<String>,
    #[serde(default)]
    source_account_name: Option<String>,
    #[serde(default)]
    narration: Option<String>,
    /// Deliver the notification once more after ducat acknowledged it.
    #[serde(default)]
    duplicate: bool,
    /// Hold the notification back until a later inflow's was acknowledged.
    #[serde(default)]
    out_of_order: bool,
}

/// "A customer sends money": records the inflow with a fresh session id and queues its
/// notification.
pub(super) async fn admin_create(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&state, &headers) {
        return error(StatusCode::UNAUTHORIZED, codes::UNAUTHORIZED, "bad token").into_response();
    }
    match create(state.store.pool(), &body).await {
        Ok(notification) => Json(notification).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn create(pool: &SqlitePool, body: &[u8]) -> Result<InflowNotification, Refusal> {
    let new: NewInflow = json_body(body)?;
    let currency = currency(&new.currency)?;
    if new.amount <= 0 || new.account_number.is_empty() {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::INVALID_REQUEST,
            "an inflow needs an account number and a positive amount in minor units",
        ));
    }
    let now = now_ms();
    let notification = InflowNotification {
        session_id: sandbox::nip_session_id(now),
        account_number: new.account_number,
        amount: new.amount,
        currency: currency.code().to_owned(),
        source_bank_code: new.source_bank_code,
        source_account_number: new.source_account_number,
        source_account_name: new.source_account_name,
        narration: new.narration,
        created_at: now,
    };
    let text = serde_json::to_string(&notification).map_err(|e| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::INTERNAL,
            e.to_string(),
        )
    })?;
    sqlx::query(
        "INSERT INTO inflows (session_id, body, duplicate, out_of_order, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&notification.session_id)
    .bind(&text)
    .bind(new.duplicate)
    .bind(new.out_of_order)
    .bind(now)
    .bind(now)
    .execute(pool)
    .await
    .map_err(|e| internal(e.into()))?;
    Ok(notification)
}

pub(super) async fn admin_list(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return error(StatusCode::UNAUTHORIZED, codes::UNAUTHORIZED, "bad token").into_response();
    }
    let rows = sqlx::query(
        "SELECT session_id, body, duplicate, out_of_order, attempts, deliveries, acknowledged_at,
                ack_rank, last_status, last_answer, created_at FROM inflows ORDER BY seq",
    )
    .fetch_all(state.store.pool())
    .await;
    match rows {
        Ok(rows) => {
            let inflows: Vec<serde_json::Value> = rows
                .iter()
                .map(|row| {
                    let body: serde_json::Value =
                        serde_json::from_str(&row.get::<String, _>("body")).unwrap_or_default();
                    serde_json::json!({
                        "notification": body,
                        "session_id": row.get::<String, _>("session_id"),
                        "duplicate": row.get::<bool, _>("duplicate"),
                        "out_of_order": row.get::<bool, _>("out_of_order"),
                        "attempts": row.get::<i64, _>("attempts"),
                        "deliveries": row.get::<i64, _>("deliveries"),
                        "acknowledged": row.get::<Option<i64>, _>("acknowledged_at").is_some(),
                        "acknowledged_at": row.get::<Option<i64>, _>("acknowledged_at"),
                        "ack_rank": row.get::<Option<i64>, _>("ack_rank"),
                        "last_status": row.get::<Option<i64>, _>("last_status"),
                        "last_answer": row.get::<Option<String>, _>("last_answer"),
                        "created_at": row.get::<i64, _>("created_at"),
                    })
                })
                .collect();
            Json(serde_json::json!({ "inflows": inflows })).into_response()
        }
        Err(e) => internal(e.into()).into_response(),
    }
}

// ---- the sender ----

/// Delivers queued notifications until the process ends; nothing while the bank is down
/// (`down_until`), the backlog afterwards.
pub fn spawn_sender(
    pool: SqlitePool,
    config: NotifyConfig,
    down_until: std::sync::Arc<std::sync::Mutex<Option<std::time::Instant>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some(url) = config.url.clone() else {
            return;
        };
        let url = format!("{}{INFLOWS_PATH}", url.trim_end_matches('/'));
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
        {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "bank-sim cannot build its notification client");
                return;
            }
        };
        loop {
            if super::is_down(&down_until) {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            if let Err(e) = deliver_due(&pool, &client, &url, &config).await {
                tracing::error!(error = %e, "bank-sim notification sender");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

async fn deliver_due(
    pool: &SqlitePool,
    client: &reqwest::Client,
    url: &str,
    config: &NotifyConfig,
) -> Result<(), sqlx::Error> {
    let rows = sqlx::query(
        "SELECT seq, duplicate, out_of_order, attempts, deliveries, next_attempt_at, created_at
         FROM inflows ORDER BY seq",
    )
    .fetch_all(pool)
    .await?;
    let all: Vec<Delivery> = rows
        .iter()
        .map(|row| Delivery {
            seq: row.get("seq"),
            duplicate: row.get("duplicate"),
            out_of_order: row.get("out_of_order"),
            attempts: u32::try_from(row.get::<i64, _>("attempts")).unwrap_or(u32::MAX),
            deliveries: u32::try_from(row.get::<i64, _>("deliveries")).unwrap_or(u32::MAX),
            next_attempt_at: row.get("next_attempt_at"),
            created_at: row.get("created_at"),
        })
        .collect();
    for seq in due(&all, now_ms()) {
        let Some(delivery) = all.iter().find(|d| d.seq == seq).copied() else {
            continue;
        };
        let body: String = sqlx::query_scalar("SELECT body FROM inflows WHERE seq = $1")
            .bind(seq)
            .fetch_one(pool)
            .await?;
        let timestamp = now_ms().div_euclid(1000);
        let signature = notifications::sign(&config.secret, timestamp, body.as_bytes());
        let sent = client
            .post(url)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        let (status, answer) = match sent {
            Ok(response) => {
                let status = response.status();
                (Some(status), response.text().await.unwrap_or_default())
            }
            Err(e) => (None, format!("no answer: {e}")),
        };
        let acknowledged = status.is_some_and(|s| s.is_success());
        // ducat refused the money: the bank sends it back to the sender (once).
        let returned = acknowledged
            && serde_json::from_str::<notifications::InflowAck>(&answer)
                .is_ok_and(|ack| ack.status == notifications::InflowStatus::Returned);
        let next = delivery.after_attempt(
            acknowledged,
            now_ms(),
            config.backoff_base,
            config.backoff_cap,
        );
        sqlx::query(
            "UPDATE inflows SET attempts = $1, deliveries = $2, next_attempt_at = $3,
                 last_status = $4, last_answer = $5,
                 acknowledged_at = CASE WHEN $6 AND acknowledged_at IS NULL THEN $7 ELSE acknowledged_at END,
                 ack_rank = CASE WHEN $6 AND ack_rank IS NULL
                     THEN (SELECT COALESCE(MAX(ack_rank), 0) + 1 FROM inflows) ELSE ack_rank END,
                 returned_at = CASE WHEN $9 AND returned_at IS NULL THEN $7 ELSE returned_at END
             WHERE seq = $8",
        )
        .bind(i64::from(next.attempts))
        .bind(i64::from(next.deliveries))
        .bind(next.next_attempt_at)
        .bind(status.map(|s| i64::from(s.as_u16())))
        .bind(answer)
        .bind(acknowledged)
        .bind(now_ms())
        .bind(seq)
        .bind(returned)
        .execute(pool)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(seq: i64) -> Delivery {
        Delivery {
            seq,
            duplicate: false,
            out_of_order: false,
            attempts: 0,
            deliveries: 0,
            next_attempt_at: 0,
            created_at: 0,
        }
    }

    const BASE: Duration = Duration::from_millis(100);
    const CAP: Duration = Duration::from_secs(1);

    #[test]
    fn a_notification_is_retried_with_backoff_until_acknowledged() {
        let d = delivery(1);
        assert!(d.wants_delivery());
        let d = d.after_attempt(false, 1_000, BASE, CAP);
        assert_eq!((d.attempts, d.next_attempt_at), (1, 1_100));
        assert_eq!(due(&[d], 1_050), Vec::<i64>::new());
        assert_eq!(due(&[d], 1_100), vec![1]);
        let d = d.after_attempt(false, 1_100, BASE, CAP);
        assert_eq!(d.next_attempt_at, 1_300);
        let d = d.after_attempt(true, 1_300, BASE, CAP);
        assert!(!d.wants_delivery());
        assert_eq!(due(&[d], 10_000), Vec::<i64>::new());
    }

    #[test]
    fn a_duplicate_is_delivered_twice() {
        let d = Delivery {
            duplicate: true,
            ..delivery(1)
        };
        let d = d.after_attempt(true, 0, BASE, CAP);
        assert!(d.wants_delivery());
        assert_eq!(due(&[d], 0), vec![1]);
        // A failure between the two deliveries backs off from the first failure.
        let d = d.after_attempt(false, 0, BASE, CAP);
        assert_eq!(d.next_attempt_at, 100);
        let d = d.after_attempt(true, 100, BASE, CAP);
        assert!(!d.wants_delivery());
    }

    #[test]
    fn an_out_of_order_notification_waits_for_a_later_one() {
        let held = Delivery {
            out_of_order: true,
            ..delivery(1)
        };
        let later = delivery(2);
        assert_eq!(due(&[held, later], 0), vec![2]);
        let later = later.after_attempt(true, 0, BASE, CAP);
        assert_eq!(due(&[held, later], 0), vec![1]);
        // Alone, it goes after the hold-back limit.
        assert_eq!(due(&[held], HOLD_BACK_LIMIT_MS - 1), Vec::<i64>::new());
        assert_eq!(due(&[held], HOLD_BACK_LIMIT_MS), vec![1]);
    }
}
