//! Talking to upstreams: discovery (cached), the authorization-code flow with PKCE S256,
//! `state` and `nonce`, the ID token verified against the upstream's keys, and GitHub's
//! REST API. Every way an upstream can fail becomes an [`UpstreamFailure`]: never a 500.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::JwkSet;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{UpstreamKind, UpstreamProvider, parse_upstream_url};
use crate::config::UpstreamSettings;
use crate::domain::UnixTime;
use crate::state::AppState;

/// The most an upstream answer may weigh.
const MAX_BODY: usize = 1024 * 1024;
/// An unknown `kid` re-fetches the upstream's keys at most this often.
const KEYS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// How long a browser has to come back from the upstream.
const JOURNEY_TTL: Duration = Duration::from_secs(10 * 60);

/// Why a sign-in through an upstream did not complete.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamFailure {
    /// Down, too slow, or a server error: "NAME is not answering".
    #[error("the upstream is not answering: {0}")]
    Unavailable(String),
    /// It answered with an error (the user said no, the code was refused).
    #[error("the upstream answered an error: {0}")]
    Refused(String),
    /// Its answer did not verify: forged, for someone else, or replayed.
    #[error("the upstream's answer did not verify: {0}")]
    Invalid(String),
    /// The browser came back without the journey it started (too late, or another browser).
    #[error("the sign-in through the upstream expired or was not started here")]
    Expired,
}

impl UpstreamFailure {
    /// The audit log's `reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            UpstreamFailure::Unavailable(_) => "unavailable",
            UpstreamFailure::Refused(_) => "refused",
            UpstreamFailure::Invalid(_) => "invalid",
            UpstreamFailure::Expired => "expired",
        }
    }
}

/// What an OpenID provider's discovery document says, of what Latchkey uses.
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    jwks_uri: String,
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

/// Where an upstream's endpoints are and what it accepts.
#[derive(Debug, Clone)]
pub(super) struct Endpoints {
    pub(super) authorization: String,
    pub(super) token: String,
    pub(super) userinfo: Option<String>,
    pub(super) jwks_uri: Option<String>,
    /// The ID token algorithms its discovery lists (asymmetric ones only).
    pub(super) algorithms: Vec<Algorithm>,
    /// `client_secret_basic` (the default) or else `client_secret_post`.
    pub(super) basic_auth: bool,
    /// RFC 9207: it always sends `iss` with the authorization response.
    pub(super) sends_iss: bool,
}

/// The HTTP client and caches for upstream calls: one per application.
pub struct Upstreams {
    http: reqwest::Client,
    discovery_ttl: Duration,
    documents: Mutex<HashMap<String, (Instant, Arc<Discovery>)>>,
    keys: Mutex<HashMap<String, CachedKeys>>,
}

/// An upstream's key set, when it was fetched, and when an unknown `kid` last forced a fetch.
struct CachedKeys {
    fetched_at: Instant,
    set: Arc<JwkSet>,
    forced_at: Option<Instant>,
}

