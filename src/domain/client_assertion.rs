//! `private_key_jwt` client authentication (RFC 7523 §2.2, OpenID Connect Core §9): the
//! client proves itself with a short-lived JWT signed by one of its keys, so no shared
//! secret exists at all. Checked: an asymmetric algorithm, a key of the client's (its
//! `jwks`, or its `jwks_uri`, fetched SSRF-safely and cached), `iss` = `sub` = the client
//! id, `aud` naming this server, a near `exp`, and a `jti` never seen before.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::model::{Client, ClientKeys};
use super::{UnixTime, sha256_b64};
use crate::state::AppState;

/// The `client_assertion_type` of a JWT assertion.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Asymmetric algorithms only: `none` and HMAC (keyed with what?) are never accepted.
pub const ALGORITHMS: [Algorithm; 5] =
    [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA];

/// An assertion may not be valid for longer than this from now.
const MAX_LIFETIME_SECS: i64 = 600;

#[derive(Debug, thiserror::Error)]
pub enum AssertionError {
    #[error("the assertion is malformed")]
    Malformed,
    #[error("the assertion's algorithm is not accepted")]
    Algorithm,
    #[error("the client's keys cannot be read: {0}")]
    Keys(String),
    #[error("no key of the client verifies the assertion, or its claims are wrong")]
    Invalid,
    #[error("the assertion is valid for too long")]
    TooLong,
    #[error("the assertion was used before")]
    Replayed,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

pub fn parse_jwks(json: &str) -> Result<JwkSet, serde_json::Error> {
    serde_json::from_str(json)
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    jti: String,
    exp: i64,
}

/// The client an assertion claims to come from (its `sub`), unverified: which client's
/// keys to check it with.
pub fn claimed_client(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims["sub"].as_str().map(str::to_string)
}

async fn client_keys(state: &AppState, keys: &ClientKeys, fresh: bool) -> Result<JwkSet, AssertionError> {
    match keys {
        ClientKeys::Jwks(json) => parse_jwks(json).map_err(|e| AssertionError::Keys(e.to_string())),
        ClientKeys::JwksUri(uri) => {
            if fresh {
                state.fetcher.forget(uri);
            }
            let document = state.fetcher.json(uri).await.map_err(|e| AssertionError::Keys(e.to_string()))?;
            serde_json::from_value(document).map_err(|e| AssertionError::Keys(e.to_string()))
        }
    }
}

/// Verifies `assertion` as `client`'s, for one of `audiences` (this server's identifiers).
pub async fn verify(
    state: &AppState,
    client: &Client,
    assertion: &str,
    audiences: &[String],
    now: UnixTime,
) -> Result<(), AssertionError> {
    let Some(keys) = &client.keys else { return Err(AssertionError::Invalid) };
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| AssertionError::Malformed)?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(AssertionError::Algorithm);
    }
    let mut validation = Validation::new(header.alg);
    validation.set_audience(audiences);
    validation.set_issuer(&[&client.id]);
    validation.sub = Some(client.id.clone());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.leeway = 30;
    // A key the client rotated in since the set was cached: fetch its `jwks_uri` once more.
    let mut claims = None;
    for fresh in [false, true] {
        let set = client_keys(state, keys, fresh).await?;
        let candidates = set.keys.iter().filter(|jwk| header.kid.is_none() || jwk.common.key_id == header.kid);
        claims = candidates
            .filter_map(|jwk| DecodingKey::from_jwk(jwk).ok())
            .find_map(|key| jsonwebtoken::decode::<Claims>(assertion, &key, &validation).ok())
            .map(|data| data.claims);
        if claims.is_some() || !matches!(keys, ClientKeys::JwksUri(_)) {
            break;
        }
    }
    let claims = claims.ok_or(AssertionError::Invalid)?;
    if claims.sub != client.id || claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(AssertionError::Invalid);
    }
    if claims.exp - now > MAX_LIFETIME_SECS {
        return Err(AssertionError::TooLong);
    }
    // Each assertion once (RFC 7523 §3 item 7): its jti is remembered until it expires.
    let key = format!("client-assertion:{}", sha256_b64(format!("{}\n{}", client.id, claims.jti).as_bytes()));
    let remember = Duration::from_secs((claims.exp - now).max(0) as u64 + 60);
    if !state.ephemeral.put_if_absent(&key, b"1", remember).await.map_err(anyhow::Error::from)? {
        return Err(AssertionError::Replayed);
    }
    Ok(())
}
