//! Relying apps (OAuth clients): their registration and its rules. Redirect URIs are kept
//! exactly as registered, because matching is exact (RFC 9700 §4.1.3).

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::audit::{self, Actor, AdminAction};
use super::grants::{self, FamiliesOf};
use super::model::scopes::{ScopeError, ScopeSet};
pub use super::model::{ClaimMapping, Client, ClientKeys, ClientPolicy, GrantType};
use super::{access_cache, claims, constant_time_eq, groups, metadata_documents, now, random_token, sha256_b64};
use crate::config::Settings;
use crate::state::AppState;
use crate::store::db::{self, Db, WriteError};

/// A client id: 1–255 characters of letters, digits, `.`, `_`, `-`, `~` or `:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(raw: &str) -> Result<ClientId, ClientError> {
        let valid = (1..=255).contains(&raw.len())
            && raw.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '~' | ':'));
        if valid { Ok(ClientId(raw.to_string())) } else { Err(ClientError::InvalidClientId) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A registered redirect URI: absolute, without a fragment (RFC 6749 §3.1.2), and either
/// http(s) or a private-use scheme in reverse-domain form for native apps (RFC 8252 §7.1).
/// Kept exactly as registered: matching is on the string (RFC 9700 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    pub fn parse(raw: &str) -> Result<RedirectUri, ClientError> {
        let invalid = |why| Err(ClientError::InvalidRedirectUri(raw.to_string(), why));
        let Ok(url) = Url::parse(raw) else {
            return invalid("not an absolute URI");
        };
        if url.fragment().is_some() {
            return invalid("must not contain a fragment");
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return invalid("must not contain spaces");
        }
        match url.scheme() {
            // `url` would read `https:///x` as `https://x/`; matching is on the raw string, so
            // the raw string itself must name the host.
            "http" | "https"
                if raw.split_once("://").is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/')) =>
            {
                Ok(RedirectUri(raw.to_string()))
            }
            "http" | "https" => invalid("needs a host"),
            scheme if scheme.contains('.') => Ok(RedirectUri(raw.to_string())),
            _ => invalid("must be http(s) or a reverse-domain private-use scheme"),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the URI keeps a code away from the network: https, a private-use scheme
    /// (a native app), or http to a loopback host (RFC 8252 §7.3, §8.3).
    pub fn is_secure(&self) -> bool {
        let Ok(url) = Url::parse(&self.0) else { return false };
        url.scheme() != "http" || is_loopback(&url)
    }
}

/// Whether a URL's host is this machine: `localhost` or a loopback address, where plain
/// http stays off the network (RFC 8252 §7.3).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("client id must be 1 to 255 characters: letters, digits, '.', '_', '-', '~' or ':'")]
    InvalidClientId,
    #[error("{0:?} is not a valid redirect URI: {1}")]
    InvalidRedirectUri(String, &'static str),
    #[error("{0:?} is not a valid scope")]
    InvalidScope(String),
    #[error("the logo URI must be an https URL of at most 512 characters")]
    InvalidLogoUri,
    #[error("unknown grant type {0:?} (expected authorization_code, refresh_token, client_credentials or device_code)")]
    UnknownGrant(String),
    #[error("the authorization_code grant needs at least one --redirect-uri")]
    MissingRedirectUri,
    #[error("a public client cannot have a secret or use client_credentials")]
    PublicClientWithSecret,
    #[error("client secret must be at least 32 characters; leave it out to have one generated")]
    WeakSecret,
    /// The client's `jwks` or `jwks_uri` cannot be used.
    #[error("{0}")]
    InvalidKeys(String),
    #[error("no client {0:?}")]
    NotFound(String),
    #[error("only an admin may do this")]
    Forbidden,
    #[error("client {0:?} already exists")]
    AlreadyExists(String),
    /// The access policy, released groups or claim mappings are not valid; the field and why.
    #[error("{1}")]
    InvalidPolicy(&'static str, String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A logo URI as stored: https, at most 512 characters; empty means none.
pub(super) fn parse_logo_uri(uri: Option<String>) -> Result<Option<String>, ClientError> {
    let Some(uri) = uri.map(|uri| uri.trim().to_string()).filter(|uri| !uri.is_empty()) else {
        return Ok(None);
    };
    let https = Url::parse(&uri).is_ok_and(|url| url.scheme() == "https" && url.host_str().is_some());
    if !https || uri.len() > 512 {
        return Err(ClientError::InvalidLogoUri);
    }
    Ok(Some(uri))
}

/// The scopes a client may request unless its registration says otherwise.
pub fn default_scope() -> String {
    "openid profile email offline_access".into()
}

/// The grant types a client may use unless its registration says otherwise.
pub fn default_grants() -> Vec<String> {
    vec![GrantType::AuthorizationCode.as_str().into(), GrantType::RefreshToken.as_str().into()]
}

/// What is needed to register a client.
#[derive(Debug)]
pub struct NewClient {
    pub id: String,
    pub name: Option<String>,
    pub public: bool,
    pub first_party: bool,
    /// Require PKCE of this confidential client too.
    pub require_pkce: bool,
    /// Accept only pushed authorization requests (RFC 9126).
    pub require_par: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Where OpenID Back-Channel Logout 1.0 notifications go.
    pub backchannel_logout_uri: Option<String>,
    pub scopes: String,
    pub grants: Vec<String>,
    /// For a confidential client: the secret to use, or `None` to generate one (unless it
    /// has `keys`).
    pub secret: Option<SecretString>,
    /// For a confidential client: authenticates with a JWT signed by one of these keys
    /// (`private_key_jwt`) instead of a secret.
    pub keys: Option<ClientKeys>,
    /// An https URL of its logo, shown on its consent page.
    pub logo_uri: Option<String>,
}

/// A registered client and, when Latchkey generated it, the secret, shown once.
#[derive(Debug)]
pub struct AddedClient {
    pub client: Client,
    pub generated_secret: Option<SecretString>,
}

/// A client's settings as an admin edits them.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub name: String,
    pub first_party: bool,
    pub require_pkce: bool,
    pub require_par: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub scopes: String,
    pub grants: Vec<String>,
    pub enabled: bool,
    /// Replaces the logo URI (`None`: no logo).
    pub logo_uri: Option<String>,
}

fn require_admin(actor: &Actor) -> Result<(), ClientError> {
    if actor.is_admin() { Ok(()) } else { Err(ClientError::Forbidden) }
}

/// Validates and applies an admin's edit of client `id`. An edit that changes nothing
/// (bootstrap re-applying its file at every start) is not written or audited.
pub async fn update_client(
    state: &AppState,
    actor: &Actor,
    id: &str,
    settings: ClientSettings,
) -> Result<Client, ClientError> {
    require_admin(actor)?;
    let existing = find_client(&state.db, id).await?;
    let keys = existing.keys.clone();
    let (client, changed) = apply_settings(state, existing, settings, keys).await?;
    if changed {
        audit::record_admin(&state.db, actor, AdminAction::UpdateClient, None, Some(id), now()).await;
    }
    Ok(client)
}

/// Validates and stores new settings (and keys) for `existing`; whether anything changed.
/// Disabling a client ends its grants.
pub(super) async fn apply_settings(
    state: &AppState,
    existing: Client,
    settings: ClientSettings,
    keys: Option<ClientKeys>,
) -> Result<(Client, bool), ClientError> {
    let id = existing.id.clone();
    let id = id.as_str();
    if let Some(keys) = keys.as_ref().filter(|keys| Some(*keys) != existing.keys.as_ref()) {
        check_keys(keys, existing.public, false, &state.settings)?;
    }
    let (allowed_scopes, allowed_grants) = registration_checks(
        &state.settings,
        &existing.id,
        existing.public,
        &settings.redirect_uris,
        &settings.post_logout_redirect_uris,
        settings.backchannel_logout_uri.as_deref(),
        &settings.scopes,
        &settings.grants,
        false,
    )?;
    let client = Client {
        name: Some(settings.name).filter(|n| !n.trim().is_empty()).unwrap_or_else(|| existing.id.clone()),
        first_party: settings.first_party,
        require_pkce: settings.require_pkce,
        require_par: settings.require_par,
        redirect_uris: settings.redirect_uris,
        post_logout_redirect_uris: settings.post_logout_redirect_uris,
        backchannel_logout_uri: settings.backchannel_logout_uri,
        logo_uri: parse_logo_uri(settings.logo_uri)?,
        allowed_scopes,
        allowed_grants,
        enabled: settings.enabled,
        keys,
        ..existing.clone()
    };
    if client == existing {
        return Ok((client, false));
    }
    db::clients::update(&state.db, &client, now()).await?;
    access_cache::client_changed(state, id).await.map_err(anyhow::Error::from)?;
    if existing.enabled && !client.enabled {
        // A disabled client's tokens stop working now, not when they expire.
        grants::end_all(state, FamiliesOf::Client(id), now()).await.map_err(anyhow::Error::from)?;
    }
    Ok((client, true))
}

/// Sets who may use client `id` (`allowed_groups`), which groups it learns of
/// (`released_groups`) and which attributes it receives as claims (`claim_mappings`).
/// A policy that changes nothing is not written or audited.
pub async fn set_policy(
    state: &AppState,
    actor: &Actor,
    id: &str,
    policy: ClientPolicy,
) -> Result<Client, ClientError> {
    require_admin(actor)?;
    let existing = find_client(&state.db, id).await?;
    for name in policy.allowed_groups.iter().flatten() {
        if db::groups::find(&state.db, name).await?.is_none() {
            return Err(ClientError::InvalidPolicy("allowed_groups", format!("no group named {name:?}")));
        }
    }
    for pattern in policy.released_groups.iter().flatten() {
        if groups::parse_name(pattern.strip_suffix('*').unwrap_or(pattern)).is_err() && pattern != "*" {
            let why = format!("{pattern:?} is neither a group name nor a prefix such as \"app1-*\"");
            return Err(ClientError::InvalidPolicy("released_groups", why));
        }
    }
    for mapping in &policy.claim_mappings {
        let valid_claim = (1..=64).contains(&mapping.claim.len())
            && mapping.claim.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
        if !valid_claim || claims::is_reserved(&mapping.claim) {
            let why = format!("{:?} cannot be a mapped claim's name (reserved or not a simple name)", mapping.claim);
            return Err(ClientError::InvalidPolicy("claim_mappings", why));
        }
        if mapping.attribute.is_empty() || mapping.attribute.len() > 64 {
            return Err(ClientError::InvalidPolicy("claim_mappings", "an attribute name is 1 to 64 characters".into()));
        }
        if !existing.allowed_scopes.contains(&mapping.scope) {
            let why = format!("scope {:?} is not one the client may request", mapping.scope);
            return Err(ClientError::InvalidPolicy("claim_mappings", why));
        }
    }
    if policy == existing.policy {
        return Ok(existing);
    }
    db::clients::set_policy(&state.db, id, &policy, now()).await?;
    access_cache::client_changed(state, id).await.map_err(anyhow::Error::from)?;
    audit::record_admin(&state.db, actor, AdminAction::SetClientPolicy, None, Some(id), now()).await;
    Ok(Client { policy, ..existing })
}

/// Replaces a confidential client's secret with a generated one, returned once.
pub async fn rotate_secret(state: &AppState, actor: &Actor, id: &str) -> Result<SecretString, ClientError> {
    require_admin(actor)?;
    if find_client(&state.db, id).await?.public {
        return Err(ClientError::PublicClientWithSecret);
    }
    let secret = SecretString::from(random_token(32));
    db::clients::set_secret_hash(&state.db, id, &hash_secret(&secret)).await?;
    access_cache::client_changed(state, id).await.map_err(anyhow::Error::from)?;
    audit::record_admin(&state.db, actor, AdminAction::RotateClientSecret, None, Some(id), now()).await;
    Ok(secret)
}

/// Sets a confidential client's secret to one chosen by the operator (bootstrap). Setting
/// the secret it already has changes nothing and is not audited.
pub async fn set_secret(state: &AppState, actor: &Actor, id: &str, secret: &SecretString) -> Result<(), ClientError> {
    require_admin(actor)?;
    if secret.expose_secret().chars().count() < 32 {
        return Err(ClientError::WeakSecret);
    }
    let (_, stored) = db::clients::find(&state.db, id).await?.ok_or_else(|| ClientError::NotFound(id.to_string()))?;
    if stored.is_some_and(|hash| secret_matches(secret.expose_secret(), &hash)) {
        return Ok(());
    }
    db::clients::set_secret_hash(&state.db, id, &hash_secret(secret)).await?;
    access_cache::client_changed(state, id).await.map_err(anyhow::Error::from)?;
    audit::record_admin(&state.db, actor, AdminAction::SetClientSecret, None, Some(id), now()).await;
    Ok(())
}

/// Deletes a client, ending its grants first; its refresh-token families and consents go
/// with it, so a later client registered under the same id inherits nothing.
pub async fn delete_client(state: &AppState, actor: &Actor, id: &str) -> Result<(), ClientError> {
    require_admin(actor)?;
    remove_client(state, id).await?;
    audit::record_admin(&state.db, actor, AdminAction::DeleteClient, None, Some(id), now()).await;
    Ok(())
}

/// Deletes a client after ending its grants (see [`delete_client`]).
pub(super) async fn remove_client(state: &AppState, id: &str) -> Result<(), ClientError> {
    find_client(&state.db, id).await?;
    grants::end_all(state, FamiliesOf::Client(id), now()).await.map_err(anyhow::Error::from)?;
    if !db::clients::delete_with_dependents(&state.db, id).await? {
        return Err(ClientError::NotFound(id.to_string()));
    }
    access_cache::client_changed(state, id).await.map_err(anyhow::Error::from)?;
    Ok(())
}

pub async fn find_client(db: &Db, id: &str) -> Result<Client, ClientError> {
    Ok(db::clients::find(db, id).await?.ok_or_else(|| ClientError::NotFound(id.to_string()))?.0)
}

/// The checks shared by registration and editing; returns the parsed scopes and grants.
#[allow(clippy::too_many_arguments)]
fn registration_checks(
    settings: &Settings,
    id: &str,
    public: bool,
    redirect_uris: &[String],
    post_logout_redirect_uris: &[String],
    backchannel_logout_uri: Option<&str>,
    scopes: &str,
    grants: &[String],
    has_secret: bool,
) -> Result<(ScopeSet, Vec<GrantType>), ClientError> {
    ClientId::parse(id)?;
    for uri in redirect_uris.iter().chain(post_logout_redirect_uris) {
        let uri = RedirectUri::parse(uri)?;
        if !settings.clients.allow_insecure_redirects && !uri.is_secure() {
            return Err(ClientError::InvalidRedirectUri(
                uri.as_str().to_string(),
                "http is for loopback hosts only (localhost, 127.0.0.1, [::1]); use https",
            ));
        }
    }
    if let Some(uri) = backchannel_logout_uri {
        let valid =
            Url::parse(uri).is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.fragment().is_none());
        if !valid {
            return Err(ClientError::InvalidRedirectUri(
                uri.to_string(),
                "a back-channel logout URI must be an http(s) URL without fragment",
            ));
        }
    }
    let scopes = ScopeSet::parse(scopes).map_err(|ScopeError(scope)| ClientError::InvalidScope(scope))?;
    let mut parsed = Vec::new();
    for grant in grants.iter().flat_map(|g| g.split(',')).map(str::trim).filter(|g| !g.is_empty()) {
        let grant = GrantType::from_name(grant).ok_or_else(|| ClientError::UnknownGrant(grant.to_string()))?;
        if !parsed.contains(&grant) {
            parsed.push(grant);
        }
    }
    if parsed.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        return Err(ClientError::MissingRedirectUri);
    }
    if public && (has_secret || parsed.contains(&GrantType::ClientCredentials)) {
        return Err(ClientError::PublicClientWithSecret);
    }
    Ok((scopes, parsed))
}

