//! CSRF protection for every form and for our pages' JSON calls. A form carries a token in
//! a hidden `csrf_token` field (a JSON call in `X-CSRF-Token`): a MAC, under a key derived
//! from the master key, of the browser's session id, or before sign-in of its pre-session
//! id (a random `latchkey_csrf` cookie). So a token is bound to one browser and one
//! session, changes at sign-in, and cannot be made from a planted cookie alone. Posts whose
//! `Sec-Fetch-Site` or `Origin` name another site are refused as well.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::extract::{cookie_name, cookie_value, is_same_origin};
use super::pages::{PageError, render};
use super::session;
use crate::config::Settings;
use crate::domain::{constant_time_eq, random_token};
use crate::state::AppState;

/// The pre-session id: what tokens are bound to before sign-in; also the browser's
/// identity for passkey sign-in ceremonies.
pub const COOKIE: &str = "latchkey_csrf";

/// The token a page's forms carry, and the pre-session cookie to set with the page when the
/// browser had none.
pub struct FormToken {
    pub token: String,
    new_cookie: Option<Cookie<'static>>,
}

impl FormToken {
    pub fn new(request: &HttpRequest, settings: &Settings) -> FormToken {
        let presession = cookie_value(request, COOKIE).filter(|v| v.len() == 43);
        let new_cookie = presession.is_none().then(|| {
            Cookie::build(cookie_name(settings, COOKIE), random_token(32))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(settings.secure_cookies())
                .finish()
        });
        let binding = session::presented_id(request)
            .or(presession)
            .or_else(|| new_cookie.as_ref().map(|cookie| cookie.value().to_string()))
            .unwrap_or_default();
        let token = request.app_data::<web::Data<AppState>>().map(|state| mac(state, &binding)).unwrap_or_default();
        FormToken { token, new_cookie }
    }

    /// Renders a page, setting the pre-session cookie if the browser had none.
    pub fn render(&self, status: StatusCode, page: &impl Template) -> HttpResponse {
        let mut response = render(status, page);
        if let Some(cookie) = &self.new_cookie {
            let _ = response.add_cookie(cookie);
        }
        response
    }
}

fn mac(state: &AppState, binding: &str) -> String {
    let tag = aws_lc_rs::hmac::sign(&state.csrf_key, format!("csrf:{binding}").as_bytes());
    URL_SAFE_NO_PAD.encode(tag.as_ref())
}

/// Whether a submitted token is the one for this browser's session (or pre-session), and
/// the request comes from our own pages where the browser says where it comes from.
pub fn verify(request: &HttpRequest, submitted: Option<&str>) -> bool {
    let Some(state) = request.app_data::<web::Data<AppState>>() else { return false };
    let binding = session::presented_id(request).or_else(|| cookie_value(request, COOKIE));
    match (binding, submitted) {
        (Some(binding), Some(submitted)) if !binding.is_empty() && !submitted.is_empty() => {
            constant_time_eq(mac(state, &binding).as_bytes(), submitted.as_bytes()) && is_same_origin(request)
        }
        _ => false,
    }
}

/// A form handler's first check: the submitted token must match, or nothing is done.
pub fn require(request: &HttpRequest, submitted: Option<&str>) -> Result<(), PageError> {
    if verify(request, submitted) { Ok(()) } else { Err(PageError::CsrfFailed) }
}
