//! The browser-session cookie: an opaque id, `HttpOnly; SameSite=Lax`, `Secure` when the
//! issuer is https. The session itself lives in the ephemeral store (`domain::sessions`).

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite, time};

use crate::domain::now;
use crate::domain::sessions::{self, BrowserSession};
use crate::domain::users::User;
use crate::state::AppState;
use crate::store::db;

pub const COOKIE: &str = "latchkey_session";

pub fn cookie(state: &AppState, session: &BrowserSession) -> Cookie<'static> {
    Cookie::build(COOKIE, session.id.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.secure_cookies())
        .max_age(time::Duration::seconds(state.settings.sessions.ttl_secs as i64))
        .finish()
}

pub fn removal_cookie(state: &AppState) -> Cookie<'static> {
    let mut cookie = Cookie::build(COOKIE, "")
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
    request.cookie(COOKIE).map(|c| c.value().to_string())
}

/// The browser's live session and its user, when the user still exists and is enabled.
pub async fn current(state: &AppState, request: &HttpRequest) -> anyhow::Result<Option<(BrowserSession, User)>> {
    let Some(id) = presented_id(request) else {
        return Ok(None);
    };
    let Some(session) = sessions::find(&state.ephemeral, &id, now()).await? else {
        return Ok(None);
    };
    let user = db::users::find_by_id(&state.db, &session.user_id).await?.filter(|user| !user.disabled);
    Ok(user.map(|user| (session, user)))
}
