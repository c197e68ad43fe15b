//! The claims a client receives beyond the standard profile and email ones: `groups` (with
//! the `groups` scope, filtered by the client's `released_groups`) and user attributes the
//! client's claim mappings release on a granted scope. Resolved when tokens are minted (at
//! the code exchange and at every refresh); the access token carries them, so userinfo
//! answers from it.

use serde_json::{Map, Value};

use super::groups;
use super::model::{Client, ScopeSet, User};
use crate::store::db::Db;

/// The scope that releases the `groups` claim.
pub const GROUPS_SCOPE: &str = "groups";

/// Claim names a mapping may not take: the protocol's own, and the standard ones.
const RESERVED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "sid",
    "scope",
    "client_id",
    "gid",
    "groups",
    "name",
    "preferred_username",
    "email",
    "email_verified",
];

pub fn is_reserved(claim: &str) -> bool {
    RESERVED.contains(&claim)
}

/// The extra claims of a token for `user` at `client` with `scope`.
pub async fn released(db: &Db, client: &Client, user: &User, scope: &ScopeSet) -> anyhow::Result<Map<String, Value>> {
    let mut claims = Map::new();
    if scope.contains(GROUPS_SCOPE) {
        let groups = groups::released_to(client, groups::groups_of(db, &user.id).await?);
        claims.insert("groups".into(), Value::from(groups));
    }
    for mapping in &client.policy.claim_mappings {
        if scope.contains(&mapping.scope)
            && let Some(value) = user.attributes.get(&mapping.attribute)
        {
            claims.insert(mapping.claim.clone(), Value::from(value.as_str()));
        }
    }
    Ok(claims)
}
