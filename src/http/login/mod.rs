//! Signing in through the browser: the login page with its password form and passkey button.

pub mod passkey;
pub mod password;

use actix_web::cookie::Cookie;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::audit::{self, AuditEvent};
use crate::domain::authorization::{self, PendingAuthorization};
use crate::domain::users::User;
use crate::domain::{now, sessions};
use crate::http::oidc::authorize;
use crate::http::pages::internal_error;
use crate::http::{session, source_ip};
use crate::state::AppState;
use serde_json::json;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(password::show_login_form))
        .route("/login", web::post().to(password::submit_password))
        .route("/login/passkey/start", web::post().to(passkey::start_sign_in))
        .route("/login/passkey/finish", web::post().to(passkey::finish_sign_in));
}

/// After a user proved who they are (`amr` says how): an audit entry, a new browser
/// session, then on to the pending authorization request, or to the account page. Returns
/// where to go and the session cookie.
pub async fn complete_sign_in(
    state: &AppState,
    request: &HttpRequest,
    user: &User,
    amr: &[&str],
    pending: Option<PendingAuthorization>,
) -> Result<(String, Cookie<'static>), HttpResponse> {
    let method = if amr == ["pwd"] { "pwd" } else { "passkey" };
    let mut event = AuditEvent::new("sign_in", now())
        .subject(&user.id)
        .source_ip(source_ip(request))
        .details(json!({ "method": method }));
    event.client_id = pending.as_ref().map(|p| p.client_id.clone());
    audit::record(&state.db, event).await;
    let previous = session::presented_id(request);
    let amr = amr.iter().map(|a| a.to_string()).collect();
    let ttl = state.settings.sessions.ttl_secs;
    let browser_session = sessions::start(&state.ephemeral, previous.as_deref(), &user.id, amr, ttl, now())
        .await
        .map_err(|error| internal_error(&error.into()))?;
    let cookie = session::cookie(state, &browser_session);
    let location = match pending {
        Some(pending) => {
            // The user has just signed in for this request: prompt=login is satisfied.
            let pending = PendingAuthorization { prompt_login: false, ..pending };
            authorization::save_pending(&state.ephemeral, &pending, state.settings.sessions.login_timeout_secs)
                .await
                .map_err(|error| internal_error(&error.into()))?;
            authorize::next_location(state, &pending, Some(&(browser_session, user.clone()))).await?
        }
        None => "/account".to_string(),
    };
    Ok((location, cookie))
}
