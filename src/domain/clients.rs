//! Relying apps (OAuth clients): their registration and its rules. Redirect URIs are kept
//! exactly as registered, because matching is exact (RFC 9700 §4.1.3).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{UnixTime, constant_time_eq, now, random_token, sha256_b64};
use crate::store::db::{self, Db};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 3] =
        [GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::ClientCredentials];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(raw: &str) -> Result<GrantType, ClientError> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == raw).ok_or_else(|| ClientError::UnknownGrant(raw.to_string()))
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub name: String,
    /// Public clients (SPAs, native apps) have no secret and must use PKCE.
    pub public: bool,
    /// First-party clients skip the consent page.
    pub first_party: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub allowed_scopes: Vec<String>,
    pub allowed_grants: Vec<GrantType>,
    pub enabled: bool,
    pub created_at: UnixTime,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("client id must be 1 to 255 characters: letters, digits, '.', '_', '-', '~' or ':'")]
    InvalidClientId,
    #[error("{0:?} is not a valid redirect URI: {1}")]
    InvalidRedirectUri(String, &'static str),
    #[error("{0:?} is not a valid scope")]
    InvalidScope(String),
    #[error("unknown grant type {0:?} (expected authorization_code, refresh_token or client_credentials)")]
    UnknownGrant(String),
    #[error("the authorization_code grant needs at least one --redirect-uri")]
    MissingRedirectUri,
    #[error("a public client cannot have a secret or use client_credentials")]
    PublicClientWithSecret,
    #[error("client secret must be at least 32 characters; leave it out to have one generated")]
    WeakSecret,
    #[error("no client {0:?}")]
    NotFound(String),
    #[error("client {0:?} already exists")]
    AlreadyExists(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
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
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Where OpenID Back-Channel Logout 1.0 notifications go.
    pub backchannel_logout_uri: Option<String>,
    pub scopes: String,
    pub grants: Vec<String>,
    /// For a confidential client: the secret to use, or `None` to generate one.
    pub secret: Option<SecretString>,
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
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub scopes: String,
    pub grants: Vec<String>,
    pub enabled: bool,
}

/// Validates and applies an admin's edit of client `id`.
pub async fn update_client(db: &Db, id: &str, settings: ClientSettings) -> Result<Client, ClientError> {
    let (existing, _) = db::clients::find(db, id).await?.ok_or_else(|| ClientError::NotFound(id.to_string()))?;
    let validated = add_client_checks(
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
        redirect_uris: settings.redirect_uris,
        post_logout_redirect_uris: settings.post_logout_redirect_uris,
        backchannel_logout_uri: settings.backchannel_logout_uri,
        allowed_scopes: validated.0,
        allowed_grants: validated.1,
        enabled: settings.enabled,
        ..existing
    };
    db::clients::update(db, &client, now()).await?;
    Ok(client)
}

/// Replaces a confidential client's secret with a generated one, returned once.
pub async fn rotate_secret(db: &Db, id: &str) -> Result<SecretString, ClientError> {
    let (client, _) = db::clients::find(db, id).await?.ok_or_else(|| ClientError::NotFound(id.to_string()))?;
    if client.public {
        return Err(ClientError::PublicClientWithSecret);
    }
    let secret = SecretString::from(random_token(32));
    db::clients::set_secret_hash(db, id, &hash_secret(&secret)).await?;
    Ok(secret)
}

/// Sets a confidential client's secret to one chosen by the operator (bootstrap).
pub async fn set_secret(db: &Db, id: &str, secret: &SecretString) -> Result<(), ClientError> {
    if secret.expose_secret().chars().count() < 32 {
        return Err(ClientError::WeakSecret);
    }
    if db::clients::set_secret_hash(db, id, &hash_secret(secret)).await? {
        Ok(())
    } else {
        Err(ClientError::NotFound(id.to_string()))
    }
}

pub async fn delete_client(db: &Db, id: &str) -> Result<(), ClientError> {
    if db::clients::delete(db, id).await? { Ok(()) } else { Err(ClientError::NotFound(id.to_string())) }
}

pub async fn find_client(db: &Db, id: &str) -> Result<Client, ClientError> {
    Ok(db::clients::find(db, id).await?.ok_or_else(|| ClientError::NotFound(id.to_string()))?.0)
}

/// The checks shared by registration and editing; returns the parsed scopes and grants.
#[allow(clippy::too_many_arguments)]
fn add_client_checks(
    id: &str,
    public: bool,
    redirect_uris: &[String],
    post_logout_redirect_uris: &[String],
    backchannel_logout_uri: Option<&str>,
    scopes: &str,
    grants: &[String],
    has_secret: bool,
) -> Result<(Vec<String>, Vec<GrantType>), ClientError> {
    let valid_id = (1..=255).contains(&id.len())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '~' | ':'));
    if !valid_id {
        return Err(ClientError::InvalidClientId);
    }
    for uri in redirect_uris.iter().chain(post_logout_redirect_uris) {
        validate_redirect_uri(uri)?;
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
    let scopes = parse_scopes(scopes)?;
    let mut parsed = Vec::new();
    for grant in grants.iter().flat_map(|g| g.split(',')).map(str::trim).filter(|g| !g.is_empty()) {
        let grant = GrantType::parse(grant)?;
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
pub async fn add_client(db: &Db, new: NewClient) -> Result<AddedClient, ClientError> {
    let (scopes, grants) = add_client_checks(
        &new.id,
        new.public,
        &new.redirect_uris,
        &new.post_logout_redirect_uris,
        new.backchannel_logout_uri.as_deref(),
        &new.scopes,
        &new.grants,
        new.secret.is_some(),
    )?;
    let (secret_hash, generated_secret) = if new.public {
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
        redirect_uris: new.redirect_uris,
        post_logout_redirect_uris: new.post_logout_redirect_uris,
        backchannel_logout_uri: new.backchannel_logout_uri,
        allowed_scopes: scopes,
        allowed_grants: grants,
        enabled: true,
        created_at: now(),
    };
    db::clients::insert(db, &client, secret_hash.as_deref()).await?;
    Ok(AddedClient { client, generated_secret })
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
pub async fn authenticate(db: &Db, client_id: &str, secret: Option<&str>) -> Result<Client, ClientAuthError> {
    let Some((client, stored_hash)) = db::clients::find(db, client_id).await? else {
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

/// A client by id, if it exists and is enabled.
pub async fn find_enabled(db: &Db, client_id: &str) -> anyhow::Result<Option<Client>> {
    Ok(db::clients::find(db, client_id).await?.map(|(client, _)| client).filter(|client| client.enabled))
}

/// Checks a presented client secret against the stored hash, in constant time.
pub fn secret_matches(presented: &str, stored_hash: &str) -> bool {
    constant_time_eq(hash_secret(&SecretString::from(presented)).as_bytes(), stored_hash.as_bytes())
}

fn hash_secret(secret: &SecretString) -> String {
    format!("sha256:{}", sha256_b64(secret.expose_secret().as_bytes()))
}

/// A redirect URI must be absolute, without a fragment (RFC 6749 §3.1.2), and either
/// http(s) or a private-use scheme in reverse-domain form for native apps (RFC 8252 §7.1).
fn validate_redirect_uri(raw: &str) -> Result<(), ClientError> {
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
            Ok(())
        }
        "http" | "https" => invalid("needs a host"),
        scheme if scheme.contains('.') => Ok(()),
        _ => invalid("must be http(s) or a reverse-domain private-use scheme"),
    }
}

/// Splits a space-separated scope list, checking each token's characters (RFC 6749 §3.3).
pub fn parse_scopes(raw: &str) -> Result<Vec<String>, ClientError> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in raw.split(' ').filter(|s| !s.is_empty()) {
        let valid = scope.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
        if !valid {
            return Err(ClientError::InvalidScope(scope.to_string()));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_string());
        }
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_absolute_without_fragment() {
        assert!(validate_redirect_uri("https://app.example/callback").is_ok());
        assert!(validate_redirect_uri("http://localhost:3000/cb").is_ok());
        assert!(validate_redirect_uri("com.example.app:/oauth").is_ok());
        for bad in ["/relative", "https://app.example/cb#frag", "javascript:alert(1)", "not a uri", "https:///nohost"] {
            assert!(validate_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_match_only_their_hash() {
        let hash = hash_secret(&"s".repeat(40).into());
        assert!(secret_matches(&"s".repeat(40), &hash));
        assert!(!secret_matches(&"t".repeat(40), &hash));
    }

    #[test]
    fn scopes_are_split_and_checked() {
        assert_eq!(parse_scopes("openid  profile openid").unwrap(), vec!["openid", "profile"]);
        assert!(parse_scopes("open\"id").is_err());
    }
}
