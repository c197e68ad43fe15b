//! Signing in: with a username and password, the lockout that guards it, and the browser
//! session a successful sign-in (password or passkey) starts.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::json;

use super::audit::{self, AuditEvent, AuditKind};
use super::passwords::Verification;
use super::sessions::{self, BrowserSession};
use super::users::{User, Username};
use super::{UnixTime, now};
use crate::state::AppState;
use crate::store::db;

/// Where a sign-in attempt comes from: for the audit log.
#[derive(Debug, Clone, Default)]
pub struct Attempt {
    pub source_ip: Option<String>,
    /// The browser's `User-Agent`, kept with the session it starts.
    pub user_agent: Option<String>,
    /// The client of the pending authorization request, if any.
    pub client_id: Option<String>,
    /// The upstream identity provider the user signed in through, if any.
    pub upstream: Option<String>,
}

/// A user has proved who they are (`amr` says how, RFC 8176): records the sign-in and
/// starts a new browser session, replacing the browser's `previous` one (a new id at every
/// sign-in defeats session fixation).
pub async fn start_session(
    state: &AppState,
    user: &User,
    amr: &[&str],
    previous: Option<&str>,
    attempt: &Attempt,
    now: UnixTime,
) -> anyhow::Result<BrowserSession> {
    let method = match amr.first() {
        Some(&"pwd") => "pwd",
        Some(&"fed") => "upstream",
        _ => "passkey",
    };
    let mut details = json!({ "method": method, "amr": amr });
    if let Some(upstream) = &attempt.upstream {
        details["upstream"] = json!(upstream);
    }
    let mut event =
        AuditEvent::new(AuditKind::SignIn, now).subject(&user.id).source_ip(attempt.source_ip.clone()).details(details);
    event.client_id = attempt.client_id.clone();
    audit::record(&state.db, event).await;
    count_sign_in(state, method_of(amr), "success", now).await;
    state.ephemeral.delete(&failures_key(&user.id)).await?;
    let amr = amr.iter().map(|a| a.to_string()).collect();
    let device = sessions::Device::new(attempt.user_agent.as_deref(), attempt.source_ip.clone());
    Ok(sessions::start(&state.ephemeral, previous, &user.id, amr, device, state.settings.sessions.ttl_secs, now)
        .await?)
}

/// How a sign-in was made, as the dashboard and the metrics name it: `password`,
/// `mfa` (a password and a second factor), `passkey` (which is multi-factor itself) or
/// `upstream` (through another identity provider).
pub fn method_of(amr: &[&str]) -> &'static str {
    match amr.first() {
        Some(&"fed") => "upstream",
        Some(&"pwd") if amr.contains(&"mfa") => "mfa",
        Some(&"pwd") => "password",
        _ => "passkey",
    }
}

/// Counts a sign-in (or a failed one) for `/metrics` and the dashboard's hourly rollup.
async fn count_sign_in(state: &AppState, method: &str, outcome: &str, now: UnixTime) {
    state.metrics.sign_in(method, outcome);
    if let Err(error) = db::stats::count_sign_in(&state.db, now, method, outcome).await {
        tracing::warn!(error = %format!("{error:#}"), "cannot count a sign-in");
    }
}

/// Records a failed sign-in (`method` is `pwd` or `passkey`).
pub async fn record_failure(state: &AppState, attempt: &Attempt, details: serde_json::Value) {
    let method = if details["method"] == "pwd" { "password" } else { "passkey" };
    count_sign_in(state, method, "failure", now()).await;
    let mut event =
        AuditEvent::new(AuditKind::SignInFailed, now()).source_ip(attempt.source_ip.clone()).details(details);
    event.client_id = attempt.client_id.clone();
    audit::record(&state.db, event).await;
}

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
/// gets the same answer as a wrong password. A failure is recorded in the audit log.
pub async fn sign_in_with_password(
    state: &AppState,
    username: &str,
    password: &SecretString,
    attempt: &Attempt,
) -> Result<User, LoginError> {
    let result = check_password(state, username, password, attempt).await;
    if let Err(LoginError::InvalidCredentials) = &result {
        let username: String = username.chars().take(64).collect();
        record_failure(state, attempt, json!({ "method": "pwd", "username": username })).await;
    }
    result
}

