//! The device authorization grant (RFC 8628): every polling answer, and the user's
//! confirmation at /device through HTTP forms (the Chromium test does it in a browser).

use serde_json::Value;

use crate::flow::{ClientOptions, PASSWORD, Rp, add_user, hidden_field, location, register_client};
use crate::helpers::{TestApp, TestEnv};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn start(app: &TestApp, rp: &Rp, scope: &str) -> Value {
    let response = app
        .client
        .post(app.url("/device_authorization"))
        .form(&[("client_id", rp.client_id.as_str()), ("scope", scope)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn poll(app: &TestApp, rp: &Rp, device_code: &str) -> (u16, Value) {
    let response = app.token(rp, &[("grant_type", GRANT), ("device_code", device_code)]).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Signs `alice` in at the verification URI and answers with `decision`.
async fn confirm(app: &TestApp, user_code: &str, decision: &str) -> String {
    let first = app.client.get(app.url("/device")).query(&[("user_code", user_code)]).send().await.unwrap();
    let login = location(&first);
    assert!(login.starts_with("/login?next="), "{login}");
    let signed_in = app.submit_login(&login, "alice", PASSWORD).await;
    let back = location(&signed_in);
    assert!(back.starts_with("/device?user_code="), "{back}");
    let page = app.get(&back).await.text().await.unwrap();
    assert!(page.contains("tv app"), "the client's name is shown: {page}");
    let form = [
        ("csrf_token", hidden_field(&page, "csrf_token")),
        ("user_code", hidden_field(&page, "user_code")),
        ("decision", decision.to_string()),
    ];
    app.client.post(app.url("/device")).form(&form).send().await.unwrap().text().await.unwrap()
}

fn fast(settings: &mut latchkey::config::Settings) {
    settings.device.poll_interval_secs = 1;
}

#[tokio::test]
async fn a_device_polls_until_the_user_confirms_then_gets_tokens_once() {
    let env = TestEnv::new().await;
    let app = env.spawn_app_with(fast).await;
    add_user(&app, "alice").await;
    let options = ClientOptions { public: true, grants: "device_code,refresh_token", ..Default::default() };
    let rp = register_client(&app, "tv", options).await;
    let started = start(&app, &rp, "openid profile offline_access").await;
    let user_code = started["user_code"].as_str().unwrap();
    let device_code = started["device_code"].as_str().unwrap();
    assert_eq!(started["verification_uri"], format!("{}/device", app.address));
    assert_eq!(started["interval"], 1);
    assert_eq!(user_code.len(), 9, "XXXX-XXXX");

    let (status, body) = poll(&app, &rp, device_code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("authorization_pending")));
    let (status, body) = poll(&app, &rp, device_code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("slow_down")), "polled again within the interval");

    let done = confirm(&app, &user_code.to_lowercase().replace('-', " "), "allow").await;
    assert!(done.contains("your device is signed in"), "{done}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, tokens) = poll(&app, &rp, device_code).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["id_token"].is_string() && tokens["refresh_token"].is_string());
    assert_eq!(crate::flow::jwt_claims(tokens["id_token"].as_str().unwrap())["aud"], "tv");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, body) = poll(&app, &rp, device_code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "tokens once");

    // A client without the grant cannot start one.
    let web = register_client(&app, "web", ClientOptions { public: true, ..Default::default() }).await;
    let refused = app.client.post(app.url("/device_authorization")).form(&[("client_id", web.client_id.as_str())]);
    let refused: Value = refused.send().await.unwrap().json().await.unwrap();
    assert_eq!(refused["error"], "unauthorized_client");
}

#[tokio::test]
async fn a_denied_or_expired_device_code_says_so() {
    let env = TestEnv::new().await;
    let app = env
        .spawn_app_with(|s| {
            fast(s);
            s.device.code_ttl_secs = 10;
        })
        .await;
    add_user(&app, "alice").await;
    let options =
        ClientOptions { public: true, grants: "urn:ietf:params:oauth:grant-type:device_code", ..Default::default() };
    let rp = register_client(&app, "tv", options).await;

    let denied = start(&app, &rp, "openid").await;
    let done = confirm(&app, denied["user_code"].as_str().unwrap(), "deny").await;
    assert!(done.contains("Denied"), "{done}");
    let (status, body) = poll(&app, &rp, denied["device_code"].as_str().unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("access_denied")));

    // A wrong code is refused on the page, and codes entered are rate-limited.
    let page = app.client.get(app.url("/device")).query(&[("user_code", "BCDF-GHJK")]).send().await.unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("not valid or has expired"));

    let expiring = start(&app, &rp, "openid").await;
    tokio::time::sleep(std::time::Duration::from_secs(11)).await;
    let (status, body) = poll(&app, &rp, expiring["device_code"].as_str().unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("expired_token")));
    let (_, body) = poll(&app, &rp, "never-issued").await;
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn user_codes_are_rate_limited_per_address() {
    let env = TestEnv::new().await;
    let app = env.spawn_app_with(|s| s.rate_limits.device_user_code_per_minute = 2).await;
    add_user(&app, "alice").await;
    let login = app.submit_login("/login", "alice", PASSWORD).await;
    assert_eq!(login.status(), 303);
    for expected in [400, 400, 429] {
        let page = app.client.get(app.url("/device")).query(&[("user_code", "BCDF-GHJK")]).send().await.unwrap();
        assert_eq!(page.status(), expected);
    }
}
