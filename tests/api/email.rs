//! Mail through a real SMTP server on a random port: the tests read what it receives and
//! follow the links over HTTP (password reset, verification, notices), and see what
//! happens when the SMTP server is down.

use std::time::Duration;

use latchkey::domain::audit::{self, AuditFilter};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, RedirectUrl, Scope,
    TokenResponse,
};
use serde_json::Value;

use crate::flow::{
    ClientOptions, PASSWORD, REDIRECT_URI, add_user, hidden_field, location, query_param, register_client,
};
use crate::helpers::{TestApp, TestEnv, eventually};
use crate::mailbox::Mailbox;

const NEW_PASSWORD: &str = "a brand new password 42";

/// Asks for a reset link on `/password/forgot` in a browser of its own; the answer page.
async fn forgot(app: &TestApp, field: &str, identifier: &str) -> (u16, String) {
    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser.get(app.url("/password/forgot")).send().await.unwrap().text().await.unwrap();
    let form = [("csrf_token", hidden_field(&page, "csrf_token")), (field, identifier.to_string())];
    let answer = browser.post(app.url("/password/forgot")).form(&form).send().await.unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

/// Opens a reset link and sets `password`; the response to the form.
async fn follow_reset(app: &TestApp, link: &str, password: &str) -> reqwest::Response {
    let page = app.get(link).await;
    assert_eq!(page.status(), 200, "{link}");
    let page = page.text().await.unwrap();
    let form = [
        ("csrf_token", hidden_field(&page, "csrf_token")),
        ("token", hidden_field(&page, "token")),
        ("password", password.to_string()),
    ];
    app.client.post(app.url("/password/reset")).form(&form).send().await.unwrap()
}

fn with_mail(mailbox: &Mailbox) -> impl FnOnce(&mut latchkey::config::Settings) + '_ {
    move |settings| {
        settings.smtp.url = mailbox.url();
        settings.smtp.from = "Latchkey <login@latchkey.test>".into();
    }
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_the_old_refresh_tokens() {
    let env = TestEnv::new().await;
    let mailbox = Mailbox::start();
    let app = env.spawn_app_with(with_mail(&mailbox)).await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let tokens = app.tokens_for(&rp, "alice").await;

    let login = app.get("/login?prompt=login").await.text().await.unwrap();
    assert!(login.contains("Forgot your password?"), "offered when mail is set up");

    // The same answer for an account, an unknown address and an unknown username.
    let known = forgot(&app, "email", "Alice@Example.com").await;
    let unknown = forgot(&app, "email", "nobody@example.com").await;
    let unknown_name = forgot(&app, "username", "nobody").await;
    assert_eq!(known.0, 200);
    assert_eq!(known, unknown);
    assert_eq!(known, unknown_name);

    let mail = mailbox.nth_to("alice@example.com", 1).await;
    assert!(mail.body.contains("Content-Type: text/plain") && mail.body.contains("Content-Type: text/html"));
    assert!(mail.body.contains("localhost"), "names the issuer's site");
    let link = mail.link(&app.address, "/password/reset");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(mailbox.all().len(), 1, "nothing was sent for the unknown accounts");

    // Too weak a password is refused on the page, and the link still works.
    let weak = follow_reset(&app, &link, "").await;
    assert_eq!(weak.status(), 400);
    let done = follow_reset(&app, &link, NEW_PASSWORD).await;
    assert_eq!(location(&done), "/account", "signed in after the reset");

    let refused = app
        .token(&rp, &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())])
        .await;
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.json::<Value>().await.unwrap()["error"], "invalid_grant");

    // The link works once; the new password signs in; the user is told (the reset proved
    // the address, so it is verified now).
    assert_eq!(app.get(&link).await.status(), 400);
    assert_eq!(location(&app.submit_login("/login?prompt=login", "alice", NEW_PASSWORD).await), "/account");
    let notice = mailbox.nth_to("alice@example.com", 2).await;
    assert!(notice.body.contains("Your password was changed"), "{}", notice.body);
}

