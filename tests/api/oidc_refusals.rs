//! Each refusal of the authorization-code flow, by its exact error. Each test would fail
//! if the check it names were removed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use latchkey::domain::tokens::{self, Grant};
use rsa::pkcs1::EncodeRsaPrivateKey;
use serde_json::{Value, json};

use crate::flow::{
    ClientOptions, POST_LOGOUT_URI, REDIRECT_URI, Rp, add_user, hidden_field, location, pkce, query_param,
    register_client,
};
use crate::helpers::{TestApp, TestEnv};

async fn error_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["error"].as_str().unwrap().to_string())
}

async fn app_with_rp() -> (TestEnv, TestApp, Rp) {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    (env, app, rp)
}

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_an_error_page_and_no_redirect() {
    let (_env, app, rp) = app_with_rp().await;
    for uri in ["https://evil.example/callback", "https://rp.example/callback/extra", "https://rp.example/callback?x=1"]
    {
        let response = app.authorize(&rp, &pkce(), &[("redirect_uri", uri)]).await;
        assert_eq!(response.status(), 400, "{uri}");
        assert!(response.headers().get("location").is_none());
        assert!(response.text().await.unwrap().contains("not registered"));
    }
    let unknown = Rp { client_id: "nobody".into(), secret: None };
    let response = app.authorize(&unknown, &pkce(), &[]).await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_what_it_issued() {
    let (_env, app, rp) = app_with_rp().await;
    let pkce = pkce();
    let code = app.obtain_code(&rp, "alice", &pkce, &[]).await;
    let first: Value = app.exchange_code(&rp, &code, &pkce.verifier).await.json().await.unwrap();
    let access_token = first["access_token"].as_str().unwrap();
    assert_eq!(app.userinfo(access_token).await.status(), 200);

    assert_eq!(error_of(app.exchange_code(&rp, &code, &pkce.verifier).await).await, (400, "invalid_grant".into()));
    assert_eq!(app.userinfo(access_token).await.status(), 401, "the first access token is revoked");
    let refresh = app
        .token(&rp, &[("grant_type", "refresh_token"), ("refresh_token", first["refresh_token"].as_str().unwrap())])
        .await;
    assert_eq!(error_of(refresh).await, (400, "invalid_grant".into()), "so is the first refresh token");
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_refused() {
    let (_env, app, rp) = app_with_rp().await;
    let pkce = pkce();
    let code = app.obtain_code(&rp, "alice", &pkce, &[]).await;
    let other = crate::flow::pkce();
    assert_eq!(error_of(app.exchange_code(&rp, &code, &other.verifier).await).await, (400, "invalid_grant".into()));
    let missing =
        app.token(&rp, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await;
    assert_eq!(error_of(missing).await.1, "invalid_grant");
}

#[tokio::test]
async fn a_public_client_must_send_an_s256_challenge() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let spa =
        register_client(&app, "spa", ClientOptions { public: true, first_party: true, ..ClientOptions::default() })
            .await;
    let response = app.authorize(&spa, &pkce(), &[("code_challenge", ""), ("code_challenge_method", "")]).await;
    assert_eq!(response.status(), 303);
    let target = location(&response);
    assert!(target.starts_with(REDIRECT_URI), "errors go to the verified redirect URI: {target}");
    assert_eq!(query_param(&target, "error").as_deref(), Some("invalid_request"));
    assert_eq!(query_param(&target, "state").as_deref(), Some("state-123"));
    assert_eq!(query_param(&target, "iss").as_deref(), Some(app.address.as_str()));

    let plain = app.authorize(&spa, &pkce(), &[("code_challenge_method", "plain")]).await;
    assert_eq!(query_param(&location(&plain), "error").as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn a_wrong_client_secret_gets_401_invalid_client() {
    let (_env, app, rp) = app_with_rp().await;
    let wrong = Rp { secret: Some("not-the-secret-not-the-secret-not-the-secret".into()), ..rp.clone() };
    let response =
        app.token(&wrong, &[("grant_type", "authorization_code"), ("code", "x"), ("redirect_uri", REDIRECT_URI)]).await;
    assert_eq!(response.status(), 401);
    assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(error_of(response).await.1, "invalid_client");

    let no_secret = Rp { secret: None, ..rp };
    let response = app
        .token(&no_secret, &[("grant_type", "authorization_code"), ("code", "x"), ("redirect_uri", REDIRECT_URI)])
        .await;
    assert_eq!(error_of(response).await, (401, "invalid_client".into()), "a confidential client must authenticate");
}

/// A real access token's claims and header, for forging variants of it.
async fn real_token(app: &TestApp, rp: &Rp) -> (String, Value) {
    let tokens = app.tokens_for(rp, "alice").await;
    let token = tokens["access_token"].as_str().unwrap().to_string();
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    (token, claims)
}

fn attacker_key() -> EncodingKey {
    let key = rsa::RsaPrivateKey::new(&mut rand::rng(), 2048).unwrap();
    EncodingKey::from_rsa_pem(key.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF).unwrap().as_bytes()).unwrap()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn forged_access_tokens_are_refused_at_userinfo() {
    let (_env, app, rp) = app_with_rp().await;
    let (token, claims) = real_token(&app, &rp).await;
    assert_eq!(app.userinfo(&token).await.status(), 200, "the genuine token works");
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let jwks = app.jwks().await;

    let alg_none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "at+jwt", "kid": kid})), b64(&claims));

    let mut hs256 = Header::new(Algorithm::HS256);
    hs256.typ = Some("at+jwt".into());
    hs256.kid = Some(kid.clone());
    let public_key_text = jwks["keys"][0].to_string();
    let hs256_with_public_key =
        jsonwebtoken::encode(&hs256, &claims, &EncodingKey::from_secret(public_key_text.as_bytes()).unwrap()).unwrap();

    let parts: Vec<&str> = token.split('.').collect();
    let mut other = claims.clone();
    other["sub"] = json!("someone-else");
    let tampered = format!("{}.{}.{}", parts[0], b64(&other), parts[2]);

    let attacker = attacker_key();
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some("unknown-kid".into());
    let unknown_kid = jsonwebtoken::encode(&header, &claims, &attacker).unwrap();
    header.kid = Some(kid.clone());
    let other_key_real_kid = jsonwebtoken::encode(&header, &claims, &attacker).unwrap();
    header.kid = Some("attacker".into());
    header.jku = Some("https://evil.example/jwks.json".into());
    let with_jku = jsonwebtoken::encode(&header, &claims, &attacker).unwrap();

    for (name, forged) in [
        ("alg none", alg_none),
        ("HS256 keyed with the public key", hs256_with_public_key),
        ("tampered payload", tampered),
        ("unknown kid", unknown_kid),
        ("another RSA key under a real kid", other_key_real_kid),
        ("jku header", with_jku),
    ] {
        let response = app.userinfo(&forged).await;
        assert_eq!(response.status(), 401, "{name}");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_string();
        assert!(
            challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""),
            "{name}: {challenge}"
        );
    }
}

