//! Hardening: what a credential change, a disabled or deleted account or client, and a
//! revoked or replayed token end; re-authentication for sensitive account actions.

use std::time::Duration;

use latchkey::domain::audit::{self, AuditFilter};
use latchkey::domain::{now, sessions};
use reqwest::Client;
use serde_json::{Value, json};

use crate::admin_api::{admin_token, call};
use crate::flow::{ClientOptions, PASSWORD, Rp, add_user, hidden_field, location, pkce, register_client};
use crate::helpers::{TestApp, TestEnv};

fn browser() -> Client {
    Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A new browser signed in as `username`; returns it and its CSRF token.
async fn signed_in(app: &TestApp, username: &str, password: &str) -> (Client, String) {
    let browser = browser();
    let page = browser.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_field(&page, "csrf_token");
    let form = [("csrf_token", csrf.as_str()), ("username", username), ("password", password)];
    let response = browser.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(location(&response), "/account", "{username} signs in");
    let fresh = crate::flow::current_csrf(app, &browser).await;
    assert_ne!(fresh, csrf, "the token changes at sign-in");
    (browser, fresh)
}

async fn is_signed_in(app: &TestApp, browser: &Client) -> bool {
    browser.get(app.url("/account")).send().await.unwrap().status() == 200
}

async fn refresh(app: &TestApp, rp: &Rp, tokens: &Value) -> reqwest::Response {
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    app.token(rp, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
}

/// Whether both the access token (at userinfo) and the refresh token of `tokens` are dead.
async fn assert_grant_ended(app: &TestApp, rp: &Rp, tokens: &Value) {
    let access_token = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.userinfo(access_token).await.status(), 401, "the access token is dead");
    let refreshed = refresh(app, rp, tokens).await;
    assert_eq!(refreshed.status(), 400, "the refresh token is dead");
    assert_eq!(refreshed.json::<Value>().await.unwrap()["error"], "invalid_grant");
}

async fn app_with_rp(env: &TestEnv) -> (TestApp, Rp) {
    let app = env.spawn_app().await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    (app, rp)
}

#[tokio::test]
async fn a_revocation_survives_the_loss_of_the_ephemeral_store() {
    let env = TestEnv::new().await;
    let (app, rp) = app_with_rp(&env).await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let form = [("token", tokens["refresh_token"].as_str().unwrap())];
    let revoked = app.client.post(app.url("/revoke")).basic_auth("webapp", rp.secret.as_ref()).form(&form);
    assert_eq!(revoked.send().await.unwrap().status(), 200);

    // Another instance whose ephemeral store knows nothing: a restarted in-process store,
    // or a Redis that lost its data (here: an empty key prefix).
    let fresh = env.spawn_app_with(|settings| settings.redis.key_prefix = format!("{}wiped:", env.redis_prefix)).await;
    let access_token = tokens["access_token"].as_str().unwrap();
    assert_eq!(fresh.userinfo(access_token).await.status(), 401);
    let introspected: Value = fresh
        .client
        .post(fresh.url("/introspect"))
        .basic_auth("webapp", rp.secret.as_ref())
        .form(&[("token", access_token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["active"], false);
}

#[tokio::test]
async fn a_code_replayed_at_the_same_moment_ends_the_grant_of_the_exchange_that_won() {
    let env = TestEnv::new().await;
    let (app, rp) = app_with_rp(&env).await;
    for _ in 0..3 {
        let p = pkce();
        let code = app.obtain_code(&rp, "alice", &p, &[]).await;
        let (first, second) =
            tokio::join!(app.exchange_code(&rp, &code, &p.verifier), app.exchange_code(&rp, &code, &p.verifier));
        let mut statuses = [first.status().as_u16(), second.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 400], "exactly one exchange wins");
        let winner: Value =
            if first.status() == 200 { first.json().await.unwrap() } else { second.json().await.unwrap() };
        assert_grant_ended(&app, &rp, &winner).await;
    }
}

#[tokio::test]
async fn revoking_an_access_token_ends_its_whole_grant() {
    let env = TestEnv::new().await;
    let (app, rp) = app_with_rp(&env).await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let form = [("token", tokens["access_token"].as_str().unwrap()), ("token_type_hint", "access_token")];
    let revoked = app.client.post(app.url("/revoke")).basic_auth("webapp", rp.secret.as_ref()).form(&form);
    assert_eq!(revoked.send().await.unwrap().status(), 200);
    assert_grant_ended(&app, &rp, &tokens).await;
}

#[tokio::test]
async fn a_password_change_asks_for_the_current_one_and_ends_every_other_session_and_grant() {
    let env = TestEnv::new().await;
    let (app, rp) = app_with_rp(&env).await;
    let (receiver_uri, mut logouts) = crate::backchannel::start_receiver();
    let notified = register_client(
        &app,
        "notified",
        ClientOptions { first_party: true, backchannel_logout_uri: Some(receiver_uri), ..ClientOptions::default() },
    )
    .await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let other_tokens = app.tokens_for(&notified, "alice").await;
    let (other_browser, _) = signed_in(&app, "alice", PASSWORD).await;
    let (browser, csrf) = signed_in(&app, "alice", PASSWORD).await;
    let cookie_before = browser.get(app.url("/account")).send().await.unwrap().status();
    assert_eq!(cookie_before, 200);

    let change = |current: &'static str| {
        let form = [
            ("csrf_token", csrf.clone()),
            ("current_password", current.to_string()),
            ("password", "a brand new passphrase".to_string()),
            ("confirm", "a brand new passphrase".to_string()),
        ];
        browser.post(app.url("/account/password")).form(&form).send()
    };
    let wrong = change("not my password").await.unwrap();
    assert_eq!(wrong.status(), 400);
    assert!(wrong.text().await.unwrap().contains("current password is not right"));
    assert!(is_signed_in(&app, &other_browser).await, "a refused change ends nothing");

    let changed = change(PASSWORD).await.unwrap();
    assert_eq!(location(&changed), "/account?done=password");
    assert!(
        changed.headers().get_all("set-cookie").iter().any(|c| c.to_str().unwrap().starts_with("latchkey_session="))
    );
    assert!(is_signed_in(&app, &browser).await, "this browser stays signed in, with a renewed session");
    assert!(!is_signed_in(&app, &other_browser).await, "every other browser is signed out");
    assert_grant_ended(&app, &rp, &tokens).await;
    assert_grant_ended(&app, &notified, &other_tokens).await;
    let logout = tokio::time::timeout(Duration::from_secs(10), logouts.recv()).await.expect("a logout token");
    assert!(logout.is_some(), "the client got back-channel logout");

    let filter = AuditFilter { event_type: Some("password_changed".into()), ..AuditFilter::default() };
    assert_eq!(audit::search(&app.state.db, &filter, 0, 10).await.unwrap().1, 1);
}

#[tokio::test]
async fn an_admin_reset_ends_every_session_and_grant_and_can_remove_the_passkeys() {
    let world = crate::passkeys::world_with_passkey().await;
    let app = &world.app;
    let alice = latchkey::domain::users::find_by_username(&app.state.db, "alice").await.unwrap();
    let tokens = app.tokens_for(&world.rp, "alice").await;
    let (browser, _) = signed_in(app, "alice", PASSWORD).await;
    assert_eq!(latchkey::domain::passkeys::list(&app.state, &alice.id).await.unwrap().len(), 1);

    let admin = admin_token(app).await;
    let body = json!({ "password": "temporary passphrase", "temporary": true, "remove_passkeys": true });
    let (status, _) = call(app, &admin, "PUT", &format!("/users/{}/password", alice.id), Some(body)).await;
    assert_eq!(status, 204);
    assert!(!is_signed_in(app, &browser).await);
    assert_grant_ended(app, &world.rp, &tokens).await;
    assert!(latchkey::domain::passkeys::list(&app.state, &alice.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn disabling_a_user_ends_their_grants_for_good() {
    let env = TestEnv::new().await;
    let (app, rp) = app_with_rp(&env).await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let alice = latchkey::domain::users::find_by_username(&app.state.db, "alice").await.unwrap();
    let admin = admin_token(&app).await;
    let path = format!("/users/{}", alice.id);
    assert_eq!(call(&app, &admin, "PATCH", &path, Some(json!({ "disabled": true }))).await.0, 200);
    assert_eq!(call(&app, &admin, "PATCH", &path, Some(json!({ "disabled": false }))).await.0, 200);
    assert_grant_ended(&app, &rp, &tokens).await;
}

#[tokio::test]
async fn a_disabled_client_loses_its_tokens_and_a_deleted_one_leaves_nothing_to_its_successor() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "shop", ClientOptions::default()).await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let admin = admin_token(&app).await;
    let (_, client) = call(&app, &admin, "GET", "/clients/shop", None).await;
    let mut disabled = client.clone();
    disabled["enabled"] = json!(false);
    assert_eq!(call(&app, &admin, "PUT", "/clients/shop", Some(disabled)).await.0, 200);
    assert_eq!(call(&app, &admin, "PUT", "/clients/shop", Some(client)).await.0, 200, "enabled again");
    assert_grant_ended(&app, &rp, &tokens).await;

    let tokens = app.tokens_for(&rp, "alice").await;
    assert_eq!(call(&app, &admin, "DELETE", "/clients/shop", None).await.0, 204);
    let successor = register_client(&app, "shop", ClientOptions::default()).await;
    assert_grant_ended(&app, &successor, &tokens).await;
    // The user's consent went with the old client: the successor asks again.
    let response = app.authorize(&successor, &pkce(), &[]).await;
    assert!(location(&response).starts_with("/consent"), "{}", location(&response));
}

#[tokio::test]
async fn introspection_tells_only_the_tokens_own_client() {
    let env = TestEnv::new().await;
    let (app, rp) = app_with_rp(&env).await;
    let other = register_client(&app, "other", ClientOptions::default()).await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let introspect = |rp: &Rp| {
        app.client
            .post(app.url("/introspect"))
            .basic_auth(&rp.client_id, rp.secret.as_ref())
            .form(&[("token", tokens["access_token"].as_str().unwrap())])
            .send()
    };
    let own: Value = introspect(&rp).await.unwrap().json().await.unwrap();
    assert_eq!(own["active"], true);
    let foreign: Value = introspect(&other).await.unwrap().json().await.unwrap();
    assert_eq!(foreign["active"], false);
}

#[tokio::test]
async fn a_refresh_mints_no_scope_the_client_has_lost() {
    let env = TestEnv::new().await;
    let (app, rp) = app_with_rp(&env).await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let admin = admin_token(&app).await;
    let (_, mut client) = call(&app, &admin, "GET", "/clients/webapp", None).await;
    client["scope"] = json!("openid email offline_access");
    assert_eq!(call(&app, &admin, "PUT", "/clients/webapp", Some(client)).await.0, 200);

    let refreshed: Value = refresh(&app, &rp, &tokens).await.json().await.unwrap();
    assert_eq!(refreshed["scope"], "openid email offline_access", "{refreshed}");
    let asked = app
        .token(
            &rp,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refreshed["refresh_token"].as_str().unwrap()),
                ("scope", "openid profile"),
            ],
        )
        .await;
    assert_eq!(asked.json::<Value>().await.unwrap()["error"], "invalid_scope");
}

