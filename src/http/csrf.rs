//! CSRF protection for every form: the double-submit cookie pattern. The browser holds a
//! random token in an `HttpOnly; SameSite=Lax` cookie and each form carries it in a hidden
//! `csrf_token` field; a POST is accepted only when the two are equal. Another site can
//! make the browser send the cookie, but cannot read it to fill in the field.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};

use crate::config::Settings;
use crate::domain::{constant_time_eq, random_token};

pub const COOKIE: &str = "latchkey_csrf";

/// The token for a form: the browser's existing one, or a new one with the cookie to set.
pub fn token(request: &HttpRequest, settings: &Settings) -> (String, Option<Cookie<'static>>) {
    if let Some(existing) = request.cookie(COOKIE).map(|c| c.value().to_string()).filter(|v| v.len() == 43) {
        return (existing, None);
    }
    let token = random_token(32);
    let cookie = Cookie::build(COOKIE, token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.secure_cookies())
        .finish();
    (token, Some(cookie))
}

/// Whether a submitted form's token matches the browser's cookie.
pub fn verify(request: &HttpRequest, submitted: Option<&str>) -> bool {
    match (request.cookie(COOKIE), submitted) {
        (Some(cookie), Some(submitted)) if !submitted.is_empty() => {
            constant_time_eq(cookie.value().as_bytes(), submitted.as_bytes())
        }
        _ => false,
    }
}
