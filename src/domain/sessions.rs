//! Browser sessions: who is signed in in this browser, since when and how. Kept in the
//! ephemeral store under an opaque id (the cookie value); a new id at every sign-in, so a
//! session id planted before login is worthless after it (session fixation).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::model::User;
use super::{UnixTime, random_token, users};
use crate::state::AppState;
use crate::store::ephemeral::{EphemeralError, EphemeralStore};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BrowserSession {
    pub id: String,
    pub user_id: String,
    /// When the user last authenticated (the ID token's `auth_time`).
    pub auth_time: UnixTime,
    /// How (RFC 8176): `["pwd"]` for a password.
    pub amr: Vec<String>,
    pub expires_at: UnixTime,
    /// The browser and address that signed in, for the user's list of their sessions.
    #[serde(default)]
    pub device: Device,
}

/// Where a session was started: the browser's `User-Agent` (cut to 256 characters) and the
/// source address. Shown to the user; never used to decide anything.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Device {
    pub user_agent: Option<String>,
    pub source_ip: Option<String>,
}

impl Device {
    pub fn new(user_agent: Option<&str>, source_ip: Option<String>) -> Device {
        let user_agent = user_agent.map(|agent| agent.chars().take(256).collect());
        Device { user_agent, source_ip }
    }
}

fn key(id: &str) -> String {
    format!("session:{id}")
}

/// Starts a session for `user_id` from `device`, replacing `previous` (if any) with a fresh id.
pub async fn start(
    store: &EphemeralStore,
    previous: Option<&str>,
    user_id: &str,
    amr: Vec<String>,
    device: Device,
    ttl_secs: u64,
    now: UnixTime,
) -> Result<BrowserSession, EphemeralError> {
    if let Some(previous) = previous {
        store.delete(&key(previous)).await?;
    }
    let session = BrowserSession {
        id: random_token(32),
        user_id: user_id.to_string(),
        auth_time: now,
        amr,
        expires_at: now + ttl_secs as i64,
        device,
    };
    store.put_json(&key(&session.id), &session, Duration::from_secs(ttl_secs)).await?;
    // The user's index of session ids, so an admin can list and end them, pruned of ended
    // and expired sessions so it holds only live ones. A read-modify-write: two sign-ins of
    // one user at the same instant may drop one id from the index (the session itself
    // still works, and ends with its TTL or when the user is disabled).
    let known: Vec<String> = store.get_json(&index_key(user_id)).await?.unwrap_or_default();
    let mut ids = Vec::with_capacity(known.len() + 1);
    for id in known {
        if find(store, &id, now).await?.is_some() {
            ids.push(id);
        }
    }
    ids.push(session.id.clone());
    store.put_json(&index_key(user_id), &ids, Duration::from_secs(ttl_secs)).await?;
    Ok(session)
}

fn index_key(user_id: &str) -> String {
    format!("user-sessions:{user_id}")
}

/// A session as an admin sees it: an opaque handle instead of the id, which is a secret
/// (whoever holds it is signed in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    pub handle: String,
    pub auth_time: UnixTime,
    pub amr: Vec<String>,
    pub expires_at: UnixTime,
}

fn handle(id: &str) -> String {
    super::sha256_b64(id.as_bytes())[..22].to_string()
}

/// The live sessions of `user_id`.
pub async fn list_for_user(
    store: &EphemeralStore,
    user_id: &str,
    now: UnixTime,
) -> Result<Vec<(SessionSummary, BrowserSession)>, EphemeralError> {
    let ids: Vec<String> = store.get_json(&index_key(user_id)).await?.unwrap_or_default();
    let mut live = Vec::new();
    for id in ids {
        if let Some(session) = find(store, &id, now).await?.filter(|s| s.user_id == user_id) {
            let summary = SessionSummary {
                handle: handle(&session.id),
                auth_time: session.auth_time,
                amr: session.amr.clone(),
                expires_at: session.expires_at,
            };
            live.push((summary, session));
        }
    }
    Ok(live)
}

/// The live session with this id, if any.
pub async fn find(store: &EphemeralStore, id: &str, now: UnixTime) -> Result<Option<BrowserSession>, EphemeralError> {
    if id.is_empty() || id.len() > 64 {
        return Ok(None);
    }
    let session: Option<BrowserSession> = store.get_json(&key(id)).await?;
    Ok(session.filter(|session| session.expires_at > now))
}

pub async fn end(store: &EphemeralStore, id: &str) -> Result<(), EphemeralError> {
    store.delete(&key(id)).await
}

/// Ends every live session of `user_id` but `keep`.
pub async fn end_all_for_user(
    store: &EphemeralStore,
    user_id: &str,
    keep: Option<&str>,
    now: UnixTime,
) -> Result<(), EphemeralError> {
    for (_, session) in list_for_user(store, user_id, now).await? {
        if Some(session.id.as_str()) != keep {
            end(store, &session.id).await?;
        }
    }
    Ok(())
}

/// The live session with this id and its user, when the user still exists and is enabled:
/// a disabled or deleted user's sessions stop working at once.
pub async fn find_signed_in(
    state: &AppState,
    id: &str,
    now: UnixTime,
) -> anyhow::Result<Option<(BrowserSession, User)>> {
    let Some(session) = find(&state.ephemeral, id, now).await? else {
        return Ok(None);
    };
    Ok(users::find_enabled(&state.db, &session.user_id).await?.map(|user| (session, user)))
}
