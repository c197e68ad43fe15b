//! Keys for tests that play a client signing JWTs: `private_key_jwt` assertions and DPoP
//! proofs. ES256 on a fresh P-256 key each time.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub struct ClientKey {
    encoding: EncodingKey,
    /// The public JWK.
    pub jwk: Value,
    pub kid: String,
}

impl ClientKey {
    pub fn generate(kid: &str) -> ClientKey {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let public = pair.public_key().as_ref();
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(&public[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&public[33..65]),
        });
        ClientKey { encoding: EncodingKey::from_ec_der(pkcs8.as_ref()), jwk, kid: kid.to_string() }
    }

    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }

    /// The public JWK without `kid`, `use` or `alg`, as a DPoP proof header carries it.
    pub fn public_jwk(&self) -> Value {
        json!({ "kty": "EC", "crv": "P-256", "x": self.jwk["x"], "y": self.jwk["y"] })
    }

    pub fn sign(&self, header: Header, claims: &Value) -> String {
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }

    /// A client assertion (RFC 7523) for `client_id` with `aud`, good for a minute.
    pub fn assertion(&self, client_id: &str, aud: &str) -> String {
        let now = latchkey::domain::now();
        let claims = json!({
            "iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 60,
            "jti": latchkey::domain::random_token(16),
        });
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        self.sign(header, &claims)
    }
}

impl ClientKey {
    /// A DPoP proof (RFC 9449) for `method` `url`, and for `access_token` at a resource.
    pub fn dpop_proof(&self, method: &str, url: &str, access_token: Option<&str>) -> String {
        let mut claims = json!({
            "jti": latchkey::domain::random_token(16), "htm": method, "htu": url, "iat": latchkey::domain::now(),
        });
        if let Some(token) = access_token {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(digest.as_ref()));
        }
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(serde_json::from_value(self.public_jwk()).unwrap());
        self.sign(header, &claims)
    }
}
