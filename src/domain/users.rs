//! End users: who they are (a stable opaque id, the OIDC `sub`), how they are named, and
//! the rules for adding and disabling them.

use secrecy::{ExposeSecret, SecretString};

use super::audit::{self, Actor, AdminAction};
pub use super::model::{User, UserChange};
use super::password_policy::{self, PolicyError};
pub use super::user_search::{UserPage, search_users};
use super::{access_cache, credentials, groups, now};
use crate::state::AppState;
use crate::store::db::{self, Db, WriteError};

/// A username as typed: 1–64 characters of letters, digits, `.`, `_`, `-` or `@`.
/// Unique without regard to case; [`Username::key`] is what uniqueness and look-ups use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Username, UserError> {
        let valid = (1..=64).contains(&raw.chars().count())
            && raw.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if valid { Ok(Username(raw.to_string())) } else { Err(UserError::InvalidUsername) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form two usernames are compared by.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// An email address, checked for shape only (one `@`, something on both sides, no spaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, UserError> {
        let raw = raw.trim();
        let valid = raw.len() <= 320
            && !raw.chars().any(char::is_whitespace)
            && matches!(raw.split_once('@'), Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
        if valid { Ok(Email(raw.to_string())) } else { Err(UserError::InvalidEmail) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("username must be 1 to 64 characters: letters, digits, '.', '_', '-' or '@'")]
    InvalidUsername,
    #[error("email address is not valid")]
    InvalidEmail,
    #[error("display name must be at most 255 characters")]
    InvalidDisplayName,
    #[error("password must not be empty")]
    EmptyPassword,
    #[error("username {0:?} is already taken")]
    UsernameTaken(String),
    #[error("no user named {0:?}")]
    NotFound(String),
    #[error("only an admin may do this")]
    Forbidden,
    #[error("the current password is not right")]
    WrongPassword,
    #[error(transparent)]
    WeakPassword(#[from] PolicyError),
    #[error("`after` must be the `next` of an earlier page of this list")]
    BadCursor,
    #[error("attributes: at most 50, keys of 1 to 64 characters a-z, 0-9 or '_', values of at most 1024 characters")]
    InvalidAttributes,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// What is needed to create a user.
#[derive(Debug)]
pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub admin: bool,
    pub password: SecretString,
}

fn require_admin(actor: &Actor) -> Result<(), UserError> {
    if actor.is_admin() { Ok(()) } else { Err(UserError::Forbidden) }
}

pub(super) fn parse_display_name(name: Option<String>) -> Result<Option<String>, UserError> {
    let name = name.map(|name| name.trim().to_string()).filter(|name| !name.is_empty());
    if name.as_ref().is_some_and(|name| name.chars().count() > 255) {
        return Err(UserError::InvalidDisplayName);
    }
    Ok(name)
}

/// Validates and stores a new user with an argon2id hash of their password.
pub async fn add_user(state: &AppState, actor: &Actor, new: NewUser) -> Result<User, UserError> {
    require_admin(actor)?;
    let username = Username::parse(&new.username)?;
    let email = new.email.as_deref().map(Email::parse).transpose()?;
    let display_name = parse_display_name(new.display_name)?;
    if new.password.expose_secret().is_empty() {
        return Err(UserError::EmptyPassword);
    }
    let personal = [Some(username.as_str()), email.as_ref().map(Email::as_str), display_name.as_deref()];
    password_policy::check(
        &state.settings.passwords,
        &new.password,
        &personal.into_iter().flatten().collect::<Vec<_>>(),
    )?;
    let password_hash = state.passwords.hash(&new.password).await?;
    let email = email.map(|e| e.as_str().to_string());
    insert_new(state, Some(actor), username, email, display_name, new.admin, Some(&password_hash)).await
}

/// Creates a user with an email address and no way to sign in yet: they choose a password
/// or a passkey through an invitation (`email::invite`).
pub async fn add_invited_user(state: &AppState, actor: &Actor, username: &str, email: &str) -> Result<User, UserError> {
    require_admin(actor)?;
    let username = Username::parse(username)?;
    let email = Email::parse(email)?.as_str().to_string();
    insert_new(state, Some(actor), username, Some(email), None, false, None).await
}

/// The first admin, made through the one-time `/setup` link: no way to sign in yet (they
/// choose a password or a passkey next, through an invitation link).
pub(super) async fn add_first_admin(state: &AppState, username: &str, email: Option<&str>) -> Result<User, UserError> {
    let username = Username::parse(username)?;
    let email = email.filter(|e| !e.trim().is_empty()).map(Email::parse).transpose()?.map(|e| e.as_str().to_string());
    insert_new(state, Some(&Actor::Bootstrap), username, email, None, true, None).await
}

/// Self-registration (`registration.enabled`): a disabled user with a password, enabled
/// when they follow the link mailed to `email`. `None` when the username or the address
/// is taken: the caller answers the same way either way.
pub async fn add_self_registered(
    state: &AppState,
    username: &str,
    email: &str,
    password: &SecretString,
) -> Result<Option<User>, UserError> {
    let username = Username::parse(username)?;
    let email = Email::parse(email)?.as_str().to_string();
    if password.expose_secret().is_empty() {
        return Err(UserError::EmptyPassword);
    }
    password_policy::check(&state.settings.passwords, password, &[username.as_str(), &email])?;
    // Hashed first, so a taken address answers no faster than a new one.
    let password_hash = state.passwords.hash(password).await?;
    if !db::users::find_by_email_key(&state.db, &db::users::email_key(&email)).await?.is_empty() {
        return Ok(None);
    }
    let user = match insert_new(state, None, username, Some(email), None, false, Some(&password_hash)).await {
        Ok(user) => user,
        Err(UserError::UsernameTaken(_)) => return Ok(None),
        Err(error) => return Err(error),
    };
    let change = UserChange { disabled: Some(true), ..UserChange::default() };
    Ok(db::users::update(&state.db, &user.id, &change, now()).await?)
}

/// A user created at their first sign-in through an upstream (`auto_create`): no password,
/// the username derived from `wanted` (made valid, with `-2`, `-3`... on a clash), and the
/// email only when no other account holds it.
pub(super) async fn add_from_upstream(
    state: &AppState,
    wanted: &str,
    email: Option<&str>,
    email_verified: bool,
    display_name: Option<String>,
) -> Result<User, UserError> {
    let base: String = wanted
        .split('@')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(56)
        .collect();
    let base = if base.is_empty() { "user".to_string() } else { base };
    let email = match email.map(Email::parse).transpose().ok().flatten() {
        Some(email)
            if db::users::find_by_email_key(&state.db, &db::users::email_key(email.as_str())).await?.is_empty() =>
        {
            Some(email.as_str().to_string())
        }
        _ => None,
    };
    let display_name = parse_display_name(display_name).ok().flatten();
    for attempt in 1..=20 {
        let candidate = match attempt {
            1 => base.clone(),
            2..=10 => format!("{base}-{attempt}"),
            _ => format!("{base}-{}", &super::random_token(6).to_lowercase()),
        };
        let username = Username::parse(&candidate)?;
        match insert_new(state, None, username, email.clone(), display_name.clone(), false, None).await {
            Ok(user) if email_verified && user.email.is_some() => {
                let address = user.email.clone().unwrap_or_default();
                db::users::set_email_verified(&state.db, &user.id, &address, true).await?;
                return Ok(User { email_verified: true, ..user });
            }
            Ok(user) => return Ok(user),
            Err(UserError::UsernameTaken(_)) => continue,
            Err(error) => return Err(error),
        }
    }
    Err(UserError::UsernameTaken(base))
}

/// Stores a new user; `actor` (none for self-registration) is audited as its creator.
async fn insert_new(
    state: &AppState,
    actor: Option<&Actor>,
    username: Username,
    email: Option<String>,
    display_name: Option<String>,
    admin: bool,
    password_hash: Option<&str>,
) -> Result<User, UserError> {
    let at = now();
    let user = User {
        id: uuid::Uuid::new_v4().to_string(),
        username: username.as_str().to_string(),
        email,
        email_verified: false,
        display_name,
        disabled: false,
        admin,
        must_change_password: false,
        attributes: Default::default(),
        created_at: at,
        updated_at: at,
    };
    db::users::insert(&state.db, &user, &username.key(), password_hash).await.map_err(|error| match error {
        WriteError::Duplicate => UserError::UsernameTaken(user.username.clone()),
        WriteError::Unexpected(error) => UserError::Unexpected(error),
    })?;
    if let Some(actor) = actor {
        audit::record_admin(&state.db, actor, AdminAction::CreateUser, Some(&user.id), None, at).await;
    }
    if user.admin {
        groups::set_direct_admin(state, &user.id, true).await?;
    }
    Ok(user)
}

/// Whether some enabled user can open the admin console.
pub async fn admin_exists(db: &Db) -> Result<bool, UserError> {
    Ok(db::users::any_enabled_admin(db).await?)
}

pub async fn find_user(db: &Db, id: &str) -> Result<User, UserError> {
    db::users::find_by_id(db, id).await?.ok_or_else(|| UserError::NotFound(id.to_string()))
}

/// The user with this id, if they exist and are enabled: the one check every path that
/// acts for a user makes (sessions, tokens, userinfo, the admin API).
pub async fn find_enabled(db: &Db, id: &str) -> anyhow::Result<Option<User>> {
    Ok(db::users::find_by_id(db, id).await?.filter(|user| !user.disabled))
}

/// The user's own words, which a password of theirs should not be built from.
pub fn personal_words(user: &User) -> Vec<&str> {
    [Some(user.username.as_str()), user.email.as_deref(), user.display_name.as_deref()].into_iter().flatten().collect()
}

/// The user with this username (compared without case).
pub async fn find_by_username(db: &Db, username: &str) -> Result<User, UserError> {
    let not_found = || UserError::NotFound(username.to_string());
    let key = Username::parse(username).map_err(|_| not_found())?.key();
    Ok(db::users::find_by_username_key(db, &key).await?.ok_or_else(not_found)?.0)
}

/// Validates and applies an admin's change. A change of `disabled` is the separate
/// operation [`set_disabled`], with its own audit event.
pub async fn update_user(state: &AppState, actor: &Actor, id: &str, mut change: UserChange) -> Result<User, UserError> {
    require_admin(actor)?;
    if let Some(Some(email)) = &change.email {
        change.email = Some(Some(Email::parse(email)?.as_str().to_string()));
    }
    if let Some(name) = change.display_name.take() {
        change.display_name = Some(parse_display_name(name)?);
    }
    let disabled = change.disabled.take();
    let mut user = find_user(&state.db, id).await?;
    if change.email.is_some() || change.display_name.is_some() || change.admin.is_some() {
        user = db::users::update(&state.db, id, &change, now()).await?.ok_or_else(|| UserError::NotFound(id.into()))?;
        if let Some(admin) = change.admin {
            // The admin role is membership of the built-in group; the flag follows it.
            groups::set_direct_admin(state, id, admin).await?;
            user = find_user(&state.db, id).await?;
        }
        access_cache::user_changed(state, id).await.map_err(anyhow::Error::from)?;
        audit::record_admin(&state.db, actor, AdminAction::UpdateUser, Some(id), None, now()).await;
    }
    match disabled {
        Some(disabled) if disabled != user.disabled => set_disabled(state, actor, id, disabled).await,
        _ => Ok(user),
    }
}

/// Replaces a user's attributes: at most 50 keys of `a-z 0-9 _` (1–64 characters), values
/// of at most 1024 characters. They reach a client only through its claim mappings.
pub async fn set_attributes(
    state: &AppState,
    actor: &Actor,
    id: &str,
    attributes: std::collections::BTreeMap<String, String>,
) -> Result<User, UserError> {
    require_admin(actor)?;
    let valid_key = |key: &str| {
        (1..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    if attributes.len() > 50 || attributes.iter().any(|(key, value)| !valid_key(key) || value.chars().count() > 1024) {
        return Err(UserError::InvalidAttributes);
    }
    find_user(&state.db, id).await?;
    db::users::set_attributes(&state.db, id, &attributes, now()).await?;
    access_cache::user_changed(state, id).await.map_err(anyhow::Error::from)?;
    audit::record_admin(&state.db, actor, AdminAction::SetUserAttributes, Some(id), None, now()).await;
    find_user(&state.db, id).await
}

/// Disables or enables a user. A disabled user can no longer sign in, and their sessions
/// and grants end at once (with back-channel logout), so enabling them again brings none
/// of it back.
pub async fn set_disabled(state: &AppState, actor: &Actor, id: &str, disabled: bool) -> Result<User, UserError> {
    require_admin(actor)?;
    let change = UserChange { disabled: Some(disabled), ..UserChange::default() };
    let user = db::users::update(&state.db, id, &change, now()).await?.ok_or_else(|| UserError::NotFound(id.into()))?;
    access_cache::user_changed(state, id).await.map_err(anyhow::Error::from)?;
    if disabled {
        credentials::revoke_access(state, id, None, now()).await?;
    }
    let action = if disabled { AdminAction::DisableUser } else { AdminAction::EnableUser };
    audit::record_admin(&state.db, actor, action, Some(id), None, now()).await;
    Ok(user)
}

/// Deletes a user and, at once, everything that lets them in: sessions, grants (refresh
/// and access tokens, with back-channel logout), passkeys and consents.
pub async fn delete_user(state: &AppState, actor: &Actor, id: &str) -> Result<(), UserError> {
    require_admin(actor)?;
    find_user(&state.db, id).await?;
    credentials::revoke_access(state, id, None, now()).await?;
    if !db::users::delete_with_dependents(&state.db, id).await? {
        return Err(UserError::NotFound(id.to_string()));
    }
    access_cache::user_changed(state, id).await.map_err(anyhow::Error::from)?;
    audit::record_admin(&state.db, actor, AdminAction::DeleteUser, Some(id), None, now()).await;
    Ok(())
}

/// Lifts a lockout after repeated wrong passwords.
pub async fn unlock_user(state: &AppState, actor: &Actor, id: &str) -> Result<(), UserError> {
    require_admin(actor)?;
    find_user(&state.db, id).await?;
    super::login::unlock(state, id).await.map_err(anyhow::Error::from)?;
    audit::record_admin(&state.db, actor, AdminAction::UnlockUser, Some(id), None, now()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_compared_without_case() {
        assert_eq!(Username::parse("Alice").unwrap().key(), Username::parse("alice").unwrap().key());
    }

    #[test]
    fn bad_usernames_and_emails_are_refused() {
        for bad in ["", "has space", "semi;colon", &"x".repeat(65)] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
        for bad in ["plain", "@example.com", "a@", "a b@example.com", "a@b@c"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Email::parse("alice@example.com").is_ok());
    }
}
