//! Dashboard tests: dashboard_money. The transaction list and its filters, a transaction's
//! timeline with its webhook attempts, and payouts sent and confirmed from the dashboard, by
//! owners only.

use crate::both_engines;
use crate::dashboard_support::{Dashboard, Page};
use crate::helpers::{spawn_app, spawn_app_with, Engine, TestApp, TestBusiness};
use crate::webhooks::{business_id, step, Receiver, ReceiverState, Reply};
use ducat::services::audit::Actor;
use ducat_core::banks;
use ducat_core::money::Currency;
use ducat_core::roles::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

both_engines!(
    the_list_filters_by_kind_status_date_reference_and_amount,
    the_list_pages_by_twenty_five,
    bad_filters_give_a_400_page_and_list_nothing,
    the_detail_page_shows_the_timeline_with_webhook_attempts,
    another_business_s_transaction_is_not_found,
    a_payout_from_the_dashboard_end_to_end,
    a_wrong_otp_shows_the_error_and_changes_nothing,
    bad_payout_input_is_refused_and_creates_nothing,
    viewers_and_developers_cannot_send_payouts,
);

const PHONE: &str = "+2348031234567";
const GOOD_ACCOUNT: &str = "0123456789";
const PASSWORD: &str = "a long enough password";
/// The test clock starts on this UTC day (`helpers::START_MS`).
const START_DAY: &str = "2025-11-22";

