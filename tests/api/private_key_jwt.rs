//! `private_key_jwt` client authentication (RFC 7523).

use latchkey::domain::clients::ClientKeys;
use serde_json::{Value, json};

use crate::client_keys::ClientKey;
use crate::flow::{ClientOptions, register_client};
use crate::helpers::{TestApp, TestEnv};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

async fn token_with_assertion(app: &TestApp, assertion: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    let response = app.client.post(app.url("/token")).form(&form).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_signed_assertion_authenticates_once_and_only_with_the_clients_key_and_audience() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let key = ClientKey::generate("k1");
    let keys = Some(ClientKeys::Jwks(key.jwks().to_string()));
    let options = ClientOptions { grants: "client_credentials", scopes: "profile", keys, ..Default::default() };
    let signer = register_client(&app, "signer", options).await;
    assert!(signer.secret.is_none(), "a client with keys has no secret");

    let token_endpoint = app.url("/token");
    let assertion = key.assertion("signer", &token_endpoint);
    let (status, body) = token_with_assertion(&app, &assertion).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(crate::flow::jwt_claims(body["access_token"].as_str().unwrap())["sub"], "signer");

    let (status, body) = token_with_assertion(&app, &assertion).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "a replayed assertion");

    // The issuer is an accepted audience too; another server's is not.
    assert_eq!(token_with_assertion(&app, &key.assertion("signer", &app.address)).await.0, 200);
    assert_eq!(token_with_assertion(&app, &key.assertion("signer", "https://other.example/token")).await.0, 401);
    // Another key, even with the client's kid.
    let stranger = ClientKey::generate("k1");
    assert_eq!(token_with_assertion(&app, &stranger.assertion("signer", &token_endpoint)).await.0, 401);
    // A symmetric algorithm is never accepted.
    let now = latchkey::domain::now();
    let claims = json!({"iss": "signer", "sub": "signer", "aud": token_endpoint, "exp": now + 60, "jti": "h1"});
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"guess").unwrap(),
    )
    .unwrap();
    assert_eq!(token_with_assertion(&app, &hs256).await.0, 401);
    // Valid for too long.
    let claims = json!({"iss": "signer", "sub": "signer", "aud": token_endpoint, "exp": now + 3600, "jti": "long"});
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("k1".into());
    assert_eq!(token_with_assertion(&app, &key.sign(header, &claims)).await.0, 401);
    // No secret to guess: Basic authentication fails.
    let basic = app
        .client
        .post(app.url("/token"))
        .basic_auth("signer", Some("x".repeat(40)))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);

    let document: Value = app.get("/.well-known/openid-configuration").await.json().await.unwrap();
    assert!(document["token_endpoint_auth_methods_supported"].as_array().unwrap().contains(&json!("private_key_jwt")));
}
