//! Second factors: TOTP (RFC 6238: SHA-1, 6 digits, 30 s steps, ±1 step) and recovery
//! codes. The TOTP secret is sealed with the master key; a code is accepted once (its step
//! is remembered per user, in one conditional update); recovery codes are stored hashed
//! and spent once.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::audit::{self, Actor, AdminAction, AuditEvent, AuditKind};
use super::{UnixTime, now, random_token, sha256_b64};
use crate::state::AppState;
use crate::store::db;

const DIGITS: u8 = 6;
const STEP_SECS: u64 = 30;
const SKEW_STEPS: u16 = 1;
const RECOVERY_CODES: usize = 10;
/// How long a started enrollment waits for its confirming code.
const SETUP_TTL: Duration = Duration::from_secs(15 * 60);
/// What sealed TOTP secrets are bound to.
const SEAL_LABEL: &str = "totp";

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error("the code is not right, or was used already")]
    WrongCode,
    #[error("the authenticator-app setup has expired: start again")]
    SetupExpired,
    #[error("only an admin may do this")]
    Forbidden,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// An enrollment in progress: what the account page shows.
#[derive(Debug, Clone)]
pub struct TotpSetup {
    /// The secret in base32, for manual entry.
    pub secret: String,
    /// `otpauth://totp/...`, what the QR code holds.
    pub url: String,
    /// The QR code as an SVG document.
    pub qr_svg: String,
}

/// What a user has, for the account page and admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfaStatus {
    pub totp: bool,
    pub recovery_codes_left: u64,
}

fn totp(secret_base32: &str, issuer: &str, account: &str) -> anyhow::Result<Totp> {
    let secret = Secret::try_from_base32(secret_base32).map_err(|e| anyhow::anyhow!("malformed TOTP secret: {e:?}"))?;
    // The account name may not hold ':' in an otpauth URL.
    let account = account.replace(':', "_");
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(SKEW_STEPS)
        .with_step_duration(STEP_SECS)
        .with_secret(secret)
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build TOTP: {e:?}"))
}

fn setup_key(user_id: &str) -> String {
    format!("totp-setup:{user_id}")
}

/// The issuer's host, as authenticator apps label the entry.
fn issuer_label(state: &AppState) -> String {
    url::Url::parse(&state.settings.issuer)
        .ok()
        .and_then(|url| url.host_str().map(str::to_string))
        .unwrap_or_else(|| "Latchkey".into())
}

/// Starts setting up an authenticator app: a new secret, kept (sealed) until the user
/// confirms it with a code.
pub async fn begin_totp(state: &AppState, user_id: &str, username: &str) -> Result<TotpSetup, MfaError> {
    let secret = Secret::generate().to_base32();
    let sealed = state.keyring.seal_secret(SEAL_LABEL, secret.as_bytes()).map_err(anyhow::Error::from)?;
    state
        .ephemeral
        .put(&setup_key(user_id), STANDARD.encode(sealed).as_bytes(), SETUP_TTL)
        .await
        .map_err(anyhow::Error::from)?;
    let url = totp(&secret, &issuer_label(state), username)?.to_url().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let qr_svg = qrcode::QrCode::new(url.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot draw the QR code: {e}"))?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    Ok(TotpSetup { secret, url, qr_svg })
}

/// Finishes the setup with a current code; returns the ten recovery codes, shown once.
pub async fn confirm_totp(state: &AppState, user_id: &str, code: &str, at: UnixTime) -> Result<Vec<String>, MfaError> {
    let Some(sealed) = state.ephemeral.get(&setup_key(user_id)).await.map_err(anyhow::Error::from)? else {
        return Err(MfaError::SetupExpired);
    };
    let sealed = STANDARD.decode(&sealed).map_err(anyhow::Error::from)?;
    let secret = open_secret(state, &sealed)?;
    let step = matching_step(&secret, code, at)?.ok_or(MfaError::WrongCode)?;
    db::mfa::put_totp(&state.db, user_id, &STANDARD.encode(&sealed), step, at).await?;
    state.ephemeral.delete(&setup_key(user_id)).await.map_err(anyhow::Error::from)?;
    let codes = new_recovery_codes(state, user_id, at).await?;
    audit::record(&state.db, AuditEvent::new(AuditKind::MfaEnrolled, at).subject(user_id)).await;
    super::email::notify_user(state, user_id, super::email::Notice::FactorAdded).await;
    Ok(codes)
}

fn open_secret(state: &AppState, sealed: &[u8]) -> anyhow::Result<String> {
    let plain = state.keyring.open_secret(SEAL_LABEL, sealed)?;
    Ok(String::from_utf8(plain)?)
}

/// The time step `code` was computed for, within ±1 step of `at`.
fn matching_step(secret: &str, code: &str, at: UnixTime) -> anyhow::Result<Option<i64>> {
    let totp = totp(secret, "latchkey", "user")?;
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    Ok(totp.check(&code, at.max(0) as u64).map(|step| step as i64))
}

/// Checks a TOTP code at sign-in; a code is accepted once.
pub async fn verify_totp(state: &AppState, user_id: &str, code: &str, at: UnixTime) -> Result<bool, MfaError> {
    let Some(stored) = db::mfa::find_totp(&state.db, user_id).await? else { return Ok(false) };
    let sealed = STANDARD.decode(&stored.sealed_secret).map_err(anyhow::Error::from)?;
    let secret = open_secret(state, &sealed)?;
    match matching_step(&secret, code, at)? {
        Some(step) if step > stored.last_step => Ok(db::mfa::accept_step(&state.db, user_id, step).await?),
        _ => Ok(false),
    }
}

/// Spends a recovery code at sign-in (audited); `false` if it is not one of the user's
/// unused codes.
pub async fn use_recovery_code(state: &AppState, user_id: &str, code: &str, at: UnixTime) -> Result<bool, MfaError> {
    let spent = db::mfa::spend_recovery_code(&state.db, user_id, &recovery_hash(code), at).await?;
    if spent {
        let left = db::mfa::recovery_codes_left(&state.db, user_id).await?;
        let event = AuditEvent::new(AuditKind::RecoveryCodeUsed, at).subject(user_id).details(json!({ "left": left }));
        audit::record(&state.db, event).await;
    }
    Ok(spent)
}

/// Replaces the user's recovery codes (the old ones stop working); returns the new ones.
pub async fn regenerate_recovery_codes(state: &AppState, user_id: &str, at: UnixTime) -> Result<Vec<String>, MfaError> {
    let codes = new_recovery_codes(state, user_id, at).await?;
    audit::record(&state.db, AuditEvent::new(AuditKind::RecoveryCodesRegenerated, at).subject(user_id)).await;
    Ok(codes)
}

async fn new_recovery_codes(state: &AppState, user_id: &str, at: UnixTime) -> anyhow::Result<Vec<String>> {
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let hashes: Vec<String> = codes.iter().map(|code| recovery_hash(code)).collect();
    db::mfa::replace_recovery_codes(&state.db, user_id, &hashes, at).await?;
    Ok(codes)
}

/// Ten random lower-case letters and digits (about 51 bits) as `xxxxx-xxxxx`.
fn recovery_code() -> String {
    let raw: String = random_token(16).to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric()).take(10).collect();
    let raw = if raw.len() == 10 { raw } else { format!("{raw:0<10}") };
    format!("{}-{}", &raw[..5], &raw[5..])
}

