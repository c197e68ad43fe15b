//! Upstream identity providers: "Continue with Google / Entra ID / GitHub / another
//! OpenID provider". An admin registers them like clients (console, admin API, CLI,
//! bootstrap: all through the functions here); `protocol` talks to them and `accounts`
//! decides which Latchkey user an upstream account is.

pub mod accounts;
mod github;
pub mod journey;
mod oidc;
pub mod protocol;

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use url::Url;

use super::audit::{self, Actor, AdminAction, AuditEvent, AuditKind};
pub use super::model::upstream::{UpstreamKind, UpstreamLink, UpstreamProvider};
use super::{UnixTime, now};
use crate::state::AppState;
use crate::store::db::{self, Db, WriteError};

/// The profile fields an upstream claim can be mapped onto.
pub const PROFILE_FIELDS: [&str; 2] = ["display_name", "email"];

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("an upstream name is 1 to 64 characters: lowercase letters, digits and '-'")]
    InvalidName,
    #[error("{0} {1:?}: {2}")]
    InvalidUrl(&'static str, String, &'static str),
    #[error("a client id is 1 to 255 characters")]
    InvalidClientId,
    #[error("an upstream needs its client secret")]
    MissingSecret,
    #[error("{0:?} is not a valid scope")]
    InvalidScope(String),
    #[error("{0}")]
    InvalidMapping(String),
    #[error("a display name is 1 to 64 characters")]
    InvalidDisplayName,
    #[error("no upstream {0:?}")]
    NotFound(String),
    #[error("upstream {0:?} already exists")]
    AlreadyExists(String),
    #[error("only an admin may do this")]
    Forbidden,
    #[error("this is your only way to sign in: add a password or a passkey before unlinking it")]
    LastSignInMethod,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// An upstream's settings as an admin gives them; empty values take the kind's defaults.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub kind: UpstreamKind,
    /// Empty: the name.
    pub display_name: Option<String>,
    pub icon_url: Option<String>,
    /// OpenID Connect: the issuer. GitHub: empty for github.com, or the Enterprise URL.
    pub issuer: String,
    /// GitHub: empty for the API that goes with `issuer`.
    pub api_url: Option<String>,
    pub client_id: String,
    /// `None` on an update keeps the stored secret.
    pub secret: Option<SecretString>,
    /// Empty: `openid email profile` (OpenID Connect) or `read:user user:email` (GitHub).
    pub scopes: Vec<String>,
    pub enabled: bool,
    pub auto_create: bool,
    pub trust_email: bool,
    pub trust_mfa: bool,
    /// Empty: `preferred_username` (OpenID Connect) or `login` (GitHub).
    pub username_claim: Option<String>,
    /// Empty: `display_name` ← `name`, `email` ← `email`.
    pub profile_claims: BTreeMap<String, String>,
    pub groups_claim: Option<String>,
    pub group_map: BTreeMap<String, String>,
}

impl Default for ProviderSettings {
    fn default() -> Self {
        ProviderSettings {
            kind: UpstreamKind::Oidc,
            display_name: None,
            icon_url: None,
            issuer: String::new(),
            api_url: None,
            client_id: String::new(),
            secret: None,
            scopes: Vec::new(),
            enabled: true,
            auto_create: false,
            trust_email: false,
            trust_mfa: false,
            username_claim: None,
            profile_claims: BTreeMap::new(),
            groups_claim: None,
            group_map: BTreeMap::new(),
        }
    }
}

/// A name: 1–64 of `a-z 0-9 -`, starting with a letter or digit.
pub fn parse_name(raw: &str) -> Result<String, UpstreamError> {
    let valid = (1..=64).contains(&raw.len())
        && !raw.starts_with('-')
        && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid { Ok(raw.to_string()) } else { Err(UpstreamError::InvalidName) }
}

/// An upstream URL: https, or http on a loopback host (development and tests), with no
/// query or fragment. Trailing slashes are kept: an issuer is compared byte for byte.
pub fn parse_upstream_url(what: &'static str, raw: &str) -> Result<String, UpstreamError> {
    let invalid = |why| Err(UpstreamError::InvalidUrl(what, raw.to_string(), why));
    let raw = raw.trim();
    let Ok(url) = Url::parse(raw) else { return invalid("not an absolute URL") };
    if url.query().is_some() || url.fragment().is_some() || url.host().is_none() || raw.len() > 512 {
        return invalid("needs a host, and no query or fragment");
    }
    match url.scheme() {
        "https" => Ok(raw.to_string()),
        "http" if super::clients::is_loopback(&url) => Ok(raw.to_string()),
        _ => invalid("must be https (http only for localhost or 127.0.0.1)"),
    }
}

