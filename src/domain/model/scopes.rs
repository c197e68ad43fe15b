//! Scopes (RFC 6749 §3.3): a space-separated list on the wire, a [`ScopeSet`] inside.
//! Parsed once where a request or a registration brings them in; compared by name, never
//! by splitting a string again.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The scope that makes a request an OpenID Connect request.
pub const OPENID: &str = "openid";
/// The scope that asks for a refresh token (OIDC Core §11).
pub const OFFLINE_ACCESS: &str = "offline_access";
/// The scope that opens the admin API.
pub const ADMIN: &str = "admin";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a valid scope")]
pub struct ScopeError(pub String);

/// An ordered set of scope names: no duplicates, each a valid scope token. Serialized as a
/// list, as the scope vectors before it were.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScopeSet(Vec<String>);

impl ScopeSet {
    /// Parses a space-separated list, checking each token's characters (RFC 6749 §3.3:
    /// `%x21 / %x23-5B / %x5D-7E`) and dropping repeats.
    pub fn parse(raw: &str) -> Result<ScopeSet, ScopeError> {
        let mut set = ScopeSet::default();
        for scope in raw.split(' ').filter(|s| !s.is_empty()) {
            let valid = scope.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
            if !valid {
                return Err(ScopeError(scope.to_string()));
            }
            set.insert(scope);
        }
        Ok(set)
    }

    /// A list written by this server (the database): split without checking again.
    pub fn from_stored(raw: &str) -> ScopeSet {
        let mut set = ScopeSet::default();
        for scope in raw.split(' ').filter(|s| !s.is_empty()) {
            set.insert(scope);
        }
        set
    }

    pub fn insert(&mut self, scope: &str) {
        if !self.contains(scope) {
            self.0.push(scope.to_string());
        }
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    pub fn contains_openid(&self) -> bool {
        self.contains(OPENID)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The first scope of `self` that `allowed` does not contain.
    pub fn first_outside(&self, allowed: &ScopeSet) -> Option<&str> {
        self.iter().find(|s| !allowed.contains(s))
    }

    pub fn is_subset_of(&self, other: &ScopeSet) -> bool {
        self.first_outside(other).is_none()
    }

    /// Every scope of `self` and then those of `other` it lacks.
    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        let mut union = self.clone();
        for scope in other.iter() {
            union.insert(scope);
        }
        union
    }

    /// The scopes of `self` that `other` contains too, in `self`'s order.
    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.iter().filter(|s| other.contains(s)).cloned().collect())
    }

    /// `self` without the named scopes.
    pub fn without(&self, names: &[&str]) -> ScopeSet {
        ScopeSet(self.0.iter().filter(|s| !names.contains(&s.as_str())).cloned().collect())
    }
}

/// The wire form: names separated by one space.
impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

impl<const N: usize> From<[&str; N]> for ScopeSet {
    fn from(scopes: [&str; N]) -> ScopeSet {
        let mut set = ScopeSet::default();
        for scope in scopes {
            set.insert(scope);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_split_once_and_repeats_dropped() {
        let set = ScopeSet::parse("openid  profile openid").unwrap();
        assert_eq!(set.iter().collect::<Vec<_>>(), vec!["openid", "profile"]);
        assert!(set.contains_openid());
        assert_eq!(set.to_string(), "openid profile");
    }

    #[test]
    fn scopes_with_forbidden_characters_are_refused() {
        assert_eq!(ScopeSet::parse("open\"id"), Err(ScopeError("open\"id".into())));
        assert!(ScopeSet::parse("a\\b").is_err());
    }

    #[test]
    fn subsets_unions_and_removals() {
        let allowed = ScopeSet::from(["openid", "profile", "email"]);
        let asked = ScopeSet::from(["openid", "admin"]);
        assert_eq!(asked.first_outside(&allowed), Some("admin"));
        assert!(!asked.is_subset_of(&allowed));
        assert!(ScopeSet::from(["email"]).is_subset_of(&allowed));
        assert_eq!(allowed.union(&asked).to_string(), "openid profile email admin");
        assert_eq!(allowed.without(&[OPENID]).to_string(), "profile email");
        assert_eq!(allowed.intersection(&asked).to_string(), "openid");
    }
}
