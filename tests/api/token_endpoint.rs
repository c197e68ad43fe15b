//! The token, introspection and revocation endpoints beyond the happy path.

use serde_json::Value;

use crate::flow::{ClientOptions, REDIRECT_URI, Rp, add_user, pkce, register_client};
use crate::helpers::{TestApp, TestEnv};

async fn app_with_rp() -> (TestEnv, TestApp, Rp) {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    (env, app, rp)
}

async fn json(response: reqwest::Response) -> (u16, Value) {
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn malformed_token_requests_get_rfc6749_errors() {
    let (_env, app, rp) = app_with_rp().await;
    let (status, body) = json(app.token(&rp, &[("grant_type", "password"), ("username", "alice")]).await).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_grant_type")));
    let (status, body) = json(app.token(&rp, &[("code", "x")]).await).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));
    let (_, body) = json(
        app.token(&rp, &[("grant_type", "authorization_code"), ("grant_type", "authorization_code"), ("code", "x")])
            .await,
    )
    .await;
    assert_eq!(body["error"], "invalid_request", "a repeated parameter");
    let (_, body) = json(app.token(&rp, &[("grant_type", "authorization_code")]).await).await;
    assert_eq!(body["error"], "invalid_request", "a missing code");
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_and_redirect_uri() {
    let (_env, app, rp) = app_with_rp().await;
    let other = register_client(&app, "other", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let pkce = pkce();
    let code = app.obtain_code(&rp, "alice", &pkce, &[]).await;
    let (_, body) = json(app.exchange_code(&other, &code, &pkce.verifier).await).await;
    assert_eq!(body["error"], "invalid_grant", "another client cannot redeem it");

    let code = app.obtain_code(&rp, "alice", &pkce, &[]).await;
    let wrong_uri = app
        .token(
            &rp,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://rp.example/other"),
                ("code_verifier", &pkce.verifier),
            ],
        )
        .await;
    assert_eq!(json(wrong_uri).await.1["error"], "invalid_grant");
    let _ = REDIRECT_URI;
}

#[tokio::test]
async fn refresh_tokens_are_issued_only_with_offline_access() {
    let (_env, app, rp) = app_with_rp().await;
    let pkce = pkce();
    let code = app.obtain_code(&rp, "alice", &pkce, &[("scope", "openid profile")]).await;
    let (status, body) = json(app.exchange_code(&rp, &code, &pkce.verifier).await).await;
    assert_eq!(status, 200);
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert_eq!(body["scope"], "openid profile");
    assert!(body["id_token"].is_string());
}

#[tokio::test]
async fn client_credentials_is_for_confidential_clients_only() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let service =
        register_client(&app, "service", ClientOptions { grants: "client_credentials", ..ClientOptions::default() })
            .await;
    let (status, body) =
        json(app.token(&service, &[("grant_type", "client_credentials"), ("scope", "profile")]).await).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
    let access = latchkey::domain::tokens::verify_access_token(
        &app.state,
        body["access_token"].as_str().unwrap(),
        latchkey::domain::now(),
    )
    .await
    .unwrap();
    assert!(access.user.is_none(), "a client acting for itself");
    let claims = access.claims;
    assert_eq!(claims.sub, "service");
    assert_eq!(claims.client_id, "service");

    let (_, body) = json(app.token(&service, &[("grant_type", "client_credentials"), ("scope", "openid")]).await).await;
    assert_eq!(body["error"], "invalid_scope");

    let spa = register_client(&app, "spa", ClientOptions { public: true, ..ClientOptions::default() }).await;
    let (_, body) = json(app.token(&spa, &[("grant_type", "client_credentials")]).await).await;
    assert_eq!(body["error"], "unauthorized_client");
}

#[tokio::test]
async fn introspection_reports_live_tokens_and_inactive_revoked_ones() {
    let (_env, app, rp) = app_with_rp().await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let introspect = |token: String| {
        let request = app
            .client
            .post(app.url("/introspect"))
            .basic_auth(&rp.client_id, rp.secret.as_deref())
            .form(&[("token", token)]);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let active = introspect(access.clone()).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], "webapp");
    assert_eq!(introspect(refresh.clone()).await["active"], true);
    assert_eq!(introspect("garbage".into()).await, serde_json::json!({"active": false}));

    let revoke = app
        .client
        .post(app.url("/revoke"))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[("token", &refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 200);
    assert_eq!(introspect(refresh).await, serde_json::json!({"active": false}));
    assert_eq!(introspect(access).await, serde_json::json!({"active": false}), "the grant's access tokens end with it");

    let anonymous = app.client.post(app.url("/introspect")).form(&[("token", "x")]).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn discovery_lists_every_endpoint_and_capability() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let document: Value = app.get("/.well-known/openid-configuration").await.json().await.unwrap();
    for (key, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("introspection_endpoint", "/introspect"),
        ("revocation_endpoint", "/revoke"),
        ("end_session_endpoint", "/logout"),
        ("pushed_authorization_request_endpoint", "/par"),
        ("device_authorization_endpoint", "/device_authorization"),
        ("registration_endpoint", "/register"),
    ] {
        assert_eq!(document[key], format!("{}{path}", app.address), "{key}");
    }
    assert_eq!(document["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(document["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        document["grant_types_supported"],
        serde_json::json!([
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code"
        ])
    );
    assert_eq!(
        document["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post", "private_key_jwt", "none"])
    );
    for claim in ["sub", "amr", "auth_time", "nonce", "email", "preferred_username"] {
        assert!(document["claims_supported"].as_array().unwrap().iter().any(|c| c == claim), "{claim}");
    }
}
