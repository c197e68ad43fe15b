//! Dynamic client registration (RFC 7591) and its management (RFC 7592): a client with no
//! prior relationship (an MCP client, an agent) registers itself at `/register`, and
//! reads, changes or deletes its registration with the registration access token it got.
//!
//! Rules: registration is open, needs an initial access token an admin issued, or is off
//! (`clients.registration`); a self-registered client is never first-party (consent is
//! always asked), may ask only for the standard OpenID scopes, and is marked as registered
//! by itself so admins see it in the console.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::audit::{self, Actor, AdminAction, AuditEvent, AuditKind};
use super::clients::{self, AddedClient, Client, ClientError, ClientKeys, ClientSettings, GrantType, NewClient};
use super::{constant_time_eq, now, random_token, sha256_b64};
use crate::config::RegistrationMode;
use crate::state::AppState;
use crate::store::db;

/// What a client nobody registered (self-registered, or a metadata document) may ask for:
/// identity, never groups or the admin API.
pub const REGISTRABLE_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// Client metadata (RFC 7591 §2) as sent and as answered. Members this server does not
/// know are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClientMetadata {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub application_type: Option<String>,
    pub client_name: Option<String>,
    pub logo_uri: Option<String>,
    pub scope: Option<String>,
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// In an update (RFC 7592 §2.2): the client's own id, and its secret if it sends one.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("dynamic client registration is off")]
    Off,
    /// The initial access token or registration access token is missing, wrong or spent.
    #[error("the access token is missing, invalid or used up")]
    InvalidToken,
    #[error("{0}")]
    InvalidRedirectUri(String),
    #[error("{0}")]
    InvalidMetadata(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<ClientError> for RegistrationError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::InvalidRedirectUri(..) | ClientError::MissingRedirectUri => {
                RegistrationError::InvalidRedirectUri(error.to_string())
            }
            ClientError::Unexpected(error) => RegistrationError::Unexpected(error),
            error => RegistrationError::InvalidMetadata(error.to_string()),
        }
    }
}

/// A registration as answered (RFC 7591 §3.2.1): the client's metadata, and on
/// registration its secret and registration access token (shown once).
pub type Registered = Value;

