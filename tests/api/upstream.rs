//! Upstream sign-in ("Continue with …") against a real upstream: a second Latchkey started
//! by the test, on 127.0.0.1 so that one cookie jar keeps the two servers' cookies apart,
//! as a browser does for two hosts. The relying app sees the whole flow through the
//! `openidconnect` crate.

use std::collections::BTreeMap;

use latchkey::domain::audit::{self, Actor, AuditFilter};
use latchkey::domain::clients::{self, NewClient};
use latchkey::domain::groups::{self, Member};
use latchkey::domain::upstream::{self, ProviderSettings};
use latchkey::domain::users::{self, NewUser};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, RedirectUrl, Scope,
    TokenResponse,
};
use reqwest::Client;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::flow::{ClientOptions, PASSWORD, REDIRECT_URI, current_csrf, hidden_field, query_param, register_client};
use crate::helpers::{TestApp, TestEnv};
use crate::oidc_flow::rp_http;

/// The upstream: another Latchkey, in its own world, with the downstream registered at it.
pub struct Upstream {
    _env: TestEnv,
    pub app: TestApp,
    pub issuer: String,
    pub client_id: String,
    pub secret: String,
}

/// A second Latchkey as the upstream of `downstream`'s upstream `name`.
pub async fn upstream_latchkey(downstream: &TestApp, name: &str) -> Upstream {
    let env = TestEnv::new().await;
    let app = env
        .spawn_app_with(|settings| {
            settings.issuer = settings.issuer.replace("localhost", "127.0.0.1");
            // A WebAuthn relying party needs a host name, not an address.
            settings.passkeys.enabled = false;
        })
        .await;
    let issuer = app.state.settings.issuer.clone();
    let added = clients::add_client(
        &app.state,
        &Actor::Cli,
        NewClient {
            id: "downstream".into(),
            name: Some("Downstream Latchkey".into()),
            public: false,
            first_party: true,
            require_pkce: true,
            require_par: false,
            redirect_uris: vec![format!("{}/login/upstream/{name}/callback", downstream.address)],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            logo_uri: None,
            scopes: "openid profile email groups".into(),
            grants: vec!["authorization_code".into()],
            secret: None,
            keys: None,
        },
    )
    .await
    .unwrap();
    let secret = added.generated_secret.unwrap().expose_secret().to_string();
    Upstream { _env: env, app, issuer, client_id: "downstream".into(), secret }
}

/// A user of `app` with a password, and an email marked verified or not.
pub async fn person(app: &TestApp, username: &str, email: &str, verified: bool) -> users::User {
    let user = users::add_user(
        &app.state,
        &Actor::Cli,
        NewUser {
            username: username.into(),
            email: Some(email.into()),
            display_name: Some(format!("{username} Upstream")),
            admin: false,
            password: PASSWORD.into(),
        },
    )
    .await
    .unwrap();
    if verified {
        latchkey::domain::email::mark_verified(&app.state, &Actor::Cli, &user.id).await.unwrap();
    }
    user
}

pub fn settings_for(upstream: &Upstream) -> ProviderSettings {
    ProviderSettings {
        display_name: Some("Corp".into()),
        issuer: upstream.issuer.clone(),
        client_id: upstream.client_id.clone(),
        secret: Some(SecretString::from(upstream.secret.clone())),
        scopes: vec!["openid email profile groups".into()],
        ..ProviderSettings::default()
    }
}

