//! Passkeys (WebAuthn with user verification, discoverable credentials) through webauthn-rs:
//! registering one for a signed-in user, and usernameless sign-in with one.
//!
//! Ceremony state lives only in the ephemeral store, under a random id, bound to the
//! browser (its session for registration, its CSRF cookie before sign-in), for five
//! minutes, and is taken exactly once: a replayed or stolen ceremony finds nothing.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid,
    WebauthnError,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use super::audit::{self, Actor, AdminAction, AuditEvent, AuditKind};
use super::login::{self, Attempt};
pub use super::model::StoredPasskey;
use super::users::{self, User};
use super::{UnixTime, constant_time_eq, random_token};
use crate::config::Settings;
use crate::state::AppState;
use crate::store::db::{self, WriteError};

const CEREMONY_TTL: Duration = Duration::from_secs(300);

/// The `amr` of a user-verified passkey sign-in (RFC 8176): hardware key, user presence
/// and verification, multiple factors.
pub const PASSKEY_AMR: [&str; 3] = ["hwk", "user", "mfa"];

#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    #[error("passkeys are disabled")]
    Disabled,
    #[error("this passkey attempt has expired or was already used; try again")]
    CeremonyExpired,
    #[error("this passkey attempt belongs to another browser")]
    WrongBrowser,
    #[error("the passkey was not accepted")]
    Rejected,
    #[error("a passkey name must be 1 to 64 characters")]
    InvalidName,
    #[error("this passkey is registered already")]
    AlreadyRegistered,
    #[error("no such passkey")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<crate::store::ephemeral::EphemeralError> for PasskeyError {
    fn from(error: crate::store::ephemeral::EphemeralError) -> Self {
        PasskeyError::Unexpected(error.into())
    }
}

/// Builds the relying party once at start, from `passkeys.*` and the issuer.
pub fn relying_party(settings: &Settings) -> anyhow::Result<Option<Webauthn>> {
    if !settings.passkeys.enabled {
        return Ok(None);
    }
    let (rp_id, origin): (String, Url) = settings.passkey_rp()?;
    let webauthn = WebauthnBuilder::new(&rp_id, &origin)
        .map_err(|e| anyhow::anyhow!("invalid WebAuthn relying party {rp_id} / {origin}: {e}"))?
        .rp_name(&settings.passkeys.rp_name)
        .build()
        .map_err(|e| anyhow::anyhow!("invalid WebAuthn relying party: {e}"))?;
    Ok(Some(webauthn))
}

fn webauthn(state: &AppState) -> Result<&Webauthn, PasskeyError> {
    state.webauthn.as_deref().ok_or(PasskeyError::Disabled)
}

#[derive(Serialize, Deserialize)]
struct RegistrationCeremony {
    session_id: String,
    user_id: String,
    state: PasskeyRegistration,
}

#[derive(Serialize, Deserialize)]
struct AuthenticationCeremony {
    browser: String,
    state: DiscoverableAuthentication,
}

fn user_uuid(user: &User) -> Result<Uuid, PasskeyError> {
    Uuid::parse_str(&user.id).map_err(|e| PasskeyError::Unexpected(anyhow::anyhow!("user id is not a UUID: {e}")))
}

/// Starts registering a passkey for `user` in browser session `session_id`. Returns the
/// ceremony id and the options for `navigator.credentials.create`.
pub async fn start_registration(
    state: &AppState,
    user: &User,
    session_id: &str,
) -> Result<(String, Value), PasskeyError> {
    let webauthn = webauthn(state)?;
    let existing = db::passkeys::list_for_user(&state.db, &user.id).await?;
    let exclude = existing.iter().map(|p| p.passkey.cred_id().clone()).collect::<Vec<_>>();
    let display_name = user.display_name.as_deref().unwrap_or(&user.username);
    let (options, registration) = webauthn
        .start_passkey_registration(user_uuid(user)?, &user.username, display_name, Some(exclude))
        .map_err(|e| PasskeyError::Unexpected(anyhow::anyhow!("cannot start passkey registration: {e}")))?;
    let mut options = serde_json::to_value(options).map_err(anyhow::Error::from)?;
    // A passkey is a discoverable credential: ask for one (webauthn-rs only prefers it),
    // so that usernameless sign-in can find it.
    options["publicKey"]["authenticatorSelection"]["residentKey"] = json!("required");
    options["publicKey"]["authenticatorSelection"]["requireResidentKey"] = json!(true);
    let ceremony = random_token(24);
    let record =
        RegistrationCeremony { session_id: session_id.to_string(), user_id: user.id.clone(), state: registration };
    state.ephemeral.put_json(&format!("passkey-registration:{ceremony}"), &record, CEREMONY_TTL).await?;
    Ok((ceremony, options))
}