fn claim_name(raw: &str, what: &str) -> Result<String, UpstreamError> {
    let raw = raw.trim();
    let valid = (1..=64).contains(&raw.len()) && raw.chars().all(|c| c.is_ascii_graphic() && c != '"');
    if valid {
        Ok(raw.to_string())
    } else {
        Err(UpstreamError::InvalidMapping(format!("{what} {raw:?} is not a claim name")))
    }
}

/// Checks settings into the provider they describe; `sealed_secret` is the secret already
/// sealed (an update that keeps it).
async fn checked(
    state: &AppState,
    name: &str,
    settings: ProviderSettings,
    sealed_secret: Option<Vec<u8>>,
    created_at: UnixTime,
) -> Result<UpstreamProvider, UpstreamError> {
    let name = parse_name(name)?;
    let kind = settings.kind;
    let (issuer, api_url) = match kind {
        UpstreamKind::Oidc => {
            if settings.api_url.as_deref().is_some_and(|u| !u.is_empty()) {
                return Err(UpstreamError::InvalidMapping("api_url is for the github kind only".into()));
            }
            (parse_upstream_url("issuer", &settings.issuer)?, None)
        }
        UpstreamKind::Github => {
            let issuer = match settings.issuer.trim() {
                "" => "https://github.com".to_string(),
                raw => parse_upstream_url("issuer", raw)?.trim_end_matches('/').to_string(),
            };
            let api_url = match settings.api_url.as_deref().map(str::trim) {
                Some(raw) if !raw.is_empty() => parse_upstream_url("api_url", raw)?.trim_end_matches('/').to_string(),
                _ if issuer == "https://github.com" => "https://api.github.com".to_string(),
                _ => format!("{issuer}/api/v3"),
            };
            (issuer, Some(api_url))
        }
    };
    let client_id = settings.client_id.trim().to_string();
    if !(1..=255).contains(&client_id.len()) {
        return Err(UpstreamError::InvalidClientId);
    }
    let sealed_secret = match (settings.secret, sealed_secret) {
        (Some(secret), _) if !secret.expose_secret().is_empty() => state
            .keyring
            .seal_secret(&secret_label(&name), secret.expose_secret().as_bytes())
            .map_err(|e| anyhow::anyhow!(e))?,
        (_, Some(sealed)) => sealed,
        _ => return Err(UpstreamError::MissingSecret),
    };
    let mut scopes: Vec<String> = Vec::new();
    for scope in settings.scopes.iter().flat_map(|s| s.split([' ', ','])).filter(|s| !s.is_empty()) {
        if !scope.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\') {
            return Err(UpstreamError::InvalidScope(scope.to_string()));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_string());
        }
    }
    match kind {
        UpstreamKind::Oidc if scopes.is_empty() => scopes = vec!["openid".into(), "email".into(), "profile".into()],
        UpstreamKind::Oidc if !scopes.iter().any(|s| s == "openid") => scopes.insert(0, "openid".into()),
        UpstreamKind::Github if scopes.is_empty() => scopes = vec!["read:user".into(), "user:email".into()],
        _ => {}
    }
    let display_name = settings.display_name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    let display_name = display_name.unwrap_or_else(|| name.clone());
    if display_name.chars().count() > 64 {
        return Err(UpstreamError::InvalidDisplayName);
    }
    let icon_url = match settings.icon_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(raw) => match Url::parse(raw) {
            Ok(url) if url.scheme() == "https" && raw.len() <= 512 => Some(raw.to_string()),
            _ => return Err(UpstreamError::InvalidUrl("icon_url", raw.to_string(), "must be an https URL")),
        },
        None => None,
    };
    let default_username = if kind == UpstreamKind::Github { "login" } else { "preferred_username" };
    let username_claim = match settings.username_claim.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(claim) => claim_name(claim, "username_claim")?,
        None => default_username.to_string(),
    };
    let mut profile_claims = BTreeMap::new();
    if settings.profile_claims.is_empty() {
        profile_claims.insert("display_name".to_string(), "name".to_string());
        profile_claims.insert("email".to_string(), "email".to_string());
    }
    for (field, claim) in settings.profile_claims {
        if !PROFILE_FIELDS.contains(&field.as_str()) {
            let fields = PROFILE_FIELDS.join(", ");
            return Err(UpstreamError::InvalidMapping(format!("{field:?} is not a profile field ({fields})")));
        }
        profile_claims.insert(field, claim_name(&claim, "claim")?);
    }
    let groups_claim = settings.groups_claim.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let groups_claim = groups_claim.map(|c| claim_name(c, "groups_claim")).transpose()?;
    let mut group_map = BTreeMap::new();
    for (upstream_value, group) in settings.group_map {
        let group = super::groups::parse_name(group.trim())
            .map_err(|_| UpstreamError::InvalidMapping(format!("{group:?} is not a group name")))?;
        if group == super::groups::ADMINS {
            let message =
                format!("{} cannot be mapped from an upstream: make admins in Latchkey", super::groups::ADMINS);
            return Err(UpstreamError::InvalidMapping(message));
        }
        if db::groups::find(&state.db, &group).await?.is_none() {
            return Err(UpstreamError::InvalidMapping(format!("no group {group:?}: create it first")));
        }
        if upstream_value.trim().is_empty() || upstream_value.len() > 255 {
            return Err(UpstreamError::InvalidMapping("an upstream group value is 1 to 255 characters".into()));
        }
        group_map.insert(upstream_value.trim().to_string(), group);
    }
    if !group_map.is_empty() && groups_claim.is_none() {
        return Err(UpstreamError::InvalidMapping("a group mapping needs groups_claim".into()));
    }
    Ok(UpstreamProvider {
        name,
        kind,
        display_name,
        icon_url,
        issuer,
        api_url,
        client_id,
        sealed_secret,
        scopes,
        enabled: settings.enabled,
        auto_create: settings.auto_create,
        trust_email: settings.trust_email,
        trust_mfa: settings.trust_mfa,
        username_claim,
        profile_claims,
        groups_claim,
        group_map,
        created_at,
        updated_at: now(),
    })
}

