//! The authorization request (OIDC Core §3.1.2, RFC 6749 §4.1, RFC 7636 PKCE): its
//! validation, the pending request kept while the user signs in and consents, the decision
//! of what comes next, and the authorization code.
//!
//! Order matters for safety (RFC 6749 §4.1.2.1): until `client_id` and `redirect_uri` have
//! checked out, errors are shown to the user and never redirected.

mod code;
pub mod pushed;
pub mod response;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use self::code::issue_code;
pub use self::code::{CodeGrant, code_grant_id_key, code_key};
use self::response::answer_error;
pub use self::response::{ResponseMode, take_form_post};
use super::clients::{Client, GrantType};
use super::model::{ApiResource, OAuthErrorCode, ScopeSet, User};
use super::resources::{self, TargetError};
use super::sessions::BrowserSession;
use super::{UnixTime, assurance, clients, consents, groups, random_token};
use crate::config::Settings;
use crate::state::AppState;
use crate::store::ephemeral::EphemeralStore;

/// The parameters of `/authorize`, from the query or a form.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AuthorizationParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub response_mode: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub acr_values: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
    /// Every `resource` (RFC 8707), which may repeat: read from the raw query or form by
    /// the handler.
    #[serde(skip)]
    pub resources: Vec<String>,
    /// The request came through `/par` (RFC 9126), not the browser.
    #[serde(skip)]
    pub pushed: bool,
}

impl AuthorizationParams {
    /// The parameters of a query string or form; `resource` may repeat (RFC 8707 §2), the
    /// others may not.
    pub fn from_form(raw: &[u8]) -> Result<AuthorizationParams, serde_urlencoded::de::Error> {
        let mut params: AuthorizationParams = serde_urlencoded::from_bytes(raw)?;
        params.resources = url::form_urlencoded::parse(raw)
            .filter(|(name, _)| name == "resource")
            .map(|(_, value)| value.into_owned())
            .collect();
        Ok(params)
    }
}

/// Errors shown on a page: the client or redirect URI cannot be trusted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UntrustedRequest {
    #[error("The request does not name a client.")]
    MissingClientId,
    #[error("The application that sent you here is not registered or is disabled.")]
    UnknownClient,
    #[error("The request does not name a redirect URI.")]
    MissingRedirectUri,
    #[error("The redirect URI is not registered for this application.")]
    RedirectUriMismatch,
}

/// An error returned to the client at its (verified) redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectError {
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub state: Option<String>,
    pub error: OAuthErrorCode,
    pub description: String,
}

