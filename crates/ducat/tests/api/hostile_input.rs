//! Hostile input on both faces: absurdly nested JSON, invalid UTF-8, oversized and mistyped
//! bodies, impossible amounts, SQL injection, header injection and Unicode edge cases. Every
//! refusal is a 4xx (never a 5xx) in the face's own error shape, and a refused request changes
//! nothing: balances, the transaction list, the known references and every table's row count
//! are compared after each request.
//!
//! Requests go over a raw TCP connection so that bytes reqwest refuses to send (CR LF and
//! control characters in header values, invalid UTF-8 in the path, duplicate credentials)
//! reach the server exactly as written. bad_input.rs already covers, for the Duplo face, the
//! oversized body and the form-encoded content type; those are sent here on the Beqelal face
//! only.

use crate::both_engines;
use crate::helpers::{spawn_app, Engine, TestApp, TestBusiness};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

both_engines!(hostile_requests_are_refused_in_the_face_shape_and_change_nothing);

const PAYOUT_PHONE: &str = "+2348031234567";
const KACHA: u64 = 404050;
const WALLET_ACCOUNT: &str = "251911234567";
const CBE: &str = "100001";
const CBE_ACCOUNT: &str = "1000123456789";

const SQL_INJECTIONS: [&str; 3] = [
    "' OR 1=1 --",
    "\"; DROP TABLE transactions; --",
    "%' UNION SELECT secret_key_hash, NULL FROM api_credentials --",
];

const UNICODE: [(&str, &str); 4] = [
    ("RTL override U+202E", "Ada \u{202E}gnp.exe\u{202C} Obi"),
    (
        "zero-width joiner",
        "Ada\u{200D}Obi \u{1F468}\u{200D}\u{1F469}",
    ),
    ("4-byte emoji", "Jollof \u{1F35B}\u{1F1F3}\u{1F1EC}"),
    ("NUL", "Ada\u{0000}Obi"),
];

/// The tables whose row counts a refused request must leave alone. Idempotency keys (a refused
/// answer may be remembered) and the audit log are deliberately not among them.
const TABLES: [&str; 18] = [
    "businesses",
    "api_credentials",
    "wallets",
    "ledger_accounts",
    "journal_entries",
    "postings",
    "transactions",
    "sms_messages",
    "payouts",
    "events",
    "sandbox_transfers",
    "checkouts",
    "virtual_accounts",
    "inbound_transfers",
    "direct_payments",
    "payment_links",
    "webhook_deliveries",
    "bank_debits",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Face {
    Duplo,
    Beqelal,
}

/// What an answer may be.
#[derive(Debug, Clone)]
enum Expect {
    /// A 4xx in the face's error shape, and nothing changed.
    Refused,
    /// Free text (names, narrations, references the caller chooses): a 2xx that, when `echo`
    /// is set, carries the exact string back escaped; or a refusal as above.
    AcceptedOrRefused { echo: Option<String> },
    /// Bytes HTTP/1.1 itself forbids (control characters or a bare CR in a header value, raw
    /// non-ASCII in the request line): the HTTP parser answers 400 with no body before any
    /// route runs, so no face can be chosen. A 400 with an empty body, or the face's shape,
    /// and nothing changed.
    RefusedByHttpParser,
}

/// One hostile request, as a row of the table.
struct Case {
    label: String,
    face: Face,
    request: Vec<u8>,
    expect: Expect,
}

/// A mutating endpoint with a valid body; each hostile case differs from it in one way.
struct Endpoint {
    face: Face,
    path: &'static str,
    /// The valid body; `fresh` fields are filled in per request.
    base: Value,
    /// Identifier fields: anything hostile in them must be refused.
    ids: &'static [&'static str],
    /// Free-text fields, and whether the success answer echoes them.
    texts: &'static [(&'static str, bool)],
    amount: Option<&'static str>,
    /// A field that must be unique per request (Beqelal's trace_number).
    fresh: Option<&'static str>,
    /// Amount classes bad_input.rs already covers on this endpoint are skipped.
    amounts_covered: bool,
    /// bad_input.rs already covers the oversized body and the form content type on this face.
    size_and_form_covered: bool,
}

struct Raw {
    status: u16,
    head: String,
    body: Vec<u8>,
    json: Value,
}

