//! Second factors at the domain level, on the real database and ephemeral store: TOTP
//! enrollment confirmed by a code the test computes from the secret, codes accepted once,
//! the secret sealed at rest, recovery codes spent once and regenerated, an admin's reset.

use latchkey::domain::audit::{self, Actor, AuditFilter};
use latchkey::domain::mfa::{self, MfaError};
use sea_orm::{ConnectionTrait, Statement};
use totp_rs::{Algorithm, Builder, Secret};

use crate::flow::add_user;
use crate::helpers::TestEnv;

/// The TOTP code for `secret` at `at`, computed here as an authenticator app would.
pub(crate) fn code(secret: &str, at: i64) -> String {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(Secret::try_from_base32(secret).unwrap())
        .with_account_name("test")
        .build()
        .unwrap()
        .generate(at as u64)
        .to_string()
}

#[tokio::test]
async fn totp_is_enrolled_with_a_computed_code_and_each_code_works_once() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let alice = add_user(&app, "alice").await;
    let state = &app.state;
    let now = latchkey::domain::now();

    let setup = mfa::begin_totp(state, &alice.id, "alice").await.unwrap();
    assert!(setup.url.starts_with("otpauth://totp/") && setup.url.contains(&setup.secret), "{}", setup.url);
    assert!(setup.qr_svg.contains("<svg"), "a QR code drawn here, as SVG");
    assert!(matches!(mfa::confirm_totp(state, &alice.id, "000000", now).await, Err(MfaError::WrongCode)));
    assert!(!mfa::status(state, &alice.id).await.unwrap().totp, "not active before a right code");
    let recovery = mfa::confirm_totp(state, &alice.id, &code(&setup.secret, now), now).await.unwrap();
    assert_eq!(recovery.len(), 10);
    assert_eq!(mfa::status(state, &alice.id).await.unwrap(), mfa::MfaStatus { totp: true, recovery_codes_left: 10 });

    // The secret is sealed at rest.
    let row = app
        .state
        .db
        .query_one_raw(Statement::from_string(
            app.state.db.get_database_backend(),
            "SELECT sealed_secret FROM totp_factors",
        ))
        .await
        .unwrap()
        .unwrap();
    let stored: String = row.try_get_by_index(0).unwrap();
    assert!(!stored.contains(&setup.secret));

    // The enrollment's code was spent; the next step's code works once.
    assert!(!mfa::verify_totp(state, &alice.id, &code(&setup.secret, now), now).await.unwrap(), "replayed");
    let later = now + 30;
    assert!(mfa::verify_totp(state, &alice.id, &code(&setup.secret, later), later).await.unwrap());
    assert!(!mfa::verify_totp(state, &alice.id, &code(&setup.secret, later), later).await.unwrap(), "replayed");
    assert!(!mfa::verify_totp(state, &alice.id, &code(&setup.secret, later + 120), later).await.unwrap(), "too far");

    // A recovery code works once, in any case and spacing; regenerating ends the old set.
    let first = recovery[0].to_uppercase().replace('-', " ");
    assert!(mfa::use_recovery_code(state, &alice.id, &first, now).await.unwrap());
    assert!(!mfa::use_recovery_code(state, &alice.id, &recovery[0], now).await.unwrap());
    assert_eq!(mfa::status(state, &alice.id).await.unwrap().recovery_codes_left, 9);
    let fresh = mfa::regenerate_recovery_codes(state, &alice.id, now).await.unwrap();
    assert!(!mfa::use_recovery_code(state, &alice.id, &recovery[1], now).await.unwrap());
    assert!(mfa::use_recovery_code(state, &alice.id, &fresh[0], now).await.unwrap());

    // An admin's reset removes both; a user cannot reset.
    let user = Actor::User { user_id: alice.id.clone(), source_ip: None };
    assert!(matches!(mfa::reset(state, &user, &alice.id).await, Err(MfaError::Forbidden)));
    mfa::reset(state, &Actor::Cli, &alice.id).await.unwrap();
    assert_eq!(mfa::status(state, &alice.id).await.unwrap(), mfa::MfaStatus { totp: false, recovery_codes_left: 0 });

    let filter = AuditFilter { user_id: Some(alice.id.clone()), ..AuditFilter::default() };
    let (events, _) = audit::search(&state.db, &filter, 0, 50).await.unwrap();
    let types: Vec<&str> = events.iter().map(|(_, e)| e.event_type.as_str()).collect();
    for expected in ["mfa_enrolled", "recovery_code_used", "recovery_codes_regenerated", "admin_action"] {
        assert!(types.contains(&expected), "{expected} in {types:?}");
    }
    assert_eq!(types.iter().filter(|t| **t == "recovery_code_used").count(), 2);
}

#[tokio::test]
async fn a_setup_not_confirmed_in_time_is_gone() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let alice = add_user(&app, "alice").await;
    let result = mfa::confirm_totp(&app.state, &alice.id, "123456", latchkey::domain::now()).await;
    assert!(matches!(result, Err(MfaError::SetupExpired)));
}

/// Enrolls `user_id` and returns the secret.
async fn enrolled(app: &crate::helpers::TestApp, user_id: &str, username: &str) -> String {
    let setup = mfa::begin_totp(&app.state, user_id, username).await.unwrap();
    let now = latchkey::domain::now() - 30;
    mfa::confirm_totp(&app.state, user_id, &code(&setup.secret, now), now).await.unwrap();
    setup.secret
}