/// Validates and stores a client. Only a hash of the secret is kept.
pub async fn add_client(state: &AppState, actor: &Actor, new: NewClient) -> Result<AddedClient, ClientError> {
    require_admin(actor)?;
    let added = insert_new(state, new, false).await?;
    let client = &added.client;
    audit::record_admin(&state.db, actor, AdminAction::CreateClient, None, Some(&client.id), client.created_at).await;
    Ok(added)
}

/// Validates and stores a new client, registered by an admin or (`dynamic`) by itself.
pub(super) async fn insert_new(state: &AppState, new: NewClient, dynamic: bool) -> Result<AddedClient, ClientError> {
    let (scopes, grants) = registration_checks(
        &state.settings,
        &new.id,
        new.public,
        &new.redirect_uris,
        &new.post_logout_redirect_uris,
        new.backchannel_logout_uri.as_deref(),
        &new.scopes,
        &new.grants,
        new.secret.is_some(),
    )?;
    if let Some(keys) = &new.keys {
        check_keys(keys, new.public, new.secret.is_some(), &state.settings)?;
    }
    let (secret_hash, generated_secret) = if new.public || new.keys.is_some() {
        (None, None)
    } else {
        match new.secret {
            Some(secret) if secret.expose_secret().chars().count() < 32 => {
                return Err(ClientError::WeakSecret);
            }
            Some(secret) => (Some(hash_secret(&secret)), None),
            None => {
                let secret = SecretString::from(random_token(32));
                (Some(hash_secret(&secret)), Some(secret))
            }
        }
    };
    let client = Client {
        name: new.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| new.id.clone()),
        id: new.id,
        public: new.public,
        first_party: new.first_party,
        require_pkce: new.require_pkce,
        require_par: new.require_par,
        redirect_uris: new.redirect_uris,
        post_logout_redirect_uris: new.post_logout_redirect_uris,
        backchannel_logout_uri: new.backchannel_logout_uri,
        logo_uri: parse_logo_uri(new.logo_uri)?,
        allowed_scopes: scopes,
        allowed_grants: grants,
        enabled: true,
        created_at: now(),
        policy: ClientPolicy::default(),
        keys: new.keys,
        dynamic,
    };
    db::clients::insert(&state.db, &client, secret_hash.as_deref()).await.map_err(|error| match error {
        WriteError::Duplicate => ClientError::AlreadyExists(client.id.clone()),
        WriteError::Unexpected(error) => ClientError::Unexpected(error),
    })?;
    Ok(AddedClient { client, generated_secret })
}

