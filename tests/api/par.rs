//! Pushed authorization requests (RFC 9126).

use serde_json::Value;

use crate::flow::{ClientOptions, PASSWORD, REDIRECT_URI, Rp, add_user, location, pkce, query_param, register_client};
use crate::helpers::{TestApp, TestEnv};

async fn push(app: &TestApp, rp: &Rp, extra: &[(&str, &str)]) -> (u16, Value) {
    let pkce = pkce();
    let mut form: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid profile"),
        ("state", "pushed-state"),
        ("code_challenge", &pkce.challenge),
        ("code_challenge_method", "S256"),
    ];
    form.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    form.extend(extra.iter().filter(|(_, v)| !v.is_empty()));
    let mut request = app.client.post(app.url("/par"));
    match &rp.secret {
        Some(secret) => request = request.basic_auth(&rp.client_id, Some(secret)),
        None => form.push(("client_id", &rp.client_id)),
    }
    let response = request.form(&form).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn authorize_pushed(app: &TestApp, client_id: &str, request_uri: &str) -> reqwest::Response {
    let query = [("client_id", client_id), ("request_uri", request_uri)];
    app.client.get(app.url("/authorize")).query(&query).send().await.unwrap()
}

#[tokio::test]
async fn a_pushed_request_is_used_once_by_its_own_client() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "dotnet", ClientOptions { first_party: true, ..Default::default() }).await;
    register_client(&app, "other", ClientOptions::default()).await;

    let (status, body) = push(&app, &rp, &[]).await;
    assert_eq!(status, 201, "{body}");
    let request_uri = body["request_uri"].as_str().unwrap().to_string();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    assert_eq!(body["expires_in"], 60);

    assert_eq!(authorize_pushed(&app, "other", &request_uri).await.status(), 400, "another client's request_uri");
    let start = authorize_pushed(&app, "dotnet", &request_uri).await;
    assert_eq!(start.status(), 400, "the failed attempt spent it: single use");

    let (_, body) = push(&app, &rp, &[]).await;
    let request_uri = body["request_uri"].as_str().unwrap().to_string();
    let start = authorize_pushed(&app, "dotnet", &request_uri).await;
    let done = app.submit_login(&location(&start), "alice", PASSWORD).await;
    let back = location(&done);
    assert!(back.starts_with(REDIRECT_URI), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some("pushed-state"), "the pushed parameters were used");
    assert_eq!(authorize_pushed(&app, "dotnet", &request_uri).await.status(), 400, "used once");

    // Pushed requests are validated as /authorize would, and errors are JSON.
    let (status, body) = push(&app, &rp, &[("redirect_uri", "https://evil.example/cb")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));
    let (status, body) = push(&app, &rp, &[("resource", "https://unknown.example/")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_target")));
    let wrong = Rp { client_id: "dotnet".into(), secret: Some("x".repeat(40)) };
    assert_eq!(push(&app, &wrong, &[]).await.0, 401);
}

#[tokio::test]
async fn a_client_that_requires_par_is_refused_a_direct_request() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "strict", ClientOptions::default()).await;
    let client = latchkey::domain::clients::find_client(&app.state.db, "strict").await.unwrap();
    let settings = latchkey::domain::clients::ClientSettings {
        name: client.name,
        first_party: client.first_party,
        require_pkce: false,
        require_par: true,
        redirect_uris: client.redirect_uris,
        post_logout_redirect_uris: client.post_logout_redirect_uris,
        backchannel_logout_uri: None,
        logo_uri: None,
        scopes: client.allowed_scopes.to_string(),
        grants: vec!["authorization_code,refresh_token".into()],
        enabled: true,
    };
    let actor = latchkey::domain::audit::Actor::Cli;
    latchkey::domain::clients::update_client(&app.state, &actor, "strict", settings).await.unwrap();

    let direct = app.authorize(&rp, &pkce(), &[]).await;
    let back = location(&direct);
    assert!(back.starts_with(REDIRECT_URI), "{back}");
    assert_eq!(query_param(&back, "error").as_deref(), Some("invalid_request"));
    let (status, body) = push(&app, &rp, &[]).await;
    assert_eq!(status, 201, "{body}");
    let start = authorize_pushed(&app, "strict", body["request_uri"].as_str().unwrap()).await;
    assert!(location(&start).starts_with("/login"), "the pushed request goes on to sign-in");

    // The global setting requires it of every client, and discovery says so.
    let app = env.spawn_app_with(|s| s.oidc.require_pushed_authorization_requests = true).await;
    let rp = register_client(&app, "any", ClientOptions::default()).await;
    let direct = app.authorize(&rp, &pkce(), &[]).await;
    assert_eq!(query_param(&location(&direct), "error").as_deref(), Some("invalid_request"));
    let document: Value = app.get("/.well-known/openid-configuration").await.json().await.unwrap();
    assert_eq!(document["require_pushed_authorization_requests"], true);
    assert_eq!(document["pushed_authorization_request_endpoint"], format!("{}/par", app.address));
}