impl Upstreams {
    pub fn new(settings: &UpstreamSettings) -> anyhow::Result<Upstreams> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_secs.max(1)))
            .connect_timeout(Duration::from_secs(settings.timeout_secs.clamp(1, 5)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Latchkey/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Upstreams {
            http,
            discovery_ttl: Duration::from_secs(settings.discovery_ttl_secs),
            documents: Mutex::default(),
            keys: Mutex::default(),
        })
    }

    /// Drops what is cached for `issuer` (its settings changed).
    pub fn forget(&self, issuer: &str) {
        if let Ok(mut documents) = self.documents.lock() {
            documents.remove(issuer);
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(reqwest::StatusCode, Value), UpstreamFailure> {
        let mut response = request.send().await.map_err(|error| {
            let why = if error.is_timeout() { "timed out".to_string() } else { format!("{error}") };
            UpstreamFailure::Unavailable(why)
        })?;
        let status = response.status();
        if status.is_server_error() {
            return Err(UpstreamFailure::Unavailable(format!("HTTP {status}")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| UpstreamFailure::Unavailable(e.to_string()))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY {
                return Err(UpstreamFailure::Invalid("the answer is too large".into()));
            }
        }
        let json = serde_json::from_slice(&body)
            .map_err(|_| UpstreamFailure::Invalid(format!("HTTP {status} with a body that is not JSON")))?;
        Ok((status, json))
    }

    pub(super) async fn get_json(&self, url: &str, bearer: Option<&str>) -> Result<Value, UpstreamFailure> {
        let mut request = self.http.get(url).header("accept", "application/json");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        match self.send(request).await? {
            (status, json) if status.is_success() => Ok(json),
            (status, _) => Err(UpstreamFailure::Refused(format!("{url} answered HTTP {status}"))),
        }
    }

    async fn discovery(&self, issuer: &str) -> Result<Arc<Discovery>, UpstreamFailure> {
        if let Ok(documents) = self.documents.lock()
            && let Some((at, document)) = documents.get(issuer)
            && at.elapsed() < self.discovery_ttl
        {
            return Ok(document.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let json = self.get_json(&url, None).await?;
        let document: Discovery = serde_json::from_value(json)
            .map_err(|e| UpstreamFailure::Invalid(format!("the discovery document is malformed: {e}")))?;
        if document.issuer != issuer {
            return Err(UpstreamFailure::Invalid(format!("discovery names issuer {:?}", document.issuer)));
        }
        let document = Arc::new(document);
        if let Ok(mut documents) = self.documents.lock() {
            documents.insert(issuer.to_string(), (Instant::now(), document.clone()));
        }
        Ok(document)
    }

    /// The upstream's keys: cached (for the discovery TTL), or fetched again when `refetch`
    /// (an unknown `kid`: the upstream rotated its keys). Such forced fetches happen at most
    /// once per [`KEYS_REFETCH_INTERVAL`], so tokens with made-up `kid`s cannot make us
    /// hammer the upstream.
    pub(super) async fn keys(&self, jwks_uri: &str, refetch: bool) -> Result<Arc<JwkSet>, UpstreamFailure> {
        let mut forced_at = None;
        if let Ok(keys) = self.keys.lock()
            && let Some(cached) = keys.get(jwks_uri)
        {
            forced_at = cached.forced_at;
            let fresh = cached.fetched_at.elapsed() < self.discovery_ttl;
            let may_force = cached.forced_at.is_none_or(|at| at.elapsed() >= KEYS_REFETCH_INTERVAL);
            if fresh && (!refetch || !may_force) {
                return Ok(cached.set.clone());
            }
        }
        let json = self.get_json(jwks_uri, None).await?;
        let set: JwkSet = serde_json::from_value(json)
            .map_err(|e| UpstreamFailure::Invalid(format!("the key set is malformed: {e}")))?;
        let set = Arc::new(set);
        let now = Instant::now();
        if let Ok(mut keys) = self.keys.lock() {
            let forced_at = if refetch { Some(now) } else { forced_at };
            keys.insert(jwks_uri.to_string(), CachedKeys { fetched_at: now, set: set.clone(), forced_at });
        }
        Ok(set)
    }

    async fn endpoints(&self, provider: &UpstreamProvider) -> Result<Endpoints, UpstreamFailure> {
        let checked =
            |what, url: &str| parse_upstream_url(what, url).map_err(|e| UpstreamFailure::Invalid(e.to_string()));
        match provider.kind {
            UpstreamKind::Github => Ok(Endpoints {
                authorization: format!("{}/login/oauth/authorize", provider.issuer),
                token: format!("{}/login/oauth/access_token", provider.issuer),
                userinfo: None,
                jwks_uri: None,
                algorithms: Vec::new(),
                basic_auth: false,
                sends_iss: false,
            }),
            UpstreamKind::Oidc => {
                let document = self.discovery(&provider.issuer).await?;
                let listed = if document.id_token_signing_alg_values_supported.is_empty() {
                    vec!["RS256".to_string()]
                } else {
                    document.id_token_signing_alg_values_supported.clone()
                };
                let algorithms: Vec<Algorithm> = listed
                    .iter()
                    .filter_map(|name| Algorithm::from_str(name).ok())
                    .filter(|alg| super::oidc::ASYMMETRIC.contains(alg))
                    .collect();
                let methods = &document.token_endpoint_auth_methods_supported;
                Ok(Endpoints {
                    authorization: checked("authorization_endpoint", &document.authorization_endpoint)?,
                    token: checked("token_endpoint", &document.token_endpoint)?,
                    userinfo: document
                        .userinfo_endpoint
                        .as_deref()
                        .map(|u| checked("userinfo_endpoint", u))
                        .transpose()?,
                    jwks_uri: Some(checked("jwks_uri", &document.jwks_uri)?),
                    algorithms,
                    basic_auth: methods.is_empty() || methods.iter().any(|m| m == "client_secret_basic"),
                    sends_iss: document.authorization_response_iss_parameter_supported,
                })
            }
        }
    }
}

/// A browser's trip to an upstream and back, kept in the ephemeral store under a hash of
/// its `state` until the callback takes it (once).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Journey {
    pub upstream: String,
    nonce: String,
    verifier: String,
    started_at: UnixTime,
    pub intent: Intent,
}

/// What a journey is for, as the page that starts it knows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Intent {
    /// The pending authorization request the sign-in is for, if any.
    pub request_id: Option<String>,
    /// Where to go on after signing in (a local path), if any.
    pub next: Option<String>,
    /// Set when a signed-in user links this upstream from their account page.
    pub link_user_id: Option<String>,
    /// The user must authenticate again (the app sent `prompt=login` or `max_age`, or an
    /// account action asked for a recent sign-in): their session at the upstream must not
    /// stand in for it. Sent upstream as `prompt=login`, and checked with `auth_time`.
    pub fresh: bool,
}

fn journey_key(state_token: &str) -> String {
    format!("upstream-journey:{}", crate::domain::sha256_b64(state_token.as_bytes()))
}

/// What the upstream said about the person who signed in.
#[derive(Debug, Clone)]
pub struct UpstreamIdentity {
    /// Its `sub` (GitHub: the numeric user id): with the upstream's name, the link's key.
    pub subject: String,
    /// Every claim it gave (ID token, then user info for what the ID token lacks).
    pub claims: Map<String, Value>,
    pub email: Option<String>,
    /// The upstream says it verified `email`.
    pub email_verified: bool,
    /// The upstream says the sign-in was multi-factor (`amr` contains `mfa`).
    pub multi_factor: bool,
}

/// Starts a sign-in at `provider`: returns the upstream URL to send the browser to and the
/// `state` value the browser must bring back (its cookie).
pub async fn start(
    state: &AppState,
    provider: &UpstreamProvider,
    intent: Intent,
) -> Result<(String, String), UpstreamFailure> {
    let endpoints = state.upstreams.endpoints(provider).await?;
    let state_token = crate::domain::random_token(32);
    let journey = Journey {
        upstream: provider.name.clone(),
        nonce: crate::domain::random_token(32),
        verifier: crate::domain::random_token(48),
        started_at: crate::domain::now(),
        intent,
    };
    state
        .ephemeral
        .put_json(&journey_key(&state_token), &journey, JOURNEY_TTL)
        .await
        .map_err(|e| UpstreamFailure::Unavailable(format!("cannot keep the sign-in: {e}")))?;
    let challenge =
        URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, journey.verifier.as_bytes()));
    let mut url = url::Url::parse(&endpoints.authorization).map_err(|e| UpstreamFailure::Invalid(e.to_string()))?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &provider.client_id)
            .append_pair("redirect_uri", &super::redirect_uri(state, &provider.name))
            .append_pair("scope", &provider.scopes.join(" "))
            .append_pair("state", &state_token)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if provider.kind == UpstreamKind::Oidc {
            query.append_pair("nonce", &journey.nonce);
        }
        if journey.intent.fresh && provider.kind == UpstreamKind::Oidc {
            query.append_pair("prompt", "login");
        }
    }
    Ok((url.to_string(), state_token))
}

