//! Which Latchkey user an upstream account is, without account takeover:
//!
//! - a link, keyed by (upstream, upstream `sub`), never by email, says so;
//! - with no link, an existing account is linked automatically only when the upstream says
//!   the address is verified, an admin marked the upstream `trust_email`, and the account's
//!   own address is verified; otherwise its owner must sign in and link it themselves;
//! - with no account at all, one is created only when the upstream has `auto_create`.
//!
//! At every sign-in the upstream's claims are mapped onto the profile and its groups onto
//! Latchkey groups.

use serde_json::{Value, json};

use super::protocol::UpstreamIdentity;
use super::{UpstreamLink, UpstreamProvider};
use crate::domain::audit::{self, AuditEvent, AuditKind};
use crate::domain::model::UserChange;
use crate::domain::users::{self, User};
use crate::domain::{UnixTime, access_cache, now};
use crate::state::AppState;
use crate::store::db::{self, WriteError};

/// Why an upstream account cannot be used to sign in.
#[derive(Debug, thiserror::Error)]
pub enum AccountRefusal {
    /// No linked account, and the upstream may not create one.
    #[error("no account is linked to this upstream account")]
    NoAccount,
    /// An account with the same address exists, but the rules do not allow linking it
    /// automatically: its owner signs in and links the upstream from their account page.
    #[error("an account with this address exists: sign in to it and link the upstream there")]
    LinkRequired,
    /// The upstream account is linked to another user (explicit linking).
    #[error("this upstream account is linked to another user")]
    LinkedElsewhere,
    /// The linked user is disabled.
    #[error("the account is disabled")]
    Disabled,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The upstream account's Latchkey user, and the `amr` of this sign-in.
#[derive(Debug)]
pub struct Resolved {
    pub user: User,
    pub amr: Vec<&'static str>,
}

/// The `amr` of a sign-in through `provider`: `fed`, with `mfa` only when the upstream
/// asserted it and the admin trusts the upstream's word on it.
pub fn amr_of(provider: &UpstreamProvider, identity: &UpstreamIdentity) -> Vec<&'static str> {
    if provider.trust_mfa && identity.multi_factor { vec!["fed", "mfa"] } else { vec!["fed"] }
}

async fn record_link(state: &AppState, link: &UpstreamLink, how: &str, source_ip: Option<String>) {
    let event = AuditEvent::new(AuditKind::UpstreamLinked, link.created_at)
        .subject(&link.user_id)
        .source_ip(source_ip)
        .details(json!({ "upstream": link.upstream, "how": how }));
    audit::record(&state.db, event).await;
}

/// Stores a link; `false` when the upstream account is linked already (to anyone).
async fn insert_link(state: &AppState, link: &UpstreamLink) -> anyhow::Result<bool> {
    match db::upstreams::insert_link(&state.db, link).await {
        Ok(()) => Ok(true),
        Err(WriteError::Duplicate) => Ok(false),
        Err(WriteError::Unexpected(error)) => Err(error),
    }
}

/// A signed-in user links an upstream account to themselves (from their account page).
pub async fn link_explicitly(
    state: &AppState,
    provider: &UpstreamProvider,
    identity: &UpstreamIdentity,
    user_id: &str,
    source_ip: Option<String>,
) -> Result<(), AccountRefusal> {
    match db::upstreams::find_link(&state.db, &provider.name, &identity.subject).await? {
        Some(link) if link.user_id == user_id => Ok(()),
        Some(_) => Err(AccountRefusal::LinkedElsewhere),
        None => {
            let link = new_link(provider, identity, user_id, now());
            if !insert_link(state, &link).await? {
                return Err(AccountRefusal::LinkedElsewhere);
            }
            record_link(state, &link, "explicit", source_ip).await;
            Ok(())
        }
    }
}

fn new_link(provider: &UpstreamProvider, identity: &UpstreamIdentity, user_id: &str, at: UnixTime) -> UpstreamLink {
    UpstreamLink {
        upstream: provider.name.clone(),
        subject: identity.subject.clone(),
        user_id: user_id.to_string(),
        created_at: at,
        last_used_at: Some(at),
    }
}

/// The user this upstream account signs in as: linked, linked now by a verified address,
/// or created now. Then its profile and groups are brought in line with the upstream.
pub async fn resolve(
    state: &AppState,
    provider: &UpstreamProvider,
    identity: &UpstreamIdentity,
    source_ip: Option<String>,
) -> Result<Resolved, AccountRefusal> {
    let at = now();
    if identity.subject.is_empty() || identity.subject.len() > 255 {
        return Err(AccountRefusal::NoAccount);
    }
    let user = match db::upstreams::find_link(&state.db, &provider.name, &identity.subject).await? {
        Some(link) => {
            db::upstreams::touch_link(&state.db, &link.upstream, &link.subject, at).await?;
            users::find_enabled(&state.db, &link.user_id).await?.ok_or(AccountRefusal::Disabled)?
        }
        None => link_or_create(state, provider, identity, source_ip, at).await?,
    };
    let user = apply_profile(state, provider, identity, user).await?;
    apply_groups(state, provider, identity, &user.id).await?;
    Ok(Resolved { user, amr: amr_of(provider, identity) })
}

