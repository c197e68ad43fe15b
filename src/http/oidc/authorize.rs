//! `/authorize` (GET and POST): validates the request, then walks the browser through
//! sign-in and consent until a code goes back to the client.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::authorization::{self, AuthorizationParams, AuthorizeError, NextStep, PendingAuthorization};
use crate::domain::clients;
use crate::domain::sessions::BrowserSession;
use crate::domain::{now, users::User};
use crate::http::pages::{error_page, internal_error, see_other};
use crate::http::session;
use crate::state::AppState;
use crate::store::db;

pub async fn start_get(
    state: web::Data<AppState>,
    request: HttpRequest,
    params: web::Query<AuthorizationParams>,
) -> HttpResponse {
    start(&state, &request, &params).await
}

pub async fn start_post(
    state: web::Data<AppState>,
    request: HttpRequest,
    params: web::Form<AuthorizationParams>,
) -> HttpResponse {
    start(&state, &request, &params).await
}

async fn start(state: &AppState, request: &HttpRequest, params: &AuthorizationParams) -> HttpResponse {
    let client = match params.client_id.as_deref() {
        Some(id) if !id.is_empty() => match clients::find_enabled(&state.db, id).await {
            Ok(client) => client,
            Err(error) => return internal_error(&error),
        },
        _ => None,
    };
    let pending = match authorization::validate(params, client, now()) {
        Ok(pending) => pending,
        Err(AuthorizeError::Untrusted(reason)) => {
            return error_page(StatusCode::BAD_REQUEST, "This sign-in request is not valid", &reason.to_string());
        }
        Err(AuthorizeError::Redirect(error)) => {
            return see_other(&authorization::error_redirect(&error, &state.settings.issuer));
        }
    };
    if let Err(error) =
        authorization::save_pending(&state.ephemeral, &pending, state.settings.sessions.login_timeout_secs).await
    {
        return internal_error(&error.into());
    }
    let signed_in = match session::current(state, request).await {
        Ok(signed_in) => signed_in,
        Err(error) => return internal_error(&error),
    };
    proceed(state, &pending, signed_in.as_ref()).await
}

/// Takes a pending request one step further for the signed-in user (if any): to the login
/// page, to the consent page, or back to the client with a code or an error.
pub async fn proceed(
    state: &AppState,
    pending: &PendingAuthorization,
    signed_in: Option<&(BrowserSession, User)>,
) -> HttpResponse {
    match next_location(state, pending, signed_in).await {
        Ok(location) => see_other(&location),
        Err(page) => page,
    }
}

/// Where the browser goes next for a pending request; `Err` is a page to show instead.
pub async fn next_location(
    state: &AppState,
    pending: &PendingAuthorization,
    signed_in: Option<&(BrowserSession, User)>,
) -> Result<String, HttpResponse> {
    let consented = match signed_in {
        Some((_, user)) => {
            db::consents::find(&state.db, &user.id, &pending.client_id).await.map_err(|e| internal_error(&e))?
        }
        None => None,
    };
    if signed_in.is_some_and(|(_, user)| user.must_change_password) {
        return Ok(format!("/account/password?request={}", pending.id));
    }
    let session = signed_in.map(|(session, _)| session);
    let step = authorization::next_step(pending, session, consented.as_deref(), now());
    let issuer = &state.settings.issuer;
    match (&step, session) {
        (Ok(NextStep::SignIn), _) | (Ok(NextStep::IssueCode), None) => {
            return Ok(format!("/login?request={}", pending.id));
        }
        (Ok(NextStep::Consent), _) => return Ok(format!("/consent?request={}", pending.id)),
        _ => {}
    }
    // From here the request is answered, once: taking it first means a replayed or
    // concurrent submission finds nothing.
    match authorization::finish_pending(&state.ephemeral, &pending.id).await {
        Ok(Some(_)) => {}
        Ok(None) => return Err(expired_page()),
        Err(error) => return Err(internal_error(&error.into())),
    }
    match (step, session) {
        (Ok(_), Some(session)) => {
            let ttl = state.settings.tokens.authorization_code_ttl_secs;
            authorization::issue_code(&state.ephemeral, pending, session, issuer, ttl)
                .await
                .map_err(|error| internal_error(&error.into()))
        }
        (Err(error), _) => Ok(authorization::error_redirect(&error, issuer)),
        (Ok(_), None) => Err(expired_page()),
    }
}

/// Shown when a pending request is gone (answered already, or timed out).
pub fn expired_page() -> HttpResponse {
    error_page(
        StatusCode::BAD_REQUEST,
        "This sign-in has expired",
        "Go back to the application you came from and start again.",
    )
}
