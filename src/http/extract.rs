//! What handlers read from a request besides forms and JSON: the Bearer token, the
//! browser's CSRF-checked identity for JSON calls, and the source address.

use actix_web::HttpRequest;
use actix_web::http::header;

use super::csrf;

/// The header JSON calls from our own pages carry the CSRF token in.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// The Bearer token of a request, from the `Authorization` header (RFC 6750 §2.1).
pub fn bearer_token(request: &HttpRequest) -> Option<&str> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()).filter(|t| !t.is_empty())
}

/// The browser's CSRF cookie when the request carries the matching `X-CSRF-Token` header.
pub fn checked_browser(request: &HttpRequest) -> Option<String> {
    let header = request.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    csrf::verify(request, header).then(|| request.cookie(csrf::COOKIE).map(|c| c.value().to_string())).flatten()
}

/// The address a request came from, for the audit log. The TCP peer, not a forwarded
/// header: a client could write any value there.
pub fn source_ip(request: &HttpRequest) -> Option<String> {
    request.peer_addr().map(|addr| addr.ip().to_string())
}
