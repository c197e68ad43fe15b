//! Passkeys through the real HTTP endpoints with a software authenticator.

use serde_json::{Value, json};

use crate::flow::{ClientOptions, REDIRECT_URI, Rp, add_user, location, pkce, query_param, register_client};
use crate::helpers::{TestApp, TestEnv};
use crate::soft_authenticator::SoftAuthenticator;

/// A browser of its own: its own cookies (session, CSRF).
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap()
}

/// The `content` of `<meta name=NAME>` on a page (the passkey script reads these).
pub(crate) fn meta(html: &str, name: &str) -> String {
    let marker = format!("<meta name=\"{name}\" content=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no meta {name}")) + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

async fn post_json(browser: &reqwest::Client, app: &TestApp, path: &str, csrf: &str, body: &Value) -> (u16, Value) {
    let response = browser.post(app.url(path)).header("X-CSRF-Token", csrf).json(body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

/// Signs `username` in with the password in `browser`; returns /account and its CSRF token.
async fn password_sign_in_to_account(app: &TestApp, browser: &reqwest::Client, username: &str) -> (String, String) {
    let page = browser.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let form = [
        ("csrf_token", crate::flow::hidden_field(&page, "csrf_token")),
        ("username", username.into()),
        ("password", crate::flow::PASSWORD.into()),
    ];
    let signed_in = browser.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(location(&signed_in), "/account");
    let account = browser.get(app.url("/account")).send().await.unwrap().text().await.unwrap();
    let csrf = meta(&account, "csrf-token");
    (account, csrf)
}

/// The id of the first passkey listed on an account page.
fn first_passkey_id(account: &str) -> String {
    let start = account.find("/account/passkeys/").unwrap() + "/account/passkeys/".len();
    account[start..start + 36].to_string()
}

/// Signs `username` in with the password in `browser` and registers a passkey on /account.
async fn register_passkey(
    app: &TestApp,
    browser: &reqwest::Client,
    authenticator: &mut SoftAuthenticator,
    username: &str,
) {
    let (account, csrf) = password_sign_in_to_account(app, browser, username).await;
    assert!(account.contains("Add a passkey"), "{account}");
    let (status, started) = post_json(browser, app, "/account/passkeys/register/start", &csrf, &json!({})).await;
    assert_eq!(status, 200, "{started}");
    let selection = &started["options"]["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required");
    assert_eq!(selection["userVerification"], "required");
    let credential = authenticator.register(&started["options"]);
    let body = json!({ "ceremony": started["ceremony"], "credential": credential, "name": "Laptop" });
    let (status, finished) = post_json(browser, app, "/account/passkeys/register/finish", &csrf, &body).await;
    assert_eq!(status, 200, "{finished}");
    let account = browser.get(app.url("/account")).send().await.unwrap().text().await.unwrap();
    assert!(account.contains("Laptop"), "the passkey is listed");
}

/// Starts a passkey sign-in on the login page at `login_path` in `browser`.
pub(crate) async fn start_sign_in(
    app: &TestApp,
    browser: &reqwest::Client,
    login_path: &str,
) -> (String, String, Value) {
    let page = browser.get(app.url(login_path)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Sign in with a passkey"));
    let csrf = meta(&page, "csrf-token");
    let request = meta(&page, "authorization-request");
    let (status, started) = post_json(browser, app, "/login/passkey/start", &csrf, &json!({})).await;
    assert_eq!(status, 200, "{started}");
    (csrf, request, started)
}

pub(crate) async fn finish_sign_in(
    app: &TestApp,
    browser: &reqwest::Client,
    csrf: &str,
    request: &str,
    ceremony: &Value,
    credential: &Value,
) -> (u16, Value) {
    let body = json!({ "ceremony": ceremony, "credential": credential, "request": request });
    post_json(browser, app, "/login/passkey/finish", csrf, &body).await
}

pub(crate) struct World {
    pub(crate) _env: TestEnv,
    pub(crate) app: TestApp,
    pub(crate) rp: Rp,
    pub(crate) authenticator: SoftAuthenticator,
}

pub(crate) async fn world_with_passkey() -> World {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let mut authenticator = SoftAuthenticator::new(&app.address);
    register_passkey(&app, &browser(), &mut authenticator, "alice").await;
    World { _env: env, app, rp, authenticator }
}

/// A fresh browser at the login page of a new authorization request.
async fn login_page(world: &World, browser: &reqwest::Client, pkce: &crate::flow::Pkce) -> String {
    let params = [
        ("response_type", "code"),
        ("client_id", world.rp.client_id.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid profile"),
        ("state", "s"),
        ("nonce", "n"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
        // A browser that signed in before still gets the login page.
        ("prompt", "login"),
    ];
    let response = browser.get(world.app.url("/authorize")).query(&params).send().await.unwrap();
    location(&response)
}

#[tokio::test]
async fn a_passkey_signs_in_without_username_through_a_full_code_flow() {
    let mut world = world_with_passkey().await;
    let browser = browser();
    let pkce = pkce();
    let login_path = login_page(&world, &browser, &pkce).await;
    let (csrf, request, started) = start_sign_in(&world.app, &browser, &login_path).await;
    assert_eq!(started["options"]["publicKey"]["userVerification"], "required");
    assert!(
        started["options"]["publicKey"]
            .get("allowCredentials")
            .is_none_or(|c| c.as_array().is_some_and(|a| a.is_empty())),
        "usernameless"
    );
    let assertion = world.authenticator.assert(&started["options"], 0, true);
    let (status, finished) =
        finish_sign_in(&world.app, &browser, &csrf, &request, &started["ceremony"], &assertion).await;
    assert_eq!(status, 200, "{finished}");
    let callback = finished["redirect"].as_str().unwrap();
    assert!(callback.starts_with(REDIRECT_URI), "{callback}");
    let code = query_param(callback, "code").unwrap();

    let tokens: Value = world.app.exchange_code(&world.rp, &code, &pkce.verifier).await.json().await.unwrap();
    let claims: Value = jsonwebtoken::dangerous::insecure_decode(tokens["id_token"].as_str().unwrap()).unwrap().claims;
    assert_eq!(claims["amr"], json!(["hwk", "user", "mfa"]));
    assert!((claims["auth_time"].as_i64().unwrap() - latchkey::domain::now()).abs() < 60);

    // The stored counter and last use were updated.
    let account = browser.get(world.app.url("/account")).send().await.unwrap().text().await.unwrap();
    assert!(!account.contains("Last used never"), "{account}");
}

#[tokio::test]
async fn a_replayed_assertion_is_refused() {
    let mut world = world_with_passkey().await;
    let browser = browser();
    let login_path = login_page(&world, &browser, &pkce()).await;
    let (csrf, request, started) = start_sign_in(&world.app, &browser, &login_path).await;
    let assertion = world.authenticator.assert(&started["options"], 0, true);
    let (status, _) = finish_sign_in(&world.app, &browser, &csrf, &request, &started["ceremony"], &assertion).await;
    assert_eq!(status, 200);

    // Same ceremony again: it was consumed.
    let login_path = login_page(&world, &browser, &pkce()).await;
    let page = browser.get(world.app.url(&login_path)).send().await.unwrap().text().await.unwrap();
    let request = meta(&page, "authorization-request");
    let csrf = meta(&page, "csrf-token");
    let (status, body) = finish_sign_in(&world.app, &browser, &csrf, &request, &started["ceremony"], &assertion).await;
    assert_eq!(status, 400, "{body}");
    // A fresh ceremony with the old assertion: the challenge does not match.
    let (_, _, fresh) = start_sign_in(&world.app, &browser, &login_path).await;
    let (status, _) = finish_sign_in(&world.app, &browser, &csrf, &request, &fresh["ceremony"], &assertion).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_challenge_from_another_browser_is_refused() {
    let mut world = world_with_passkey().await;
    let victim = browser();
    let attacker = browser();
    let login_path = login_page(&world, &victim, &pkce()).await;
    let (_, request, started) = start_sign_in(&world.app, &victim, &login_path).await;
    let assertion = world.authenticator.assert(&started["options"], 0, true);
    let attacker_page = attacker.get(world.app.url("/login")).send().await.unwrap().text().await.unwrap();
    let attacker_csrf = meta(&attacker_page, "csrf-token");
    let (status, body) =
        finish_sign_in(&world.app, &attacker, &attacker_csrf, &request, &started["ceremony"], &assertion).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("another browser"));
}

#[tokio::test]
async fn an_assertion_for_a_deleted_credential_is_refused() {
    let mut world = world_with_passkey().await;
    let owner = browser();
    // Sign the owner in with the password to reach /account, then delete the passkey.
    let (account, csrf) = password_sign_in_to_account(&world.app, &owner, "alice").await;
    let id = first_passkey_id(&account);
    let without_csrf =
        owner.post(world.app.url(&format!("/account/passkeys/{id}/delete"))).form(&[("x", "y")]).send().await.unwrap();
    assert_eq!(without_csrf.status(), 403, "deleting takes a CSRF-protected POST");
    let deleted = owner
        .post(world.app.url(&format!("/account/passkeys/{id}/delete")))
        .form(&[("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&deleted), "/account");

    let browser = browser();
    let login_path = login_page(&world, &browser, &pkce()).await;
    let (csrf, request, started) = start_sign_in(&world.app, &browser, &login_path).await;
    let assertion = world.authenticator.assert(&started["options"], 0, true);
    let (status, _) = finish_sign_in(&world.app, &browser, &csrf, &request, &started["ceremony"], &assertion).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_assertion_without_user_verification_is_refused() {
    let mut world = world_with_passkey().await;
    let browser = browser();
    let login_path = login_page(&world, &browser, &pkce()).await;
    let (csrf, request, started) = start_sign_in(&world.app, &browser, &login_path).await;
    let assertion = world.authenticator.assert(&started["options"], 0, false);
    let (status, _) = finish_sign_in(&world.app, &browser, &csrf, &request, &started["ceremony"], &assertion).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_disabled_users_passkey_is_refused() {
    let mut world = world_with_passkey().await;
    crate::flow::disable_user(&world.app, "alice").await;
    let browser = browser();
    let login_path = login_page(&world, &browser, &pkce()).await;
    let (csrf, request, started) = start_sign_in(&world.app, &browser, &login_path).await;
    let assertion = world.authenticator.assert(&started["options"], 0, true);
    let (status, _) = finish_sign_in(&world.app, &browser, &csrf, &request, &started["ceremony"], &assertion).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_counter_that_goes_backwards_is_refused_and_audited() {
    let mut world = world_with_passkey().await;
    let browser = browser();
    for _ in 0..2 {
        let login_path = login_page(&world, &browser, &pkce()).await;
        let (csrf, request, started) = start_sign_in(&world.app, &browser, &login_path).await;
        let assertion = world.authenticator.assert(&started["options"], 0, true);
        assert_eq!(
            finish_sign_in(&world.app, &browser, &csrf, &request, &started["ceremony"], &assertion).await.0,
            200
        );
    }
    world.authenticator.credentials[0].counter = 0; // a clone with an older counter
    let login_path = login_page(&world, &browser, &pkce()).await;
    let (csrf, request, started) = start_sign_in(&world.app, &browser, &login_path).await;
    let assertion = world.authenticator.assert(&started["options"], 0, true);
    assert_eq!(finish_sign_in(&world.app, &browser, &csrf, &request, &started["ceremony"], &assertion).await.0, 401);
    let events =
        latchkey::store::db::audit::recent_of_type(&world.app.state.db, "passkey_counter_regression", 5).await.unwrap();
    assert_eq!(events.len(), 1);
}

#[tokio::test]
async fn passkey_endpoints_require_the_csrf_header_and_names_can_be_changed() {
    let world = world_with_passkey().await;
    let fresh = browser();
    fresh.get(world.app.url("/login")).send().await.unwrap();
    let (status, _) = post_json(&fresh, &world.app, "/login/passkey/start", "wrong", &json!({})).await;
    assert_eq!(status, 403);

    let owner = browser();
    let (account, csrf) = password_sign_in_to_account(&world.app, &owner, "alice").await;
    let id = first_passkey_id(&account);
    let renamed = owner
        .post(world.app.url(&format!("/account/passkeys/{id}/rename")))
        .form(&[("csrf_token", csrf.as_str()), ("name", "Work phone")])
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 303);
    let account = owner.get(world.app.url("/account")).send().await.unwrap().text().await.unwrap();
    assert!(account.contains("Work phone") && !account.contains(">Laptop<"));
    let _ = (&world.rp, &world.authenticator);
}

#[tokio::test]
async fn a_password_session_steps_up_with_the_users_passkey() {
    let mut world = world_with_passkey().await;
    let browser = browser();
    password_sign_in_to_account(&world.app, &browser, "alice").await;
    let pkce = pkce();
    let params = [
        ("response_type", "code"),
        ("client_id", world.rp.client_id.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("acr_values", "urn:latchkey:acr:mfa"),
    ];
    let response = browser.get(world.app.url("/authorize")).query(&params).send().await.unwrap();
    let step_up = location(&response);
    assert!(step_up.starts_with("/login/step-up?request="), "{step_up}");
    let page = browser.get(world.app.url(&step_up)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Confirm it’s you with a passkey"), "no app to ask a code of: {page}");
    let (csrf, request, started) = start_sign_in(&world.app, &browser, &step_up).await;
    let assertion = world.authenticator.assert(&started["options"], 0, true);
    let (status, finished) =
        finish_sign_in(&world.app, &browser, &csrf, &request, &started["ceremony"], &assertion).await;
    assert_eq!(status, 200, "{finished}");
    let code = query_param(finished["redirect"].as_str().unwrap(), "code").unwrap();
    let tokens: Value = world.app.exchange_code(&world.rp, &code, &pkce.verifier).await.json().await.unwrap();
    let claims: Value = jsonwebtoken::dangerous::insecure_decode(tokens["id_token"].as_str().unwrap()).unwrap().claims;
    assert_eq!(claims["acr"], "urn:latchkey:acr:mfa");
}
