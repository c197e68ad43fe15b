//! The password policy holds on every path that sets a password.

use latchkey::config::Settings;
use serde_json::json;

use crate::admin_api::{admin_token, call};
use crate::admin_console::signed_in_browser;
use crate::flow::{PASSWORD, hidden_field};
use crate::helpers::TestEnv;

/// The shipped defaults: at least 10 characters, zxcvbn score 3.
fn default_policy(settings: &mut Settings) {
    let defaults = latchkey::config::PasswordSettings::default();
    settings.passwords.min_length = defaults.min_length;
    settings.passwords.min_strength = defaults.min_strength;
}

const STRONG: &str = "mauve kettle orbits quietly";

#[tokio::test]
async fn every_path_that_sets_a_password_refuses_a_weak_one_and_says_why() {
    let env = TestEnv::new().await;
    let app = env.spawn_app_with(default_policy).await;
    let admin = admin_token(&app).await;

    let (status, body) =
        call(&app, &admin, "POST", "/users", Some(json!({ "username": "bob", "password": "password123" }))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["fields"]["password"].as_str().unwrap().contains("too easy to guess"), "{body}");
    let (status, body) =
        call(&app, &admin, "POST", "/users", Some(json!({ "username": "bob", "password": "short" }))).await;
    assert_eq!(status, 400);
    assert_eq!(body["fields"]["password"], "the password must be at least 10 characters");
    let (status, bob) =
        call(&app, &admin, "POST", "/users", Some(json!({ "username": "bob", "password": STRONG }))).await;
    assert_eq!(status, 201, "{bob}");
    let reset = json!({ "password": "bob12345678", "temporary": true });
    let (status, body) =
        call(&app, &admin, "PUT", &format!("/users/{}/password", bob["id"].as_str().unwrap()), Some(reset)).await;
    assert_eq!(status, 400, "a password built from the username: {body}");

    // The CLI, with the shipped policy.
    let mut cli_env = env.env_vars();
    cli_env.retain(|(key, _)| !key.starts_with("LATCHKEY_PASSWORDS__MIN_"));
    let refused = crate::helpers::run_latchkey(
        env.dir.path(),
        &cli_env,
        &["user", "add", "carol", "--password-stdin"],
        Some("qwertyuiop\n"),
    );
    refused.assert_refused("too easy to guess");

    // The console and the account page.
    let (browser, csrf) = signed_in_browser(&app, "root", true).await;
    let form = [("csrf_token", csrf.as_str()), ("username", "dave"), ("password", "iloveyou12")];
    let page = browser.post(app.url("/admin/users")).form(&form).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("too easy to guess"), "{page}");
    let page = browser.get(app.url("/account/password")).send().await.unwrap().text().await.unwrap();
    let form = [
        ("csrf_token", hidden_field(&page, "csrf_token")),
        ("current_password", PASSWORD.to_string()),
        ("password", "1234567890".to_string()),
        ("confirm", "1234567890".to_string()),
    ];
    let changed = browser.post(app.url("/account/password")).form(&form).send().await.unwrap();
    assert_eq!(changed.status(), 400);
    assert!(changed.text().await.unwrap().contains("The password is too easy to guess"));
}

#[tokio::test]
async fn a_bootstrap_admin_with_a_weak_password_stops_the_start() {
    let env = TestEnv::new().await;
    let secret = env.dir.path().join("admin-password");
    std::fs::write(&secret, "password1\n").unwrap();
    let file = env.dir.path().join("bootstrap.toml");
    std::fs::write(&file, format!("[admin]\nusername = \"root\"\npassword = {{ file = \"{}\" }}\n", secret.display()))
        .unwrap();
    let file = file.display().to_string();
    let error = env
        .try_spawn_app_with(|settings| {
            default_policy(settings);
            settings.bootstrap.file = file.clone();
        })
        .await
        .err()
        .expect("must not start");
    assert!(format!("{error:#}").contains("at least 10 characters"), "{error:#}");
}
