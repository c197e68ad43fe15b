//! Signing in with a username and password.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::json;

use super::audit::{self, AuditEvent};
use super::now;
use super::passwords::Verification;
use super::users::{User, Username};
use crate::state::AppState;
use crate::store::db;

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown user, wrong password, disabled user: one error, so the page cannot reveal
    /// which (and the same argon2 work is done in every case).
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Checks a username and password; upgrades the stored hash when its parameters are old.
/// Wrong passwords in a row lock the account for a while (`lockout.*`); a locked account
/// gets the same answer as a wrong password.
pub async fn sign_in_with_password(
    state: &AppState,
    username: &str,
    password: &SecretString,
    source_ip: Option<String>,
) -> Result<User, LoginError> {
    let (db, hasher) = (&state.db, &state.passwords);
    let found = match Username::parse(username.trim()) {
        Ok(username) => db::users::find_by_username_key(db, &username.key()).await?,
        Err(_) => None,
    };
    let (user, stored_hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    let verification = hasher.verify(password, stored_hash).await?;
    let Some(user) = user.filter(|user| !user.disabled) else {
        return Err(LoginError::InvalidCredentials);
    };
    if is_locked(state, &user.id).await? {
        return Err(LoginError::InvalidCredentials);
    }
    match verification {
        Verification::Mismatch => {
            count_failure(state, &user.id, source_ip).await?;
            Err(LoginError::InvalidCredentials)
        }
        Verification::Match => {
            state.ephemeral.delete(&failures_key(&user.id)).await.map_err(anyhow::Error::from)?;
            Ok(user)
        }
        Verification::MatchNeedsRehash => {
            state.ephemeral.delete(&failures_key(&user.id)).await.map_err(anyhow::Error::from)?;
            let fresh = hasher.hash(password).await?;
            db::users::set_password_hash(db, &user.id, &fresh, user.must_change_password, now()).await?;
            tracing::info!(user_id = %user.id, "upgraded the password hash to the current argon2id parameters");
            Ok(user)
        }
    }
}

fn failures_key(user_id: &str) -> String {
    format!("login-failures:{user_id}")
}

fn locked_key(user_id: &str) -> String {
    format!("locked:{user_id}")
}

pub async fn is_locked(state: &AppState, user_id: &str) -> Result<bool, LoginError> {
    Ok(state.ephemeral.get(&locked_key(user_id)).await.map_err(anyhow::Error::from)?.is_some())
}

async fn count_failure(state: &AppState, user_id: &str, source_ip: Option<String>) -> Result<(), LoginError> {
    let lockout = &state.settings.lockout;
    if lockout.max_failed_attempts == 0 {
        return Ok(());
    }
    let window = Duration::from_secs(lockout.lock_secs);
    let failures = state.ephemeral.increment(&failures_key(user_id), window).await.map_err(anyhow::Error::from)?;
    if failures >= lockout.max_failed_attempts {
        state.ephemeral.put(&locked_key(user_id), b"1", window).await.map_err(anyhow::Error::from)?;
        state.ephemeral.delete(&failures_key(user_id)).await.map_err(anyhow::Error::from)?;
        tracing::warn!(%user_id, failures, "account locked after repeated wrong passwords");
        let event = AuditEvent::new("account_locked", now())
            .subject(user_id)
            .source_ip(source_ip)
            .details(json!({ "failures": failures }));
        audit::record(&state.db, event).await;
    }
    Ok(())
}

/// Counts a password attempt from `source_ip`; `false` once the IP has used up its attempts
/// for this minute (a fixed window in the ephemeral store, shared by all instances).
pub async fn allow_attempt_from(state: &AppState, source_ip: Option<&str>) -> Result<bool, LoginError> {
    let limit = state.settings.lockout.attempts_per_ip_per_minute;
    let Some(ip) = source_ip.filter(|_| limit > 0) else { return Ok(true) };
    let attempts = state
        .ephemeral
        .increment(&format!("login-attempts:{ip}"), Duration::from_secs(60))
        .await
        .map_err(anyhow::Error::from)?;
    Ok(attempts <= limit)
}

/// Lifts a lock (an admin's action).
pub async fn unlock(state: &AppState, user_id: &str) -> Result<(), LoginError> {
    state.ephemeral.delete(&locked_key(user_id)).await.map_err(anyhow::Error::from)?;
    state.ephemeral.delete(&failures_key(user_id)).await.map_err(anyhow::Error::from)?;
    Ok(())
}