#[tokio::test]
async fn a_password_sign_in_asks_for_the_code_and_the_id_token_says_mfa() {
    use crate::flow::{ClientOptions, PASSWORD, hidden_field, location, pkce, query_param, register_client};
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let alice = add_user(&app, "alice").await;
    let secret = enrolled(&app, &alice.id, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;

    let pkce = pkce();
    let login = location(&app.authorize(&rp, &pkce, &[]).await);
    let asked = app.submit_login(&login, "alice", PASSWORD).await;
    assert_eq!(location(&asked), "/login/mfa", "a second step, no session yet");
    assert!(!asked.headers().get_all("set-cookie").iter().any(|c| c.to_str().unwrap().contains("latchkey_session=")));
    let page = app.get("/login/mfa").await.text().await.unwrap();
    assert!(page.contains("name=\"code\"") && page.contains("Use a recovery code"), "{page}");
    let csrf = hidden_field(&page, "csrf_token");
    let submit = |code: String| {
        let form = [("csrf_token", csrf.clone()), ("method", "totp".to_string()), ("code", code)];
        app.client.post(app.url("/login/mfa")).form(&form).send()
    };
    assert_eq!(submit("000000".into()).await.unwrap().status(), 401);
    let done = submit(code(&secret, latchkey::domain::now())).await.unwrap();
    let callback = location(&done);
    let code = query_param(&callback, "code").unwrap_or_else(|| panic!("{callback}"));
    let tokens: serde_json::Value = app.exchange_code(&rp, &code, &pkce.verifier).await.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    let part = id_token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap();
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], "urn:latchkey:acr:mfa");
}

#[tokio::test]
async fn wrong_codes_lock_the_account_and_a_recovery_code_signs_in_once() {
    use crate::flow::{PASSWORD, hidden_field, location};
    let env = TestEnv::new().await;
    let app = env.spawn_app_with(|s| s.lockout.max_failed_attempts = 3).await;
    let alice = add_user(&app, "alice").await;
    let setup = mfa::begin_totp(&app.state, &alice.id, "alice").await.unwrap();
    let now = latchkey::domain::now() - 30;
    let recovery = mfa::confirm_totp(&app.state, &alice.id, &code(&setup.secret, now), now).await.unwrap();

    let second_step = |method: &'static str, code: String| {
        let app = &app;
        async move {
            let asked = app.submit_login("/login?prompt=login", "alice", PASSWORD).await;
            assert_eq!(location(&asked), "/login/mfa");
            let page = app.get("/login/mfa?recovery=1").await.text().await.unwrap();
            let form = [("csrf_token", hidden_field(&page, "csrf_token")), ("method", method.into()), ("code", code)];
            app.client.post(app.url("/login/mfa")).form(&form).send().await.unwrap()
        }
    };
    let used = second_step("recovery", recovery[0].clone()).await;
    assert_eq!(location(&used), "/account");
    let again = second_step("recovery", recovery[0].clone()).await;
    assert_eq!(again.status(), 401, "a recovery code works once");
    for _ in 0..2 {
        assert_eq!(second_step("totp", "000000".into()).await.status(), 401);
    }
    assert!(latchkey::domain::login::is_locked(&app.state, &alice.id).await.unwrap(), "three wrong codes lock it");
    // Locked: even the right password now fails like a wrong one.
    let refused = app.submit_login("/login?prompt=login", "alice", PASSWORD).await;
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn an_admin_sees_and_resets_a_users_second_factors_through_the_api_the_console_and_the_cli() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let token = crate::admin_api::admin_token(&app).await;
    for name in ["alice", "bob", "carol"] {
        let user = add_user(&app, name).await;
        enrolled(&app, &user.id, name).await;
    }
    let find = |name: &'static str| latchkey::domain::users::find_by_username(&app.state.db, name);
    let alice = find("alice").await.unwrap();
    let (_, seen) = crate::admin_api::call(&app, &token, "GET", &format!("/users/{}/mfa", alice.id), None).await;
    assert_eq!(seen, serde_json::json!({ "totp": true, "recovery_codes_left": 10 }));
    let (status, _) = crate::admin_api::call(&app, &token, "DELETE", &format!("/users/{}/mfa", alice.id), None).await;
    assert_eq!(status, 204);
    assert!(!mfa::status(&app.state, &alice.id).await.unwrap().totp);

    let bob = find("bob").await.unwrap();
    let (admin, csrf) = crate::admin_console::signed_in_browser(&app, "root", true).await;
    let page = admin.get(app.url(&format!("/admin/users/{}", bob.id))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Authenticator app: on"), "{page}");
    admin
        .post(app.url(&format!("/admin/users/{}/reset-mfa", bob.id)))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(!mfa::status(&app.state, &bob.id).await.unwrap().totp);

    env.latchkey(&["user", "reset-mfa", "carol"], None).assert_success();
    let carol = find("carol").await.unwrap();
    assert_eq!(
        mfa::status(&app.state, &carol.id).await.unwrap(),
        mfa::MfaStatus { totp: false, recovery_codes_left: 0 }
    );

    let filter = AuditFilter { event_type: Some("admin_action".into()), ..AuditFilter::default() };
    let (events, _) = audit::search(&app.state.db, &filter, 0, 100).await.unwrap();
    let resets: Vec<_> = events.iter().filter(|(_, e)| e.details["action"] == "reset_mfa").collect();
    assert_eq!(resets.len(), 3);
}
