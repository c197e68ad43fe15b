//! First run without the CLI: `serve` logs a one-time `/setup?token=…` link while no admin
//! exists; it creates the first admin once, and then `/setup` is gone.

use std::time::Duration;

use crate::flow::{PASSWORD, hidden_field, location};
use crate::helpers::{TestEnv, eventually};
use crate::logs::{serve, stop, wait_up};

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn the_setup_link_creates_the_first_admin_once_and_then_setup_is_gone() {
    let env = TestEnv::new().await;
    let (server, issuer, log_path) = serve(&env, &[]);
    let browser = browser();
    wait_up(&browser, &issuer).await;
    let logged = eventually(Duration::from_secs(10), || async {
        std::fs::read_to_string(&log_path).unwrap_or_default().contains("/setup?token=")
    })
    .await;
    assert!(logged, "the setup link is logged");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("latchkey user add NAME --admin"), "beside the CLI hint");
    let at = log.find("/setup?token=").unwrap() + "/setup?token=".len();
    let token: String = log[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    assert!(token.len() >= 40, "a random token: {token}");

    let wrong = browser.get(format!("{issuer}/setup?token=not-the-token")).send().await.unwrap();
    assert_eq!(wrong.status(), 400);
    let page = browser.get(format!("{issuer}/setup?token={token}")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let csrf = hidden_field(&html, "csrf_token");

    let bad = [("csrf_token", csrf.as_str()), ("token", token.as_str()), ("username", "no spaces allowed")];
    let refused = browser.post(format!("{issuer}/setup")).form(&bad).send().await.unwrap();
    assert_eq!(refused.status(), 400, "a bad username is shown on the page, the link still works");
    let form = [("csrf_token", csrf.as_str()), ("token", token.as_str()), ("username", "root"), ("email", "")];
    let created = browser.post(format!("{issuer}/setup")).form(&form).send().await.unwrap();
    assert_eq!(created.status(), 303);
    let invite = location(&created);
    assert!(invite.starts_with("/invite?token="), "{invite}");

    // The same link again: setup is over.
    let again = browser.post(format!("{issuer}/setup")).form(&form).send().await.unwrap();
    assert_eq!(again.status(), 404);
    assert_eq!(browser.get(format!("{issuer}/setup?token={token}")).send().await.unwrap().status(), 404);
    assert_eq!(browser.get(format!("{issuer}/setup")).send().await.unwrap().status(), 404);

    // The admin chooses a password and lands signed in, with the admin role.
    let html = browser.get(format!("{issuer}{invite}")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Use a passkey"), "a password or a passkey");
    let form = [
        ("csrf_token", hidden_field(&html, "csrf_token")),
        ("token", hidden_field(&html, "token")),
        ("password", PASSWORD.to_string()),
    ];
    let accepted = browser.post(format!("{issuer}/invite")).form(&form).send().await.unwrap();
    assert_eq!(location(&accepted), "/account");
    assert_eq!(browser.get(format!("{issuer}/admin")).send().await.unwrap().status(), 200, "an admin");
    stop(server, &log_path).await;
}
