//! `/account`: the user's own sessions, connected apps and profile.

use std::time::Duration;

use reqwest::Client;

use crate::flow::{ClientOptions, PASSWORD, add_user, hidden_field, location, pkce, register_client};
use crate::helpers::{TestApp, TestEnv};

const FIREFOX_ON_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
const CHROME_ON_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

/// A new browser with this `User-Agent`, signed in as `username`.
async fn signed_in(app: &TestApp, username: &str, user_agent: &str) -> (Client, String) {
    let browser = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent)
        .build()
        .unwrap();
    let page = browser.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_field(&page, "csrf_token");
    let form = [("csrf_token", csrf.as_str()), ("username", username), ("password", PASSWORD)];
    let response = browser.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(location(&response), "/account");
    let csrf = crate::flow::current_csrf(app, &browser).await;
    (browser, csrf)
}

async fn account_page(app: &TestApp, browser: &Client) -> String {
    page(app, browser, "/account").await
}

async fn page(app: &TestApp, browser: &Client, path: &str) -> String {
    let response = browser.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// The paths of the "Sign out" forms of other sessions on the account page.
fn session_end_paths(html: &str) -> Vec<String> {
    html.match_indices("action=\"/account/sessions/")
        .map(|(at, _)| html[at + 8..].split('"').next().unwrap().to_string())
        .filter(|path| !path.contains("/others/"))
        .collect()
}

#[tokio::test]
async fn a_user_signs_out_another_of_their_sessions_which_then_gets_the_login_page() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    add_user(&app, "alice").await;
    let (laptop, laptop_csrf) = signed_in(&app, "alice", FIREFOX_ON_LINUX).await;
    let (desktop, _) = signed_in(&app, "alice", CHROME_ON_WINDOWS).await;

    let html = account_page(&app, &laptop).await;
    assert!(html.contains("Firefox on Linux"), "{html}");
    assert!(html.contains("Chrome on Windows"), "the other browser, described");
    assert_eq!(html.matches("This device").count(), 1);
    assert!(html.contains("from 127.0.0.1"), "the source address");
    let others = session_end_paths(&html);
    assert_eq!(others.len(), 1, "only the other session can be signed out from here: {others:?}");

    let refused = laptop.post(app.url(&others[0])).form(&[("csrf_token", "forged")]).send().await.unwrap();
    assert_eq!(refused.status(), 403, "CSRF");
    assert_eq!(desktop.get(app.url("/account")).send().await.unwrap().status(), 200, "nothing ended");

    let ended = laptop.post(app.url(&others[0])).form(&[("csrf_token", laptop_csrf.as_str())]).send().await.unwrap();
    assert_eq!(location(&ended), "/account?done=session#sessions");
    let back = desktop.get(app.url("/account")).send().await.unwrap();
    assert_eq!((back.status().as_u16(), location(&back)), (303, "/login?next=%2Faccount".to_string()));
    let login = desktop.get(app.url(&location(&back))).send().await.unwrap().text().await.unwrap();
    assert!(login.contains("name=\"password\""), "the login page");

    let html = page(&app, &laptop, &location(&ended)).await;
    assert!(html.contains("That session is signed out."));
    assert!(!html.contains("Chrome on Windows"));
    let again = laptop.post(app.url(&others[0])).form(&[("csrf_token", laptop_csrf.as_str())]).send().await.unwrap();
    assert_eq!(again.status(), 404, "a session already ended");

    // "Sign out all other sessions" keeps this one.
    let (phone, _) = signed_in(&app, "alice", CHROME_ON_WINDOWS).await;
    let form = [("csrf_token", laptop_csrf.as_str())];
    let all = laptop.post(app.url("/account/sessions/others/end")).form(&form).send().await.unwrap();
    assert_eq!(location(&all), "/account?done=sessions#sessions");
    assert_eq!(phone.get(app.url("/account")).send().await.unwrap().status(), 303);
    assert_eq!(laptop.get(app.url("/account")).send().await.unwrap().status(), 200);

    let (events, _) = latchkey::domain::audit::search(
        &app.state.db,
        &latchkey::domain::model::AuditFilter { event_type: Some("session_ended".into()), ..Default::default() },
        0,
        10,
    )
    .await
    .unwrap();
    assert_eq!(events.len(), 2, "both sign-outs are audited");
}

