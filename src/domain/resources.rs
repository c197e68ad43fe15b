//! API resources and resource indicators (RFC 8707). An admin registers the APIs tokens
//! can be issued for; a client names one with `resource`, and the access token is then for
//! that API alone: `aud` is its identifier and `scope` holds only its scopes.
//!
//! Who may ask: any client may ask for a user's consent to an API's scopes (the user
//! decides on the consent page); a client acting for itself (client credentials) gets only
//! the API scopes an admin allowed it.

use url::Url;

use super::audit::{self, Actor, AdminAction, AuditEvent, AuditKind};
use super::model::scopes::{ADMIN, OFFLINE_ACCESS, OPENID, ScopeError};
pub use super::model::{ApiResource, ScopeSet};
use super::now;
use crate::state::AppState;
use crate::store::db::{self, Db, WriteError};

/// Scopes Latchkey gives a meaning of its own: no API may define them.
const BUILT_IN_SCOPES: [&str; 6] = [OPENID, "profile", "email", OFFLINE_ACCESS, "groups", ADMIN];

/// At most this many `resource` values in one authorization request.
pub const MAX_RESOURCES_PER_REQUEST: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0:?} is not a valid API identifier: {1}")]
    InvalidIdentifier(String, &'static str),
    #[error("{0:?} is not a valid scope")]
    InvalidScope(String),
    #[error("scope {0:?} is one of Latchkey's own; an API cannot define it")]
    ReservedScope(String),
    #[error("an API defines at least one scope")]
    NoScopes,
    #[error("an access-token lifetime is between 60 and 86400 seconds")]
    InvalidLifetime,
    #[error("no API {0:?}")]
    NotFound(String),
    #[error("API {0:?} already exists")]
    AlreadyExists(String),
    #[error("only an admin may do this")]
    Forbidden,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why a `resource` value cannot be served (RFC 8707 §2: `invalid_target`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("resource {0:?} is not an API registered here")]
    Unknown(String),
    #[error("resource must be an absolute URI without a fragment")]
    Malformed,
    #[error("at most {MAX_RESOURCES_PER_REQUEST} resources per request")]
    TooMany,
    #[error("resource {0:?} was not part of the authorization")]
    NotGranted(String),
    #[error("the authorization named several resources: name one with resource")]
    Ambiguous,
}

/// Checks an API identifier: an absolute https URI without a fragment, or http on a
/// loopback host (development). Kept exactly as written: `resource` matches it by string.
pub fn parse_identifier(raw: &str) -> Result<String, ApiError> {
    let invalid = |why| Err(ApiError::InvalidIdentifier(raw.to_string(), why));
    if raw.len() > 255 {
        return invalid("at most 255 characters");
    }
    let Ok(url) = Url::parse(raw) else { return invalid("not an absolute URI") };
    if url.fragment().is_some() || raw.contains('#') {
        return invalid("must not contain a fragment");
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid("must not contain spaces");
    }
    if url.host().is_none() {
        return invalid("needs a host");
    }
    match url.scheme() {
        "https" => Ok(raw.to_string()),
        "http" if super::clients::is_loopback(&url) => Ok(raw.to_string()),
        "http" => invalid("http is for loopback hosts only (localhost, 127.0.0.1, [::1]); use https"),
        _ => invalid("must be https"),
    }
}

/// An API's settings as an admin gives them.
#[derive(Debug, Clone, Default)]
pub struct ApiSettings {
    /// Empty: the identifier.
    pub name: Option<String>,
    /// Space- or comma-separated scope names.
    pub scopes: Vec<String>,
    /// `None`: `tokens.access_token_ttl_secs`.
    pub access_token_ttl_secs: Option<u64>,
    pub require_dpop: bool,
}

