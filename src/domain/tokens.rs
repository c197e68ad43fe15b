//! Tokens: minting the ID token (OIDC Core §2) and the access token (a JWT per RFC 9068),
//! verifying access tokens presented back to us, and revoking the grants they belong to.
//!
//! Every access token carries `gid`, the id of the grant it was issued under (one code
//! exchange, or one client-credentials request). Revoking a grant records it durably in
//! the database for as long as any of its tokens can live; verification checks it, so a
//! lost ephemeral store can never bring a revoked token back. Refresh tokens are opaque and
//! live in the database (`domain::grants`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::access_cache::{self, Seen};
use super::keys::{KeyError, Keyring};
use super::model::{ApiResource, ScopeSet, User};
use super::{UnixTime, assurance, clients, random_token, users};
use crate::config::Settings;
use crate::state::AppState;
use crate::store::db::{self, Db};

/// Who and what tokens are issued for.
#[derive(Debug, Clone)]
pub struct Grant {
    pub grant_id: String,
    pub client_id: String,
    /// The signed-in user; `None` for client credentials (the client is the subject).
    pub user: Option<User>,
    pub scope: ScopeSet,
    pub nonce: Option<String>,
    pub auth_time: Option<UnixTime>,
    pub amr: Vec<String>,
    pub session_id: Option<String>,
    /// Released beyond the standard claims: `groups`, mapped attributes (`domain::claims`).
    pub claims: Map<String, Value>,
    /// The API (RFC 8707) the access token is for; `None`: the client itself.
    pub audience: Option<ApiResource>,
    /// The thumbprint of the client's DPoP key (RFC 9449): the access token is bound to it.
    pub dpop_jkt: Option<String>,
}

#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub access_token: String,
    pub id_token: Option<String>,
    pub expires_in: u64,
    pub scope: String,
}

/// The claims of an access token this server issued. Read by a hand-written
/// `Deserialize` (below): serde's `flatten` would buffer every claim before reading any,
/// on the path every userinfo and introspection call takes.
#[derive(Debug, Clone, Serialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub jti: String,
    pub iat: UnixTime,
    pub exp: UnixTime,
    pub gid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<UnixTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// How strongly the user signed in (absent for a client acting for itself): the admin
    /// API checks it when `mfa.required_for_admins` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The key the token is bound to (RFC 9449 §6): only its holder may use the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// `groups` and mapped attributes, as in the ID token.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for AccessClaims {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(AccessClaimsVisitor)
    }
}

struct AccessClaimsVisitor;

impl<'de> serde::de::Visitor<'de> for AccessClaimsVisitor {
    type Value = AccessClaims;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("the claims of an access token")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<AccessClaims, A::Error> {
        use serde::de::Error;
        let (mut iss, mut sub, mut aud, mut client_id, mut scope, mut jti, mut gid) =
            (None, None, None, None, None, None, None);
        let (mut iat, mut exp, mut auth_time, mut sid, mut acr, mut cnf) = (None, None, None, None, None, None);
        let mut extra = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "iss" => iss = Some(map.next_value()?),
                "sub" => sub = Some(map.next_value()?),
                "aud" => aud = Some(map.next_value()?),
                "client_id" => client_id = Some(map.next_value()?),
                "scope" => scope = Some(map.next_value()?),
                "jti" => jti = Some(map.next_value()?),
                "gid" => gid = Some(map.next_value()?),
                "iat" => iat = Some(map.next_value()?),
                "exp" => exp = Some(map.next_value()?),
                "auth_time" => auth_time = map.next_value()?,
                "sid" => sid = map.next_value()?,
                "acr" => acr = map.next_value()?,
                "cnf" => cnf = map.next_value()?,
                _ => {
                    extra.insert(key, map.next_value()?);
                }
            }
        }
        Ok(AccessClaims {
            iss: iss.ok_or_else(|| A::Error::missing_field("iss"))?,
            sub: sub.ok_or_else(|| A::Error::missing_field("sub"))?,
            aud: aud.ok_or_else(|| A::Error::missing_field("aud"))?,
            client_id: client_id.ok_or_else(|| A::Error::missing_field("client_id"))?,
            scope: scope.ok_or_else(|| A::Error::missing_field("scope"))?,
            jti: jti.ok_or_else(|| A::Error::missing_field("jti"))?,
            iat: iat.ok_or_else(|| A::Error::missing_field("iat"))?,
            exp: exp.ok_or_else(|| A::Error::missing_field("exp"))?,
            gid: gid.ok_or_else(|| A::Error::missing_field("gid"))?,
            auth_time,
            sid,
            acr,
            cnf,
            extra,
        })
    }
}

/// `cnf` (RFC 7800) with a DPoP key's thumbprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

impl AccessClaims {
    pub fn scopes(&self) -> ScopeSet {
        ScopeSet::from_stored(&self.scope)
    }