#[tokio::test]
async fn removing_an_apps_access_refuses_its_refresh_token_and_sends_back_channel_logout() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    add_user(&app, "alice").await;
    let (uri, mut received) = crate::backchannel::start_receiver();
    let rp = register_client(
        &app,
        "webapp",
        ClientOptions { backchannel_logout_uri: Some(uri), ..ClientOptions::default() },
    )
    .await;
    let other = register_client(&app, "other", ClientOptions::default()).await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let other_tokens = app.tokens_for(&other, "alice").await;

    let html = account_page(&app, &app.client).await;
    assert!(html.contains("webapp app") && html.contains("other app"), "{html}");
    assert!(html.contains("openid profile email offline_access") || html.contains("email offline_access openid"));
    let csrf = hidden_field(&html, "csrf_token");

    let unknown = [("csrf_token", csrf.as_str()), ("client_id", "nobody")];
    let response = app.client.post(app.url("/account/apps/remove")).form(&unknown).send().await.unwrap();
    assert_eq!(response.status(), 404);

    let form = [("csrf_token", csrf.as_str()), ("client_id", "webapp")];
    let removed = app.client.post(app.url("/account/apps/remove")).form(&form).send().await.unwrap();
    assert_eq!(location(&removed), "/account?done=app#apps");

    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let refused = app.token(&rp, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.json::<serde_json::Value>().await.unwrap()["error"], "invalid_grant");
    let access = app.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(access.status(), 401, "its access token stops working too");
    let logout = tokio::time::timeout(Duration::from_secs(10), received.recv()).await.expect("a logout token");
    let claims = crate::flow::jwt_claims(&logout.unwrap());
    assert_eq!(claims["aud"], "webapp");

    let kept = other_tokens["refresh_token"].as_str().unwrap();
    let still = app.token(&other, &[("grant_type", "refresh_token"), ("refresh_token", kept)]).await;
    assert_eq!(still.status(), 200, "another app keeps its access");

    let html = page(&app, &app.client, &location(&removed)).await;
    assert!(!html.contains("webapp app"));
    assert!(html.contains("The app no longer has access"));
    let asks_again = app.authorize(&rp, &pkce(), &[]).await;
    assert!(location(&asks_again).starts_with("/consent"), "the consent was forgotten");
}

#[tokio::test]
async fn a_user_changes_their_name() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let user = add_user(&app, "alice").await;
    let (browser, csrf) = signed_in(&app, "alice", FIREFOX_ON_LINUX).await;
    let long = "x".repeat(300);
    let form = [("csrf_token", csrf.as_str()), ("display_name", long.as_str())];
    let refused = browser.post(app.url("/account/profile")).form(&form).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let form = [("csrf_token", csrf.as_str()), ("display_name", "Alice Liddell")];
    let saved = browser.post(app.url("/account/profile")).form(&form).send().await.unwrap();
    assert_eq!(location(&saved), "/account?done=profile#profile");
    assert!(account_page(&app, &browser).await.contains("value=\"Alice Liddell\""));
    let stored = latchkey::domain::users::find_user(&app.state.db, &user.id).await.unwrap();
    assert_eq!(stored.display_name.as_deref(), Some("Alice Liddell"));
}

#[tokio::test]
async fn a_signed_out_browser_comes_back_to_the_page_it_asked_for() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    crate::admin_console::signed_in_browser(&app, "bootstrap-admin", true).await;
    let browser = Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let first = browser.get(app.url("/admin/users?q=al")).send().await.unwrap();
    let login_path = location(&first);
    assert_eq!(login_path, "/login?next=%2Fadmin%2Fusers%3Fq%3Dal");
    let html = browser.get(app.url(&login_path)).send().await.unwrap().text().await.unwrap();
    let form = [
        ("csrf_token", hidden_field(&html, "csrf_token")),
        ("next", hidden_field(&html, "next")),
        ("username", "bootstrap-admin".into()),
        ("password", PASSWORD.into()),
    ];
    let signed_in = browser.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(location(&signed_in), "/admin/users?q=al", "back where the admin was going");

    // Only a local path is ever a place to come back to.
    for evil in ["https://evil.example/", "//evil.example/x", "/\\evil.example"] {
        let html =
            Client::new().get(app.url("/login")).query(&[("next", evil)]).send().await.unwrap().text().await.unwrap();
        assert!(!html.contains("evil.example"), "{evil} is dropped");
    }
}
