//! Dashboard sign-in, sessions, CSRF and roles over plain HTTP.

use crate::both_engines;
use crate::dashboard_support::{Dashboard, Page};
use crate::helpers::{spawn_app, spawn_app_with, Engine, TestApp, TestBusiness};
use ducat::services::audit::Actor;
use ducat_core::ids::BusinessId;
use ducat_core::roles::Role;
use reqwest::header::{CONTENT_SECURITY_POLICY, SET_COOKIE};
use reqwest::StatusCode;

both_engines!(
    signing_in_sets_a_strict_http_only_cookie_and_opens_the_overview,
    a_wrong_password_and_an_unknown_email_get_the_same_answer,
    failed_sign_ins_are_throttled_per_email,
    pages_need_a_session_and_return_to_the_page_after_sign_in,
    sign_in_never_redirects_to_another_site,
    forms_without_the_sessions_csrf_token_are_refused_and_change_nothing,
    a_form_posted_from_another_origin_is_refused,
    signing_out_ends_the_session_on_the_server,
    sessions_end_after_two_idle_hours,
    the_cookie_is_secure_when_served_over_https,
    an_invited_viewer_can_read_but_not_change,
    an_invitation_works_once,
    the_last_owner_cannot_be_demoted_or_removed,
    a_removed_user_is_signed_out_everywhere,
    unknown_dashboard_pages_are_html_404s,
);

fn business_id(business: &TestBusiness) -> BusinessId {
    BusinessId::parse(&business.id).expect("a business id")
}

/// Invites `email` with `role` through the service and accepts the invitation.
pub async fn add_user(app: &TestApp, business: &TestBusiness, email: &str, role: Role) -> String {
    let password = "correct horse battery staple".to_owned();
    let issued = app
        .services
        .invite_user(&business_id(business), &Actor::Cli, email, role)
        .await
        .expect("invited");
    app.services
        .accept_invite(&issued.token, &password, "127.0.0.1".parse().unwrap())
        .await
        .expect("accepted");
    password
}

fn cookie_of(page: &Page) -> String {
    page.headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("ducat_session="))
        .expect("a session cookie")
        .to_owned()
}

async fn signing_in_sets_a_strict_http_only_cookie_and_opens_the_overview(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let mut dashboard = Dashboard::new(&app);
    let form = dashboard.get("/dashboard/sign-in").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.contains("<label for=\"email\">Email</label>"));
    let signed_in = dashboard
        .sign_in(&business.dashboard_login, &business.dashboard_password)
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_in.location(), Some("/dashboard"));
    let cookie = cookie_of(&signed_in);
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/dashboard"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");

    let overview = dashboard.get("/dashboard").await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.contains("Ada&#39;s Kitchen") || overview.contains("Ada's Kitchen"));
    assert!(overview.contains("data-balance=\"NGN\""));
    assert!(overview.contains("Test mode"));
    let csp = overview.headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(overview.headers["cache-control"], "no-store");
    app.finish().await;
}

async fn a_wrong_password_and_an_unknown_email_get_the_same_answer(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let mut dashboard = Dashboard::new(&app);
    let wrong_password = dashboard
        .sign_in(&business.dashboard_login, "not the password")
        .await;
    let unknown = dashboard
        .sign_in("nobody@example.com", "not the password")
        .await;
    for page in [&wrong_password, &unknown] {
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(
            page.contains("The email or the password is wrong."),
            "{}",
            page.html
        );
        assert!(page.headers.get(SET_COOKIE).is_none());
    }
    // The email typed is kept in the form; the password never is.
    assert!(wrong_password.contains(&format!("value=\"{}\"", business.dashboard_login)));
    assert!(!wrong_password.contains("not the password"));
    app.finish().await;
}

async fn failed_sign_ins_are_throttled_per_email(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let mut dashboard = Dashboard::new(&app);
    for _ in 0..5 {
        let page = dashboard.sign_in(&business.dashboard_login, "guess").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is not checked while the email is locked.
    let locked = dashboard
        .sign_in(&business.dashboard_login, &business.dashboard_password)
        .await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.html
    );
    assert!(locked.contains("Too many failed sign-ins; try again in 15 minutes"));
    assert!(locked.headers.get(SET_COOKIE).is_none());

    // Once the window has passed, the right password works and clears the count.
    app.clock.advance_secs(15 * 60);
    let page = dashboard
        .sign_in(&business.dashboard_login, &business.dashboard_password)
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    app.finish().await;
}