fn host_port(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

/// An HTTP/1.1 request written byte for byte.
fn http(
    method: &str,
    target: &[u8],
    headers: &[(String, Vec<u8>)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target);
    out.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    if let Some(body) = body {
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        out.extend_from_slice(body);
    } else {
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        data = &data[end + 2..];
        if size == 0 || data.len() < size {
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
    out
}

async fn send(address: &str, request: &[u8]) -> Result<Raw, String> {
    let mut stream = TcpStream::connect(address)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    // The server may answer before reading everything and close; the answer still counts.
    let _ = stream.write_all(request).await;
    let _ = stream.flush().await;
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) => return Ok(()),
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                Err(e) if buffer.is_empty() => return Err(format!("read: {e}")),
                Err(_) => return Ok(()),
            }
        }
    })
    .await;
    match read {
        Err(_) => return Err("no answer within 30 s".to_owned()),
        Ok(Err(e)) => return Err(e),
        Ok(Ok(())) => {}
    }
    let split = buffer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no complete answer: {:?}", String::from_utf8_lossy(&buffer)))?;
    let head = String::from_utf8_lossy(&buffer[..split]).into_owned();
    let mut body = buffer[split + 4..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line in {head:?}"))?;
    let lower = head.to_ascii_lowercase();
    if lower.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    } else if let Some(length) = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        body.truncate(length);
    }
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok(Raw {
        status,
        head,
        body,
        json,
    })
}

/// `None` when the answer is a refusal in the face's exact error shape, else what is wrong.
fn refusal_problem(face: Face, answer: &Raw) -> Option<String> {
    if !(400..500).contains(&answer.status) {
        return Some(format!("status {} is not a 4xx", answer.status));
    }
    let Some(object) = answer.json.as_object() else {
        return Some("the body is not a JSON object".to_owned());
    };
    let ok = match face {
        Face::Duplo => {
            object.len() == 3
                && object.get("data").is_some_and(Value::is_null)
                && object.get("errors").is_some_and(Value::is_object)
                && object
                    .get("message")
                    .and_then(Value::as_str)
                    .is_some_and(|m| !m.is_empty())
        }
        Face::Beqelal => {
            let envelope = object.len() == 1
                && object.get("error").is_some_and(|error| {
                    error.as_object().is_some_and(|e| e.len() == 4)
                        && error["status"] == "FAILED"
                        && error["status_code"].as_str().is_some_and(|c| !c.is_empty())
                        && error["message"].as_str().is_some_and(|m| !m.is_empty())
                        && error["detail"].as_str().is_some_and(|d| !d.is_empty())
                });
            // Beqelal's field errors: {"field": ["field message"]}, 400 only.
            let field_map = answer.status == 400
                && !object.is_empty()
                && !object.contains_key("error")
                && object.values().all(|messages| {
                    messages.as_array().is_some_and(|list| {
                        !list.is_empty()
                            && list
                                .iter()
                                .all(|m| m.as_str().is_some_and(|m| !m.is_empty()))
                    })
                });
            envelope || field_map
        }
    };
    (!ok).then(|| format!("the body is not the {face:?} error shape"))
}

fn contains_string(value: &Value, wanted: &str) -> bool {
    match value {
        Value::String(s) => s == wanted,
        Value::Array(items) => items.iter().any(|v| contains_string(v, wanted)),
        Value::Object(map) => map.values().any(|v| contains_string(v, wanted)),
        _ => false,
    }
}

/// Everything a refused request must leave as it was.
async fn snapshot(app: &TestApp, business: &TestBusiness, known: &Known) -> Value {
    let duplo = |path: String| async move {
        let answer = app.get(&path, &business.duplo()).await;
        json!([answer.status.as_u16(), answer.body])
    };
    let beqelal = |path: String| async move {
        let answer = app.get(&path, &business.beqelal()).await;
        json!([answer.status.as_u16(), answer.body])
    };
    let id = &business.id;
    let mut rows = serde_json::Map::new();
    for table in TABLES {
        let count: Result<i64, _> = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(app.services.store.reader())
            .await;
        rows.insert(
            table.to_owned(),
            match count {
                Ok(n) => json!(n),
                Err(e) => json!(format!("the table cannot be read: {e}")),
            },
        );
    }
    json!({
        "ngn": duplo(format!("/v1/wallets/balance/{}?business_id={id}", business.ngn_wallet)).await,
        "etb": duplo(format!("/v1/wallets/balance/{}?business_id={id}", business.etb_wallet)).await,
        "transactions": duplo(format!("/v1/wallets/transactions?business_id={id}&limit=200")).await,
        "payout": duplo(format!("/v1/wallets/transactions/{}?business_id={id}", known.payout_ref)).await,
        "checkout": duplo(format!("/v1/checkout/{}?business_id={id}", known.checkout_ref)).await,
        "payment": beqelal(format!("/api/v1/payment/{}", known.payment_ref)).await,
        "withdrawal": beqelal(format!("/api/v1/withdraw/{}", known.withdrawal_ref)).await,
        "rows": rows,
    })
}