fn checked(identifier: &str, settings: ApiSettings, created_at: i64) -> Result<ApiResource, ApiError> {
    let joined = settings.scopes.join(" ").replace(',', " ");
    let scopes = ScopeSet::parse(&joined).map_err(|ScopeError(scope)| ApiError::InvalidScope(scope))?;
    if scopes.is_empty() {
        return Err(ApiError::NoScopes);
    }
    if let Some(reserved) = scopes.iter().find(|scope| BUILT_IN_SCOPES.contains(scope)) {
        return Err(ApiError::ReservedScope(reserved.to_string()));
    }
    if settings.access_token_ttl_secs.is_some_and(|ttl| !(60..=86_400).contains(&ttl)) {
        return Err(ApiError::InvalidLifetime);
    }
    let name = settings.name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    Ok(ApiResource {
        identifier: identifier.to_string(),
        name: name.unwrap_or_else(|| identifier.to_string()).chars().take(255).collect(),
        scopes,
        access_token_ttl_secs: settings.access_token_ttl_secs,
        require_dpop: settings.require_dpop,
        created_at,
    })
}

fn require_admin(actor: &Actor) -> Result<(), ApiError> {
    if actor.is_admin() { Ok(()) } else { Err(ApiError::Forbidden) }
}

async fn record(db: &Db, actor: &Actor, action: AdminAction, identifier: &str) {
    let event = AuditEvent::new(AuditKind::Admin(action), now()).details(serde_json::json!({ "api": identifier }));
    audit::record(db, event.by(actor)).await;
}

/// Registers an API.
pub async fn add_api(
    state: &AppState,
    actor: &Actor,
    identifier: &str,
    settings: ApiSettings,
) -> Result<ApiResource, ApiError> {
    require_admin(actor)?;
    let api = checked(&parse_identifier(identifier)?, settings, now())?;
    db::api_resources::insert(&state.db, &api).await.map_err(|error| match error {
        WriteError::Duplicate => ApiError::AlreadyExists(api.identifier.clone()),
        WriteError::Unexpected(error) => ApiError::Unexpected(error),
    })?;
    record(&state.db, actor, AdminAction::CreateApi, &api.identifier).await;
    Ok(api)
}

/// Changes an API's name, scopes, lifetime or DPoP requirement. Tokens already issued keep
/// what they were issued with; an edit that changes nothing is not written or audited.
pub async fn update_api(
    state: &AppState,
    actor: &Actor,
    identifier: &str,
    settings: ApiSettings,
) -> Result<ApiResource, ApiError> {
    require_admin(actor)?;
    let existing = find_api(&state.db, identifier).await?;
    let api = checked(&existing.identifier, settings, existing.created_at)?;
    if api == existing {
        return Ok(api);
    }
    db::api_resources::update(&state.db, &api, now()).await?;
    record(&state.db, actor, AdminAction::UpdateApi, identifier).await;
    Ok(api)
}

/// Removes an API: no new token is issued for it. Tokens already issued live out their
/// (short) lifetime; refreshing a grant for it answers `invalid_target`.
pub async fn delete_api(state: &AppState, actor: &Actor, identifier: &str) -> Result<(), ApiError> {
    require_admin(actor)?;
    if !db::api_resources::delete(&state.db, identifier).await? {
        return Err(ApiError::NotFound(identifier.to_string()));
    }
    record(&state.db, actor, AdminAction::DeleteApi, identifier).await;
    Ok(())
}

pub async fn find_api(db: &Db, identifier: &str) -> Result<ApiResource, ApiError> {
    db::api_resources::find(db, identifier).await?.ok_or_else(|| ApiError::NotFound(identifier.to_string()))
}

pub async fn list_apis(db: &Db) -> Result<Vec<ApiResource>, ApiError> {
    Ok(db::api_resources::list(db).await?)
}

/// The APIs an authorization request names with `resource`, each one registered.
pub async fn resolve(db: &Db, requested: &[String]) -> anyhow::Result<Result<Vec<ApiResource>, TargetError>> {
    if requested.len() > MAX_RESOURCES_PER_REQUEST {
        return Ok(Err(TargetError::TooMany));
    }
    if requested.iter().any(|r| Url::parse(r).is_err() || r.contains('#')) {
        return Ok(Err(TargetError::Malformed));
    }
    let found = db::api_resources::find_many(db, requested).await?;
    Ok(match requested.iter().find(|r| !found.iter().any(|api| &api.identifier == *r)) {
        Some(unknown) => Err(TargetError::Unknown(unknown.clone())),
        None => Ok(found),
    })
}