/// Checks a client's keys: only a confidential client without a secret has them; a JWK Set
/// holds at least one public signing key; a `jwks_uri` is https (or loopback http when
/// insecure redirects are allowed, for development).
fn check_keys(keys: &ClientKeys, public: bool, has_secret: bool, settings: &Settings) -> Result<(), ClientError> {
    let invalid = |why: &str| Err(ClientError::InvalidKeys(why.to_string()));
    if public || has_secret {
        return invalid("keys are for confidential clients that authenticate without a secret");
    }
    match keys {
        ClientKeys::Jwks(jwks) => match super::client_assertion::parse_jwks(jwks) {
            Ok(set) if !set.keys.is_empty() => Ok(()),
            _ => invalid("jwks must be a JWK Set with at least one public key"),
        },
        ClientKeys::JwksUri(uri) => match Url::parse(uri) {
            Ok(url) if url.scheme() == "https" => Ok(()),
            Ok(url) if url.scheme() == "http" && settings.clients.allow_insecure_redirects => Ok(()),
            _ => invalid("jwks_uri must be an https URL"),
        },
    }
}

pub async fn list_clients(db: &Db) -> Result<Vec<Client>, ClientError> {
    Ok(db::clients::list(db).await?)
}

#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    /// Unknown or disabled client, wrong or missing secret: one answer for all, so that a
    /// caller learns nothing about which (RFC 6749 §5.2 `invalid_client`).
    #[error("client authentication failed")]
    Failed,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Authenticates a client at the token, introspection or revocation endpoint. A public