pub fn browser() -> Client {
    Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Where a browser ended up: sent off both servers (the relying app's redirect URI), or
/// shown a page.
#[derive(Debug)]
pub enum Stop {
    Away(String),
    Page { status: u16, url: String, html: String },
}

impl Stop {
    pub fn away(self) -> String {
        match self {
            Stop::Away(url) => url,
            Stop::Page { status, url, html } => panic!("stopped at {url} ({status}):\n{html}"),
        }
    }

    pub fn page(self) -> (u16, String) {
        match self {
            Stop::Page { status, html, .. } => (status, html),
            Stop::Away(url) => panic!("sent away to {url}"),
        }
    }
}

fn is_ours(url: &str) -> bool {
    url.starts_with("http://localhost:") || url.starts_with("http://127.0.0.1:")
}

/// Follows redirects from `url` across both servers like a browser. At the upstream's
/// login page it signs in as `upstream_user` (with the test password).
pub async fn browse(browser: &Client, url: &str, upstream: &Upstream, upstream_user: &str) -> Stop {
    let mut url = url.to_string();
    let mut response = browser.get(&url).send().await.unwrap();
    for _ in 0..20 {
        let status = response.status().as_u16();
        if matches!(status, 302 | 303) {
            let location = response.headers()["location"].to_str().unwrap();
            url = url::Url::parse(&url).unwrap().join(location).unwrap().to_string();
            if !is_ours(&url) {
                return Stop::Away(url);
            }
            response = browser.get(&url).send().await.unwrap();
            continue;
        }
        let html = response.text().await.unwrap();
        let at_upstream_login =
            url.starts_with(&format!("{}/login", upstream.issuer)) && html.contains("name=\"password\"");
        if status == 200 && at_upstream_login {
            let form = [
                ("csrf_token", hidden_field(&html, "csrf_token")),
                ("request", hidden_field(&html, "request")),
                ("next", hidden_field(&html, "next")),
                ("username", upstream_user.to_string()),
                ("password", PASSWORD.to_string()),
            ];
            url = format!("{}/login", upstream.issuer);
            response = browser.post(&url).form(&form).send().await.unwrap();
            continue;
        }
        return Stop::Page { status, url, html };
    }
    panic!("too many redirects")
}

/// The href of the "Continue with {display}" button on a login page.
pub fn continue_with(html: &str, display: &str) -> String {
    let label = format!("Continue with {display}");
    let end = html.find(&label).unwrap_or_else(|| panic!("no {label:?} button in:\n{html}"));
    let start = html[..end].rfind("href=\"").unwrap() + "href=\"".len();
    let href = &html[start..start + html[start..].find('"').unwrap()];
    href.replace("&amp;", "&")
}

/// Downstream sign-in through the upstream for the shop, from /authorize to the code.
pub async fn sign_in_through(app: &TestApp, browser: &Client, upstream: &Upstream, user: &str) -> Stop {
    let start = continue_with_corp(app, browser, "").await;
    browse(browser, &app.url(&start), upstream, user).await
}

/// The shop's authorization request (with `extra` query parameters), to the login page's
/// "Continue with Corp" link.
async fn continue_with_corp(app: &TestApp, browser: &Client, extra: &str) -> String {
    let pkce = crate::flow::pkce();
    let authorize = format!(
        "{}/authorize?response_type=code&client_id=shop&redirect_uri={}&scope=openid%20profile%20email%20groups&state=s&nonce=n&code_challenge={}&code_challenge_method=S256{extra}",
        app.address,
        url::form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>(),
        pkce.challenge
    );
    let login = browser.get(&authorize).send().await.unwrap();
    let login_url = format!("{}{}", app.address, login.headers()["location"].to_str().unwrap());
    let html = browser.get(&login_url).send().await.unwrap().text().await.unwrap();
    continue_with(&html, "Corp")
}

/// Audit events matching `filter`, newest first.
pub async fn audit_events(db: &latchkey::store::db::Db, filter: &AuditFilter) -> Vec<audit::AuditEvent> {
    audit::search(db, filter, 0, 200).await.unwrap().0.into_iter().map(|(_, event)| event).collect()
}

async fn events(app: &TestApp, event_type: &str) -> Vec<Value> {
    let filter = AuditFilter { event_type: Some(event_type.into()), ..AuditFilter::default() };
    crate::upstream::audit_events(&app.state.db, &filter).await.into_iter().map(|e| e.details).collect()
}

pub async fn shop(app: &TestApp) {
    let options =
        ClientOptions { first_party: true, scopes: "openid profile email groups offline_access", ..Default::default() };
    register_client(app, "shop", options).await;
}

#[tokio::test]
async fn a_first_upstream_sign_in_creates_the_user_and_the_app_sees_fed_and_mapped_groups() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let corp = upstream_latchkey(&app, "corp").await;
    let carol = person(&corp.app, "carol", "carol@corp.example", true).await;
    for name in ["upstream-eng", "upstream-sales"] {
        groups::add_group(&corp.app.state, &Actor::Cli, name, "").await.unwrap();
    }
    groups::add_member(&corp.app.state, &Actor::Cli, "upstream-eng", Member::User(&carol.id)).await.unwrap();
    for name in ["engineering", "sales", "unmapped"] {
        groups::add_group(&app.state, &Actor::Cli, name, "").await.unwrap();
    }
    let settings = ProviderSettings {
        auto_create: true,
        trust_email: true,
        groups_claim: Some("groups".into()),
        group_map: BTreeMap::from([
            ("upstream-eng".into(), "engineering".into()),
            ("upstream-sales".into(), "sales".into()),
        ]),
        ..settings_for(&corp)
    };
    upstream::add_upstream(&app.state, &Actor::Cli, "corp", settings).await.unwrap();
    let rp = register_client(
        &app,
        "shop",
        ClientOptions { scopes: "openid profile email groups offline_access", ..Default::default() },
    )
    .await;

    // The relying app runs the code flow with the openidconnect crate.
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.address.clone()).unwrap(), &rp_http).await.unwrap();
    let oidc = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(rp.client_id.clone()),
        rp.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, _, nonce) = oidc
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("groups".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = browser();
    let login = browser.get(authorize_url.as_str()).send().await.unwrap();
    let login_url = format!("{}{}", app.address, login.headers()["location"].to_str().unwrap());
    let html = browser.get(&login_url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("name=\"password\""), "the password form stays by default");
    let start = continue_with(&html, "Corp");
    assert!(start.starts_with("/login/upstream/corp?request="), "{start}");
    let mut stop = browse(&browser, &format!("{}{start}", app.address), &corp, "carol").await;
    // A client that is not first-party asks for consent downstream.
    if let Stop::Page { status: 200, url, html } = &stop
        && url.contains("/consent")
    {
        let form = [
            ("csrf_token", hidden_field(html, "csrf_token")),
            ("request", hidden_field(html, "request")),
            ("decision", "allow".to_string()),
        ];
        let response = browser.post(app.url("/consent")).form(&form).send().await.unwrap();
        let next = response.headers()["location"].to_str().unwrap().to_string();
        stop = if is_ours(&next) { browse(&browser, &next, &corp, "carol").await } else { Stop::Away(next) };
    }
    let callback = stop.away();
    assert!(callback.starts_with(REDIRECT_URI), "{callback}");
    let code = query_param(&callback, "code").unwrap();
    let tokens = oidc
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&rp_http)
        .await
        .unwrap();
    let id_token = tokens.id_token().unwrap();
    let claims = id_token.claims(&oidc.id_token_verifier(), &nonce).unwrap();
    assert_eq!(claims.preferred_username().unwrap().as_str(), "carol");
    assert_eq!(claims.email().unwrap().as_str(), "carol@corp.example");
    assert_eq!(claims.email_verified(), Some(true), "verified upstream, trusted upstream");
    let payload = crate::flow::jwt_claims(&id_token.to_string());
    assert_eq!(payload["amr"], json!(["fed"]), "a sign-in through an upstream says fed");
    assert_eq!(payload["groups"], json!(["engineering"]), "{payload}");
    assert_eq!(payload["acr"], latchkey::domain::assurance::ACR_PWD);

    let created = users::find_by_username(&app.state.db, "carol").await.unwrap();
    assert_eq!(created.display_name.as_deref(), Some("carol Upstream"));
    let linked = events(&app, "upstream_linked").await;
    assert_eq!(linked, vec![json!({ "upstream": "corp", "how": "created" })]);
    let sign_ins = events(&app, "sign_in").await;
    assert_eq!(sign_ins[0]["method"], "upstream");
    assert_eq!(sign_ins[0]["upstream"], "corp");

    // Upstream, carol moves from engineering to sales: the next sign-in follows.
    groups::remove_member(&corp.app.state, &Actor::Cli, "upstream-eng", Member::User(&carol.id)).await.unwrap();
    groups::add_member(&corp.app.state, &Actor::Cli, "upstream-sales", Member::User(&carol.id)).await.unwrap();
    let again = crate::upstream::browser();
    sign_in_through(&app, &again, &corp, "carol").await.away();
    assert_eq!(groups::direct_groups_of(&app.state.db, &created.id).await.unwrap(), vec!["sales".to_string()]);
    assert_eq!(users::find_by_username(&app.state.db, "carol").await.unwrap().id, created.id, "the same user");
    let synced = events(&app, "upstream_groups_synced").await;
    assert_eq!(synced[0], json!({ "upstream": "corp", "joined": ["sales"], "left": ["engineering"] }));
}