/// The API a token request is for, among those the grant was authorized for: the one it
/// names, or the only one.
pub async fn select(
    db: &Db,
    granted: &[String],
    requested: Option<&str>,
) -> anyhow::Result<Result<Option<ApiResource>, TargetError>> {
    let identifier = match (requested, granted) {
        (Some(requested), _) if granted.iter().any(|g| g == requested) => requested,
        (Some(requested), _) if Url::parse(requested).is_err() => return Ok(Err(TargetError::Malformed)),
        (Some(requested), _) => return Ok(Err(TargetError::NotGranted(requested.to_string()))),
        (None, []) => return Ok(Ok(None)),
        (None, [only]) => only,
        (None, _) => return Ok(Err(TargetError::Ambiguous)),
    };
    Ok(db::api_resources::find(db, identifier).await?.map(Some).ok_or_else(|| TargetError::Unknown(identifier.into())))
}

/// The scopes of an authorization request with `resources`: each is the client's own
/// (registered) or one of the APIs'; none asked means all of the APIs' scopes. `Err` names
/// the first scope neither allows.
pub fn authorized_scopes(
    requested: ScopeSet,
    client_scopes: &ScopeSet,
    resources: &[ApiResource],
) -> Result<ScopeSet, String> {
    let mut api_scopes = ScopeSet::default();
    for scope in resources.iter().flat_map(|api| api.scopes.iter()) {
        api_scopes.insert(scope);
    }
    if requested.is_empty() {
        return Ok(api_scopes);
    }
    let outside = requested.iter().find(|scope| !client_scopes.contains(scope) && !api_scopes.contains(scope));
    match outside.map(str::to_string) {
        Some(outside) => Err(outside),
        None => Ok(requested),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_https_or_loopback_http_without_fragment() {
        for good in
            ["https://api.example/", "https://api.example/mcp", "http://localhost:3000/mcp", "http://127.0.0.1/x"]
        {
            assert_eq!(parse_identifier(good).unwrap(), good);
        }
        for bad in ["api", "http://api.example/", "https://api.example/#x", "ftp://api.example/", "urn:api:x"] {
            assert!(parse_identifier(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn api_scopes_cannot_shadow_built_in_ones() {
        let settings = |scopes: &str| ApiSettings { scopes: vec![scopes.into()], ..Default::default() };
        assert!(matches!(checked("https://a/", settings("read openid"), 0), Err(ApiError::ReservedScope(_))));
        assert!(matches!(checked("https://a/", settings(""), 0), Err(ApiError::NoScopes)));
        let api = checked("https://a/", settings("read,write"), 0).unwrap();
        assert_eq!(api.scopes, ScopeSet::from(["read", "write"]));
        assert_eq!(api.name, "https://a/");
    }

    #[test]
    fn request_scopes_are_the_clients_or_the_apis() {
        let api =
            checked("https://a/", ApiSettings { scopes: vec!["read write".into()], ..Default::default() }, 0).unwrap();
        let client = ScopeSet::from(["openid", "profile"]);
        let apis = [api];
        assert_eq!(
            authorized_scopes(ScopeSet::from(["openid", "read"]), &client, &apis),
            Ok(ScopeSet::from(["openid", "read"]))
        );
        assert_eq!(authorized_scopes(ScopeSet::default(), &client, &apis), Ok(ScopeSet::from(["read", "write"])));
        assert_eq!(authorized_scopes(ScopeSet::from(["delete"]), &client, &apis), Err("delete".to_string()));
        assert_eq!(authorized_scopes(ScopeSet::from(["read"]), &client, &[]), Err("read".to_string()));
    }
}
