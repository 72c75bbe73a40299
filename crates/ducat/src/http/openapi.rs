//! The OpenAPI document, generated from the handlers' annotations.

use super::face::{face_of, Face};
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ArrayBuilder, ArrayItems, ObjectBuilder, Schema,
    SchemaType, Type,
};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ducat",
        description = "A self-hosted payment gateway speaking the Duplo (/v1) and Beqelal (/api/v1) APIs, \
                       with a sandbox (/sandbox/v1) for test mode."
    ),
    paths(
        super::ops::healthz,
        super::ops::readyz,
        super::ops::metrics,
        super::ops::openapi,
        super::hosted::page,
        super::hosted::status,
        super::pay_page::page,
        super::pay_page::start,
        super::pay_page::authorize,
        super::duplo::wallets::balance,
        super::duplo::utilities::banks,
        super::duplo::utilities::verify_account,
        super::duplo::payouts::initiate_v2,
        super::duplo::payouts::process_v2,
        super::duplo::payouts::resend_v2,
        super::duplo::payouts::payout_otp_v1,
        super::duplo::payouts::transfer_v1,
        super::duplo::transactions::by_reference,
        super::duplo::transactions::by_external_id,
        super::duplo::transactions::list,
        super::duplo::checkout::create,
        super::duplo::checkout::verify,
        super::duplo::checkout::get_one,
        super::duplo::virtual_accounts::create,
        super::duplo::virtual_accounts::list,
        super::duplo::virtual_accounts::get_one,
        super::duplo::webhooks::register,
        super::duplo::webhooks::list_events,
        super::duplo::webhooks::get_event,
        super::duplo::webhooks::redeliver,
        super::duplo::webhooks::test,
        super::beqelal::banks::list,
        super::beqelal::payments::request,
        super::beqelal::payments::authorize,
        super::beqelal::payments::get_one,
        super::beqelal::links::create_checkout,
        super::beqelal::links::create_payment_link,
        super::beqelal::links::get_one,
        super::beqelal::withdrawals::execute,
        super::beqelal::withdrawals::get_one,
        super::sandbox::list_sms,
        super::sandbox::inbound_transfer,
    ),
    components(schemas(DuploErrorBody, BeqelalErrorBody, BeqelalErrorDetail)),
    modifiers(&SecuritySchemes, &SharedErrors, &ClosedRequestBodies),
    tags(
        (name = "duplo", description = "Duplo-compatible endpoints: Authorization: Bearer dp_…"),
        (name = "beqelal", description = "Beqelal-compatible endpoints: app-id and api-key headers"),
        (name = "sandbox", description = "Test-mode tools: the SMS outbox and a simulated bank"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "app_id",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("app-id"))),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("api-key"))),
        );
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Duplo's `{data, errors, message}` envelope around a successful answer's `data`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Envelope<T> {
    pub data: T,
    /// Always `{}` on success.
    #[schema(value_type = Object)]
    pub errors: (),
    pub message: String,
}

/// An error on the Duplo face, the sandbox, the hosted pages' JSON and the operations
/// endpoints: `errors` names the refused field (`{"amount": "must be …"}`) or is `{}`.
#[derive(ToSchema)]
#[allow(dead_code)]
struct DuploErrorBody {
    #[schema(value_type = Option<Object>)]
    data: (),
    #[schema(value_type = Object)]
    errors: (),
    message: String,
}

/// An error on the Beqelal face.
#[derive(ToSchema)]
#[allow(dead_code)]
struct BeqelalErrorBody {
    error: BeqelalErrorDetail,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct BeqelalErrorDetail {
    /// Always `FAILED`.
    status: String,
    /// Beqelal's own code, e.g. `442`, `479`.
    status_code: String,
    /// The code's name, e.g. `TRANSACTION_NOT_FOUND`.
    message: String,
    detail: String,
}

/// The error answers every operation shares, added here rather than repeated in each
/// annotation, and the face's error body on every error answer an annotation left without one:
///
/// - 400: the path or query does not percent-decode to UTF-8 without NUL; a JSON body that
///   is not valid (or an `Idempotency-Key` that is malformed);
/// - 401, and 403 (Duplo: address not allowed, `business_id` not the key's; sandbox: live
///   key) or 479 (Beqelal: address not allowed), on authenticated operations;
/// - 409 and 422 on authenticated POSTs: an `Idempotency-Key` still in flight, or reused
///   for another body;
/// - 413 and 415 where a JSON body is read;
/// - 408 (no body) from the request timeout, and 503 when the database is busy.
struct SharedErrors;

const STATELESS: [&str; 3] = ["/healthz", "/metrics", "/openapi.json"];

impl Modify for SharedErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let face = face_of(path);
            let hosted = path.starts_with("/checkout/") || path.starts_with("/pay/");
            for (method, operation) in [
                (HttpMethod::Get, item.get.as_mut()),
                (HttpMethod::Post, item.post.as_mut()),
            ] {
                let Some(operation) = operation else { continue };
                let mut statuses = vec![408];
                if !STATELESS.contains(&path.as_str()) {
                    statuses.push(503);
                }
                let has_parameters = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let json_body = operation
                    .request_body
                    .as_ref()
                    .is_some_and(|body| body.content.contains_key("application/json"));
                if has_parameters || json_body {
                    statuses.push(400);
                }
                if json_body {
                    statuses.extend([413, 415]);
                }
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                if secured {
                    statuses.push(401);
                    statuses.push(if face == Face::Beqelal { 479 } else { 403 });
                    if method == HttpMethod::Post {
                        statuses.extend([400, 409, 422]);
                    }
                }
                add_errors(operation, face, hosted, &statuses);
            }
        }
    }
}

