//! The documents integrators parse, built in one place so an API answer and the webhook about
//! the same transaction can never disagree.

use crate::clock::iso_millis;
use crate::store::transactions::TransactionRecord;
use ducat_core::money::MinorUnits;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Duplo's documents carry a 24-hex-digit `_id` (a MongoDB object id); ducat derives a stable
/// one from the transaction reference.
pub fn duplo_object_id(seed: &str) -> String {
    hex::encode(Sha256::digest(seed.as_bytes()))[..24].to_owned()
}

fn major(record: &TransactionRecord, amount: MinorUnits) -> String {
    amount.to_major_string(record.currency)
}

fn party(
    bank_code: Option<&str>,
    bank_name: Option<&str>,
    number: Option<&str>,
    name: Option<&str>,
) -> Value {
    let mut party = json!({
        "bank_name": bank_name.unwrap_or_default(),
        "account_name": name.unwrap_or_default(),
        "account_number": number.unwrap_or_default(),
    });
    if let Some(code) = bank_code {
        party["bank_code"] = json!(code);
    }
    party
}

/// A transaction as Duplo presents it: amounts and balances as decimal strings, dates in ISO
/// 8601 with milliseconds, as in the verify-transaction document of the specification.
pub fn duplo_transaction(record: &TransactionRecord) -> Value {
    let source = &record.source;
    let receiver = &record.receiver;
    json!({
        "_id": duplo_object_id(record.transaction_ref.as_str()),
        "transaction_ref": record.transaction_ref.as_str(),
        "business_id": record.business_id.as_str(),
        "wallet_ref": record.wallet_ref.as_str(),
        "currency": record.currency.code(),
        "type": record.direction,
        "channel": record.channel,
        "category": record.category,
        "status": record.status,
        "amount": major(record, record.amount),
        "fee_amount": major(record, record.fee_amount),
        "settled_amount": major(record, record.settled_amount),
        "new_balance": record.new_balance.map(|balance| major(record, balance)),
        "description": record.description,
        "external_transaction_id": record.external_transaction_id,
        "session_id": record.session_id,
        "provider_ref_id": record.provider_ref_id,
        "account_number": record.account_number,
        "source_details": party(source.bank_code.as_deref(), source.bank_name.as_deref(), source.account_number.as_deref(), source.account_name.as_deref()),
        "receiver_details": party(receiver.bank_code.as_deref(), receiver.bank_name.as_deref(), receiver.account_number.as_deref(), receiver.account_name.as_deref()),
        "date": iso_millis(record.created_at),
        "created_at": iso_millis(record.created_at),
        "updated_at": iso_millis(record.updated_at),
        "__v": 0,
    })
}

/// The body of a Duplo webhook: the documented envelope around the event.
pub fn duplo_event_body(event_type: &str, event: Value) -> Value {
    json!({
        "data": { "event": event, "event_type": event_type },
        "message": "A new event just occurred on your account",
    })
}

fn three_fields(party: &crate::store::transactions::Party) -> Value {
    json!({
        "bank_name": party.bank_name.as_deref().unwrap_or_default(),
        "account_name": party.account_name.as_deref().unwrap_or_default(),
        "account_number": party.account_number.as_deref().unwrap_or_default(),
    })
}

/// The paid checkout's transaction exactly as Duplo's verify-transaction document has it:
/// the same keys, the same JSON types (amounts and balances as strings, `__v` a number).
pub fn duplo_checkout_transaction(record: &TransactionRecord) -> Value {
    let account_ref = record.account_ref.as_deref().unwrap_or_default();
    json!({
        "source_details": three_fields(&record.source),
        "receiver_details": three_fields(&record.receiver),
        "_id": duplo_object_id(record.transaction_ref.as_str()),
        "currency": record.currency.code(),
        "created_at": iso_millis(record.created_at),
        "updated_at": iso_millis(record.updated_at),
        "new_balance": major(record, record.new_balance.unwrap_or_default()),
        "account_number": record.account_number.as_deref().unwrap_or_default(),
        "session_id": record.session_id.as_deref().unwrap_or_default(),
        "provider_ref_id": record.provider_ref_id.as_deref().unwrap_or_default(),
        "type": record.direction,
        "channel": record.channel,
        "description": record.description,
        "business_id": record.business_id.as_str(),
        "account": duplo_object_id(account_ref),
        "account_ref": account_ref,
        "wallet_ref": record.wallet_ref.as_str(),
        "status": record.status,
        "transaction_ref": record.transaction_ref.as_str(),
        "fee_amount": major(record, record.fee_amount),
        "settled_amount": major(record, record.settled_amount),
        "amount": major(record, record.amount),
        "date": iso_millis(record.created_at),
        "category": record.category,
        "multiple_source_details": [],
        "__v": 0,
    })
}

