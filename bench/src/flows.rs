//! The multi-step loads wrk cannot play: a browser through the authorization-code flow,
//! and a passkey sign-in with a software authenticator. Each of `connections` tasks runs
//! one iteration after another until the time is up; an iteration is timed as a whole.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::Load;
use crate::latchkey::{CLIENT_ID, PASSWORD, REDIRECT_URI, Setup, USERNAME};
use crate::report::Measured;
use crate::soft_authenticator::SoftAuthenticator;

/// A browser: a cookie jar, and redirects left to the caller.
pub fn browser() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?)
}

pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].replace("&#x2F;", "/").replace("&amp;", "&"))
}

fn meta(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" content=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

fn location(response: &reqwest::Response) -> anyhow::Result<String> {
    let location = response.headers().get("location").and_then(|value| value.to_str().ok());
    location.map(str::to_string).with_context(|| format!("expected a redirect, got {}", response.status()))
}

/// Signs in with the password on the login page at `login_path` (default `/login`);
/// returns where Latchkey sends the browser next.
pub async fn password_sign_in(
    browser: &reqwest::Client,
    base: &str,
    login_path: Option<&str>,
) -> anyhow::Result<String> {
    let page = browser.get(format!("{base}{}", login_path.unwrap_or("/login"))).send().await?.text().await?;
    let mut form = vec![
        ("csrf_token", hidden_field(&page, "csrf_token").context("no csrf_token on the login page")?),
        ("username", USERNAME.to_string()),
        ("password", PASSWORD.to_string()),
    ];
    if let Some(request) = hidden_field(&page, "request") {
        form.push(("request", request));
    }
    let signed_in = browser.post(format!("{base}/login")).form(&form).send().await?;
    location(&signed_in)
}

fn authorize_url(base: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", "openid profile offline_access")
        .append_pair("state", "bench")
        .finish();
    format!("{base}/authorize?{query}")
}

fn code_of(url: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(url).with_context(|| format!("not a redirect to the client: {url}"))?;
    url.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).context("no code in the redirect")
}

async fn exchange(base: &str, basic_auth: &str, code: &str) -> anyhow::Result<Value> {
    let response = reqwest::Client::new()
        .post(format!("{base}/token"))
        .header("Authorization", basic_auth)
        .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT_URI)])
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("token endpoint: {}", response.text().await?);
    }
    Ok(response.json().await?)
}

/// One more grant from a browser already signed in (first-party: no consent page).
pub async fn code_grant(browser: &reqwest::Client, base: &str, setup: &Setup) -> anyhow::Result<Value> {
    let authorized = browser.get(authorize_url(base)).send().await?;
    exchange(base, &setup.basic_auth(), &code_of(&location(&authorized)?)?).await
}

/// The whole flow a new visitor makes: authorize, the login page, the password, the code,
/// the token exchange.
async fn code_flow_once(base: &str, basic_auth: &str) -> anyhow::Result<()> {
    let browser = browser()?;
    let authorized = browser.get(authorize_url(base)).send().await?;
    let login = location(&authorized)?;
    let back = password_sign_in(&browser, base, Some(&login)).await?;
    exchange(base, basic_auth, &code_of(&back)?).await?;
    Ok(())
}

async fn post_json(browser: &reqwest::Client, url: String, csrf: &str, body: &Value) -> anyhow::Result<Value> {
    let response = browser.post(url).header("X-CSRF-Token", csrf).json(body).send().await?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{status}: {body}");
    }
    Ok(body)
}

/// Registers one passkey per concurrent sign-in task (each counts its own signatures up).
pub async fn register_passkeys(base: &str, count: u32) -> anyhow::Result<Vec<SoftAuthenticator>> {
    let browser = browser()?;
    password_sign_in(&browser, base, None).await?;
    let account = browser.get(format!("{base}/account")).send().await?.text().await?;
    let csrf = meta(&account, "csrf-token").context("no csrf-token on /account")?;
    let mut authenticators = Vec::new();
    for _ in 0..count {
        // The browser's origin is the issuer's (localhost), whichever address it connects to.
        let mut authenticator = SoftAuthenticator::new(&base.replace("127.0.0.1", "localhost"));
        let started = post_json(&browser, format!("{base}/account/passkeys/register/start"), &csrf, &json!({})).await?;
        let credential = authenticator.register(&started["options"]);
        let body = json!({ "ceremony": started["ceremony"], "credential": credential, "name": "bench" });
        post_json(&browser, format!("{base}/account/passkeys/register/finish"), &csrf, &body).await?;
        authenticators.push(authenticator);
    }
    Ok(authenticators)
}

async fn passkey_sign_in_once(base: &str, authenticator: &mut SoftAuthenticator) -> anyhow::Result<()> {
    let browser = browser()?;
    let page = browser.get(format!("{base}/login")).send().await?.text().await?;
    let csrf = meta(&page, "csrf-token").context("no csrf-token on /login")?;
    let started = post_json(&browser, format!("{base}/login/passkey/start"), &csrf, &json!({})).await?;
    let credential = authenticator.assert(&started["options"], 0, true);
    let body = json!({ "ceremony": started["ceremony"], "credential": credential });
    let finished = post_json(&browser, format!("{base}/login/passkey/finish"), &csrf, &body).await?;
    if finished["redirect"].is_null() {
        bail!("passkey sign-in finished without a redirect: {finished}");
    }
    Ok(())
}

pub async fn code_flow(base: &str, setup: &Setup, load: Load) -> anyhow::Result<Measured> {
    let tasks = (0..load.connections).map(|_| (base.to_string(), setup.basic_auth()));
    drive(load, tasks, |(base, basic_auth)| async move {
        let result = code_flow_once(&base, &basic_auth).await;
        ((base, basic_auth), result)
    })
    .await
}

pub async fn passkey_sign_in(base: &str, load: Load) -> anyhow::Result<Measured> {
    let authenticators = register_passkeys(base, load.connections).await?;
    let tasks = authenticators.into_iter().map(|authenticator| (base.to_string(), authenticator));
    drive(load, tasks, |(base, mut authenticator)| async move {
        let result = passkey_sign_in_once(&base, &mut authenticator).await;
        ((base, authenticator), result)
    })
    .await
}

/// Runs one task per `states` item, each repeating `iteration` until the time is up.
async fn drive<S, F, Fut>(load: Load, states: impl Iterator<Item = S>, iteration: F) -> anyhow::Result<Measured>
where
    S: Send + 'static,
    F: Fn(S) -> Fut + Send + Sync + Copy + 'static,
    Fut: std::future::Future<Output = (S, anyhow::Result<()>)> + Send,
{
    let started = Instant::now();
    let deadline = started + load.duration;
    let handles: Vec<_> = states
        .map(|mut state| {
            tokio::spawn(async move {
                let (mut latencies, mut errors, mut first_error) = (Vec::new(), 0u64, None);
                while Instant::now() < deadline {
                    let began = Instant::now();
                    let (next, result) = iteration(state).await;
                    state = next;
                    match result {
                        Ok(()) => latencies.push(began.elapsed()),
                        Err(error) => {
                            errors += 1;
                            first_error.get_or_insert(format!("{error:#}"));
                        }
                    }
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    let (mut latencies, mut errors) = (Vec::<Duration>::new(), 0);
    for handle in handles {
        let (task_latencies, task_errors, first_error) = handle.await?;
        latencies.extend(task_latencies);
        errors += task_errors;
        if let Some(error) = first_error {
            eprintln!("bench: an iteration failed: {error}");
        }
    }
    Ok(Measured::from_latencies(latencies, errors, started.elapsed()))
}
