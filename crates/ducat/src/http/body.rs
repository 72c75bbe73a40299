//! Request bodies and query strings, parsed into typed requests with errors that name the
//! offending field, in whichever face's shape the caller renders.

use crate::services::AppError;
use axum::body::Body;
use axum::http::{header, HeaderMap, Request, Uri};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// Reads and parses a JSON body of at most `limit` bytes.
pub async fn json<T: DeserializeOwned>(
    request: Request<Body>,
    limit: usize,
) -> Result<T, AppError> {
    let (parts, body) = request.into_parts();
    check_content_type(&parts.headers)?;
    let bytes = read_limited(body, limit).await?;
    parse(&bytes)
}

/// How much of an oversized body is read and thrown away before answering 413, so that a
/// client still sending it gets the answer instead of a reset connection. Past this the
/// connection is simply closed.
const DRAIN_LIMIT_BYTES: usize = 4 * 1024 * 1024;

/// Reads a body of at most `limit` bytes.
pub async fn read_limited(mut body: Body, limit: usize) -> Result<axum::body::Bytes, AppError> {
    use http_body_util::BodyExt;
    let too_large =
        || AppError::PayloadTooLarge(format!("the request body is larger than {limit} bytes"));
    let mut collected = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| AppError::invalid("body", "could not be read to the end"))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen <= limit {
            collected.extend_from_slice(&data);
        } else if seen > DRAIN_LIMIT_BYTES {
            return Err(too_large());
        }
    }
    if seen > limit {
        return Err(too_large());
    }
    Ok(collected.into())
}

pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::invalid("body", "is empty; send a JSON object"));
    }
    // Every request ducat accepts is an object; serde would otherwise read `[1, 2]` as a
    // struct's fields in order, which no caller means.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(AppError::invalid("body", "must be a JSON object"));
    }
    if has_nul_escape(bytes) {
        return Err(AppError::invalid(
            "body",
            "must not contain the NUL character (\\u0000) in any string",
        ));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let raw = without_position(&error.inner().to_string());
        if error.inner().is_syntax() || error.inner().is_eof() {
            return AppError::invalid("body", format!("is not valid JSON ({raw})"));
        }
        let path = error.path().to_string();
        let field = missing_field(&raw)
            .or_else(|| unknown_field(&raw))
            .or_else(|| (path != "." && !path.is_empty()).then_some(path))
            .unwrap_or_else(|| "body".to_owned());
        AppError::invalid(&field, readable(&raw))
    })
}

/// Whether the JSON text escapes a NUL (`\u0000`) anywhere: no field ducat accepts means one,
/// and PostgreSQL cannot store it. A raw NUL byte is not valid JSON and fails parsing anyway.
/// An escape is live only after an odd run of backslashes (`\\u0000` is a backslash and text).
fn has_nul_escape(bytes: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (at, &byte) in bytes.iter().enumerate() {
        if byte == b'\\' {
            backslashes += 1;
            continue;
        }
        if backslashes % 2 == 1 && byte == b'u' && bytes.get(at + 1..at + 5) == Some(&b"0000"[..]) {
            return true;
        }
        backslashes = 0;
    }
    false
}

/// serde's wording turned into a predicate that reads after the field name:
/// "amount must be a number, not a boolean".
fn readable(message: &str) -> String {
    if missing_field(message).is_some() {
        return "is required".to_owned();
    }
    if unknown_field(message).is_some() {
        return "is not a field of this request".to_owned();
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some((got, expected)) = message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split_once(", expected "))
        {
            return format!("must be {expected}, not {got}");
        }
    }
    message.to_owned()
}

fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest.split('`').next()?.to_owned())
}

/// A body is JSON when it says so, or says nothing (many clients omit the header).
fn check_content_type(headers: &HeaderMap) -> Result<(), AppError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json" || essence.ends_with("+json") {
        Ok(())
    } else {
        Err(AppError::UnsupportedMediaType(format!(
            "send the body as application/json, not {essence:?}"
        )))
    }
}

/// Parses a query string into `T`.
pub fn query<T: DeserializeOwned>(uri: &Uri) -> Result<T, AppError> {
    axum::extract::Query::<T>::try_from_uri(uri)
        .map(|axum::extract::Query(value)| value)
        .map_err(|rejection| {
            let text = rejection.body_text();
            let raw =
                without_position(text.trim_start_matches("Failed to deserialize query string: "));
            let field = missing_field(&raw)
                .or_else(|| unknown_field(&raw))
                .unwrap_or_else(|| "query".to_owned());
            AppError::invalid(&field, readable(&raw))
        })
}

/// serde's positions ("at line 1 column 20") mean nothing to an API caller.
fn without_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

/// The exact decimal text of an amount sent as a JSON number (`1200.5`) or string (`"1200.5"`).
pub fn amount_text(field: &str, raw: &RawValue) -> Result<String, AppError> {
    let text = raw.get().trim();
    if text.starts_with('"') {
        let inner: String = serde_json::from_str(text)
            .map_err(|_| AppError::invalid(field, "must be a number or a numeric string"))?;
        Ok(inner.trim().to_owned())
    } else if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        Ok(text.to_owned())
    } else {
        Err(AppError::invalid(
            field,
            "must be a number or a numeric string",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn a_nul_escape_is_found_only_where_it_is_one() {
        assert!(has_nul_escape(br#"{"name": "Ada\u0000Obi"}"#));
        assert!(has_nul_escape(br#"{"name": "\\\u0000"}"#));
        assert!(!has_nul_escape(br#"{"name": "\\u0000"}"#));
        assert!(!has_nul_escape(br#"{"name": "\u0001"}"#));
        assert!(!has_nul_escape(br#"{"name": "u0000"}"#));
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        count: u32,
    }

    fn field_of(result: Result<Sample, AppError>) -> String {
        match result {
            Err(AppError::Invalid { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of(parse(br#"{"name": "x"}"#)), "count");
        assert_eq!(
            field_of(parse(br#"{"name": "x", "count": "three"}"#)),
            "count"
        );
        assert_eq!(field_of(parse(br#"{"name": "x""#)), "body");
        assert_eq!(field_of(parse(b"")), "body");
        assert_eq!(field_of(parse(b"\xff\xfe")), "body");
    }

    #[test]
    fn amounts_keep_their_exact_text() {
        let raw: Box<RawValue> = serde_json::from_str("1200.10").unwrap();
        assert_eq!(amount_text("amount", &raw).unwrap(), "1200.10");
        let raw: Box<RawValue> = serde_json::from_str(r#""0.07""#).unwrap();
        assert_eq!(amount_text("amount", &raw).unwrap(), "0.07");
        let raw: Box<RawValue> = serde_json::from_str("true").unwrap();
        assert!(amount_text("amount", &raw).is_err());
    }
}
