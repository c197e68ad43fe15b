//! DPoP (RFC 9449): sender-constrained access and refresh tokens.

use serde_json::Value;

use crate::client_keys::ClientKey;
use crate::flow::{ClientOptions, REDIRECT_URI, add_user, jwt_claims, pkce, register_client};
use crate::helpers::TestEnv;

#[tokio::test]
async fn a_dpop_bound_token_works_only_with_a_proof_by_its_key() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    add_user(&app, "alice").await;
    let options = ClientOptions { public: true, first_party: true, ..Default::default() };
    let rp = register_client(&app, "spa", options).await;
    let key = ClientKey::generate("device-key");
    let token_url = app.url("/token");
    let userinfo_url = app.url("/userinfo");

    let pkce = pkce();
    let code = app.obtain_code(&rp, "alice", &pkce, &[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", pkce.verifier.as_str()),
        ("client_id", "spa"),
    ];
    let proof = key.dpop_proof("POST", &token_url, None);
    let response = app.client.post(&token_url).header("DPoP", &proof).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["token_type"], "DPoP");
    let access = tokens["access_token"].as_str().unwrap();
    let jkt = jwt_claims(access)["cnf"]["jkt"].as_str().unwrap().to_string();
    assert_eq!(jkt.len(), 43);

    let userinfo = |scheme: &'static str, proof: Option<String>| {
        let mut request = app.client.get(&userinfo_url).header("Authorization", format!("{scheme} {access}"));
        if let Some(proof) = proof {
            request = request.header("DPoP", proof);
        }
        async move { request.send().await.unwrap() }
    };
    let good = key.dpop_proof("GET", &userinfo_url, Some(access));
    let answered = userinfo("DPoP", Some(good.clone())).await;
    assert_eq!(answered.status(), 200);
    assert_eq!(userinfo("DPoP", Some(good)).await.status(), 401, "a proof is used once");
    let bearer = userinfo("Bearer", None).await;
    assert_eq!(bearer.status(), 401, "never as a Bearer token");
    assert_eq!(userinfo("DPoP", None).await.status(), 401, "not without a proof");
    let stranger = ClientKey::generate("other");
    let refused = userinfo("DPoP", Some(stranger.dpop_proof("GET", &userinfo_url, Some(access)))).await;
    assert_eq!(refused.status(), 401, "not with another key's proof");
    assert!(refused.headers()["www-authenticate"].to_str().unwrap().starts_with("DPoP"));
    let wrong_method = userinfo("DPoP", Some(key.dpop_proof("POST", &userinfo_url, Some(access)))).await;
    assert_eq!(wrong_method.status(), 401);
    let other_token = userinfo("DPoP", Some(key.dpop_proof("GET", &userinfo_url, Some("another token")))).await;
    assert_eq!(other_token.status(), 401, "ath names another token");
    let wrong_url = userinfo("DPoP", Some(key.dpop_proof("GET", &token_url, Some(access)))).await;
    assert_eq!(wrong_url.status(), 401, "htu names another endpoint");

    // The public client's refresh token is bound to the key too.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", "spa")];
    let unproven: Value = app.client.post(&token_url).form(&form).send().await.unwrap().json().await.unwrap();
    assert_eq!(unproven["error"], "invalid_grant");
    let other_key = stranger.dpop_proof("POST", &token_url, None);
    let other: Value =
        app.client.post(&token_url).header("DPoP", other_key).form(&form).send().await.unwrap().json().await.unwrap();
    assert_eq!(other["error"], "invalid_grant");
    let proof = key.dpop_proof("POST", &token_url, None);
    let renewed = app.client.post(&token_url).header("DPoP", proof).form(&form).send().await.unwrap();
    assert_eq!(renewed.status(), 200);
    let renewed: Value = renewed.json().await.unwrap();
    assert_eq!(jwt_claims(renewed["access_token"].as_str().unwrap())["cnf"]["jkt"], jkt.as_str());

    // A broken proof at the token endpoint is invalid_dpop_proof.
    let broken: Value = app
        .client
        .post(&token_url)
        .header("DPoP", "not.a.proof")
        .form(&[("grant_type", "client_credentials"), ("client_id", "spa")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(broken["error"], "invalid_dpop_proof");
}

#[tokio::test]
async fn an_api_that_requires_dpop_gets_bound_tokens_only() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let settings = latchkey::domain::resources::ApiSettings {
        scopes: vec!["read".into()],
        require_dpop: true,
        ..Default::default()
    };
    let actor = latchkey::domain::audit::Actor::Cli;
    latchkey::domain::resources::add_api(&app.state, &actor, "https://api.example/", settings).await.unwrap();
    let options = ClientOptions { grants: "client_credentials", scopes: "read", ..Default::default() };
    let service = register_client(&app, "service", options).await;
    let form = [("grant_type", "client_credentials"), ("resource", "https://api.example/")];
    let bearer: Value = app.token(&service, &form).await.json().await.unwrap();
    assert_eq!(bearer["error"], "invalid_request", "{bearer}");
    let key = ClientKey::generate("k");
    let token_url = app.url("/token");
    let response = app
        .client
        .post(&token_url)
        .basic_auth("service", service.secret.as_ref())
        .header("DPoP", key.dpop_proof("POST", &token_url, None))
        .form(&form)
        .send()
        .await
        .unwrap();
    let bound: Value = response.json().await.unwrap();
    assert_eq!(bound["token_type"], "DPoP", "{bound}");
    let claims = jwt_claims(bound["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], "https://api.example/");
    assert!(claims["cnf"]["jkt"].is_string());
}
