//! Tenant isolation: one business's valid key never reads, changes or learns about another
//! business's objects, on either face, and a test-mode key never reaches a live business's
//! objects (nor the reverse).
//!
//! An owner creates one of every object that has a reference (a payout awaiting its OTP, a paid
//! checkout, a virtual account, webhook events with a pending delivery, a Beqelal direct payment
//! awaiting its OTP, a withdrawal, a payment link and a hosted checkout link), with amounts and
//! names unique to it. Then an intruder calls every route in [`PROBES`] with the owner's
//! identifiers. Each answer must be the face's not-found (or, where the route checks
//! `business_id`, its forbidden) answer, byte for byte the answer for a made-up identifier of the
//! same shape, and must contain none of the owner's other identifiers or amounts. Afterwards the
//! owner reads everything back unchanged, and can still finish its payout and payment.

use crate::both_engines;
use crate::helpers::{
    assert_beqelal_error, assert_duplo_error, spawn_app, Answer, Auth, Engine, TestApp,
    TestBusiness,
};
use ducat::services::inflows::InboundTransfer;
use ducat::store::businesses::Mode;
use ducat_core::ids::BusinessId;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;

both_engines!(
    another_business_cannot_read_or_act_on_any_reference,
    another_business_s_lists_never_include_the_owner_s_objects,
    reusing_the_owner_s_own_ids_and_keys_reveals_nothing,
    test_and_live_keys_cannot_reach_each_other_s_objects,
);

/// What an intruder must be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Duplo's 404 envelope, `data: null`.
    DuploNotFound,
    /// Duplo's 403: the route checks that `business_id` is the key's own.
    DuploForbidden,
    /// Beqelal's 400 with status_code 442 TRANSACTION_NOT_FOUND.
    BeqelalNotFound,
    /// The sandbox bank's 404 for an account that is not the caller's (403 for a live key,
    /// which may not use the sandbox at all).
    SandboxNotFound,
    /// Any answer, as long as it names nothing else of the owner's (the sandbox bank's name
    /// enquiry, which answers from the account number's digits alone, never from ducat's
    /// businesses).
    NoLeak,
}

/// One route called with one of the owner's identifiers. `{me}` is the intruder's own
/// business id; every other `{name}` is one of the owner's identifiers, and `subject` names the
/// one being probed (it is swapped for a made-up one of the same shape in the control call).
struct Probe {
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    subject: &'static str,
    expect: Expect,
}

const fn probe(
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    subject: &'static str,
    expect: Expect,
) -> Probe {
    Probe {
        method,
        path,
        body,
        subject,
        expect,
    }
}

use Expect::*;