#[tokio::test]
async fn an_expired_access_token_is_refused() {
    let (_env, app, _rp) = app_with_rp().await;
    let user =
        latchkey::store::db::users::find_by_id(&app.state.db, &add_user(&app, "bob").await.id).await.unwrap().unwrap();
    let grant = Grant {
        grant_id: "g-expired".into(),
        client_id: "webapp".into(),
        user: Some(user),
        scope: ["openid", "profile"].into(),
        nonce: None,
        auth_time: None,
        amr: vec![],
        session_id: None,
        claims: Default::default(),
        audience: None,
        dpop_jkt: None,
    };
    let now = latchkey::domain::now();
    let fresh = tokens::mint(&app.state.settings, &app.state.keyring, &grant, now).unwrap();
    // The same claims, signed by the real key, but issued two hours ago and expired.
    let payload = fresh.access_token.split('.').nth(1).unwrap();
    let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["iat"] = json!(now - 7200);
    claims["exp"] = json!(now - 7200 + 600);
    let expired = app.state.keyring.signing_key(now).unwrap().sign_jwt("at+jwt", &claims).unwrap();
    let response = app.userinfo(&expired).await;
    assert_eq!(response.status(), 401);
    assert_eq!(app.userinfo(&fresh.access_token).await.status(), 200, "the same token minted now works");
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_its_family() {
    let (_env, app, rp) = app_with_rp().await;
    let first = app.tokens_for(&rp, "alice").await;
    let original = first["refresh_token"].as_str().unwrap();
    let second: Value =
        app.token(&rp, &[("grant_type", "refresh_token"), ("refresh_token", original)]).await.json().await.unwrap();
    let rotated = second["refresh_token"].as_str().unwrap();
    assert_eq!(app.userinfo(second["access_token"].as_str().unwrap()).await.status(), 200);

    let reuse = app.token(&rp, &[("grant_type", "refresh_token"), ("refresh_token", original)]).await;
    assert_eq!(error_of(reuse).await, (400, "invalid_grant".into()));
    let after = app.token(&rp, &[("grant_type", "refresh_token"), ("refresh_token", rotated)]).await;
    assert_eq!(error_of(after).await.1, "invalid_grant", "the whole family is revoked");
    assert_eq!(app.userinfo(second["access_token"].as_str().unwrap()).await.status(), 401, "and its access tokens");
}

#[tokio::test]
async fn the_login_form_without_its_csrf_token_is_refused() {
    let (_env, app, rp) = app_with_rp().await;
    let response = app.authorize(&rp, &pkce(), &[]).await;
    let login_path = location(&response);
    let html = app.get(&login_path).await.text().await.unwrap();
    let request_id = hidden_field(&html, "request");
    for csrf in [None, Some("forged-token-forged-token-forged-token-123")] {
        let mut form = vec![
            ("request", request_id.clone()),
            ("username", "alice".into()),
            ("password", crate::flow::PASSWORD.into()),
        ];
        if let Some(csrf) = csrf {
            form.push(("csrf_token", csrf.into()));
        }
        let response = app.client.post(app.url("/login")).form(&form).send().await.unwrap();
        assert_eq!(response.status(), 403);
        assert!(
            response
                .headers()
                .get_all("set-cookie")
                .iter()
                .all(|c| !c.to_str().unwrap().starts_with("latchkey_session="))
        );
    }
    // A fresh browser (no CSRF cookie) posting a copied token is refused too.
    let other_browser = reqwest::Client::new();
    let form = [
        ("request", request_id),
        ("csrf_token", hidden_field(&html, "csrf_token")),
        ("username", "alice".into()),
        ("password", crate::flow::PASSWORD.into()),
    ];
    assert_eq!(other_browser.post(app.url("/login")).form(&form).send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_and_errors_do_not_reveal_who_exists() {
    let (_env, app, rp) = app_with_rp().await;
    crate::flow::disable_user(&app, "alice").await;
    let response = app.authorize(&rp, &pkce(), &[]).await;
    let login_path = location(&response);

    let disabled = app.submit_login(&login_path, "alice", crate::flow::PASSWORD).await;
    assert_eq!(disabled.status(), 401);
    let disabled_page = disabled.text().await.unwrap();
    assert!(disabled_page.contains("Invalid username or password"));

    let unknown = app.submit_login(&login_path, "nobody", crate::flow::PASSWORD).await.text().await.unwrap();
    let wrong = {
        add_user(&app, "carol").await;
        app.submit_login(&login_path, "carol", "wrong password").await.text().await.unwrap()
    };
    for page in [&unknown, &wrong] {
        assert!(page.contains("Invalid username or password"));
    }
    // The same page apart from the username echoed back.
    assert_eq!(unknown.replace("nobody", "X"), disabled_page.replace("alice", "X"));
}

#[tokio::test]
async fn logout_with_an_unregistered_post_logout_redirect_uri_is_refused_without_redirect() {
    let (_env, app, rp) = app_with_rp().await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let response = app
        .client
        .get(app.url("/logout"))
        .query(&[("id_token_hint", id_token), ("post_logout_redirect_uri", "https://evil.example/bye")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    // Nothing was ended: the refresh token still works.
    let refresh = app
        .token(&rp, &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())])
        .await;
    assert_eq!(refresh.status(), 200);
    let rotated: Value = refresh.json().await.unwrap();

    // The registered one works, and ends the refresh tokens issued in the session.
    let ok = app
        .client
        .get(app.url("/logout"))
        .query(&[("id_token_hint", id_token), ("post_logout_redirect_uri", POST_LOGOUT_URI)])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    let after = app
        .token(&rp, &[("grant_type", "refresh_token"), ("refresh_token", rotated["refresh_token"].as_str().unwrap())])
        .await;
    assert_eq!(error_of(after).await.1, "invalid_grant");
}
