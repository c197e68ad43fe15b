//! `GET /.well-known/jwks.json`: the public keys that may verify a live token (RFC 7517).
//! Served from bytes prepared when the key set changes, with an ETag for revalidation.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::state::AppState;

pub async fn show(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let set = state.keyring.snapshot();
    let cache_control = format!("public, max-age={}", max_age(&state));
    let etag = set.jwks.etag.as_str();
    if matches_etag(&request, etag) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, cache_control))
            .finish();
    }
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache_control))
        .body(set.jwks.body.clone())
}

/// How long a relying party may cache the JWKS: at most 300 s, and short enough that a
/// key published `publish_lead_secs` before it signs is seen by every cache in time, even
/// when this instance learns of it up to `refresh_interval_secs` late.
fn max_age(state: &AppState) -> u64 {
    let keys = &state.settings.keys;
    keys.publish_lead_secs.saturating_sub(keys.refresh_interval_secs).min(300)
}

/// `If-None-Match` holds a list of entity tags, maybe weak (`W/"…"`), or `*` (RFC 9110 §13.1.2).
fn matches_etag(request: &HttpRequest, etag: &str) -> bool {
    request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}