/// What the upstream sent the browser back with.
#[derive(Debug, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Takes the journey the callback belongs to: its `state` must be the one this browser
/// was given (`browser_state`, from its cookie), for the upstream named in the URL.
pub async fn take_journey(
    state: &AppState,
    upstream: &str,
    callback: &Callback,
    browser_state: Option<&str>,
) -> Result<Journey, UpstreamFailure> {
    let (Some(returned), Some(expected)) = (callback.state.as_deref(), browser_state) else {
        return Err(UpstreamFailure::Expired);
    };
    if !crate::domain::constant_time_eq(returned.as_bytes(), expected.as_bytes()) {
        return Err(UpstreamFailure::Expired);
    }
    let journey: Option<Journey> = state
        .ephemeral
        .take_json(&journey_key(returned))
        .await
        .map_err(|e| UpstreamFailure::Unavailable(format!("cannot read the sign-in: {e}")))?;
    journey.filter(|j| j.upstream == upstream).ok_or(UpstreamFailure::Expired)
}

/// Finishes the journey: checks the callback, redeems the code, and verifies who signed in.
pub async fn finish(
    state: &AppState,
    provider: &UpstreamProvider,
    journey: &Journey,
    callback: &Callback,
) -> Result<UpstreamIdentity, UpstreamFailure> {
    if let Some(error) = &callback.error {
        let error: String = error.chars().take(64).collect();
        let description: String = callback.error_description.as_deref().unwrap_or_default().chars().take(200).collect();
        return Err(UpstreamFailure::Refused(format!("{error} {description}").trim().to_string()));
    }
    let endpoints = state.upstreams.endpoints(provider).await?;
    // RFC 9207: the response names its issuer, so a mix-up with another upstream shows.
    match (&callback.iss, provider.kind) {
        (Some(iss), UpstreamKind::Oidc) if iss != &provider.issuer => {
            return Err(UpstreamFailure::Invalid(format!("the response came from issuer {iss:?}")));
        }
        (None, UpstreamKind::Oidc) if endpoints.sends_iss => {
            return Err(UpstreamFailure::Invalid("the response lacks iss".into()));
        }
        _ => {}
    }
    let code = callback.code.as_deref().filter(|c| !c.is_empty() && c.len() <= 2048);
    let code = code.ok_or_else(|| UpstreamFailure::Invalid("the response has no code".into()))?;
    let tokens = redeem(state, provider, &endpoints, journey, code).await?;
    let access_token = tokens["access_token"].as_str().map(str::to_string);
    match provider.kind {
        UpstreamKind::Oidc => {
            let id_token = tokens["id_token"].as_str().ok_or_else(|| UpstreamFailure::Invalid("no ID token".into()))?;
            let mut claims =
                super::oidc::verify_id_token(state, provider, &endpoints, id_token, &journey.nonce).await?;
            if journey.intent.fresh {
                super::oidc::require_fresh_sign_in(&claims, journey.started_at)?;
            }
            if let (Some(userinfo), Some(token)) = (&endpoints.userinfo, &access_token) {
                super::oidc::merge_userinfo(state, userinfo, token, &mut claims).await;
            }
            Ok(super::oidc::identity(provider, claims))
        }
        UpstreamKind::Github => {
            let token = access_token.ok_or_else(|| UpstreamFailure::Invalid("no access token".into()))?;
            super::github::identity(state, provider, &token).await
        }
    }
}

