//! Beqelal hosted checkout links and payment links: created over the API, paid through the
//! hosted page's plain HTML forms (no JavaScript), on both engines.

use crate::both_engines;
use crate::helpers::{assert_beqelal_error, spawn_app, Answer, Engine, TestApp, TestBusiness};
use reqwest::StatusCode;
use serde_json::{json, Value};

const KACHA: &str = "404050";
const TELEBIRR: &str = "404010";
const WALLET_ACCOUNT: &str = "251911234567";

both_engines!(
    checkouts_and_payment_links_are_created,
    link_fields_are_validated,
    another_business_cannot_read_a_link,
    the_page_shows_the_amount_and_the_institutions,
    the_form_flow_pays_the_link_without_javascript,
    a_push_link_waits_on_the_phone_and_completes,
    an_expired_link_refuses,
    a_form_from_another_site_is_refused,
    a_declined_attempt_can_be_retried,
    simultaneous_submits_start_one_payment,
);

/// The page's client: redirects are looked at, not followed.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn create(app: &TestApp, business: &TestBusiness, path: &str, body: Value) -> Answer {
    app.post(path, &business.beqelal(), body).await
}

fn future(app: &TestApp, seconds: i64) -> String {
    ducat::clock::iso_millis(app.clock_now() + seconds * 1000)
}

