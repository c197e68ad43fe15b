//! The login page and the password form. Works without JavaScript.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::audit::{self, AuditEvent};
use crate::domain::authorization::{self, PendingAuthorization};
use crate::domain::login::{self, LoginError};
use crate::domain::now;
use crate::http::oidc::authorize;
use crate::http::pages::{error_page, internal_error, render, see_other};
use crate::http::{csrf, session, source_ip};
use crate::state::AppState;
use serde_json::json;

#[derive(Template)]
#[template(path = "login/login.html")]
struct LoginPage<'a> {
    csrf_token: &'a str,
    request_id: &'a str,
    client_name: Option<&'a str>,
    username: &'a str,
    error: Option<&'a str>,
    passkeys_enabled: bool,
}

#[derive(Template)]
#[template(path = "login/signed_in.html")]
struct SignedInPage<'a> {
    username: &'a str,
    csrf_token: &'a str,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    request: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    csrf_token: Option<String>,
    request: Option<String>,
}

/// Loads the pending authorization request a login page belongs to, if any.
/// `Err` is the page to show when it is gone.
pub(crate) async fn pending_request(
    state: &AppState,
    id: Option<&str>,
) -> Result<Option<PendingAuthorization>, HttpResponse> {
    let Some(id) = id.filter(|id| !id.is_empty()) else {
        return Ok(None);
    };
    match authorization::load_pending(&state.ephemeral, id).await {
        Ok(Some(pending)) => Ok(Some(pending)),
        Ok(None) => Err(authorize::expired_page()),
        Err(error) => Err(internal_error(&error.into())),
    }
}

pub async fn show_login_form(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<LoginQuery>,
) -> HttpResponse {
    let pending = match pending_request(&state, query.request.as_deref()).await {
        Ok(pending) => pending,
        Err(page) => return page,
    };
    let (csrf_token, new_cookie) = csrf::token(&request, &state.settings);
    let mut response = match &pending {
        Some(pending) => render(
            StatusCode::OK,
            &LoginPage {
                csrf_token: &csrf_token,
                request_id: &pending.id,
                client_name: Some(&pending.client_name),
                username: pending.login_hint.as_deref().unwrap_or_default(),
                error: None,
                passkeys_enabled: state.webauthn.is_some(),
            },
        ),
        None => match session::current(&state, &request).await {
            Ok(Some((_, user))) => {
                render(StatusCode::OK, &SignedInPage { username: &user.username, csrf_token: &csrf_token })
            }
            Ok(None) => render(
                StatusCode::OK,
                &LoginPage {
                    csrf_token: &csrf_token,
                    request_id: "",
                    client_name: None,
                    username: "",
                    error: None,
                    passkeys_enabled: state.webauthn.is_some(),
                },
            ),
            Err(error) => return internal_error(&error),
        },
    };
    if let Some(cookie) = new_cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

pub async fn submit_password(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let form = form.into_inner();
    if !csrf::verify(&request, form.csrf_token.as_deref()) {
        return csrf_failure();
    }
    let pending = match pending_request(&state, form.request.as_deref()).await {
        Ok(pending) => pending,
        Err(page) => return page,
    };
    match login::allow_attempt_from(&state, source_ip(&request).as_deref()).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(source_ip = ?source_ip(&request), "too many password attempts from one address");
            return error_page(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                "Too many sign-in attempts from your network. Wait a minute and try again.",
            );
        }
        Err(LoginError::Unexpected(error)) => return internal_error(&error),
        Err(LoginError::InvalidCredentials) => {}
    }
    let password = SecretString::from(form.password);
    let user = match login::sign_in_with_password(&state, &form.username, &password, source_ip(&request)).await {
        Ok(user) => user,
        Err(LoginError::InvalidCredentials) => {
            tracing::info!("password sign-in failed");
            let mut event = AuditEvent::new("sign_in_failed", now())
                .source_ip(source_ip(&request))
                .details(json!({ "method": "pwd", "username": form.username.chars().take(64).collect::<String>() }));
            event.client_id = pending.as_ref().map(|p| p.client_id.clone());
            audit::record(&state.db, event).await;
            let csrf_token = form.csrf_token.unwrap_or_default();
            return render(
                StatusCode::UNAUTHORIZED,
                &LoginPage {
                    csrf_token: &csrf_token,
                    request_id: pending.as_ref().map(|p| p.id.as_str()).unwrap_or_default(),
                    client_name: pending.as_ref().map(|p| p.client_name.as_str()),
                    username: &form.username,
                    error: Some("Invalid username or password"),
                    passkeys_enabled: state.webauthn.is_some(),
                },
            );
        }
        Err(LoginError::Unexpected(error)) => return internal_error(&error),
    };
    tracing::info!(user_id = %user.id, "signed in with a password");
    let (location, cookie) = match super::complete_sign_in(&state, &request, &user, &["pwd"], pending).await {
        Ok(done) => done,
        Err(page) => return page,
    };
    let mut response = see_other(&location);
    let _ = response.add_cookie(&cookie);
    response
}

/// A form posted without the browser's CSRF token: refused, nothing done.
pub fn csrf_failure() -> HttpResponse {
    error_page(StatusCode::FORBIDDEN, "This form has expired", "Go back, reload the page and try again.")
}
