//! CSRF protection for every form: the double-submit cookie pattern. The browser holds a
//! random token in an `HttpOnly; SameSite=Lax` cookie and each form carries it in a hidden
//! `csrf_token` field; a POST is accepted only when the two are equal. Another site can
//! make the browser send the cookie, but cannot read it to fill in the field.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use super::extract::{cookie_name, cookie_value, is_same_origin};
use super::pages::{PageError, render};
use crate::config::Settings;
use crate::domain::{constant_time_eq, random_token};

pub const COOKIE: &str = "latchkey_csrf";

/// The token a page's forms carry: the browser's existing one, or a new one whose cookie
/// is set with the page.
pub struct FormToken {
    pub token: String,
    new_cookie: Option<Cookie<'static>>,
}

impl FormToken {
    pub fn new(request: &HttpRequest, settings: &Settings) -> FormToken {
        if let Some(existing) = cookie_value(request, COOKIE).filter(|v| v.len() == 43) {
            return FormToken { token: existing, new_cookie: None };
        }
        let token = random_token(32);
        let cookie = Cookie::build(cookie_name(settings, COOKIE), token.clone())
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(settings.secure_cookies())
            .finish();
        FormToken { token, new_cookie: Some(cookie) }
    }

    /// Renders a page, setting the CSRF cookie if the browser had none.
    pub fn render(&self, status: StatusCode, page: &impl Template) -> HttpResponse {
        let mut response = render(status, page);
        if let Some(cookie) = &self.new_cookie {
            let _ = response.add_cookie(cookie);
        }
        response
    }
}

/// Whether a submitted form's token matches the browser's cookie, and the request comes
/// from our own pages where the browser says where it comes from.
pub fn verify(request: &HttpRequest, submitted: Option<&str>) -> bool {
    match (cookie_value(request, COOKIE), submitted) {
        (Some(cookie), Some(submitted)) if !submitted.is_empty() => {
            constant_time_eq(cookie.as_bytes(), submitted.as_bytes()) && is_same_origin(request)
        }
        _ => false,
    }
}

/// A form handler's first check: the submitted token must match, or nothing is done.
pub fn require(request: &HttpRequest, submitted: Option<&str>) -> Result<(), PageError> {
    if verify(request, submitted) { Ok(()) } else { Err(PageError::CsrfFailed) }
}