/// client presents only its id (`none`); a confidential one must present its secret.
pub async fn authenticate(state: &AppState, client_id: &str, secret: Option<&str>) -> Result<Client, ClientAuthError> {
    let Some((client, stored_hash)) = find_with_secret(state, client_id).await? else {
        return Err(ClientAuthError::Failed);
    };
    if !client.enabled {
        return Err(ClientAuthError::Failed);
    }
    match (client.public, secret, stored_hash) {
        (true, None, _) => Ok(client),
        (false, Some(secret), Some(hash)) if secret_matches(secret, &hash) => Ok(client),
        _ => Err(ClientAuthError::Failed),
    }
}

/// Authenticates a client by a signed JWT (`private_key_jwt`, see [`client_assertion`]);
/// the same single answer as a wrong secret when it fails.
pub async fn authenticate_with_assertion(
    state: &AppState,
    client_id: &str,
    assertion: &str,
    audiences: &[String],
) -> Result<Client, ClientAuthError> {
    let Some((client, _)) = find_with_secret(state, client_id).await? else {
        return Err(ClientAuthError::Failed);
    };
    if !client.enabled {
        return Err(ClientAuthError::Failed);
    }
    match super::client_assertion::verify(state, &client, assertion, audiences, now()).await {
        Ok(()) => Ok(client),
        Err(super::client_assertion::AssertionError::Unexpected(error)) => Err(ClientAuthError::Unexpected(error)),
        Err(error) => {
            tracing::info!(%error, client_id, "client assertion refused");
            Err(ClientAuthError::Failed)
        }
    }
}

