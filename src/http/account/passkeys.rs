//! The user's passkeys on `/account`: rename, delete, and "Add a passkey".

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use crate::domain::audit::Actor;
use crate::domain::credentials;
use crate::domain::now;
use crate::domain::passkeys;
use crate::domain::sessions::BrowserSession;
use crate::domain::users::User;
use crate::http::csrf;
use crate::http::extract::checked_browser;
use crate::http::login::passkey::JsonError;
use crate::http::login::reauthenticate_location;
use crate::http::pages::{PageError, see_other};
use crate::http::{session, source_ip};
use crate::state::AppState;

/// The signed-in user posting a form with its CSRF token.
pub(super) async fn signed_in_form(
    state: &AppState,
    request: &HttpRequest,
    csrf_token: Option<&str>,
) -> Result<User, PageError> {
    csrf::require(request, csrf_token)?;
    super::count_request(state, request).await??;
    Ok(session::require(state, request).await?.1)
}

/// Like [`signed_in_form`], for a sensitive action: the sign-in must be recent
/// (`account.reauth_max_age_secs`), or the browser signs in again and comes back.
pub(super) async fn recently_signed_in_form(
    state: &AppState,
    request: &HttpRequest,
    csrf_token: Option<&str>,
) -> Result<User, PageError> {
    csrf::require(request, csrf_token)?;
    super::count_request(state, request).await??;
    let (session, user) = session::require(state, request).await?;
    if !credentials::is_recent(state, &session, now()) {
        return Err(PageError::Redirect(reauthenticate_location("/account")));
    }
    Ok(user)
}

/// The signed-in user adding a passkey (JSON, `X-CSRF-Token` header): only after a recent
/// sign-in, and not while an admin's temporary password waits to be replaced.
async fn signed_in_json(state: &AppState, request: &HttpRequest) -> Result<(BrowserSession, User), JsonError> {
    checked_browser(request).ok_or_else(JsonError::page_expired)?;
    super::count_request(state, request).await??;
    let Ok(Some((session, user))) = session::current(state, request).await else {
        return Err(JsonError::new(StatusCode::UNAUTHORIZED, "Sign in again to add a passkey."));
    };
    if user.must_change_password {
        return Err(JsonError::new(StatusCode::FORBIDDEN, "Choose a new password first."));
    }
    if !credentials::is_recent(state, &session, now()) {
        let sign_in = reauthenticate_location("/account");
        return Err(JsonError::new(StatusCode::UNAUTHORIZED, "Confirm it’s you: sign in again.").sign_in_at(sign_in));
    }
    Ok((session, user))
}

pub async fn start_registration(state: web::Data<AppState>, request: HttpRequest) -> Result<HttpResponse, JsonError> {
    let (session, user) = signed_in_json(&state, &request).await?;
    let (ceremony, options) = passkeys::start_registration(&state, &user, &session.id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "ceremony": ceremony, "options": options })))
}

#[derive(Deserialize)]
pub struct FinishRegistration {
    ceremony: String,
    credential: RegisterPublicKeyCredential,
    name: String,
}

pub async fn finish_registration(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<FinishRegistration>,
) -> Result<HttpResponse, JsonError> {
    let (session, user) = signed_in_json(&state, &request).await?;
    let stored =
        passkeys::finish_registration(&state, &user, &session.id, &body.ceremony, &body.credential, &body.name, now())
            .await?;
    Ok(HttpResponse::Ok().json(json!({ "id": stored.id, "name": stored.name })))
}

#[derive(Deserialize)]
pub struct RenameForm {
    csrf_token: Option<String>,
    name: String,
}

#[derive(Deserialize)]
pub struct DeleteForm {
    csrf_token: Option<String>,
}

pub async fn rename(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<RenameForm>,
) -> Result<HttpResponse, PageError> {
    let user = signed_in_form(&state, &request, form.csrf_token.as_deref()).await?;
    passkeys::rename(&state, &user.id, &id, &form.name).await?;
    Ok(see_other("/account"))
}

pub async fn delete(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, PageError> {
    let user = recently_signed_in_form(&state, &request, form.csrf_token.as_deref()).await?;
    let actor = Actor::User { user_id: user.id.clone(), source_ip: source_ip(&request) };
    passkeys::delete(&state, &actor, &user.id, &id, now()).await?;
    Ok(see_other("/account"))
}