fn secret_label(name: &str) -> String {
    format!("upstream:{name}")
}

/// The upstream's client secret, opened with the master key.
pub fn client_secret(state: &AppState, provider: &UpstreamProvider) -> anyhow::Result<SecretString> {
    let plain = state.keyring.open_secret(&secret_label(&provider.name), &provider.sealed_secret)?;
    Ok(SecretString::from(String::from_utf8(plain)?))
}

/// The redirect URI to register at the upstream: `{issuer}/login/upstream/{name}/callback`.
pub fn redirect_uri(state: &AppState, name: &str) -> String {
    format!("{}/login/upstream/{name}/callback", state.settings.issuer.trim_end_matches('/'))
}

fn require_admin(actor: &Actor) -> Result<(), UpstreamError> {
    if actor.is_admin() { Ok(()) } else { Err(UpstreamError::Forbidden) }
}

async fn record(db: &Db, actor: &Actor, action: AdminAction, name: &str) {
    let event = AuditEvent::new(AuditKind::Admin(action), now()).details(json!({ "upstream": name }));
    audit::record(db, event.by(actor)).await;
}

pub async fn add_upstream(
    state: &AppState,
    actor: &Actor,
    name: &str,
    settings: ProviderSettings,
) -> Result<UpstreamProvider, UpstreamError> {
    require_admin(actor)?;
    let provider = checked(state, name, settings, None, now()).await?;
    db::upstreams::insert(&state.db, &provider).await.map_err(|error| match error {
        WriteError::Duplicate => UpstreamError::AlreadyExists(provider.name.clone()),
        WriteError::Unexpected(error) => UpstreamError::Unexpected(error),
    })?;
    record(&state.db, actor, AdminAction::CreateUpstream, &provider.name).await;
    Ok(provider)
}

/// Replaces an upstream's settings; a `None` secret keeps the stored one. Links stay.
pub async fn update_upstream(
    state: &AppState,
    actor: &Actor,
    name: &str,
    settings: ProviderSettings,
) -> Result<UpstreamProvider, UpstreamError> {
    require_admin(actor)?;
    let existing = find_upstream(&state.db, name).await?;
    let mut settings = settings;
    // The same secret again (bootstrap at every start) is not a change.
    if let Some(secret) = &settings.secret
        && client_secret(state, &existing).is_ok_and(|old| old.expose_secret() == secret.expose_secret())
    {
        settings.secret = None;
    }
    let provider = checked(state, name, settings, Some(existing.sealed_secret.clone()), existing.created_at).await?;
    if provider == (UpstreamProvider { updated_at: provider.updated_at, ..existing.clone() }) {
        return Ok(existing);
    }
    db::upstreams::update(&state.db, &provider).await?;
    state.upstreams.forget(&existing.issuer);
    record(&state.db, actor, AdminAction::UpdateUpstream, name).await;
    Ok(provider)
}