    /// A client-credentials token: the client is the subject, no user signed in.
    pub fn is_client_acting_for_itself(&self) -> bool {
        self.auth_time.is_none() && self.sub == self.client_id
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not valid: {0}")]
    Invalid(&'static str),
    #[error("the token has been revoked")]
    Revoked,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Signs the access token and, when the grant has a user and `openid`, the ID token.
pub fn mint(settings: &Settings, keyring: &Keyring, grant: &Grant, now: UnixTime) -> Result<IssuedTokens, KeyError> {
    let key = keyring.signing_key(now)?;
    let subject = grant.user.as_ref().map_or(grant.client_id.clone(), |user| user.id.clone());
    // A token for an API is for that API alone: its identifier, its scopes, its lifetime.
    let (audience, scope, access_ttl) = match &grant.audience {
        Some(api) => (
            api.identifier.clone(),
            grant.scope.intersection(&api.scopes).to_string(),
            // Shorter only: key retirement and revocation records are sized to the global one.
            api.access_token_ttl_secs.unwrap_or(u64::MAX).min(settings.tokens.access_token_ttl_secs),
        ),
        None => (grant.client_id.clone(), grant.scope.to_string(), settings.tokens.access_token_ttl_secs),
    };
    let access = AccessClaims {
        iss: settings.issuer.clone(),
        sub: subject.clone(),
        aud: audience,
        client_id: grant.client_id.clone(),
        scope: scope.clone(),
        jti: random_token(16),
        iat: now,
        exp: now + access_ttl as i64,
        gid: grant.grant_id.clone(),
        auth_time: grant.auth_time,
        sid: grant.session_id.clone(),
        acr: (grant.user.is_some() && !grant.amr.is_empty()).then(|| assurance::achieved_acr(&grant.amr).to_string()),
        cnf: grant.dpop_jkt.clone().map(|jkt| Confirmation { jkt }),
        extra: grant.claims.clone(),
    };
    let access_token = key.sign_jwt("at+jwt", &access)?;

    let id_token = match &grant.user {
        Some(user) if grant.scope.contains_openid() => {
            let mut claims = Map::new();
            claims.insert("iss".into(), json!(settings.issuer));
            claims.insert("sub".into(), json!(subject));
            claims.insert("aud".into(), json!(grant.client_id));
            claims.insert("exp".into(), json!(now + settings.tokens.id_token_ttl_secs as i64));
            claims.insert("iat".into(), json!(now));
            if let Some(auth_time) = grant.auth_time {
                claims.insert("auth_time".into(), json!(auth_time));
            }
            if let Some(nonce) = &grant.nonce {
                claims.insert("nonce".into(), json!(nonce));
            }
            if !grant.amr.is_empty() {
                claims.insert("amr".into(), json!(grant.amr));
                claims.insert("acr".into(), json!(assurance::achieved_acr(&grant.amr)));
            }
            claims.insert("at_hash".into(), json!(at_hash(&access_token)));
            if let Some(sid) = &grant.session_id {
                claims.insert("sid".into(), json!(sid));
            }
            claims.extend(user_claims(user, &grant.scope));
            claims.extend(grant.claims.clone());
            Some(key.sign_jwt("JWT", &claims)?)
        }
        _ => None,
    };
    Ok(IssuedTokens { access_token, id_token, expires_in: access_ttl, scope })
}

/// OIDC Core §3.1.3.6: base64url of the left half of SHA-256 of the access token.
pub fn at_hash(access_token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}

/// The user's claims that `scopes` release (OIDC Core §5.4). Only what the server can
/// vouch for: `email_verified` is true only for an address the user proved they receive
/// mail at.
pub fn user_claims(user: &User, scopes: &ScopeSet) -> Map<String, Value> {
    let mut claims = Map::new();
    if scopes.contains("profile") {
        claims.insert("preferred_username".into(), json!(user.username));
        if let Some(name) = &user.display_name {
            claims.insert("name".into(), json!(name));
        }
        claims.insert("updated_at".into(), json!(user.updated_at));
    }
    if scopes.contains("email")
        && let Some(email) = &user.email
    {
        claims.insert("email".into(), json!(email));
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    claims
}

/// An access token that checked out, and the user it acts for (none for a client acting
/// for itself).
#[derive(Debug, Clone)]
pub struct VerifiedAccess {
    pub claims: AccessClaims,
    pub user: Option<User>,
}

/// Verifies an access token we issued: RS256 only, a `kid` we publish (never a key the
/// token points to: `jku`, `x5u` and `jwk` headers are ignored), the signature, `typ`,
/// `iss`, `exp`/`nbf`/`iat`; that its grant was not revoked; and that its client and its
/// user still exist and are enabled. The one check every endpoint that accepts an access
/// token makes.
///
/// What it reads from the database is cached per instance while the ephemeral store says
/// nothing changed (see [`access_cache`]): a warm check costs the signature and one round
/// trip to the ephemeral store.
pub async fn verify_access_token(state: &AppState, token: &str, now: UnixTime) -> Result<VerifiedAccess, TokenError> {
    let claims = verify_signed_claims(state, token, now)?;
    let user_id = (!claims.is_client_acting_for_itself()).then_some(claims.sub.as_str());
    let seen = access_cache::look(state, &claims.gid, user_id, &claims.client_id).await;
    let stamp = match seen {
        Seen::Revoked => return Err(TokenError::Revoked),
        Seen::Current(stamp) => match state.access_cache.grants.get(&claims.gid, &stamp) {
            Some(user) => return Ok(VerifiedAccess { claims, user }),
            None => Some(stamp),
        },
        Seen::Unknown => None,
    };
    if is_grant_revoked(&state.db, &claims.gid).await? {
        return Err(TokenError::Revoked);
    }
    if clients::find_usable(state, &claims.client_id).await?.is_none() {
        return Err(TokenError::Invalid("the client no longer exists or is disabled"));
    }
    let user = match claims.is_client_acting_for_itself() {
        true => None,
        false => match users::find_enabled(&state.db, &claims.sub).await? {
            Some(user) => Some(user),
            None => return Err(TokenError::Invalid("the user no longer exists or is disabled")),
        },
    };
    if let Some(stamp) = stamp {
        state.access_cache.grants.put(&claims.gid, stamp, user.clone());
    }
    Ok(VerifiedAccess { claims, user })
}

fn verify_signed_claims(state: &AppState, token: &str, now: UnixTime) -> Result<AccessClaims, TokenError> {
    let (settings, keyring) = (&state.settings, &state.keyring);
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid("malformed"))?;
    if header.alg != Algorithm::RS256 {
        return Err(TokenError::Invalid("algorithm"));
    }
    if !header.typ.as_deref().is_some_and(|typ| typ.eq_ignore_ascii_case("at+jwt")) {
        return Err(TokenError::Invalid("not an access token"));
    }
    let kid = header.kid.ok_or(TokenError::Invalid("no kid"))?;
    let key = keyring.verification_key(&kid).ok_or(TokenError::Invalid("unknown key"))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&settings.issuer]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.leeway = 30;
    let data = jsonwebtoken::decode::<AccessClaims>(token, key.decoding_key(), &validation)
        .map_err(|_| TokenError::Invalid("signature or claims"))?;
    let claims = data.claims;
    if claims.iat > now + 30 {
        return Err(TokenError::Invalid("issued in the future"));
    }
    Ok(claims)
}

/// Makes every token of `grant_id` invalid from now on, durably: the record lives as long
/// as any token of the grant can (the longest token lifetime, and then some). Then every
/// instance's access cache is told.
pub async fn revoke_grant(state: &AppState, grant_id: &str, now: UnixTime) -> anyhow::Result<()> {
    let tokens = &state.settings.tokens;
    let longest = tokens.access_token_ttl_secs.max(tokens.refresh_token_ttl_secs).max(tokens.id_token_ttl_secs);
    db::revoked_grants::insert(&state.db, grant_id, now, now + longest as i64 + 60).await?;
    access_cache::grant_revoked(state, grant_id).await?;
    Ok(())
}

/// Forgets revocations whose tokens have all expired; run periodically by every instance.
pub async fn purge_expired_revocations(db: &Db, now: UnixTime) -> anyhow::Result<u64> {
    db::revoked_grants::purge_expired(db, now).await
}

pub async fn is_grant_revoked(db: &Db, grant_id: &str) -> anyhow::Result<bool> {
    db::revoked_grants::contains(db, grant_id).await
}

/// What logout needs from an `id_token_hint`.
#[derive(Debug, Clone, Deserialize)]
pub struct IdTokenHint {
    pub sub: String,
    pub aud: String,
    pub sid: Option<String>,
}

/// Verifies an ID token we issued, as a logout hint: signature and issuer must hold, but
/// an expired hint is fine (OpenID RP-Initiated Logout 1.0 §2).
pub fn verify_id_token_hint(settings: &Settings, keyring: &Keyring, token: &str) -> Option<IdTokenHint> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    // Our ID tokens are typed `JWT`; an access token (`at+jwt`) or a logout token is no hint.
    if header.alg != Algorithm::RS256 || !header.typ.as_deref().is_some_and(|typ| typ.eq_ignore_ascii_case("JWT")) {
        return None;
    }
    let key = keyring.verification_key(&header.kid?)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&settings.issuer]);
    validation.set_required_spec_claims(&["iss", "sub", "aud"]);
    validation.validate_exp = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<IdTokenHint>(token, key.decoding_key(), &validation).ok().map(|data| data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_claims_read_back_what_was_written_extra_claims_included() {
        let written = json!({
            "iss": "https://id.example", "sub": "u1", "aud": "app", "client_id": "app", "scope": "openid",
            "jti": "j", "iat": 1, "exp": 2, "gid": "g", "acr": "urn:latchkey:acr:pwd",
            "cnf": {"jkt": "abc"}, "groups": ["staff"], "dept": "R&D",
        });
        let claims: AccessClaims = serde_json::from_value(written.clone()).unwrap();
        assert_eq!((claims.auth_time, claims.cnf.as_ref().map(|c| c.jkt.as_str())), (None, Some("abc")));
        assert_eq!(claims.extra.len(), 2);
        assert_eq!(serde_json::to_value(&claims).unwrap(), written);
        let mut missing = written;
        missing.as_object_mut().unwrap().remove("gid");
        assert!(serde_json::from_value::<AccessClaims>(missing).is_err());
    }
}