/// How a client authenticates, from `token_endpoint_auth_method`.
enum AuthMethod {
    None,
    Secret(&'static str),
    PrivateKeyJwt(ClientKeys),
}

/// What the metadata registers, checked.
struct Checked {
    name: Option<String>,
    auth: AuthMethod,
    grants: Vec<String>,
    scope: String,
}

fn check(metadata: &ClientMetadata) -> Result<Checked, RegistrationError> {
    let invalid = |why: &str| Err(RegistrationError::InvalidMetadata(why.to_string()));
    let auth = match metadata.token_endpoint_auth_method.as_deref().unwrap_or("client_secret_basic") {
        "none" => AuthMethod::None,
        "client_secret_basic" => AuthMethod::Secret("client_secret_basic"),
        "client_secret_post" => AuthMethod::Secret("client_secret_post"),
        "private_key_jwt" => match (&metadata.jwks, &metadata.jwks_uri) {
            (Some(jwks), None) => AuthMethod::PrivateKeyJwt(ClientKeys::Jwks(jwks.to_string())),
            (None, Some(uri)) => AuthMethod::PrivateKeyJwt(ClientKeys::JwksUri(uri.clone())),
            _ => return invalid("private_key_jwt needs exactly one of jwks and jwks_uri"),
        },
        _ => {
            return invalid(
                "token_endpoint_auth_method must be none, client_secret_basic, client_secret_post or private_key_jwt",
            );
        }
    };
    let grants = metadata.grant_types.clone().unwrap_or_else(|| vec!["authorization_code".into()]);
    for grant in &grants {
        match GrantType::from_name(grant) {
            Some(GrantType::ClientCredentials) if matches!(auth, AuthMethod::None) => {
                return invalid("a public client cannot use client_credentials");
            }
            Some(_) => {}
            None => return invalid(&format!("grant type {grant:?} is not supported")),
        }
    }
    if metadata.response_types.iter().flatten().any(|response_type| response_type != "code") {
        return invalid("response_types must be [\"code\"]");
    }
    let native = match metadata.application_type.as_deref().unwrap_or("web") {
        "web" => false,
        "native" => true,
        _ => return invalid("application_type must be web or native"),
    };
    for uri in &metadata.redirect_uris {
        let scheme = uri.split_once(':').map(|(scheme, _)| scheme).unwrap_or_default();
        if !native && !matches!(scheme, "https" | "http") {
            return Err(RegistrationError::InvalidRedirectUri(format!(
                "{uri:?}: a web client's redirect URIs are https (or http on a loopback host)"
            )));
        }
    }
    let scope = metadata.scope.clone().unwrap_or_else(|| REGISTRABLE_SCOPES.join(" "));
    if let Some(other) = scope.split(' ').find(|s| !s.is_empty() && !REGISTRABLE_SCOPES.contains(s)) {
        return invalid(&format!("scope {other:?} cannot be registered; use resource indicators for APIs"));
    }
    let name = metadata.client_name.as_ref().map(|name| name.trim().chars().take(255).collect());
    Ok(Checked { name, auth, grants, scope })
}

/// Registers a client (RFC 7591 §3). `initial_access_token` is the Bearer token the
/// request carried, if any.
pub async fn register(
    state: &AppState,
    metadata: ClientMetadata,
    initial_access_token: Option<&str>,
) -> Result<Registered, RegistrationError> {
    match state.settings.clients.registration {
        RegistrationMode::Off => return Err(RegistrationError::Off),
        RegistrationMode::Open => {}
        RegistrationMode::Token => {
            let Some(token) = initial_access_token else { return Err(RegistrationError::InvalidToken) };
            if !db::initial_access_tokens::spend(&state.db, &sha256_b64(token.as_bytes()), now()).await? {
                return Err(RegistrationError::InvalidToken);
            }
        }
    }
    let checked = check(&metadata)?;
    let (public, keys, method) = match checked.auth {
        AuthMethod::None => (true, None, "none"),
        AuthMethod::Secret(method) => (false, None, method),
        AuthMethod::PrivateKeyJwt(keys) => (false, Some(keys), "private_key_jwt"),
    };
    let new = NewClient {
        id: format!("dyn-{}", random_token(16)),
        name: checked.name,
        public,
        first_party: false,
        require_pkce: false,
        require_par: metadata.require_pushed_authorization_requests,
        redirect_uris: metadata.redirect_uris.clone(),
        post_logout_redirect_uris: metadata.post_logout_redirect_uris.clone(),
        backchannel_logout_uri: None,
        scopes: checked.scope,
        grants: checked.grants,
        secret: None,
        keys,
        logo_uri: metadata.logo_uri.clone(),
    };
    let AddedClient { client, generated_secret } = clients::insert_new(state, new, true).await?;
    let registration_token = random_token(32);
    db::clients::set_registration_token_hash(&state.db, &client.id, &sha256_b64(registration_token.as_bytes())).await?;
    let event = AuditEvent::new(AuditKind::ClientRegistered, client.created_at).client(&client.id);
    audit::record(&state.db, event.details(json!({ "client_name": client.name }))).await;
    let mut answer = describe(state, &client, method);
    answer["client_id_issued_at"] = json!(client.created_at);
    answer["registration_access_token"] = json!(registration_token);
    if let Some(secret) = generated_secret {
        answer["client_secret"] = json!(secret.expose_secret());
        answer["client_secret_expires_at"] = json!(0);
    }
    Ok(answer)
}

/// The registration URI of a self-registered client (RFC 7592).
fn registration_client_uri(state: &AppState, client_id: &str) -> String {
    state.settings.endpoint(&format!("/register/{client_id}"))
}

/// A client's registered metadata.
fn describe(state: &AppState, client: &Client, method: &str) -> Value {
    let mut metadata = json!({
        "client_id": client.id,
        "client_name": client.name,
        "logo_uri": client.logo_uri,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.allowed_grants.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "response_types": if client.allowed_grants.contains(&GrantType::AuthorizationCode) { vec!["code"] } else { vec![] },
        "token_endpoint_auth_method": method,
        "scope": client.allowed_scopes.to_string(),
        "require_pushed_authorization_requests": client.require_par,
        "registration_client_uri": registration_client_uri(state, &client.id),
    });
    match &client.keys {
        Some(ClientKeys::Jwks(jwks)) => metadata["jwks"] = serde_json::from_str(jwks).unwrap_or(Value::Null),
        Some(ClientKeys::JwksUri(uri)) => metadata["jwks_uri"] = json!(uri),
        None => {}
    }
    metadata
}

/// How a client authenticates. Either secret method works at every endpoint, so a secret
/// client reads back as `client_secret_basic`.
fn auth_method_of(client: &Client) -> &'static str {
    match (&client.keys, client.public) {
        (Some(_), _) => "private_key_jwt",
        (None, true) => "none",
        (None, false) => "client_secret_basic",
    }
}

/// The self-registered client `client_id`, if `token` is its registration access token.
async fn authorized(state: &AppState, client_id: &str, token: Option<&str>) -> Result<Client, RegistrationError> {
    let Some(token) = token else { return Err(RegistrationError::InvalidToken) };
    let Some((client, hash)) = db::clients::find_registered(&state.db, client_id).await? else {
        return Err(RegistrationError::InvalidToken);
    };
    if !constant_time_eq(sha256_b64(token.as_bytes()).as_bytes(), hash.as_bytes()) {
        return Err(RegistrationError::InvalidToken);
    }
    Ok(client)
}

/// RFC 7592 §2.1: the client reads its registration.
pub async fn read(state: &AppState, client_id: &str, token: Option<&str>) -> Result<Registered, RegistrationError> {
    let client = authorized(state, client_id, token).await?;
    Ok(describe(state, &client, auth_method_of(&client)))
}

