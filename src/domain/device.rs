//! The device authorization grant (RFC 8628): a TV or a command-line tool, with no browser
//! of its own, gets a device code and a short user code; the user enters the user code at
//! `/device` on a phone or laptop, signs in and confirms; meanwhile the device polls the
//! token endpoint.
//!
//! User codes are eight letters from an alphabet with no vowels and no look-alikes
//! (`BCDFGHJKLMNPQRSTVWXZ`, shown `XXXX-XXXX`): about 2^34 codes, so guessing one in its ten
//! minutes (`device.code_ttl_secs`), at the rate-limited pace of `/device`, is hopeless. Entry ignores case, spaces
//! and dashes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::clients::{Client, GrantType};
use super::grants::{self, Authorized, GrantError, TokenRequest, TokenSet};
use super::model::ScopeSet;
use super::resources::{self, TargetError};
use super::sessions::BrowserSession;
use super::{UnixTime, random_token, sha256_b64};
use crate::state::AppState;

/// The device grant's `grant_type`.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
/// An expired code is remembered this much longer, to answer `expired_token`.
const REMEMBERED_AFTER_EXPIRY: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Status {
    Pending,
    Approved(Authorized),
    Denied,
}

/// A device authorization in progress, kept in the ephemeral store under the hash of its
/// device code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceAuthorization {
    pub client_id: String,
    pub client_name: String,
    pub scope: ScopeSet,
    pub resources: Vec<String>,
    pub user_code: String,
    pub expires_at: UnixTime,
    status: Status,
}

/// What `/device_authorization` answers.
#[derive(Debug)]
pub struct Started {
    pub device_code: String,
    pub user_code: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("unauthorized_client")]
    UnauthorizedClient,
    #[error("scope {0} is not allowed for this client")]
    InvalidScope(String),
    #[error(transparent)]
    InvalidTarget(TargetError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

fn device_key(device_code: &str) -> String {
    format!("device:{}", sha256_b64(device_code.as_bytes()))
}

fn user_code_key(user_code: &str) -> String {
    format!("device-user-code:{user_code}")
}

fn new_user_code() -> String {
    let mut letters = String::with_capacity(8);
    let mut random = [0u8; 32];
    while letters.len() < 8 {
        rand::fill(&mut random[..]);
        // 240 is a multiple of 20: no letter is likelier than another.
        for byte in random.iter().filter(|b| **b < 240).take(8 - letters.len()) {
            letters.push(USER_CODE_ALPHABET[*byte as usize % USER_CODE_ALPHABET.len()] as char);
        }
    }
    format!("{}-{}", &letters[..4], &letters[4..])
}

/// A user code as typed: case, spaces and dashes ignored; `None` if it cannot be one.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let letters: String =
        typed.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
    let valid = letters.len() == 8 && letters.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then(|| format!("{}-{}", &letters[..4], &letters[4..]))
}

/// Starts a device authorization for `client` (RFC 8628 §3.1).
pub async fn start(
    state: &AppState,
    client: &Client,
    scope: Option<ScopeSet>,
    requested_resources: &[String],
    now: UnixTime,
) -> Result<Started, DeviceError> {
    if !client.allowed_grants.contains(&GrantType::DeviceCode) {
        return Err(DeviceError::UnauthorizedClient);
    }
    let apis = resources::resolve(&state.db, requested_resources).await?.map_err(DeviceError::InvalidTarget)?;
    let requested = scope.unwrap_or_default();
    let scope = match resources::authorized_scopes(requested, &client.allowed_scopes, &apis) {
        Ok(scope) if scope.is_empty() => client.allowed_scopes.clone(),
        Ok(scope) => scope,
        Err(outside) => return Err(DeviceError::InvalidScope(outside)),
    };
    let device_code = random_token(32);
    let lifetime = state.settings.device.code_ttl_secs;
    let ttl = Duration::from_secs(lifetime) + REMEMBERED_AFTER_EXPIRY;
    // A fresh user code; on the rare clash with a live one, draw again.
    let key = device_key(&device_code);
    let mut user_code = new_user_code();
    for _ in 0..5 {
        let code_key = user_code_key(&user_code);
        if state.ephemeral.put_if_absent(&code_key, key.as_bytes(), ttl).await.map_err(anyhow::Error::from)? {
            break;
        }
        user_code = new_user_code();
    }
    let authorization = DeviceAuthorization {
        client_id: client.id.clone(),
        client_name: client.name.clone(),
        scope,
        resources: apis.into_iter().map(|api| api.identifier).collect(),
        user_code: user_code.clone(),
        expires_at: now + lifetime as i64,
        status: Status::Pending,
    };
    state.ephemeral.put_json(&key, &authorization, ttl).await.map_err(anyhow::Error::from)?;
    Ok(Started { device_code, user_code })
}

/// The live, unanswered authorization a user code stands for, and its key.
pub async fn find_by_user_code(
    state: &AppState,
    typed: &str,
    now: UnixTime,
) -> anyhow::Result<Option<(String, DeviceAuthorization)>> {
    let Some(user_code) = normalize_user_code(typed) else { return Ok(None) };
    let Some(key) = state.ephemeral.get(&user_code_key(&user_code)).await? else { return Ok(None) };
    let key = String::from_utf8_lossy(&key).into_owned();
    let found: Option<DeviceAuthorization> = state.ephemeral.get_json(&key).await?;
    Ok(found.filter(|found| found.status == Status::Pending && found.expires_at > now).map(|found| (key, found)))
}