/// A client and its secret hash: from this instance's cache while the client is unchanged
/// (see [`access_cache`]), else from the database.
async fn find_with_secret(state: &AppState, id: &str) -> anyhow::Result<Option<(Client, Option<String>)>> {
    if metadata_documents::is_document_id(id) {
        return Ok(find_usable(state, id).await?.map(|client| (client, None)));
    }
    let stamp = access_cache::client_stamp(state, id).await;
    if let Some(stamp) = &stamp
        && let Some(cached) = state.access_cache.clients.get(id, stamp)
    {
        return Ok(Some(cached));
    }
    let found = db::clients::find(&state.db, id).await?;
    if let (Some(stamp), Some(found)) = (stamp, &found) {
        state.access_cache.clients.put(id, stamp, found.clone());
    }
    Ok(found)
}

/// A client by id, if it exists and is enabled: the one check every path that acts for a
/// client makes.
pub async fn find_enabled(db: &Db, client_id: &str) -> anyhow::Result<Option<Client>> {
    Ok(db::clients::find(db, client_id).await?.map(|(client, _)| client).filter(|client| client.enabled))
}

/// A client by id, if it exists and is enabled: registered here, or (an https URL) the
/// client its metadata document describes. A document that cannot be had or does not
/// check out is no client; why goes to the log.
pub async fn find_usable(state: &AppState, client_id: &str) -> anyhow::Result<Option<Client>> {
    if !metadata_documents::is_document_id(client_id) {
        return find_enabled(&state.db, client_id).await;
    }
    match metadata_documents::resolve(state, client_id).await {
        Ok(client) => Ok(Some(client)),
        Err(error) => {
            tracing::info!(%error, client_id, "client metadata document refused");
            Ok(None)
        }
    }
}

