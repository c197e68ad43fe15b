//! `/email/verify?token=…`: the page a verification link opens. The link is spent by the
//! button's POST, not by the GET, so a mail scanner that fetches links does not use it up.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::email::{self, EmailError};
use crate::http::csrf::{self, FormToken};
use crate::http::pages::{PageError, render};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "account/verify_email.html")]
struct VerifyPage<'a> {
    csrf_token: &'a str,
    token: &'a str,
    /// The address, once verified.
    verified: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
pub struct VerifyForm {
    csrf_token: Option<String>,
    #[serde(default)]
    token: String,
}

fn link_error(error: EmailError) -> PageError {
    match error {
        EmailError::Unexpected(error) => PageError::Unexpected(error),
        _ => PageError::bad_request(
            "This link does not work",
            "It was used already, has expired, or a newer one was sent. Ask for a new one.",
        ),
    }
}

pub async fn show(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    email::verification_purpose(&state, &query.token).await.map_err(link_error)?;
    let form = FormToken::new(&request, &state.settings);
    Ok(form.render(StatusCode::OK, &VerifyPage { csrf_token: &form.token, token: &query.token, verified: None }))
}

pub async fn confirm(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<VerifyForm>,
) -> Result<HttpResponse, PageError> {
    csrf::require(&request, form.csrf_token.as_deref())?;
    let address = email::verify(&state, &form.token).await.map_err(link_error)?;
    Ok(render(StatusCode::OK, &VerifyPage { csrf_token: "", token: "", verified: Some(&address) }))
}

#[derive(Deserialize)]
pub struct ChangeForm {
    csrf_token: Option<String>,
    #[serde(default)]
    email: String,
}

#[derive(Template)]
#[template(path = "account/email_sent.html")]
struct SentPage<'a> {
    address: &'a str,
}

/// `POST /account/email`: a confirmation link to the new address (a recent sign-in first).
pub async fn change(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<ChangeForm>,
) -> Result<HttpResponse, PageError> {
    let user = super::passkeys::recently_signed_in_form(&state, &request, form.csrf_token.as_deref()).await?;
    if state.mailer.is_none() {
        return Err(PageError::NotFound);
    }
    match email::request_email_change(&state, &user, &form.email).await {
        Ok(()) => Ok(render(StatusCode::OK, &SentPage { address: form.email.trim() })),
        Err(EmailError::Unexpected(error)) => Err(error.into()),
        Err(error) => Err(PageError::bad_request("That address cannot be used", error.to_string())),
    }
}