/// Finishes a registration started in the same browser session and stores the passkey.
pub async fn finish_registration(
    state: &AppState,
    user: &User,
    session_id: &str,
    ceremony: &str,
    credential: &RegisterPublicKeyCredential,
    name: &str,
    now: UnixTime,
) -> Result<StoredPasskey, PasskeyError> {
    let webauthn = webauthn(state)?;
    let name = validate_name(name)?;
    let record: RegistrationCeremony = state
        .ephemeral
        .take_json(&format!("passkey-registration:{ceremony}"))
        .await?
        .ok_or(PasskeyError::CeremonyExpired)?;
    if !constant_time_eq(record.session_id.as_bytes(), session_id.as_bytes()) || record.user_id != user.id {
        return Err(PasskeyError::WrongBrowser);
    }
    let passkey = webauthn.finish_passkey_registration(credential, &record.state).map_err(|error| {
        tracing::info!(%error, "passkey registration refused");
        PasskeyError::Rejected
    })?;
    let stored = StoredPasskey {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        credential_id: URL_SAFE_NO_PAD.encode(passkey.cred_id().as_slice()),
        name,
        passkey,
        created_at: now,
        last_used_at: None,
    };
    db::passkeys::insert(&state.db, &stored).await.map_err(|error| match error {
        WriteError::Duplicate => PasskeyError::AlreadyRegistered,
        WriteError::Unexpected(error) => PasskeyError::Unexpected(error),
    })?;
    audit::record(&state.db, AuditEvent::new(AuditKind::PasskeyRegistered, now).subject(&user.id)).await;
    super::email::notify(state, user, super::email::Notice::FactorAdded).await;
    Ok(stored)
}

fn validate_name(name: &str) -> Result<String, PasskeyError> {
    let name = name.trim();
    if (1..=64).contains(&name.chars().count()) && !name.chars().any(char::is_control) {
        Ok(name.to_string())
    } else {
        Err(PasskeyError::InvalidName)
    }
}

/// Starts a usernameless sign-in for the browser identified by `browser` (its CSRF
/// cookie). Returns the ceremony id and the options for `navigator.credentials.get`.
pub async fn start_sign_in(state: &AppState, browser: &str) -> Result<(String, Value), PasskeyError> {
    let webauthn = webauthn(state)?;
    let (options, authentication) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| PasskeyError::Unexpected(anyhow::anyhow!("cannot start passkey sign-in: {e}")))?;
    let mut options = serde_json::to_value(options).map_err(anyhow::Error::from)?;
    // The page decides between the button (modal) and autofill (conditional).
    if let Some(options) = options.as_object_mut() {
        options.remove("mediation");
    }
    let ceremony = random_token(24);
    let record = AuthenticationCeremony { browser: browser.to_string(), state: authentication };
    state.ephemeral.put_json(&format!("passkey-sign-in:{ceremony}"), &record, CEREMONY_TTL).await?;
    Ok((ceremony, options))
}

/// Finishes a usernameless sign-in: the ceremony must belong to this browser, the
/// credential must exist and belong to an enabled user, the signature, user verification
/// and counter must check out. Updates the stored counter and backup flags. A failure is
/// recorded in the audit log.
pub async fn finish_sign_in(
    state: &AppState,
    browser: &str,
    ceremony: &str,
    credential: &PublicKeyCredential,
    attempt: &Attempt,
    now: UnixTime,
) -> Result<User, PasskeyError> {
    let result = verify_sign_in(state, browser, ceremony, credential, attempt.source_ip.clone(), now).await;
    if let Err(error) = &result {
        login::record_failure(state, attempt, json!({ "method": "passkey", "reason": error.to_string() })).await;
    }
    result
}