/// The references the hostile requests aim at, made by valid requests first.
struct Known {
    funding_ref: String,
    payout_ref: String,
    payout_otp: String,
    checkout_ref: String,
    payment_ref: String,
    payment_otp: u32,
    withdrawal_ref: String,
}

async fn make_known(app: &TestApp, business: &TestBusiness) -> Known {
    let funded = app.fund(business, &business.ngn_account, "50000").await;
    app.fund(business, &business.etb_account, "10000").await;
    let funding_ref = funded.body["data"]["transaction_ref"]
        .as_str()
        .expect("a funding reference")
        .to_owned();
    let payout = app
        .post(
            "/v1/wallets/v2/transfer",
            &business.duplo(),
            json!({
                "business_id": business.id,
                "recipient_bank_code": "058",
                "recipient_account_number": "0123456789",
                "amount": "1000",
                "description": "Supplier payment",
            }),
        )
        .await;
    assert_eq!(payout.status.as_u16(), 200, "{}", payout.text);
    let payout_ref = payout.body["data"]["transaction_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let payout_otp = app.latest_otp(business, PAYOUT_PHONE).await;
    let checkout = app
        .post(
            "/v1/checkout/",
            &business.duplo(),
            json!({ "business_id": business.id, "amount": "1500" }),
        )
        .await;
    assert_eq!(checkout.status.as_u16(), 200, "{}", checkout.text);
    let checkout_ref = checkout.body["data"]["checkout_reference"]
        .as_str()
        .or_else(|| checkout.body["data"]["reference"].as_str())
        .unwrap_or_else(|| panic!("a checkout reference: {}", checkout.text))
        .to_owned();
    let payment = app
        .post(
            "/api/v1/payment/request",
            &business.beqelal(),
            json!({ "bank": KACHA, "account": WALLET_ACCOUNT, "amount": 100, "trace_number": "KNOWN-1" }),
        )
        .await;
    assert_eq!(payment.status.as_u16(), 200, "{}", payment.text);
    let payment_ref = payment.body["id"].as_str().unwrap().to_owned();
    let payment_otp = app
        .latest_otp(business, &format!("+{WALLET_ACCOUNT}"))
        .await
        .parse()
        .unwrap();
    let withdrawal = app
        .post(
            "/api/v1/withdraw/execute",
            &business.beqelal(),
            json!({ "bank": CBE, "account": CBE_ACCOUNT, "amount": 100, "trace_number": "KNOWN-W1", "reason": "Payroll" }),
        )
        .await;
    assert_eq!(withdrawal.status.as_u16(), 200, "{}", withdrawal.text);
    let withdrawal_ref = withdrawal.body["reference_id"].as_str().unwrap().to_owned();
    Known {
        funding_ref,
        payout_ref,
        payout_otp,
        checkout_ref,
        payment_ref,
        payment_otp,
        withdrawal_ref,
    }
}

fn endpoints(business: &TestBusiness, known: &Known) -> Vec<Endpoint> {
    vec![
        Endpoint {
            face: Face::Duplo,
            path: "/v1/wallets/v2/transfer",
            base: json!({
                "business_id": business.id,
                "recipient_bank_code": "058",
                "recipient_account_number": "0123456789",
                "amount": "1000",
                "description": "Supplier payment",
            }),
            ids: &[
                "business_id",
                "recipient_bank_code",
                "recipient_account_number",
            ],
            texts: &[("description", true), ("transaction_id", true)],
            amount: Some("amount"),
            fresh: None,
            amounts_covered: false,
            size_and_form_covered: true,
        },
        Endpoint {
            face: Face::Duplo,
            path: "/v1/checkout/",
            base: json!({
                "business_id": business.id,
                "amount": "1500",
                "customer_firstname": "Ada",
                "customer_lastname": "Obi",
                "description": "Order 7",
            }),
            ids: &["business_id", "fee_bearer"],
            texts: &[
                ("customer_firstname", false),
                ("customer_lastname", false),
                ("description", false),
                ("customer_ref", false),
            ],
            amount: Some("amount"),
            fresh: None,
            amounts_covered: false,
            size_and_form_covered: true,
        },
        Endpoint {
            face: Face::Duplo,
            path: "/sandbox/v1/bank/transfers",
            base: json!({
                "account_number": business.ngn_account,
                "amount": "500",
                "narration": "Invoice 7",
                "source_account_name": "Chidi Okafor",
            }),
            ids: &["account_number"],
            texts: &[
                ("narration", false),
                ("source_account_name", false),
                ("source_account_number", false),
                ("session_id", false),
            ],
            amount: Some("amount"),
            fresh: None,
            amounts_covered: true,
            size_and_form_covered: true,
        },
        Endpoint {
            face: Face::Duplo,
            path: "/v1/wallets/v2/process-transfer",
            base: json!({
                "business_id": business.id,
                "transaction_ref": known.payout_ref,
                "otp": known.payout_otp,
            }),
            ids: &["business_id", "transaction_ref", "otp"],
            texts: &[],
            amount: None,
            fresh: None,
            amounts_covered: false,
            size_and_form_covered: true,
        },
        Endpoint {
            face: Face::Beqelal,
            path: "/api/v1/payment/request",
            base: json!({
                "bank": KACHA,
                "account": WALLET_ACCOUNT,
                "amount": 100,
                "trace_number": "",
                "reason": "Betting deposit",
            }),
            ids: &["bank", "account"],
            texts: &[("reason", false), ("trace_number", true)],
            amount: Some("amount"),
            fresh: Some("trace_number"),
            amounts_covered: false,
            size_and_form_covered: false,
        },
        Endpoint {
            face: Face::Beqelal,
            path: "/api/v1/payment/authorize",
            base: json!({ "reference": known.payment_ref, "otp": known.payment_otp }),
            ids: &["reference", "otp"],
            texts: &[],
            amount: None,
            fresh: None,
            amounts_covered: false,
            size_and_form_covered: false,
        },
        Endpoint {
            face: Face::Beqelal,
            path: "/api/v1/withdraw/execute",
            base: json!({
                "bank": CBE,
                "account": CBE_ACCOUNT,
                "amount": 100,
                "trace_number": "",
                "reason": "Payroll",
            }),
            ids: &["bank", "account"],
            texts: &[("reason", false), ("trace_number", true)],
            amount: Some("amount"),
            fresh: Some("trace_number"),
            amounts_covered: false,
            size_and_form_covered: false,
        },
    ]
}

/// Amounts that are never a valid amount, as raw JSON text. The flag marks the classes
/// bad_input.rs already sends to the sandbox bank.
const AMOUNTS: [(&str, &str, bool); 26] = [
    ("1e400", "1e400", false),
    ("huge integer", "99999999999999999999999999999", false),
    (
        "huge integer string",
        "\"99999999999999999999999999999\"",
        false,
    ),
    ("i64::MAX + 1", "9223372036854775808", false),
    ("i64::MAX + 1 string", "\"9223372036854775808\"", false),
    ("i64::MIN - 1", "-9223372036854775809", false),
    ("-0", "-0", false),
    ("\"-0\"", "\"-0\"", false),
    ("1e-400", "1e-400", false),
    ("NaN string", "\"NaN\"", false),
    ("bare NaN", "NaN", false),
    ("Infinity string", "\"Infinity\"", false),
    ("3 decimals", "1000.001", true),
    ("3 decimals string", "\"1000.005\"", true),
    ("negative", "-1000", true),
    ("negative string", "\"-1000\"", true),
    ("zero", "0", true),
    ("zero with decimals", "0.00", true),
    ("fractional kobo", "0.001", true),
    ("spaces inside", "\"1 000\"", false),
    ("spaces between digits and decimals", "\"1000 .50\"", false),
    ("hex string", "\"0x10\"", false),
    ("bare hex", "0x10", false),
    ("leading + string", "\"+1000\"", false),
    ("bare leading +", "+1000", false),
    ("null", "null", false),
];

const SENTINEL: &str = "\u{1}HOSTILE\u{1}";

struct Builder<'a> {
    business: &'a TestBusiness,
    counter: usize,
}

