//! DPoP (RFC 9449): sender-constrained tokens. The client proves, with each request, that
//! it holds a private key: a `DPoP` header carries a fresh JWT signed by that key, naming the
//! method and URL it is for (and, at a resource, the hash of the access token). Tokens issued
//! with a proof carry the key's thumbprint (`cnf.jkt`), so a stolen token is useless without
//! the key.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::json;

use super::tokens::AccessClaims;
use super::{UnixTime, sha256_b64};
use crate::state::AppState;

/// The algorithms a proof may use: asymmetric only.
pub const ALGORITHMS: [Algorithm; 5] =
    [Algorithm::ES256, Algorithm::ES384, Algorithm::RS256, Algorithm::PS256, Algorithm::EdDSA];

/// How far a proof's `iat` may be from now.
const IAT_WINDOW_SECS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum DpopError {
    #[error("the DPoP proof is malformed")]
    Malformed,
    #[error("the DPoP proof must be typed dpop+jwt, use an asymmetric algorithm and carry a public jwk")]
    Header,
    #[error("the DPoP proof's signature does not verify")]
    Signature,
    #[error("the DPoP proof is for another method or URL")]
    WrongTarget,
    #[error("the DPoP proof is too old or from the future")]
    Stale,
    #[error("the DPoP proof was used before")]
    Replayed,
    #[error("the DPoP proof does not match the access token")]
    WrongToken,
    /// A bound token presented as a Bearer token, or without a proof.
    #[error("the access token is bound to a DPoP key: present it with the DPoP scheme and a proof")]
    ProofRequired,
    /// A DPoP presentation of a token that is not bound to a key.
    #[error("the access token is not bound to a DPoP key")]
    NotBound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[derive(Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    ath: Option<String>,
}

/// The JWK SHA-256 thumbprint (RFC 7638): the required members in lexicographic order.
pub fn thumbprint(jwk: &Jwk) -> Option<String> {
    let canonical = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) => {
            let curve = serde_json::to_value(&ec.curve).ok()?;
            json!({ "crv": curve, "kty": "EC", "x": ec.x, "y": ec.y }).to_string()
        }
        AlgorithmParameters::RSA(rsa) => json!({ "e": rsa.e, "kty": "RSA", "n": rsa.n }).to_string(),
        AlgorithmParameters::OctetKeyPair(okp) => {
            let curve = serde_json::to_value(&okp.curve).ok()?;
            json!({ "crv": curve, "kty": "OKP", "x": okp.x }).to_string()
        }
        _ => return None,
    };
    Some(sha256_b64(canonical.as_bytes()))
}

/// `htu` and the URL called agree without query and fragment (RFC 9449 §4.3).
fn same_target(htu: &str, url: &str) -> bool {
    let strip = |raw: &str| {
        url::Url::parse(raw).ok().map(|mut url| {
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        })
    };
    matches!((strip(htu), strip(url)), (Some(a), Some(b)) if a == b)
}

/// Verifies a DPoP proof for a `method` request to `url` (and, at a resource, for
/// `access_token`); returns the thumbprint of its key. Each proof is accepted once.
pub async fn verify_proof(
    state: &AppState,
    proof: &str,
    method: &str,
    url: &str,
    access_token: Option<&str>,
    now: UnixTime,
) -> Result<String, DpopError> {
    if proof.len() > 8192 {
        return Err(DpopError::Malformed);
    }
    let header = jsonwebtoken::decode_header(proof).map_err(|_| DpopError::Malformed)?;
    let typed = header.typ.as_deref().is_some_and(|typ| typ.eq_ignore_ascii_case("dpop+jwt"));
    let Some(jwk) = header.jwk.filter(|_| typed && ALGORITHMS.contains(&header.alg)) else {
        return Err(DpopError::Header);
    };
    let jkt = thumbprint(&jwk).ok_or(DpopError::Header)?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| DpopError::Header)?;
    let mut validation = Validation::new(header.alg);
    validation.set_required_spec_claims::<&str>(&[]);
    validation.validate_exp = false;
    validation.validate_aud = false;
    let claims =
        jsonwebtoken::decode::<ProofClaims>(proof, &key, &validation).map_err(|_| DpopError::Signature)?.claims;
    if !claims.htm.eq_ignore_ascii_case(method) || !same_target(&claims.htu, url) {
        return Err(DpopError::WrongTarget);
    }
    if (claims.iat - now).abs() > IAT_WINDOW_SECS {
        return Err(DpopError::Stale);
    }
    if let Some(token) = access_token {
        let expected =
            URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()).as_ref());
        if claims.ath.as_deref() != Some(expected.as_str()) {
            return Err(DpopError::WrongToken);
        }
    }
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(DpopError::Malformed);
    }
    let key = format!("dpop-jti:{}", sha256_b64(format!("{jkt}\n{}", claims.jti).as_bytes()));
    let remember = Duration::from_secs(2 * IAT_WINDOW_SECS as u64 + 60);
    if !state.ephemeral.put_if_absent(&key, b"1", remember).await.map_err(anyhow::Error::from)? {
        return Err(DpopError::Replayed);
    }
    Ok(jkt)
}

/// Checks how an access token is presented at a resource (RFC 9449 §7): a bound token
/// only with the `DPoP` scheme and a proof by its key, for this method, URL and token; an
/// unbound one only as a Bearer token.
pub async fn check_presentation(
    state: &AppState,
    claims: &AccessClaims,
    presentation: Presentation<'_>,
    method: &str,
    url: &str,
    now: UnixTime,
) -> Result<(), DpopError> {
    match (&claims.cnf, presentation) {
        (None, Presentation::Bearer) => Ok(()),
        (None, Presentation::Dpop { .. }) => Err(DpopError::NotBound),
        (Some(_), Presentation::Bearer | Presentation::Dpop { proof: None, .. }) => Err(DpopError::ProofRequired),
        (Some(cnf), Presentation::Dpop { token, proof: Some(proof) }) => {
            let jkt = verify_proof(state, proof, method, url, Some(token), now).await?;
            if jkt == cnf.jkt { Ok(()) } else { Err(DpopError::WrongToken) }
        }
    }
}

/// How a resource request carried its access token.
#[derive(Debug, Clone, Copy)]
pub enum Presentation<'a> {
    /// `Authorization: Bearer`.
    Bearer,
    /// `Authorization: DPoP`, with the `DPoP` header's proof if there was exactly one.
    Dpop { token: &'a str, proof: Option<&'a str> },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc7638_example_thumbprint() {
        let jwk: Jwk = serde_json::from_value(json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }))
        .unwrap();
        assert_eq!(thumbprint(&jwk).as_deref(), Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"));
    }

    #[test]
    fn targets_compare_without_query_and_fragment() {
        assert!(same_target("https://as.example/token?x=1", "https://as.example/token"));
        assert!(!same_target("https://as.example/token", "https://as.example/userinfo"));
    }
}
