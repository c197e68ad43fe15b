//! The second step of a password sign-in for a user with an authenticator app: the code
//! (field `code`), or one of their recovery codes. The step is bound to the browser by a
//! short-lived cookie holding the challenge's token.

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::authorization;
use crate::domain::login::{self, LoginError, SecondFactor, SecondFactorChallenge};
use crate::http::csrf::{self, FormToken};
use crate::http::extract::{cookie_name, cookie_value};
use crate::http::login::attempt;
use crate::http::pages::{PageError, render, see_other};
use crate::state::AppState;

const COOKIE: &str = "latchkey_mfa";

#[derive(Template)]
#[template(path = "login/mfa.html")]
struct MfaPage<'a> {
    csrf_token: &'a str,
    recovery: bool,
    error: Option<&'a str>,
    /// The user has a passkey, which may stand in for the password and the code.
    passkey: bool,
    request_id: &'a str,
    next: &'a str,
}

async fn has_passkey(state: &AppState, challenge: &SecondFactorChallenge) -> Result<bool, PageError> {
    if state.webauthn.is_none() {
        return Ok(false);
    }
    let passkeys = crate::domain::passkeys::list(state, &challenge.user_id).await;
    Ok(!passkeys.map_err(|e| PageError::Unexpected(anyhow::anyhow!(e)))?.is_empty())
}

#[derive(Deserialize)]
pub struct MfaQuery {
    recovery: Option<String>,
}

#[derive(Deserialize)]
pub struct MfaForm {
    csrf_token: Option<String>,
    #[serde(default)]
    code: String,
    #[serde(default)]
    method: String,
}

/// After a right password: the challenge starts and the browser goes to the code page.
pub async fn ask_for_second_factor(
    state: &AppState,
    challenge: &SecondFactorChallenge,
) -> Result<HttpResponse, PageError> {
    let token = login::start_second_factor(state, challenge).await.map_err(login_error)?;
    let cookie = challenge_cookie(state, token);
    let mut response = see_other("/login/mfa");
    let _ = response.add_cookie(&cookie);
    Ok(response)
}

fn challenge_cookie(state: &AppState, token: String) -> Cookie<'static> {
    Cookie::build(cookie_name(&state.settings, COOKIE), token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.secure_cookies())
        .max_age(time::Duration::minutes(5))
        .finish()
}

fn login_error(error: LoginError) -> PageError {
    match error {
        LoginError::Unexpected(error) => PageError::Unexpected(error),
        LoginError::InvalidCredentials => PageError::SignInExpired,
    }
}

pub async fn show(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<MfaQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(token) = cookie_value(&request, COOKIE) else { return Ok(see_other("/login")) };
    let Some(challenge) = login::second_factor_challenge(&state, &token).await.map_err(login_error)? else {
        return Ok(see_other("/login"));
    };
    let form = FormToken::new(&request, &state.settings);
    let page = MfaPage {
        csrf_token: &form.token,
        recovery: query.recovery.is_some(),
        error: None,
        passkey: has_passkey(&state, &challenge).await?,
        request_id: challenge.request_id.as_deref().unwrap_or_default(),
        next: challenge.next.as_deref().unwrap_or_default(),
    };
    Ok(form.render(StatusCode::OK, &page))
}

pub async fn submit(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<MfaForm>,
) -> Result<HttpResponse, PageError> {
    csrf::require(&request, form.csrf_token.as_deref())?;
    let Some(token) = cookie_value(&request, COOKIE) else { return Ok(see_other("/login")) };
    let factor = if form.method == "recovery" { SecondFactor::RecoveryCode } else { SecondFactor::Totp };
    let Some(challenge) = login::second_factor_challenge(&state, &token).await.map_err(login_error)? else {
        return Ok(see_other("/login"));
    };
    let pending = match &challenge.request_id {
        Some(id) => authorization::load_pending(&state.ephemeral, id).await?,
        None => None,
    };
    let attempt = attempt(&request, pending.as_ref().map(|p| p.client_id.clone()));
    let (user, challenge) = match login::finish_second_factor(&state, &token, factor, &form.code, &attempt).await {
        Ok(done) => done,
        Err(LoginError::InvalidCredentials) => {
            let csrf_token = form.csrf_token.clone().unwrap_or_default();
            let page = MfaPage {
                csrf_token: &csrf_token,
                recovery: factor == SecondFactor::RecoveryCode,
                error: Some("That code is not right. Try again."),
                passkey: has_passkey(&state, &challenge).await?,
                request_id: challenge.request_id.as_deref().unwrap_or_default(),
                next: challenge.next.as_deref().unwrap_or_default(),
            };
            return Ok(render(StatusCode::UNAUTHORIZED, &page));
        }
        Err(error) => return Err(login_error(error)),
    };
    let next = super::local_path(challenge.next.as_deref());
    let (location, session_cookie) =
        super::complete_sign_in(&state, &request, &user, factor.amr(), pending, next, &attempt).await?;
    let mut response = see_other(&location);
    let _ = response.add_cookie(&session_cookie);
    // (`__Host-` cookies are only replaced by a cookie with the same attributes.)
    let mut spent = challenge_cookie(&state, String::new());
    spent.make_removal();
    let _ = response.add_cookie(&spent);
    Ok(response)
}
