//! Signing in with a username and password.

use secrecy::SecretString;

use super::now;
use super::passwords::{PasswordHasher, Verification};
use super::users::{User, Username};
use crate::store::db::{self, Db};

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
pub async fn sign_in_with_password(
    db: &Db,
    hasher: &PasswordHasher,
    username: &str,
    password: &SecretString,
) -> Result<User, LoginError> {
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
    match verification {
        Verification::Mismatch => Err(LoginError::InvalidCredentials),
        Verification::Match => Ok(user),
        Verification::MatchNeedsRehash => {
            let fresh = hasher.hash(password).await?;
            db::users::set_password_hash(db, &user.id, &fresh, now()).await?;
            tracing::info!(user_id = %user.id, "upgraded the password hash to the current argon2id parameters");
            Ok(user)
        }
    }
}