async fn verify_sign_in(
    state: &AppState,
    browser: &str,
    ceremony: &str,
    credential: &PublicKeyCredential,
    source_ip: Option<String>,
    now: UnixTime,
) -> Result<User, PasskeyError> {
    let webauthn = webauthn(state)?;
    let record: AuthenticationCeremony = state
        .ephemeral
        .take_json(&format!("passkey-sign-in:{ceremony}"))
        .await?
        .ok_or(PasskeyError::CeremonyExpired)?;
    if !constant_time_eq(record.browser.as_bytes(), browser.as_bytes()) {
        return Err(PasskeyError::WrongBrowser);
    }
    let (user_uuid, credential_id) =
        webauthn.identify_discoverable_authentication(credential).map_err(|_| PasskeyError::Rejected)?;
    let credential_id = URL_SAFE_NO_PAD.encode(credential_id);
    let Some(mut stored) = db::passkeys::find_by_credential_id(&state.db, &credential_id).await? else {
        return Err(PasskeyError::Rejected);
    };
    if stored.user_id != user_uuid.to_string() {
        return Err(PasskeyError::Rejected);
    }
    let Some(user) = users::find_enabled(&state.db, &stored.user_id).await? else {
        return Err(PasskeyError::Rejected);
    };
    let result = match webauthn.finish_discoverable_authentication_v2(credential, record.state, &stored.passkey) {
        Ok(result) => result,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            tracing::warn!(user_id = %user.id, passkey_id = %stored.id, "passkey counter went backwards: possible clone");
            let event = AuditEvent::new(AuditKind::PasskeyCounterRegression, now)
                .subject(&user.id)
                .source_ip(source_ip)
                .details(json!({ "passkey_id": stored.id }));
            audit::record(&state.db, event).await;
            return Err(PasskeyError::Rejected);
        }
        Err(error) => {
            tracing::info!(%error, "passkey sign-in refused");
            return Err(PasskeyError::Rejected);
        }
    };
    if !result.user_verified() {
        return Err(PasskeyError::Rejected);
    }
    stored.passkey.update_credential(&result);
    db::passkeys::record_use(&state.db, &stored, now).await?;
    Ok(user)
}

pub async fn list(state: &AppState, user_id: &str) -> Result<Vec<StoredPasskey>, PasskeyError> {
    Ok(db::passkeys::list_for_user(&state.db, user_id).await?)
}

pub async fn rename(state: &AppState, user_id: &str, passkey_id: &str, name: &str) -> Result<(), PasskeyError> {
    let name = validate_name(name)?;
    if db::passkeys::rename(&state.db, user_id, passkey_id, &name).await? {
        Ok(())
    } else {
        Err(PasskeyError::NotFound)
    }
}

/// Deletes one of `user_id`'s passkeys: by the user themselves (`passkey_deleted`), or by
/// an admin acting on the user (`admin_action` `delete_passkey`). Another user's passkey
/// is not found.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
    passkey_id: &str,
    now: UnixTime,
) -> Result<(), PasskeyError> {
    let kind = match actor {
        Actor::User { user_id: own, .. } if own == user_id => AuditKind::PasskeyDeleted,
        Actor::User { .. } => return Err(PasskeyError::NotFound),
        _ => AuditKind::Admin(AdminAction::DeletePasskey),
    };
    if !db::passkeys::delete(&state.db, user_id, passkey_id).await? {
        return Err(PasskeyError::NotFound);
    }
    let event = AuditEvent::new(kind, now).subject(user_id).by(actor).details(json!({ "passkey_id": passkey_id }));
    audit::record(&state.db, event).await;
    super::email::notify_user(state, user_id, super::email::Notice::FactorRemoved).await;
    Ok(())
}