#[tokio::test]
async fn a_reset_started_from_a_sign_in_continues_it() {
    let env = TestEnv::new().await;
    let mailbox = Mailbox::start();
    let app = env.spawn_app_with(with_mail(&mailbox)).await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let pkce = crate::flow::pkce();
    let login = location(&app.authorize(&rp, &pkce, &[]).await);
    let request_id = query_param(&format!("http://x{login}"), "request").unwrap();
    let page = app.get(&format!("/password/forgot?request={request_id}")).await.text().await.unwrap();
    let form = [
        ("csrf_token", hidden_field(&page, "csrf_token")),
        ("request", hidden_field(&page, "request")),
        ("username", "alice".into()),
    ];
    app.client.post(app.url("/password/forgot")).form(&form).send().await.unwrap();
    let link = mailbox.nth_to("alice@example.com", 1).await.link(&app.address, "/password/reset");
    let done = follow_reset(&app, &link, NEW_PASSWORD).await;
    let callback = location(&done);
    assert!(callback.starts_with(REDIRECT_URI), "back to the app: {callback}");
    let code = query_param(&callback, "code").unwrap();
    assert_eq!(app.exchange_code(&rp, &code, &pkce.verifier).await.status(), 200);
}

#[tokio::test]
async fn an_expired_link_is_refused() {
    let env = TestEnv::new().await;
    let mailbox = Mailbox::start();
    let app = env
        .spawn_app_with(|s| {
            with_mail(&mailbox)(s);
            s.email.link_ttl_secs = 0;
        })
        .await;
    add_user(&app, "alice").await;
    forgot(&app, "email", "alice@example.com").await;
    let link = mailbox.nth_to("alice@example.com", 1).await.link(&app.address, "/password/reset");
    let page = app.get(&link).await;
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("This link does not work"));
}

#[tokio::test]
async fn a_verified_address_is_email_verified_for_the_relying_party() {
    let env = TestEnv::new().await;
    let mailbox = Mailbox::start();
    let app = env.spawn_app_with(with_mail(&mailbox)).await;
    let alice = add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    assert_eq!(email_verified_claim(&app, &rp).await, Some(false));

    let token = crate::admin_api::admin_token(&app).await;
    let (status, sent) =
        crate::admin_api::call(&app, &token, "POST", &format!("/users/{}/email/verification", alice.id), None).await;
    assert_eq!((status, sent["mailed"].clone()), (202, Value::Bool(true)), "{sent}");
    let link = mailbox.nth_to("alice@example.com", 1).await.link(&app.address, "/email/verify");
    let page = app.get(&link).await.text().await.unwrap();
    let form = [("csrf_token", hidden_field(&page, "csrf_token")), ("token", hidden_field(&page, "token"))];
    let verified = app.client.post(app.url("/email/verify")).form(&form).send().await.unwrap();
    assert_eq!(verified.status(), 200);
    assert!(verified.text().await.unwrap().contains("is verified"));
    let again = app.client.post(app.url("/email/verify")).form(&form).send().await.unwrap();
    assert_eq!(again.status(), 400, "a used link is refused");

    assert_eq!(email_verified_claim(&app, &rp).await, Some(true));
    let (_, user) = crate::admin_api::call(&app, &token, "GET", &format!("/users/{}", alice.id), None).await;
    assert_eq!(user["email_verified"], true);

    // A changed address is no longer verified.
    let body = serde_json::json!({ "email": "alice@elsewhere.example" });
    crate::admin_api::call(&app, &token, "PATCH", &format!("/users/{}", alice.id), Some(body)).await;
    assert_eq!(email_verified_claim(&app, &rp).await, Some(false));
}

/// `email_verified` in an ID token the `openidconnect` library verified.
async fn email_verified_claim(app: &TestApp, rp: &crate::flow::Rp) -> Option<bool> {
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.address.clone()).unwrap(), &crate::oidc_flow::rp_http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(rp.client_id.clone()),
        rp.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_prompt(openidconnect::core::CoreAuthPrompt::Login)
        .set_pkce_challenge(challenge)
        .url();
    let login = location(&app.client.get(url.as_str()).send().await.unwrap());
    let callback = location(&app.submit_login(&login, "alice", PASSWORD).await);
    let code = query_param(&callback, "code").unwrap_or_else(|| panic!("{callback}"));
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&crate::oidc_flow::rp_http)
        .await
        .unwrap();
    let claims = tokens.id_token().unwrap().claims(&client.id_token_verifier(), &nonce).unwrap().clone();
    claims.email_verified()
}

