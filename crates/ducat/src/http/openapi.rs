//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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
    modifiers(&SecuritySchemes),
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