/// Removes an upstream and every link to it: its users keep their other ways in.
pub async fn delete_upstream(state: &AppState, actor: &Actor, name: &str) -> Result<(), UpstreamError> {
    require_admin(actor)?;
    if !db::upstreams::delete(&state.db, name).await? {
        return Err(UpstreamError::NotFound(name.to_string()));
    }
    record(&state.db, actor, AdminAction::DeleteUpstream, name).await;
    Ok(())
}

pub async fn find_upstream(db: &Db, name: &str) -> Result<UpstreamProvider, UpstreamError> {
    db::upstreams::find(db, name).await?.ok_or_else(|| UpstreamError::NotFound(name.to_string()))
}

pub async fn list_upstreams(db: &Db) -> Result<Vec<UpstreamProvider>, UpstreamError> {
    Ok(db::upstreams::list(db).await?)
}

/// A "Continue with …" button.
#[derive(Debug, Clone)]
pub struct Button {
    pub name: String,
    pub display_name: String,
    pub icon_url: Option<String>,
}

/// The login page's buttons: every enabled upstream.
pub async fn buttons(db: &Db) -> anyhow::Result<Vec<Button>> {
    Ok(db::upstreams::list(db)
        .await?
        .into_iter()
        .filter(|p| p.enabled)
        .map(|p| Button { name: p.name, display_name: p.display_name, icon_url: p.icon_url })
        .collect())
}

/// An upstream as the account page shows it: linked (since when) or not.
#[derive(Debug, Clone)]
pub struct AccountUpstream {
    pub name: String,
    pub display_name: String,
    pub link: Option<UpstreamLink>,
}

/// The user's linked upstream accounts, and the enabled upstreams they could link.
pub async fn upstreams_of(db: &Db, user_id: &str) -> anyhow::Result<Vec<AccountUpstream>> {
    let links = db::upstreams::links_of(db, user_id).await?;
    Ok(db::upstreams::list(db)
        .await?
        .into_iter()
        .filter_map(|p| {
            let link = links.iter().find(|l| l.upstream == p.name).cloned();
            let shown = p.enabled || link.is_some();
            shown.then_some(AccountUpstream { name: p.name, display_name: p.display_name, link })
        })
        .collect())
}

/// The user removes the link to `upstream`. Refused when it is their only way to sign in
/// (no password, no passkey, no other link).
pub async fn unlink(
    state: &AppState,
    user_id: &str,
    upstream: &str,
    source_ip: Option<String>,
) -> Result<(), UpstreamError> {
    let links = db::upstreams::links_of(&state.db, user_id).await?;
    if !links.iter().any(|l| l.upstream == upstream) {
        return Err(UpstreamError::NotFound(upstream.to_string()));
    }
    let has_password = super::credentials::has_password(state, user_id).await?;
    let has_passkey = !db::passkeys::list_for_user(&state.db, user_id).await?.is_empty();
    if !has_password && !has_passkey && links.len() == 1 {
        return Err(UpstreamError::LastSignInMethod);
    }
    db::upstreams::delete_link(&state.db, user_id, upstream).await?;
    let event = AuditEvent::new(AuditKind::UpstreamUnlinked, now())
        .subject(user_id)
        .source_ip(source_ip)
        .details(json!({ "upstream": upstream }));
    audit::record(&state.db, event).await;
    Ok(())
}

/// An upstream as the CLI's and the admin API's JSON show it: never its secret.
pub fn describe(provider: &UpstreamProvider) -> serde_json::Value {
    json!({
        "name": provider.name,
        "kind": provider.kind.as_str(),
        "display_name": provider.display_name,
        "icon_url": provider.icon_url,
        "issuer": provider.issuer,
        "api_url": provider.api_url,
        "client_id": provider.client_id,
        "scopes": provider.scopes,
        "enabled": provider.enabled,
        "auto_create": provider.auto_create,
        "trust_email": provider.trust_email,
        "trust_mfa": provider.trust_mfa,
        "username_claim": provider.username_claim,
        "profile_claims": provider.profile_claims,
        "groups_claim": provider.groups_claim,
        "group_map": provider.group_map,
    })
}
