//! Client ID Metadata Documents: a client whose id is an https URL, fetched over TLS from a
//! server the test runs (its own CA, trusted through the test-only setting).

use serde_json::{Value, json};

use crate::flow::{PASSWORD, REDIRECT_URI, Rp, add_user, location, pkce, query_param};
use crate::helpers::{TestApp, TestEnv};
use crate::https_server::HttpsServer;

async fn app_trusting(env: &TestEnv, server: &HttpsServer, allow_private: bool) -> TestApp {
    let ca = server.ca_file.display().to_string();
    env.spawn_app_with(move |s| {
        s.clients.metadata_documents.allow_private_addresses = allow_private;
        s.clients.metadata_documents.extra_root_certificates = ca;
    })
    .await
}

fn document(client_id: &str) -> String {
    json!({
        "client_id": client_id,
        "client_name": "Desktop Agent",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
    })
    .to_string()
}

#[tokio::test]
async fn a_metadata_document_client_completes_a_code_flow_with_pkce() {
    let env = TestEnv::new().await;
    let server = HttpsServer::start(env.dir.path()).await;
    let client_id = format!("{}/oauth/client.json", server.base);
    server.serve("/oauth/client.json", &document(&client_id));
    let app = app_trusting(&env, &server, true).await;
    add_user(&app, "alice").await;
    let discovery: Value = app.get("/.well-known/oauth-authorization-server").await.json().await.unwrap();
    assert_eq!(discovery["client_id_metadata_document_supported"], true);

    let rp = Rp { client_id: client_id.clone(), secret: None };
    let pkce = pkce();
    let start = app.authorize(&rp, &pkce, &[("scope", "openid profile offline_access")]).await;
    let login = location(&start);
    assert!(login.starts_with("/login"), "{login}");
    let consent = location(&app.submit_login(&login, "alice", PASSWORD).await);
    assert!(consent.starts_with("/consent"), "never first-party: {consent}");
    let page = app.get(&consent).await.text().await.unwrap();
    assert!(page.contains("Desktop Agent") && page.contains("not registered by your administrator"), "{page}");
    assert!(page.contains("<strong>localhost</strong>"), "the host is shown: {page}");
    let back = location(&app.submit_consent(&consent, "allow").await);
    let code = query_param(&back, "code").unwrap_or_else(|| panic!("{back}"));
    let response = app.exchange_code(&rp, &code, &pkce.verifier).await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(crate::flow::jwt_claims(tokens["id_token"].as_str().unwrap())["aud"], client_id.as_str());
    // The tokens work like any client's: userinfo, and a refresh.
    assert_eq!(app.userinfo(tokens["access_token"].as_str().unwrap()).await.status(), 200);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let refreshed = app.token(&rp, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!(refreshed.status(), 200);

    // A redirect URI the document does not list is refused on a page, never redirected to.
    let other = app.authorize(&rp, &pkce, &[("redirect_uri", "https://evil.example/cb")]).await;
    assert_eq!(other.status(), 400);
}

#[tokio::test]
async fn mismatched_private_and_oversized_documents_are_refused() {
    let env = TestEnv::new().await;
    let server = HttpsServer::start(env.dir.path()).await;
    let app = app_trusting(&env, &server, true).await;
    let pkce = pkce();
    let refused = |client_id: String| {
        let app = &app;
        let pkce = &pkce;
        async move {
            let rp = Rp { client_id, secret: None };
            let response = app.authorize(&rp, pkce, &[]).await;
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };

    let mismatched = server.serve("/mismatched.json", &document("https://elsewhere.example/client.json"));
    let (status, page) = refused(mismatched).await;
    assert_eq!(status, 400);
    assert!(page.contains("not registered"), "{page}");

    let padding = "x".repeat(6 * 1024);
    let big_id = format!("{}/big.json", server.base);
    let mut big: Value = serde_json::from_str(&document(&big_id)).unwrap();
    big["client_uri"] = json!(format!("https://a.example/{padding}"));
    server.serve("/big.json", &big.to_string());
    assert_eq!(refused(big_id).await.0, 400, "over 5 KiB");

    assert_eq!(refused(format!("{}/missing.json", server.base)).await.0, 400, "404 at the URL");

    // Redirects are followed on the same host only.
    let moved_id = format!("{}/moved.json", server.base);
    server.serve("/moved-here.json", &document(&moved_id));
    server.redirect("/moved.json", &format!("{}/moved-here.json", server.base));
    assert_eq!(refused(moved_id).await.0, 303, "a same-host redirect is followed");
    let away_id = format!("{}/away.json", server.base);
    let other_host = server.base.replace("localhost", "127.0.0.1");
    server.serve("/away-there.json", &document(&away_id));
    server.redirect("/away.json", &format!("{other_host}/away-there.json"));
    assert_eq!(refused(away_id).await.0, 400, "never to another host");
    assert_eq!(refused("https://127.0.0.1:1/client.json".into()).await.0, 400, "unreachable");

    // Without the test-only setting, a document on a loopback address is never fetched,
    // whether the URL names the address or a host that resolves to it.
    let strict = app_trusting(&env, &server, false).await;
    let loopback_id = format!("{}/ok.json", server.base);
    server.serve("/ok.json", &document(&loopback_id));
    for client_id in [loopback_id, "https://127.0.0.1/client.json".to_string(), "https://[::1]/client.json".to_string()]
    {
        let rp = Rp { client_id, secret: None };
        assert_eq!(strict.authorize(&rp, &pkce, &[]).await.status(), 400);
    }
    // While the app that may fetch it accepts the same document.
    let rp = Rp { client_id: format!("{}/ok.json", server.base), secret: None };
    let accepted = app.authorize(&rp, &pkce, &[]).await;
    assert_eq!(accepted.status(), 303);
    assert!(location(&accepted).starts_with("/login"));
}