fn add_errors(operation: &mut Operation, face: Face, hosted: bool, statuses: &[u16]) {
    for status in statuses {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(Response::new(shared_description(*status))));
    }
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if !status.starts_with('4') && !status.starts_with('5') || status == "408" {
            continue;
        }
        // A hosted page answers its own errors in HTML; what the JSON face answers (an
        // unreadable path, a busy database) is added beside it.
        if !response.content.is_empty() && !hosted {
            continue;
        }
        if response.content.contains_key("application/json") {
            continue;
        }
        let schema = error_schema(face, status == "400");
        let content = ContentBuilder::new().schema(Some(schema)).build();
        *response = ResponseBuilder::from(response.clone())
            .content("application/json", content)
            .build();
    }
}

fn error_schema(face: Face, bad_request: bool) -> RefOr<utoipa::openapi::schema::Schema> {
    match face {
        Face::Duplo => Ref::from_schema_name("DuploErrorBody").into(),
        Face::Beqelal if !bad_request => Ref::from_schema_name("BeqelalErrorBody").into(),
        // A refused field is Beqelal's field map, `{"amount": ["amount must be …"]}`.
        Face::Beqelal => AnyOfBuilder::new()
            .item(Ref::from_schema_name("BeqelalErrorBody"))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .description(Some("A refused field: {\"field\": [\"field message\"]}"))
                    .additional_properties(Some(
                        ArrayBuilder::new()
                            .items(ObjectBuilder::new().schema_type(Type::String))
                            .min_items(Some(1)),
                    ))
                    .min_properties(Some(1)),
            )
            .into(),
    }
}

fn shared_description(status: u16) -> &'static str {
    match status {
        400 => "A malformed parameter or body",
        401 => "Missing, malformed or unknown credentials",
        403 => "The address is not allowed, business_id is not the key's, or (sandbox) a live key",
        408 => "The request took longer than the request timeout (no body)",
        409 => "A request with this Idempotency-Key is still being processed",
        413 => "The body is larger than the limit",
        415 => "The body is not sent as application/json",
        422 => "This Idempotency-Key was already used for a different request",
        479 => "The caller's address is not on the allowlist (UNAUTHORIZED_IP_ACCESS)",
        503 => "The database is busy (nothing was changed) or the bank is unavailable",
        _ => "An error",
    }
}

/// What a JSON request body may hold, as `body::parse` reads it: no string anywhere may carry
/// a NUL (`\u0000`), so every string without a pattern of its own gets one that excludes
/// it; and a field the request does not define has no meaning, so the body's objects are
/// closed (`additionalProperties: false`).
struct ClosedRequestBodies;

const NO_NUL: &str = "^[^\\x00]*$";

impl Modify for ClosedRequestBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut pending: Vec<String> = Vec::new();
        for item in openapi.paths.paths.values() {
            for operation in [&item.get, &item.post].into_iter().flatten() {
                let schema = operation
                    .request_body
                    .as_ref()
                    .and_then(|body| body.content.get("application/json"))
                    .and_then(|content| content.schema.as_ref());
                if let Some(RefOr::Ref(reference)) = schema {
                    pending.push(component_name(reference));
                }
            }
        }
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let mut done = std::collections::BTreeSet::new();
        while let Some(name) = pending.pop() {
            if !done.insert(name.clone()) {
                continue;
            }
            if let Some(schema) = components.schemas.get_mut(&name) {
                close(schema, &mut pending);
            }
        }
    }
}

fn component_name(reference: &Ref) -> String {
    reference
        .ref_location
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn close(schema: &mut RefOr<Schema>, pending: &mut Vec<String>) {
    let has = |types: &SchemaType, wanted: Type| match types {
        SchemaType::Type(one) => *one == wanted,
        SchemaType::Array(many) => many.contains(&wanted),
        SchemaType::AnyValue => false,
    };
    match schema {
        RefOr::Ref(reference) => pending.push(component_name(reference)),
        RefOr::T(Schema::Object(object)) => {
            if has(&object.schema_type, Type::String)
                && object.pattern.is_none()
                && object.enum_values.is_none()
            {
                object.pattern = Some(NO_NUL.to_owned());
            }
            if has(&object.schema_type, Type::Object)
                && !object.properties.is_empty()
                && object.additional_properties.is_none()
            {
                object.additional_properties =
                    Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
            for property in object.properties.values_mut() {
                close(property, pending);
            }
        }
        RefOr::T(Schema::Array(array)) => {
            if let ArrayItems::RefOrSchema(items) = &mut array.items {
                close(items, pending);
            }
        }
        RefOr::T(Schema::OneOf(one_of)) => one_of.items.iter_mut().for_each(|s| close(s, pending)),
        RefOr::T(Schema::AnyOf(any_of)) => any_of.items.iter_mut().for_each(|s| close(s, pending)),
        RefOr::T(Schema::AllOf(all_of)) => all_of.items.iter_mut().for_each(|s| close(s, pending)),
        _ => {}
    }
}
