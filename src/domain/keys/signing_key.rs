//! One RSA signing key: generated with the `rsa` crate (which never signs: RUSTSEC-2023-0071),
//! parsed once into an aws-lc-rs key pair that does every signature.

use std::sync::Arc;

use anyhow::Context;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde::Serialize;

use super::{KeyError, SealedKey};
use crate::domain::{UnixTime, sha256_b64};

/// A freshly generated key: its public parameters and its PKCS#8 private key.
pub struct GeneratedKey {
    pub kid: String,
    pub n: String,
    pub e: String,
    pub pkcs8: PrivateKeyDer,
}

/// Generates an RSA key of `bits` bits. Takes from 0.1 s (2048) to seconds (4096): call it
/// on a blocking thread.
pub fn generate(bits: usize) -> Result<GeneratedKey, KeyError> {
    let private = rsa::RsaPrivateKey::new(&mut rand::rng(), bits).context("RSA key generation failed")?;
    let n = URL_SAFE_NO_PAD.encode(private.n_bytes());
    let e = URL_SAFE_NO_PAD.encode(private.e_bytes());
    let pkcs8 = private.to_pkcs8_der().context("cannot encode the RSA key as PKCS#8")?;
    Ok(GeneratedKey { kid: thumbprint(&n, &e), n, e, pkcs8: PrivateKeyDer(pkcs8.as_bytes().to_vec()) })
}

/// The RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic
/// order, without whitespace, base64url.
pub fn thumbprint(n: &str, e: &str) -> String {
    sha256_b64(format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#).as_bytes())
}

/// A key ready to sign or to be published.
pub struct SigningKey {
    pub kid: String,
    pub generation: i64,
    pub bits: usize,
    pub n: String,
    pub e: String,
    pub created_at: UnixTime,
    /// When it starts signing; until then it is only published.
    pub activates_at: UnixTime,
    key_pair: Arc<RsaKeyPair>,
    /// The public half as jsonwebtoken wants it for verification, built once.
    decoding_key: jsonwebtoken::DecodingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// A public JWK (RFC 7517) as published: never a private member.
#[derive(Debug, Serialize)]
pub struct PublicJwk<'a> {
    pub kty: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub alg: &'static str,
    pub kid: &'a str,
    pub n: &'a str,
    pub e: &'a str,
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'a str,
    kid: &'a str,
}

impl SigningKey {
    /// Parses a stored key's private half once; it signs from then on. The row must be
    /// bound to its private half: the public key derived from the decrypted private key
    /// must be the stored `n`/`e`, and the `kid` their thumbprint, or a tampered row could
    /// publish one key and sign with another.
    pub fn new(stored: SealedKey, pkcs8: &[u8]) -> Result<SigningKey, KeyError> {
        let key_pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| {
            KeyError::Unexpected(anyhow::anyhow!("stored key {} is not a valid RSA key: {e}", stored.kid))
        })?;
        let public = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(key_pair.public_key());
        let bound = URL_SAFE_NO_PAD.encode(&public.n) == stored.n
            && URL_SAFE_NO_PAD.encode(&public.e) == stored.e
            && thumbprint(&stored.n, &stored.e) == stored.kid;
        if !bound {
            return Err(KeyError::Mismatched(stored.kid));
        }
        let decoding_key = jsonwebtoken::DecodingKey::from_rsa_components(&stored.n, &stored.e).map_err(|e| {
            KeyError::Unexpected(anyhow::anyhow!("stored key {} has bad public parameters: {e}", stored.kid))
        })?;
        Ok(SigningKey {
            decoding_key,
            kid: stored.kid,
            generation: stored.generation,
            bits: stored.bits,
            n: stored.n,
            e: stored.e,
            created_at: stored.created_at,
            activates_at: stored.activates_at,
            key_pair: Arc::new(key_pair),
        })
    }

    pub fn decoding_key(&self) -> &jsonwebtoken::DecodingKey {
        &self.decoding_key
    }

    pub fn public_jwk(&self) -> PublicJwk<'_> {
        PublicJwk { kty: "RSA", use_: "sig", alg: "RS256", kid: &self.kid, n: &self.n, e: &self.e }
    }

    /// Signs `claims` as a compact JWS (RFC 7515) with RS256 and this key's `kid`. `typ` is
    /// `JWT` for ID tokens and `at+jwt` for access tokens (RFC 9068 §2.1).
    pub fn sign_jwt<C: Serialize>(&self, typ: &str, claims: &C) -> Result<String, KeyError> {
        let header =
            serde_json::to_vec(&Header { alg: "RS256", typ, kid: &self.kid }).context("cannot encode JWT header")?;
        let claims = serde_json::to_vec(claims).context("cannot encode JWT claims")?;
        let mut jws = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
        let mut signature = vec![0u8; self.key_pair.public_modulus_len()];
        self.key_pair
            .sign(&RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), jws.as_bytes(), &mut signature)
            .map_err(|_| KeyError::Unexpected(anyhow::anyhow!("RSA signing failed")))?;
        jws.push('.');
        jws.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(jws)
    }
}

/// PKCS#8 DER of a private key; `Debug` does not print it.
pub struct PrivateKeyDer(pub Vec<u8>);

impl std::fmt::Debug for PrivateKeyDer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKeyDer(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};

    #[test]
    fn kid_is_the_rfc7638_thumbprint() {
        // RFC 7638 §3.1 example key and its thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(thumbprint(n, "AQAB"), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn a_signed_jwt_verifies_with_the_public_parameters() {
        let generated = generate(2048).unwrap();
        let stored = SealedKey {
            kid: generated.kid.clone(),
            generation: 1,
            bits: 2048,
            n: generated.n.clone(),
            e: generated.e.clone(),
            sealed_private_key: Vec::new(),
            created_at: 0,
            activates_at: 0,
            revoked_at: None,
        };
        let key = SigningKey::new(stored, &generated.pkcs8.0).unwrap();
        let token = key.sign_jwt("JWT", &serde_json::json!({"sub": "alice", "exp": 4_000_000_000u64})).unwrap();

        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(generated.kid.as_str()));
        let decoding = DecodingKey::from_rsa_components(&generated.n, &generated.e).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.required_spec_claims.clear();
        let data = decode::<serde_json::Value>(&token, &decoding, &validation).unwrap();
        assert_eq!(data.claims["sub"], "alice");
    }

    #[test]
    fn a_row_whose_public_key_or_kid_is_not_its_private_keys_is_refused() {
        let generated = generate(2048).unwrap();
        let other = generate(2048).unwrap();
        let row = |kid: &str, n: &str| SealedKey {
            kid: kid.into(),
            generation: 1,
            bits: 2048,
            n: n.into(),
            e: generated.e.clone(),
            sealed_private_key: Vec::new(),
            created_at: 0,
            activates_at: 0,
            revoked_at: None,
        };
        let swapped_public = SigningKey::new(row(&other.kid, &other.n), &generated.pkcs8.0);
        assert!(matches!(swapped_public, Err(KeyError::Mismatched(_))));
        let wrong_kid = SigningKey::new(row(&other.kid, &generated.n), &generated.pkcs8.0);
        assert!(matches!(wrong_kid, Err(KeyError::Mismatched(_))));
        assert!(SigningKey::new(row(&generated.kid, &generated.n), &generated.pkcs8.0).is_ok());
    }
}
