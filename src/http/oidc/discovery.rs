//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3) and
//! `GET /.well-known/oauth-authorization-server` (RFC 8414 §3): one document at both, as
//! RFC 8414 §5 allows, so an OAuth-only client (an MCP client) and an OpenID relying party
//! read the same issuer byte for byte. It depends only on configuration, so it is
//! serialized once at start. It lists only what this server implements.

use actix_web::HttpResponse;
use actix_web::web;
use serde_json::json;

use crate::config::{RegistrationMode, Settings};
use crate::domain::authorization::ResponseMode;
use crate::domain::{client_assertion, device, dpop};

pub struct Document {
    body: Vec<u8>,
}

impl Document {
    pub fn new(settings: &Settings) -> Document {
        let dpop_algorithms: Vec<String> = dpop::ALGORITHMS.iter().map(|alg| format!("{alg:?}")).collect();
        let assertion_algorithms: Vec<String> =
            client_assertion::ALGORITHMS.iter().map(|alg| format!("{alg:?}")).collect();
        let mut document = json!({
            // Byte for byte the configured issuer (Discovery §4.3).
            "issuer": settings.issuer,
            "authorization_endpoint": settings.endpoint("/authorize"),
            "token_endpoint": settings.endpoint("/token"),
            "userinfo_endpoint": settings.endpoint("/userinfo"),
            "jwks_uri": settings.endpoint("/.well-known/jwks.json"),
            "introspection_endpoint": settings.endpoint("/introspect"),
            "revocation_endpoint": settings.endpoint("/revoke"),
            "pushed_authorization_request_endpoint": settings.endpoint("/par"),
            "device_authorization_endpoint": settings.endpoint("/device_authorization"),
            "require_pushed_authorization_requests": settings.oidc.require_pushed_authorization_requests,
            "end_session_endpoint": settings.endpoint("/logout"),
            "scopes_supported": ["openid", "profile", "email", "offline_access", "groups"],
            "response_types_supported": ["code"],
            "response_modes_supported": ResponseMode::SUPPORTED,
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", device::GRANT_TYPE],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
            "token_endpoint_auth_signing_alg_values_supported": assertion_algorithms,
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
            "code_challenge_methods_supported": ["S256"],
            "dpop_signing_alg_values_supported": dpop_algorithms,
            "client_id_metadata_document_supported": settings.clients.metadata_documents.enabled,
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "at_hash", "sid",
                "name", "preferred_username", "updated_at", "email", "email_verified", "groups", "acr"
            ],
            "prompt_values_supported": ["none", "login", "consent"],
            "acr_values_supported": crate::domain::assurance::ACR_VALUES_SUPPORTED,
            "authorization_response_iss_parameter_supported": true,
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
        });
        if settings.clients.registration != RegistrationMode::Off {
            document["registration_endpoint"] = json!(settings.endpoint("/register"));
        }
        Document { body: document.to_string().into_bytes() }
    }
}

pub async fn show(document: web::Data<Document>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(document.body.clone())
}