#[derive(Debug)]
pub enum AuthorizeError {
    Untrusted(UntrustedRequest),
    Redirect(RedirectError),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingAuthorization {
    pub id: String,
    pub client_id: String,
    pub client_name: String,
    pub first_party: bool,
    pub redirect_uri: String,
    pub scope: ScopeSet,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt_none: bool,
    pub prompt_login: bool,
    pub prompt_consent: bool,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The sign-in must be multi-factor (`acr_values`, the client's policy, or
    /// `mfa.enforce_for_all`: see `assurance`).
    #[serde(default)]
    pub require_mfa: bool,
    #[serde(default)]
    pub response_mode: ResponseMode,
    /// The API resources (RFC 8707) the request named, by identifier.
    #[serde(default)]
    pub resources: Vec<String>,
    pub created_at: UnixTime,
}

impl PendingAuthorization {
    pub fn error(&self, error: OAuthErrorCode, description: &str) -> RedirectError {
        RedirectError {
            redirect_uri: self.redirect_uri.clone(),
            response_mode: self.response_mode,
            state: self.state.clone(),
            error,
            description: description.to_string(),
        }
    }
}

/// Validates a request against its client (looked up by the caller from `client_id`).
/// PKCE is required of public clients, of clients registered with `require_pkce`, and of
/// every client when `oidc.require_pkce_for_all_clients` is set. `apis` are the API
/// resources `params.resources` name (looked up by the caller), or why they cannot be had.
/// A request without `openid` is a plain OAuth 2.0 request: no ID token comes of it.
pub fn validate(
    params: &AuthorizationParams,
    client: Option<Client>,
    apis: Result<Vec<ApiResource>, TargetError>,
    settings: &Settings,
    now: UnixTime,
) -> Result<PendingAuthorization, AuthorizeError> {
    let require_pkce_for_all = settings.oidc.require_pkce_for_all_clients;
    let untrusted = |e| Err(AuthorizeError::Untrusted(e));
    if params.client_id.as_deref().unwrap_or_default().is_empty() {
        return untrusted(UntrustedRequest::MissingClientId);
    }
    let Some(client) = client.filter(|c| c.enabled) else {
        return untrusted(UntrustedRequest::UnknownClient);
    };
    let Some(redirect_uri) = params.redirect_uri.clone().filter(|uri| !uri.is_empty()) else {
        return untrusted(UntrustedRequest::MissingRedirectUri);
    };
    // Exact string comparison (RFC 9700 §2.1): no prefix, no normalisation.
    if !client.redirect_uris.contains(&redirect_uri) {
        return untrusted(UntrustedRequest::RedirectUriMismatch);
    }

    let state = params.state.clone();
    let response_mode = ResponseMode::parse(params.response_mode.as_deref());
    let fail = |error: OAuthErrorCode, description: &str| {
        Err(AuthorizeError::Redirect(RedirectError {
            redirect_uri: redirect_uri.clone(),
            response_mode: response_mode.unwrap_or_default(),
            state: state.clone(),
            error,
            description: description.into(),
        }))
    };
    let par_required = client.require_par || settings.oidc.require_pushed_authorization_requests;
    if par_required && !params.pushed {
        return fail(OAuthErrorCode::InvalidRequest, "this client must push its authorization requests to /par");
    }
    if params.request.is_some() {
        return fail(OAuthErrorCode::RequestNotSupported, "request objects are not supported");
    }
    if params.request_uri.is_some() {
        return fail(OAuthErrorCode::RequestUriNotSupported, "request_uri is not supported");
    }
    let Some(response_mode) = response_mode else {
        return fail(OAuthErrorCode::InvalidRequest, "response_mode must be query or form_post");
    };
    match params.response_type.as_deref() {
        Some("code") => {}
        None => return fail(OAuthErrorCode::InvalidRequest, "response_type is required"),
        Some(_) => {
            return fail(OAuthErrorCode::UnsupportedResponseType, "only response_type=code is supported");
        }
    }
    if !client.allowed_grants.contains(&GrantType::AuthorizationCode) {
        return fail(OAuthErrorCode::UnauthorizedClient, "this client may not use the authorization code flow");
    }
    let Ok(scope) = ScopeSet::parse(params.scope.as_deref().unwrap_or_default()) else {
        return fail(OAuthErrorCode::InvalidScope, "scope is malformed");
    };
    let apis = match apis {
        Ok(apis) => apis,
        Err(error) => return fail(OAuthErrorCode::InvalidTarget, &error.to_string()),
    };
    let scope = match resources::authorized_scopes(scope, &client.allowed_scopes, &apis) {
        Ok(scope) if scope.is_empty() => return fail(OAuthErrorCode::InvalidScope, "scope is required"),
        Ok(scope) => scope,
        Err(unknown) => {
            return fail(OAuthErrorCode::InvalidScope, &format!("scope {unknown} is not allowed for this client"));
        }
    };
    let code_challenge = match (params.code_challenge.as_deref(), params.code_challenge_method.as_deref()) {
        (None, None) if client.public => {
            return fail(
                OAuthErrorCode::InvalidRequest,
                "PKCE (code_challenge with S256) is required for public clients",
            );
        }
        (None, None) if client.require_pkce || require_pkce_for_all => {
            return fail(OAuthErrorCode::InvalidRequest, "PKCE (code_challenge with S256) is required for this client");
        }
        (None, None) => None,
        (None, Some(_)) => {
            return fail(OAuthErrorCode::InvalidRequest, "code_challenge_method without code_challenge");
        }
        (Some(challenge), Some("S256")) if is_valid_challenge(challenge) => Some(challenge.to_string()),
        (Some(_), Some("S256")) => {
            return fail(OAuthErrorCode::InvalidRequest, "code_challenge must be 43 base64url characters");
        }
        // Absent method means `plain` (RFC 7636 §4.3), which is refused.
        (Some(_), _) => return fail(OAuthErrorCode::InvalidRequest, "code_challenge_method must be S256"),
    };
    let prompts: Vec<&str> =
        params.prompt.as_deref().unwrap_or_default().split(' ').filter(|p| !p.is_empty()).collect();
    if prompts.iter().any(|p| !matches!(*p, "none" | "login" | "consent" | "select_account")) {
        return fail(OAuthErrorCode::InvalidRequest, "unknown prompt value");
    }
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return fail(OAuthErrorCode::InvalidRequest, "prompt=none cannot be combined with other values");
    }
    let max_age = match params.max_age.as_deref() {
        None | Some("") => None,
        Some(raw) => match raw.parse::<i64>() {
            Ok(seconds) if seconds >= 0 => Some(seconds),
            _ => return fail(OAuthErrorCode::InvalidRequest, "max_age must be a non-negative integer"),
        },
    };
    if params.nonce.as_ref().is_some_and(|n| n.len() > 512) || state.as_ref().is_some_and(|s| s.len() > 2048) {
        return fail(OAuthErrorCode::InvalidRequest, "nonce or state is too long");
    }
    if params.acr_values.as_ref().is_some_and(|values| values.len() > 512) {
        return fail(OAuthErrorCode::InvalidRequest, "acr_values is too long");
    }
    let require_mfa = assurance::authorization_requires_mfa(&settings.mfa, &client, params.acr_values.as_deref());
    Ok(PendingAuthorization {
        id: random_token(24),
        client_id: client.id,
        client_name: client.name,
        first_party: client.first_party,
        redirect_uri,
        scope,
        state,
        nonce: params.nonce.clone(),
        code_challenge,
        prompt_none,
        prompt_login: prompts.contains(&"login"),
        prompt_consent: prompts.contains(&"consent"),
        max_age,
        login_hint: params.login_hint.clone().filter(|h| h.len() <= 255),
        require_mfa,
        response_mode,
        resources: apis.into_iter().map(|api| api.identifier).collect(),
        created_at: now,
    })
}

/// A S256 challenge is the base64url SHA-256 of the verifier: exactly 43 characters.
fn is_valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What the browser must do next for a pending request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    SignIn,
    /// Signed in, but with one factor where the request needs two.
    StepUp,
    Consent,
    IssueCode,
}

