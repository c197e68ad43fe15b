//! End users: who they are (a stable opaque id, the OIDC `sub`), how they are named, and
//! the rules for adding and disabling them.

use secrecy::{ExposeSecret, SecretString};

use super::passwords::PasswordHasher;
use super::{UnixTime, now};
use crate::store::db::{self, Db};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable and opaque: the `sub` claim. Never the username, which may change.
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub disabled: bool,
    pub admin: bool,
    /// A temporary password was set: the next sign-in must choose a new one.
    pub must_change_password: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

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

/// Validates and stores a new user with an argon2id hash of their password.
pub async fn add_user(db: &Db, hasher: &PasswordHasher, new: NewUser) -> Result<User, UserError> {
    let username = Username::parse(&new.username)?;
    let email = new.email.as_deref().map(Email::parse).transpose()?;
    let display_name = new.display_name.map(|name| name.trim().to_string()).filter(|name| !name.is_empty());
    if display_name.as_ref().is_some_and(|name| name.chars().count() > 255) {
        return Err(UserError::InvalidDisplayName);
    }
    if new.password.expose_secret().is_empty() {
        return Err(UserError::EmptyPassword);
    }
    let password_hash = hasher.hash(&new.password).await?;
    let at = now();
    let user = User {
        id: uuid::Uuid::new_v4().to_string(),
        username: username.as_str().to_string(),
        email: email.map(|e| e.as_str().to_string()),
        display_name,
        disabled: false,
        admin: new.admin,
        must_change_password: false,
        created_at: at,
        updated_at: at,
    };
    db::users::insert(db, &user, &username.key(), Some(&password_hash)).await?;
    Ok(user)
}

pub async fn list_users(db: &Db) -> Result<Vec<User>, UserError> {
    Ok(db::users::list(db).await?)
}

/// Disables a user: they can no longer sign in.
pub async fn disable_user(db: &Db, username: &str) -> Result<User, UserError> {
    let key = Username::parse(username).map_err(|_| UserError::NotFound(username.to_string()))?.key();
    db::users::set_disabled(db, &key, true, now()).await?.ok_or_else(|| UserError::NotFound(username.to_string()))
}

/// An admin's change to a user; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct UserChange {
    pub email: Option<Option<String>>,
    pub display_name: Option<Option<String>>,
    pub admin: Option<bool>,
    pub disabled: Option<bool>,
}

pub async fn find_user(db: &Db, id: &str) -> Result<User, UserError> {
    db::users::find_by_id(db, id).await?.ok_or_else(|| UserError::NotFound(id.to_string()))
}

/// Validates and applies an admin's change.
pub async fn update_user(db: &Db, id: &str, mut change: UserChange) -> Result<User, UserError> {
    if let Some(Some(email)) = &change.email {
        change.email = Some(Some(Email::parse(email)?.as_str().to_string()));
    }
    if let Some(Some(name)) = &change.display_name {
        let name = name.trim().to_string();
        if name.chars().count() > 255 {
            return Err(UserError::InvalidDisplayName);
        }
        change.display_name = Some(Some(name).filter(|n| !n.is_empty()));
    }
    db::users::update(db, id, &change, now()).await?.ok_or_else(|| UserError::NotFound(id.to_string()))
}

/// Deletes a user and, at once, everything that lets them in: passkeys, consents, grants
/// (refresh tokens stop working immediately, access tokens at their next check) and,
/// because sessions resolve their user on every request, their browser sessions.
pub async fn delete_user(state: &crate::state::AppState, id: &str) -> Result<(), UserError> {
    find_user(&state.db, id).await?;
    let grant_ids = db::refresh_tokens::grant_ids_of_user(&state.db, id).await?;
    for grant_id in grant_ids {
        super::tokens::revoke_grant(&state.settings, &state.ephemeral, &grant_id).await.map_err(anyhow::Error::from)?;
    }
    if !db::users::delete_with_dependents(&state.db, id).await? {
        return Err(UserError::NotFound(id.to_string()));
    }
    Ok(())
}

/// Sets a new password (argon2id-hashed). A `temporary` one must be changed by the user at
/// the next sign-in.
pub async fn set_password(
    db: &Db,
    hasher: &PasswordHasher,
    id: &str,
    password: &SecretString,
    temporary: bool,
) -> Result<(), UserError> {
    if password.expose_secret().is_empty() {
        return Err(UserError::EmptyPassword);
    }
    find_user(db, id).await?;
    let hash = hasher.hash(password).await?;
    db::users::set_password_hash(db, id, &hash, temporary, now()).await?;
    Ok(())
}

/// A page of users matching `query` by username or email.
pub async fn search_users(db: &Db, query: &str, page: u64, per_page: u64) -> Result<(Vec<User>, u64), UserError> {
    Ok(db::users::search(db, query, page.saturating_sub(1) * per_page, per_page).await?)
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
