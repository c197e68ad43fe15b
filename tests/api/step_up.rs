//! When a sign-in must be multi-factor: `acr_values`, a client's "require MFA" policy,
//! `mfa.required_for_admins` and `mfa.enforce_for_all`. A password session steps up with
//! a code, and a user without a second factor sets one up on the way.

use latchkey::domain::audit::Actor;
use latchkey::domain::clients::{self, NewClient};
use latchkey::domain::mfa;
use serde_json::{Value, json};

use crate::flow::{
    ClientOptions, PASSWORD, REDIRECT_URI, Rp, hidden_field, location, pkce, query_param, register_client,
};
use crate::helpers::{TestApp, TestEnv};
use crate::mfa::code;

const MFA: &str = "urn:latchkey:acr:mfa";
const PWD: &str = "urn:latchkey:acr:pwd";

fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Follows the browser from `response` through the second step (a code from `secret`)
/// until it is back at the client, and returns the tokens.
async fn finish_with_code(app: &TestApp, rp: &Rp, verifier: &str, response: reqwest::Response, secret: &str) -> Value {
    let step_up = location(&response);
    assert!(step_up.starts_with("/login/step-up?request="), "{step_up}");
    let asked = app.get(&step_up).await;
    assert_eq!(location(&asked), "/login/mfa");
    let page = app.get("/login/mfa").await.text().await.unwrap();
    let form = [
        ("csrf_token", hidden_field(&page, "csrf_token")),
        ("method", "totp".into()),
        ("code", code(secret, latchkey::domain::now())),
    ];
    let done = app.client.post(app.url("/login/mfa")).form(&form).send().await.unwrap();
    exchange(app, rp, verifier, &location(&done)).await
}

async fn exchange(app: &TestApp, rp: &Rp, verifier: &str, callback: &str) -> Value {
    assert!(callback.starts_with(REDIRECT_URI), "{callback}");
    let code = query_param(callback, "code").unwrap_or_else(|| panic!("{callback}"));
    let response = app.exchange_code(rp, &code, verifier).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn acr_values_mfa_asks_a_password_session_for_the_second_factor() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let alice = crate::flow::add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;

    // A password session (alice had no authenticator app when she signed in).
    let first = pkce();
    let first_code = app.obtain_code(&rp, "alice", &first, &[]).await;
    let tokens: Value = app.exchange_code(&rp, &first_code, &first.verifier).await.json().await.unwrap();
    let id_token = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!((id_token["acr"].as_str(), id_token["amr"].clone()), (Some(PWD), json!(["pwd"])));
    let setup = mfa::begin_totp(&app.state, &alice.id, "alice").await.unwrap();
    let earlier = latchkey::domain::now() - 30;
    mfa::confirm_totp(&app.state, &alice.id, &code(&setup.secret, earlier), earlier).await.unwrap();

    // What a password already satisfies goes straight back to the client.
    let either = pkce();
    let response = app.authorize(&rp, &either, &[("acr_values", &format!("{MFA} {PWD}"))]).await;
    let tokens = exchange(&app, &rp, &either.verifier, &location(&response)).await;
    assert_eq!(claims(tokens["id_token"].as_str().unwrap())["acr"], PWD);

    // prompt=none cannot ask for the second factor.
    let silent = app.authorize(&rp, &pkce(), &[("acr_values", MFA), ("prompt", "none")]).await;
    assert_eq!(query_param(&location(&silent), "error").as_deref(), Some("interaction_required"));

    // mfa: the code, then back to the client with the achieved acr.
    let stronger = pkce();
    let response = app.authorize(&rp, &stronger, &[("acr_values", MFA)]).await;
    let tokens = finish_with_code(&app, &rp, &stronger.verifier, response, &setup.secret).await;
    let id_token = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["acr"], MFA);
    assert_eq!(id_token["amr"], json!(["pwd", "otp", "mfa"]));

    // The session is now multi-factor: the next mfa request needs nothing more.
    let again = pkce();
    let response = app.authorize(&rp, &again, &[("acr_values", MFA)]).await;
    let tokens = exchange(&app, &rp, &again.verifier, &location(&response)).await;
    assert_eq!(claims(tokens["id_token"].as_str().unwrap())["acr"], MFA);
}

#[tokio::test]
async fn a_client_that_requires_mfa_has_a_user_without_a_second_factor_set_one_up_first() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    crate::flow::add_user(&app, "bob").await;
    let rp = register_client(&app, "payroll", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let token = crate::admin_api::admin_token(&app).await;
    let (status, policy) =
        crate::admin_api::call(&app, &token, "PUT", "/clients/payroll/policy", Some(json!({ "require_mfa": true })))
            .await;
    assert_eq!((status, policy["require_mfa"].clone()), (200, json!(true)), "{policy}");

    let pkce = pkce();
    let login = location(&app.authorize(&rp, &pkce, &[]).await);
    let signed_in = app.submit_login(&login, "bob", PASSWORD).await;
    let step_up = location(&signed_in);
    assert!(step_up.starts_with("/login/step-up?request="), "{step_up}");
    let offer = app.get(&step_up).await.text().await.unwrap();
    assert!(offer.contains("Set up an authenticator app") && offer.contains("payroll app"), "{offer}");

    let start = [
        ("csrf_token", hidden_field(&offer, "csrf_token")),
        ("request", hidden_field(&offer, "request")),
        ("next", String::new()),
    ];
    let setup = app.client.post(app.url("/account/mfa/totp/start")).form(&start).send().await.unwrap();
    assert_eq!(setup.status(), 200);
    let setup = setup.text().await.unwrap();
    let secret = setup.split("id=\"totp-secret\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    let confirm = [
        ("csrf_token", hidden_field(&setup, "csrf_token")),
        ("request", hidden_field(&setup, "request")),
        ("next", hidden_field(&setup, "next")),
        ("code", code(&secret, latchkey::domain::now())),
    ];
    let codes = app.client.post(app.url("/account/mfa/totp/confirm")).form(&confirm).send().await.unwrap();
    assert_eq!(codes.status(), 200);
    let codes = codes.text().await.unwrap();
    assert!(codes.contains("id=\"recovery-codes\""), "the recovery codes are shown once: {codes}");
    let onward = codes.split("href=\"").find_map(|s| s.split('"').next().filter(|h| h.starts_with("/login/step-up")));
    let onward = onward.unwrap_or_else(|| panic!("a link back to the sign-in: {codes}")).replace("&amp;", "&");

    let back = app.get(&onward).await;
    let tokens = exchange(&app, &rp, &pkce.verifier, &location(&back)).await;
    let id_token = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!((id_token["acr"].as_str(), id_token["amr"].clone()), (Some(MFA), json!(["pwd", "otp", "mfa"])));
}