async fn link_or_create(
    state: &AppState,
    provider: &UpstreamProvider,
    identity: &UpstreamIdentity,
    source_ip: Option<String>,
    at: UnixTime,
) -> Result<User, AccountRefusal> {
    let same_address = match &identity.email {
        Some(email) => db::users::find_by_email_key(&state.db, &db::users::email_key(email)).await?,
        None => Vec::new(),
    };
    if let Some(existing) = same_address.first() {
        let vouched = identity.email_verified && provider.trust_email && existing.email_verified;
        if !vouched || same_address.len() > 1 {
            return Err(AccountRefusal::LinkRequired);
        }
        if existing.disabled {
            return Err(AccountRefusal::Disabled);
        }
        let link = new_link(provider, identity, &existing.id, at);
        if !insert_link(state, &link).await? {
            return Err(AccountRefusal::LinkedElsewhere);
        }
        record_link(state, &link, "verified_email", source_ip).await;
        return Ok(existing.clone());
    }
    if !provider.auto_create {
        return Err(AccountRefusal::NoAccount);
    }
    let wanted = claim_str(identity, &provider.username_claim)
        .or_else(|| identity.email.clone())
        .unwrap_or_else(|| format!("{}-{}", provider.name, identity.subject));
    let display_name = provider.profile_claims.get("display_name").and_then(|claim| claim_str(identity, claim));
    let email_verified = identity.email_verified && provider.trust_email;
    let user = users::add_from_upstream(state, &wanted, identity.email.as_deref(), email_verified, display_name)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let link = new_link(provider, identity, &user.id, at);
    if !insert_link(state, &link).await? {
        // Another sign-in of the same upstream account won the race: use its user.
        db::users::delete_with_dependents(&state.db, &user.id).await?;
        let link = db::upstreams::find_link(&state.db, &provider.name, &identity.subject).await?;
        let user_id = link.map(|l| l.user_id).unwrap_or_default();
        return users::find_enabled(&state.db, &user_id).await?.ok_or(AccountRefusal::Disabled);
    }
    record_link(state, &link, "created", source_ip).await;
    Ok(user)
}

fn claim_str(identity: &UpstreamIdentity, claim: &str) -> Option<String> {
    match identity.claims.get(claim)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The mapped profile fields: the display name always; the address only when the upstream
/// vouches for it (verified, `trust_email`) and no other account holds it.
async fn apply_profile(
    state: &AppState,
    provider: &UpstreamProvider,
    identity: &UpstreamIdentity,
    user: User,
) -> anyhow::Result<User> {
    let mut change = UserChange::default();
    let name = provider.profile_claims.get("display_name").and_then(|claim| claim_str(identity, claim));
    if let Some(name) = name.map(|n| n.chars().take(255).collect::<String>())
        && user.display_name.as_deref() != Some(name.as_str())
    {
        change.display_name = Some(Some(name));
    }
    let vouched_email = identity.email.as_deref().filter(|_| identity.email_verified && provider.trust_email);
    let mut verify = None;
    if let Some(email) = vouched_email
        && provider.profile_claims.contains_key("email")
        && user.email.as_deref().map(str::to_lowercase) != Some(email.to_lowercase())
        && db::users::find_by_email_key(&state.db, &db::users::email_key(email)).await?.is_empty()
        && users::Email::parse(email).is_ok()
    {
        change.email = Some(Some(email.to_string()));
        verify = Some(email.to_string());
    }
    if change.display_name.is_none() && change.email.is_none() {
        return Ok(user);
    }
    let mut updated = db::users::update(&state.db, &user.id, &change, now()).await?.unwrap_or(user);
    if let Some(email) = verify {
        db::users::set_email_verified(&state.db, &updated.id, &email, true).await?;
        updated.email_verified = true;
    }
    access_cache::user_changed(state, &updated.id).await?;
    Ok(updated)
}

/// The upstream's groups (`groups_claim`: a list of strings or one string) mapped onto
/// Latchkey groups: a mapped group the user is in upstream is joined, one they are not in
/// is left. Groups no mapping names are never touched.
async fn apply_groups(
    state: &AppState,
    provider: &UpstreamProvider,
    identity: &UpstreamIdentity,
    user_id: &str,
) -> anyhow::Result<()> {
    let Some(claim) = &provider.groups_claim else { return Ok(()) };
    if provider.group_map.is_empty() {
        return Ok(());
    }
    let upstream_groups: Vec<&str> = match identity.claims.get(claim) {
        Some(Value::Array(values)) => values.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(value)) => value.split([' ', ',']).filter(|v| !v.is_empty()).collect(),
        _ => Vec::new(),
    };
    let at = now();
    let (mut joined, mut left) = (Vec::new(), Vec::new());
    for (upstream_value, group) in &provider.group_map {
        let member = upstream_groups.contains(&upstream_value.as_str());
        let changed = if member {
            db::groups::find(&state.db, group).await?.is_some()
                && db::groups::add_user(&state.db, group, user_id, at).await?
        } else {
            db::groups::remove_user(&state.db, group, user_id).await?
        };
        if changed {
            if member { joined.push(group.clone()) } else { left.push(group.clone()) }
        }
    }
    if !joined.is_empty() || !left.is_empty() {
        access_cache::user_changed(state, user_id).await?;
        let event = AuditEvent::new(AuditKind::UpstreamGroupsSynced, at)
            .subject(user_id)
            .details(json!({ "upstream": provider.name, "joined": joined, "left": left }));
        audit::record(&state.db, event).await;
    }
    Ok(())
}