/// The transaction references a page links to, in order.
fn refs(page: &Page) -> Vec<String> {
    let marker = "href=\"/dashboard/transactions/";
    page.html
        .match_indices(marker)
        .map(|(at, _)| {
            let rest = &page.html[at + marker.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

async fn fund(app: &TestApp, business: &TestBusiness, amount: &str) -> String {
    app.fund(business, &business.ngn_account, amount).await.body["data"]["transaction_ref"]
        .as_str()
        .expect("a transaction_ref")
        .to_owned()
}

/// A payout initiated through the API, awaiting its OTP.
async fn api_payout(app: &TestApp, business: &TestBusiness, amount: Value) -> String {
    let answer = app
        .post(
            "/v1/wallets/v2/transfer",
            &business.duplo(),
            json!({
                "business_id": business.id,
                "recipient_bank_code": "058",
                "recipient_account_number": GOOD_ACCOUNT,
                "amount": amount,
                "description": "Supplier payment",
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["data"]["transaction_ref"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn status_of(app: &TestApp, business: &TestBusiness, reference: &str) -> String {
    let answer = app
        .get(
            &format!(
                "/v1/wallets/transactions/{reference}?business_id={}",
                business.id
            ),
            &business.duplo(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["data"]["status"].as_str().unwrap().to_owned()
}

/// How many payouts (bank transfers) the business has, read from the store.
async fn payout_count(app: &TestApp, business: &TestBusiness) -> i64 {
    let filter = ducat::store::dashboard_money::MoneyFilter {
        category: Some("bank_transfer".to_owned()),
        ..Default::default()
    };
    ducat::store::dashboard_money::list(&app.services.store, &business_id(business), &filter, 1, 0)
        .await
        .unwrap()
        .1
}

/// A teammate with this role, signed in.
async fn teammate(app: &TestApp, business: &TestBusiness, email: &str, role: Role) -> Dashboard {
    let issued = app
        .services
        .invite_user(&business_id(business), &Actor::Cli, email, role)
        .await
        .expect("invited");
    app.services
        .accept_invite(&issued.token, PASSWORD, "127.0.0.1".parse().unwrap())
        .await
        .expect("accepted");
    let mut dash = Dashboard::new(app);
    let page = dash.sign_in(email, PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    dash
}

async fn the_list_filters_by_kind_status_date_reference_and_amount(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let first = fund(&app, &business, "10000").await;
    app.clock.advance_secs(86_400);
    let second = fund(&app, &business, "2500.50").await;
    app.clock.advance_secs(86_400);
    let payout = api_payout(&app, &business, json!(300)).await;
    let dash = Dashboard::sign_in_owner(&app, &business).await;

    let all = dash.get("/dashboard/transactions").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.html);
    assert_eq!(
        refs(&all),
        vec![payout.clone(), second.clone(), first.clone()]
    );
    assert!(all.contains("id=\"f-kind\""));

    let payouts = dash.get("/dashboard/transactions?kind=bank_transfer").await;
    assert_eq!(refs(&payouts), vec![payout.clone()]);
    // The chosen kind stays chosen.
    assert!(payouts.contains("value=\"bank_transfer\" selected"));
    let fundings = dash
        .get("/dashboard/transactions?kind=wallet_funding")
        .await;
    assert_eq!(refs(&fundings), vec![second.clone(), first.clone()]);
    let none = dash
        .get("/dashboard/transactions?kind=direct_payment")
        .await;
    assert!(refs(&none).is_empty());
    assert!(none.contains("No transactions match these filters."));

    let awaiting = dash
        .get("/dashboard/transactions?status=awaiting_otp_verification")
        .await;
    assert_eq!(refs(&awaiting), vec![payout.clone()]);
    let successful = dash.get("/dashboard/transactions?status=successful").await;
    assert_eq!(refs(&successful), vec![second.clone(), first.clone()]);
    let any = dash
        .get("/dashboard/transactions?kind=any&status=any")
        .await;
    assert_eq!(refs(&any).len(), 3);

    // Days are UTC and both ends are inclusive.
    let day = dash
        .get(&format!(
            "/dashboard/transactions?from={START_DAY}&to={START_DAY}"
        ))
        .await;
    assert_eq!(refs(&day), vec![first.clone()]);
    let from_second = dash.get("/dashboard/transactions?from=2025-11-23").await;
    assert_eq!(refs(&from_second), vec![payout.clone(), second.clone()]);
    let to_second = dash.get("/dashboard/transactions?to=2025-11-23").await;
    assert_eq!(refs(&to_second), vec![second.clone(), first.clone()]);
    let later = dash.get("/dashboard/transactions?from=2025-12-01").await;
    assert!(refs(&later).is_empty());

    let by_reference = dash
        .get(&format!(
            "/dashboard/transactions?reference={}",
            &payout[5..15]
        ))
        .await;
    assert_eq!(refs(&by_reference), vec![payout.clone()]);
    let by_amount = dash.get("/dashboard/transactions?amount=2500.50").await;
    assert_eq!(refs(&by_amount), vec![second.clone()]);
    let by_whole_amount = dash.get("/dashboard/transactions?amount=10000").await;
    assert_eq!(refs(&by_whole_amount), vec![first.clone()]);
    let combined = dash
        .get("/dashboard/transactions?kind=wallet_funding&status=successful&amount=300")
        .await;
    assert!(refs(&combined).is_empty());
    app.finish().await;
}

async fn the_list_pages_by_twenty_five(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let mut made = Vec::new();
    for i in 0..27 {
        made.push(fund(&app, &business, &format!("{}", 100 + i)).await);
        app.clock.advance_secs(1);
    }
    made.reverse();
    let dash = Dashboard::sign_in_owner(&app, &business).await;
    let first = dash
        .get("/dashboard/transactions?kind=wallet_funding")
        .await;
    assert_eq!(refs(&first), made[..25].to_vec());
    assert!(first.contains("Page 1 of 2"));
    // The next page's link keeps the filters.
    assert!(first.contains("href=\"/dashboard/transactions?kind=wallet_funding&amp;page=2\""));
    let second = dash
        .get("/dashboard/transactions?kind=wallet_funding&page=2")
        .await;
    assert_eq!(refs(&second), made[25..].to_vec());
    assert!(second.contains("Page 2 of 2"));
    let beyond = dash.get("/dashboard/transactions?page=9").await;
    assert_eq!(beyond.status, StatusCode::OK);
    assert!(refs(&beyond).is_empty());
    // A page that is not a number is the first.
    let odd = dash.get("/dashboard/transactions?page=abc").await;
    assert_eq!(refs(&odd), made[..25].to_vec());
    app.finish().await;
}

async fn bad_filters_give_a_400_page_and_list_nothing(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    fund(&app, &business, "10000").await;
    let dash = Dashboard::sign_in_owner(&app, &business).await;
    let long = "x".repeat(101);
    for (query, says) in [
        ("amount=abc", "The amount"),
        ("amount=-5", "The amount"),
        ("amount=1.234", "The amount"),
        ("from=2025-13-01", "The start date"),
        ("to=yesterday", "The end date"),
        (
            "from=2025-11-23&to=2025-11-22",
            "The start date is after the end date",
        ),
        ("kind=refund", "The kind"),
        ("status=settled", "The status"),
        (&format!("reference={long}"), "The reference"),
    ] {
        let page = dash.get(&format!("/dashboard/transactions?{query}")).await;
        assert_eq!(
            page.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            page.html
        );
        assert!(page.contains(says), "{query}: {}", page.html);
        assert!(page.contains("class=\"notice error\""), "{query}");
        assert!(refs(&page).is_empty(), "{query} listed transactions");
    }
    // What was typed stays in the form, escaped.
    let page = dash
        .get("/dashboard/transactions?amount=%3Cb%3E&reference=tran_x")
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.contains("value=\"&lt;b&gt;\""));
    assert!(page.contains("value=\"tran_x\""));
    app.finish().await;
}

async fn the_detail_page_shows_the_timeline_with_webhook_attempts(engine: Engine) {
    let receiver = Receiver::start(ReceiverState {
        script: [Reply::Status(500)].into(),
        ..ReceiverState::default()
    })
    .await;
    let Some(app) = spawn_app_with(engine, |c| {
        c.webhook_allow_private_targets = true;
        c.webhook_timeout_secs = 1;
    })
    .await
    else {
        return;
    };
    let business = app.create_business().await;
    app.services
        .set_preferences(
            &business_id(&business),
            &Actor::Cli,
            ducat::services::businesses::PreferenceInput {
                webhook_url: Some(Some(receiver.url("/hook"))),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let reference = fund(&app, &business, "10000").await;
    // The first attempt fails (step counts deliveries); the retry 5 s later is delivered.
    assert_eq!(step(&app).await, 0);
    app.clock.advance_secs(5);
    assert_eq!(step(&app).await, 1);
    assert_eq!(receiver.received().len(), 2);

    let dash = Dashboard::sign_in_owner(&app, &business).await;
    let page = dash
        .get(&format!("/dashboard/transactions/{reference}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.contains(&reference));
    assert!(page.contains("₦10,000.00"));
    assert!(page.contains("wallet_funding"));
    assert!(page.contains("Credit (money in)"));
    assert!(page.contains("id=\"timeline\""));
    assert!(page.contains("data-event-type=\"ACCOUNT_INFLOW\""));
    assert!(page.contains(&receiver.url("/hook")));
    assert!(page.contains("2 attempt(s)"));
    let first_attempt = page.html.find("HTTP 500").expect("the failed attempt");
    let second_attempt = page.html.find("HTTP 200").expect("the delivered attempt");
    assert!(first_attempt < second_attempt, "attempts oldest first");
    assert!(page.contains("delivered"));
    assert!(page.contains("2025-11-22 08:00:00 UTC"));
    assert!(page.contains("2025-11-22 08:00:05 UTC"));

    // A payout awaiting its OTP links to where it is confirmed.
    let payout = api_payout(&app, &business, json!(300)).await;
    let page = dash.get(&format!("/dashboard/transactions/{payout}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.contains(&format!("href=\"/dashboard/payouts/{payout}\"")));
    assert!(page.contains("id=\"payout-facts\""));
    assert!(page.contains(&banks::sandbox_account_name(Currency::Ngn, GOOD_ACCOUNT)));
    // Its events come as it moves: the OTP makes it pending.
    let otp = app.latest_otp(&business, PHONE).await;
    app.services
        .process_payout_otp(&business_id(&business), &payout, &otp)
        .await
        .unwrap();
    let page = dash.get(&format!("/dashboard/transactions/{payout}")).await;
    assert!(page.contains("data-event-type=\"PAYOUT_PENDING\""));
    assert!(!page.contains(&format!("href=\"/dashboard/payouts/{payout}\"")));
    app.finish().await;
}

async fn another_business_s_transaction_is_not_found(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let owner = app.create_business().await;
    let stranger = app.create_business().await;
    let funding = fund(&app, &owner, "10000").await;
    let payout = api_payout(&app, &owner, json!(300)).await;
    let dash = Dashboard::sign_in_owner(&app, &stranger).await;
    for path in [
        format!("/dashboard/transactions/{funding}"),
        format!("/dashboard/transactions/{payout}"),
        format!("/dashboard/payouts/{payout}"),
        "/dashboard/transactions/tran_nothing".to_owned(),
        "/dashboard/transactions/%3Cscript%3E".to_owned(),
        format!("/dashboard/payouts/{funding}"),
    ] {
        let page = dash.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}: {}", page.html);
        assert!(!page.contains("<script>"));
    }
    // Nor can its OTP be tried or resent from elsewhere.
    let otp = app.latest_otp(&owner, PHONE).await;
    let tried = dash
        .submit(
            "/dashboard/payouts",
            &format!("/dashboard/payouts/{payout}/confirm"),
            &[("otp", &otp)],
        )
        .await;
    assert_eq!(tried.status, StatusCode::NOT_FOUND, "{}", tried.html);
    let resent = dash
        .submit(
            "/dashboard/payouts",
            &format!("/dashboard/payouts/{payout}/resend"),
            &[],
        )
        .await;
    assert_eq!(resent.status, StatusCode::NOT_FOUND);
    assert_eq!(
        status_of(&app, &owner, &payout).await,
        "awaiting_otp_verification"
    );
    // The stranger's own list does not show them.
    let list = dash.get("/dashboard/transactions").await;
    assert!(refs(&list).is_empty());
    app.finish().await;
}

/// Posts the payout form from the payouts page; returns the answer.
async fn send_payout(dash: &Dashboard, fields: &[(&str, &str)]) -> Page {
    dash.submit("/dashboard/payouts", "/dashboard/payouts", fields)
        .await
}

async fn a_payout_from_the_dashboard_end_to_end(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    fund(&app, &business, "10000").await;
    let dash = Dashboard::sign_in_owner(&app, &business).await;
    let form = dash.get("/dashboard/payouts").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    for needle in [
        "<label for=\"bank_code\">Bank</label>",
        "<label for=\"account_number\">Account number</label>",
        "<label for=\"amount\">Amount</label>",
        "<label for=\"description\">Narration</label>",
        ">Continue</button>",
        "value=\"058\"",
        "₦10,000.00",
    ] {
        assert!(form.contains(needle), "{needle}");
    }

    let sent = send_payout(
        &dash,
        &[
            ("bank_code", "058"),
            ("account_number", GOOD_ACCOUNT),
            ("amount", "5000"),
            ("description", "Rent for May"),
        ],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.html);
    let location = sent.location().unwrap().to_owned();
    assert!(
        location.starts_with("/dashboard/payouts/tran_"),
        "{location}"
    );
    assert!(location.ends_with("?done=initiated"));
    let path = location.split('?').next().unwrap().to_owned();
    let reference = path.rsplit('/').next().unwrap().to_owned();

    let page = dash.get(&location).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.contains("The payout was created."));
    assert!(page.contains(&banks::sandbox_account_name(Currency::Ngn, GOOD_ACCOUNT)));
    assert!(page.contains("₦5,000.00"));
    assert!(page.contains("₦15.00"));
    assert!(page.contains("id=\"payout-status\""));
    assert!(page.contains("awaiting_otp_verification"));
    assert!(page.contains("id=\"payout-deadline\""));
    assert!(page.contains("<label for=\"otp\">OTP</label>"));
    assert!(page.contains(">Confirm payout</button>"));
    assert!(page.contains(">Resend OTP</button>"));
    assert!(page.contains(PHONE));
    assert!(page.contains("Sandbox's SMS inbox"));
    // Nothing moves before the OTP.
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(10000), json!(10000))
    );
    // The new payout is listed.
    let listed = dash.get("/dashboard/payouts").await;
    assert_eq!(refs(&listed), vec![reference.clone()]);

    // A resend replaces the code.
    let first_otp = app.latest_otp(&business, PHONE).await;
    let resent = dash.submit(&path, &format!("{path}/resend"), &[]).await;
    assert_eq!(resent.status, StatusCode::SEE_OTHER, "{}", resent.html);
    assert_eq!(
        resent.location(),
        Some(format!("{path}?done=resent").as_str())
    );
    let otp = app.latest_otp(&business, PHONE).await;
    assert_ne!(otp, first_otp);

    let confirmed = dash
        .submit(&path, &format!("{path}/confirm"), &[("otp", &otp)])
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.html
    );
    assert_eq!(
        confirmed.location(),
        Some(format!("{path}?done=confirmed").as_str())
    );
    let page = dash.get(confirmed.location().unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("The payout was confirmed"));
    let status_at = page.html.find("id=\"payout-status\"").unwrap();
    assert!(page.html[status_at..]
        .starts_with("id=\"payout-status\"><span class=\"badge wait\">pending</span>"));
    assert!(!page.contains("Confirm payout"));
    assert_eq!(status_of(&app, &business, &reference).await, "pending");
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(4985), json!(10000))
    );
    // The bank pays it; the page follows.
    app.services.dispatch_payouts().await.unwrap();
    let page = dash.get(&path).await;
    assert!(page.contains("<span class=\"badge ok\">successful</span>"));
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(4985), json!(4985))
    );
    app.finish().await;
}

async fn a_wrong_otp_shows_the_error_and_changes_nothing(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    fund(&app, &business, "10000").await;
    let reference = api_payout(&app, &business, json!(2000)).await;
    let otp = app.latest_otp(&business, PHONE).await;
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    let dash = Dashboard::sign_in_owner(&app, &business).await;
    let path = format!("/dashboard/payouts/{reference}");
    let page = dash
        .submit(&path, &format!("{path}/confirm"), &[("otp", wrong)])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.html);
    assert!(page.contains("The code is incorrect"), "{}", page.html);
    assert!(page.contains("class=\"notice error\""));
    assert!(page.contains(">Confirm payout</button>"));
    // Not a code at all.
    let page = dash
        .submit(&path, &format!("{path}/confirm"), &[("otp", "12ab")])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.contains("The code must be the 6-digit code sent by SMS"));
    assert_eq!(
        status_of(&app, &business, &reference).await,
        "awaiting_otp_verification"
    );
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(10000), json!(10000))
    );
    // Without the form's token nothing is tried.
    let forged = dash
        .send_form(&format!("{path}/confirm"), &[("otp", &otp)])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        status_of(&app, &business, &reference).await,
        "awaiting_otp_verification"
    );
    // The right code still works.
    let page = dash
        .submit(&path, &format!("{path}/confirm"), &[("otp", &otp)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    assert_eq!(status_of(&app, &business, &reference).await, "pending");
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(7988), json!(10000))
    );
    app.finish().await;
}