async fn check_password(
    state: &AppState,
    username: &str,
    password: &SecretString,
    attempt: &Attempt,
) -> Result<User, LoginError> {
    let source_ip = attempt.source_ip.clone();
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
        // Failures are forgiven when the sign-in completes (`start_session`), not here: a
        // right password before a wrong second factor must not reset the count.
        Verification::Match => Ok(user),
        Verification::MatchNeedsRehash => {
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
        state.metrics.account_locked();
        let event = AuditEvent::new(AuditKind::AccountLocked, now())
            .subject(user_id)
            .source_ip(source_ip)
            .details(json!({ "failures": failures }));
        audit::record(&state.db, event).await;
        super::email::notify_user(state, user_id, super::email::Notice::AccountLocked).await;
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

/// A right password for a user with an authenticator app: the sign-in waits for the code
/// (in the ephemeral store, for a few minutes, answered once).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SecondFactorChallenge {
    pub user_id: String,
    /// The pending authorization request the sign-in is for, if any.
    pub request_id: Option<String>,
    /// Where a re-authentication goes on to (a local path), if any.
    pub next: Option<String>,
}

const CHALLENGE_TTL: Duration = Duration::from_secs(5 * 60);

fn challenge_key(token: &str) -> String {
    format!("mfa-challenge:{}", super::sha256_b64(token.as_bytes()))
}

/// Which second factor the user offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    Totp,
    RecoveryCode,
}

impl SecondFactor {
    /// The `amr` of a password sign-in completed with this factor (RFC 8176 where it has a
    /// name; `recovery` for a recovery code).
    pub fn amr(self) -> &'static [&'static str] {
        match self {
            SecondFactor::Totp => &["pwd", "otp", "mfa"],
            SecondFactor::RecoveryCode => &["pwd", "mfa", "recovery"],
        }
    }
}

/// Whether a password sign-in of `user_id` needs a second step.
pub async fn needs_second_factor(state: &AppState, user_id: &str) -> Result<bool, LoginError> {
    Ok(super::mfa::has_totp(state, user_id).await.map_err(|e| anyhow::anyhow!(e))?)
}

/// Starts the second step; the token goes to the browser (a cookie).
pub async fn start_second_factor(state: &AppState, challenge: &SecondFactorChallenge) -> Result<String, LoginError> {
    let token = super::random_token(32);
    state.ephemeral.put_json(&challenge_key(&token), challenge, CHALLENGE_TTL).await.map_err(anyhow::Error::from)?;
    Ok(token)
}

pub async fn second_factor_challenge(
    state: &AppState,
    token: &str,
) -> Result<Option<SecondFactorChallenge>, LoginError> {
    Ok(state.ephemeral.get_json(&challenge_key(token)).await.map_err(anyhow::Error::from)?)
}

/// Checks the second factor. A wrong code counts toward the account's lockout like a wrong
/// password, and a locked account gets the same answer; a right one ends the challenge.
pub async fn finish_second_factor(
    state: &AppState,
    token: &str,
    factor: SecondFactor,
    code: &str,
    attempt: &Attempt,
) -> Result<(User, SecondFactorChallenge), LoginError> {
    let Some(challenge) = second_factor_challenge(state, token).await? else {
        return Err(LoginError::InvalidCredentials);
    };
    let user_id = challenge.user_id.clone();
    let Some(user) = super::users::find_enabled(&state.db, &user_id).await? else {
        return Err(LoginError::InvalidCredentials);
    };
    let locked = is_locked(state, &user_id).await?;
    let right = !locked
        && match factor {
            SecondFactor::Totp => super::mfa::verify_totp(state, &user_id, code, now()).await,
            SecondFactor::RecoveryCode => super::mfa::use_recovery_code(state, &user_id, code, now()).await,
        }
        .map_err(|e| anyhow::anyhow!(e))?;
    if !right {
        if !locked {
            count_failure(state, &user_id, attempt.source_ip.clone()).await?;
        }
        let method = if factor == SecondFactor::Totp { "otp" } else { "recovery" };
        count_sign_in(state, "mfa", "failure", now()).await;
        let mut event = AuditEvent::new(AuditKind::SignInFailed, now())
            .subject(&user_id)
            .source_ip(attempt.source_ip.clone())
            .details(json!({ "method": method }));
        event.client_id = attempt.client_id.clone();
        audit::record(&state.db, event).await;
        return Err(LoginError::InvalidCredentials);
    }
    let taken: Option<SecondFactorChallenge> =
        state.ephemeral.take_json(&challenge_key(token)).await.map_err(anyhow::Error::from)?;
    if taken.is_none() {
        return Err(LoginError::InvalidCredentials);
    }
    Ok((user, challenge))
}
