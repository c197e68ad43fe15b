//! `/register` (`registration.enabled`, with mail set up): fields `username`, `email` and
//! `password`. The account works once the link mailed to the address is followed. A taken
//! username or address gets the same answer as a new one.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::email::{self, EmailError};
use crate::domain::rate_limits::{self, Limit};
use crate::domain::users::UserError;
use crate::http::csrf::{self, FormToken};
use crate::http::pages::{PageError, render};
use crate::http::source_ip;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login/register.html")]
struct RegisterPage<'a> {
    csrf_token: &'a str,
    username: &'a str,
    email: &'a str,
    error: Option<&'a str>,
    /// The form was accepted: the answer every accepted form gets.
    sent: bool,
}

#[derive(Deserialize)]
pub struct RegisterForm {
    csrf_token: Option<String>,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// Whether `/register` is offered: it is turned on, and mail can reach the new user.
pub fn open(state: &AppState) -> bool {
    state.settings.registration.enabled && state.mailer.is_some()
}

fn require_open(state: &AppState) -> Result<(), PageError> {
    if open(state) { Ok(()) } else { Err(PageError::NotFound) }
}

pub async fn show(state: web::Data<AppState>, request: HttpRequest) -> Result<HttpResponse, PageError> {
    require_open(&state)?;
    let form = FormToken::new(&request, &state.settings);
    let page = RegisterPage { csrf_token: &form.token, username: "", email: "", error: None, sent: false };
    Ok(form.render(StatusCode::OK, &page))
}

pub async fn submit(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<RegisterForm>,
) -> Result<HttpResponse, PageError> {
    require_open(&state)?;
    csrf::require(&request, form.csrf_token.as_deref())?;
    let source_ip = source_ip(&request);
    rate_limits::count(&state, Limit::Account, source_ip.as_deref()).await??;
    let password = SecretString::from(form.password.clone());
    let csrf_token = form.csrf_token.clone().unwrap_or_default();
    let refused = |message: &str| {
        let page = RegisterPage {
            csrf_token: &csrf_token,
            username: &form.username,
            email: &form.email,
            error: Some(message),
            sent: false,
        };
        Ok(render(StatusCode::BAD_REQUEST, &page))
    };
    match email::register(&state, &form.username, &form.email, &password, source_ip).await {
        Ok(()) => {
            let page = RegisterPage { csrf_token: &csrf_token, username: "", email: "", error: None, sent: true };
            Ok(render(StatusCode::OK, &page))
        }
        Err(EmailError::User(UserError::Unexpected(error))) | Err(EmailError::Unexpected(error)) => Err(error.into()),
        Err(EmailError::User(error)) => refused(&error.to_string()),
        Err(error @ EmailError::DomainNotAllowed(_)) => refused(&capitalized(&error.to_string())),
        Err(error) => Err(PageError::Unexpected(anyhow::anyhow!(error.to_string()))),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
