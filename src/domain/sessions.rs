//! Browser sessions: who is signed in in this browser, since when and how. Kept in the
//! ephemeral store under an opaque id (the cookie value); a new id at every sign-in, so a
//! session id planted before login is worthless after it (session fixation).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{UnixTime, random_token};
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
}

fn key(id: &str) -> String {
    format!("session:{id}")
}

/// Starts a session for `user_id`, replacing `previous` (if any) with a fresh id.
pub async fn start(
    store: &EphemeralStore,
    previous: Option<&str>,
    user_id: &str,
    amr: Vec<String>,
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
    };
    store.put_json(&key(&session.id), &session, Duration::from_secs(ttl_secs)).await?;
    Ok(session)
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
