//! Changing a user's credentials, and what a change revokes. A new password, set by the
//! user or reset by an admin, ends everything issued from the old one: the user's other
//! browser sessions, every refresh-token family and its access tokens (with back-channel
//! logout to the clients involved). The user's own change needs proof: the current
//! password, or, for a password an admin made temporary, a sign-in from moments ago.

use secrecy::{ExposeSecret, SecretString};

use super::audit::{self, Actor, AdminAction, AuditEvent, AuditKind};
use super::grants::{self, FamiliesOf};
use super::password_policy;
use super::passwords::Verification;
use super::sessions::{self, BrowserSession};
use super::users::{UserError, find_user, personal_words};
use super::{UnixTime, now};
use crate::state::AppState;
use crate::store::db;

/// An admin's reset of a user's password.
#[derive(Debug)]
pub struct PasswordReset {
    pub password: SecretString,
    /// The user must choose a new password at the next sign-in.
    pub temporary: bool,
    /// Also remove the user's passkeys (a suspected takeover).
    pub remove_passkeys: bool,
}

/// Ends everything that lets `user_id` in, but the browser session `keep` (if any):
/// sessions, grants (refresh and access tokens, durably), with back-channel logout.
pub async fn revoke_access(state: &AppState, user_id: &str, keep: Option<&str>, now: UnixTime) -> anyhow::Result<()> {
    grants::end_all(state, FamiliesOf::User(user_id), now).await?;
    sessions::end_all_for_user(&state.ephemeral, user_id, keep, now).await?;
    Ok(())
}

/// Sets a new password for a user, as an admin; ends all of the user's sessions and grants.
pub async fn reset_password(state: &AppState, actor: &Actor, id: &str, reset: PasswordReset) -> Result<(), UserError> {
    if !actor.is_admin() {
        return Err(UserError::Forbidden);
    }
    if reset.password.expose_secret().is_empty() {
        return Err(UserError::EmptyPassword);
    }
    let user = find_user(&state.db, id).await?;
    password_policy::check(&state.settings.passwords, &reset.password, &personal_words(&user))?;
    let hash = state.passwords.hash(&reset.password).await?;
    let now = now();
    db::users::set_password_hash(&state.db, id, &hash, reset.temporary, now).await?;
    if reset.remove_passkeys {
        db::passkeys::delete_all_for_user(&state.db, id).await?;
    }
    revoke_access(state, id, None, now).await?;
    let mut event = AuditEvent::new(AuditKind::Admin(AdminAction::SetPassword), now).subject(id).by(actor);
    event =
        event.details(serde_json::json!({ "temporary": reset.temporary, "removed_passkeys": reset.remove_passkeys }));
    audit::record(&state.db, event).await;
    Ok(())
}

/// How the user proves it is them when changing their own password.
#[derive(Debug)]
pub enum Proof<'a> {
    CurrentPassword(&'a SecretString),
    /// Only for a temporary password, right after signing in with it, or to set a first
    /// password on an account that has only passkeys, after a recent sign-in.
    RecentSignIn,
}

/// The user changes their own password in browser session `session`. Every other session
/// and every grant ends; `session` is renewed (a new id) and returned.
pub async fn change_own_password(
    state: &AppState,
    session: &BrowserSession,
    proof: Proof<'_>,
    new: &SecretString,
    source_ip: Option<String>,
) -> Result<BrowserSession, UserError> {
    let now = now();
    let user = find_user(&state.db, &session.user_id).await?;
    match proof {
        Proof::CurrentPassword(current) => {
            let stored = db::users::password_hash(&state.db, &user.id).await?;
            if state.passwords.verify(current, stored).await? == Verification::Mismatch {
                return Err(UserError::WrongPassword);
            }
        }
        Proof::RecentSignIn
            if (user.must_change_password || !has_password(state, &user.id).await?)
                && is_recent(state, session, now) => {}
        Proof::RecentSignIn => return Err(UserError::WrongPassword),
    }
    if new.expose_secret().is_empty() {
        return Err(UserError::EmptyPassword);
    }
    password_policy::check(&state.settings.passwords, new, &personal_words(&user))?;
    let hash = state.passwords.hash(new).await?;
    db::users::set_password_hash(&state.db, &user.id, &hash, false, now).await?;
    revoke_access(state, &user.id, Some(&session.id), now).await?;
    let ttl = state.settings.sessions.ttl_secs;
    let renewed = sessions::start(
        &state.ephemeral,
        Some(&session.id),
        &user.id,
        session.amr.clone(),
        session.device.clone(),
        ttl,
        now,
    )
    .await
    .map_err(anyhow::Error::from)?;
    let actor = Actor::User { user_id: user.id.clone(), source_ip };
    audit::record(&state.db, AuditEvent::new(AuditKind::PasswordChanged, now).subject(&user.id).by(&actor)).await;
    super::email::notify(state, &user, super::email::Notice::PasswordChanged).await;
    Ok(renewed)
}

/// Whether the user has a password at all (an invited or passkey-only account may not).
pub async fn has_password(state: &AppState, user_id: &str) -> anyhow::Result<bool> {
    Ok(db::users::password_hash(&state.db, user_id).await?.is_some())
}

/// Whether `session` signed in recently enough for a sensitive account action
/// (`account.reauth_max_age_secs`).
pub fn is_recent(state: &AppState, session: &BrowserSession, now: UnixTime) -> bool {
    now - session.auth_time <= state.settings.account.reauth_max_age_secs as i64
}
