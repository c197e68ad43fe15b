use crate::helpers::TestEnv;

#[tokio::test]
async fn discovery_names_the_configured_issuer_exactly_and_derives_endpoints_from_it() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;

    let response = app.get("/.well-known/openid-configuration").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let body = response.text().await.unwrap();
    let document: serde_json::Value = serde_json::from_str(&body).unwrap();

    assert_eq!(document["issuer"], app.address.as_str());
    // Byte for byte: no trailing slash, no escaping.
    assert!(body.contains(&format!("\"issuer\":\"{}\"", app.address)));
    assert_eq!(document["jwks_uri"], format!("{}/.well-known/jwks.json", app.address));
    assert_eq!(document["id_token_signing_alg_values_supported"], serde_json::json!(["RS256"]));
    assert_eq!(document["subject_types_supported"], serde_json::json!(["public"]));
    assert_eq!(document["response_types_supported"], serde_json::json!(["code"]));
}

#[tokio::test]
async fn an_issuer_with_a_path_prefixes_every_endpoint() {
    let env = TestEnv::new().await;
    let app = env.spawn_app_with(|s| s.issuer = format!("{}/realms/main", s.issuer)).await;
    let document: serde_json::Value = app.get("/.well-known/openid-configuration").await.json().await.unwrap();
    assert_eq!(document["issuer"], format!("{}/realms/main", app.address));
    assert_eq!(document["jwks_uri"], format!("{}/realms/main/.well-known/jwks.json", app.address));
}

#[tokio::test]
async fn pages_carry_security_headers_and_unknown_paths_get_an_html_404() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let response = app.get("/no-such-page").await;
    assert_eq!(response.status(), 404);
    let headers = response.headers().clone();
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(response.text().await.unwrap().contains("Page not found"));

    let css = app.get("/static/css/latchkey.css").await;
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
}
