//! Helpers that play the browser and the relying party through the authorization-code flow.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey::domain::audit::Actor;
use latchkey::domain::clients::{self, NewClient};
use latchkey::domain::users::{self, NewUser, User};
use reqwest::Response;

use crate::helpers::TestApp;

pub const REDIRECT_URI: &str = "https://rp.example/callback";
pub const POST_LOGOUT_URI: &str = "https://rp.example/signed-out";
pub const PASSWORD: &str = "correct horse battery staple";

/// A registered relying party.
#[derive(Clone)]
pub struct Rp {
    pub client_id: String,
    pub secret: Option<String>,
}

pub struct ClientOptions {
    pub public: bool,
    pub first_party: bool,
    pub grants: &'static str,
    pub scopes: &'static str,
    pub backchannel_logout_uri: Option<String>,
    pub logo_uri: Option<String>,
    /// Authenticates with `private_key_jwt` instead of a secret.
    pub keys: Option<latchkey::domain::clients::ClientKeys>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            public: false,
            first_party: false,
            grants: "authorization_code,refresh_token",
            scopes: "openid profile email offline_access",
            backchannel_logout_uri: None,
            logo_uri: None,
            keys: None,
        }
    }
}

pub async fn register_client(app: &TestApp, client_id: &str, options: ClientOptions) -> Rp {
    let added = clients::add_client(
        &app.state,
        &Actor::Cli,
        NewClient {
            id: client_id.into(),
            name: Some(format!("{client_id} app")),
            public: options.public,
            first_party: options.first_party,
            require_pkce: false,
            require_par: false,
            redirect_uris: vec![REDIRECT_URI.into()],
            post_logout_redirect_uris: vec![POST_LOGOUT_URI.into()],
            backchannel_logout_uri: options.backchannel_logout_uri.clone(),
            logo_uri: options.logo_uri.clone(),
            scopes: options.scopes.into(),
            grants: vec![options.grants.into()],
            secret: None,
            keys: options.keys,
        },
    )
    .await
    .unwrap();
    use secrecy::ExposeSecret;
    Rp { client_id: client_id.into(), secret: added.generated_secret.map(|s| s.expose_secret().to_string()) }
}

pub async fn add_user(app: &TestApp, username: &str) -> User {
    users::add_user(
        &app.state,
        &Actor::Cli,
        NewUser {
            username: username.into(),
            email: Some(format!("{username}@example.com")),
            display_name: Some(format!("{username} Example")),
            admin: false,
            password: PASSWORD.into(),
        },
    )
    .await
    .unwrap()
}

/// Disables `username` as an operator would (`latchkey user disable`).
pub async fn disable_user(app: &TestApp, username: &str) {
    let user = users::find_by_username(&app.state.db, username).await.unwrap();
    users::set_disabled(&app.state, &Actor::Cli, &user.id, true).await.unwrap();
}

pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce() -> Pkce {
    let verifier = latchkey::domain::random_token(32);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    Pkce { challenge: URL_SAFE_NO_PAD.encode(digest.as_ref()), verifier }
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on a {} response", response.status()))
        .to_str()
        .unwrap()
        .to_string()
}

/// The value of a hidden form field in a page.
pub fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no field {name} in:\n{html}")) + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_string()
}

/// The CSRF token a signed-in browser's pages carry now: tokens are bound to the session,
/// so the one from the login page is stale after signing in.
pub async fn current_csrf(app: &TestApp, browser: &reqwest::Client) -> String {
    let page = browser.get(app.url("/account")).send().await.unwrap().text().await.unwrap();
    hidden_field(&page, "csrf_token")
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url).unwrap().query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

impl TestApp {
    /// GET /authorize with the usual parameters for `rp`, plus `extra` (which win).
    pub async fn authorize(&self, rp: &Rp, pkce: &Pkce, extra: &[(&str, &str)]) -> Response {
        let mut params: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", &rp.client_id),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid profile email offline_access"),
            ("state", "state-123"),
            ("nonce", "nonce-456"),
            ("code_challenge", &pkce.challenge),
            ("code_challenge_method", "S256"),
        ];
        params.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        params.extend(extra.iter().filter(|(_, v)| !v.is_empty()));
        self.client.get(self.url("/authorize")).query(&params).send().await.unwrap()
    }

    /// Fills in the login form found at `login_path` and submits it.
    pub async fn submit_login(&self, login_path: &str, username: &str, password: &str) -> Response {
        let page = self.get(login_path).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let form = [
            ("csrf_token", hidden_field(&html, "csrf_token")),
            ("request", hidden_field(&html, "request")),
            ("next", hidden_field(&html, "next")),
            ("username", username.to_string()),
            ("password", password.to_string()),
        ];
        self.client.post(self.url("/login")).form(&form).send().await.unwrap()
    }

    /// Answers the consent page found at `consent_path`.
    pub async fn submit_consent(&self, consent_path: &str, decision: &str) -> Response {
        let html = self.get(consent_path).await.text().await.unwrap();
        let form = [
            ("csrf_token", hidden_field(&html, "csrf_token")),
            ("request", hidden_field(&html, "request")),
            ("decision", decision.into()),
        ];
        self.client.post(self.url("/consent")).form(&form).send().await.unwrap()
    }

    /// Runs the browser part of the flow (login, consent) and returns the code.
    pub async fn obtain_code(&self, rp: &Rp, username: &str, pkce: &Pkce, extra: &[(&str, &str)]) -> String {
        let mut response = self.authorize(rp, pkce, extra).await;
        for _ in 0..4 {
            assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
            let next = location(&response);
            if next.starts_with(REDIRECT_URI) {
                assert_eq!(query_param(&next, "iss").as_deref(), Some(self.address.as_str()));
                return query_param(&next, "code").unwrap_or_else(|| panic!("no code in {next}"));
            }
            response = if next.starts_with("/login") {
                self.submit_login(&next, username, PASSWORD).await
            } else if next.starts_with("/consent") {
                self.submit_consent(&next, "allow").await
            } else {
                panic!("unexpected redirect to {next}")
            };
        }
        panic!("the flow did not finish")
    }

    /// POST /token, authenticating `rp` with HTTP Basic when it has a secret.
    pub async fn token(&self, rp: &Rp, form: &[(&str, &str)]) -> Response {
        let mut request = self.client.post(self.url("/token"));
        let mut form: Vec<(&str, &str)> = form.to_vec();
        match &rp.secret {
            Some(secret) => request = request.basic_auth(&rp.client_id, Some(secret)),
            None => form.push(("client_id", &rp.client_id)),
        }
        request.form(&form).send().await.unwrap()
    }

    pub async fn exchange_code(&self, rp: &Rp, code: &str, verifier: &str) -> Response {
        self.token(
            rp,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", verifier),
            ],
        )
        .await
    }

    /// The whole flow for a new user of `rp`; returns the token response JSON.
    pub async fn tokens_for(&self, rp: &Rp, username: &str) -> serde_json::Value {
        let pkce = pkce();
        let code = self.obtain_code(rp, username, &pkce, &[]).await;
        let response = self.exchange_code(rp, &code, &pkce.verifier).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn userinfo(&self, access_token: &str) -> Response {
        self.client.get(self.url("/userinfo")).bearer_auth(access_token).send().await.unwrap()
    }
}

/// The claims of a JWT, unverified (the tests check what was issued, not its signature).
pub fn jwt_claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}
