//! The log of a real `latchkey serve`: no token, code, password or email after a full
//! sign-in, token exchange, userinfo and logout; and no access lines when `log.access` is off.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::flow::{REDIRECT_URI, hidden_field, location, pkce, query_param};
use crate::helpers::{TestEnv, eventually};

/// Starts a real `latchkey serve` for `env`, its standard error in a file.
pub(crate) fn serve(env: &TestEnv, extra: &[(&str, &str)]) -> (Child, String, PathBuf) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let issuer = format!("http://localhost:{port}");
    let log_path = env.dir.path().join("latchkey.log");
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command.current_dir(env.dir.path()).arg("serve").stdout(Stdio::null());
    command.stderr(std::fs::File::create(&log_path).unwrap());
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("LATCHKEY_") || key == "RUST_LOG") {
        command.env_remove(key);
    }
    command
        .envs(env.env_vars())
        .env("LATCHKEY_ISSUER", &issuer)
        .env("LATCHKEY_SERVER__BIND", format!("127.0.0.1:{port}"))
        .envs(extra.iter().copied());
    (command.spawn().unwrap(), issuer, log_path)
}

pub(crate) async fn wait_up(client: &reqwest::Client, issuer: &str) {
    let up = eventually(Duration::from_secs(20), || async {
        client.get(format!("{issuer}/healthz")).send().await.is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert!(up, "the server starts");
}

/// Stops the server with SIGTERM (a graceful stop flushes the log) and reads its log.
pub(crate) async fn stop(mut server: Child, log_path: &Path) -> String {
    let _ = Command::new("kill").arg("-TERM").arg(server.id().to_string()).status();
    let stopped = tokio::task::spawn_blocking(move || server.wait()).await.unwrap();
    assert!(stopped.is_ok());
    std::fs::read_to_string(log_path).unwrap()
}

#[tokio::test]
async fn the_access_log_can_be_turned_off_and_the_application_still_logs() {
    let env = TestEnv::new().await;
    let (server, issuer, log_path) = serve(&env, &[("LATCHKEY_LOG__ACCESS", "false")]);
    let client = reqwest::Client::new();
    wait_up(&client, &issuer).await;
    let jwks = client.get(format!("{issuer}/.well-known/jwks.json")).send().await.unwrap();
    assert_eq!(jwks.status(), 200);
    let log = stop(server, &log_path).await;
    assert!(log.contains("latchkey is serving") && log.contains("latchkey stopped"), "{log}");
    assert!(!log.contains("jwks.json") && !log.contains("/healthz"), "no access lines:\n{log}");
}

#[tokio::test]
async fn the_log_of_a_whole_sign_in_and_logout_holds_no_secret_or_personal_data() {
    let env = TestEnv::new().await;
    let password = "log test passphrase";
    let email = "alice.logtest@example.com";
    env.latchkey(&["user", "add", "alice", "--email", email, "--password-stdin"], Some(password)).assert_success();
    let added = env.latchkey(&["client", "add", "webapp", "--first-party", "--redirect-uri", REDIRECT_URI], None);
    added.assert_success();
    let secret = added.stdout.lines().find_map(|l| l.split("store it now): ").nth(1)).unwrap().trim().to_string();

    let (server, issuer, log_path) = serve(&env, &[]);
    let client =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    wait_up(&client, &issuer).await;

    let p = pkce();
    let authorize = client
        .get(format!("{issuer}/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", "webapp"),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid email offline_access"),
            ("state", "state-secret-1"),
            ("nonce", "nonce-secret-1"),
            ("login_hint", email),
            ("code_challenge", p.challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    let login_path = location(&authorize);
    let page = client.get(format!("{issuer}{login_path}")).send().await.unwrap().text().await.unwrap();
    let form = [
        ("csrf_token", hidden_field(&page, "csrf_token")),
        ("request", hidden_field(&page, "request")),
        ("username", "alice".into()),
        ("password", password.into()),
    ];
    let signed_in = client.post(format!("{issuer}/login")).form(&form).send().await.unwrap();
    let code = query_param(&location(&signed_in), "code").expect("a code");
    let tokens: Value = client
        .post(format!("{issuer}/token"))
        .basic_auth("webapp", Some(&secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", p.verifier.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access_token = tokens["access_token"].as_str().unwrap();
    let userinfo = client.get(format!("{issuer}/userinfo")).bearer_auth(access_token).send().await.unwrap();
    assert_eq!(userinfo.status(), 200);
    let id_token = tokens["id_token"].as_str().unwrap();
    let logout = client.get(format!("{issuer}/logout")).query(&[("id_token_hint", id_token)]).send().await.unwrap();
    assert_eq!(logout.status(), 200);

    let log = stop(server, &log_path).await;
    assert!(log.contains("/logout?id_token_hint=%5Bredacted%5D"), "the access log is there, redacted:\n{log}");
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    for (what, secret) in [
        ("the code", code.as_str()),
        ("the access token", access_token),
        ("the ID token", id_token),
        ("the refresh token", refresh_token),
        ("the client secret", secret.as_str()),
        ("the password", password),
        ("the email address", email),
        ("the email address, encoded", "alice.logtest%40example.com"),
        ("the state", "state-secret-1"),
        ("the PKCE verifier", p.verifier.as_str()),
    ] {
        assert!(!log.contains(secret), "{what} is in the log:\n{log}");
    }
}