impl Builder<'_> {
    fn auth(&self, face: Face) -> Vec<(String, Vec<u8>)> {
        match face {
            Face::Duplo => vec![(
                "Authorization".to_owned(),
                format!("Bearer {}", self.business.secret_key).into_bytes(),
            )],
            Face::Beqelal => vec![
                (
                    "app-id".to_owned(),
                    self.business.app_id.clone().into_bytes(),
                ),
                (
                    "api-key".to_owned(),
                    self.business.api_key.clone().into_bytes(),
                ),
            ],
        }
    }

    fn json_headers(&self, face: Face) -> Vec<(String, Vec<u8>)> {
        let mut headers = self.auth(face);
        headers.push(("Content-Type".to_owned(), b"application/json".to_vec()));
        headers
    }

    /// The endpoint's valid body, with `field` (if any) replaced by the raw bytes `raw`.
    fn body(&mut self, endpoint: &Endpoint, field: Option<&str>, raw: &[u8]) -> Vec<u8> {
        self.counter += 1;
        let mut body = endpoint.base.clone();
        if let Some(fresh) = endpoint.fresh {
            body[fresh] = json!(format!("HX-{}", self.counter));
        }
        let Some(field) = field else {
            return serde_json::to_vec(&body).unwrap();
        };
        body[field] = json!(SENTINEL);
        let text = serde_json::to_string(&body).unwrap();
        let marker = serde_json::to_string(SENTINEL).unwrap();
        let (before, after) = text
            .split_once(&marker)
            .expect("the sentinel is in the body");
        [before.as_bytes(), raw, after.as_bytes()].concat()
    }

    fn post(&self, endpoint: &Endpoint, headers: &[(String, Vec<u8>)], body: &[u8]) -> Vec<u8> {
        http("POST", endpoint.path.as_bytes(), headers, Some(body))
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn cases_for_endpoint(builder: &mut Builder, endpoint: &Endpoint) -> Vec<Case> {
    let face = endpoint.face;
    let mut cases = Vec::new();
    let refused = |label: String, request: Vec<u8>| Case {
        label: format!("{face:?} POST {}: {label}", endpoint.path),
        face,
        request,
        expect: Expect::Refused,
    };
    let json_headers = builder.json_headers(face);
    let first_id = endpoint.ids[0];

    // Nesting 10,000 levels deep, at the top and inside a field.
    let deep_array = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let top_array = deep_array.clone().into_bytes();
    cases.push(refused(
        "top-level array nested 10,000 deep".into(),
        builder.post(endpoint, &json_headers, &top_array),
    ));
    cases.push(refused(
        "top-level object nested 10,000 deep".into(),
        builder.post(endpoint, &json_headers, deep_object.as_bytes()),
    ));
    let body = builder.body(endpoint, Some(first_id), deep_array.as_bytes());
    cases.push(refused(
        format!("{first_id} is an array nested 10,000 deep"),
        builder.post(endpoint, &json_headers, &body),
    ));
    let body = builder.body(endpoint, Some(first_id), deep_object.as_bytes());
    cases.push(refused(
        format!("{first_id} is an object nested 10,000 deep"),
        builder.post(endpoint, &json_headers, &body),
    ));

    // Invalid UTF-8 inside a string.
    let utf8_field = endpoint.amount.unwrap_or(first_id);
    let body = builder.body(endpoint, Some(utf8_field), b"\"\xff\xfe\"");
    cases.push(refused(
        format!("{utf8_field} holds the bytes FF FE"),
        builder.post(endpoint, &json_headers, &body),
    ));
    if let Some((text_field, _)) = endpoint.texts.first() {
        let body = builder.body(endpoint, Some(text_field), b"\"Ada \xc3\x28 Obi\"");
        cases.push(refused(
            format!("{text_field} holds an invalid 2-byte sequence C3 28"),
            builder.post(endpoint, &json_headers, &body),
        ));
    }

    // Content types.
    let valid = builder.body(endpoint, None, b"");
    let mut plain = builder.auth(face);
    plain.push(("Content-Type".to_owned(), b"text/plain".to_vec()));
    cases.push(refused(
        "a valid body sent as text/plain".into(),
        builder.post(endpoint, &plain, &valid),
    ));
    let form_body = format!("{first_id}=1&amount=5");
    cases.push(refused(
        "a form-encoded body with no content type".into(),
        builder.post(endpoint, &builder.auth(face), form_body.as_bytes()),
    ));
    if !endpoint.size_and_form_covered {
        let mut form = builder.auth(face);
        form.push((
            "Content-Type".to_owned(),
            b"application/x-www-form-urlencoded".to_vec(),
        ));
        cases.push(refused(
            "a form-encoded body labelled as one".into(),
            builder.post(endpoint, &form, form_body.as_bytes()),
        ));
        // DUCAT_MAX_BODY_BYTES defaults to 64 KiB; this is 100 KiB.
        let padding = format!("\"{}\"", "x".repeat(100 * 1024));
        let field = endpoint.texts.first().map_or(first_id, |(f, _)| f);
        let body = builder.body(endpoint, Some(field), padding.as_bytes());
        cases.push(refused(
            format!("a 100 KiB body (limit 64 KiB) through {field}"),
            builder.post(endpoint, &json_headers, &body),
        ));
    }

    // Amounts.
    if let Some(amount) = endpoint.amount {
        for (label, raw, covered) in AMOUNTS {
            if covered && endpoint.amounts_covered {
                continue;
            }
            let body = builder.body(endpoint, Some(amount), raw.as_bytes());
            cases.push(refused(
                format!("{amount} = {raw} ({label})"),
                builder.post(endpoint, &json_headers, &body),
            ));
        }
    }

    // SQL injection into identifiers: refused.
    for field in endpoint.ids {
        for injection in SQL_INJECTIONS {
            let raw = serde_json::to_string(injection).unwrap();
            let body = builder.body(endpoint, Some(field), raw.as_bytes());
            cases.push(refused(
                format!("{field} = {injection}"),
                builder.post(endpoint, &json_headers, &body),
            ));
        }
    }
    // SQL injection and Unicode into free text: stored literally, or refused.
    for (field, echoed) in endpoint.texts {
        let values = SQL_INJECTIONS
            .iter()
            .map(|s| ("SQL injection", *s))
            .chain(UNICODE.iter().copied());
        for (kind, value) in values {
            let raw = serde_json::to_string(value).unwrap();
            let body = builder.body(endpoint, Some(field), raw.as_bytes());
            cases.push(Case {
                label: format!(
                    "{face:?} POST {}: {field} = {value:?} ({kind})",
                    endpoint.path
                ),
                face,
                request: builder.post(endpoint, &json_headers, &body),
                expect: Expect::AcceptedOrRefused {
                    echo: echoed.then(|| value.to_owned()),
                },
            });
        }
    }

    // Headers. These come last: a header case the server wrongly accepts may complete the
    // request, and the cases above must meet the endpoint in its first state.
    let refused = |label: String, request: Vec<u8>| Case {
        label: format!("{face:?} POST {}: {label}", endpoint.path),
        face,
        request,
        expect: Expect::Refused,
    };
    let with = |extra: Vec<(String, Vec<u8>)>| {
        let mut headers = json_headers.clone();
        headers.extend(extra);
        headers
    };
    let idem = |value: Vec<u8>| vec![("Idempotency-Key".to_owned(), value)];
    let body = builder.body(endpoint, None, b"");
    cases.push(refused(
        "Idempotency-Key of 10,000 characters".into(),
        builder.post(endpoint, &with(idem(vec![b'k'; 10_000])), &body),
    ));
    let body = builder.body(endpoint, None, b"");
    cases.push(refused(
        "Idempotency-Key with a tab inside".into(),
        builder.post(endpoint, &with(idem(b"key\twith-tab".to_vec())), &body),
    ));
    let body = builder.body(endpoint, None, b"");
    cases.push(Case {
        expect: Expect::RefusedByHttpParser,
        ..refused(
            "Idempotency-Key with control characters 01 and 7F".into(),
            builder.post(endpoint, &with(idem(b"key\x01\x7f".to_vec())), &body),
        )
    });
    let body = builder.body(endpoint, None, b"");
    cases.push(Case {
        expect: Expect::RefusedByHttpParser,
        ..refused(
            "Idempotency-Key with a bare CR inside".into(),
            builder.post(endpoint, &with(idem(b"key\rInjected: yes".to_vec())), &body),
        )
    });
    let (forged_name, forged_value, real_value) = match face {
        Face::Duplo => (
            "Authorization",
            b"Bearer dp_test_forgedforgedforgedforged".to_vec(),
            format!("Bearer {}", builder.business.secret_key).into_bytes(),
        ),
        Face::Beqelal => (
            "api-key",
            b"forged-api-key".to_vec(),
            builder.business.api_key.clone().into_bytes(),
        ),
    };
    let body = builder.body(endpoint, None, b"");
    // Each key is new, so an earlier case's key cannot be what refuses this one.
    let mut injected = format!("key-crlf-{}\r\n", builder.counter).into_bytes();
    injected.extend_from_slice(forged_name.as_bytes());
    injected.extend_from_slice(b": ");
    injected.extend_from_slice(&forged_value);
    cases.push(refused(
        format!("CR LF in Idempotency-Key smuggles a second {forged_name}"),
        builder.post(endpoint, &with(idem(injected)), &body),
    ));
    // Duplicate credentials, forged first and forged second.
    let others: Vec<(String, Vec<u8>)> = json_headers
        .iter()
        .filter(|(name, _)| name != forged_name)
        .cloned()
        .collect();
    for (order, pair) in [
        ("forged first", [forged_value.clone(), real_value.clone()]),
        ("forged second", [real_value.clone(), forged_value.clone()]),
    ] {
        let mut headers = others.clone();
        for value in pair {
            headers.push((forged_name.to_owned(), value));
        }
        let body = builder.body(endpoint, None, b"");
        cases.push(refused(
            format!("two {forged_name} headers, {order}"),
            builder.post(endpoint, &headers, &body),
        ));
    }
    let mut headers = others.clone();
    let mut huge = match face {
        Face::Duplo => b"Bearer dp_test_".to_vec(),
        Face::Beqelal => Vec::new(),
    };
    huge.extend(vec![b'a'; 100 * 1024]);
    headers.push((forged_name.to_owned(), huge));
    let body = builder.body(endpoint, None, b"");
    cases.push(refused(
        format!("{forged_name} of 100 KiB"),
        builder.post(endpoint, &headers, &body),
    ));
    cases
}

fn read_cases(builder: &Builder, known: &Known) -> Vec<Case> {
    let id = &builder.business.id;
    let mut refs: Vec<(&str, String)> = vec![
        ("invalid UTF-8 %FF%FE", "%FF%FE".to_owned()),
        (
            "invalid UTF-8 after a valid prefix",
            "tran_%C3%28".to_owned(),
        ),
        ("NUL %00", "abc%00def".to_owned()),
        ("encoded traversal", "..%2F..%2Fbalance".to_owned()),
        ("5,000-character reference", "r".repeat(5_000)),
    ];
    for injection in SQL_INJECTIONS {
        refs.push(("SQL injection", percent_encode(injection)));
    }
    let mut cases = Vec::new();
    let endpoints: [(Face, &str, bool); 4] = [
        (Face::Duplo, "/v1/wallets/transactions/", true),
        (Face::Duplo, "/v1/checkout/verify-transaction/", true),
        (Face::Beqelal, "/api/v1/payment/", false),
        (Face::Beqelal, "/api/v1/withdraw/", false),
    ];
    for (face, prefix, business_query) in endpoints {
        let query = if business_query {
            format!("?business_id={id}")
        } else {
            String::new()
        };
        for (label, reference) in &refs {
            let target = format!("{prefix}{reference}{query}");
            cases.push(Case {
                label: format!("{face:?} GET {prefix}{{ref}}: {label} ({reference:.60})"),
                face,
                request: http("GET", target.as_bytes(), &builder.auth(face), None),
                expect: Expect::Refused,
            });
        }
        if business_query {
            let known_ref = if prefix.contains("checkout") {
                &known.checkout_ref
            } else {
                &known.funding_ref
            };
            for injection in SQL_INJECTIONS {
                let target = format!(
                    "{prefix}{known_ref}?business_id={}",
                    percent_encode(injection)
                );
                cases.push(Case {
                    label: format!("{face:?} GET {prefix}{{ref}}: business_id = {injection}"),
                    face,
                    request: http("GET", target.as_bytes(), &builder.auth(face), None),
                    expect: Expect::Refused,
                });
            }
            let target = format!("{prefix}{known_ref}?business_id=%FF%FE");
            cases.push(Case {
                label: format!("{face:?} GET {prefix}{{ref}}: business_id = %FF%FE"),
                face,
                request: http("GET", target.as_bytes(), &builder.auth(face), None),
                expect: Expect::Refused,
            });
        }
        // Raw bytes FF FE in the request line itself, not percent-encoded.
        let mut target = prefix.as_bytes().to_vec();
        target.extend_from_slice(b"\xff\xfe");
        target.extend_from_slice(query.as_bytes());
        cases.push(Case {
            label: format!("{face:?} GET {prefix}{{ref}}: raw bytes FF FE in the path"),
            face,
            request: http("GET", &target, &builder.auth(face), None),
            expect: Expect::RefusedByHttpParser,
        });
    }
    cases
}

fn show(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut shown: String = text.escape_debug().collect();
    if shown.len() > 700 {
        let cut = (0..=700)
            .rev()
            .find(|i| shown.is_char_boundary(*i))
            .unwrap();
        shown = format!("{}… ({} bytes)", &shown[..cut], bytes.len());
    }
    shown
}

async fn hostile_requests_are_refused_in_the_face_shape_and_change_nothing(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let known = make_known(&app, &business).await;
    let mut builder = Builder {
        business: &business,
        counter: 0,
    };
    let mut cases = Vec::new();
    for endpoint in endpoints(&business, &known) {
        cases.extend(cases_for_endpoint(&mut builder, &endpoint));
    }
    cases.extend(read_cases(&builder, &known));

    let address = host_port(&app);
    let mut before = snapshot(&app, &business, &known).await;
    let mut wrong = Vec::new();
    let mut accepted = 0;
    for case in &cases {
        let answer = send(&address, &case.request).await;
        let after = snapshot(&app, &business, &known).await;
        let problem = match (&answer, &case.expect) {
            (Err(error), _) => Some(format!("no HTTP answer: {error}")),
            (Ok(answer), Expect::AcceptedOrRefused { echo }) if answer.status < 300 => {
                accepted += 1;
                if answer
                    .body
                    .iter()
                    .any(|b| *b < 0x20 && !b"\r\n\t".contains(b))
                {
                    Some("the accepted answer carries raw control characters".to_owned())
                } else if answer.json.is_null() {
                    Some("the accepted answer is not JSON".to_owned())
                } else {
                    echo.as_ref()
                        .filter(|value| !contains_string(&answer.json, value))
                        .map(|value| format!("the accepted answer does not echo {value:?}"))
                }
            }
            (Ok(answer), expect) => {
                let bare_parser_refusal = matches!(expect, Expect::RefusedByHttpParser)
                    && answer.status == 400
                    && answer.body.is_empty();
                let shape = if bare_parser_refusal {
                    None
                } else {
                    refusal_problem(case.face, answer)
                };
                let changed = (after != before).then(|| {
                    format!("the request changed the state:\n  before {before}\n  after  {after}")
                });
                match (shape, changed) {
                    (Some(shape), Some(changed)) if answer.status >= 300 => {
                        Some(format!("{shape}; {changed}"))
                    }
                    (Some(shape), _) => Some(shape),
                    (None, changed) => changed,
                }
            }
        };
        if let Some(problem) = problem {
            let response = match &answer {
                Ok(answer) => format!("{}\n  body: {}", answer.head, show(&answer.body)),
                Err(_) => "(none)".to_owned(),
            };
            wrong.push(format!(
                "{}\n  problem: {problem}\n  request: {}\n  response: {response}",
                case.label,
                show(&case.request)
            ));
        }
        before = after;
    }
    // The tables are all still there, with the ledger intact (finish checks it).
    for table in TABLES {
        let count: Result<i64, _> = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(app.services.store.reader())
            .await;
        assert!(count.is_ok(), "table {table} is gone: {count:?}");
    }
    println!(
        "{engine:?}: {} hostile requests, {accepted} free-text cases accepted, {} wrong answers",
        cases.len(),
        wrong.len()
    );
    assert!(
        wrong.is_empty(),
        "{engine:?}: {} of {} hostile requests were answered wrongly:\n\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n\n")
    );
    app.finish().await;
}
