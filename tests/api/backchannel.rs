//! OpenID Back-Channel Logout: a real HTTP receiver gets a signed logout token.

use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::flow::{ClientOptions, add_user, register_client};
use crate::helpers::TestEnv;

#[derive(serde::Deserialize)]
struct LogoutForm {
    logout_token: String,
}

/// Starts a receiver for logout tokens; returns its URL and the tokens it gets.
pub(crate) fn start_receiver() -> (String, mpsc::UnboundedReceiver<String>) {
    let (sender, receiver) = mpsc::unbounded_channel::<String>();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        let sender = sender.clone();
        App::new().route(
            "/backchannel-logout",
            web::post().to(move |form: web::Form<LogoutForm>| {
                let sender = sender.clone();
                async move {
                    sender.send(form.into_inner().logout_token).unwrap();
                    HttpResponse::Ok().finish()
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}/backchannel-logout"), receiver)
}

#[tokio::test]
async fn logout_sends_a_signed_logout_token_to_the_clients_of_the_session() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let user = add_user(&app, "alice").await;
    let (uri, mut received) = start_receiver();
    let rp = register_client(
        &app,
        "webapp",
        ClientOptions { first_party: true, backchannel_logout_uri: Some(uri), ..ClientOptions::default() },
    )
    .await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let id_token = tokens["id_token"].as_str().unwrap();

    let logout = app.client.get(app.url("/logout")).query(&[("id_token_hint", id_token)]).send().await.unwrap();
    assert_eq!(logout.status(), 200, "signed-out page");

    let token = tokio::time::timeout(Duration::from_secs(10), received.recv()).await.expect("a logout token").unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let jwks: jsonwebtoken::jwk::JwkSet = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    let key = DecodingKey::from_jwk(jwks.find(&header.kid.unwrap()).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&app.address]);
    validation.set_audience(&["webapp"]);
    let claims: Value = jsonwebtoken::decode(&token, &key, &validation).unwrap().claims;
    assert_eq!(claims["sub"], user.id);
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims.get("nonce").is_none(), "a logout token never carries a nonce");
    let id_claims: Value = jsonwebtoken::dangerous::insecure_decode(id_token).unwrap().claims;
    assert_eq!(claims["sid"], id_claims["sid"], "the sid of the ended session");
}
