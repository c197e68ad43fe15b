//! The login page and the browser session cookie.

use crate::flow::{ClientOptions, add_user, location, pkce, register_client};
use crate::helpers::TestEnv;

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("latchkey_session=") || c.starts_with("__Host-latchkey_session="))
}

#[tokio::test]
async fn each_sign_in_gets_a_new_session_id_and_the_old_one_stops_working() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    add_user(&app, "alice").await;
    let first = app.submit_login("/login", "alice", crate::flow::PASSWORD).await;
    assert_eq!(first.status(), 303, "303 after a POST");
    let first_cookie = session_cookie(&first).unwrap();
    // Signed in already; prompt=login shows the form again.
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let again = app.authorize(&rp, &pkce(), &[("prompt", "login")]).await;
    let second = app.submit_login(&location(&again), "alice", crate::flow::PASSWORD).await;
    let second_cookie = session_cookie(&second).unwrap();
    assert_ne!(first_cookie, second_cookie);

    let old_id = first_cookie.split(';').next().unwrap().trim_start_matches("latchkey_session=");
    let stale = reqwest::Client::new()
        .get(app.url("/login"))
        .header("cookie", format!("latchkey_session={old_id}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!stale.contains("You are signed in"), "the pre-login session id is worthless");
    assert!(app.get("/login").await.text().await.unwrap().contains("You are signed in"));
}

#[tokio::test]
async fn cookies_are_secure_when_the_issuer_is_https() {
    let env = TestEnv::new().await;
    let app = env.spawn_app_with(|s| s.issuer = "https://id.example".into()).await;
    add_user(&app, "alice").await;
    let page = app.get("/login").await;
    let csrf = page.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(csrf.contains("Secure") && csrf.contains("HttpOnly") && csrf.contains("SameSite=Lax"), "{csrf}");
    let html = page.text().await.unwrap();
    let token = crate::flow::hidden_field(&html, "csrf_token");
    let cookie_value = csrf.split(';').next().unwrap().to_string();
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/login"))
        .header("cookie", cookie_value)
        .form(&[("csrf_token", token.as_str()), ("username", "alice"), ("password", crate::flow::PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = session_cookie(&response).expect("a session cookie");
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
}

#[tokio::test]
async fn the_login_page_renders_without_javascript_and_keeps_the_request() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let rp = register_client(&app, "webapp", ClientOptions::default()).await;
    let response = app.authorize(&rp, &pkce(), &[]).await;
    let page = app.get(&location(&response)).await;
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    for needle in [r#"name="username""#, r#"name="password""#, r#"name="csrf_token""#, r#"method="post""#, "webapp app"]
    {
        assert!(html.contains(needle), "{needle} in {html}");
    }
}

#[tokio::test]
async fn too_many_password_attempts_from_one_address_get_429() {
    let env = TestEnv::new().await;
    let app = env.spawn_app_with(|s| s.lockout.attempts_per_ip_per_minute = 2).await;
    add_user(&app, "alice").await;
    add_user(&app, "bob").await;
    assert_eq!(app.submit_login("/login", "alice", "wrong").await.status(), 401);
    assert_eq!(app.submit_login("/login", "bob", "wrong").await.status(), 401);
    let limited = app.submit_login("/login", "alice", crate::flow::PASSWORD).await;
    assert_eq!(limited.status(), 429, "even the right password waits: the limit is per address, over all accounts");
    assert!(limited.text().await.unwrap().contains("Too many attempts"));
}
