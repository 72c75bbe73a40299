//! Both faces' credentials, the business scope and the IP allowlist.

use crate::both_engines;
use crate::helpers::{assert_beqelal_error, assert_duplo_error, fixture, spawn_app, Auth, Engine};
use ducat::services::businesses::PreferenceInput;
use ducat_core::ids::BusinessId;
use reqwest::StatusCode;

both_engines!(
    duplo_rejects_missing_malformed_unknown_and_revoked_keys,
    beqelal_rejects_bad_credentials_in_its_shape,
    a_business_id_that_is_not_the_keys_is_forbidden,
    the_ip_allowlist_answers_403_on_duplo_and_479_on_beqelal,
    credentials_of_one_face_do_not_open_the_other,
);

async fn duplo_rejects_missing_malformed_unknown_and_revoked_keys(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let path = format!(
        "/v1/wallets/balance/{}?business_id={}",
        business.ngn_wallet, business.id
    );

    let missing = app.get(&path, &Auth::None).await;
    assert!(assert_duplo_error(&missing, 401).contains("Authorization"));
    let malformed = app.get(&path, &Auth::Bearer("sk_not_ours".into())).await;
    assert!(assert_duplo_error(&malformed, 401).contains("malformed"));
    let unknown = app
        .get(
            &path,
            &Auth::Bearer("dp_test_0000000000000000000000000000000".into()),
        )
        .await;
    assert_duplo_error(&unknown, 401);

    assert_eq!(
        app.get(&path, &business.duplo()).await.status,
        StatusCode::OK
    );
    let id = BusinessId::parse(&business.id).unwrap();
    let credentials = ducat::store::businesses::list_credentials(&app.services.store, &id)
        .await
        .unwrap();
    let duplo_key = credentials
        .iter()
        .find(|c| c.kind == ducat::store::businesses::CredentialKind::DuploSecret)
        .unwrap();
    assert!(business.secret_key.starts_with(&duplo_key.key_prefix));
    assert!(duplo_key.last_used_at.is_some(), "use is recorded");
    app.services
        .revoke_credential(&id, &ducat::services::audit::Actor::Cli, &duplo_key.id)
        .await
        .unwrap();
    let revoked = app.get(&path, &business.duplo()).await;
    assert!(assert_duplo_error(&revoked, 401).contains("revoked"));
    app.finish().await;
}

async fn beqelal_rejects_bad_credentials_in_its_shape(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let missing = app.get("/api/v1/list/banks", &Auth::None).await;
    assert_beqelal_error(&missing, 401, "401", "UNAUTHORIZED");
    let wrong_app_id = Auth::Beqelal {
        app_id: "app_someoneelse000".into(),
        api_key: business.api_key.clone(),
    };
    assert_beqelal_error(
        &app.get("/api/v1/list/banks", &wrong_app_id).await,
        401,
        "401",
        "UNAUTHORIZED",
    );
    let wrong_key = Auth::Beqelal {
        app_id: business.app_id.clone(),
        api_key: "bq_test_nope".into(),
    };
    assert_beqelal_error(
        &app.get("/api/v1/list/banks", &wrong_key).await,
        401,
        "401",
        "UNAUTHORIZED",
    );
    assert_eq!(
        app.get("/api/v1/list/banks", &business.beqelal())
            .await
            .status,
        StatusCode::OK
    );
    app.finish().await;
}

async fn a_business_id_that_is_not_the_keys_is_forbidden(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let ours = app.create_business().await;
    let theirs = app.create_business().await;
    // Naming another business while using our key.
    let path = format!(
        "/v1/wallets/balance/{}?business_id={}",
        theirs.ngn_wallet, theirs.id
    );
    assert_duplo_error(&app.get(&path, &ours.duplo()).await, 403);
    // Naming ourselves but asking for their wallet: it does not exist for us.
    let path = format!(
        "/v1/wallets/balance/{}?business_id={}",
        theirs.ngn_wallet, ours.id
    );
    assert_duplo_error(&app.get(&path, &ours.duplo()).await, 404);
    app.finish().await;
}

async fn the_ip_allowlist_answers_403_on_duplo_and_479_on_beqelal(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let id = BusinessId::parse(&business.id).unwrap();
    let path = format!(
        "/v1/wallets/balance/{}?business_id={}",
        business.ngn_wallet, business.id
    );

    // Tests call from 127.0.0.1, which this range excludes.
    app.services
        .set_preferences(
            &id,
            &ducat::services::audit::Actor::Cli,
            PreferenceInput {
                ip_allowlist: Some("10.0.0.0/8, 192.168.4.2".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_duplo_error(&app.get(&path, &business.duplo()).await, 403);
    let refused = app.get("/api/v1/list/banks", &business.beqelal()).await;
    assert_eq!(refused.status.as_u16(), 479);
    assert_eq!(refused.body, fixture("beqelal-payment-authorize.479.json"));

    app.services
        .set_preferences(
            &id,
            &ducat::services::audit::Actor::Cli,
            PreferenceInput {
                ip_allowlist: Some("127.0.0.0/8".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        app.get(&path, &business.duplo()).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/list/banks", &business.beqelal())
            .await
            .status,
        StatusCode::OK
    );
    app.finish().await;
}

async fn credentials_of_one_face_do_not_open_the_other(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    // The Beqelal api-key presented as a Duplo bearer token, and the reverse.
    let path = format!(
        "/v1/wallets/balance/{}?business_id={}",
        business.ngn_wallet, business.id
    );
    assert_duplo_error(
        &app.get(&path, &Auth::Bearer(business.api_key.clone()))
            .await,
        401,
    );
    let swapped = Auth::Beqelal {
        app_id: business.app_id.clone(),
        api_key: business.secret_key.clone(),
    };
    assert_beqelal_error(
        &app.get("/api/v1/list/banks", &swapped).await,
        401,
        "401",
        "UNAUTHORIZED",
    );
    app.finish().await;
}
