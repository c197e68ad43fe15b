//! API resources and resource indicators (RFC 8707), plain OAuth 2.0 requests (no
//! `openid`), RFC 8414 metadata and `response_mode=form_post`.

use latchkey::domain::audit::Actor;
use latchkey::domain::resources::{self, ApiSettings};
use serde_json::Value;

use crate::flow::{
    ClientOptions, REDIRECT_URI, Rp, add_user, hidden_field, jwt_claims, location, pkce, query_param, register_client,
};
use crate::helpers::{TestApp, TestEnv};

const MCP: &str = "https://mcp.example/mcp";
const BILLING: &str = "https://billing.example/";

async fn add_api(app: &TestApp, identifier: &str, scopes: &str, require_dpop: bool) {
    let settings = ApiSettings {
        name: Some(format!("{identifier} API")),
        scopes: vec![scopes.into()],
        access_token_ttl_secs: Some(120),
        require_dpop,
    };
    resources::add_api(&app.state, &Actor::Cli, identifier, settings).await.unwrap();
}

async fn setup() -> (TestEnv, TestApp, Rp) {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    add_user(&app, "alice").await;
    add_api(&app, MCP, "tools:read tools:call", false).await;
    add_api(&app, BILLING, "invoices:read", false).await;
    let rp = register_client(&app, "agent", ClientOptions::default()).await;
    (env, app, rp)
}

async fn json(response: reqwest::Response) -> (u16, Value) {
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_token_for_an_api_has_the_api_as_audience_and_only_its_scopes() {
    let (_env, app, rp) = setup().await;
    let pkce = pkce();
    let extra =
        [("scope", "openid profile offline_access tools:read invoices:read"), ("resource", MCP), ("resource", BILLING)];
    let code = app.obtain_code(&rp, "alice", &pkce, &extra).await;
    // Two resources were authorized: the token request names one.
    let exchange = |resource: &'static str| {
        let (code, verifier) = (code.clone(), pkce.verifier.clone());
        let app = &app;
        let rp = &rp;
        async move {
            let mut form = vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", verifier.as_str()),
            ];
            if !resource.is_empty() {
                form.push(("resource", resource));
            }
            json(app.token(rp, &form).await).await
        }
    };
    let (status, body) = exchange("https://unknown.example/").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_target")), "{body}");
    // That attempt spent the code: a code is exchanged once, whatever the outcome.
    let code = app.obtain_code(&rp, "alice", &pkce, &extra).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", pkce.verifier.as_str()),
        ("resource", MCP),
    ];
    let (status, body) = json(app.token(&rp, &form).await).await;
    assert_eq!(status, 200, "{body}");
    let access = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], MCP);
    assert_eq!(access["scope"], "tools:read");
    assert_eq!(access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap(), 120, "the API's own lifetime");
    let id_token = jwt_claims(body["id_token"].as_str().unwrap());
    assert_eq!(id_token["aud"], "agent", "the ID token stays the client's");
    // A token for an API is no token for userinfo.
    assert_eq!(app.userinfo(body["access_token"].as_str().unwrap()).await.status(), 403);

    // Introspection reports the audience.
    let introspected = app
        .client
        .post(app.url("/introspect"))
        .basic_auth(&rp.client_id, rp.secret.as_ref())
        .form(&[("token", body["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    let introspected: Value = introspected.json().await.unwrap();
    assert_eq!((introspected["active"].as_bool(), introspected["aud"].as_str()), (Some(true), Some(MCP)));

    // A refresh may narrow to the other resource, never leave the authorized ones.
    let refresh = body["refresh_token"].as_str().unwrap().to_string();
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str()), ("resource", BILLING)];
    let (status, body) = json(app.token(&rp, &form).await).await;
    assert_eq!(status, 200, "{body}");
    let access = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!((access["aud"].as_str(), access["scope"].as_str()), (Some(BILLING), Some("invoices:read")));
    let refresh = body["refresh_token"].as_str().unwrap().to_string();
    let form =
        [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str()), ("resource", "https://other.example/")];
    let (status, body) = json(app.token(&rp, &form).await).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_target")));
    // Two resources and none named: which one is ambiguous.
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
    let (_, body) = json(app.token(&rp, &form).await).await;
    assert_eq!(body["error"], "invalid_target");
}

#[tokio::test]
async fn unknown_resources_and_scopes_outside_the_api_are_refused_at_authorize() {
    let (_env, app, rp) = setup().await;
    let pkce = pkce();
    let unknown = app.authorize(&rp, &pkce, &[("resource", "https://unknown.example/")]).await;
    let to = location(&unknown);
    assert!(to.starts_with(REDIRECT_URI), "{to}");
    assert_eq!(query_param(&to, "error").as_deref(), Some("invalid_target"));
    assert_eq!(query_param(&to, "state").as_deref(), Some("state-123"));

    let outside = app.authorize(&rp, &pkce, &[("resource", MCP), ("scope", "openid invoices:read")]).await;
    assert_eq!(query_param(&location(&outside), "error").as_deref(), Some("invalid_scope"));
    // Without a resource, an API scope is not the client's to ask for.
    let no_resource = app.authorize(&rp, &pkce, &[("scope", "openid tools:read")]).await;
    assert_eq!(query_param(&location(&no_resource), "error").as_deref(), Some("invalid_scope"));
    // The client's own tokens are unchanged: aud is the client.
    let tokens = app.tokens_for(&rp, "alice").await;
    assert_eq!(jwt_claims(tokens["access_token"].as_str().unwrap())["aud"], "agent");
}

