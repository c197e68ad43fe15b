//! `/account/password`: choose a new password, giving the current one. Required before
//! anything else when an admin set a temporary one (then the sign-in just made is the
//! proof); then the pending sign-in (if any) continues. Every other session ends, and this
//! one is renewed.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::credentials::{self, Proof};
use crate::domain::now;
use crate::domain::users::{self, UserError};
use crate::http::csrf::{self, FormToken};
use crate::http::login::reauthenticate_location;
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
    /// The account has no password yet (passkeys only): "Set a password", no current one.
    first: bool,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct PasswordQuery {
    #[serde(default)]
    request: String,
}

/// "the password must…" as a sentence.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
    format!("{first}{}.", chars.as_str())
}

pub async fn show_form(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<PasswordQuery>,
) -> Result<HttpResponse, PageError> {
    let (browser_session, user) = session::require(&state, &request).await?;
    let first = !credentials::has_password(&state, &user.id).await?;
    if first && !credentials::is_recent(&state, &browser_session, now()) {
        return Err(PageError::Redirect(reauthenticate_location("/account/password")));
    }
    let form = FormToken::new(&request, &state.settings);
    let page = PasswordPage {
        csrf_token: &form.token,
        request_id: &query.request,
        forced: user.must_change_password,
        first,
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
    current_password: String,
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
    super::count_request(&state, &request).await??;
    let (browser_session, user) = session::require(&state, &request).await?;
    let first = !credentials::has_password(&state, &user.id).await?;
    let again = |message: &str| {
        let csrf_token = form.csrf_token.clone().unwrap_or_default();
        let page = PasswordPage {
            csrf_token: &csrf_token,
            request_id: &form.request,
            forced: user.must_change_password,
            first,
            error: Some(message),
        };
        Ok(render(StatusCode::BAD_REQUEST, &page))
    };
    if form.password != form.confirm {
        return again("The two passwords differ.");
    }
    let current = SecretString::from(form.current_password.clone());
    let proof = if user.must_change_password || first { Proof::RecentSignIn } else { Proof::CurrentPassword(&current) };
    let new = SecretString::from(form.password.clone());
    let renewed =
        match credentials::change_own_password(&state, &browser_session, proof, &new, source_ip(&request)).await {
            Ok(renewed) => renewed,
            Err(UserError::EmptyPassword) => return again("Choose a password."),
            Err(UserError::WeakPassword(why)) => return again(&capitalized(&why.to_string())),
            Err(UserError::WrongPassword) if user.must_change_password => {
                return Err(PageError::sign_in_first());
            }
            Err(UserError::WrongPassword) if first => {
                return Err(PageError::Redirect(reauthenticate_location("/account/password")));
            }
            Err(UserError::WrongPassword) => return again("Your current password is not right."),
            Err(error) => return Err(error.into()),
        };
    tracing::info!(user_id = %user.id, "password changed by its owner");
    let location = match pending_request(&state, Some(&form.request)).await? {
        Some(pending) => {
            let user = users::User { must_change_password: false, ..user };
            next_location(&state, &pending, Some(&(renewed.clone(), user))).await?
        }
        None => "/account?done=password".to_string(),
    };
    let mut response = see_other(&location);
    let _ = response.add_cookie(&session::cookie(&state, &renewed));
    Ok(response)
}