/// Checks a presented client secret against the stored hash, in constant time.
pub fn secret_matches(presented: &str, stored_hash: &str) -> bool {
    constant_time_eq(hash_secret(&SecretString::from(presented)).as_bytes(), stored_hash.as_bytes())
}

fn hash_secret(secret: &SecretString) -> String {
    format!("sha256:{}", sha256_b64(secret.expose_secret().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_absolute_without_fragment() {
        assert!(RedirectUri::parse("https://app.example/callback").is_ok());
        assert!(RedirectUri::parse("http://localhost:3000/cb").is_ok());
        assert!(RedirectUri::parse("com.example.app:/oauth").is_ok());
        for bad in ["/relative", "https://app.example/cb#frag", "javascript:alert(1)", "not a uri", "https:///nohost"] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn http_is_secure_only_for_loopback_hosts() {
        for secure in [
            "https://app.example/cb",
            "http://localhost:3000/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "com.example.app:/cb",
        ] {
            assert!(RedirectUri::parse(secure).unwrap().is_secure(), "{secure}");
        }
        for insecure in ["http://app.example/cb", "http://192.168.1.10/cb", "http://localhost.evil.example/cb"] {
            assert!(!RedirectUri::parse(insecure).unwrap().is_secure(), "{insecure}");
        }
    }

    #[test]
    fn client_ids_are_checked_on_construction() {
        assert_eq!(ClientId::parse("my-app.v2:web").unwrap().as_str(), "my-app.v2:web");
        for bad in ["", "bad id", "é", &"x".repeat(256)] {
            assert!(ClientId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn secrets_match_only_their_hash() {
        let hash = hash_secret(&"s".repeat(40).into());
        assert!(secret_matches(&"s".repeat(40), &hash));
        assert!(!secret_matches(&"t".repeat(40), &hash));
    }
}