async fn pages_need_a_session_and_return_to_the_page_after_sign_in(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let mut dashboard = Dashboard::new(&app);
    for path in ["/dashboard", "/dashboard/security", "/dashboard/team"] {
        let page = dashboard.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert!(page.location().unwrap().starts_with("/dashboard/sign-in"));
    }
    let page = dashboard.get("/dashboard/security?page=1").await;
    assert_eq!(
        page.location(),
        Some("/dashboard/sign-in?next=%2Fdashboard%2Fsecurity%3Fpage%3D1")
    );
    let form = dashboard
        .get("/dashboard/sign-in?next=%2Fdashboard%2Fsecurity%3Fpage%3D1")
        .await;
    assert!(form.contains("name=\"next\" value=\"/dashboard/security?page=1\""));
    let signed_in = dashboard
        .send_form(
            "/dashboard/sign-in",
            &[
                ("email", &business.dashboard_login),
                ("password", &business.dashboard_password),
                ("next", "/dashboard/security?page=1"),
            ],
        )
        .await;
    assert_eq!(signed_in.location(), Some("/dashboard/security?page=1"));

    // A cookie nobody issued is no session.
    dashboard.cookie = Some("ducat_session=forged".to_owned());
    assert_eq!(
        dashboard.get("/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
    app.finish().await;
}

async fn sign_in_never_redirects_to_another_site(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    for next in [
        "https://evil.example/",
        "//evil.example/dashboard",
        "/\\evil.example",
        "/healthz",
    ] {
        let dashboard = Dashboard::new(&app);
        let page = dashboard
            .send_form(
                "/dashboard/sign-in",
                &[
                    ("email", &business.dashboard_login),
                    ("password", &business.dashboard_password),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(page.location(), Some("/dashboard"), "{next}");
    }
    app.finish().await;
}

async fn forms_without_the_sessions_csrf_token_are_refused_and_change_nothing(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    let other = app.create_business().await;
    let other_dashboard = Dashboard::sign_in_owner(&app, &other).await;
    let someone_elses_token = other_dashboard.get("/dashboard").await.csrf();

    for token in [
        None,
        Some(""),
        Some("guessed"),
        Some(someone_elses_token.as_str()),
    ] {
        let mut fields = vec![("ip_allowlist", "10.0.0.0/8")];
        if let Some(token) = token {
            fields.push(("_csrf", token));
        }
        let page = dashboard
            .send_form("/dashboard/security/ip-allowlist", &fields)
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{token:?}");
        assert!(page.contains("security token is missing or stale"));
    }
    let record = app
        .services
        .business(&business_id(&business))
        .await
        .unwrap();
    assert_eq!(record.ip_allowlist, "");

    // The same form with the session's own token goes through.
    let page = dashboard
        .submit(
            "/dashboard/security",
            "/dashboard/security/ip-allowlist",
            &[("ip_allowlist", "10.0.0.0/8")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    let record = app
        .services
        .business(&business_id(&business))
        .await
        .unwrap();
    assert_eq!(record.ip_allowlist, "10.0.0.0/8");
    app.finish().await;
}

async fn a_form_posted_from_another_origin_is_refused(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    let token = dashboard.get("/dashboard/security").await.csrf();
    let answer = reqwest::Client::new()
        .post(format!("{}/dashboard/security/ip-allowlist", app.address))
        .header("cookie", dashboard.cookie.clone().unwrap())
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={token}&ip_allowlist=10.0.0.0%2F8"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let record = app
        .services
        .business(&business_id(&business))
        .await
        .unwrap();
    assert_eq!(record.ip_allowlist, "");
    app.finish().await;
}

async fn signing_out_ends_the_session_on_the_server(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    let page = dashboard
        .submit("/dashboard", "/dashboard/sign-out", &[])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/dashboard/sign-in?done=signed-out"));
    assert!(cookie_of(&page).contains("Max-Age=0"));
    // The old cookie, replayed, no longer opens anything.
    let after = dashboard.get("/dashboard").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    app.finish().await;
}

async fn sessions_end_after_two_idle_hours(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    app.clock.advance_secs(2 * 60 * 60 - 60);
    assert_eq!(dashboard.get("/dashboard").await.status, StatusCode::OK);
    // Each request moves the idle deadline.
    app.clock.advance_secs(2 * 60 * 60 - 60);
    assert_eq!(dashboard.get("/dashboard").await.status, StatusCode::OK);
    app.clock.advance_secs(2 * 60 * 60);
    assert_eq!(
        dashboard.get("/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
    app.finish().await;
}

async fn the_cookie_is_secure_when_served_over_https(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| {
        c.public_url = Some("https://pay.example.com".to_owned())
    })
    .await
    else {
        return;
    };
    let business = app.create_business().await;
    let mut dashboard = Dashboard::new(&app);
    let page = dashboard
        .sign_in(&business.dashboard_login, &business.dashboard_password)
        .await;
    assert!(cookie_of(&page).contains("; Secure"));
    app.finish().await;
}

async fn an_invited_viewer_can_read_but_not_change(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let password = add_user(&app, &business, "viewer@example.com", Role::Viewer).await;
    let mut viewer = Dashboard::new(&app);
    let page = viewer.sign_in("viewer@example.com", &password).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);

    for path in [
        "/dashboard",
        "/dashboard/security",
        "/dashboard/settings/payout",
        "/dashboard/team",
    ] {
        let page = viewer.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.contains("Your role (viewer) cannot") || path == "/dashboard");
    }
    let security = viewer.get("/dashboard/security").await;
    assert!(!security.contains("name=\"ip_allowlist\""));

    for (action, fields) in [
        (
            "/dashboard/security/ip-allowlist",
            vec![("ip_allowlist", "10.0.0.0/8")],
        ),
        (
            "/dashboard/settings/payout/phone",
            vec![("otp_phone", "+2348030000009")],
        ),
        (
            "/dashboard/team/invites",
            vec![("email", "x@example.com"), ("role", "owner")],
        ),
    ] {
        let page = viewer.submit("/dashboard", action, &fields).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{action}");
        assert!(page.contains("Your role (viewer) does not allow you to"));
    }
    let record = app
        .services
        .business(&business_id(&business))
        .await
        .unwrap();
    assert_eq!(record.ip_allowlist, "");
    assert_eq!(record.otp_phone.as_deref(), Some("+2348031234567"));
    let sms = app
        .get("/sandbox/v1/sms?phone=%2B2348030000009", &business.duplo())
        .await;
    assert_eq!(
        sms.body["data"].as_array().map(Vec::len),
        Some(0),
        "{}",
        sms.text
    );
    app.finish().await;
}

async fn an_invitation_works_once(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let owner = Dashboard::sign_in_owner(&app, &business).await;
    let page = owner
        .submit(
            "/dashboard/team",
            "/dashboard/team/invites",
            &[("email", "Dev@Example.com"), ("role", "developer")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let link = page.code_by_id("invite-link").expect("the link shown once");
    let path = link
        .strip_prefix(&app.address)
        .expect("a link to this server")
        .to_owned();

    let mut invitee = Dashboard::new(&app);
    let join = invitee.get(&path).await;
    assert_eq!(join.status, StatusCode::OK);
    assert!(join.contains("dev@example.com") && join.contains("developer"));
    let short = invitee.send_form(&path, &[("password", "short")]).await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(short.contains("The password must be between 12 and 256 characters."));
    let joined = invitee
        .send_form(&path, &[("password", "a long enough password")])
        .await;
    assert_eq!(joined.location(), Some("/dashboard/sign-in?done=joined"));
    let again = invitee
        .send_form(&path, &[("password", "another long password")])
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    let page = invitee
        .sign_in("dev@example.com", "a long enough password")
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let team = invitee.get("/dashboard/team").await;
    assert!(team.contains("dev@example.com (you)"));
    let audit = owner.get("/dashboard/security").await;
    assert!(audit.contains("user.invited") && audit.contains("user.joined"));

    // An invitation for an email that already has an account is refused.
    let page = owner
        .submit(
            "/dashboard/team",
            "/dashboard/team/invites",
            &[("email", "dev@example.com"), ("role", "viewer")],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    app.finish().await;
}

async fn the_last_owner_cannot_be_demoted_or_removed(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let owner = Dashboard::sign_in_owner(&app, &business).await;
    let team = owner.get("/dashboard/team").await;
    let marker = "/dashboard/team/users/";
    let start = team.html.find(marker).expect("a user row") + marker.len();
    let user_id = team.html[start..].split('/').next().unwrap().to_owned();

    let page = owner
        .submit(
            "/dashboard/team",
            &format!("/dashboard/team/users/{user_id}/role"),
            &[("role", "viewer")],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.contains("The business must keep at least one owner."));
    let page = owner
        .submit(
            "/dashboard/team",
            &format!("/dashboard/team/users/{user_id}/remove"),
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    let page = owner
        .submit(
            "/dashboard/team",
            &format!("/dashboard/team/users/{user_id}/role"),
            &[("role", "emperor")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(owner.get("/dashboard").await.contains("owner"));
    app.finish().await;
}

async fn a_removed_user_is_signed_out_everywhere(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let password = add_user(&app, &business, "dev@example.com", Role::Developer).await;
    let mut developer = Dashboard::new(&app);
    developer.sign_in("dev@example.com", &password).await;
    assert_eq!(developer.get("/dashboard").await.status, StatusCode::OK);

    let owner = Dashboard::sign_in_owner(&app, &business).await;
    let team = owner.get("/dashboard/team").await;
    let row = team.html.find("dev@example.com").unwrap();
    let marker = "/dashboard/team/users/";
    let start = team.html[row..].find(marker).unwrap() + row + marker.len();
    let user_id = team.html[start..].split('/').next().unwrap().to_owned();
    let page = owner
        .submit(
            "/dashboard/team",
            &format!("/dashboard/team/users/{user_id}/remove"),
            &[],
        )
        .await;
    assert_eq!(page.location(), Some("/dashboard/team?done=removed"));
    assert_eq!(
        developer.get("/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
    let again = developer.sign_in("dev@example.com", &password).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    app.finish().await;
}

async fn unknown_dashboard_pages_are_html_404s(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let dashboard = Dashboard::sign_in_owner(&app, &business).await;
    let page = dashboard.get("/dashboard/no-such-page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.contains("<!DOCTYPE html>") && page.contains("There is no such page"));
    let page = dashboard
        .send_form("/dashboard/sign-in", &[("email", "a@b.c")])
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    let raw = reqwest::Client::new()
        .post(format!("{}/dashboard/sign-in", app.address))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    app.finish().await;
}
