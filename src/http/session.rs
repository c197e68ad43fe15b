//! The browser-session cookie: an opaque id, `HttpOnly; SameSite=Lax`, `Secure` when the
//! issuer is https. The session itself lives in the ephemeral store (`domain::sessions`).

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite, time};

use super::extract::{cookie_name, cookie_value};
use super::pages::PageError;
use crate::domain::now;
use crate::domain::sessions::{self, BrowserSession};
use crate::domain::users::User;
use crate::state::AppState;

pub const COOKIE: &str = "latchkey_session";

pub fn cookie(state: &AppState, session: &BrowserSession) -> Cookie<'static> {
    Cookie::build(cookie_name(&state.settings, COOKIE), session.id.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.secure_cookies())
        .max_age(time::Duration::seconds(state.settings.sessions.ttl_secs as i64))
        .finish()
}

pub fn removal_cookie(state: &AppState) -> Cookie<'static> {
    let mut cookie = Cookie::build(cookie_name(&state.settings, COOKIE), "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.secure_cookies())
        .finish();
    cookie.make_removal();
    cookie
}

/// The session id the browser presents, live or not.
pub fn presented_id(request: &HttpRequest) -> Option<String> {
    cookie_value(request, COOKIE)
}

/// The browser's live session and its user, when the user still exists and is enabled.
pub async fn current(state: &AppState, request: &HttpRequest) -> anyhow::Result<Option<(BrowserSession, User)>> {
    match presented_id(request) {
        Some(id) => sessions::find_signed_in(state, &id, now()).await,
        None => Ok(None),
    }
}

/// The signed-in browser's session and user, or a redirect to the login page that comes
/// back to this page afterwards (for a GET; a form post comes back to nowhere in particular,
/// as its form would have to be filled in again).
pub async fn require(state: &AppState, request: &HttpRequest) -> Result<(BrowserSession, User), PageError> {
    current(state, request).await?.ok_or_else(|| match request.method() == actix_web::http::Method::GET {
        true => PageError::sign_in_then(request.uri().path_and_query().map(|p| p.as_str())),
        false => PageError::sign_in_first(),
    })
}
