//! `/account/password`: choose a new password. Required before anything else when an admin
//! set a temporary one; then the pending sign-in (if any) continues.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::audit::Actor;
use crate::domain::users::{self, UserError};
use crate::http::csrf::{self, FormToken};
use crate::http::oidc::authorize::{next_location, pending_request};
use crate::http::pages::{PageError, render, see_other};
use crate::http::{session, source_ip};
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
) -> Result<HttpResponse, PageError> {
    let (_, user) = session::require(&state, &request).await?;
    let form = FormToken::new(&request, &state.settings);
    let page = PasswordPage {
        csrf_token: &form.token,
        request_id: &query.request,
        forced: user.must_change_password,
        error: None,
    };
    Ok(form.render(StatusCode::OK, &page))
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

pub async fn change(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    csrf::require(&request, form.csrf_token.as_deref())?;
    let (browser_session, user) = session::require(&state, &request).await?;
    let again = |message: &str| {
        let csrf_token = form.csrf_token.clone().unwrap_or_default();
        let page = PasswordPage {
            csrf_token: &csrf_token,
            request_id: &form.request,
            forced: user.must_change_password,
            error: Some(message),
        };
        Ok(render(StatusCode::BAD_REQUEST, &page))
    };
    if form.password != form.confirm {
        return again("The two passwords differ.");
    }
    let actor = Actor::User { user_id: user.id.clone(), source_ip: source_ip(&request) };
    let password = SecretString::from(form.password.clone());
    match users::set_password(&state, &actor, &user.id, &password, false).await {
        Ok(()) => {}
        Err(UserError::EmptyPassword) => return again("Choose a password."),
        Err(error) => return Err(error.into()),
    }
    tracing::info!(user_id = %user.id, "password changed by its owner");
    let Some(pending) = pending_request(&state, Some(&form.request)).await? else {
        return Ok(see_other("/account"));
    };
    let user = users::User { must_change_password: false, ..user };
    Ok(see_other(&next_location(&state, &pending, Some(&(browser_session, user))).await?))
}
