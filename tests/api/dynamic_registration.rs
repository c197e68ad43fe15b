//! Dynamic client registration (RFC 7591) and management (RFC 7592).

use serde_json::{Value, json};

use crate::admin_api::{admin_token, call};
use crate::flow::{REDIRECT_URI, Rp, add_user, location, pkce};
use crate::helpers::{TestApp, TestEnv};

async fn register(app: &TestApp, token: Option<&str>, metadata: Value) -> (u16, Value) {
    let mut request = app.client.post(app.url("/register")).json(&metadata);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

async fn manage(app: &TestApp, method: &str, uri: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let request = match method {
        "GET" => app.client.get(uri),
        "PUT" => app.client.put(uri),
        "DELETE" => app.client.delete(uri),
        other => panic!("{other}"),
    };
    let request = request.bearer_auth(token);
    let request = if let Some(body) = body { request.json(&body) } else { request };
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_client_registers_with_an_initial_access_token_then_reads_and_updates_itself() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    add_user(&app, "alice").await;
    let admin = admin_token(&app).await;
    let metadata = json!({
        "client_name": "Agent",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
        "application_type": "web",
    });

    // The default mode is "token": no token, no registration.
    let (status, body) = register(&app, None, metadata.clone()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")));
    let body = json!({ "description": "agent team", "uses": 1 });
    let (status, issued) = call(&app, &admin, "POST", "/clients/registration-tokens", Some(body)).await;
    assert_eq!(status, 201, "{issued}");
    let initial = issued["initial_access_token"].as_str().unwrap().to_string();

    let (status, registered) = register(&app, Some(&initial), metadata.clone()).await;
    assert_eq!(status, 201, "{registered}");
    let client_id = registered["client_id"].as_str().unwrap().to_string();
    assert!(registered.get("client_secret").is_none(), "a public client has no secret");
    let registration_token = registered["registration_access_token"].as_str().unwrap().to_string();
    let registration_uri = registered["registration_client_uri"].as_str().unwrap().to_string();
    assert_eq!(registration_uri, format!("{}/register/{client_id}", app.address));
    assert_eq!(registered["redirect_uris"], json!([REDIRECT_URI]));
    // The token had one use.
    assert_eq!(register(&app, Some(&initial), metadata.clone()).await.0, 401);

    // RFC 7592: read and update with the registration access token, and only with it.
    let (status, read) = manage(&app, "GET", &registration_uri, &registration_token, None).await;
    assert_eq!((status, read["client_name"].as_str()), (200, Some("Agent")));
    assert_eq!(manage(&app, "GET", &registration_uri, "wrong", None).await.0, 401);
    let update = json!({
        "client_id": client_id,
        "client_name": "Agent v2",
        "redirect_uris": [REDIRECT_URI, "http://127.0.0.1:8765/callback"],
        "grant_types": ["authorization_code"],
        "token_endpoint_auth_method": "none",
    });
    let (status, updated) = manage(&app, "PUT", &registration_uri, &registration_token, Some(update.clone())).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["client_name"], "Agent v2");
    assert_eq!(updated["redirect_uris"].as_array().unwrap().len(), 2);
    let confidential = json!({ "client_id": client_id, "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "client_secret_basic" });
    let (status, body) = manage(&app, "PUT", &registration_uri, &registration_token, Some(confidential)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_client_metadata")));

    // The self-registered client is never first-party: the user is asked.
    let rp = Rp { client_id: client_id.clone(), secret: None };
    let start = app.authorize(&rp, &pkce(), &[("scope", "openid profile")]).await;
    let consent = app.submit_login(&location(&start), "alice", crate::flow::PASSWORD).await;
    assert!(location(&consent).starts_with("/consent"), "consent is always shown");

    // Admins see it (marked) in the admin API and delete it; the client may delete itself too.
    let (_, client) = call(&app, &admin, "GET", &format!("/clients/{client_id}"), None).await;
    assert_eq!(client["self_registered"], true);
    let (status, _) = manage(&app, "DELETE", &registration_uri, &registration_token, None).await;
    assert_eq!(status, 204);
    assert_eq!(call(&app, &admin, "GET", &format!("/clients/{client_id}"), None).await.0, 404);
}

#[tokio::test]
async fn registration_validates_metadata_and_can_be_open_or_off() {
    let env = TestEnv::new().await;
    let app = env.spawn_app_with(|s| s.clients.registration = latchkey::config::RegistrationMode::Open).await;
    let (status, body) = register(&app, None, json!({ "redirect_uris": ["https://a.example/cb#frag"] })).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_redirect_uri")), "{body}");
    let (status, body) =
        register(&app, None, json!({ "redirect_uris": ["https://a.example/cb"], "grant_types": ["password"] })).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_client_metadata")));
    let (status, body) =
        register(&app, None, json!({ "redirect_uris": ["https://a.example/cb"], "scope": "openid admin" })).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_client_metadata")),
        "no admin scope for strangers"
    );
    let (status, body) = register(&app, None, json!("not an object")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_client_metadata")));
    let (status, body) = register(&app, None, json!({ "redirect_uris": ["https://a.example/cb"] })).await;
    assert_eq!(status, 201, "{body}");
    assert!(body["client_secret"].as_str().is_some_and(|s| s.len() >= 32), "confidential by default: {body}");
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    let document: Value = app.get("/.well-known/oauth-authorization-server").await.json().await.unwrap();
    assert_eq!(document["registration_endpoint"], format!("{}/register", app.address));
    // Rate-limited per address (a fresh environment: with Redis, counts are shared).
    let fresh = TestEnv::new().await;
    let limited = fresh
        .spawn_app_with(|s| {
            s.clients.registration = latchkey::config::RegistrationMode::Open;
            s.rate_limits.client_registration_per_minute = 1;
        })
        .await;
    let metadata = json!({ "redirect_uris": ["https://a.example/cb"] });
    assert_eq!(register(&limited, None, metadata.clone()).await.0, 201);
    assert_eq!(register(&limited, None, metadata).await.0, 429);

    let off = env.spawn_app_with(|s| s.clients.registration = latchkey::config::RegistrationMode::Off).await;
    let (status, body) = register(&off, None, json!({ "redirect_uris": ["https://a.example/cb"] })).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("access_denied")));
    let document: Value = off.get("/.well-known/openid-configuration").await.json().await.unwrap();
    assert!(document.get("registration_endpoint").is_none());
}