/// The `event` of an `ACCOUNT_INFLOW` webhook, with the fields Duplo documents.
pub fn duplo_inflow_event(record: &TransactionRecord, metadata: &Value) -> Value {
    json!({
        "currency": record.currency.code(),
        "new_balance": record.new_balance.map(|balance| major(record, balance)),
        "account_number": record.account_number,
        "session_id": record.session_id,
        "provider_ref_id": record.provider_ref_id,
        "type": record.direction,
        "channel": record.channel,
        "description": record.description,
        "business_id": record.business_id.as_str(),
        "account_ref": record.account_ref,
        "wallet_ref": record.wallet_ref.as_str(),
        "status": record.status,
        "transaction_ref": record.transaction_ref.as_str(),
        "fee_amount": major(record, record.fee_amount),
        "settled_amount": major(record, record.settled_amount),
        "amount": major(record, record.amount),
        "source_details": three_fields(&record.source),
        "receiver_details": three_fields(&record.receiver),
        "date": iso_millis(record.created_at),
        "category": record.category,
        "metadata": metadata,
    })
}

/// A JSON number for an amount in major units: exact for every amount ducat accepts
/// (well below 2^53 minor units), printed in its shortest form (`1200`, `1200.5`).
pub fn major_number(
    amount: MinorUnits,
    currency: ducat_core::money::Currency,
) -> serde_json::Number {
    let text = amount.to_major_string(currency);
    text.parse::<i64>()
        .map(serde_json::Number::from)
        .ok()
        .or_else(|| {
            text.parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
        })
        .unwrap_or_else(|| serde_json::Number::from(0))
}

/// A direct payment exactly as Beqelal's authorize answer documents it.
pub fn beqelal_payment(
    payment: &crate::store::direct_payments::DirectPaymentRecord,
    business: &crate::store::businesses::BusinessRecord,
) -> Value {
    use ducat_core::direct_payment::DirectPaymentStatus;
    let (status_code, message, detail) = match payment.payment.status {
        DirectPaymentStatus::Processed => (
            200,
            "SUCCESS",
            "Operation Completed Successfully".to_owned(),
        ),
        DirectPaymentStatus::Failed => (
            400,
            "FAILED",
            format!(
                "The transaction failed: {}.",
                payment
                    .failure_reason
                    .as_deref()
                    .unwrap_or("the institution declined the payment")
            ),
        ),
        DirectPaymentStatus::AwaitingAuthorization => (
            202,
            "PENDING",
            "Awaiting authorization by the customer".to_owned(),
        ),
    };
    let digits = |phone: &str| phone.trim_start_matches('+').to_owned();
    json!({
        "id": payment.reference,
        "bank_name": payment.institution_name,
        "merchant": business.name,
        "merchant_phone": business.otp_phone.as_deref().map(digits).unwrap_or_default(),
        "phone": digits(&payment.customer_phone),
        "account_no": payment.account,
        "amount": major_number(payment.amount, payment.currency),
        "fee": major_number(payment.fee, payment.currency),
        "total_amount": major_number(payment.amount, payment.currency),
        "process": "Direct Payment(API)",
        "description": payment.reason.as_deref().unwrap_or("Direct Payment(API)"),
        "updated_at": crate::clock::iso_micros_naive(payment.updated_at),
        "status": payment.payment.status.as_str(),
        "status_code": status_code,
        "message": message,
        "detail": detail,
    })
}

/// A withdrawal as Beqelal's withdraw answer and webhook carry it.
pub fn beqelal_withdrawal(withdrawal: &crate::services::withdrawals::Withdrawal) -> Value {
    let record = &withdrawal.record;
    let currency = record.currency;
    let (fee, vat, levy) = withdrawal.fee_parts();
    let status = withdrawal.status();
    let (status_code, message, detail) = match status {
        "PROCESSED" => (200, "SUCCESS", "Operation Completed Successfully"),
        "FAILED" => (
            400,
            "FAILED",
            "The receiving institution declined the transfer; the wallet was refunded.",
        ),
        _ => (
            202,
            "PENDING",
            "The institution has not confirmed the transfer yet; the result follows by webhook.",
        ),
    };
    json!({
        "reference_id": record.transaction_ref.as_str(),
        "trace_number": withdrawal.details.trace_number,
        "recipient_name": record.receiver.account_name,
        "account": record.receiver.account_number,
        "institution": record.receiver.bank_name,
        "institution_id": record.receiver.bank_code,
        "amount": major_number(record.amount, currency),
        "fee": major_number(fee, currency),
        "vat": major_number(vat, currency),
        "levy": major_number(levy, currency),
        "total_fee": major_number(record.fee_amount, currency),
        "total_amount": major_number(MinorUnits(record.amount.get() + record.fee_amount.get()), currency),
        "balance": record.new_balance.map(|b| major_number(b, currency)),
        "reason": record.description,
        "status": status,
        "status_code": status_code,
        "message": message,
        "detail": detail,
        "created_at": crate::clock::iso_micros_naive(record.created_at),
        "updated_at": crate::clock::iso_micros_naive(record.updated_at),
    })
}