/// Decides the next step. `consented` is the set of scopes the user already allowed this
/// client, if a session exists.
pub fn next_step(
    pending: &PendingAuthorization,
    session: Option<&BrowserSession>,
    consented: Option<&ScopeSet>,
    now: UnixTime,
) -> Result<NextStep, RedirectError> {
    let fresh_enough = session.is_some_and(|session| {
        // prompt=login stays set until the user signs in through the form for this request.
        let after_prompt = !pending.prompt_login;
        let within_max_age = pending.max_age.is_none_or(|max_age| now - session.auth_time <= max_age);
        after_prompt && within_max_age
    });
    if !fresh_enough {
        return if pending.prompt_none {
            Err(pending.error(OAuthErrorCode::LoginRequired, "the user is not signed in"))
        } else {
            Ok(NextStep::SignIn)
        };
    }
    if pending.require_mfa && !session.is_some_and(|session| assurance::is_multi_factor(&session.amr)) {
        return if pending.prompt_none {
            Err(pending.error(OAuthErrorCode::InteractionRequired, "the request needs a multi-factor sign-in"))
        } else {
            Ok(NextStep::StepUp)
        };
    }
    let covered = consented.is_some_and(|granted| pending.scope.is_subset_of(granted));
    if !pending.first_party && (pending.prompt_consent || !covered) {
        return if pending.prompt_none {
            Err(pending.error(OAuthErrorCode::ConsentRequired, "the user has not allowed this application"))
        } else {
            Ok(NextStep::Consent)
        };
    }
    Ok(NextStep::IssueCode)
}

fn pending_key(id: &str) -> String {
    format!("authz:{id}")
}

pub async fn save_pending(store: &EphemeralStore, pending: &PendingAuthorization, ttl_secs: u64) -> anyhow::Result<()> {
    Ok(store.put_json(&pending_key(&pending.id), pending, Duration::from_secs(ttl_secs)).await?)
}

pub async fn load_pending(store: &EphemeralStore, id: &str) -> anyhow::Result<Option<PendingAuthorization>> {
    if id.is_empty() || id.len() > 64 {
        return Ok(None);
    }
    Ok(store.get_json(&pending_key(id)).await?)
}

/// Removes a pending request for good: a request is answered once.
pub async fn finish_pending(store: &EphemeralStore, id: &str) -> anyhow::Result<Option<PendingAuthorization>> {
    Ok(store.take_json(&pending_key(id)).await?)
}

/// Where a pending request goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Advance {
    /// To the login page.
    SignIn,
    /// The user must first replace a temporary password.
    ChangePassword,
    /// Signed in with one factor where the request needs two: to the second step.
    StepUp,
    /// To the consent page.
    Consent,
    /// Answered: back to the client, with a code or an error.
    Redirect(String),
    /// The request was answered already or timed out.
    Expired,
    /// The client's access policy does not admit the user: to the page that says so (and
    /// from there back to the client with `access_denied`).
    NoAccess,
}

