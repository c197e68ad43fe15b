//! The HTTP edge: routes, middleware, and the mapping of errors to responses. Handlers
//! parse, call the domain, and render; the rules live in `crate::domain`.

pub mod access_log;
pub mod account;
pub mod admin;
pub mod assets;
pub mod branding;
mod csrf;
mod extract;
#[cfg(test)]
mod fuzz_tests;
pub mod health;
pub mod login;
pub mod metrics;
pub mod oidc;
mod pages;
mod session;

use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpResponse, web};
pub use extract::source_ip;

/// The sitemap: each area mounts its own routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(oidc::routes)
        .configure(login::routes)
        .configure(account::routes)
        .configure(admin::console::routes)
        .configure(health::routes)
        .configure(metrics::routes)
        .configure(branding::routes)
        .configure(assets::routes);
}

/// Headers every response carries. The CSP allows only our own scripts and styles, and
/// `frame-ancestors 'none'` (with `X-Frame-Options` for old browsers) stops clickjacking.
/// With an https issuer, `Strict-Transport-Security` keeps browsers on https.
pub fn security_headers(settings: &crate::config::Settings) -> DefaultHeaders {
    let headers = if settings.secure_cookies() {
        DefaultHeaders::new().add(("Strict-Transport-Security", "max-age=31536000"))
    } else {
        DefaultHeaders::new()
    };
    headers
        .add((
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'",
        ))
        .add(("X-Frame-Options", "DENY"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
}

/// A form or query string that does not parse: an HTML page, not actix's plain text.
pub fn bad_browser_request(error: impl Into<actix_web::Error>, _: &actix_web::HttpRequest) -> actix_web::Error {
    let page = pages::error_page(
        actix_web::http::StatusCode::BAD_REQUEST,
        "This request is not valid",
        "Go back to the application you came from and try again.",
    );
    actix_web::error::InternalError::from_response(error.into(), page).into()
}

/// Anything no route matched.
pub async fn not_found() -> HttpResponse {
    use actix_web::ResponseError;
    pages::PageError::NotFound.error_response()
}
