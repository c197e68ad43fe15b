//! A software passkey authenticator for tests: P-256 credentials with a user handle
//! (discoverable), "none" attestation, and switches for the user-verified flag and the
//! signature counter. webauthn-authenticator-rs's SoftPasskey cannot do discoverable
//! credentials (no user handle), which usernameless sign-in needs, so this is written
//! here from the WebAuthn Level 3 data formats (§6.1 authenticator data, §6.5 attestation).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;

pub struct Credential {
    pub id: Vec<u8>,
    key: EcdsaKeyPair,
    user_handle: String,
    pub counter: u32,
}

pub struct SoftAuthenticator {
    origin: String,
    pub credentials: Vec<Credential>,
}

fn sha256(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref().to_vec()
}

fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// CBOR byte string header (RFC 8949 §3.1, major type 2).
fn cbor_bytes(data: &[u8]) -> Vec<u8> {
    let mut out = match data.len() {
        len if len < 24 => vec![0x40 | len as u8],
        len if len < 256 => vec![0x58, len as u8],
        len => vec![0x59, (len >> 8) as u8, len as u8],
    };
    out.extend_from_slice(data);
    out
}

fn cbor_text(text: &str) -> Vec<u8> {
    let mut out = vec![0x60 | text.len() as u8];
    out.extend_from_slice(text.as_bytes());
    out
}

impl SoftAuthenticator {
    pub fn new(origin: &str) -> SoftAuthenticator {
        SoftAuthenticator { origin: origin.to_string(), credentials: Vec::new() }
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({ "type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false })
            .to_string()
            .into_bytes()
    }

    /// Answers `navigator.credentials.create` options (`{"publicKey": ...}`).
    pub fn register(&mut self, options: &Value) -> Value {
        let public_key = &options["publicKey"];
        let rp_id = public_key["rp"]["id"].as_str().unwrap();
        let challenge = public_key["challenge"].as_str().unwrap();
        let user_handle = public_key["user"]["id"].as_str().unwrap().to_string();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new()).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
        let point = key.public_key().as_ref().to_vec(); // 0x04 || x || y
        let id = sha256(pkcs8.as_ref())[..16].to_vec();

        let mut cose_key = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        cose_key.extend(cbor_bytes(&point[1..33]));
        cose_key.push(0x22);
        cose_key.extend(cbor_bytes(&point[33..65]));

        let mut auth_data = sha256(rp_id.as_bytes());
        auth_data.push(UP | UV | AT);
        auth_data.extend(0u32.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID
        auth_data.extend((id.len() as u16).to_be_bytes());
        auth_data.extend(&id);
        auth_data.extend(cose_key);

        let mut attestation = vec![0xa3];
        attestation.extend(cbor_text("fmt"));
        attestation.extend(cbor_text("none"));
        attestation.extend(cbor_text("attStmt"));
        attestation.push(0xa0);
        attestation.extend(cbor_text("authData"));
        attestation.extend(cbor_bytes(&auth_data));

        let client_data = self.client_data("webauthn.create", challenge);
        self.credentials.push(Credential { id: id.clone(), key, user_handle, counter: 0 });
        json!({
            "id": b64(&id),
            "rawId": b64(&id),
            "type": "public-key",
            "response": { "attestationObject": b64(&attestation), "clientDataJSON": b64(&client_data) },
            "extensions": {},
        })
    }

    /// Answers `navigator.credentials.get` options with credential `index`, counting up.
    pub fn assert(&mut self, options: &Value, index: usize, user_verified: bool) -> Value {
        let public_key = &options["publicKey"];
        let rp_id = public_key["rpId"].as_str().unwrap();
        let challenge = public_key["challenge"].as_str().unwrap().to_string();
        let client_data = self.client_data("webauthn.get", &challenge);
        let credential = &mut self.credentials[index];
        credential.counter += 1;
        let mut auth_data = sha256(rp_id.as_bytes());
        auth_data.push(if user_verified { UP | UV } else { UP });
        auth_data.extend(credential.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(sha256(&client_data));
        let signature = credential.key.sign(&SystemRandom::new(), &signed).unwrap();
        json!({
            "id": b64(&credential.id),
            "rawId": b64(&credential.id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.as_ref()),
                "userHandle": credential.user_handle,
            },
            "extensions": {},
        })
    }
}