async fn payment_link(app: &TestApp, business: &TestBusiness, amount: Value, trace: &str) -> Value {
    let answer = create(
        app,
        business,
        "/api/v1/create/payment-link",
        json!({
            "phone": "+251911234567",
            "amount": amount,
            "expires_at": future(app, 3600),
            "callback_url": "https://merchant.example/hooks/beqelal",
            "trace_number": trace,
            "item_name": "Coffee beans",
            "quantity": 2,
            "reason": "Order 1001",
        }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

async fn checkout(app: &TestApp, business: &TestBusiness, trace: &str) -> Value {
    let answer = create(
        app,
        business,
        "/api/v1/create/checkout",
        json!({
            "phone": "+251911234567",
            "amount": "100",
            "trace_number": trace,
            "return_url": "https://merchant.example/thanks?order=7",
        }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

fn page_path(link: &Value) -> String {
    format!("/pay/{}", link["reference"].as_str().unwrap())
}

async fn open(app: &TestApp, link: &Value) -> Answer {
    app.raw(browser().get(format!("{}{}", app.address, page_path(link))))
        .await
}

async fn submit(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> Answer {
    app.raw(
        browser()
            .post(format!("{}{path}", app.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(fields)
                    .finish(),
            ),
    )
    .await
}

fn assert_field_error(answer: &Answer, field: &str) {
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    let messages = answer.body[field]
        .as_array()
        .unwrap_or_else(|| panic!("a field error for {field}: {}", answer.text));
    assert!(
        messages[0].as_str().is_some_and(|m| m.starts_with(field)),
        "{}",
        answer.text
    );
}

async fn checkouts_and_payment_links_are_created(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let made = checkout(&app, &business, "CO-1").await;
    let reference = made["reference"].as_str().unwrap();
    assert!(reference.starts_with("lnk_"), "{made}");
    assert_eq!(
        made["checkout_url"],
        format!("{}/pay/{reference}", app.address).as_str()
    );
    assert_eq!(made["kind"], "checkout");
    assert_eq!(made["status"], "OPEN");
    assert_eq!(made["amount"], json!(100));
    assert_eq!(made["expires_at"], future(&app, 600).as_str());

    let link = payment_link(&app, &business, json!(1234.5), "PL-1").await;
    assert_eq!(link["kind"], "payment_link");
    assert_eq!(link["link"], link["checkout_url"]);
    assert_eq!(link["amount"], json!(1234.5));
    assert_eq!(link["item_name"], "Coffee beans");
    assert_eq!(link["quantity"], 2);
    assert_eq!(link["expires_at"], future(&app, 3600).as_str());

    let read = app
        .get(
            &format!(
                "/api/v1/payment-link/{}",
                link["reference"].as_str().unwrap()
            ),
            &business.beqelal(),
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.body["trace_number"], "PL-1");
    assert_eq!(read.body["status"], "OPEN");
    assert!(read.body["payment_id"].is_null());

    let openapi = app.get("/openapi.json", &crate::helpers::Auth::None).await;
    for path in [
        "/api/v1/create/checkout",
        "/api/v1/create/payment-link",
        "/api/v1/payment-link/{reference}",
    ] {
        assert!(
            openapi.body["paths"].get(path).is_some(),
            "{path} is documented"
        );
    }
    app.finish().await;
}

async fn link_fields_are_validated(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let good = json!({
        "phone": "+251911234567",
        "amount": 10,
        "expires_at": future(&app, 3600),
        "callback_url": "https://merchant.example/hook",
        "trace_number": "V-1",
    });
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let path = "/api/v1/create/payment-link";
    for (field, value) in [
        ("amount", json!(0.99)),
        ("amount", json!(0)),
        ("amount", json!("1000000.01")),
        ("amount", json!(10.001)),
        ("amount", json!(true)),
        ("expires_at", json!(future(&app, -1))),
        (
            "expires_at",
            json!(ducat::clock::iso_millis(app.clock_now())),
        ),
        ("expires_at", json!("tomorrow")),
        ("callback_url", json!("ftp://merchant.example/hook")),
        ("callback_url", json!("not a url")),
        ("phone", json!("call me")),
        ("trace_number", json!("")),
        ("trace_number", json!("x".repeat(61))),
        ("quantity", json!(0)),
        ("quantity", json!(-1)),
        ("item_name", json!("x".repeat(101))),
    ] {
        let answer = create(&app, &business, path, with(field, value.clone())).await;
        assert_field_error(&answer, field);
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("callback_url");
    assert_field_error(
        &create(&app, &business, path, missing).await,
        "callback_url",
    );

    // The limits themselves are allowed.
    for (trace, amount) in [("V-min", json!(1)), ("V-max", json!(1_000_000))] {
        let mut body = with("trace_number", json!(trace));
        body["amount"] = amount;
        let answer = create(&app, &business, path, body).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    }

    let first = create(&app, &business, path, good.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let again = create(&app, &business, path, good.clone()).await;
    assert_beqelal_error(&again, 409, "409", "DUPLICATE_REQUEST");

    let checkout_path = "/api/v1/create/checkout";
    let checkout_body = json!({
        "phone": "+251911234567",
        "amount": 100,
        "trace_number": "C-1",
        "return_url": "https://merchant.example/back",
    });
    for (field, value) in [
        ("return_url", json!("javascript:alert(1)")),
        ("return_url", json!("https://")),
        ("callback_url", json!("mailto:ops@merchant.example")),
        ("amount", json!(0)),
        ("amount", json!(1_000_001)),
    ] {
        let mut body = checkout_body.clone();
        body[field] = value;
        assert_field_error(&create(&app, &business, checkout_path, body).await, field);
    }
    let mut no_return = checkout_body.clone();
    no_return.as_object_mut().unwrap().remove("return_url");
    assert_field_error(
        &create(&app, &business, checkout_path, no_return).await,
        "return_url",
    );
    // A trace number is unique across both kinds.
    let mut reused = checkout_body.clone();
    reused["trace_number"] = json!("V-1");
    assert_beqelal_error(
        &create(&app, &business, checkout_path, reused).await,
        409,
        "409",
        "DUPLICATE_REQUEST",
    );
    app.finish().await;
}

async fn another_business_cannot_read_a_link(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let owner = app.create_business().await;
    let other = app.create_business().await;
    let link = payment_link(&app, &owner, json!(50), "X-1").await;
    let path = format!(
        "/api/v1/payment-link/{}",
        link["reference"].as_str().unwrap()
    );
    let answer = app.get(&path, &other.beqelal()).await;
    assert_beqelal_error(&answer, 400, "442", "TRANSACTION_NOT_FOUND");
    let unknown = app
        .get("/api/v1/payment-link/lnk_nothing", &owner.beqelal())
        .await;
    assert_beqelal_error(&unknown, 400, "442", "TRANSACTION_NOT_FOUND");
    let without_key = app.get(&path, &crate::helpers::Auth::None).await;
    assert_eq!(
        without_key.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        without_key.text
    );
    app.finish().await;
}

async fn the_page_shows_the_amount_and_the_institutions(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let link = payment_link(&app, &business, json!("1234.50"), "P-1").await;
    let page = open(&app, &link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(
        page.header("content-security-policy"),
        Some(ducat::http::hosted::CONTENT_SECURITY_POLICY)
    );
    assert!(page
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html")));
    let html = &page.text;
    for expected in [
        "ETB 1,234.50",
        "Ada&#39;s Kitchen",
        "2 × Coffee beans",
        "Order 1001",
        r#"<option value="404050""#,
        ">Kacha DFS</option>",
        ">Commercial Bank of Ethiopia</option>",
        // The link has a callback URL, so the USSD-push wallets can report back.
        ">telebirr</option>",
        &format!(r#"action="{}""#, page_path(&link)),
        r#"name="viewport" content="width=device-width, initial-scale=1""#,
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    for institution in ducat_core::banks::institutions(ducat_core::money::Currency::Etb) {
        assert!(
            html.contains(&format!(r#"<option value="{}""#, institution.code)),
            "{}",
            institution.name
        );
    }
    // Nothing inline for the policy to refuse.
    assert!(!html.contains("style="), "{html}");
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert!(html.contains(r#"<script src="/static/paylink.js" defer></script>"#));
    for asset in ["/static/paylink.css", "/static/paylink.js"] {
        let answer = app.get(asset, &crate::helpers::Auth::None).await;
        assert_eq!(answer.status, StatusCode::OK, "{asset}");
    }

    // A checkout without a callback, for a business without a webhook: push wallets could
    // never report, so they are not offered.
    let made = checkout(&app, &business, "P-2").await;
    let page = open(&app, &made).await;
    assert!(page.text.contains(">Kacha DFS</option>"));
    assert!(!page.text.contains(">telebirr</option>"), "{}", page.text);

    let missing = app
        .raw(browser().get(format!("{}/pay/lnk_doesnotexist", app.address)))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text.contains("Payment link not found"));
    app.finish().await;
}

async fn the_form_flow_pays_the_link_without_javascript(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let made = checkout(&app, &business, "FLOW-1").await;
    let path = page_path(&made);

    let bad = submit(&app, &path, &[("bank", KACHA), ("account", "0911234567")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert!(
        bad.text
            .contains("The account number must be an Ethiopian mobile number"),
        "{}",
        bad.text
    );
    // What the customer typed stays in the form.
    assert!(bad.text.contains(r#"value="0911234567""#), "{}", bad.text);
    assert!(bad.text.contains(r#"<option value="404050" "#));
    let no_bank = submit(&app, &path, &[("bank", ""), ("account", WALLET_ACCOUNT)]).await;
    assert_eq!(no_bank.status, StatusCode::BAD_REQUEST);
    assert!(no_bank.text.contains("Choose your bank or wallet"));
    let not_a_form = app
        .raw(
            browser()
                .post(format!("{}{path}", app.address))
                .json(&json!({ "bank": KACHA })),
        )
        .await;
    assert_eq!(not_a_form.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let started = submit(&app, &path, &[("bank", KACHA), ("account", WALLET_ACCOUNT)]).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text);
    assert_eq!(started.header("location"), Some(path.as_str()));
    let otp_step = open(&app, &made).await;
    assert_eq!(otp_step.status, StatusCode::OK);
    assert!(
        otp_step.text.contains("Enter the code from Kacha DFS"),
        "{}",
        otp_step.text
    );
    assert!(otp_step.text.contains(&format!(r#"action="{path}/otp""#)));

    let otp = app
        .latest_otp(&business, &format!("+{WALLET_ACCOUNT}"))
        .await;
    let wrong = if otp == "111111" { "222222" } else { "111111" };
    let refused = submit(&app, &format!("{path}/otp"), &[("otp", wrong)]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert!(refused.text.contains("Invalid OTP"), "{}", refused.text);
    assert!(
        refused.text.contains(r#"id="otp""#),
        "the code can be entered again"
    );
    let malformed = submit(&app, &format!("{path}/otp"), &[("otp", "12ab")]).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(malformed.text.contains("The code must be the 6-digit code"));

    let approved = submit(&app, &format!("{path}/otp"), &[("otp", &otp)]).await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.text);
    let paid = open(&app, &made).await;
    assert_eq!(paid.status, StatusCode::OK);
    assert!(paid.text.contains("Payment received"), "{}", paid.text);
    let read = app
        .get(
            &format!(
                "/api/v1/payment-link/{}",
                made["reference"].as_str().unwrap()
            ),
            &business.beqelal(),
        )
        .await;
    assert_eq!(read.body["status"], "PAID", "{}", read.text);
    let payment_id = read.body["payment_id"].as_str().unwrap().to_owned();
    assert!(
        paid.text.contains(&format!(
            "https://merchant.example/thanks?order=7&amp;reference={}&amp;id={payment_id}&amp;status=PROCESSED",
            made["reference"].as_str().unwrap()
        )),
        "{}",
        paid.text
    );
    let payment = app
        .get(
            &format!("/api/v1/payment/{payment_id}"),
            &business.beqelal(),
        )
        .await;
    assert_eq!(payment.body["status"], "PROCESSED", "{}", payment.text);
    assert_eq!(payment.body["account_no"], WALLET_ACCOUNT);
    // 100 birr less the 0.50 % collection fee.
    assert_eq!(
        app.balance(&business, &business.etb_wallet).await.0,
        json!(99.5)
    );
    // A paid link takes no second payment.
    let twice = submit(&app, &path, &[("bank", KACHA), ("account", WALLET_ACCOUNT)]).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert!(twice.text.contains("Payment received"));
    assert_eq!(
        app.balance(&business, &business.etb_wallet).await.0,
        json!(99.5)
    );
    app.finish().await;
}

async fn a_push_link_waits_on_the_phone_and_completes(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let link = payment_link(&app, &business, json!(200), "PUSH-1").await;
    let path = page_path(&link);
    let started = submit(
        &app,
        &path,
        &[("bank", TELEBIRR), ("account", WALLET_ACCOUNT)],
    )
    .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text);
    let waiting = open(&app, &link).await;
    assert!(
        waiting.text.contains("Approve on your phone"),
        "{}",
        waiting.text
    );
    assert!(waiting.text.contains(r#"<meta http-equiv="refresh""#));
    // While it waits, a second payment cannot be started from the link.
    let second = submit(&app, &path, &[("bank", KACHA), ("account", WALLET_ACCOUNT)]).await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.text);

    app.clock.advance_secs(4);
    assert_eq!(app.services.settle_due_direct_payments().await.unwrap(), 1);
    let paid = open(&app, &link).await;
    assert!(paid.text.contains("Payment received"), "{}", paid.text);
    assert!(!paid.text.contains("http-equiv"));
    assert!(paid.text.contains("You can close this page."));
    assert_eq!(
        app.balance(&business, &business.etb_wallet).await.0,
        json!(199)
    );
    app.finish().await;
}

async fn an_expired_link_refuses(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let made = checkout(&app, &business, "EXP-1").await;
    app.clock.advance_secs(601);
    let page = open(&app, &made).await;
    assert_eq!(page.status, StatusCode::GONE, "{}", page.text);
    assert!(page.text.contains("This link has expired"));
    assert!(!page.text.contains("<form"));
    let refused = submit(
        &app,
        &page_path(&made),
        &[("bank", KACHA), ("account", WALLET_ACCOUNT)],
    )
    .await;
    assert_eq!(refused.status, StatusCode::GONE, "{}", refused.text);
    assert!(refused.text.contains("This link has expired"));
    let read = app
        .get(
            &format!(
                "/api/v1/payment-link/{}",
                made["reference"].as_str().unwrap()
            ),
            &business.beqelal(),
        )
        .await;
    assert_eq!(read.body["status"], "EXPIRED");
    assert_eq!(read.body["attempts"], 0);
    app.finish().await;
}

async fn a_form_from_another_site_is_refused(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let made = checkout(&app, &business, "CSRF-1").await;
    let path = page_path(&made);
    let answer = app
        .raw(
            browser()
                .post(format!("{}{path}", app.address))
                .header("origin", "https://evil.example")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("bank={KACHA}&account={WALLET_ACCOUNT}")),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
    let same = app
        .raw(
            browser()
                .post(format!("{}{path}", app.address))
                .header("origin", app.address.as_str())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("bank={KACHA}&account={WALLET_ACCOUNT}")),
        )
        .await;
    assert_eq!(same.status, StatusCode::SEE_OTHER, "{}", same.text);
    app.finish().await;
}

async fn a_declined_attempt_can_be_retried(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let made = checkout(&app, &business, "RETRY-1").await;
    let path = page_path(&made);
    // The sandbox institution declines accounts ending in 91.
    let declined_account = "251911234591";
    let started = submit(
        &app,
        &path,
        &[("bank", KACHA), ("account", declined_account)],
    )
    .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text);
    let otp = app
        .latest_otp(&business, &format!("+{declined_account}"))
        .await;
    let declined = submit(&app, &format!("{path}/otp"), &[("otp", &otp)]).await;
    assert_eq!(declined.status, StatusCode::SEE_OTHER, "{}", declined.text);
    let again = open(&app, &made).await;
    assert!(
        again.text.contains("The last attempt did not go through"),
        "{}",
        again.text
    );
    assert!(
        again.text.contains(r#"id="bank""#),
        "the form is offered again"
    );

    let retried = submit(&app, &path, &[("bank", KACHA), ("account", WALLET_ACCOUNT)]).await;
    assert_eq!(retried.status, StatusCode::SEE_OTHER, "{}", retried.text);
    let otp = app
        .latest_otp(&business, &format!("+{WALLET_ACCOUNT}"))
        .await;
    let approved = submit(&app, &format!("{path}/otp"), &[("otp", &otp)]).await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.text);
    assert!(open(&app, &made).await.text.contains("Payment received"));

    // Each attempt is a direct payment of its own, traced as the link's trace number plus n.
    let id = ducat_core::ids::BusinessId::parse(&business.id).unwrap();
    let store = &app.services.store;
    for (trace, status) in [("RETRY-1-1", "FAILED"), ("RETRY-1-2", "PROCESSED")] {
        let payment = ducat::store::direct_payments::by_trace_number(store, &id, trace)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("a direct payment traced {trace}"));
        assert_eq!(payment.payment.status.as_str(), status, "{trace}");
    }
    app.finish().await;
}

/// Two submits of the form at the same moment (a double click, two tabs) must not start two
/// payments: for a USSD-push wallet both could be approved and the customer charged twice.
async fn simultaneous_submits_start_one_payment(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let link = payment_link(&app, &business, json!(40), "RACE-1").await;
    let path = page_path(&link);
    let fields = [("bank", TELEBIRR), ("account", "251922334455")];
    let answers =
        futures_util::future::join_all((0..4).map(|_| submit(&app, &path, &fields))).await;
    let started: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM direct_payments WHERE trace_number LIKE 'RACE-1-%'",
    )
    .fetch_one(app.services.store.reader())
    .await
    .unwrap();
    assert_eq!(
        started,
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    app.finish().await;
}
