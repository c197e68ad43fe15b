//! `/account/mfa/...`: setting up an authenticator app (QR code and key, confirmed by a
//! code), recovery codes (shown once), and turning the app off. Each needs a recent sign-in.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::passkeys::recently_signed_in_form;
use crate::domain::mfa::{self, MfaError};
use crate::domain::now;
use crate::http::csrf::FormToken;
use crate::http::pages::{PageError, see_other};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "account/totp_setup.html")]
struct SetupPage<'a> {
    csrf_token: &'a str,
    secret: &'a str,
    qr_svg: &'a str,
}

#[derive(Template)]
#[template(path = "account/recovery_codes.html")]
struct RecoveryCodesPage {
    codes: Vec<String>,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: Option<String>,
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf_token: Option<String>,
    #[serde(default)]
    code: String,
}

fn page_error(error: MfaError) -> PageError {
    match error {
        MfaError::WrongCode => PageError::bad_request(
            "That code is not right",
            "Go back to your account and set up the authenticator app again.",
        ),
        MfaError::SetupExpired => PageError::bad_request(
            "The setup has expired",
            "Go back to your account and set up the authenticator app again.",
        ),
        MfaError::Forbidden => PageError::page(StatusCode::FORBIDDEN, "Not allowed", "Only an admin may do this."),
        MfaError::Unexpected(error) => PageError::Unexpected(error),
    }
}

pub async fn start(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let user = recently_signed_in_form(&state, &request, form.csrf_token.as_deref()).await?;
    let setup = mfa::begin_totp(&state, &user.id, &user.username).await.map_err(page_error)?;
    let token = FormToken::new(&request, &state.settings);
    let page = SetupPage { csrf_token: &token.token, secret: &setup.secret, qr_svg: &setup.qr_svg };
    Ok(token.render(StatusCode::OK, &page))
}

pub async fn confirm(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    let user = recently_signed_in_form(&state, &request, form.csrf_token.as_deref()).await?;
    let codes = mfa::confirm_totp(&state, &user.id, &form.code, now()).await.map_err(page_error)?;
    Ok(crate::http::pages::render(StatusCode::OK, &RecoveryCodesPage { codes }))
}

pub async fn regenerate(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let user = recently_signed_in_form(&state, &request, form.csrf_token.as_deref()).await?;
    let codes = mfa::regenerate_recovery_codes(&state, &user.id, now()).await.map_err(page_error)?;
    Ok(crate::http::pages::render(StatusCode::OK, &RecoveryCodesPage { codes }))
}

pub async fn remove(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let user = recently_signed_in_form(&state, &request, form.csrf_token.as_deref()).await?;
    mfa::remove_own(&state, &user.id, now()).await.map_err(page_error)?;
    Ok(see_other("/account"))
}