#[tokio::test]
async fn an_access_token_is_no_id_token_hint() {
    let env = TestEnv::new().await;
    let (app, rp) = app_with_rp(&env).await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let with_hint = |hint: &str| app.client.get(app.url("/logout")).query(&[("id_token_hint", hint)]).send();
    assert_eq!(with_hint(tokens["access_token"].as_str().unwrap()).await.unwrap().status(), 400);
    assert_eq!(with_hint(tokens["id_token"].as_str().unwrap()).await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_temporary_password_must_be_replaced_before_anything_else() {
    let env = TestEnv::new().await;
    let (app, rp) = app_with_rp(&env).await;
    let admin_api = admin_token(&app).await;
    let (_, root) = call(
        &app,
        &admin_api,
        "POST",
        "/users",
        Some(json!({ "username": "root", "password": PASSWORD, "admin": true })),
    )
    .await;
    let body = json!({ "password": "temporary pass", "temporary": true });
    assert_eq!(
        call(&app, &admin_api, "PUT", &format!("/users/{}/password", root["id"].as_str().unwrap()), Some(body)).await.0,
        204
    );
    let browser = browser();
    let page = browser.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_field(&page, "csrf_token");
    let form = [("csrf_token", csrf.as_str()), ("username", "root"), ("password", "temporary pass")];
    browser.post(app.url("/login")).form(&form).send().await.unwrap();

    let console = browser.get(app.url("/admin/users")).send().await.unwrap();
    assert_eq!(location(&console), "/account/password", "the console waits for a new password");
    let api = browser.get(app.url("/admin/api/users")).header("X-CSRF-Token", &csrf).send().await.unwrap();
    assert_eq!(api.status(), 403);
    let passkey =
        browser.post(app.url("/account/passkeys/register/start")).header("X-CSRF-Token", &csrf).send().await.unwrap();
    assert_eq!(passkey.status(), 403);

    // prompt=none cannot ask the user to do anything: interaction_required.
    let admin_rp =
        register_client(&app, "console-app", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let _ = rp;
    let p = pkce();
    let params = [
        ("response_type", "code"),
        ("client_id", admin_rp.client_id.as_str()),
        ("redirect_uri", crate::flow::REDIRECT_URI),
        ("scope", "openid"),
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("prompt", "none"),
    ];
    let response = browser.get(app.url("/authorize")).query(&params).send().await.unwrap();
    let answer = location(&response);
    assert!(answer.starts_with(crate::flow::REDIRECT_URI), "{answer}");
    assert_eq!(crate::flow::query_param(&answer, "error").as_deref(), Some("interaction_required"));
}

/// A browser holding a session that signed in `age_secs` ago.
async fn browser_signed_in_ago(app: &TestApp, username: &str, age_secs: i64) -> (Client, String) {
    let user = latchkey::domain::users::find_by_username(&app.state.db, username).await.unwrap();
    let ttl = app.state.settings.sessions.ttl_secs;
    let session = sessions::start(
        &app.state.ephemeral,
        None,
        &user.id,
        vec!["pwd".into()],
        Default::default(),
        ttl,
        now() - age_secs,
    )
    .await
    .unwrap();
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let url: reqwest::Url = app.address.parse().unwrap();
    jar.add_cookie_str(&format!("latchkey_session={}; Path=/", session.id), &url);
    let browser = Client::builder().cookie_provider(jar).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csrf = hidden_field(&page.text().await.unwrap(), "csrf_token");
    (browser, csrf)
}

#[tokio::test]
async fn adding_or_deleting_a_passkey_needs_a_recent_sign_in() {
    let world = crate::passkeys::world_with_passkey().await;
    let app = &world.app;
    let alice = latchkey::domain::users::find_by_username(&app.state.db, "alice").await.unwrap();
    let passkey_id = latchkey::domain::passkeys::list(&app.state, &alice.id).await.unwrap()[0].id.clone();

    let (stale, csrf) = browser_signed_in_ago(app, "alice", 600).await;
    let start =
        stale.post(app.url("/account/passkeys/register/start")).header("X-CSRF-Token", &csrf).send().await.unwrap();
    assert_eq!(start.status(), 401);
    let body: Value = start.json().await.unwrap();
    assert_eq!(body["sign_in"], "/login?prompt=login&next=%2Faccount");
    let delete = stale
        .post(app.url(&format!("/account/passkeys/{passkey_id}/delete")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&delete), "/login?prompt=login&next=%2Faccount");
    assert_eq!(latchkey::domain::passkeys::list(&app.state, &alice.id).await.unwrap().len(), 1, "nothing deleted");

    // The login page asks again even though the browser is signed in, then comes back.
    let page = stale.get(app.url("/login?prompt=login&next=%2Faccount")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Confirm it"), "{page}");
    let form = [
        ("csrf_token", hidden_field(&page, "csrf_token")),
        ("next", hidden_field(&page, "next")),
        ("username", "alice".into()),
        ("password", PASSWORD.into()),
    ];
    let signed_in = stale.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(location(&signed_in), "/account");
    let csrf = crate::flow::current_csrf(app, &stale).await;
    let start =
        stale.post(app.url("/account/passkeys/register/start")).header("X-CSRF-Token", &csrf).send().await.unwrap();
    assert_eq!(start.status(), 200);
    let delete = stale
        .post(app.url(&format!("/account/passkeys/{passkey_id}/delete")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&delete), "/account");
    assert!(latchkey::domain::passkeys::list(&app.state, &alice.id).await.unwrap().is_empty());

    // An outside address is never where a sign-in goes next.
    let page =
        stale.get(app.url("/login?prompt=login&next=%2F%2Fevil.example")).send().await.unwrap().text().await.unwrap();
    assert_eq!(hidden_field(&page, "next"), "");
}

#[tokio::test]
async fn refused_token_requests_are_audited_bounded_and_a_flood_is_not_written_row_by_row() {
    let env = TestEnv::new().await;
    let app = env.spawn_app_with(|settings| settings.rate_limits.failed_client_auth_per_minute = 0).await;
    let long_id = "x".repeat(1000);
    let refused =
        app.client.post(app.url("/token")).form(&[("grant_type", "client_credentials"), ("client_id", &long_id)]);
    let refused = refused.send().await.unwrap();
    assert_eq!(refused.status(), 401, "an overlong client_id is a refusal, not a failed insert");
    for _ in 0..40 {
        let form = [("grant_type", "client_credentials"), ("client_id", "nobody")];
        assert_eq!(app.client.post(app.url("/token")).form(&form).send().await.unwrap().status(), 401);
    }
    let filter = AuditFilter { event_type: Some("token_refused".into()), ..AuditFilter::default() };
    let (events, total) = audit::search(&app.state.db, &filter, 0, 100).await.unwrap();
    assert_eq!(total, latchkey::domain::grants::REFUSALS_AUDITED_PER_MINUTE, "one address, one minute");
    let first = events.last().unwrap();
    assert_eq!(first.1.client_id.as_deref().map(str::len), Some(64), "the claimed client id is cut to 64");
}

#[tokio::test]
async fn http_redirect_uris_are_for_loopback_hosts_unless_allowed() {
    let env = TestEnv::new().await;
    env.latchkey(&["client", "add", "lan", "--redirect-uri", "http://app.example/cb"], None).assert_refused("loopback");
    env.latchkey(&["client", "add", "dev", "--redirect-uri", "http://127.0.0.1:8000/cb"], None).assert_success();
    let mut vars = env.env_vars();
    vars.push(("LATCHKEY_CLIENTS__ALLOW_INSECURE_REDIRECTS".into(), "true".into()));
    let args = ["client", "add", "lan", "--redirect-uri", "http://app.example/cb"];
    crate::helpers::run_latchkey(env.dir.path(), &vars, &args, None).assert_success();
}

#[tokio::test]
async fn pkce_can_be_required_of_one_confidential_client_or_of_all() {
    let env = TestEnv::new().await;
    let without_pkce = |app: &TestApp, client_id: &str| {
        let params = [
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", crate::flow::REDIRECT_URI),
            ("scope", "openid"),
            ("state", "s"),
        ];
        app.client.get(app.url("/authorize")).query(&params).send()
    };
    let error_of = |response: reqwest::Response| crate::flow::query_param(&location(&response), "error");
    {
        let app = env.spawn_app().await;
        register_client(&app, "plain", ClientOptions::default()).await;
        let admin = admin_token(&app).await;
        let body = json!({ "client_id": "strict", "redirect_uris": [crate::flow::REDIRECT_URI], "require_pkce": true });
        let (status, strict) = call(&app, &admin, "POST", "/clients", Some(body)).await;
        assert_eq!(status, 201, "{strict}");
        assert_eq!(strict["require_pkce"], true);
        assert!(location(&without_pkce(&app, "plain").await.unwrap()).starts_with("/login"), "PKCE stays optional");
        assert_eq!(error_of(without_pkce(&app, "strict").await.unwrap()).as_deref(), Some("invalid_request"));
    }
    let app = env.spawn_app_with(|settings| settings.oidc.require_pkce_for_all_clients = true).await;
    assert_eq!(error_of(without_pkce(&app, "plain").await.unwrap()).as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn an_https_issuer_gets_host_prefixed_secure_cookies_and_hsts() {
    let env = TestEnv::new().await;
    let app = env.spawn_app_with(|settings| settings.issuer = settings.issuer.replace("http://", "https://")).await;
    let page = app.get("/login").await;
    assert_eq!(page.headers().get("strict-transport-security").unwrap(), "max-age=31536000");
    let cookie = page.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-latchkey_csrf="), "{cookie}");
    assert!(cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"), "{cookie}");
    let plain = env.spawn_app().await;
    assert!(plain.get("/login").await.headers().get("strict-transport-security").is_none(), "not on http");
}

#[tokio::test]
async fn a_form_posted_from_another_site_is_refused_even_with_the_right_token() {
    let env = TestEnv::new().await;
    let (app, _) = app_with_rp(&env).await;
    let page = app.get("/login").await.text().await.unwrap();
    let csrf = hidden_field(&page, "csrf_token");
    let form = [("csrf_token", csrf.as_str()), ("username", "alice"), ("password", PASSWORD)];
    for (header, value) in
        [("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Site", "same-site"), ("Origin", "https://evil.example")]
    {
        let response = app.client.post(app.url("/login")).header(header, value).form(&form).send().await.unwrap();
        assert_eq!(response.status(), 403, "{header}: {value}");
    }
    let own = app.client.post(app.url("/login")).header("Sec-Fetch-Site", "same-origin").header("Origin", &app.address);
    assert_eq!(location(&own.form(&form).send().await.unwrap()), "/account");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_address_is_audited_and_otherwise_ignored() {
    let env = TestEnv::new().await;
    let failed_sign_in_from = |app: TestApp, forwarded: &'static str| async move {
        let page = app.get("/login").await.text().await.unwrap();
        let form =
            [("csrf_token", hidden_field(&page, "csrf_token")), ("username", "x".into()), ("password", "y".into())];
        app.client.post(app.url("/login")).header("X-Forwarded-For", forwarded).form(&form).send().await.unwrap();
        let filter = AuditFilter { event_type: Some("sign_in_failed".into()), ..AuditFilter::default() };
        let (events, _) = audit::search(&app.state.db, &filter, 0, 1).await.unwrap();
        events[0].1.source_ip.clone().unwrap()
    };
    let direct = env.spawn_app().await;
    assert_eq!(failed_sign_in_from(direct, "198.51.100.7").await, "127.0.0.1", "no trusted proxy: the peer");
    let proxied =
        env.spawn_app_with(|settings| settings.server.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()]).await;
    assert_eq!(failed_sign_in_from(proxied, "6.6.6.6, 198.51.100.7").await, "198.51.100.7");
}

#[tokio::test]
async fn each_address_is_rate_limited_with_retry_after() {
    let env = TestEnv::new().await;
    let app = env
        .spawn_app_with(|settings| {
            settings.rate_limits.authorize_per_minute = 2;
            settings.rate_limits.passkey_start_per_minute = 1;
            settings.rate_limits.failed_client_auth_per_minute = 2;
            settings.rate_limits.account_per_minute = 1;
        })
        .await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;

    for _ in 0..2 {
        assert_eq!(app.authorize(&rp, &pkce(), &[]).await.status(), 303);
    }
    let limited = app.authorize(&rp, &pkce(), &[]).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers().get("retry-after").unwrap(), "60");

    let wrong = Rp { secret: Some("w".repeat(40)), ..rp.clone() };
    for _ in 0..2 {
        assert_eq!(app.token(&wrong, &[("grant_type", "client_credentials")]).await.status(), 401);
    }
    let slowed = app.token(&rp, &[("grant_type", "client_credentials")]).await;
    assert_eq!(slowed.status(), 429, "even the right secret waits once the address is limited");
    assert!(slowed.headers().contains_key("retry-after"));
    assert_eq!(slowed.json::<Value>().await.unwrap()["error"], "slow_down");

    let page = app.get("/login").await.text().await.unwrap();
    let csrf = hidden_field(&page, "csrf_token");
    let start = || app.client.post(app.url("/login/passkey/start")).header("X-CSRF-Token", &csrf).send();
    assert_eq!(start().await.unwrap().status(), 200);
    let limited = start().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));

    let (browser, csrf) = signed_in(&app, "alice", PASSWORD).await;
    let rename = || {
        browser
            .post(app.url("/account/passkeys/none/rename"))
            .form(&[("csrf_token", csrf.as_str()), ("name", "x")])
            .send()
    };
    assert_eq!(rename().await.unwrap().status(), 404, "the first post is served");
    assert_eq!(rename().await.unwrap().status(), 429);
}