#[tokio::test]
async fn a_password_change_sends_a_notice_to_the_verified_address() {
    let env = TestEnv::new().await;
    let mailbox = Mailbox::start();
    let app = env.spawn_app_with(with_mail(&mailbox)).await;
    let alice = add_user(&app, "alice").await;
    latchkey::domain::email::mark_verified(&app.state, &latchkey::domain::audit::Actor::Cli, &alice.id).await.unwrap();
    assert_eq!(location(&app.submit_login("/login", "alice", PASSWORD).await), "/account");
    let page = app.get("/account/password").await.text().await.unwrap();
    let form = [
        ("csrf_token", hidden_field(&page, "csrf_token")),
        ("current_password", PASSWORD.into()),
        ("password", NEW_PASSWORD.into()),
        ("confirm", NEW_PASSWORD.into()),
    ];
    let changed = app.client.post(app.url("/account/password")).form(&form).send().await.unwrap();
    assert!(changed.status().is_redirection() || changed.status().is_success(), "{}", changed.status());
    let notice = mailbox.nth_to("alice@example.com", 1).await;
    assert!(notice.body.contains("Your password was changed"), "{}", notice.body);
}

#[tokio::test]
async fn with_smtp_down_the_page_still_answers_the_failure_is_audited_and_the_link_can_be_resent() {
    let env = TestEnv::new().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = env
        .spawn_app_with(|s| {
            s.smtp.url = format!("smtp://127.0.0.1:{port}");
            s.smtp.max_attempts = 2;
            s.smtp.retry_delay_ms = 50;
        })
        .await;
    let alice = add_user(&app, "alice").await;
    let (status, page) = forgot(&app, "email", "alice@example.com").await;
    assert_eq!(status, 200);
    assert!(page.contains("If an account matches"));
    let failed = eventually(Duration::from_secs(10), || async {
        let filter = AuditFilter { event_type: Some("mail_failed".into()), ..AuditFilter::default() };
        let (events, _) = audit::search(&app.state.db, &filter, 0, 10).await.unwrap();
        events.iter().any(|(_, e)| e.subject_user_id.as_deref() == Some(alice.id.as_str()))
    })
    .await;
    assert!(failed, "the failed delivery is audited");

    // The server is back: asking again sends a link that works.
    let mailbox = Mailbox::start_on(port);
    forgot(&app, "email", "alice@example.com").await;
    let link = mailbox.nth_to("alice@example.com", 1).await.link(&app.address, "/password/reset");
    assert_eq!(location(&follow_reset(&app, &link, NEW_PASSWORD).await), "/account");
}

#[tokio::test]
async fn an_address_change_takes_effect_when_the_new_address_is_confirmed_and_the_old_one_is_told() {
    let env = TestEnv::new().await;
    let mailbox = Mailbox::start();
    let app = env.spawn_app_with(with_mail(&mailbox)).await;
    let alice = add_user(&app, "alice").await;
    assert_eq!(location(&app.submit_login("/login", "alice", PASSWORD).await), "/account");
    let account = app.get("/account").await.text().await.unwrap();
    let form = [("csrf_token", hidden_field(&account, "csrf_token")), ("email", "alice@new.example".to_string())];
    let sent = app.client.post(app.url("/account/email")).form(&form).send().await.unwrap();
    assert_eq!(sent.status(), 200);
    let user = || latchkey::domain::users::find_user(&app.state.db, &alice.id);
    assert_eq!(user().await.unwrap().email.as_deref(), Some("alice@example.com"), "not before the link");

    let notice = mailbox.nth_to("alice@example.com", 1).await;
    assert!(notice.body.contains("alice@new.example"), "the old address is told: {}", notice.body);
    let link = mailbox.nth_to("alice@new.example", 1).await.link(&app.address, "/email/verify");
    let page = app.get(&link).await.text().await.unwrap();
    let form = [("csrf_token", hidden_field(&page, "csrf_token")), ("token", hidden_field(&page, "token"))];
    assert_eq!(app.client.post(app.url("/email/verify")).form(&form).send().await.unwrap().status(), 200);
    let changed = user().await.unwrap();
    assert_eq!((changed.email.as_deref(), changed.email_verified), (Some("alice@new.example"), true));
}
