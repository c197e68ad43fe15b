//! Invitations: an admin creates a user without a password and the user sets one up from
//! the link, with a password or with a passkey (software authenticator); without mail,
//! the CLI prints the link.

use serde_json::{Value, json};

use crate::flow::{hidden_field, location};
use crate::helpers::{TestApp, TestEnv};
use crate::mailbox::Mailbox;
use crate::soft_authenticator::SoftAuthenticator;

fn meta(html: &str, name: &str) -> String {
    let marker = format!("<meta name=\"{name}\" content=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no meta {name}")) + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

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
