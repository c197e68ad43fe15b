//! OpenID Connect upstreams: verifying their ID tokens and reading their user info.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::UpstreamProvider;
use super::protocol::{Endpoints, UpstreamFailure, UpstreamIdentity};
use crate::state::AppState;

/// Signature algorithms an upstream ID token may use, if its discovery lists them.
pub(super) const ASYMMETRIC: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

#[derive(Deserialize)]
struct IdTokenClaims {
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    aud: Value,
    #[serde(default)]
    azp: Option<String>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// Verifies an upstream ID token: an algorithm its discovery lists (never `none` or HMAC),
/// a key from its JWKS (fetched again, rate-limited, for an unknown `kid`), its issuer,
/// our client id in `aud` (and `azp` when several), not expired, and our `nonce`.
pub(super) async fn verify_id_token(
    state: &AppState,
    provider: &UpstreamProvider,
    endpoints: &Endpoints,
    id_token: &str,
    nonce: &str,
) -> Result<Map<String, Value>, UpstreamFailure> {
    let invalid = |why: &str| UpstreamFailure::Invalid(why.to_string());
    let header = jsonwebtoken::decode_header(id_token).map_err(|_| match unsupported_alg(id_token) {
        // `none`, or an algorithm the library does not know: refused by name.
        Some(alg) => UpstreamFailure::Invalid(format!("the ID token is signed with {alg:?}, not what discovery lists")),
        None => invalid("the ID token is malformed"),
    })?;
    if !endpoints.algorithms.contains(&header.alg) {
        return Err(UpstreamFailure::Invalid(format!(
            "the ID token is signed with {:?}, not what discovery lists",
            header.alg
        )));
    }
    let jwks_uri = endpoints.jwks_uri.as_deref().ok_or_else(|| invalid("no jwks_uri"))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&provider.issuer]);
    validation.set_audience(&[&provider.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 60;
    let mut verified = None;
    for refetch in [false, true] {
        let set = state.upstreams.keys(jwks_uri, refetch).await?;
        let key = set.keys.iter().find(|jwk| header.kid.is_none() || jwk.common.key_id == header.kid);
        let Some(jwk) = key else { continue };
        let key = DecodingKey::from_jwk(jwk).map_err(|_| invalid("the upstream's key is unusable"))?;
        use jsonwebtoken::errors::ErrorKind;
        verified = Some(jsonwebtoken::decode::<IdTokenClaims>(id_token, &key, &validation).map_err(|error| {
            let why = match error.kind() {
                ErrorKind::InvalidSignature => "the ID token's signature does not verify",
                ErrorKind::ExpiredSignature => "the ID token has expired",
                ErrorKind::InvalidIssuer => "the ID token is from another issuer",
                ErrorKind::InvalidAudience => "the ID token is for another client",
                _ => "the ID token does not verify",
            };
            invalid(why)
        })?);
        break;
    }
    let claims = verified.ok_or_else(|| invalid("the ID token's key is not in the upstream's key set"))?.claims;
    if !claims.nonce.as_deref().is_some_and(|n| crate::domain::constant_time_eq(n.as_bytes(), nonce.as_bytes())) {
        return Err(invalid("the ID token's nonce is not the one sent"));
    }
    let several_audiences = claims.aud.as_array().is_some_and(|a| a.len() > 1);
    if (several_audiences || claims.azp.is_some()) && claims.azp.as_deref().is_some_and(|azp| azp != provider.client_id)
    {
        return Err(invalid("the ID token was issued to another client (azp)"));
    }
    let mut all = claims.rest;
    all.insert("aud".into(), claims.aud);
    Ok(all)
}

/// For a journey that asked for a fresh sign-in (`prompt=login`): the upstream's
/// `auth_time` must be no earlier than the journey's start (a minute's clock skew allowed).
/// GitHub has no such claim and is not asked.
pub(super) fn require_fresh_sign_in(claims: &Map<String, Value>, started_at: i64) -> Result<(), UpstreamFailure> {
    match claims.get("auth_time").and_then(Value::as_i64) {
        Some(auth_time) if auth_time >= started_at - 60 => Ok(()),
        _ => Err(UpstreamFailure::Invalid("the upstream did not sign the user in again (auth_time)".into())),
    }
}

/// The `alg` a JWT's header names, read without the JWT library (which refuses `none`).
fn unsupported_alg(jwt: &str) -> Option<String> {
    let header = URL_SAFE_NO_PAD.decode(jwt.split('.').next()?).ok()?;
    let header: Value = serde_json::from_slice(&header).ok()?;
    header["alg"].as_str().map(|alg| alg.chars().take(16).collect())
}

/// Adds user-info claims the ID token lacks (Entra ID and others put few in it). A failing
/// user-info endpoint is not fatal: the verified ID token is enough to sign in.
pub(super) async fn merge_userinfo(
    state: &AppState,
    endpoint: &str,
    access_token: &str,
    claims: &mut Map<String, Value>,
) {
    match state.upstreams.get_json(endpoint, Some(access_token)).await {
        Ok(Value::Object(info)) if info.get("sub") == claims.get("sub") => {
            for (name, value) in info {
                claims.entry(name).or_insert(value);
            }
        }
        Ok(_) => tracing::warn!(endpoint, "the upstream's user info is for another subject; ignored"),
        Err(error) => tracing::warn!(endpoint, %error, "cannot read the upstream's user info"),
    }
}

pub(super) fn identity(provider: &UpstreamProvider, claims: Map<String, Value>) -> UpstreamIdentity {
    let email_claim = provider.profile_claims.get("email").map(String::as_str).unwrap_or("email");
    let email = claims.get(email_claim).and_then(Value::as_str).map(str::to_string);
    let email_verified = matches!(claims.get("email_verified"), Some(Value::Bool(true)))
        || matches!(claims.get("email_verified"), Some(Value::String(s)) if s == "true");
    let multi_factor = claims.get("amr").and_then(Value::as_array).is_some_and(|amr| amr.iter().any(|m| m == "mfa"));
    let subject = claims.get("sub").and_then(Value::as_str).unwrap_or_default().to_string();
    UpstreamIdentity { subject, claims, email, email_verified, multi_factor }
}
