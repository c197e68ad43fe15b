//! "Forgot your password?": `/password/forgot` (field `email` or `username`; the same
//! answer whether or not an account matches) and `/password/reset?token=…`, where a new
//! password is set. A reset signs the user in (with their second step, if they have one)
//! and continues the authorization request it started from.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::email::{self, EmailError, Purpose};
use crate::domain::login::{self, SecondFactorChallenge};
use crate::domain::rate_limits::{self, Limit};
use crate::domain::users::UserError;
use crate::http::csrf::{self, FormToken};
use crate::http::login::attempt;
use crate::http::oidc::authorize::pending_request;
use crate::http::pages::{PageError, render, see_other};
use crate::http::source_ip;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login/forgot.html")]
struct ForgotPage<'a> {
    csrf_token: &'a str,
    request_id: &'a str,
    /// The form was sent: the answer every request gets.
    sent: bool,
}

#[derive(Template)]
#[template(path = "login/reset.html")]
struct ResetPage<'a> {
    csrf_token: &'a str,
    token: &'a str,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct RequestQuery {
    request: Option<String>,
}

#[derive(Deserialize)]
pub struct ForgotForm {
    csrf_token: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    username: String,
    request: Option<String>,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
pub struct ResetForm {
    csrf_token: Option<String>,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

/// Mail must be set up for a reset link to reach anyone.
fn require_mail(state: &AppState) -> Result<(), PageError> {
    if state.mailer.is_none() {
        return Err(PageError::page(
            StatusCode::NOT_FOUND,
            "Password reset is not available",
            "This server does not send mail. Ask an administrator to set a new password for you.",
        ));
    }
    Ok(())
}

pub async fn show_forgot(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<RequestQuery>,
) -> Result<HttpResponse, PageError> {
    require_mail(&state)?;
    let form = FormToken::new(&request, &state.settings);
    let request_id = query.request.as_deref().filter(|id| id.len() <= 64).unwrap_or_default();
    Ok(form.render(StatusCode::OK, &ForgotPage { csrf_token: &form.token, request_id, sent: false }))
}

pub async fn submit_forgot(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<ForgotForm>,
) -> Result<HttpResponse, PageError> {
    require_mail(&state)?;
    csrf::require(&request, form.csrf_token.as_deref())?;
    let source_ip = source_ip(&request);
    rate_limits::count(&state, Limit::Account, source_ip.as_deref()).await??;
    let identifier = if form.email.trim().is_empty() { &form.username } else { &form.email };
    let request_id = form.request.as_deref().filter(|id| !id.is_empty() && id.len() <= 64);
    email::request_password_reset(&state, identifier, request_id, source_ip).await?;
    let csrf_token = form.csrf_token.clone().unwrap_or_default();
    Ok(render(StatusCode::OK, &ForgotPage { csrf_token: &csrf_token, request_id: "", sent: true }))
}

fn invalid_link() -> PageError {
    PageError::bad_request(
        "This link does not work",
        "It was used already, has expired, or a newer one was sent. Ask for a new link on the sign-in page.",
    )
}

pub async fn show_reset(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    match email::live_link(&state, Purpose::Reset, &query.token).await {
        Ok(_) => {}
        Err(EmailError::Unexpected(error)) => return Err(error.into()),
        Err(_) => return Err(invalid_link()),
    }
    let form = FormToken::new(&request, &state.settings);
    Ok(form.render(StatusCode::OK, &ResetPage { csrf_token: &form.token, token: &query.token, error: None }))
}

pub async fn submit_reset(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, PageError> {
    csrf::require(&request, form.csrf_token.as_deref())?;
    let source_ip = source_ip(&request);
    rate_limits::count(&state, Limit::Account, source_ip.as_deref()).await??;
    let password = SecretString::from(form.password.clone());
    let (user, request_id) = match email::reset_password(&state, &form.token, &password, source_ip.clone()).await {
        Ok(done) => done,
        Err(EmailError::User(error @ (UserError::WeakPassword(_) | UserError::EmptyPassword))) => {
            let message = error.to_string();
            let csrf_token = form.csrf_token.clone().unwrap_or_default();
            let page = ResetPage { csrf_token: &csrf_token, token: &form.token, error: Some(&message) };
            return Ok(render(StatusCode::BAD_REQUEST, &page));
        }
        Err(EmailError::Unexpected(error)) => return Err(error.into()),
        Err(_) => return Err(invalid_link()),
    };
    // The request the reset began from, if it is still waiting.
    let pending = match request_id.as_deref() {
        Some(id) => pending_request(&state, Some(id)).await.ok().flatten(),
        None => None,
    };
    if login::needs_second_factor(&state, &user.id).await.map_err(|e| PageError::Unexpected(anyhow::anyhow!(e)))? {
        let challenge =
            SecondFactorChallenge { user_id: user.id.clone(), request_id: pending.map(|p| p.id), next: None };
        return super::mfa::ask_for_second_factor(&state, &challenge).await;
    }
    let attempt = attempt(&request, pending.as_ref().map(|p| p.client_id.clone()));
    let (location, cookie) =
        super::complete_sign_in(&state, &request, &user, &["pwd"], pending, None, &attempt).await?;
    let mut response = see_other(&location);
    let _ = response.add_cookie(&cookie);
    Ok(response)
}
