//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3). The document
//! depends only on configuration, so it is serialized once at start. It lists only what
//! this server implements.

use actix_web::HttpResponse;
use actix_web::web;
use serde_json::json;

use crate::config::Settings;

pub struct Document {
    body: Vec<u8>,
}

impl Document {
    pub fn new(settings: &Settings) -> Document {
        let document = json!({
            // Byte for byte the configured issuer (Discovery §4.3).
            "issuer": settings.issuer,
            "jwks_uri": settings.endpoint("/.well-known/jwks.json"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        });
        Document {
            body: document.to_string().into_bytes(),
        }
    }
}

pub async fn show(document: web::Data<Document>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(document.body.clone())
}
