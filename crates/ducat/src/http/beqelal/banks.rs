//! The institutions a direct payment or withdrawal can reach.

use super::BeqelalResult;
use axum::response::IntoResponse;
use axum::Json;
use ducat_core::banks;
use ducat_core::money::Currency;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Institution {
    pub id: u64,
    pub name: String,
    /// `BANK` or `WALLET`.
    #[serde(rename = "type")]
    pub kind: String,
    pub account_length: u8,
    pub regex: String,
    pub logo: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/list/banks",
    tag = "beqelal",
    responses(
        (status = 200, description = "Ethiopian banks and wallets", body = [Institution]),
        (status = 401, description = "Missing or unknown app-id / api-key"),
        (status = 479, description = "The caller's address is not on the allowlist"),
    ),
    security(("app_id" = [], "api_key" = []))
)]
pub async fn list() -> BeqelalResult {
    let list: Vec<Institution> = banks::institutions(Currency::Etb)
        .iter()
        .map(|institution| Institution {
            id: institution.code.parse().unwrap_or_default(),
            name: institution.name.to_owned(),
            kind: institution.kind.as_str().to_owned(),
            account_length: institution.account_length,
            regex: institution.regex(),
            logo: institution.logo.to_owned(),
        })
        .collect();
    Ok(Json(list).into_response())
}
