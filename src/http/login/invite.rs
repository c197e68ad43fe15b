//! `/invite?token=…`: an invited user chooses a password (form) or registers a passkey
//! (JSON for the passkey script, bound to the invitation instead of a session), and is
//! signed in.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::passkey::JsonError;
use crate::domain::email::{self, EmailError};
use crate::domain::now;
use crate::domain::passkeys::{self, PASSKEY_AMR};
use crate::domain::users::{User, UserError};
use crate::http::csrf::{self, FormToken};
use crate::http::extract::checked_browser;
use crate::http::login::attempt;
use crate::http::pages::{PageError, render, see_other};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login/invite.html")]
struct InvitePage<'a> {
    csrf_token: &'a str,
    token: &'a str,
    username: &'a str,
    passkeys_enabled: bool,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf_token: Option<String>,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

fn invalid_link(error: EmailError) -> PageError {
    match error {
        EmailError::Unexpected(error) => PageError::Unexpected(error),
        _ => PageError::bad_request(
            "This invitation does not work",
            "It was used already, has expired, or a newer one was sent. Ask your administrator for a new one.",
        ),
    }
}

pub async fn show(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    let user = email::invited_user(&state, &query.token).await.map_err(invalid_link)?;
    let form = FormToken::new(&request, &state.settings);
    let page = InvitePage {
        csrf_token: &form.token,
        token: &query.token,
        username: &user.username,
        passkeys_enabled: state.webauthn.is_some(),
        error: None,
    };
    Ok(form.render(StatusCode::OK, &page))
}

/// Signs the user in after accepting, and goes to their account.
async fn signed_in(
    state: &AppState,
    request: &HttpRequest,
    user: &User,
    amr: &[&str],
) -> Result<HttpResponse, PageError> {
    let attempt = attempt(request, None);
    let (location, cookie) = super::complete_sign_in(state, request, user, amr, None, None, &attempt).await?;
    let mut response = see_other(&location);
    let _ = response.add_cookie(&cookie);
    Ok(response)
}

pub async fn accept_with_password(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    csrf::require(&request, form.csrf_token.as_deref())?;
    let password = SecretString::from(form.password.clone());
    match email::accept_invite_with_password(&state, &form.token, &password).await {
        Ok(user) => signed_in(&state, &request, &user, &["pwd"]).await,
        Err(EmailError::User(error @ (UserError::WeakPassword(_) | UserError::EmptyPassword))) => {
            let user = email::invited_user(&state, &form.token).await.map_err(invalid_link)?;
            let message = error.to_string();
            let csrf_token = form.csrf_token.clone().unwrap_or_default();
            let page = InvitePage {
                csrf_token: &csrf_token,
                token: &form.token,
                username: &user.username,
                passkeys_enabled: state.webauthn.is_some(),
                error: Some(&message),
            };
            Ok(render(StatusCode::BAD_REQUEST, &page))
        }
        Err(error) => Err(invalid_link(error)),
    }
}

#[derive(Deserialize)]
pub struct StartPasskey {
    #[serde(default)]
    token: String,
}

fn json_link_error(error: EmailError) -> JsonError {
    match error {
        EmailError::Unexpected(error) => error.into(),
        _ => JsonError::new(StatusCode::BAD_REQUEST, "This invitation does not work any more. Ask for a new one."),
    }
}

pub async fn start_passkey(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<StartPasskey>,
) -> Result<HttpResponse, JsonError> {
    checked_browser(&request).ok_or_else(JsonError::page_expired)?;
    let user = email::invited_user(&state, &body.token).await.map_err(json_link_error)?;
    let binding = email::invite_binding(&body.token);
    let (ceremony, options) = passkeys::start_registration(&state, &user, &binding).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "ceremony": ceremony, "options": options })))
}

#[derive(Deserialize)]
pub struct FinishPasskey {
    #[serde(default)]
    token: String,
    ceremony: String,
    credential: RegisterPublicKeyCredential,
    #[serde(default)]
    name: String,
}

/// Registers the passkey, spends the invitation and signs the user in with it.
pub async fn finish_passkey(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<FinishPasskey>,
) -> Result<HttpResponse, JsonError> {
    checked_browser(&request).ok_or_else(JsonError::page_expired)?;
    let user = email::invited_user(&state, &body.token).await.map_err(json_link_error)?;
    let binding = email::invite_binding(&body.token);
    let name = if body.name.trim().is_empty() { "Passkey" } else { body.name.as_str() };
    passkeys::finish_registration(&state, &user, &binding, &body.ceremony, &body.credential, name, now()).await?;
    let user = email::accept_invite_with_passkey(&state, &body.token).await.map_err(json_link_error)?;
    let attempt = attempt(&request, None);
    let (location, cookie) = super::complete_sign_in(&state, &request, &user, &PASSKEY_AMR, None, None, &attempt)
        .await
        .map_err(|_| JsonError::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong. Please try again."))?;
    let mut response =
        HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({ "redirect": location }));
    let _ = response.add_cookie(&cookie);
    Ok(response)
}