/// RFC 7592 §2.2: the client replaces its metadata. It cannot change how it authenticates
/// (public or confidential), nor become first-party.
pub async fn update(
    state: &AppState,
    client_id: &str,
    token: Option<&str>,
    metadata: ClientMetadata,
) -> Result<Registered, RegistrationError> {
    let existing = authorized(state, client_id, token).await?;
    if metadata.client_id.as_deref() != Some(client_id) {
        return Err(RegistrationError::InvalidMetadata("client_id must be the client's own".into()));
    }
    if let Some(secret) = &metadata.client_secret {
        let (_, hash) = db::clients::find(&state.db, client_id).await?.ok_or(RegistrationError::InvalidToken)?;
        if !hash.is_some_and(|hash| clients::secret_matches(secret, &hash)) {
            return Err(RegistrationError::InvalidMetadata("client_secret is not the client's".into()));
        }
    }
    let checked = check(&metadata)?;
    let (public, keys, method) = match checked.auth {
        AuthMethod::None => (true, None, "none"),
        AuthMethod::Secret(method) => (false, None, method),
        AuthMethod::PrivateKeyJwt(keys) => (false, Some(keys), "private_key_jwt"),
    };
    if public != existing.public || keys.is_some() != existing.keys.is_some() {
        return Err(RegistrationError::InvalidMetadata("token_endpoint_auth_method cannot change".into()));
    }
    let settings = ClientSettings {
        name: checked.name.unwrap_or_default(),
        first_party: false,
        require_pkce: existing.require_pkce,
        require_par: metadata.require_pushed_authorization_requests,
        redirect_uris: metadata.redirect_uris,
        post_logout_redirect_uris: metadata.post_logout_redirect_uris,
        backchannel_logout_uri: None,
        scopes: checked.scope,
        grants: checked.grants,
        enabled: existing.enabled,
        logo_uri: metadata.logo_uri.clone(),
    };
    let (client, changed) = clients::apply_settings(state, existing, settings, keys).await?;
    if changed {
        let event = AuditEvent::new(AuditKind::ClientRegistrationUpdated, now()).client(client_id);
        audit::record(&state.db, event).await;
    }
    Ok(describe(state, &client, method))
}

/// RFC 7592 §2.3: the client deletes its registration; its grants end.
pub async fn delete(state: &AppState, client_id: &str, token: Option<&str>) -> Result<(), RegistrationError> {
    authorized(state, client_id, token).await?;
    clients::remove_client(state, client_id).await?;
    audit::record(&state.db, AuditEvent::new(AuditKind::ClientRegistrationDeleted, now()).client(client_id)).await;
    Ok(())
}

/// An initial access token an admin hands to a client developer: good for `uses`
/// registrations within `ttl`. Shown once; only its hash is kept.
pub async fn issue_initial_access_token(
    state: &AppState,
    actor: &Actor,
    description: &str,
    uses: u64,
    ttl: Duration,
) -> Result<(SecretString, i64), ClientError> {
    if !actor.is_admin() {
        return Err(ClientError::Forbidden);
    }
    if uses == 0 || ttl.is_zero() {
        return Err(ClientError::InvalidPolicy(
            "uses",
            "an initial access token allows at least one registration".into(),
        ));
    }
    let token = random_token(32);
    let (at, expires_at) = (now(), now() + ttl.as_secs() as i64);
    let description: String = description.chars().take(255).collect();
    db::initial_access_tokens::insert(&state.db, &sha256_b64(token.as_bytes()), &description, uses, at, expires_at)
        .await?;
    let event = AuditEvent::new(AuditKind::Admin(AdminAction::IssueInitialAccessToken), at)
        .details(json!({ "description": description, "uses": uses, "expires_at": expires_at }));
    audit::record(&state.db, event.by(actor)).await;
    Ok((SecretString::from(token), expires_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(json: Value) -> ClientMetadata {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn metadata_is_checked() {
        let good = metadata(json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "none"}));
        assert!(check(&good).is_ok());
        for bad in [
            json!({"token_endpoint_auth_method": "client_secret_jwt"}),
            json!({"token_endpoint_auth_method": "private_key_jwt"}),
            json!({"grant_types": ["password"]}),
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
            json!({"response_types": ["token"]}),
            json!({"application_type": "tv"}),
            json!({"scope": "openid admin"}),
            json!({"scope": "groups"}),
        ] {
            assert!(matches!(check(&metadata(bad.clone())), Err(RegistrationError::InvalidMetadata(_))), "{bad}");
        }
        let custom_scheme = metadata(json!({"redirect_uris": ["com.example.app:/cb"]}));
        assert!(matches!(check(&custom_scheme), Err(RegistrationError::InvalidRedirectUri(_))));
        let native = metadata(json!({"redirect_uris": ["com.example.app:/cb"], "application_type": "native"}));
        assert!(check(&native).is_ok());
    }
}
