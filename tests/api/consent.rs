//! The consent page and the prompt parameter.

use crate::flow::{ClientOptions, REDIRECT_URI, add_user, location, pkce, query_param, register_client};
use crate::helpers::TestEnv;

#[tokio::test]
async fn denying_consent_returns_access_denied_to_the_client() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "thirdparty", ClientOptions::default()).await;
    let response = app.authorize(&rp, &pkce(), &[]).await;
    let response = app.submit_login(&location(&response), "alice", crate::flow::PASSWORD).await;
    let consent_path = location(&response);
    assert!(consent_path.starts_with("/consent"));
    let response = app.submit_consent(&consent_path, "deny").await;
    let target = location(&response);
    assert!(target.starts_with(REDIRECT_URI));
    assert_eq!(query_param(&target, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&target, "state").as_deref(), Some("state-123"));
    // Answered once: the same request cannot be consented to afterwards.
    assert_eq!(app.submit_consent_without_reload(&consent_path).await, 400);
}

#[tokio::test]
async fn consent_is_remembered_per_scope_set_and_prompt_none_asks_for_it() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "thirdparty", ClientOptions::default()).await;

    let pkce = pkce();
    app.obtain_code(&rp, "alice", &pkce, &[("scope", "openid profile")]).await;
    // Same scopes again: straight back with a code, no consent page.
    let again = app.authorize(&rp, &pkce, &[("scope", "openid profile")]).await;
    assert!(query_param(&location(&again), "code").is_some(), "{}", location(&again));
    // More scopes: consent again; with prompt=none that is an error for the client.
    let more = app.authorize(&rp, &pkce, &[("scope", "openid profile email"), ("prompt", "none")]).await;
    assert_eq!(query_param(&location(&more), "error").as_deref(), Some("consent_required"));
    let more = app.authorize(&rp, &pkce, &[("scope", "openid profile email")]).await;
    assert!(location(&more).starts_with("/consent"));
    // prompt=login forces a fresh sign-in even with a session.
    let login = app.authorize(&rp, &pkce, &[("scope", "openid profile"), ("prompt", "login")]).await;
    assert!(location(&login).starts_with("/login"));
}

#[tokio::test]
async fn login_hint_prefills_the_username() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let rp = register_client(&app, "webapp", ClientOptions::default()).await;
    let response = app.authorize(&rp, &pkce(), &[("login_hint", "bob@example.com")]).await;
    let page = app.get(&location(&response)).await.text().await.unwrap();
    assert!(page.contains(r#"value="bob@example.com""#), "{page}");
}

impl crate::helpers::TestApp {
    /// Posts "allow" for a consent page whose request may be gone; returns the status.
    async fn submit_consent_without_reload(&self, consent_path: &str) -> u16 {
        let request_id = query_param(&format!("http://x{consent_path}"), "request").unwrap();
        let csrf = self.client.get(self.url("/login")).send().await.unwrap().text().await.unwrap();
        let csrf = crate::flow::hidden_field(&csrf, "csrf_token");
        let form = [("csrf_token", csrf), ("request", request_id), ("decision", "allow".into())];
        self.client.post(self.url("/consent")).form(&form).send().await.unwrap().status().as_u16()
    }
}

#[tokio::test]
async fn malformed_browser_requests_get_an_html_error_page() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let missing_query = app.get("/consent").await;
    assert_eq!(missing_query.status(), 400);
    assert!(missing_query.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let missing_field = app.client.post(app.url("/consent")).form(&[("csrf_token", "x")]).send().await.unwrap();
    assert_eq!(missing_field.status(), 400);
    assert!(missing_field.text().await.unwrap().contains("This request is not valid"));
}

#[tokio::test]
async fn the_consent_page_shows_the_clients_name_and_logo_and_the_site_branding() {
    let env = TestEnv::new().await;
    let app = env
        .spawn_app_with(|s| {
            s.ui.site_name = "Acme Sign-in".into();
            s.ui.accent_color = "#aa3300".into();
        })
        .await;
    add_user(&app, "alice").await;
    let logo = Some("https://shop.example/logo.png".to_string());
    let rp = register_client(&app, "shop", ClientOptions { logo_uri: logo, ..ClientOptions::default() }).await;
    let response = app.authorize(&rp, &pkce(), &[]).await;
    let login = app.get(&location(&response)).await.text().await.unwrap();
    assert!(
        login.contains("<title>Sign in · Acme Sign-in</title>") || login.contains("· Acme Sign-in</title>"),
        "{login}"
    );
    let response = app.submit_login(&location(&response), "alice", crate::flow::PASSWORD).await;
    let consent = app.get(&location(&response)).await.text().await.unwrap();
    assert!(consent.contains(r#"<img src="https://shop.example/logo.png" alt="" class="client-logo""#), "{consent}");
    assert!(consent.contains("Allow shop app?"));
    assert!(consent.contains(r#"<span class="site-name">Acme Sign-in</span>"#));
    let theme = app.get("/branding/theme.css").await.text().await.unwrap();
    assert!(theme.contains("--accent: #aa3300"), "{theme}");

    // Only an https logo is taken.
    let new = latchkey::domain::clients::NewClient {
        id: "plain".into(),
        name: None,
        public: true,
        first_party: false,
        require_pkce: false,
        require_par: false,
        redirect_uris: vec![REDIRECT_URI.into()],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        scopes: "openid".into(),
        grants: vec!["authorization_code".into()],
        secret: None,
        keys: None,
        logo_uri: Some("http://shop.example/logo.png".into()),
    };
    let refused = latchkey::domain::clients::add_client(&app.state, &latchkey::domain::audit::Actor::Cli, new).await;
    assert!(matches!(refused, Err(latchkey::domain::clients::ClientError::InvalidLogoUri)));
}