#[tokio::test]
async fn an_existing_account_is_linked_automatically_only_by_a_verified_trusted_email() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    shop(&app).await;
    let corp = upstream_latchkey(&app, "corp").await;
    // Downstream accounts: dana's address is verified, erin's is not.
    let dana = person(&app, "dana", "dana@corp.example", true).await;
    person(&app, "erin", "erin@corp.example", false).await;
    // Upstream: dana verified, erin verified, frank (dana's address, unverified).
    person(&corp.app, "dana", "dana@corp.example", true).await;
    person(&corp.app, "erin", "erin@corp.example", true).await;
    person(&corp.app, "frank", "dana@corp.example", false).await;

    // Without trust_email, even a verified address links nothing.
    let settings = ProviderSettings { auto_create: true, ..settings_for(&corp) };
    upstream::add_upstream(&app.state, &Actor::Cli, "corp", settings.clone()).await.unwrap();
    let (status, html) = sign_in_through(&app, &browser(), &corp, "dana").await.page();
    assert_eq!(status, 409);
    assert!(html.contains("Link your account first"), "{html}");
    assert!(html.contains("then link Corp on your account page"), "{html}");

    let trusted = ProviderSettings { trust_email: true, secret: None, ..settings };
    upstream::update_upstream(&app.state, &Actor::Cli, "corp", trusted).await.unwrap();
    // An unverified upstream address is refused, however trusted the upstream.
    let (status, html) = sign_in_through(&app, &browser(), &corp, "frank").await.page();
    assert_eq!(status, 409, "{html}");
    // A verified upstream address, but the account's own address is unverified: refused.
    let (status, _) = sign_in_through(&app, &browser(), &corp, "erin").await.page();
    assert_eq!(status, 409);
    // Both verified, upstream trusted: linked, and dana is signed in as herself.
    let callback = sign_in_through(&app, &browser(), &corp, "dana").await.away();
    assert!(query_param(&callback, "code").is_some(), "{callback}");
    let linked = events(&app, "upstream_linked").await;
    assert_eq!(linked, vec![json!({ "upstream": "corp", "how": "verified_email" })]);
    let refusals = events(&app, "upstream_sign_in_failed").await;
    assert_eq!(refusals.iter().filter(|e| e["reason"] == "link_required").count(), 3, "{refusals:?}");
    assert!(users::find_by_username(&app.state.db, "frank").await.is_err(), "no account was made for frank");
    let signed_in = events(&app, "sign_in").await;
    assert_eq!(signed_in.len(), 1);
    let filter = AuditFilter { event_type: Some("sign_in".into()), ..AuditFilter::default() };
    let event = &crate::upstream::audit_events(&app.state.db, &filter).await[0];
    assert_eq!(event.subject_user_id.as_deref(), Some(dana.id.as_str()));
}