/// Whether the signed-in user may answer for `authorization`, by the same rules as an
/// authorization request: the client's access policy, and a multi-factor sign-in where the
/// client or the configuration asks for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MayAnswer {
    Yes,
    NeedsMultiFactor,
    NoAccess,
}

pub async fn may_answer(
    state: &AppState,
    authorization: &DeviceAuthorization,
    session: &BrowserSession,
) -> anyhow::Result<MayAnswer> {
    let Some(client) = super::clients::find_enabled(&state.db, &authorization.client_id).await? else {
        return Ok(MayAnswer::NoAccess);
    };
    if !super::groups::may_use(&state.db, &client, &session.user_id).await? {
        super::groups::record_refusal(&state.db, &client, &session.user_id, "device", None).await;
        return Ok(MayAnswer::NoAccess);
    }
    let needs_mfa = super::assurance::authorization_requires_mfa(&state.settings.mfa, &client, None);
    if needs_mfa && !super::assurance::is_multi_factor(&session.amr) {
        return Ok(MayAnswer::NeedsMultiFactor);
    }
    Ok(MayAnswer::Yes)
}

/// The signed-in user's answer at `/device`. The user code is spent either way.
pub async fn answer(
    state: &AppState,
    typed_user_code: &str,
    session: &BrowserSession,
    allow: bool,
    now: UnixTime,
) -> anyhow::Result<Option<DeviceAuthorization>> {
    let Some((key, mut authorization)) = find_by_user_code(state, typed_user_code, now).await? else {
        return Ok(None);
    };
    if let Some(user_code) = normalize_user_code(typed_user_code)
        && state.ephemeral.take(&user_code_key(&user_code)).await?.is_none()
    {
        return Ok(None); // answered by a concurrent request
    }
    authorization.status = if allow {
        Status::Approved(Authorized {
            grant_id: uuid::Uuid::new_v4().to_string(),
            user_id: session.user_id.clone(),
            scope: authorization.scope.clone(),
            nonce: None,
            session_id: session.id.clone(),
            auth_time: session.auth_time,
            amr: session.amr.clone(),
            resources: authorization.resources.clone(),
        })
    } else {
        Status::Denied
    };
    let ttl = Duration::from_secs((authorization.expires_at - now).max(1) as u64) + REMEMBERED_AFTER_EXPIRY;
    state.ephemeral.put_json(&key, &authorization, ttl).await?;
    Ok(Some(authorization))
}

/// Why a poll gets no tokens yet, or ever (RFC 8628 §3.5).
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("authorization_pending")]
    Pending,
    #[error("slow_down")]
    SlowDown,
    #[error("access_denied")]
    Denied,
    #[error("expired_token")]
    Expired,
    #[error(transparent)]
    Grant(#[from] GrantError),
}

/// The device polls the token endpoint with its device code.
pub async fn poll(
    state: &AppState,
    client: &Client,
    device_code: &str,
    request: TokenRequest<'_>,
    now: UnixTime,
) -> Result<TokenSet, PollError> {
    if !client.allowed_grants.contains(&GrantType::DeviceCode) {
        return Err(GrantError::UnauthorizedClient.into());
    }
    let key = device_key(device_code);
    let unexpected = |error: crate::store::ephemeral::EphemeralError| GrantError::Unexpected(error.into());
    let Some(authorization) = state.ephemeral.get_json::<DeviceAuthorization>(&key).await.map_err(unexpected)? else {
        return Err(GrantError::InvalidGrant("unknown device code").into());
    };
    if authorization.client_id != client.id {
        return Err(GrantError::InvalidGrant("device code of another client").into());
    }
    if authorization.expires_at <= now {
        return Err(PollError::Expired);
    }
    // One poll per interval: a second one within it is told to slow down.
    let poll_key = format!("{key}:polled");
    let interval = Duration::from_secs(state.settings.device.poll_interval_secs.max(1));
    if !state.ephemeral.put_if_absent(&poll_key, b"1", interval).await.map_err(unexpected)? {
        return Err(PollError::SlowDown);
    }
    match authorization.status {
        Status::Pending => Err(PollError::Pending),
        Status::Denied => {
            state.ephemeral.delete(&key).await.map_err(unexpected)?;
            Err(PollError::Denied)
        }
        Status::Approved(_) => {
            // Tokens once: the approved authorization is taken, a second poll finds nothing.
            let taken = state.ephemeral.take_json::<DeviceAuthorization>(&key).await.map_err(unexpected)?;
            let Some(DeviceAuthorization { status: Status::Approved(authorized), .. }) = taken else {
                return Err(GrantError::InvalidGrant("device code already used").into());
            };
            Ok(grants::start_grant(state, client, authorized, request, now).await?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_unambiguous_and_forgiving() {
        for _ in 0..100 {
            let code = new_user_code();
            assert_eq!(code.len(), 9);
            assert_eq!(normalize_user_code(&code).as_deref(), Some(code.as_str()));
            assert!(!code.chars().any(|c| "AEIOUY01".contains(c)), "{code}");
        }
        assert_eq!(normalize_user_code("bcdf ghjk").as_deref(), Some("BCDF-GHJK"));
        assert_eq!(normalize_user_code("BCDFGHJ"), None);
        assert_eq!(normalize_user_code("ABCD-EFGH"), None, "vowels are never in a code");
    }
}
