//! Signing in through the browser: the login page with its password form and passkey button.

pub mod invite;
pub mod mfa;
pub mod passkey;
pub mod password;
pub mod register;
pub mod reset;
pub mod setup;
pub mod step_up;
pub mod upstream;

use actix_web::cookie::Cookie;
use actix_web::{HttpRequest, web};

use crate::domain::assurance;
use crate::domain::authorization::{self, PendingAuthorization};
use crate::domain::login::{self, Attempt};
use crate::domain::now;
use crate::domain::users::User;
use crate::http::oidc::authorize;
use crate::http::pages::PageError;
use crate::http::session;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(password::show_login_form))
        .route("/login", web::post().to(password::submit_password))
        .route("/login/mfa", web::get().to(mfa::show))
        .route("/login/mfa", web::post().to(mfa::submit))
        .route("/login/step-up", web::get().to(step_up::show))
        .route("/invite", web::get().to(invite::show))
        .route("/invite", web::post().to(invite::accept_with_password))
        .route("/invite/passkey/start", web::post().to(invite::start_passkey))
        .route("/invite/passkey/finish", web::post().to(invite::finish_passkey))
        .route("/setup", web::get().to(setup::show))
        .route("/setup", web::post().to(setup::submit))
        .route("/register", web::get().to(register::show))
        .route("/register", web::post().to(register::submit))
        .route("/password/forgot", web::get().to(reset::show_forgot))
        .route("/password/forgot", web::post().to(reset::submit_forgot))
        .route("/password/reset", web::get().to(reset::show_reset))
        .route("/password/reset", web::post().to(reset::submit_reset))
        .route("/login/passkey/start", web::post().to(passkey::start_sign_in))
        .route("/login/passkey/finish", web::post().to(passkey::finish_sign_in))
        .route("/login/upstream/{name}", web::get().to(upstream::start))
        .route("/login/upstream/{name}/callback", web::get().to(upstream::callback))
        .route("/account/upstreams/{name}/link", web::post().to(upstream::link))
        .route("/account/upstreams/{name}/unlink", web::post().to(upstream::unlink));
}

/// After a user proved who they are (`amr` says how): a new browser session (the domain
/// records the sign-in), then on to the pending authorization request, to `next` (a
/// sensitive account action that asked for a fresh sign-in), or to the account page.
/// Returns where to go and the session cookie.
pub async fn complete_sign_in(
    state: &AppState,
    request: &HttpRequest,
    user: &User,
    amr: &[&str],
    pending: Option<PendingAuthorization>,
    next: Option<&str>,
    attempt: &Attempt,
) -> Result<(String, Cookie<'static>), PageError> {
    let previous = session::presented_id(request);
    let browser_session = login::start_session(state, user, amr, previous.as_deref(), attempt, now()).await?;
    let cookie = session::cookie(state, &browser_session);
    let location = match pending {
        Some(pending) => {
            // The user has just signed in for this request: prompt=login is satisfied.
            let pending = PendingAuthorization { prompt_login: false, ..pending };
            authorization::save_pending(&state.ephemeral, &pending, state.settings.sessions.login_timeout_secs).await?;
            authorize::next_location(state, &pending, Some(&(browser_session, user.clone()))).await?
        }
        None if assurance::sign_in_needs_second_step(&state.settings.mfa, &browser_session.amr) => {
            step_up::location(None, next)
        }
        None => next.unwrap_or("/account").to_string(),
    };
    Ok((location, cookie))
}

/// `next` when it is a path on this server (never `//host` or a URL elsewhere): the only
/// places a sign-in sends the browser on to.
pub fn local_path(next: Option<&str>) -> Option<&str> {
    next.filter(|path| {
        path.starts_with('/')
            && !path.starts_with("//")
            && path.len() <= 512
            && !path.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace())
    })
}

/// Where a browser goes to sign in again before a sensitive action on `back_to`.
pub fn reauthenticate_location(back_to: &str) -> String {
    let next: String = url::form_urlencoded::byte_serialize(back_to.as_bytes()).collect();
    format!("/login?prompt=login&next={next}")
}

/// A sign-in attempt from this browser: its address and `User-Agent`, and the client of the
/// pending authorization request, if any.
pub fn attempt(request: &HttpRequest, client_id: Option<String>) -> Attempt {
    let user_agent = request.headers().get(actix_web::http::header::USER_AGENT).and_then(|v| v.to_str().ok());
    Attempt {
        source_ip: crate::http::source_ip(request),
        user_agent: user_agent.map(str::to_string),
        client_id,
        upstream: None,
    }
}