#[tokio::test]
async fn a_request_without_openid_is_plain_oauth_with_consent_and_no_id_token() {
    let (_env, app, rp) = setup().await;
    let pkce = pkce();
    // No scope at all with a resource: the API's scopes. The consent page names the API.
    let start = app.authorize(&rp, &pkce, &[("scope", ""), ("nonce", ""), ("resource", MCP)]).await;
    let login = location(&start);
    let consent = app.submit_login(&login, "alice", crate::flow::PASSWORD).await;
    let consent_path = location(&consent);
    assert!(consent_path.starts_with("/consent"), "{consent_path}");
    let page = app.get(&consent_path).await.text().await.unwrap();
    assert!(page.contains("tools:call") && page.contains(&format!("{MCP} API")), "{page}");
    let done = app.submit_consent(&consent_path, "allow").await;
    let code = query_param(&location(&done), "code").unwrap();
    let (status, body) = json(app.exchange_code(&rp, &code, &pkce.verifier).await).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("id_token").is_none(), "no openid, no ID token: {body}");
    assert!(body.get("refresh_token").is_none(), "no offline_access, no refresh token");
    let access = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!((access["aud"].as_str(), access["scope"].as_str()), (Some(MCP), Some("tools:read tools:call")));

    // Plain OAuth with offline_access still gets a refresh token.
    let code = app.obtain_code(&rp, "alice", &pkce, &[("scope", "offline_access tools:read"), ("resource", MCP)]).await;
    let (_, body) = json(app.exchange_code(&rp, &code, &pkce.verifier).await).await;
    assert!(body.get("id_token").is_none() && body["refresh_token"].is_string(), "{body}");
}

#[tokio::test]
async fn client_credentials_for_an_api_get_the_scopes_an_admin_allowed_and_dpop_apis_refuse_bearer() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    add_api(&app, MCP, "tools:read tools:call", false).await;
    add_api(&app, BILLING, "invoices:read", true).await;
    let scopes = "profile tools:read invoices:read";
    let options = ClientOptions { grants: "client_credentials", scopes, ..Default::default() };
    let service = register_client(&app, "service", options).await;

    let (status, body) =
        json(app.token(&service, &[("grant_type", "client_credentials"), ("resource", MCP)]).await).await;
    assert_eq!(status, 200, "{body}");
    let access = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!((access["aud"].as_str(), access["scope"].as_str()), (Some(MCP), Some("tools:read")));
    let form = [("grant_type", "client_credentials"), ("resource", MCP), ("scope", "tools:call")];
    let (_, body) = json(app.token(&service, &form).await).await;
    assert_eq!(body["error"], "invalid_scope", "an API scope the admin did not allow this client");
    let form = [("grant_type", "client_credentials"), ("resource", "https://unknown.example/")];
    let (_, body) = json(app.token(&service, &form).await).await;
    assert_eq!(body["error"], "invalid_target");
    let (status, body) =
        json(app.token(&service, &[("grant_type", "client_credentials"), ("resource", BILLING)]).await).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "never a Bearer token: {body}");
}

#[tokio::test]
async fn the_rfc8414_document_is_the_discovery_document() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let oauth = app.get("/.well-known/oauth-authorization-server").await;
    assert_eq!(oauth.status(), 200);
    let oauth_body = oauth.text().await.unwrap();
    let oidc_body = app.get("/.well-known/openid-configuration").await.text().await.unwrap();
    assert_eq!(oauth_body, oidc_body);
    assert!(oauth_body.contains(&format!("\"issuer\":\"{}\"", app.address)), "issuer byte for byte");
    let document: Value = serde_json::from_str(&oauth_body).unwrap();
    for member in ["authorization_endpoint", "token_endpoint", "jwks_uri", "code_challenge_methods_supported"] {
        assert!(!document[member].is_null(), "{member}");
    }
    assert_eq!(document["response_modes_supported"], serde_json::json!(["query", "form_post"]));
}

#[tokio::test]
async fn form_post_delivers_the_code_in_a_form_the_browser_posts() {
    let (_env, app, rp) = setup().await;
    let pkce = pkce();
    let start = app.authorize(&rp, &pkce, &[("response_mode", "form_post")]).await;
    let consent = app.submit_login(&location(&start), "alice", crate::flow::PASSWORD).await;
    let done = app.submit_consent(&location(&consent), "allow").await;
    let delivery = location(&done);
    assert!(delivery.starts_with("/authorize/form-post?response="), "no code in a URL: {delivery}");
    let page = app.get(&delivery).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("<form method=\"post\" action=\"{REDIRECT_URI}\"")), "{html}");
    assert!(html.contains("/static/js/form_post.js"));
    assert_eq!(hidden_field(&html, "state"), "state-123");
    assert_eq!(hidden_field(&html, "iss"), app.address);
    let code = hidden_field(&html, "code");
    let (status, _) = json(app.exchange_code(&rp, &code, &pkce.verifier).await).await;
    assert_eq!(status, 200);
    // Delivered once.
    assert_eq!(app.get(&delivery).await.status(), 400);
    // Errors travel the same way: a client the user never allowed, with prompt=none.
    let other = register_client(&app, "other", ClientOptions::default()).await;
    let denied = app.authorize(&other, &pkce, &[("response_mode", "form_post"), ("prompt", "none")]).await;
    let html = app.get(&location(&denied)).await.text().await.unwrap();
    assert_eq!(hidden_field(&html, "error"), "consent_required");
    let script = app.get("/static/js/form_post.js").await;
    assert_eq!(script.status(), 200);
}