async fn redeem(
    state: &AppState,
    provider: &UpstreamProvider,
    endpoints: &Endpoints,
    journey: &Journey,
    code: &str,
) -> Result<Value, UpstreamFailure> {
    let secret = super::client_secret(state, provider)
        .map_err(|e| UpstreamFailure::Invalid(format!("cannot open the client secret: {e}")))?;
    let redirect_uri = super::redirect_uri(state, &provider.name);
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &redirect_uri),
        ("code_verifier", &journey.verifier),
    ];
    let mut request = state.upstreams.http.post(&endpoints.token).header("accept", "application/json");
    if endpoints.basic_auth {
        // RFC 6749 §2.3.1: both halves form-urlencoded before base64.
        let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        request = request.basic_auth(encode(&provider.client_id), Some(encode(secret.expose_secret())));
    } else {
        form.push(("client_id", &provider.client_id));
        form.push(("client_secret", secret.expose_secret()));
    }
    let (status, json) = state.upstreams.send(request.form(&form)).await?;
    // GitHub answers errors with 200 and an `error` member.
    if let Some(error) = json["error"].as_str() {
        let error: String = error.chars().take(64).collect();
        return Err(UpstreamFailure::Refused(format!("the token endpoint answered {error}")));
    }
    if !status.is_success() {
        return Err(UpstreamFailure::Refused(format!("the token endpoint answered HTTP {status}")));
    }
    Ok(json)
}
