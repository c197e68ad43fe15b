//! First run without the CLI: while no admin exists, `serve` logs a one-time link
//! (`/setup?token=…`). The token is random, kept hashed in the ephemeral store for an hour,
//! and spent by the page that creates the first admin; from then on `/setup` is gone.

use std::time::Duration;

use super::audit::{self, AuditEvent, AuditKind};
use super::users::{self, UserError};
use super::{random_token, sha256_b64};
use crate::state::AppState;

const TOKEN_KEY: &str = "setup-token";
const TOKEN_TTL: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// An admin exists: there is nothing to set up.
    #[error("setup is finished")]
    Finished,
    #[error("this setup link is not valid: it was used, has expired, or a newer one was logged")]
    InvalidToken,
    #[error(transparent)]
    User(#[from] UserError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A new setup link (replacing any earlier one) while no admin exists; `None` otherwise.
pub async fn issue_link(state: &AppState) -> anyhow::Result<Option<String>> {
    if users::admin_exists(&state.db).await? {
        return Ok(None);
    }
    let token = random_token(32);
    state.ephemeral.put(TOKEN_KEY, sha256_b64(token.as_bytes()).as_bytes(), TOKEN_TTL).await?;
    Ok(Some(format!("{}/setup?token={token}", state.settings.issuer.trim_end_matches('/'))))
}

/// Whether `token` is the live setup token (without spending it).
pub async fn check(state: &AppState, token: &str) -> Result<(), SetupError> {
    if users::admin_exists(&state.db).await? {
        return Err(SetupError::Finished);
    }
    let stored = state.ephemeral.get(TOKEN_KEY).await.map_err(anyhow::Error::from)?;
    match stored {
        Some(hash) if super::constant_time_eq(&hash, sha256_b64(token.as_bytes()).as_bytes()) => Ok(()),
        _ => Err(SetupError::InvalidToken),
    }
}

/// Spends `token` and creates the first admin, `username` (with `email` if given). Returns
/// the invitation link where they choose a password or a passkey.
pub async fn create_first_admin(
    state: &AppState,
    token: &str,
    username: &str,
    email: Option<&str>,
) -> Result<String, SetupError> {
    check(state, token).await?;
    // Mistakes are answered before the token is spent, so the page can be filled in again.
    users::Username::parse(username)?;
    if let Some(email) = email {
        users::Email::parse(email)?;
    }
    match users::find_by_username(&state.db, username).await {
        Ok(user) => return Err(UserError::UsernameTaken(user.username).into()),
        Err(UserError::NotFound(_)) => {}
        Err(error) => return Err(error.into()),
    }
    // Spent before the admin is made: two submissions race, one wins.
    let taken = state.ephemeral.take(TOKEN_KEY).await.map_err(anyhow::Error::from)?;
    if !taken.is_some_and(|hash| super::constant_time_eq(&hash, sha256_b64(token.as_bytes()).as_bytes())) {
        return Err(SetupError::InvalidToken);
    }
    let user = users::add_first_admin(state, username, email).await?;
    let event = AuditEvent::new(AuditKind::SetupCompleted, super::now()).subject(&user.id);
    audit::record(&state.db, event).await;
    Ok(super::email::setup_invitation(state, &user.id).await?)
}
