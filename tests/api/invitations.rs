//! Invitations and self-registration. An admin creates a user without a password and the
//! user sets one up from the link, with a password or with a passkey (software
//! authenticator); without mail, the CLI prints the link. Self-registered accounts work
//! once their address is verified.

use serde_json::{Value, json};

use crate::flow::{hidden_field, location};
use crate::helpers::{TestApp, TestEnv};
use crate::mailbox::Mailbox;
use crate::passkeys::meta;
use crate::soft_authenticator::SoftAuthenticator;

async fn invite(app: &TestApp, token: &str, username: &str) -> (u16, Value) {
    let body = json!({ "username": username, "email": format!("{username}@example.com") });
    crate::admin_api::call(app, token, "POST", "/users/invitations", Some(body)).await
}

#[tokio::test]
async fn an_invited_user_chooses_a_password_and_the_link_works_once() {
    let env = TestEnv::new().await;
    let mailbox = Mailbox::start();
    let app = env.spawn_app_with(|s| s.smtp.url = mailbox.url()).await;
    let token = crate::admin_api::admin_token(&app).await;
    let (status, sent) = invite(&app, &token, "erin").await;
    assert_eq!((status, sent["mailed"].clone(), sent["user"]["username"].clone()), (201, json!(true), json!("erin")));
    let mail = mailbox.nth_to("erin@example.com", 1).await;
    assert!(mail.body.contains("You are invited"), "{}", mail.body);
    let link = mail.link(&app.address, "/invite");

    let page = app.get(&link).await.text().await.unwrap();
    assert!(page.contains("Choose a password") && page.contains("Use a passkey"), "{page}");
    let form = [
        ("csrf_token", hidden_field(&page, "csrf_token")),
        ("token", hidden_field(&page, "token")),
        ("password", "erin's new password".to_string()),
    ];
    let done = app.client.post(app.url("/invite")).form(&form).send().await.unwrap();
    assert_eq!(location(&done), "/account", "signed in");
    assert_eq!(app.get(&link).await.status(), 400, "an invitation works once");
    let erin = latchkey::domain::users::find_by_username(&app.state.db, "erin").await.unwrap();
    assert!(erin.email_verified, "the invitation proved the address");

    // Inviting a user who can sign in already is refused.
    assert_eq!(invite(&app, &token, "erin").await.0, 409);
}

#[tokio::test]
async fn an_invited_user_registers_a_passkey_and_is_signed_in_with_it() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    // No mail: the CLI prints the link for the admin to pass on.
    let output = env.latchkey(&["user", "invite", "finn", "--email", "finn@example.com"], None);
    output.assert_success();
    let printed = output.stdout.clone();
    let start = printed.find("/invite?token=").unwrap_or_else(|| panic!("{printed}"));
    let link = printed[start..].split_whitespace().next().unwrap().to_string();

    let browser =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap();
    let page = browser.get(app.url(&link)).send().await.unwrap().text().await.unwrap();
    let (csrf, token) = (meta(&page, "csrf-token"), meta(&page, "invite-token"));
    let post = |path: &'static str, body: Value, csrf: String| {
        let request = browser.post(app.url(path)).header("X-CSRF-Token", &csrf).json(&body);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, started) = post("/invite/passkey/start", json!({ "token": token }), csrf.clone()).await;
    assert_eq!(status, 200, "{started}");
    let mut authenticator = SoftAuthenticator::new(&app.address);
    let credential = authenticator.register(&started["options"]);
    let body = json!({ "token": token, "ceremony": started["ceremony"], "credential": credential, "name": "Phone" });
    let (status, finished) = post("/invite/passkey/finish", body, csrf.clone()).await;
    assert_eq!((status, finished["redirect"].clone()), (200, json!("/account")), "{finished}");
    let account = browser.get(app.url("/account")).send().await.unwrap().text().await.unwrap();
    assert!(account.contains("Phone"), "signed in, with the passkey listed: {account}");
    let (status, _) = post("/invite/passkey/start", json!({ "token": token }), meta(&account, "csrf-token")).await;
    assert_eq!(status, 400, "the invitation is spent");
}

/// Fills in `/register` in a browser of its own; the status and the page.
async fn register(app: &TestApp, username: &str, email: &str) -> (u16, String) {
    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser.get(app.url("/register")).send().await.unwrap().text().await.unwrap();
    let form = [
        ("csrf_token", hidden_field(&page, "csrf_token")),
        ("username", username.to_string()),
        ("email", email.to_string()),
        ("password", crate::flow::PASSWORD.to_string()),
    ];
    let response = browser.post(app.url("/register")).form(&form).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn self_registration_is_limited_to_allowed_domains_and_works_after_verification() {
    let env = TestEnv::new().await;
    assert_eq!(env.spawn_app().await.get("/register").await.status(), 404, "off by default");
    let mailbox = Mailbox::start();
    let app = env
        .spawn_app_with(|s| {
            s.smtp.url = mailbox.url();
            s.registration.enabled = true;
            s.registration.allowed_email_domains = vec!["example.com".into()];
        })
        .await;
    assert!(app.get("/login").await.text().await.unwrap().contains("Create an account"));

    let (status, page) = register(&app, "gail", "gail@elsewhere.example").await;
    assert_eq!(status, 400);
    assert!(page.contains("example.com"), "{page}");

    let (status, first) = register(&app, "gail", "gail@example.com").await;
    assert_eq!(status, 200);
    // Not usable before the address is verified.
    assert_eq!(app.submit_login("/login", "gail", crate::flow::PASSWORD).await.status(), 401);
    // A taken username, or a taken address, gets the same answer and no mail.
    crate::flow::add_user(&app, "hank").await;
    let (_, taken_name) = register(&app, "hank", "someone@example.com").await;
    let (_, taken_address) = register(&app, "other", "hank@example.com").await;
    let answer = |page: &str| page.split("id=\"registration-sent\">").nth(1).map(|s| s[..40].to_string());
    assert!(answer(&first).is_some());
    assert_eq!(answer(&first), answer(&taken_name));
    assert_eq!(answer(&first), answer(&taken_address));

    let link = mailbox.nth_to("gail@example.com", 1).await.link(&app.address, "/email/verify");
    let page = app.get(&link).await.text().await.unwrap();
    let form = [("csrf_token", hidden_field(&page, "csrf_token")), ("token", hidden_field(&page, "token"))];
    assert_eq!(app.client.post(app.url("/email/verify")).form(&form).send().await.unwrap().status(), 200);
    assert_eq!(location(&app.submit_login("/login", "gail", crate::flow::PASSWORD).await), "/account");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(mailbox.all().len(), 1, "nothing was mailed for the taken username or address");
}
