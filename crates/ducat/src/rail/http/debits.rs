//! The `http` rail's direct debits (docs/bank-adapter.md): request, authorize, status query.
//!
//! A debit request and a status query are safe to repeat. An authorization is sent again only
//! where the transport says nothing arrived or the bank answered 5xx: the bank answers a repeat
//! for a debit it already settled with the settled document. An authorization whose answer did
//! not arrive is `Unknown`, settled only by a status query.

use super::{describe, error_document, Exchange, HttpRail};
use crate::rail::debits::{
    codes as debit_codes, outcome_of, AuthorizeDocument, DebitDocument, DebitMethod, DebitOutcome,
    DebitRequest, DebitRequestDocument, DebitRequestError,
};
use crate::rail::protocol::codes;
use reqwest::StatusCode;

impl HttpRail {
    pub(super) async fn request_debit(
        &self,
        debit: &DebitRequest,
    ) -> Result<DebitMethod, DebitRequestError> {
        let body = DebitRequestDocument {
            reference: debit.reference.clone(),
            currency: debit.currency.code().to_owned(),
            institution: debit.institution.clone(),
            account_number: debit.account_number.clone(),
            amount: debit.amount.get(),
            reason: debit.reason.clone(),
        };
        let url = self.url("/v1/debits");
        let exchange = self.call(|| self.client.post(&url).json(&body)).await;
        debit_request_result(exchange, &debit.account_number)
    }

    pub(super) async fn authorize_debit(&self, reference: &str, otp: &str) -> DebitOutcome {
        let body = AuthorizeDocument {
            otp: otp.to_owned(),
        };
        let url = self.url(&format!("/v1/debits/{reference}/authorize"));
        let exchange = self.call(|| self.client.post(&url).json(&body)).await;
        debit_outcome(exchange, false)
    }

    pub(super) async fn debit_status_query(&self, reference: &str) -> DebitOutcome {
        let url = self.url(&format!("/v1/debits/{reference}"));
        let exchange = self.call(|| self.client.get(&url)).await;
        debit_outcome(exchange, true)
    }
}

fn debit_request_result(
    exchange: Exchange,
    account_number: &str,
) -> Result<DebitMethod, DebitRequestError> {
    let (status, body) = match exchange {
        Exchange::NoAnswer(reason) => return Err(DebitRequestError::Unavailable(reason)),
        Exchange::Answered(status, body) => (status, body),
    };
    if status.is_success() {
        return serde_json::from_slice::<DebitDocument>(&body)
            .map(|document| document.method)
            .map_err(|e| {
                DebitRequestError::Unavailable(format!(
                    "the bank's answer is not a debit document: {e}"
                ))
            });
    }
    let code = error_document(&body).map(|d| d.error.code);
    match (status, code.as_deref()) {
        (_, Some(codes::UNKNOWN_ACCOUNT)) => {
            Err(DebitRequestError::UnknownAccount(account_number.to_owned()))
        }
        (StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY, _) => {
            Err(DebitRequestError::Refused(describe(status, &body)))
        }
        _ => Err(DebitRequestError::Unavailable(describe(status, &body))),
    }
}

/// What an exchange about an existing debit means. A 404 `unknown_debit` is "never seen" for a
/// status query; for an authorization it settles nothing.
fn debit_outcome(exchange: Exchange, status_query: bool) -> DebitOutcome {
    let (status, body) = match exchange {
        Exchange::NoAnswer(reason) => return DebitOutcome::Unknown { reason },
        Exchange::Answered(status, body) => (status, body),
    };
    if status.is_success() {
        return match serde_json::from_slice::<DebitDocument>(&body) {
            Ok(document) => outcome_of(&document),
            Err(e) => DebitOutcome::Unknown {
                reason: format!("the bank's answer is not a debit document: {e}"),
            },
        };
    }
    let code = error_document(&body).map(|d| d.error.code);
    match (status, code.as_deref()) {
        (StatusCode::NOT_FOUND, Some(debit_codes::UNKNOWN_DEBIT)) if status_query => {
            DebitOutcome::NotFound
        }
        // Anything else (401, 404 on authorize, 409, 5xx after the last try): do not guess.
        _ => DebitOutcome::Unknown {
            reason: describe(status, &body),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rail::debits::DebitFailure;
    use crate::rail::http::tests::answered;

    #[test]
    fn debit_requests_map_to_methods_or_errors() {
        let accepted = serde_json::json!({"reference": "R", "method": "push",
            "status": "awaiting_authorization", "created_at": 0});
        assert_eq!(
            debit_request_result(answered(200, accepted), "1"),
            Ok(DebitMethod::Push)
        );
        let unknown = serde_json::json!({"error": {"code": "unknown_account", "message": "x"}});
        assert_eq!(
            debit_request_result(answered(404, unknown), "1"),
            Err(DebitRequestError::UnknownAccount("1".into()))
        );
        let declined = serde_json::json!({"error": {"code": "declined", "message": "x"}});
        assert!(matches!(
            debit_request_result(answered(422, declined), "1"),
            Err(DebitRequestError::Refused(_))
        ));
        assert!(matches!(
            debit_request_result(answered(503, serde_json::json!({})), "1"),
            Err(DebitRequestError::Unavailable(_))
        ));
        assert!(matches!(
            debit_request_result(Exchange::NoAnswer("timeout".into()), "1"),
            Err(DebitRequestError::Unavailable(_))
        ));
    }

    #[test]
    fn debit_answers_map_to_outcomes() {
        let document = |status: &str| {
            serde_json::json!({"reference": "R", "method": "otp", "status": status,
                "failure": "declined", "reason": "no", "attempts_left": 2, "created_at": 0})
        };
        assert_eq!(
            debit_outcome(answered(200, document("processed")), false),
            DebitOutcome::Processed
        );
        assert_eq!(
            debit_outcome(answered(200, document("failed")), false),
            DebitOutcome::Failed {
                failure: DebitFailure::Declined,
                reason: "no".into()
            }
        );
        assert_eq!(
            debit_outcome(answered(200, document("awaiting_authorization")), false),
            DebitOutcome::Awaiting {
                attempts_left: Some(2)
            }
        );
        let never = serde_json::json!({"error": {"code": "unknown_debit", "message": "x"}});
        assert_eq!(
            debit_outcome(answered(404, never.clone()), true),
            DebitOutcome::NotFound
        );
        assert!(matches!(
            debit_outcome(answered(404, never), false),
            DebitOutcome::Unknown { .. }
        ));
        assert!(matches!(
            debit_outcome(answered(503, serde_json::json!({})), false),
            DebitOutcome::Unknown { .. }
        ));
        assert!(matches!(
            debit_outcome(Exchange::NoAnswer("dropped".into()), false),
            DebitOutcome::Unknown { .. }
        ));
    }
}
