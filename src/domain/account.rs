//! What a signed-in user may do to their own account on `/account`: their profile, the
//! browser sessions they are signed in with, and the apps they have let in. Each rule is
//! here once; the pages only call it.

use std::collections::BTreeMap;

use super::audit::{self, Actor, AuditEvent, AuditKind};
use super::grants::{self, GrantError};
use super::model::{ScopeSet, User};
use super::sessions::{self, BrowserSession};
use super::users::{UserChange, UserError};
use super::{UnixTime, access_cache, clients};
use crate::state::AppState;
use crate::store::db::{self, refresh_tokens::FamiliesOf};

/// One of the user's live browser sessions, as they see it.
#[derive(Debug, Clone)]
pub struct DeviceSession {
    /// Names the session in forms without revealing its id (a bearer secret).
    pub handle: String,
    /// "Firefox on Linux", from the `User-Agent` the browser signed in with.
    pub device: String,
    pub source_ip: Option<String>,
    pub signed_in_at: UnixTime,
    /// The browser looking at the list.
    pub current: bool,
}

/// "Browser on OS" for a `User-Agent`, or "Unknown browser".
pub fn describe_user_agent(user_agent: Option<&str>) -> String {
    let parser = woothee::parser::Parser::new();
    let Some(parsed) = user_agent.and_then(|agent| parser.parse(agent)) else {
        return "Unknown browser".into();
    };
    let browser = if parsed.name == "UNKNOWN" { "Unknown browser" } else { parsed.name };
    match parsed.os {
        "UNKNOWN" | "" => browser.to_string(),
        os => format!("{browser} on {os}"),
    }
}

/// The user's live sessions, the current one first, then newest first.
pub async fn sessions_of(
    state: &AppState,
    user: &User,
    current: &BrowserSession,
) -> anyhow::Result<Vec<DeviceSession>> {
    let live = sessions::list_for_user(&state.ephemeral, &user.id, super::now()).await?;
    let mut list: Vec<DeviceSession> = live
        .into_iter()
        .map(|(summary, session)| DeviceSession {
            handle: summary.handle,
            device: describe_user_agent(session.device.user_agent.as_deref()),
            source_ip: session.device.source_ip.clone(),
            signed_in_at: session.auth_time,
            current: session.id == current.id,
        })
        .collect();
    list.sort_by_key(|session| (!session.current, -session.signed_in_at));
    Ok(list)
}

/// Signs out the user's session `handle` (with the grants issued in it, whose clients get
/// back-channel logout). `false` when they have no such live session.
pub async fn end_session(state: &AppState, actor: &Actor, handle: &str) -> Result<bool, GrantError> {
    let Some(user_id) = actor.user_id() else { return Ok(false) };
    let now = super::now();
    let live = sessions::list_for_user(&state.ephemeral, user_id, now).await.map_err(anyhow::Error::from)?;
    let Some((_, session)) = live.into_iter().find(|(summary, _)| summary.handle == handle) else {
        return Ok(false);
    };
    grants::sign_out(state, &session.id, now).await?;
    let event = AuditEvent::new(AuditKind::SessionEnded, now).subject(user_id).by(actor);
    audit::record(&state.db, event.details(serde_json::json!({ "sessions": 1 }))).await;
    Ok(true)
}

/// Signs out every session of the user but `keep` (the one asking).
pub async fn end_other_sessions(state: &AppState, actor: &Actor, keep: &BrowserSession) -> Result<usize, GrantError> {
    let now = super::now();
    let live = sessions::list_for_user(&state.ephemeral, &keep.user_id, now).await.map_err(anyhow::Error::from)?;
    let mut ended = 0;
    for (_, session) in live.into_iter().filter(|(_, session)| session.id != keep.id) {
        grants::sign_out(state, &session.id, now).await?;
        ended += 1;
    }
    let event = AuditEvent::new(AuditKind::SessionEnded, now).subject(&keep.user_id).by(actor);
    audit::record(&state.db, event.details(serde_json::json!({ "sessions": ended }))).await;
    Ok(ended)
}

/// A client the user consented to or holds a live grant with.
#[derive(Debug, Clone)]
pub struct ConnectedApp {
    pub client_id: String,
    pub client_name: String,
    /// What the user allowed it, and what its live grants hold.
    pub scopes: ScopeSet,
    /// The latest consent, grant or refresh.
    pub last_used: UnixTime,
}

/// The apps the user has let in, most recently used first. Client-credentials grants
/// (no user) never appear.
pub async fn connected_apps(state: &AppState, user_id: &str) -> anyhow::Result<Vec<ConnectedApp>> {
    let now = super::now();
    let mut apps: BTreeMap<String, (ScopeSet, UnixTime)> = BTreeMap::new();
    for (client_id, scopes, granted_at) in db::consents::list_for_user(&state.db, user_id).await? {
        apps.insert(client_id, (scopes, granted_at));
    }
    let live = grants::live_grants_of_user(state, user_id, now).await?;
    let ids: Vec<String> = live.iter().map(|family| family.id.clone()).collect();
    let refreshed = db::refresh_tokens::last_refreshed(&state.db, &ids).await?;
    for family in live {
        let used = refreshed.get(&family.id).copied().unwrap_or(family.created_at).max(family.created_at);
        let entry = apps.entry(family.client_id.clone()).or_insert_with(|| (ScopeSet::default(), 0));
        entry.0 = entry.0.union(&family.scope);
        entry.1 = entry.1.max(used);
    }
    let mut list = Vec::with_capacity(apps.len());
    for (client_id, (scopes, last_used)) in apps {
        let client_name = match clients::find_enabled(&state.db, &client_id).await? {
            Some(client) => client.name,
            None => client_id.clone(),
        };
        list.push(ConnectedApp { client_id, client_name, scopes, last_used });
    }
    list.sort_by_key(|app| -app.last_used);
    Ok(list)
}

/// Takes back everything the user gave `client_id`: the consent (the next sign-in asks
/// again) and every grant, whose tokens stop working; the client gets back-channel logout.
/// `false` when the app had nothing of theirs.
pub async fn remove_app_access(state: &AppState, actor: &Actor, client_id: &str) -> Result<bool, GrantError> {
    let Some(user_id) = actor.user_id() else { return Ok(false) };
    let now = super::now();
    let consented = db::consents::find(&state.db, user_id, client_id).await?.is_some();
    let ended = grants::end_all(state, FamiliesOf::UserAndClient(user_id, client_id), now).await?;
    if !consented && ended.is_empty() {
        return Ok(false);
    }
    db::consents::delete(&state.db, user_id, client_id).await?;
    let event = AuditEvent::new(AuditKind::AppAccessRemoved, now).subject(user_id).client(client_id).by(actor);
    audit::record(&state.db, event.details(serde_json::json!({ "grants": ended.len() }))).await;
    Ok(true)
}

/// The user changes their own display name (empty: none).
pub async fn update_profile(state: &AppState, actor: &Actor, display_name: &str) -> Result<User, UserError> {
    let Some(user_id) = actor.user_id() else { return Err(UserError::Forbidden) };
    let display_name = super::users::parse_display_name(Some(display_name.to_string()))?;
    let change = UserChange { display_name: Some(display_name), ..Default::default() };
    let now = super::now();
    let user = db::users::update(&state.db, user_id, &change, now)
        .await?
        .ok_or_else(|| UserError::NotFound(user_id.into()))?;
    access_cache::user_changed(state, user_id).await.map_err(anyhow::Error::from)?;
    audit::record(&state.db, AuditEvent::new(AuditKind::ProfileUpdated, now).subject(user_id).by(actor)).await;
    Ok(user)
}
