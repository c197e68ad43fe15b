//! Rate limits per source address, in fixed one-minute windows kept in the ephemeral store
//! (shared by every instance with Redis). Generous for people, tight for scripts: a limited
//! request is refused with `Retry-After`, before any work is done for it.

use std::time::Duration;

use crate::config::RateLimitSettings;
use crate::state::AppState;

const WINDOW: Duration = Duration::from_secs(60);

/// What is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Authorization requests (`/authorize`).
    Authorize,
    /// Passkey sign-in ceremonies started (`/login/passkey/start`).
    PasskeyStart,
    /// Failed client authentications at the token, introspection and revocation endpoints.
    FailedClientAuth,
    /// Form posts and calls on the account pages.
    Account,
    /// Dynamic client registrations.
    ClientRegistration,
    /// User codes looked up at `/device`.
    DeviceUserCode,
}

impl Limit {
    fn name(self) -> &'static str {
        match self {
            Limit::Authorize => "authorize",
            Limit::PasskeyStart => "passkey-start",
            Limit::FailedClientAuth => "client-auth-failures",
            Limit::Account => "account",
            Limit::ClientRegistration => "client-registration",
            Limit::DeviceUserCode => "device-user-code",
        }
    }

    fn per_minute(self, settings: &RateLimitSettings) -> u64 {
        match self {
            Limit::Authorize => settings.authorize_per_minute,
            Limit::PasskeyStart => settings.passkey_start_per_minute,
            Limit::FailedClientAuth => settings.failed_client_auth_per_minute,
            Limit::Account => settings.account_per_minute,
            Limit::ClientRegistration => settings.client_registration_per_minute,
            Limit::DeviceUserCode => settings.device_user_code_per_minute,
        }
    }
}

/// Refused: retry after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub retry_after_secs: u64,
}

fn key(limit: Limit, source_ip: &str) -> String {
    format!("rate:{}:{source_ip}", limit.name())
}

/// Counts a request from `source_ip` against `limit`; `Err(Limited)` once the address has
/// used up this minute's allowance. A limit of 0 turns it off.
pub async fn count(state: &AppState, limit: Limit, source_ip: Option<&str>) -> anyhow::Result<Result<(), Limited>> {
    let allowed = limit.per_minute(&state.settings.rate_limits);
    let Some(ip) = source_ip.filter(|_| allowed > 0) else { return Ok(Ok(())) };
    let used = state.ephemeral.increment(&key(limit, ip), WINDOW).await?;
    Ok(if used > allowed { Err(Limited { retry_after_secs: WINDOW.as_secs() }) } else { Ok(()) })
}

/// Whether `source_ip` has used up `limit` this minute, without counting this request (for
/// limits on failures, counted when they happen).
pub async fn check(state: &AppState, limit: Limit, source_ip: Option<&str>) -> anyhow::Result<Result<(), Limited>> {
    let allowed = limit.per_minute(&state.settings.rate_limits);
    let Some(ip) = source_ip.filter(|_| allowed > 0) else { return Ok(Ok(())) };
    let used = state.ephemeral.get(&key(limit, ip)).await?;
    let used: u64 = used.and_then(|bytes| String::from_utf8(bytes).ok()).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok(if used >= allowed { Err(Limited { retry_after_secs: WINDOW.as_secs() }) } else { Ok(()) })
}
