//! `/account/password`: choose a new password. Required before anything else when an admin
//! set a temporary one; then the pending sign-in (if any) continues.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::authorization;
use crate::domain::users::{self, UserError};
use crate::http::login::password::csrf_failure;
use crate::http::oidc::authorize::{expired_page, next_location};
use crate::http::pages::{internal_error, render, see_other};
use crate::http::{csrf, session};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "account/password.html")]
struct PasswordPage<'a> {
    csrf_token: &'a str,
    request_id: &'a str,
    forced: bool,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct PasswordQuery {
    #[serde(default)]
    request: String,
}

pub async fn show_form(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<PasswordQuery>,
) -> HttpResponse {
    let user = match session::current(&state, &request).await {
        Ok(Some((_, user))) => user,
        Ok(None) => return see_other("/login"),
        Err(error) => return internal_error(&error),
    };
    let (csrf_token, new_cookie) = csrf::token(&request, &state.settings);
    let page = PasswordPage {
        csrf_token: &csrf_token,
        request_id: &query.request,
        forced: user.must_change_password,
        error: None,
    };
    let mut response = render(StatusCode::OK, &page);
    if let Some(cookie) = new_cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf_token: Option<String>,
    #[serde(default)]
    request: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn change(state: web::Data<AppState>, request: HttpRequest, form: web::Form<PasswordForm>) -> HttpResponse {
    let form = form.into_inner();
    if !csrf::verify(&request, form.csrf_token.as_deref()) {
        return csrf_failure();
    }
    let (browser_session, user) = match session::current(&state, &request).await {
        Ok(Some(signed_in)) => signed_in,
        Ok(None) => return see_other("/login"),
        Err(error) => return internal_error(&error),
    };
    let again = |message: &str| {
        let csrf_token = form.csrf_token.clone().unwrap_or_default();
        let page = PasswordPage {
            csrf_token: &csrf_token,
            request_id: &form.request,
            forced: user.must_change_password,
            error: Some(message),
        };
        render(StatusCode::BAD_REQUEST, &page)
    };
    if form.password != form.confirm {
        return again("The two passwords differ.");
    }
    match users::set_password(&state.db, &state.passwords, &user.id, &SecretString::from(form.password.clone()), false)
        .await
    {
        Ok(()) => {}
        Err(UserError::EmptyPassword) => return again("Choose a password."),
        Err(error) => return internal_error(&anyhow::anyhow!(error)),
    }
    tracing::info!(user_id = %user.id, "password changed by its owner");
    if form.request.is_empty() {
        return see_other("/account");
    }
    let pending = match authorization::load_pending(&state.ephemeral, &form.request).await {
        Ok(Some(pending)) => pending,
        Ok(None) => return expired_page(),
        Err(error) => return internal_error(&error.into()),
    };
    let user = users::User { must_change_password: false, ..user };
    match next_location(&state, &pending, Some(&(browser_session, user))).await {
        Ok(location) => see_other(&location),
        Err(page) => page,
    }
}