#[tokio::test]
async fn admins_need_a_second_factor_for_the_console_and_the_api_when_required() {
    let env = TestEnv::new().await;
    let app = env.spawn_app_with(|s| s.mfa.required_for_admins = true).await;
    let (admin, csrf) = crate::admin_console::signed_in_browser(&app, "root", true).await;

    // A password session: the console sends the admin to the second step, the API refuses.
    let console = admin.get(app.url("/admin/users")).send().await.unwrap();
    assert_eq!(location(&console), "/login/step-up?next=%2Fadmin%2Fusers");
    let api = admin.get(app.url("/admin/api/users")).header("X-CSRF-Token", &csrf).send().await.unwrap();
    assert_eq!(api.status(), 403);
    assert!(api.text().await.unwrap().contains("multi-factor"));

    // A token from a password sign-in is refused too; a client's own admin token is not.
    let user_token = admin_user_token(&app).await;
    let (status, _) = crate::admin_api::call(&app, &user_token, "GET", "/users", None).await;
    assert_eq!(status, 403);
    let client_token = crate::admin_api::admin_token(&app).await;
    assert_eq!(crate::admin_api::call(&app, &client_token, "GET", "/users", None).await.0, 200);

    // With an authenticator app and its code, the console opens.
    let root = latchkey::domain::users::find_by_username(&app.state.db, "root").await.unwrap();
    let setup = mfa::begin_totp(&app.state, &root.id, "root").await.unwrap();
    let earlier = latchkey::domain::now() - 30;
    mfa::confirm_totp(&app.state, &root.id, &code(&setup.secret, earlier), earlier).await.unwrap();
    let step_up = admin.get(app.url("/login/step-up?next=%2Fadmin%2Fusers")).send().await.unwrap();
    assert_eq!(location(&step_up), "/login/mfa");
    let page = admin.get(app.url("/login/mfa")).send().await.unwrap().text().await.unwrap();
    let form = [
        ("csrf_token", hidden_field(&page, "csrf_token")),
        ("method", "totp".into()),
        ("code", code(&setup.secret, latchkey::domain::now())),
    ];
    let done = admin.post(app.url("/login/mfa")).form(&form).send().await.unwrap();
    assert_eq!(location(&done), "/admin/users");
    assert_eq!(admin.get(app.url("/admin/users")).send().await.unwrap().status(), 200);
    let csrf = crate::flow::current_csrf(&app, &admin).await;
    let api = admin.get(app.url("/admin/api/users")).header("X-CSRF-Token", &csrf).send().await.unwrap();
    assert_eq!(api.status(), 200);
}

/// An access token with the `admin` scope for `root`, from a password sign-in.
async fn admin_user_token(app: &TestApp) -> String {
    let new = NewClient {
        id: "console-cli".into(),
        name: None,
        public: false,
        first_party: true,
        require_pkce: false,
        require_par: false,
        redirect_uris: vec![REDIRECT_URI.into()],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        logo_uri: None,
        scopes: "openid admin".into(),
        grants: vec!["authorization_code".into()],
        secret: None,
        keys: None,
    };
    let added = clients::add_client(&app.state, &Actor::Cli, new).await.unwrap();
    use secrecy::ExposeSecret;
    let rp = Rp { client_id: "console-cli".into(), secret: added.generated_secret.map(|s| s.expose_secret().into()) };
    let pkce = pkce();
    let root_code = app.obtain_code(&rp, "root", &pkce, &[("scope", "openid admin")]).await;
    let tokens: Value = app.exchange_code(&rp, &root_code, &pkce.verifier).await.json().await.unwrap();
    assert_eq!(claims(tokens["access_token"].as_str().unwrap())["acr"], PWD);
    tokens["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn with_mfa_enforced_for_all_a_password_sign_in_goes_on_to_the_second_step() {
    let env = TestEnv::new().await;
    let app = env.spawn_app_with(|s| s.mfa.enforce_for_all = true).await;
    crate::flow::add_user(&app, "carol").await;
    let signed_in = app.submit_login("/login", "carol", PASSWORD).await;
    assert_eq!(location(&signed_in), "/login/step-up");
    let offer = app.get("/login/step-up").await.text().await.unwrap();
    assert!(offer.contains("Set up an authenticator app"), "{offer}");

    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let response = app.authorize(&rp, &pkce(), &[]).await;
    assert!(location(&response).starts_with("/login/step-up?request="), "every request needs mfa");
}