/// Every authenticated route that takes a reference, wallet ref, account number, id or
/// business_id, with each of the owner's identifiers it accepts.
const PROBES: &[Probe] = &[
    // Duplo: wallets.
    probe(
        "GET",
        "/v1/wallets/balance/{ngn_wallet}?business_id={me}",
        None,
        "ngn_wallet",
        DuploNotFound,
    ),
    probe(
        "GET",
        "/v1/wallets/balance/{etb_wallet}?business_id={me}",
        None,
        "etb_wallet",
        DuploNotFound,
    ),
    probe(
        "GET",
        "/v1/wallets/balance/{ngn_wallet}?business_id={owner}",
        None,
        "owner",
        DuploForbidden,
    ),
    // Duplo: transactions, by reference and by the owner's own transaction_id.
    probe(
        "GET",
        "/v1/wallets/transactions/{payout}?business_id={me}",
        None,
        "payout",
        DuploNotFound,
    ),
    probe(
        "GET",
        "/v1/wallets/transactions/{inflow}?business_id={me}",
        None,
        "inflow",
        DuploNotFound,
    ),
    probe(
        "GET",
        "/v1/wallets/transactions/{checkout_tran}?business_id={me}",
        None,
        "checkout_tran",
        DuploNotFound,
    ),
    probe(
        "GET",
        "/v1/wallets/transactions/{withdrawal}?business_id={me}",
        None,
        "withdrawal",
        DuploNotFound,
    ),
    probe(
        "GET",
        "/v1/wallets/transactions/{payout}?business_id={owner}",
        None,
        "owner",
        DuploForbidden,
    ),
    probe(
        "GET",
        "/v1/wallets/transactions/external/{payout_id}?business_id={me}",
        None,
        "payout_id",
        DuploNotFound,
    ),
    probe(
        "GET",
        "/v1/wallets/transactions/external/{payout_id}?business_id={owner}",
        None,
        "owner",
        DuploForbidden,
    ),
    probe(
        "GET",
        "/v1/wallets/transactions?business_id={owner}",
        None,
        "owner",
        DuploForbidden,
    ),
    // Duplo: payouts v2, with the owner's reference and even its correct OTP.
    probe(
        "POST",
        "/v1/wallets/v2/process-transfer",
        Some(r#"{"business_id":"{me}","transaction_ref":"{payout}","otp":"{payout_otp}"}"#),
        "payout",
        DuploNotFound,
    ),
    probe(
        "POST",
        "/v1/wallets/v2/process-transfer",
        Some(r#"{"business_id":"{owner}","transaction_ref":"{payout}","otp":"{payout_otp}"}"#),
        "owner",
        DuploForbidden,
    ),
    probe(
        "POST",
        "/v1/wallets/v2/resend-payout-otp",
        Some(r#"{"business_id":"{me}","transaction_ref":"{payout}"}"#),
        "payout",
        DuploNotFound,
    ),
    probe(
        "POST",
        "/v1/wallets/v2/resend-payout-otp",
        Some(r#"{"business_id":"{owner}","transaction_ref":"{payout}"}"#),
        "owner",
        DuploForbidden,
    ),
    probe(
        "POST",
        "/v1/wallets/v2/transfer",
        Some(
            r#"{"business_id":"{owner}","recipient_bank_code":"058","recipient_account_number":"0123456789","amount":"250","description":"x"}"#,
        ),
        "owner",
        DuploForbidden,
    ),
    // Duplo: payouts v1.
    probe(
        "POST",
        "/v1/recipients/payouts-otp",
        Some(r#"{"business_id":"{owner}"}"#),
        "owner",
        DuploForbidden,
    ),
    probe(
        "POST",
        "/v1/wallets/transfer",
        Some(
            r#"{"business_id":"{owner}","recipient_bank_code":"058","recipient_account_number":"0123456789","amount":"250","description":"x","payout_otp":"123456"}"#,
        ),
        "owner",
        DuploForbidden,
    ),
    // Duplo: checkouts.
    probe(
        "GET",
        "/v1/checkout/{checkout}?business_id={me}",
        None,
        "checkout",
        DuploNotFound,
    ),
    probe(
        "GET",
        "/v1/checkout/{checkout}?business_id={owner}",
        None,
        "owner",
        DuploForbidden,
    ),
    probe(
        "GET",
        "/v1/checkout/verify-transaction/{checkout}?business_id={me}",
        None,
        "checkout",
        DuploNotFound,
    ),
    probe(
        "GET",
        "/v1/checkout/verify-transaction/{checkout}?business_id={owner}",
        None,
        "owner",
        DuploForbidden,
    ),
    probe(
        "POST",
        "/v1/checkout/",
        Some(r#"{"business_id":"{owner}","amount":"500"}"#),
        "owner",
        DuploForbidden,
    ),
    // Duplo: virtual accounts.
    probe(
        "GET",
        "/v1/virtual-accounts/{va}?business_id={me}",
        None,
        "va",
        DuploNotFound,
    ),
    probe(
        "GET",
        "/v1/virtual-accounts/{va}?business_id={owner}",
        None,
        "owner",
        DuploForbidden,
    ),
    probe(
        "GET",
        "/v1/virtual-accounts?business_id={owner}",
        None,
        "owner",
        DuploForbidden,
    ),
    probe(
        "POST",
        "/v1/virtual-accounts",
        Some(r#"{"business_id":"{owner}","first_name":"Eve","last_name":"Intruder"}"#),
        "owner",
        DuploForbidden,
    ),
    // Duplo: webhooks and their events.
    probe(
        "GET",
        "/v1/webhooks/events/{event}?business_id={me}",
        None,
        "event",
        DuploNotFound,
    ),
    probe(
        "GET",
        "/v1/webhooks/events/{first_event}?business_id={me}",
        None,
        "first_event",
        DuploNotFound,
    ),
    probe(
        "GET",
        "/v1/webhooks/events/{event}?business_id={owner}",
        None,
        "owner",
        DuploForbidden,
    ),
    probe(
        "POST",
        "/v1/webhooks/events/{event}/redeliver",
        Some(r#"{"business_id":"{me}"}"#),
        "event",
        DuploNotFound,
    ),
    probe(
        "POST",
        "/v1/webhooks/events/{first_event}/redeliver",
        Some(r#"{"business_id":"{me}"}"#),
        "first_event",
        DuploNotFound,
    ),
    probe(
        "POST",
        "/v1/webhooks/events/{event}/redeliver",
        Some(r#"{"business_id":"{owner}"}"#),
        "owner",
        DuploForbidden,
    ),
    probe(
        "GET",
        "/v1/webhooks/events?business_id={owner}",
        None,
        "owner",
        DuploForbidden,
    ),
    probe(
        "POST",
        "/v1/webhooks/test",
        Some(r#"{"business_id":"{owner}"}"#),
        "owner",
        DuploForbidden,
    ),
    probe(
        "POST",
        "/v1/merchants/businesses/webhook",
        Some(
            r#"{"business_id":"{owner}","webhook_url":"https://intruder.example/hook","verify_hash":"stolen"}"#,
        ),
        "owner",
        DuploForbidden,
    ),
    // Duplo: utilities.
    probe(
        "POST",
        "/v1/merchants/utilities/banks/verify",
        Some(r#"{"business_id":"{owner}","account_number":"0123456789","bank_code":"058"}"#),
        "owner",
        DuploForbidden,
    ),
    probe(
        "POST",
        "/v1/merchants/utilities/banks/verify",
        Some(
            r#"{"business_id":"{me}","account_number":"{ngn_account}","bank_code":"{ngn_bank_code}"}"#,
        ),
        "ngn_account",
        NoLeak,
    ),
    // Sandbox bank: paying into the owner's accounts.
    probe(
        "POST",
        "/sandbox/v1/bank/transfers",
        Some(r#"{"account_number":"{ngn_account}","amount":"10"}"#),
        "ngn_account",
        SandboxNotFound,
    ),
    probe(
        "POST",
        "/sandbox/v1/bank/transfers",
        Some(r#"{"account_number":"{etb_account}","amount":"10"}"#),
        "etb_account",
        SandboxNotFound,
    ),
    probe(
        "POST",
        "/sandbox/v1/bank/transfers",
        Some(r#"{"account_number":"{checkout_account}","amount":"10"}"#),
        "checkout_account",
        SandboxNotFound,
    ),
    probe(
        "POST",
        "/sandbox/v1/bank/transfers",
        Some(r#"{"account_number":"{va_account}","amount":"{va_amount}"}"#),
        "va_account",
        SandboxNotFound,
    ),
    // Beqelal: direct payments, with the owner's reference and even its correct OTP.
    probe("GET", "/api/v1/payment/{dp}", None, "dp", BeqelalNotFound),
    probe(
        "POST",
        "/api/v1/payment/authorize",
        Some(r#"{"reference":"{dp}","otp":{dp_otp}}"#),
        "dp",
        BeqelalNotFound,
    ),
    // Beqelal: withdrawals.
    probe(
        "GET",
        "/api/v1/withdraw/{withdrawal}",
        None,
        "withdrawal",
        BeqelalNotFound,
    ),
    // Beqelal: payment links and hosted checkout links.
    probe(
        "GET",
        "/api/v1/payment-link/{link}",
        None,
        "link",
        BeqelalNotFound,
    ),
    probe(
        "GET",
        "/api/v1/payment-link/{bq_checkout}",
        None,
        "bq_checkout",
        BeqelalNotFound,
    ),
    // Beqelal: one kind's reference on another kind's route.
    probe(
        "GET",
        "/api/v1/payment/{withdrawal}",
        None,
        "withdrawal",
        BeqelalNotFound,
    ),
    probe(
        "GET",
        "/api/v1/withdraw/{payout}",
        None,
        "payout",
        BeqelalNotFound,
    ),
];

/// Everything one business made, by placeholder name, and what only it could know.
struct Owned {
    business: TestBusiness,
    live: bool,
    ids: BTreeMap<&'static str, String>,
    /// Every identifier, amount and name of the owner's: none may reach an intruder.
    secrets: Vec<String>,
}

impl Owned {
    fn id(&self, name: &str) -> &str {
        self.ids
            .get(name)
            .unwrap_or_else(|| panic!("no identifier {name}"))
    }
}

/// Amounts and names unique to an owner, from one digit (7 gives a payout of 7777.77).
struct Marks {
    marker: String,
    payout: String,
    checkout: String,
    virtual_account: String,
    link: String,
    bq_checkout: String,
    direct_payment: String,
    withdrawal: String,
    ngn_funding: String,
    etb_funding: String,
}

fn marks(digit: char) -> Marks {
    let d = |n: usize| digit.to_string().repeat(n);
    Marks {
        marker: format!("zebulon{digit}q"),
        payout: format!("{}.{}", d(4), d(2)),
        checkout: format!("{}3.21", d(3)),
        virtual_account: format!("{}4.56", d(3)),
        link: format!("{}5.67", d(3)),
        bq_checkout: format!("{}6.78", d(3)),
        direct_payment: format!("{}8.89", d(3)),
        withdrawal: format!("{}9.91", d(3)),
        ngn_funding: format!("2{}.{}", d(4), d(2)),
        etb_funding: format!("3{}.{}", d(4), d(2)),
    }
}

/// "7777.77" and "7,777.77": an amount as JSON and as a page would show it.
fn amount_forms(amount: &str) -> Vec<String> {
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let fraction = fraction.trim_end_matches('0');
    let plain = if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
    };
    let grouped = if fraction.is_empty() {
        grouped
    } else {
        format!("{grouped}.{fraction}")
    };
    vec![plain, grouped]
}

fn ok(answer: &Answer) -> &Value {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    &answer.body
}

fn text_of(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a string, not {value}"))
        .to_owned()
}

/// The business's own phone, where payout OTPs go.
const BUSINESS_PHONE: &str = "+2348031234567";
/// The Kacha wallet's phone, where the institution's payment OTPs go.
const CUSTOMER_PHONE: &str = "+251911234567";

/// The newest OTP texted to `phone` on behalf of `business`, read from the store (the sandbox
/// outbox refuses live keys).
async fn latest_otp(app: &TestApp, business: &TestBusiness, phone: &str) -> String {
    let id = BusinessId::parse(&business.id).unwrap();
    let messages = ducat::store::sms::list(&app.services.store, &id, Some(phone), 1)
        .await
        .unwrap();
    let body = &messages.first().expect("an SMS").body;
    body.split_whitespace()
        .map(|word| word.trim_matches(|c: char| !c.is_ascii_digit()))
        .find(|word| word.len() == 6 && word.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("an OTP in {body:?}"))
        .to_owned()
}

async fn sms_ids(app: &TestApp, business: &TestBusiness) -> Vec<String> {
    let id = BusinessId::parse(&business.id).unwrap();
    ducat::store::sms::list(&app.services.store, &id, None, 200)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect()
}

/// Pays `amount` into `account`: through the sandbox bank in test mode, as the bank's inflow
/// notification in live mode. Returns the credit's transaction reference.
async fn pay_in(
    app: &TestApp,
    business: &TestBusiness,
    live: bool,
    account: &str,
    amount: &str,
) -> String {
    if live {
        let outcome = app
            .services
            .bank_inbound_transfer(InboundTransfer {
                account_number: account.to_owned(),
                amount: amount.to_owned(),
                session_id: None,
                source_bank_name: Some("GTBank".to_owned()),
                source_account_number: Some("7218000007".to_owned()),
                source_account_name: Some("Manni Ben".to_owned()),
                narration: None,
            })
            .await
            .expect("the bank's inflow is applied");
        assert_eq!(outcome.status, "successful", "{outcome:?}");
        outcome.transaction_ref.expect("a credit")
    } else {
        let answer = app.fund(business, account, amount).await;
        assert_eq!(
            answer.body["data"]["status"], "successful",
            "{}",
            answer.text
        );
        text_of(&answer.body["data"]["transaction_ref"])
    }
}

/// Makes one of every object with a reference for `business`, marked with `digit`.
async fn create_everything(
    app: &TestApp,
    business: &TestBusiness,
    live: bool,
    digit: char,
) -> Owned {
    let m = marks(digit);
    let duplo = business.duplo();
    let beqelal = business.beqelal();
    let mut ids: BTreeMap<&'static str, String> = BTreeMap::new();
    ids.insert("owner", business.id.clone());
    ids.insert("ngn_wallet", business.ngn_wallet.clone());
    ids.insert("etb_wallet", business.etb_wallet.clone());
    ids.insert("ngn_account", business.ngn_account.clone());
    ids.insert("etb_account", business.etb_account.clone());
    ids.insert("va_amount", m.virtual_account.clone());

    // A webhook, so every event gets a pending delivery (workers are off: it stays pending).
    let hook = app
        .post(
            "/v1/merchants/businesses/webhook",
            &duplo,
            json!({ "business_id": business.id, "webhook_url": format!("https://hooks.{}.example/ducat", m.marker), "verify_hash": format!("{}-hash", m.marker) }),
        )
        .await;
    ok(&hook);

    let inflow = pay_in(app, business, live, &business.ngn_account, &m.ngn_funding).await;
    ids.insert("inflow", inflow);
    ids.insert(
        "etb_inflow",
        pay_in(app, business, live, &business.etb_account, &m.etb_funding).await,
    );
    let balance = app
        .get(
            &format!(
                "/v1/wallets/balance/{}?business_id={}",
                business.ngn_wallet, business.id
            ),
            &duplo,
        )
        .await;
    ids.insert(
        "ngn_bank_code",
        text_of(&ok(&balance)["data"]["bank_accounts"][0]["bank_code"]),
    );

    // A payout v2, left awaiting its OTP.
    let payout = app
        .post(
            "/v1/wallets/v2/transfer",
            &duplo,
            json!({
                "business_id": business.id,
                "recipient_bank_code": "058",
                "recipient_account_number": "0123456789",
                "amount": m.payout,
                "description": format!("Payout {}", m.marker),
                "transaction_id": format!("{}-inv", m.marker),
            }),
        )
        .await;
    let data = &ok(&payout)["data"];
    assert_eq!(
        data["status"], "awaiting_otp_verification",
        "{}",
        payout.text
    );
    ids.insert("payout", text_of(&data["transaction_ref"]));
    ids.insert("payout_id", format!("{}-inv", m.marker));
    ids.insert(
        "payout_otp",
        latest_otp(app, business, BUSINESS_PHONE).await,
    );

    // A checkout, paid.
    let checkout = app
        .post(
            "/v1/checkout/",
            &duplo,
            json!({
                "business_id": business.id,
                "amount": m.checkout,
                "fee_bearer": "business",
                "description": format!("Checkout {}", m.marker),
                "customer_email": format!("{}@example.com", m.marker),
                "customer_ref": format!("{}-customer", m.marker),
            }),
        )
        .await;
    let data = ok(&checkout)["data"].clone();
    ids.insert("checkout", text_of(&data["checkout_reference"]));
    ids.insert("checkout_account", text_of(&data["account_number"]));
    ids.insert("checkout_account_ref", text_of(&data["account_ref"]));
    let paid = pay_in(
        app,
        business,
        live,
        &text_of(&data["account_number"]),
        &m.checkout,
    )
    .await;
    ids.insert("checkout_tran", paid);

    // A single-use virtual account for one exact amount, not yet paid.
    let account = app
        .post(
            "/v1/virtual-accounts",
            &duplo,
            json!({
                "business_id": business.id,
                "first_name": m.marker,
                "last_name": "Quillfeather",
                "email": format!("{}@example.org", m.marker),
                "single_use": true,
                "amount": m.virtual_account,
                "metadata": { "order": m.marker },
            }),
        )
        .await;
    let data = &ok(&account)["data"];
    ids.insert("va", text_of(&data["account_ref"]));
    ids.insert("va_account", text_of(&data["account_number"]));

    // A direct payment from a Kacha wallet, left awaiting the customer's OTP.
    let payment = app
        .post(
            "/api/v1/payment/request",
            &beqelal,
            json!({ "bank": 404050, "account": "251911234567", "amount": m.direct_payment, "trace_number": format!("{}-dp", m.marker), "reason": format!("Deposit {}", m.marker) }),
        )
        .await;
    let body = ok(&payment);
    assert_eq!(body["status"], "AWAITING_AUTHORIZATION", "{}", payment.text);
    ids.insert("dp", text_of(&body["id"]));
    ids.insert("dp_otp", latest_otp(app, business, CUSTOMER_PHONE).await);

    // A withdrawal, processed.
    let withdrawal = app
        .post(
            "/api/v1/withdraw/execute",
            &beqelal,
            json!({ "bank": "100001", "account": "1000123456789", "amount": m.withdrawal, "trace_number": format!("{}-wd", m.marker), "reason": format!("Payroll {}", m.marker) }),
        )
        .await;
    let body = ok(&withdrawal);
    assert_eq!(body["status"], "PROCESSED", "{}", withdrawal.text);
    ids.insert("withdrawal", text_of(&body["reference_id"]));

    // A payment link and a hosted checkout link.
    let link = app
        .post(
            "/api/v1/create/payment-link",
            &beqelal,
            json!({
                "phone": "+251911234567",
                "amount": m.link,
                "expires_at": ducat::clock::iso_millis(app.clock_now() + 3_600_000),
                "callback_url": format!("https://{}.example/hooks/beqelal", m.marker),
                "trace_number": format!("{}-pl", m.marker),
                "item_name": format!("Saffron {}", m.marker),
                "quantity": 2,
                "reason": format!("Order {}", m.marker),
            }),
        )
        .await;
    ids.insert("link", text_of(&ok(&link)["reference"]));
    let hosted = app
        .post(
            "/api/v1/create/checkout",
            &beqelal,
            json!({
                "phone": "+251911234567",
                "amount": m.bq_checkout,
                "trace_number": format!("{}-co", m.marker),
                "return_url": format!("https://{}.example/thanks", m.marker),
            }),
        )
        .await;
    ids.insert("bq_checkout", text_of(&ok(&hosted)["reference"]));

    // The events all that appended: the newest and the oldest are probed.
    let events = app
        .get(
            &format!("/v1/webhooks/events?business_id={}&limit=200", business.id),
            &duplo,
        )
        .await;
    let events = ok(&events)["data"]["events"].as_array().unwrap().clone();
    assert!(events.len() >= 3, "{events:?}");
    assert!(
        events.iter().all(|e| e["delivery_status"] == "pending"),
        "{events:?}"
    );
    ids.insert("event", text_of(&events[0]["event_id"]));
    ids.insert(
        "first_event",
        text_of(&events[events.len() - 1]["event_id"]),
    );

    let mut secrets: Vec<String> = ids
        .iter()
        .filter(|(name, _)| {
            !matches!(
                **name,
                "payout_otp" | "dp_otp" | "ngn_bank_code" | "va_amount"
            )
        })
        .map(|(_, value)| value.clone())
        .collect();
    secrets.extend(events.iter().map(|e| text_of(&e["event_id"])));
    secrets.push(m.marker.clone());
    for amount in [
        &m.payout,
        &m.checkout,
        &m.virtual_account,
        &m.link,
        &m.bq_checkout,
        &m.direct_payment,
        &m.withdrawal,
        &m.ngn_funding,
        &m.etb_funding,
    ] {
        secrets.extend(amount_forms(amount));
    }
    Owned {
        business: business.clone(),
        live,
        ids,
        secrets,
    }
}

/// A value of the same shape (same length, same kinds of characters) that names nothing.
fn made_up(value: &str) -> String {
    let n = value.len();
    value
        .char_indices()
        .map(|(i, c)| {
            if i + 6 < n {
                return c;
            }
            match c {
                '0'..='8' => ((c as u8) + 1) as char,
                '9' => '0',
                'a'..='e' => ((c as u8) + 1) as char,
                'f' => 'a',
                'g'..='y' => ((c as u8) + 1) as char,
                'z' => 'g',
                'A'..='Y' => ((c as u8) + 1) as char,
                'Z' => 'A',
                other => other,
            }
        })
        .collect()
}

fn fill(
    template: &str,
    owner: &Owned,
    intruder: &TestBusiness,
    subject: &str,
    value: &str,
) -> String {
    let mut text = template.replace("{me}", &intruder.id);
    text = text.replace(&format!("{{{subject}}}"), value);
    for (name, id) in &owner.ids {
        text = text.replace(&format!("{{{name}}}"), id);
    }
    assert!(!text.contains("{me}"), "unfilled: {text}");
    text
}

async fn call(
    app: &TestApp,
    auth: &Auth,
    method: &str,
    path: &str,
    body: Option<String>,
) -> Answer {
    let body =
        body.map(|b| serde_json::from_str::<Value>(&b).unwrap_or_else(|e| panic!("{b}: {e}")));
    app.request(
        Method::from_bytes(method.as_bytes()).unwrap(),
        path,
        auth,
        body,
    )
    .await
}

fn auth_for(path: &str, business: &TestBusiness) -> Auth {
    if path.starts_with("/api/") {
        business.beqelal()
    } else {
        business.duplo()
    }
}

/// Asserts that `text` names none of the owner's secrets other than what the caller sent.
fn assert_names_nothing(owner: &Owned, text: &str, sent: &[&str], context: &str) {
    let mut scrubbed = text.to_owned();
    for value in sent {
        scrubbed = scrubbed.replace(value, "<sent>");
    }
    for secret in &owner.secrets {
        assert!(
            !scrubbed.contains(secret.as_str()),
            "{context}: the answer names the owner's {secret:?}: {text}"
        );
    }
}

/// Runs every probe as `intruder` against `owner`'s objects.
async fn probe_everything(
    app: &TestApp,
    owner: &Owned,
    intruder: &TestBusiness,
    intruder_live: bool,
) {
    for probe in PROBES {
        let real = owner.id(probe.subject).to_owned();
        let fake = made_up(&real);
        assert_ne!(real, fake);
        let path = fill(probe.path, owner, intruder, probe.subject, &real);
        let auth = auth_for(&path, intruder);
        let context = format!("{} {} ({})", probe.method, probe.path, probe.subject);
        let body = probe
            .body
            .map(|b| fill(b, owner, intruder, probe.subject, &real));
        let answer = call(app, &auth, probe.method, &path, body.clone()).await;
        match probe.expect {
            DuploNotFound => {
                assert_duplo_error(&answer, 404);
            }
            DuploForbidden => {
                assert_duplo_error(&answer, 403);
            }
            BeqelalNotFound => {
                assert_beqelal_error(&answer, 400, "442", "TRANSACTION_NOT_FOUND");
            }
            SandboxNotFound => {
                assert_duplo_error(&answer, if intruder_live { 403 } else { 404 });
            }
            NoLeak => {}
        }
        assert!(
            !answer.text.contains("no endpoint at") && !answer.text.contains("does not accept"),
            "{context}: the route itself was not found: {}",
            answer.text
        );
        // The control: the same call with a made-up identifier of the same shape.
        let control_path = fill(probe.path, owner, intruder, probe.subject, &fake);
        let control_body = probe
            .body
            .map(|b| fill(b, owner, intruder, probe.subject, &fake));
        let control = call(app, &auth, probe.method, &control_path, control_body).await;
        // (The sandbox bank's name enquiry answers by the digits alone, some of them meaning
        // "no such account": for it only the leak check below applies.)
        if probe.expect != NoLeak {
            assert_eq!(
                answer.status, control.status,
                "{context}: {} against {}",
                answer.text, control.text
            );
            assert_eq!(
                answer.text.replace(&real, "<id>"),
                control.text.replace(&fake, "<id>"),
                "{context}: the owner's identifier is answered differently from a made-up one"
            );
        }
        let mut sent: Vec<&str> = vec![real.as_str()];
        if let Some(body) = &body {
            // What the intruder itself put in the body (e.g. the owner's OTP) is not learned.
            for (name, value) in &owner.ids {
                if body.contains(value.as_str())
                    && probe.body.unwrap().contains(&format!("{{{name}}}"))
                {
                    sent.push(value.as_str());
                }
            }
        }
        assert_names_nothing(owner, &answer.text, &sent, &context);
        if let Some(location) = answer.header("location") {
            assert_names_nothing(owner, location, &sent, &context);
        }
    }
}

/// Everything the owner can read about its objects, for comparing before and after.
async fn snapshot(app: &TestApp, owner: &Owned) -> Vec<(String, u16, String)> {
    let b = &owner.business;
    let q = format!("business_id={}", b.id);
    let mut paths = vec![
        format!("/v1/wallets/balance/{}?{q}", b.ngn_wallet),
        format!("/v1/wallets/balance/{}?{q}", b.etb_wallet),
        format!("/v1/wallets/transactions?{q}&limit=200"),
        format!("/v1/virtual-accounts?{q}&limit=200"),
        format!("/v1/webhooks/events?{q}&limit=200"),
        format!("/v1/checkout/{}?{q}", owner.id("checkout")),
        format!(
            "/v1/checkout/verify-transaction/{}?{q}",
            owner.id("checkout")
        ),
        format!("/v1/virtual-accounts/{}?{q}", owner.id("va")),
        format!("/api/v1/payment/{}", owner.id("dp")),
        format!("/api/v1/withdraw/{}", owner.id("withdrawal")),
        format!("/api/v1/payment-link/{}", owner.id("link")),
        format!("/api/v1/payment-link/{}", owner.id("bq_checkout")),
    ];
    for name in [
        "payout",
        "inflow",
        "etb_inflow",
        "checkout_tran",
        "withdrawal",
    ] {
        paths.push(format!("/v1/wallets/transactions/{}?{q}", owner.id(name)));
    }
    paths.push(format!(
        "/v1/wallets/transactions/external/{}?{q}",
        owner.id("payout_id")
    ));
    for name in ["event", "first_event"] {
        paths.push(format!("/v1/webhooks/events/{}?{q}", owner.id(name)));
    }
    let mut seen = Vec::new();
    for path in paths {
        let answer = app.get(&path, &auth_for(&path, b)).await;
        assert!(
            answer.status == StatusCode::OK
                || (path.contains("verify-transaction") && answer.status.as_u16() == 422),
            "{path}: {}",
            answer.text
        );
        seen.push((path, answer.status.as_u16(), answer.text));
    }
    seen.push((
        "the owner's SMS outbox".to_owned(),
        200,
        sms_ids(app, b).await.join(","),
    ));
    seen
}

fn assert_unchanged(before: &[(String, u16, String)], after: &[(String, u16, String)]) {
    assert_eq!(before.len(), after.len());
    for (was, is) in before.iter().zip(after) {
        assert_eq!(was, is, "the owner's {} changed", was.0);
    }
}

/// The intruder's listings: none may include anything of the owner's.
async fn assert_lists_exclude(
    app: &TestApp,
    owner: &Owned,
    intruder: &TestBusiness,
    intruder_live: bool,
) {
    let q = format!("business_id={}", intruder.id);
    let m = owner.id("payout");
    let mut filtered = vec![
        format!("wallet_ref={}", owner.business.ngn_wallet),
        format!("wallet_ref={}", owner.business.etb_wallet),
        format!("transaction_ref={m}"),
        format!("transaction_ref={}", owner.id("checkout_tran")),
        format!("search_term={m}"),
        format!("search_term={}", owner.id("payout_id")),
        format!("search_term={}", owner.business.ngn_account),
        format!("search_term={}", owner.id("checkout")),
        format!("search_term={}", owner.id("va")),
        format!("search_term={}", owner.id("dp")),
    ];
    let marker = owner
        .secrets
        .iter()
        .find(|s| s.starts_with("zebulon") && !s.contains('-') && !s.contains('.'))
        .unwrap()
        .clone();
    filtered.push(format!("search_term={marker}"));
    let payout_amount = owner
        .secrets
        .iter()
        .find(|s| s.len() == 7 && s.as_bytes()[4] == b'.')
        .unwrap()
        .clone();
    filtered.push(format!("amount={payout_amount}"));
    for filter in &filtered {
        let path = format!("/v1/wallets/transactions?{q}&{filter}&limit=200");
        let answer = app.get(&path, &intruder.duplo()).await;
        let body = ok(&answer);
        assert_eq!(
            body["data"]["pagination"]["total"], 0,
            "{path}: {}",
            answer.text
        );
        let sent = filter.split_once('=').unwrap().1;
        assert_names_nothing(owner, &answer.text, &[sent], &path);
    }
    for path in [
        format!("/v1/wallets/transactions?{q}&limit=200"),
        format!("/v1/virtual-accounts?{q}&limit=200"),
        format!("/v1/webhooks/events?{q}&limit=200"),
    ] {
        let answer = app.get(&path, &intruder.duplo()).await;
        let body = ok(&answer);
        assert_ne!(
            body["data"]["pagination"]["total"], 0,
            "{path}: the intruder has its own objects, so the list is not vacuous"
        );
        assert_names_nothing(owner, &answer.text, &[], &path);
    }
    if !intruder_live {
        let owner_sms = sms_ids(app, &owner.business).await;
        assert!(!owner_sms.is_empty());
        for path in [
            "/sandbox/v1/sms?limit=200",
            "/sandbox/v1/sms?limit=200&phone=%2B2348031234567",
            "/sandbox/v1/sms?limit=200&phone=%2B251911234567",
        ] {
            let answer = app.get(path, &intruder.beqelal()).await;
            let entries = ok(&answer)["data"].as_array().unwrap().clone();
            for entry in &entries {
                assert!(
                    !owner_sms.contains(&text_of(&entry["id"])),
                    "{path}: the owner's SMS {entry}"
                );
            }
            assert_names_nothing(owner, &answer.text, &[], path);
        }
    }
}

/// The intruder's own objects, so its lists have something in them.
async fn give_the_intruder_its_own(app: &TestApp, intruder: &TestBusiness, live: bool) {
    pay_in(app, intruder, live, &intruder.ngn_account, "1000").await;
    let checkout = app
        .post(
            "/v1/checkout/",
            &intruder.duplo(),
            json!({ "business_id": intruder.id, "amount": "250" }),
        )
        .await;
    ok(&checkout);
    let account = app
        .post(
            "/v1/virtual-accounts",
            &intruder.duplo(),
            json!({ "business_id": intruder.id, "first_name": "Eve", "last_name": "Own" }),
        )
        .await;
    ok(&account);
    let payout = app
        .post(
            "/v1/wallets/v2/transfer",
            &intruder.duplo(),
            json!({ "business_id": intruder.id, "recipient_bank_code": "058", "recipient_account_number": "0123456789", "amount": "300", "description": "Own payout" }),
        )
        .await;
    ok(&payout);
}

/// The owner finishes what the intruder could not touch: its payout and its payment.
async fn owner_still_completes(app: &TestApp, owner: &Owned) {
    let b = &owner.business;
    let processed = app
        .post(
            "/v1/wallets/v2/process-transfer",
            &b.duplo(),
            json!({ "business_id": b.id, "transaction_ref": owner.id("payout"), "otp": latest_otp(app, b, BUSINESS_PHONE).await }),
        )
        .await;
    ok(&processed);
    let read = app
        .get(
            &format!(
                "/v1/wallets/transactions/{}?business_id={}",
                owner.id("payout"),
                b.id
            ),
            &b.duplo(),
        )
        .await;
    assert_eq!(ok(&read)["data"]["status"], "pending", "{}", read.text);
    let otp: u32 = owner.id("dp_otp").parse().unwrap();
    let authorized = app
        .post(
            "/api/v1/payment/authorize",
            &b.beqelal(),
            json!({ "reference": owner.id("dp"), "otp": otp }),
        )
        .await;
    assert_eq!(
        ok(&authorized)["status"],
        "PROCESSED",
        "{}",
        authorized.text
    );
}

async fn another_business_cannot_read_or_act_on_any_reference(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let a = app.create_business().await;
    let b = app.create_business().await;
    let owner = create_everything(&app, &a, false, '7').await;
    let before = snapshot(&app, &owner).await;

    probe_everything(&app, &owner, &b, false).await;

    // More than the limits of OTP resends (3) and wrong OTPs (5) per payout, from the intruder:
    // none of them counts against the owner's payout or payment.
    let payout_otp = owner.id("payout_otp");
    let wrong = if payout_otp == "111111" {
        "222222"
    } else {
        "111111"
    };
    for _ in 0..4 {
        let answer = app
            .post(
                "/v1/wallets/v2/resend-payout-otp",
                &b.duplo(),
                json!({ "business_id": b.id, "transaction_ref": owner.id("payout") }),
            )
            .await;
        assert_duplo_error(&answer, 404);
    }
    for otp in [wrong; 6].into_iter().chain([payout_otp]) {
        let answer = app
            .post(
                "/v1/wallets/v2/process-transfer",
                &b.duplo(),
                json!({ "business_id": b.id, "transaction_ref": owner.id("payout"), "otp": otp }),
            )
            .await;
        assert_duplo_error(&answer, 404);
    }
    let dp_otp: u32 = owner.id("dp_otp").parse().unwrap();
    let wrong_dp = if dp_otp == 111_111 { 222_222 } else { 111_111 };
    for otp in [wrong_dp; 6].into_iter().chain([dp_otp]) {
        let answer = app
            .post(
                "/api/v1/payment/authorize",
                &b.beqelal(),
                json!({ "reference": owner.id("dp"), "otp": otp }),
            )
            .await;
        assert_beqelal_error(&answer, 400, "442", "TRANSACTION_NOT_FOUND");
    }

    assert_unchanged(&before, &snapshot(&app, &owner).await);

    // The owner's resend quota is whole (three resends) and its payout still takes its OTP.
    for _ in 0..3 {
        let answer = app
            .post(
                "/v1/wallets/v2/resend-payout-otp",
                &a.duplo(),
                json!({ "business_id": a.id, "transaction_ref": owner.id("payout") }),
            )
            .await;
        ok(&answer);
    }
    owner_still_completes(&app, &owner).await;
    app.finish().await;
}

async fn another_business_s_lists_never_include_the_owner_s_objects(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let a = app.create_business().await;
    let b = app.create_business().await;
    let owner = create_everything(&app, &a, false, '7').await;
    give_the_intruder_its_own(&app, &b, false).await;
    assert_lists_exclude(&app, &owner, &b, false).await;
    app.finish().await;
}

async fn reusing_the_owner_s_own_ids_and_keys_reveals_nothing(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let a = app.create_business().await;
    let b = app.create_business().await;
    let owner = create_everything(&app, &a, false, '7').await;
    let before = snapshot(&app, &owner).await;
    app.fund(&b, &b.ngn_account, "5000").await;
    app.fund(&b, &b.etb_account, "5000").await;
    let marker = marks('7').marker;

    // The owner's payout transaction_id, as the intruder's own: accepted as new.
    let payout_id = owner.id("payout_id");
    let answer = app
        .post(
            "/v1/wallets/v2/transfer",
            &b.duplo(),
            json!({ "business_id": b.id, "recipient_bank_code": "058", "recipient_account_number": "0123456789", "amount": "300", "description": "Mine", "transaction_id": payout_id }),
        )
        .await;
    assert_eq!(ok(&answer)["data"]["business_id"], b.id.as_str());
    assert_ne!(answer.body["data"]["transaction_ref"], owner.id("payout"));
    assert_names_nothing(
        &owner,
        &answer.text,
        &[payout_id],
        "a reused transaction_id",
    );

    // The owner's trace numbers, as the intruder's own: each accepted as new.
    let trace = |kind: &str| format!("{marker}-{kind}");
    let reused = [
        (
            "/api/v1/payment/request",
            json!({ "bank": 404050, "account": "251911234567", "amount": "10", "trace_number": trace("dp") }),
            "id",
            "dp",
        ),
        (
            "/api/v1/withdraw/execute",
            json!({ "bank": "100001", "account": "1000123456789", "amount": "10", "trace_number": trace("wd") }),
            "reference_id",
            "withdrawal",
        ),
        (
            "/api/v1/create/payment-link",
            json!({ "phone": "+251911234567", "amount": "10", "expires_at": ducat::clock::iso_millis(app.clock_now() + 3_600_000), "callback_url": "https://b.example/hook", "trace_number": trace("pl") }),
            "reference",
            "link",
        ),
        (
            "/api/v1/create/checkout",
            json!({ "phone": "+251911234567", "amount": "10", "trace_number": trace("co"), "return_url": "https://b.example/thanks" }),
            "reference",
            "bq_checkout",
        ),
    ];
    for (path, body, field, owners) in reused {
        let sent = text_of(&body["trace_number"]);
        let answer = app.post(path, &b.beqelal(), body).await;
        let reference = text_of(&ok(&answer)[field]);
        assert_ne!(reference, owner.id(owners), "{path}");
        assert_names_nothing(&owner, &answer.text, &[&sent], path);
    }

    // The same Idempotency-Key and the same bytes as the owner's request: the intruder's own
    // answer, never a replay of the owner's (and never "used for a different request").
    let key = format!("{marker}-idem");
    let link_body = json!({ "phone": "+251911234567", "amount": "12.34", "expires_at": ducat::clock::iso_millis(app.clock_now() + 3_600_000), "callback_url": "https://shared.example/hook", "trace_number": "shared-idem" });
    let first = app
        .request_with(
            Method::POST,
            "/api/v1/create/payment-link",
            &a.beqelal(),
            Some(link_body.clone()),
            &[("Idempotency-Key", &key)],
        )
        .await;
    let owners_link = text_of(&ok(&first)["reference"]);
    let replay = app
        .request_with(
            Method::POST,
            "/api/v1/create/payment-link",
            &a.beqelal(),
            Some(link_body.clone()),
            &[("Idempotency-Key", &key)],
        )
        .await;
    assert_eq!(
        replay.header("idempotent-replayed"),
        Some("true"),
        "the key is live"
    );
    let theirs = app
        .request_with(
            Method::POST,
            "/api/v1/create/payment-link",
            &b.beqelal(),
            Some(link_body),
            &[("Idempotency-Key", &key)],
        )
        .await;
    assert_eq!(
        theirs.header("idempotent-replayed"),
        None,
        "{}",
        theirs.text
    );
    assert_ne!(text_of(&ok(&theirs)["reference"]), owners_link);
    assert!(!theirs.text.contains(&owners_link), "{}", theirs.text);
    assert_names_nothing(&owner, &theirs.text, &[&key], "a reused Idempotency-Key");
    let duplo_key = format!("{marker}-idem-duplo");
    let first = app
        .request_with(
            Method::POST,
            "/v1/checkout/",
            &a.duplo(),
            Some(json!({ "business_id": a.id, "amount": "100" })),
            &[("Idempotency-Key", &duplo_key)],
        )
        .await;
    let owners_checkout = text_of(&ok(&first)["data"]["checkout_reference"]);
    let theirs = app
        .request_with(
            Method::POST,
            "/v1/checkout/",
            &b.duplo(),
            Some(json!({ "business_id": b.id, "amount": "100" })),
            &[("Idempotency-Key", &duplo_key)],
        )
        .await;
    assert_eq!(
        theirs.header("idempotent-replayed"),
        None,
        "{}",
        theirs.text
    );
    assert_ne!(
        text_of(&ok(&theirs)["data"]["checkout_reference"]),
        owners_checkout
    );
    assert!(!theirs.text.contains(&owners_checkout), "{}", theirs.text);
    assert_names_nothing(
        &owner,
        &theirs.text,
        &[&duplo_key],
        "a reused Idempotency-Key",
    );

    // The owner's sandbox session id, on a transfer into the intruder's own account: never
    // answered as a duplicate of the owner's transfer.
    let session = format!("{marker}sess");
    let owners_transfer = app
        .post(
            "/sandbox/v1/bank/transfers",
            &a.duplo(),
            json!({ "account_number": a.ngn_account, "amount": "1", "session_id": session }),
        )
        .await;
    let owners_credit = text_of(&ok(&owners_transfer)["data"]["transaction_ref"]);
    let b_balance = app.balance(&b, &b.ngn_wallet).await;
    let theirs = app
        .post(
            "/sandbox/v1/bank/transfers",
            &b.duplo(),
            json!({ "account_number": b.ngn_account, "amount": "1", "session_id": session }),
        )
        .await;
    assert!(!theirs.text.contains(&owners_credit), "{}", theirs.text);
    assert_ne!(theirs.body["data"]["duplicate"], true, "{}", theirs.text);
    assert_names_nothing(&owner, &theirs.text, &[&session], "a reused session id");
    if theirs.status != StatusCode::OK {
        assert_duplo_error(&theirs, 409);
        assert_eq!(app.balance(&b, &b.ngn_wallet).await, b_balance);
    }

    // None of it touched the owner's objects (beyond the owner's own two calls above, which
    // added a link, a checkout and a credit: compare only what existed before).
    let after = snapshot(&app, &owner).await;
    let lists = |path: &str| {
        path.contains("/v1/wallets/transactions?")
            || path.contains("/v1/webhooks/events?")
            || path.starts_with("/v1/wallets/balance/")
            || path == "the owner's SMS outbox"
    };
    let keep = |rows: &[(String, u16, String)]| -> Vec<(String, u16, String)> {
        rows.iter().filter(|r| !lists(&r.0)).cloned().collect()
    };
    assert_unchanged(&keep(&before), &keep(&after));
    app.finish().await;
}

async fn test_and_live_keys_cannot_reach_each_other_s_objects(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let test = app.create_business().await;
    let live = app.create_business_in(Mode::Live).await;
    assert!(
        live.secret_key.starts_with("dp_live_"),
        "{}",
        live.secret_key
    );
    let test_owned = create_everything(&app, &test, false, '6').await;
    let live_owned = create_everything(&app, &live, true, '4').await;
    assert!(live_owned.live && !test_owned.live);
    let test_before = snapshot(&app, &test_owned).await;
    let live_before = snapshot(&app, &live_owned).await;

    // A test key against the live business's objects, and a live key against the test one's.
    probe_everything(&app, &live_owned, &test, false).await;
    probe_everything(&app, &test_owned, &live, true).await;
    assert_lists_exclude(&app, &live_owned, &test, false).await;
    assert_lists_exclude(&app, &test_owned, &live, true).await;

    assert_unchanged(&test_before, &snapshot(&app, &test_owned).await);
    assert_unchanged(&live_before, &snapshot(&app, &live_owned).await);
    owner_still_completes(&app, &test_owned).await;
    owner_still_completes(&app, &live_owned).await;
    app.finish().await;
}