async fn bad_payout_input_is_refused_and_creates_nothing(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    fund(&app, &business, "1000").await;
    let dash = Dashboard::sign_in_owner(&app, &business).await;
    for (fields, status, says) in [
        (
            [
                ("bank_code", "058"),
                ("account_number", GOOD_ACCOUNT),
                ("amount", "abc"),
            ],
            StatusCode::BAD_REQUEST,
            "The amount",
        ),
        (
            [
                ("bank_code", "058"),
                ("account_number", GOOD_ACCOUNT),
                ("amount", "150"),
            ],
            StatusCode::BAD_REQUEST,
            "The amount must be at least 200",
        ),
        (
            [
                ("bank_code", "999"),
                ("account_number", GOOD_ACCOUNT),
                ("amount", "500"),
            ],
            StatusCode::BAD_REQUEST,
            "The bank does not name a known bank",
        ),
        (
            [
                ("bank_code", "058"),
                ("account_number", "12"),
                ("amount", "500"),
            ],
            StatusCode::BAD_REQUEST,
            "The account number",
        ),
        (
            [
                ("bank_code", "058"),
                ("account_number", GOOD_ACCOUNT),
                ("amount", "5000"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "Insufficient balance",
        ),
    ] {
        let page = send_payout(&dash, &fields).await;
        assert_eq!(page.status, status, "{fields:?}: {}", page.html);
        assert!(page.contains(says), "{fields:?}: {}", page.html);
        // What was typed is kept.
        assert!(
            page.contains(&format!("value=\"{}\"", fields[2].1)),
            "{fields:?}"
        );
        assert!(page.contains(">Continue</button>"));
    }
    assert_eq!(payout_count(&app, &business).await, 0);
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(1000), json!(1000))
    );

    // Without an OTP phone the page says where to set one, and no payout can start.
    app.services
        .set_preferences(
            &business_id(&business),
            &Actor::Cli,
            ducat::services::businesses::PreferenceInput {
                otp_phone: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let page = dash.get("/dashboard/payouts").await;
    assert!(page.contains("id=\"no-otp-phone\""));
    assert!(page.contains("href=\"/dashboard/settings/payout\""));
    assert!(!page.contains(">Continue</button>"));
    let page = send_payout(
        &dash,
        &[
            ("bank_code", "058"),
            ("account_number", GOOD_ACCOUNT),
            ("amount", "500"),
        ],
    )
    .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.html
    );
    assert_eq!(payout_count(&app, &business).await, 0);
    app.finish().await;
}

async fn viewers_and_developers_cannot_send_payouts(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    fund(&app, &business, "10000").await;
    let reference = api_payout(&app, &business, json!(300)).await;
    let otp = app.latest_otp(&business, PHONE).await;
    for (email, role) in [
        ("viewer@example.com", Role::Viewer),
        ("developer@example.com", Role::Developer),
    ] {
        let dash = teammate(&app, &business, email, role).await;
        let page = dash.get("/dashboard/payouts").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.html);
        assert!(page.contains("class=\"role-note\""), "{role}");
        assert!(!page.contains(">Continue</button>"), "{role}");
        // They still see the payouts and the transactions.
        assert_eq!(refs(&page), vec![reference.clone()]);
        assert_eq!(
            dash.get(&format!("/dashboard/transactions/{reference}"))
                .await
                .status,
            StatusCode::OK
        );
        let detail = dash.get(&format!("/dashboard/payouts/{reference}")).await;
        assert_eq!(detail.status, StatusCode::OK);
        assert!(!detail.contains(">Confirm payout</button>"), "{role}");
        assert!(detail.contains("class=\"role-note\""), "{role}");

        let sent = send_payout(
            &dash,
            &[
                ("bank_code", "058"),
                ("account_number", GOOD_ACCOUNT),
                ("amount", "500"),
            ],
        )
        .await;
        assert_eq!(sent.status, StatusCode::FORBIDDEN, "{role}: {}", sent.html);
        let path = format!("/dashboard/payouts/{reference}");
        let confirmed = dash
            .submit(&path, &format!("{path}/confirm"), &[("otp", &otp)])
            .await;
        assert_eq!(confirmed.status, StatusCode::FORBIDDEN, "{role}");
        let resent = dash.submit(&path, &format!("{path}/resend"), &[]).await;
        assert_eq!(resent.status, StatusCode::FORBIDDEN, "{role}");
    }
    assert_eq!(payout_count(&app, &business).await, 1);
    assert_eq!(
        status_of(&app, &business, &reference).await,
        "awaiting_otp_verification"
    );
    // The code was neither used nor replaced.
    assert_eq!(app.latest_otp(&business, PHONE).await, otp);
    app.finish().await;
}
