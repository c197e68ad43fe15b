//! What handlers read from a request besides forms and JSON: the Bearer token, the
//! browser's CSRF-checked identity for JSON calls, and the source address.

use actix_web::http::header;
use actix_web::{HttpRequest, web};

use super::csrf;
use crate::config::Settings;
use crate::state::AppState;

/// The header JSON calls from our own pages carry the CSRF token in.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// The Bearer token of a request, from the `Authorization` header (RFC 6750 §2.1).
pub fn bearer_token(request: &HttpRequest) -> Option<&str> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()).filter(|t| !t.is_empty())
}

/// An access token presented with the `DPoP` scheme (RFC 9449 §7.1), and the `DPoP`
/// header's proof when there is exactly one.
pub fn dpop_token(request: &HttpRequest) -> Option<(&str, Option<&str>)> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("dpop") || token.is_empty() {
        return None;
    }
    let proofs: Vec<_> = request.headers().get_all("DPoP").collect();
    let proof = match proofs.as_slice() {
        [proof] => proof.to_str().ok(),
        _ => None,
    };
    Some((token, proof))
}

/// The browser's CSRF cookie when the request carries the matching `X-CSRF-Token` header.
pub fn checked_browser(request: &HttpRequest) -> Option<String> {
    let header = request.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    csrf::verify(request, header).then(|| cookie_value(request, csrf::COOKIE)).flatten()
}

/// A cookie's name: with the `__Host-` prefix when the issuer is https, so the browser
/// holds it only for this exact host, over https, for the whole site (RFC 6265bis §4.1.3.2).
pub fn cookie_name(settings: &Settings, base: &str) -> String {
    if settings.secure_cookies() { format!("__Host-{base}") } else { base.to_string() }
}

/// The value of our cookie `base` in a request.
pub fn cookie_value(request: &HttpRequest, base: &str) -> Option<String> {
    let settings = request.app_data::<web::Data<AppState>>().map(|state| state.settings.clone())?;
    request.cookie(&cookie_name(&settings, base)).map(|c| c.value().to_string())
}

/// Whether a state-changing request from one of our pages really comes from our pages:
/// browsers that send `Sec-Fetch-Site` or `Origin` must name this site. A request without
/// them (an old browser, a script) still needs its CSRF token. `Origin: null` tells
/// nothing: our `Referrer-Policy: no-referrer` makes browsers send it for our own forms.
pub fn is_same_origin(request: &HttpRequest) -> bool {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    if header("Sec-Fetch-Site").is_some_and(|site| !matches!(site, "same-origin" | "none")) {
        return false;
    }
    let Some(origin) = header("Origin").filter(|origin| *origin != "null") else { return true };
    let Some(state) = request.app_data::<web::Data<AppState>>() else { return false };
    url::Url::parse(&state.settings.issuer).is_ok_and(|issuer| issuer.origin().ascii_serialization() == origin)
}

/// The address a request came from, for rate limits and the audit log: the TCP peer, or
/// behind a trusted proxy (`server.trusted_proxies`) the client it forwarded for. A
/// forwarded header from anyone else is ignored: a client could write any value there.
pub fn source_ip(request: &HttpRequest) -> Option<String> {
    let peer = request.peer_addr()?.ip();
    let Some(state) = request.app_data::<web::Data<AppState>>() else {
        return Some(peer.to_string());
    };
    let forwarded_for = request.headers().get("X-Forwarded-For").and_then(|v| v.to_str().ok());
    Some(state.settings.server.client_address(peer, forwarded_for).to_string())
}
