//! Declarative bootstrap for GitOps: an optional TOML file (`bootstrap.file`) declares an
//! initial admin, groups, APIs and clients, applied at every start. Idempotent: a missing admin is
//! created (an existing one is left alone), a missing client is registered and an existing
//! one is brought in line with the file, secret included. Secrets come from environment
//! variables or files, never from the bootstrap file itself.

use std::path::Path;

use anyhow::Context;
use secrecy::SecretString;
use serde::Deserialize;

use super::audit::Actor;
use super::clients::{self, ClaimMapping, ClientError, ClientPolicy, ClientSettings, NewClient};
use super::groups::{self, GroupError, Member};
use super::resources::{self, ApiError, ApiSettings};
use super::upstream::{self, ProviderSettings, UpstreamError, UpstreamKind};
use super::users::{self, NewUser, UserError};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BootstrapFile {
    admin: Option<AdminEntry>,
    #[serde(default)]
    groups: Vec<GroupEntry>,
    #[serde(default)]
    apis: Vec<ApiEntry>,
    #[serde(default)]
    clients: Vec<ClientEntry>,
    #[serde(default)]
    upstreams: Vec<UpstreamEntry>,
}

/// An upstream identity provider; an existing one is brought in line with the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpstreamEntry {
    name: String,
    #[serde(default = "default_kind")]
    kind: String,
    #[serde(default)]
    issuer: String,
    api_url: Option<String>,
    client_id: String,
    secret: SecretSource,
    #[serde(default)]
    scopes: Vec<String>,
    display_name: Option<String>,
    icon_url: Option<String>,
    #[serde(default = "default_true")]
    enabled: bool,
    #[serde(default)]
    auto_create: bool,
    #[serde(default)]
    trust_email: bool,
    #[serde(default)]
    trust_mfa: bool,
    username_claim: Option<String>,
    #[serde(default)]
    profile_claims: std::collections::BTreeMap<String, String>,
    groups_claim: Option<String>,
    #[serde(default)]
    group_map: std::collections::BTreeMap<String, String>,
}

fn default_kind() -> String {
    "oidc".into()
}

fn default_true() -> bool {
    true
}

/// An API resource (RFC 8707); an existing one is brought in line with the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiEntry {
    identifier: String,
    name: Option<String>,
    scopes: Vec<String>,
    access_token_ttl_secs: Option<u64>,
    #[serde(default)]
    require_dpop: bool,
}

/// A group, its description, and members the file adds (members added by admins are kept).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupEntry {
    name: String,
    #[serde(default)]
    description: String,
    /// Usernames.
    #[serde(default)]
    members: Vec<String>,
    /// Names of groups whose members belong to this one too.
    #[serde(default)]
    groups: Vec<String>,
}

/// Where a secret comes from: exactly one of an environment variable or a file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretSource {
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    file: Option<String>,
}

