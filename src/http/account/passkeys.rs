//! `/account`: the user's passkeys, listed with rename and delete, and "Add a passkey".

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use crate::domain::passkeys::{self, PasskeyError};
use crate::domain::sessions::BrowserSession;
use crate::domain::users::User;
use crate::domain::{format_time, now};
use crate::http::login::passkey::{checked_browser, json_error, passkey_failure};
use crate::http::login::password::csrf_failure;
use crate::http::pages::{error_page, internal_error, render, see_other};
use crate::http::{csrf, session};
use crate::state::AppState;

struct PasskeyRow {
    id: String,
    name: String,
    created: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "account/index.html")]
struct AccountPage<'a> {
    username: &'a str,
    csrf_token: &'a str,
    passkeys_enabled: bool,
    passkeys: Vec<PasskeyRow>,
    admin: bool,
}

/// The signed-in user, or the response to send instead (a redirect to the login page).
async fn signed_in(state: &AppState, request: &HttpRequest) -> Result<(BrowserSession, User), HttpResponse> {
    match session::current(state, request).await {
        Ok(Some(signed_in)) => Ok(signed_in),
        Ok(None) => Err(see_other("/login")),
        Err(error) => Err(internal_error(&error)),
    }
}

/// The signed-in user posting a form with its CSRF token.
async fn signed_in_form(
    state: &AppState,
    request: &HttpRequest,
    csrf_token: Option<&str>,
) -> Result<User, HttpResponse> {
    if !csrf::verify(request, csrf_token) {
        return Err(csrf_failure());
    }
    Ok(signed_in(state, request).await?.1)
}

/// The signed-in user calling a JSON endpoint with the `X-CSRF-Token` header.
async fn signed_in_json(state: &AppState, request: &HttpRequest) -> Result<(BrowserSession, User), HttpResponse> {
    if checked_browser(request).is_none() {
        return Err(json_error(StatusCode::FORBIDDEN, "This page has expired. Reload it and try again."));
    }
    signed_in(state, request).await.map_err(|_| json_error(StatusCode::UNAUTHORIZED, "Sign in again to add a passkey."))
}

pub async fn show_account(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let (_, user) = match signed_in(&state, &request).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    if user.must_change_password {
        return see_other("/account/password");
    }
    let stored = match passkeys::list(&state, &user.id).await {
        Ok(stored) => stored,
        Err(error) => return passkey_failure(error),
    };
    let rows = stored
        .into_iter()
        .map(|p| PasskeyRow {
            id: p.id,
            name: p.name,
            created: format_time(p.created_at),
            last_used: p.last_used_at.map(format_time).unwrap_or_else(|| "never".into()),
        })
        .collect();
    let (csrf_token, new_cookie) = csrf::token(&request, &state.settings);
    let page = AccountPage {
        username: &user.username,
        csrf_token: &csrf_token,
        passkeys_enabled: state.webauthn.is_some(),
        passkeys: rows,
        admin: user.admin,
    };
    let mut response = render(StatusCode::OK, &page);
    if let Some(cookie) = new_cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

pub async fn start_registration(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let (session, user) = match signed_in_json(&state, &request).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    match passkeys::start_registration(&state, &user, &session.id).await {
        Ok((ceremony, options)) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(json!({ "ceremony": ceremony, "options": options })),
        Err(error) => passkey_failure(error),
    }
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
) -> HttpResponse {
    let (session, user) = match signed_in_json(&state, &request).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    match passkeys::finish_registration(&state, &user, &session.id, &body.ceremony, &body.credential, &body.name, now())
        .await
    {
        Ok(stored) => HttpResponse::Ok().json(json!({ "id": stored.id, "name": stored.name })),
        Err(error) => passkey_failure(error),
    }
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

fn page_failure(error: PasskeyError) -> HttpResponse {
    match error {
        PasskeyError::NotFound => {
            error_page(StatusCode::NOT_FOUND, "No such passkey", "It may have been deleted already.")
        }
        PasskeyError::InvalidName => {
            error_page(StatusCode::BAD_REQUEST, "Invalid name", "A passkey name must be 1 to 64 characters.")
        }
        PasskeyError::Unexpected(error) => internal_error(&error),
        other => error_page(StatusCode::BAD_REQUEST, "Not possible", &other.to_string()),
    }
}

pub async fn rename(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<RenameForm>,
) -> HttpResponse {
    let user = match signed_in_form(&state, &request, form.csrf_token.as_deref()).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    match passkeys::rename(&state, &user.id, &id, &form.name).await {
        Ok(()) => see_other("/account"),
        Err(error) => page_failure(error),
    }
}

pub async fn delete(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<DeleteForm>,
) -> HttpResponse {
    let user = match signed_in_form(&state, &request, form.csrf_token.as_deref()).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    match passkeys::delete(&state, &user.id, &id, now()).await {
        Ok(()) => see_other("/account"),
        Err(error) => page_failure(error),
    }
}
