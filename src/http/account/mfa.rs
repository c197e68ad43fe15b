//! `/account/mfa/...`: setting up an authenticator app (QR code and key, confirmed by a
//! code), recovery codes (shown once), and turning the app off. Each needs a recent sign-in.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::passkeys::recently_signed_in_form;
use crate::domain::assurance;
use crate::domain::login::{self, SecondFactor};
use crate::domain::mfa::{self, MfaError};
use crate::domain::now;
use crate::http::csrf::FormToken;
use crate::http::login::attempt;
use crate::http::login::step_up;
use crate::http::pages::{PageError, render, see_other};
use crate::http::session;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "account/totp_setup.html")]
struct SetupPage<'a> {
    csrf_token: &'a str,
    secret: &'a str,
    qr_svg: &'a str,
    step_up: &'a StepUpContext,
}

#[derive(Template)]
#[template(path = "account/recovery_codes.html")]
struct RecoveryCodesPage {
    codes: Vec<String>,
    /// Where a setup made during a sign-in goes on to; `None`: back to the account page.
    continue_to: Option<String>,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: Option<String>,
}

/// A setup started from the step-up page: the sign-in it belongs to (a pending
/// authorization request, or a local path to go on to).
#[derive(Deserialize, Default)]
pub struct StepUpContext {
    #[serde(default)]
    request: String,
    #[serde(default)]
    next: String,
}

impl StepUpContext {
    fn request(&self) -> Option<&str> {
        Some(self.request.as_str()).filter(|id| !id.is_empty())
    }

    fn next(&self) -> Option<&str> {
        crate::http::login::local_path(Some(self.next.as_str()))
    }

    fn is_sign_in(&self) -> bool {
        self.request().is_some() || self.next().is_some()
    }
}

#[derive(Deserialize)]
pub struct StartForm {
    csrf_token: Option<String>,
    #[serde(flatten)]
    step_up: StepUpContext,
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf_token: Option<String>,
    #[serde(default)]
    code: String,
    #[serde(flatten)]
    step_up: StepUpContext,
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
    form: web::Form<StartForm>,
) -> Result<HttpResponse, PageError> {
    let user = recently_signed_in_form(&state, &request, form.csrf_token.as_deref()).await?;
    let setup = mfa::begin_totp(&state, &user.id, &user.username).await.map_err(page_error)?;
    let token = FormToken::new(&request, &state.settings);
    let page =
        SetupPage { csrf_token: &token.token, secret: &setup.secret, qr_svg: &setup.qr_svg, step_up: &form.step_up };
    Ok(token.render(StatusCode::OK, &page))
}

pub async fn confirm(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    let user = recently_signed_in_form(&state, &request, form.csrf_token.as_deref()).await?;
    let completes_sign_in = form.step_up.is_sign_in()
        && assurance::enrollment_completes_sign_in(&state, &user.id).await.map_err(PageError::Unexpected)?;
    let codes = mfa::confirm_totp(&state, &user.id, &form.code, now()).await.map_err(page_error)?;
    if !completes_sign_in {
        return Ok(render(StatusCode::OK, &RecoveryCodesPage { codes, continue_to: None }));
    }
    // The code just confirmed is the second step of this sign-in: a new session says so.
    let attempt = attempt(&request, None);
    let previous = session::presented_id(&request);
    let amr = SecondFactor::Totp.amr();
    let renewed = login::start_session(&state, &user, amr, previous.as_deref(), &attempt, now()).await?;
    let continue_to = step_up::location(form.step_up.request(), form.step_up.next());
    let mut response = render(StatusCode::OK, &RecoveryCodesPage { codes, continue_to: Some(continue_to) });
    let _ = response.add_cookie(&session::cookie(&state, &renewed));
    Ok(response)
}

pub async fn regenerate(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let user = recently_signed_in_form(&state, &request, form.csrf_token.as_deref()).await?;
    let codes = mfa::regenerate_recovery_codes(&state, &user.id, now()).await.map_err(page_error)?;
    Ok(render(StatusCode::OK, &RecoveryCodesPage { codes, continue_to: None }))
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