/// Takes a pending request one step further for the signed-in user (if any): to sign-in,
/// to a password change, to consent, or back to the client with a code or an error. The
/// request is answered once: it is taken from the store before the answer is made, so a
/// replayed or concurrent submission finds nothing.
pub async fn advance(
    state: &AppState,
    pending: &PendingAuthorization,
    signed_in: Option<(&BrowserSession, &User)>,
    now: UnixTime,
) -> anyhow::Result<Advance> {
    let consented = match signed_in {
        Some((_, user)) => consents::granted(&state.db, &user.id, &pending.client_id).await?,
        None => None,
    };
    if signed_in.is_some_and(|(_, user)| user.must_change_password) {
        if !pending.prompt_none {
            return Ok(Advance::ChangePassword);
        }
        // The user must act before any code is issued, and prompt=none forbids asking.
        if finish_pending(&state.ephemeral, &pending.id).await?.is_none() {
            return Ok(Advance::Expired);
        }
        let error = pending.error(OAuthErrorCode::InteractionRequired, "the user must choose a new password");
        return Ok(Advance::Redirect(answer_error(state, &error).await?));
    }
    let session = signed_in.map(|(session, _)| session);
    let step = next_step(pending, session, consented.as_ref(), now);
    if let (Ok(NextStep::SignIn), _) | (Ok(NextStep::IssueCode), None) = (&step, session) {
        return Ok(Advance::SignIn);
    }
    // Signed in as the request wants: the client's access policy decides before consent.
    if let (Ok(_), Some((_, user))) = (&step, signed_in)
        && !may_use_client(state, pending, user).await?
    {
        if !pending.prompt_none {
            return Ok(Advance::NoAccess);
        }
        return Ok(match refuse_no_access(state, pending, user).await? {
            Some(url) => Advance::Redirect(url),
            None => Advance::Expired,
        });
    }
    match step {
        Ok(NextStep::StepUp) => return Ok(Advance::StepUp),
        Ok(NextStep::Consent) => return Ok(Advance::Consent),
        _ => {}
    }
    if finish_pending(&state.ephemeral, &pending.id).await?.is_none() {
        return Ok(Advance::Expired);
    }
    match (step, session) {
        (Ok(_), Some(session)) => Ok(Advance::Redirect(issue_code(state, pending, session).await?)),
        (Err(error), _) => Ok(Advance::Redirect(answer_error(state, &error).await?)),
        (Ok(_), None) => Ok(Advance::Expired),
    }
}

/// Whether the client's access policy admits `user` (at every authorization; refresh checks
/// again in `grants`).
pub async fn may_use_client(state: &AppState, pending: &PendingAuthorization, user: &User) -> anyhow::Result<bool> {
    let Some(client) = clients::find_usable(state, &pending.client_id).await? else { return Ok(false) };
    groups::may_use(&state.db, &client, &user.id).await
}

/// Answers `pending` with `access_denied` because the client's access policy refuses
/// `user`, and audits it; the URL back to the client, or `None` if the request was
/// answered already.
pub async fn refuse_no_access(
    state: &AppState,
    pending: &PendingAuthorization,
    user: &User,
) -> anyhow::Result<Option<String>> {
    if finish_pending(&state.ephemeral, &pending.id).await?.is_none() {
        return Ok(None);
    }
    if let Some(client) = clients::find_usable(state, &pending.client_id).await? {
        groups::record_refusal(&state.db, &client, &user.id, "authorize", None).await;
    }
    let error = pending.error(OAuthErrorCode::AccessDenied, "the user does not have access to this application");
    Ok(Some(answer_error(state, &error).await?))
}

/// The user answered the consent page for `pending`. Allowing remembers the scopes (added
/// to what the user allowed this client before) and goes on; denying answers the client
/// with `access_denied`.
pub async fn answer_consent(
    state: &AppState,
    pending: PendingAuthorization,
    signed_in: (&BrowserSession, &User),
    allow: bool,
    now: UnixTime,
) -> anyhow::Result<Advance> {
    if !allow {
        if finish_pending(&state.ephemeral, &pending.id).await?.is_none() {
            return Ok(Advance::Expired);
        }
        let error = pending.error(OAuthErrorCode::AccessDenied, "the user denied the request");
        return Ok(Advance::Redirect(answer_error(state, &error).await?));
    }
    consents::allow(&state.db, &signed_in.1.id, &pending.client_id, &pending.scope, now).await?;
    // The user just answered: do not ask again for this request even with prompt=consent.
    let answered = PendingAuthorization { prompt_consent: false, ..pending };
    advance(state, &answered, Some(signed_in), now).await
}

#[cfg(test)]
mod tests;
