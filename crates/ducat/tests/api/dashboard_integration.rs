//! Dashboard tests: dashboard_integration. The developers page (keys shown once, working against
//! the API, revoked for good), the webhooks page (settings the API then uses, the secret revealed
//! and rotated with audit entries, a test event to a real receiver, the delivery log) and the
//! sandbox page (a transfer that credits the wallet, the SMS inbox, live businesses kept out).

use crate::both_engines;
use crate::dashboard_support::{Dashboard, Page};
use crate::helpers::{spawn_app, spawn_app_with, Auth, Engine, TestApp, TestBusiness};
use crate::webhooks::{Receiver, ReceiverState};
use ducat::services::audit::Actor;
use ducat::store::businesses::{list_credentials, Mode};
use ducat_core::ids::BusinessId;
use ducat_core::roles::Role;
use reqwest::StatusCode;
use serde_json::json;

both_engines!(
    a_key_created_in_the_dashboard_is_shown_once_works_and_stops_when_revoked,
    a_developer_creates_keys_and_a_viewer_can_neither_create_nor_reveal,
    webhook_settings_saved_in_the_dashboard_are_what_the_api_uses,
    the_webhook_secret_is_revealed_and_rotated_with_audit_entries,
    a_test_event_from_the_dashboard_reaches_the_receiver_and_is_logged,
    a_sandbox_transfer_credits_the_wallet_and_the_inbox_shows_the_payout_otp,
    a_sandbox_transfer_pays_an_open_checkout_or_goes_back_through_suspense,
    bad_sandbox_transfers_are_refused_and_change_nothing,
    a_live_business_has_no_sandbox,
);

const DEVELOPERS: &str = "/dashboard/developers";
const WEBHOOKS: &str = "/dashboard/webhooks";
const SANDBOX: &str = "/dashboard/sandbox";
const PASSWORD: &str = "a long password 123";

fn business_id(business: &TestBusiness) -> BusinessId {
    BusinessId::from_trusted(business.id.clone())
}

