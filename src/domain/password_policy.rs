//! The policy every new password meets, on every path that sets one (the CLI, the console,
//! the admin API, bootstrap, the account page, temporary passwords): a length between
//! `passwords.min_length` and 128 characters, and a zxcvbn strength of at least
//! `passwords.min_strength`. zxcvbn ships frequency lists of common and breached passwords,
//! names and words, and is given the user's own username, name and email, so "alice2024"
//! for alice scores low.

use secrecy::{ExposeSecret, SecretString};

use crate::config::PasswordSettings;

/// The most characters a password may have: argon2 and zxcvbn stay cheap below it.
pub const MAX_LENGTH: usize = 128;

/// Why a new password is refused; each message is meant for the person choosing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the password must be at least {0} characters")]
    TooShort(usize),
    #[error("the password must be at most {MAX_LENGTH} characters")]
    TooLong,
    #[error("the password is too easy to guess{0}")]
    TooWeak(String),
}

/// Checks a new password; `personal` holds the user's own words (username, name, email).
pub fn check(settings: &PasswordSettings, password: &SecretString, personal: &[&str]) -> Result<(), PolicyError> {
    let password = password.expose_secret();
    let length = password.chars().count();
    if length < settings.min_length.max(1) {
        return Err(PolicyError::TooShort(settings.min_length.max(1)));
    }
    if length > MAX_LENGTH {
        return Err(PolicyError::TooLong);
    }
    if settings.min_strength == 0 {
        return Ok(());
    }
    let estimate = zxcvbn::zxcvbn(password, personal);
    if u8::from(estimate.score()) >= settings.min_strength {
        return Ok(());
    }
    let why = estimate.feedback().and_then(|feedback| feedback.warning()).map(|warning| format!(": {warning}"));
    Err(PolicyError::TooWeak(why.unwrap_or_else(|| "; add a few more uncommon words".into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordSettings {
        PasswordSettings { min_length: 10, min_strength: 3, ..PasswordSettings::default() }
    }

    #[test]
    fn length_is_bounded_on_both_sides() {
        assert_eq!(check(&policy(), &"Tr0ub4dor".into(), &[]), Err(PolicyError::TooShort(10)));
        assert_eq!(check(&policy(), &"x".repeat(129).into(), &[]), Err(PolicyError::TooLong));
    }

    #[test]
    fn common_and_personal_passwords_are_too_weak() {
        for weak in ["password123", "qwertyuiop", "1234567890", "iloveyou12"] {
            assert!(matches!(check(&policy(), &weak.into(), &[]), Err(PolicyError::TooWeak(_))), "{weak}");
        }
        let personal = check(&policy(), &"alicesmith1990".into(), &["alicesmith", "alice@example.com"]);
        assert!(matches!(personal, Err(PolicyError::TooWeak(_))));
    }

    #[test]
    fn a_long_uncommon_passphrase_is_accepted() {
        assert_eq!(check(&policy(), &"mauve kettle orbits quietly".into(), &[]), Ok(()));
        let relaxed = PasswordSettings { min_length: 1, min_strength: 0, ..PasswordSettings::default() };
        assert_eq!(check(&relaxed, &"pw".into(), &[]), Ok(()));
    }
}