/// Codes are compared without case, spaces or dashes, by hash.
fn recovery_hash(code: &str) -> String {
    let normalized: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
    sha256_b64(normalized.as_bytes())
}

/// Whether the user has an authenticator app (one query: what every password sign-in asks).
pub async fn has_totp(state: &AppState, user_id: &str) -> Result<bool, MfaError> {
    Ok(db::mfa::find_totp(&state.db, user_id).await?.is_some())
}

pub async fn status(state: &AppState, user_id: &str) -> Result<MfaStatus, MfaError> {
    Ok(MfaStatus {
        totp: db::mfa::find_totp(&state.db, user_id).await?.is_some(),
        recovery_codes_left: db::mfa::recovery_codes_left(&state.db, user_id).await?,
    })
}

/// A user turns their own authenticator app off (their recovery codes go with it).
pub async fn remove_own(state: &AppState, user_id: &str, at: UnixTime) -> Result<(), MfaError> {
    db::mfa::delete_all(&state.db, user_id).await?;
    audit::record(&state.db, AuditEvent::new(AuditKind::MfaRemoved, at).subject(user_id)).await;
    super::email::notify_user(state, user_id, super::email::Notice::FactorRemoved).await;
    Ok(())
}

/// An admin removes a user's authenticator app and recovery codes (a lost phone).
pub async fn reset(state: &AppState, actor: &Actor, user_id: &str) -> Result<(), MfaError> {
    if !actor.is_admin() {
        return Err(MfaError::Forbidden);
    }
    db::mfa::delete_all(&state.db, user_id).await?;
    audit::record_admin(&state.db, actor, AdminAction::ResetMfa, Some(user_id), None, now()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_its_step_and_the_ones_beside_it_only() {
        let secret = Secret::generate().to_base32();
        let at = 1_800_000_015;
        let code = totp(&secret, "x", "y").unwrap().generate(at as u64).to_string();
        let step = at / 30;
        assert_eq!(matching_step(&secret, &code, at).unwrap(), Some(step));
        assert_eq!(matching_step(&secret, &code, at + 30).unwrap(), Some(step), "one step late");
        assert_eq!(matching_step(&secret, &code, at - 30).unwrap(), Some(step), "one step early");
        assert_eq!(matching_step(&secret, &code, at + 60).unwrap(), None);
        assert_eq!(matching_step(&secret, "12345", at).unwrap(), None);
    }

    #[test]
    fn recovery_codes_are_compared_without_case_or_dashes() {
        let code = recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(recovery_hash(&code), recovery_hash(&code.to_uppercase().replace('-', " ")));
    }
}