/// Invites a user with the role, accepts the invitation and signs them in.
async fn sign_in_as(app: &TestApp, business: &TestBusiness, email: &str, role: Role) -> Dashboard {
    let issued = app
        .services
        .invite_user(&business_id(business), &Actor::Cli, email, role)
        .await
        .unwrap();
    app.services
        .accept_invite(&issued.token, PASSWORD, "127.0.0.1".parse().unwrap())
        .await
        .unwrap();
    let mut dashboard = Dashboard::new(app);
    let page = dashboard.sign_in(email, PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    dashboard
}

async fn audit_actions(app: &TestApp, business: &TestBusiness) -> Vec<(String, String)> {
    let (entries, _) =
        ducat::store::audit::list(&app.services.store, &business_id(business), 100, 0)
            .await
            .unwrap();
    entries.into_iter().map(|e| (e.action, e.actor)).collect()
}

async fn stored_webhook_secret(app: &TestApp, business: &TestBusiness) -> String {
    let record = app.services.business(&business_id(business)).await.unwrap();
    app.services
        .keys
        .decrypt(&record.webhook_secret_enc)
        .unwrap()
}

fn balance_path(business: &TestBusiness) -> String {
    format!(
        "/v1/wallets/balance/{}?business_id={}",
        business.ngn_wallet, business.id
    )
}

async fn a_key_created_in_the_dashboard_is_shown_once_works_and_stops_when_revoked(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;

    let page = dashboard.get(DEVELOPERS).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("id=\"keys\""));
    assert!(page.contains(&business.id), "the business id is shown");
    assert!(page.contains("/api/v1") && page.contains("/v1"));
    assert!(page.contains(">Test</span>"));
    // The keys the business was created with are listed by prefix only.
    assert!(page.contains(&format!("{}…", &business.secret_key[..12])));
    assert!(!page.contains(&business.secret_key));

    let page = dashboard
        .submit(
            DEVELOPERS,
            "/dashboard/developers/keys",
            &[("kind", "duplo_secret")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.headers["cache-control"], "no-store");
    let secret = page
        .code_by_id("new-secret")
        .expect("the new key, shown once");
    assert!(secret.starts_with("dp_test_"), "{secret}");
    assert!(page.code_by_id("new-app-id").is_none());

    // Shown once: afterwards only its prefix.
    let page = dashboard.get(DEVELOPERS).await;
    assert!(!page.contains(&secret));
    assert!(page.contains(&format!("{}…", &secret[..12])));

    // It works against the API.
    let answer = app
        .get(&balance_path(&business), &Auth::Bearer(secret.clone()))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);

    // An app-id and api-key pair works against the Beqelal face.
    let page = dashboard
        .submit(
            DEVELOPERS,
            "/dashboard/developers/keys",
            &[("kind", "beqelal")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let app_id = page.code_by_id("new-app-id").expect("the app-id");
    let api_key = page.code_by_id("new-secret").expect("the api-key");
    assert!(api_key.starts_with("bq_test_"), "{api_key}");
    let pair = Auth::Beqelal {
        app_id: app_id.clone(),
        api_key: api_key.clone(),
    };
    assert_eq!(
        app.get("/api/v1/list/banks", &pair).await.status,
        StatusCode::OK
    );
    let page = dashboard.get(DEVELOPERS).await;
    assert!(page.contains(&app_id));
    assert!(!page.contains(&api_key));

    // An unknown kind creates nothing.
    let before = list_credentials(&app.services.store, &business_id(&business))
        .await
        .unwrap()
        .len();
    let page = dashboard
        .submit(
            DEVELOPERS,
            "/dashboard/developers/keys",
            &[("kind", "root")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    let after = list_credentials(&app.services.store, &business_id(&business))
        .await
        .unwrap()
        .len();
    assert_eq!(before, after);

    // Revoking it makes the API refuse it.
    let credential = list_credentials(&app.services.store, &business_id(&business))
        .await
        .unwrap()
        .into_iter()
        .find(|c| secret.starts_with(&c.key_prefix))
        .expect("the new credential");
    let revoke = format!("/dashboard/developers/keys/{}/revoke", credential.id);
    let page = dashboard.get(DEVELOPERS).await;
    assert!(page.contains(&format!("action=\"{revoke}\"")));
    assert!(page.contains("data-confirm="));
    let page = dashboard.submit(DEVELOPERS, &revoke, &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    assert_eq!(page.location(), Some("/dashboard/developers?done=revoked"));
    let page = dashboard.get(page.location().unwrap()).await;
    assert!(page.contains("The key was revoked"));
    assert!(!page.contains(&format!("action=\"{revoke}\"")));
    let answer = app
        .get(&balance_path(&business), &Auth::Bearer(secret))
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
    // The other keys still work.
    let answer = app.get(&balance_path(&business), &business.duplo()).await;
    assert_eq!(answer.status, StatusCode::OK);
    // Revoking twice is a 404 page, not a 500.
    let page = dashboard.submit(DEVELOPERS, &revoke, &[]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);

    let actions = audit_actions(&app, &business).await;
    assert!(actions.contains(&(
        "credential.created".to_owned(),
        business.dashboard_login.clone()
    )));
    assert!(actions.contains(&(
        "credential.revoked".to_owned(),
        business.dashboard_login.clone()
    )));
    app.finish().await;
}

async fn a_developer_creates_keys_and_a_viewer_can_neither_create_nor_reveal(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let count = || async {
        list_credentials(&app.services.store, &business_id(&business))
            .await
            .unwrap()
            .len()
    };

    let developer = sign_in_as(&app, &business, "dev@example.com", Role::Developer).await;
    let page = developer
        .submit(
            DEVELOPERS,
            "/dashboard/developers/keys",
            &[("kind", "duplo_secret")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.code_by_id("new-secret").is_some());
    assert_eq!(count().await, 3);

    let viewer = sign_in_as(&app, &business, "viewer@example.com", Role::Viewer).await;
    let page = viewer.get(DEVELOPERS).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("id=\"keys\""));
    assert!(!page.contains("Create secret key"));
    assert!(!page.contains(">Revoke<"));
    assert!(page.contains("cannot create or revoke API keys"));
    let page = viewer
        .submit(
            DEVELOPERS,
            "/dashboard/developers/keys",
            &[("kind", "duplo_secret")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.code_by_id("new-secret").is_none());
    assert_eq!(count().await, 3);
    let credential = list_credentials(&app.services.store, &business_id(&business))
        .await
        .unwrap()
        .remove(0);
    let page = viewer
        .submit(
            DEVELOPERS,
            &format!("/dashboard/developers/keys/{}/revoke", credential.id),
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let answer = app.get(&balance_path(&business), &business.duplo()).await;
    assert_eq!(answer.status, StatusCode::OK);

    // Nor the webhook secret, nor the webhook settings.
    let secret = stored_webhook_secret(&app, &business).await;
    let page = viewer.get(WEBHOOKS).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.contains("Reveal secret"));
    assert!(!page.contains("Save webhook"));
    let record = app
        .services
        .business(&business_id(&business))
        .await
        .unwrap();
    assert!(!page.contains(&record.verify_hash));
    let page = viewer
        .submit(WEBHOOKS, "/dashboard/webhooks/reveal", &[])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(!page.contains(&secret));
    let page = viewer
        .submit(WEBHOOKS, "/dashboard/webhooks/rotate", &[])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = viewer
        .submit(
            WEBHOOKS,
            "/dashboard/webhooks/save",
            &[
                ("webhook_url", "https://example.com/hook"),
                ("verify_hash", ""),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(stored_webhook_secret(&app, &business).await, secret);
    let record = app
        .services
        .business(&business_id(&business))
        .await
        .unwrap();
    assert_eq!(record.webhook_url, None);
    assert!(!audit_actions(&app, &business)
        .await
        .iter()
        .any(|(action, _)| action.starts_with("webhook")));
    app.finish().await;
}

async fn webhook_settings_saved_in_the_dashboard_are_what_the_api_uses(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    let page = dashboard.get(WEBHOOKS).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("whsec_••••"));
    assert!(page.contains("How to verify") && page.contains("webhook-signature"));
    let original_hash = app
        .services
        .business(&business_id(&business))
        .await
        .unwrap()
        .verify_hash;

    let page = dashboard
        .submit(
            WEBHOOKS,
            "/dashboard/webhooks/save",
            &[
                ("webhook_url", "https://shop.example.com/hooks"),
                ("verify_hash", ""),
            ],
        )
        .await;
    assert_eq!(
        page.location(),
        Some("/dashboard/webhooks?done=saved"),
        "{}",
        page.html
    );
    let record = app
        .services
        .business(&business_id(&business))
        .await
        .unwrap();
    assert_eq!(
        record.webhook_url.as_deref(),
        Some("https://shop.example.com/hooks")
    );
    assert_eq!(
        record.verify_hash, original_hash,
        "an empty verify hash keeps the old one"
    );
    let page = dashboard.get(page.location().unwrap()).await;
    assert!(page.contains("The webhook settings were saved."));
    assert!(page.contains("value=\"https://shop.example.com/hooks\""));

    let page = dashboard
        .submit(
            WEBHOOKS,
            "/dashboard/webhooks/save",
            &[
                ("webhook_url", "https://shop.example.com/v2"),
                ("verify_hash", "my-hash-42"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let record = app
        .services
        .business(&business_id(&business))
        .await
        .unwrap();
    assert_eq!(
        record.webhook_url.as_deref(),
        Some("https://shop.example.com/v2")
    );
    assert_eq!(record.verify_hash, "my-hash-42");

    // A bad URL changes nothing and keeps what was typed.
    let page = dashboard
        .submit(
            WEBHOOKS,
            "/dashboard/webhooks/save",
            &[
                ("webhook_url", "ftp://shop.example.com"),
                ("verify_hash", "other"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("The webhook URL must be an http:// or https:// URL."),
        "{}",
        page.html
    );
    assert!(page.contains("value=\"ftp://shop.example.com\""));
    let record = app
        .services
        .business(&business_id(&business))
        .await
        .unwrap();
    assert_eq!(
        record.webhook_url.as_deref(),
        Some("https://shop.example.com/v2")
    );
    assert_eq!(record.verify_hash, "my-hash-42");

    // An empty URL clears it.
    let page = dashboard
        .submit(
            WEBHOOKS,
            "/dashboard/webhooks/save",
            &[("webhook_url", " "), ("verify_hash", "")],
        )
        .await;
    assert_eq!(page.location(), Some("/dashboard/webhooks?done=cleared"));
    let record = app
        .services
        .business(&business_id(&business))
        .await
        .unwrap();
    assert_eq!(record.webhook_url, None);
    let actions = audit_actions(&app, &business).await;
    assert_eq!(
        actions
            .iter()
            .filter(|(a, _)| a == "webhook_url.changed")
            .count(),
        3
    );
    app.finish().await;
}

async fn the_webhook_secret_is_revealed_and_rotated_with_audit_entries(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    let original = stored_webhook_secret(&app, &business).await;
    let page = dashboard.get(WEBHOOKS).await;
    assert!(
        !page.contains(&original),
        "the secret is masked until revealed"
    );

    let page = dashboard
        .submit(WEBHOOKS, "/dashboard/webhooks/reveal", &[])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(
        page.code_by_id("webhook-secret").as_deref(),
        Some(original.as_str())
    );
    assert!(original.starts_with("whsec_"));
    assert!(audit_actions(&app, &business).await.contains(&(
        "webhook_secret.revealed".to_owned(),
        business.dashboard_login.clone()
    )));

    let page = dashboard
        .submit(WEBHOOKS, "/dashboard/webhooks/rotate", &[])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let rotated = page.code_by_id("webhook-secret").expect("the new secret");
    assert_ne!(rotated, original);
    assert_eq!(stored_webhook_secret(&app, &business).await, rotated);
    assert!(page.contains("deliveries are signed with the previous secret too"));
    assert!(page.contains("Also signs deliveries until"));
    let record = app
        .services
        .business(&business_id(&business))
        .await
        .unwrap();
    assert!(record.webhook_previous_secret_expires_at.is_some());
    assert!(audit_actions(&app, &business).await.contains(&(
        "webhook_secret.rotated".to_owned(),
        business.dashboard_login.clone()
    )));

    // Shown once: the page after masks it again; revealing shows the new one.
    let page = dashboard.get(WEBHOOKS).await;
    assert!(!page.contains(&rotated));
    let page = dashboard
        .submit(WEBHOOKS, "/dashboard/webhooks/reveal", &[])
        .await;
    assert_eq!(
        page.code_by_id("webhook-secret").as_deref(),
        Some(rotated.as_str())
    );
    app.finish().await;
}

async fn a_test_event_from_the_dashboard_reaches_the_receiver_and_is_logged(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| {
        c.webhook_allow_private_targets = true;
        c.webhook_timeout_secs = 1;
    })
    .await
    else {
        return;
    };
    let business = app.create_business().await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    let receiver = Receiver::start(ReceiverState::default()).await;

    // No URL yet: an error notice, no event.
    let page = dashboard
        .submit(WEBHOOKS, "/dashboard/webhooks/test", &[])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.contains("The webhook URL is not set"), "{}", page.html);
    assert!(!page.contains("id=\"deliveries\""));

    let url = receiver.url("/hook");
    let page = dashboard
        .submit(
            WEBHOOKS,
            "/dashboard/webhooks/save",
            &[("webhook_url", &url), ("verify_hash", "")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let page = dashboard
        .submit(WEBHOOKS, "/dashboard/webhooks/test", &[])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.contains("delivered: the receiver answered HTTP 200"),
        "{}",
        page.html
    );
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].json()["data"]["event_type"], "WEBHOOK_TEST");
    assert!(received[0].header("webhook-signature").is_some());
    let event_id = received[0].header("webhook-id").unwrap().to_owned();

    let page = dashboard.get(WEBHOOKS).await;
    assert!(page.contains("id=\"deliveries\""));
    assert!(page.contains(&event_id));
    assert!(page.contains("WEBHOOK_TEST"));
    assert!(page.contains(">delivered<"));
    assert!(page.contains("HTTP 200"));
    let redeliver = format!("/dashboard/webhooks/events/{event_id}/redeliver");
    assert!(page.contains(&format!("action=\"{redeliver}\"")));

    // An inflow's event links to its transaction.
    app.fund(&business, &business.ngn_account, "100").await;
    let page = dashboard.get(WEBHOOKS).await;
    assert!(page.contains("ACCOUNT_INFLOW"));
    assert!(page.contains("href=\"/dashboard/transactions/"));

    let page = dashboard.submit(WEBHOOKS, &redeliver, &[]).await;
    assert_eq!(
        page.location(),
        Some("/dashboard/webhooks?done=redelivered")
    );
    let delivery = ducat::store::webhooks::delivery(&app.services.store, &event_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivery.status, "pending");
    let page = dashboard
        .submit(
            WEBHOOKS,
            "/dashboard/webhooks/events/evt_nothing/redeliver",
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    app.finish().await;
}

fn sms_bodies(page: &Page) -> Vec<String> {
    page.html
        .split("<td class=\"sms-body\">")
        .skip(1)
        .filter_map(|rest| rest.split("</td>").next())
        .map(str::to_owned)
        .collect()
}

async fn a_sandbox_transfer_credits_the_wallet_and_the_inbox_shows_the_payout_otp(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    let page = dashboard.get(SANDBOX).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains(&format!("value=\"{}\"", business.ngn_account)));
    assert!(page.contains(&format!("value=\"{}\"", business.etb_account)));

    let page = dashboard
        .submit(
            SANDBOX,
            "/dashboard/sandbox/transfers",
            &[
                ("account_number", &business.ngn_account),
                ("amount", "5000.50"),
                ("source_account_name", "Chidi Okeke"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.contains("₦5,000.50 was credited to the NGN wallet"),
        "{}",
        page.html
    );
    assert!(page.contains("Session id: "));
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(5000.5)
    );

    // A payout's OTP shows in the inbox.
    let answer = app
        .post(
            "/v1/wallets/v2/transfer",
            &business.duplo(),
            json!({
                "business_id": business.id, "amount": 500, "recipient_bank_code": "058",
                "recipient_account_number": "0123456789", "description": "rent",
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let otp = app.latest_otp(&business, "+2348031234567").await;
    let page = dashboard.get(SANDBOX).await;
    assert!(page.contains("id=\"sms-inbox\""));
    let bodies = sms_bodies(&page);
    assert!(!bodies.is_empty());
    assert!(bodies[0].contains(&otp), "newest first: {bodies:?}");
    assert!(page.contains("+2348031234567"));
    app.finish().await;
}

async fn a_sandbox_transfer_pays_an_open_checkout_or_goes_back_through_suspense(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    let answer = app
        .post(
            "/v1/checkout/",
            &business.duplo(),
            json!({ "business_id": business.id, "amount": "1200", "fee_bearer": "business" }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let reference = answer.body["data"]["checkout_reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let account = answer.body["data"]["account_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = dashboard.get(SANDBOX).await;
    assert!(page.contains(&format!("value=\"{account}\"")));
    assert!(page.contains(&reference));

    let page = dashboard
        .submit(
            SANDBOX,
            "/dashboard/sandbox/transfers",
            &[("account_number", &account), ("amount", "1000")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.contains("was returned to the sender through suspense: wrong amount"),
        "{}",
        page.html
    );
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(0)
    );

    let page = dashboard
        .submit(
            SANDBOX,
            "/dashboard/sandbox/transfers",
            &[("account_number", &account), ("amount", "1200")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.contains(&format!("₦1,200.00 paid checkout {reference}")),
        "{}",
        page.html
    );
    assert!(
        !page.contains(&format!("value=\"{account}\"")),
        "a paid checkout is no longer offered"
    );
    app.finish().await;
}

async fn bad_sandbox_transfers_are_refused_and_change_nothing(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let other = app.create_business().await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    for (account, amount, expected) in [
        (business.ngn_account.as_str(), "abc", "The amount"),
        (business.ngn_account.as_str(), "-5", "The amount"),
        (
            business.ngn_account.as_str(),
            "0",
            "The amount must be greater than zero.",
        ),
        (business.ngn_account.as_str(), "", "The amount is required."),
        (
            "9999999999",
            "100",
            "The account number is not one of this business's accounts.",
        ),
        (
            other.ngn_account.as_str(),
            "100",
            "The account number is not one of this business's accounts.",
        ),
    ] {
        let page = dashboard
            .submit(
                SANDBOX,
                "/dashboard/sandbox/transfers",
                &[("account_number", account), ("amount", amount)],
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::BAD_REQUEST,
            "{account} {amount}: {}",
            page.html
        );
        assert!(page.contains(expected), "{account} {amount}: {}", page.html);
        assert!(page.contains("role=\"alert\""));
    }
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await.0,
        json!(0)
    );
    assert_eq!(app.balance(&other, &other.ngn_wallet).await.0, json!(0));
    // What was typed stays in the form.
    let page = dashboard
        .submit(
            SANDBOX,
            "/dashboard/sandbox/transfers",
            &[
                ("account_number", &business.etb_account),
                ("amount", "12.345"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.contains("value=\"12.345\""));
    assert_eq!(
        app.balance(&business, &business.etb_wallet).await.0,
        json!(0)
    );
    app.finish().await;
}

async fn a_live_business_has_no_sandbox(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business_in(Mode::Live).await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    let page = dashboard.get(SANDBOX).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.contains("The sandbox is for test mode"));
    let page = dashboard
        .submit(
            DEVELOPERS,
            "/dashboard/sandbox/transfers",
            &[("account_number", &business.ngn_account), ("amount", "100")],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let page = dashboard.get(DEVELOPERS).await;
    assert!(page.contains(">Live</span>"));
    assert!(!page.contains("href=\"/dashboard/sandbox\""));
    let page = dashboard
        .submit(
            DEVELOPERS,
            "/dashboard/developers/keys",
            &[("kind", "duplo_secret")],
        )
        .await;
    let secret = page.code_by_id("new-secret").unwrap();
    assert!(secret.starts_with("dp_live_"), "{secret}");
    app.finish().await;
}