impl SecretSource {
    fn read(&self, what: &str) -> anyhow::Result<SecretString> {
        let value = match (&self.env, &self.file) {
            (Some(name), None) => {
                std::env::var(name).with_context(|| format!("{what}: environment variable {name} is not set"))?
            }
            (None, Some(path)) => {
                std::fs::read_to_string(path).with_context(|| format!("{what}: cannot read {path}"))?
            }
            _ => anyhow::bail!("{what}: give exactly one of env or file"),
        };
        Ok(SecretString::from(value.trim_end_matches(['\n', '\r']).to_string()))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminEntry {
    username: String,
    email: Option<String>,
    name: Option<String>,
    password: SecretSource,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientEntry {
    client_id: String,
    name: Option<String>,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    first_party: bool,
    #[serde(default)]
    require_pkce: bool,
    /// RFC 9126: only pushed authorization requests.
    #[serde(default)]
    require_pushed_authorization_requests: bool,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    backchannel_logout_uri: Option<String>,
    #[serde(default = "clients::default_scope")]
    scope: String,
    #[serde(default = "clients::default_grants")]
    grants: Vec<String>,
    /// Required for confidential clients, unless they authenticate with keys.
    secret: Option<SecretSource>,
    /// `private_key_jwt` (RFC 7523): where the client publishes its keys.
    jwks_uri: Option<String>,
    /// An https URL of the client's logo, shown on its consent page.
    logo_uri: Option<String>,
    /// With any of the next four, the file sets the client's whole policy; without, the
    /// policy is left as admins set it.
    allowed_groups: Option<Vec<String>>,
    released_groups: Option<Vec<String>>,
    claim_mappings: Option<Vec<ClaimMapping>>,
    require_mfa: Option<bool>,
    upstream_only: Option<bool>,
}

/// Applies the bootstrap file at `path`.
pub async fn apply(state: &AppState, path: &Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the bootstrap file {}", path.display()))?;
    let file: BootstrapFile = toml_from_str(&text).with_context(|| format!("bootstrap file {}", path.display()))?;
    if let Some(admin) = file.admin {
        let password = admin.password.read("admin password")?;
        let new = NewUser {
            username: admin.username.clone(),
            email: admin.email,
            display_name: admin.name,
            admin: true,
            password,
        };
        match users::add_user(state, &Actor::Bootstrap, new).await {
            Ok(user) => tracing::info!(username = %user.username, "bootstrap: created the admin"),
            Err(UserError::UsernameTaken(_)) => {}
            Err(error) => return Err(anyhow::anyhow!("bootstrap admin {}: {error}", admin.username)),
        }
    }
    apply_groups(state, &file.groups).await?;
    for entry in file.apis {
        apply_api(state, entry).await?;
    }
    for entry in file.clients {
        apply_client(state, entry).await?;
    }
    for entry in file.upstreams {
        apply_upstream(state, entry).await?;
    }
    Ok(())
}

async fn apply_upstream(state: &AppState, entry: UpstreamEntry) -> anyhow::Result<()> {
    let name = entry.name.clone();
    let fail = |e: &dyn std::fmt::Display| anyhow::anyhow!("bootstrap upstream {name}: {e}");
    let kind = UpstreamKind::parse(&entry.kind).ok_or_else(|| fail(&"kind is oidc or github"))?;
    let settings = ProviderSettings {
        kind,
        display_name: entry.display_name,
        icon_url: entry.icon_url,
        issuer: entry.issuer,
        api_url: entry.api_url,
        client_id: entry.client_id,
        secret: Some(entry.secret.read(&format!("upstream {name} secret"))?),
        scopes: entry.scopes,
        enabled: entry.enabled,
        auto_create: entry.auto_create,
        trust_email: entry.trust_email,
        trust_mfa: entry.trust_mfa,
        username_claim: entry.username_claim,
        profile_claims: entry.profile_claims,
        groups_claim: entry.groups_claim,
        group_map: entry.group_map,
    };
    let result = match upstream::find_upstream(&state.db, &name).await {
        Ok(_) => upstream::update_upstream(state, &Actor::Bootstrap, &name, settings).await,
        Err(UpstreamError::NotFound(_)) => upstream::add_upstream(state, &Actor::Bootstrap, &name, settings).await,
        Err(error) => Err(error),
    };
    result.map(|_| ()).map_err(|e| fail(&e))
}

/// Creates missing groups (and brings descriptions in line), then adds the members the file
/// names; every group exists before any nesting is made.
async fn apply_groups(state: &AppState, entries: &[GroupEntry]) -> anyhow::Result<()> {
    let actor = Actor::Bootstrap;
    for entry in entries {
        let name = &entry.name;
        match groups::group_detail(&state.db, name).await {
            Ok(existing) if existing.group.description == entry.description => {}
            Ok(_) => groups::set_description(state, &actor, name, &entry.description).await?,
            Err(GroupError::NotFound(_)) => {
                groups::add_group(state, &actor, name, &entry.description)
                    .await
                    .map_err(|e| anyhow::anyhow!("bootstrap group {name}: {e}"))?;
            }
            Err(error) => return Err(anyhow::anyhow!("bootstrap group {name}: {error}")),
        }
    }
    for entry in entries {
        let name = &entry.name;
        for username in &entry.members {
            let user = users::find_by_username(&state.db, username)
                .await
                .map_err(|e| anyhow::anyhow!("bootstrap group {name}: {e}"))?;
            groups::add_member(state, &actor, name, Member::User(&user.id)).await?;
        }
        for child in &entry.groups {
            groups::add_member(state, &actor, name, Member::Group(child))
                .await
                .map_err(|e| anyhow::anyhow!("bootstrap group {name}: {e}"))?;
        }
    }
    Ok(())
}

async fn apply_api(state: &AppState, entry: ApiEntry) -> anyhow::Result<()> {
    let identifier = entry.identifier;
    let settings = ApiSettings {
        name: entry.name,
        scopes: entry.scopes,
        access_token_ttl_secs: entry.access_token_ttl_secs,
        require_dpop: entry.require_dpop,
    };
    let result = match resources::find_api(&state.db, &identifier).await {
        Ok(_) => resources::update_api(state, &Actor::Bootstrap, &identifier, settings).await,
        Err(ApiError::NotFound(_)) => resources::add_api(state, &Actor::Bootstrap, &identifier, settings).await,
        Err(error) => Err(error),
    };
    result.map(|_| ()).map_err(|e| anyhow::anyhow!("bootstrap API {identifier}: {e}"))
}

async fn apply_client(state: &AppState, entry: ClientEntry) -> anyhow::Result<()> {
    let id = entry.client_id.clone();
    let sets_policy = entry.allowed_groups.is_some()
        || entry.released_groups.is_some()
        || entry.claim_mappings.is_some()
        || entry.require_mfa.is_some()
        || entry.upstream_only.is_some();
    let policy = sets_policy.then(|| ClientPolicy {
        allowed_groups: entry.allowed_groups.clone(),
        released_groups: entry.released_groups.clone(),
        claim_mappings: entry.claim_mappings.clone().unwrap_or_default(),
        require_mfa: entry.require_mfa.unwrap_or(false),
        upstream_only: entry.upstream_only.unwrap_or(false),
    });
    let secret = match (&entry.secret, entry.public) {
        (Some(source), false) => Some(source.read(&format!("client {id} secret"))?),
        (None, false) if entry.jwks_uri.is_some() => None,
        (None, false) => anyhow::bail!("bootstrap client {id}: a confidential client needs secret.env or secret.file"),
        (Some(_), true) => anyhow::bail!("bootstrap client {id}: a public client has no secret"),
        (None, true) => None,
    };
    let existing = match clients::find_client(&state.db, &id).await {
        Ok(client) => Some(client),
        Err(ClientError::NotFound(_)) => None,
        Err(error) => return Err(anyhow::anyhow!("bootstrap client {id}: {error}")),
    };
    if existing.is_none() {
        let new = NewClient {
            id: id.clone(),
            name: entry.name,
            public: entry.public,
            first_party: entry.first_party,
            require_pkce: entry.require_pkce,
            require_par: entry.require_pushed_authorization_requests,
            redirect_uris: entry.redirect_uris,
            post_logout_redirect_uris: entry.post_logout_redirect_uris,
            backchannel_logout_uri: entry.backchannel_logout_uri,
            scopes: entry.scope,
            grants: entry.grants,
            secret,
            keys: entry.jwks_uri.clone().map(clients::ClientKeys::JwksUri),
            logo_uri: entry.logo_uri.clone(),
        };
        clients::add_client(state, &Actor::Bootstrap, new)
            .await
            .map_err(|e| anyhow::anyhow!("bootstrap client {id}: {e}"))?;
        tracing::info!(client_id = %id, "bootstrap: registered the client");
        return apply_policy(state, &id, policy).await;
    }
    let settings = ClientSettings {
        name: entry.name.unwrap_or_else(|| id.clone()),
        first_party: entry.first_party,
        require_pkce: entry.require_pkce,
        require_par: entry.require_pushed_authorization_requests,
        redirect_uris: entry.redirect_uris,
        post_logout_redirect_uris: entry.post_logout_redirect_uris,
        backchannel_logout_uri: entry.backchannel_logout_uri,
        scopes: entry.scope,
        grants: entry.grants,
        enabled: true,
        logo_uri: entry.logo_uri,
    };
    clients::update_client(state, &Actor::Bootstrap, &id, settings)
        .await
        .map_err(|e: ClientError| anyhow::anyhow!("bootstrap client {id}: {e}"))?;
    if let Some(secret) = secret {
        clients::set_secret(state, &Actor::Bootstrap, &id, &secret)
            .await
            .map_err(|e| anyhow::anyhow!("bootstrap client {id}: {e}"))?;
    }
    apply_policy(state, &id, policy).await
}

async fn apply_policy(state: &AppState, id: &str, policy: Option<ClientPolicy>) -> anyhow::Result<()> {
    if let Some(policy) = policy {
        clients::set_policy(state, &Actor::Bootstrap, id, policy)
            .await
            .map_err(|e| anyhow::anyhow!("bootstrap client {id}: {e}"))?;
    }
    Ok(())
}

fn toml_from_str(text: &str) -> anyhow::Result<BootstrapFile> {
    use figment::Figment;
    use figment::providers::{Format, Toml};
    Figment::from(Toml::string(text))
        .extract()
        .map_err(|e| anyhow::anyhow!("{}", e.to_string().lines().next().unwrap_or_default()))
}