#[tokio::test]
async fn a_user_links_and_unlinks_an_upstream_from_their_account_page() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    shop(&app).await;
    let corp = upstream_latchkey(&app, "corp").await;
    let grace = person(&app, "grace", "grace@example.com", false).await;
    person(&corp.app, "gwen", "gwen@corp.example", true).await;
    person(&corp.app, "hank", "hank@corp.example", true).await;
    upstream::add_upstream(&app.state, &Actor::Cli, "corp", settings_for(&corp)).await.unwrap();

    // Grace signs in with her password and links her upstream account "gwen".
    let browser = browser();
    let login = browser.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let form = [
        ("csrf_token", hidden_field(&login, "csrf_token")),
        ("username", "grace".to_string()),
        ("password", PASSWORD.to_string()),
    ];
    browser.post(app.url("/login")).form(&form).send().await.unwrap();
    let account = browser.get(app.url("/account")).send().await.unwrap().text().await.unwrap();
    assert!(account.contains("Link Corp"), "{account}");
    let csrf = current_csrf(&app, &browser).await;
    let response = browser
        .post(app.url("/account/upstreams/corp/link"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let upstream_url = response.headers()["location"].to_str().unwrap().to_string();
    assert!(upstream_url.starts_with(&corp.issuer), "{upstream_url}");
    let back = browse(&browser, &upstream_url, &corp, "gwen").await;
    let Stop::Page { status: 200, url, html } = back else { panic!("{back:?}") };
    assert!(url.ends_with("/account?done=linked"), "{url}");
    assert!(html.contains("Unlink Corp"), "{html}");
    let linked = events(&app, "upstream_linked").await;
    assert_eq!(linked, vec![json!({ "upstream": "corp", "how": "explicit" })]);

    // Now "gwen" upstream signs in as grace (no auto_create, no email match needed).
    let other = browser_signed_in_through(&app, &corp, "gwen").await;
    let who = other.get(app.url("/account")).send().await.unwrap().text().await.unwrap();
    assert!(who.contains("grace"), "{who}");

    // A forged link form without the CSRF token does nothing.
    let forged =
        browser.post(app.url("/account/upstreams/corp/unlink")).form(&[("csrf_token", "x")]).send().await.unwrap();
    assert_eq!(forged.status(), 403);
    // Unlinking: allowed, as grace still has her password.
    let csrf = current_csrf(&app, &browser).await;
    let response = browser
        .post(app.url("/account/upstreams/corp/unlink"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["location"], "/account?done=unlinked");
    assert!(events(&app, "upstream_unlinked").await.len() == 1);
    // "gwen" no longer gets in (no auto_create), and "hank" never did.
    let (status, html) = sign_in_through(&app, &crate::upstream::browser(), &corp, "gwen").await.page();
    assert_eq!(status, 403);
    assert!(html.contains("No account here is linked to your Corp account"), "{html}");

    // An account whose only way in is its link cannot unlink it.
    let auto = ProviderSettings { auto_create: true, secret: None, ..settings_for(&corp) };
    upstream::update_upstream(&app.state, &Actor::Cli, "corp", auto).await.unwrap();
    let hank = browser_signed_in_through(&app, &corp, "hank").await;
    let csrf = current_csrf(&app, &hank).await;
    let refused = hank
        .post(app.url("/account/upstreams/corp/unlink"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("only way to sign in"));
    let hank_user = users::find_by_username(&app.state.db, "hank").await.unwrap();
    assert!(!latchkey::domain::credentials::has_password(&app.state, &hank_user.id).await.unwrap());
    let _ = grace;
}

/// A browser signed in downstream through the upstream as `upstream_user` (via the shop).
async fn browser_signed_in_through(app: &TestApp, upstream: &Upstream, upstream_user: &str) -> Client {
    let browser = browser();
    let callback = sign_in_through(app, &browser, upstream, upstream_user).await.away();
    assert!(callback.starts_with(REDIRECT_URI), "{callback}");
    browser
}

#[tokio::test]
async fn an_apps_prompt_login_makes_the_upstream_ask_again() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    shop(&app).await;
    let corp = upstream_latchkey(&app, "corp").await;
    person(&corp.app, "judy", "judy@corp.example", true).await;
    let settings = ProviderSettings { auto_create: true, ..settings_for(&corp) };
    upstream::add_upstream(&app.state, &Actor::Cli, "corp", settings).await.unwrap();
    let browser = browser();
    sign_in_through(&app, &browser, &corp, "judy").await.away();
    let upstream_sign_ins = || async {
        let filter = AuditFilter { event_type: Some("sign_in".into()), ..AuditFilter::default() };
        audit_events(&corp.app.state.db, &filter).await.len()
    };
    assert_eq!(upstream_sign_ins().await, 1);

    // The app asks for a fresh sign-in: the upstream is asked for one too, and its session
    // there does not stand in for it.
    let start = continue_with_corp(&app, &browser, "&prompt=login").await;
    let start = browser.get(app.url(&start)).send().await.unwrap();
    let to_upstream = start.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_param(&to_upstream, "prompt").as_deref(), Some("login"), "{to_upstream}");
    let callback = browse(&browser, &to_upstream, &corp, "judy").await.away();
    assert!(callback.contains("code="), "{callback}");
    assert_eq!(upstream_sign_ins().await, 2, "judy signed in at the upstream again");
}
