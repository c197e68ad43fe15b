//! The login page and the password form. Works without JavaScript.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::authorization::PendingAuthorization;
use crate::domain::clients;
use crate::domain::login::{self, LoginError};
use crate::domain::upstream;
use crate::http::csrf::{self, FormToken};
use crate::http::login::attempt;
use crate::http::oidc::authorize::pending_request;
use crate::http::pages::{PageError, render, see_other};
use crate::http::session;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login/login.html")]
struct LoginPage<'a> {
    csrf_token: &'a str,
    request_id: &'a str,
    client_name: Option<&'a str>,
    username: &'a str,
    error: Option<&'a str>,
    passkeys_enabled: bool,
    /// Mail is set up: "Forgot your password?" is offered.
    password_reset: bool,
    /// Self-registration is open: "Create an account" is offered.
    registration_open: bool,
    /// Where to go after signing in again for a sensitive action (a local path), or "".
    next: &'a str,
    /// "Continue with …" buttons, one per enabled upstream.
    upstreams: Vec<upstream::Button>,
    /// The query the upstream buttons carry on: the pending request or `next`.
    upstream_query: String,
    /// The client wants only the upstream buttons: no password form, no passkey button.
    upstream_only: bool,
}

/// The upstream buttons for a sign-in (to the pending request's client, if any), the query
/// they carry on, and whether they are the only way offered. A re-authentication
/// (`reauthenticate`) asks the upstream to sign the user in again too.
async fn upstream_choices(
    state: &AppState,
    pending: Option<&PendingAuthorization>,
    next: &str,
    reauthenticate: bool,
) -> Result<(Vec<upstream::Button>, String, bool), PageError> {
    let buttons = upstream::buttons(&state.db).await?;
    if buttons.is_empty() {
        return Ok((buttons, String::new(), false));
    }
    let encode = |value: &str| url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>();
    let (query, only) = match pending {
        Some(pending) => {
            let client = clients::find_client(&state.db, &pending.client_id).await.ok();
            (format!("?request={}", encode(&pending.id)), client.is_some_and(|c| c.policy.upstream_only))
        }
        None if !next.is_empty() && reauthenticate => (format!("?next={}&prompt=login", encode(next)), false),
        None if !next.is_empty() => (format!("?next={}", encode(next)), false),
        None => (String::new(), false),
    };
    Ok((buttons, query, only))
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
    /// `login`: show the form even to a signed-in browser (re-authentication).
    prompt: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    csrf_token: Option<String>,
    request: Option<String>,
    next: Option<String>,
}

pub async fn show_login_form(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageError> {
    let pending = pending_request(&state, query.request.as_deref()).await?;
    let form = FormToken::new(&request, &state.settings);
    let next = super::local_path(query.next.as_deref()).unwrap_or_default();
    let reauthenticate = query.prompt.as_deref() == Some("login");
    let (upstreams, upstream_query, upstream_only) =
        upstream_choices(&state, pending.as_ref(), next, reauthenticate).await?;
    let mut page = LoginPage {
        csrf_token: &form.token,
        request_id: "",
        client_name: None,
        username: "",
        error: None,
        passkeys_enabled: state.webauthn.is_some(),
        password_reset: state.mailer.is_some(),
        registration_open: super::register::open(&state),
        next,
        upstreams,
        upstream_query,
        upstream_only,
    };
    if let Some(pending) = &pending {
        page.request_id = &pending.id;
        page.client_name = Some(&pending.client_name);
        page.username = pending.login_hint.as_deref().unwrap_or_default();
    } else if reauthenticate && let Some((_, user)) = session::current(&state, &request).await? {
        let username = user.username.clone();
        let page = LoginPage { username: &username, ..page };
        return Ok(form.render(StatusCode::OK, &page));
    } else if let Some((_, user)) = session::current(&state, &request).await? {
        return Ok(form.render(StatusCode::OK, &SignedInPage { username: &user.username, csrf_token: &form.token }));
    }
    Ok(form.render(StatusCode::OK, &page))
}

pub async fn submit_password(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    csrf::require(&request, form.csrf_token.as_deref())?;
    let pending = pending_request(&state, form.request.as_deref()).await?;
    let attempt = attempt(&request, pending.as_ref().map(|p| p.client_id.clone()));
    match login::allow_attempt_from(&state, attempt.source_ip.as_deref()).await {
        Ok(true) | Err(LoginError::InvalidCredentials) => {}
        Ok(false) => {
            tracing::warn!(source_ip = ?attempt.source_ip, "too many password attempts from one address");
            return Err(PageError::TooManyRequests(60));
        }
        Err(LoginError::Unexpected(error)) => return Err(error.into()),
    }
    let next = super::local_path(form.next.as_deref()).unwrap_or_default();
    // The form does not say whether it was a re-authentication: the buttons ask for one
    // whenever there is a `next`, to be safe.
    let (upstreams, upstream_query, upstream_only) =
        upstream_choices(&state, pending.as_ref(), next, !next.is_empty()).await?;
    let password = SecretString::from(form.password);
    let result = if upstream_only {
        // This client offers only its upstream providers; the form is not on its page.
        Err(LoginError::InvalidCredentials)
    } else {
        login::sign_in_with_password(&state, &form.username, &password, &attempt).await
    };
    let user = match result {
        Ok(user) => user,
        Err(LoginError::InvalidCredentials) => {
            tracing::info!("password sign-in failed");
            let csrf_token = form.csrf_token.unwrap_or_default();
            return Ok(render(
                StatusCode::UNAUTHORIZED,
                &LoginPage {
                    csrf_token: &csrf_token,
                    request_id: pending.as_ref().map(|p| p.id.as_str()).unwrap_or_default(),
                    client_name: pending.as_ref().map(|p| p.client_name.as_str()),
                    username: &form.username,
                    error: Some("Invalid username or password"),
                    passkeys_enabled: state.webauthn.is_some(),
                    password_reset: state.mailer.is_some(),
                    registration_open: super::register::open(&state),
                    next,
                    upstreams,
                    upstream_query,
                    upstream_only,
                },
            ));
        }
        Err(LoginError::Unexpected(error)) => return Err(error.into()),
    };
    let next = super::local_path(form.next.as_deref());
    if login::needs_second_factor(&state, &user.id).await.map_err(|e| PageError::Unexpected(anyhow::anyhow!(e)))? {
        let challenge = login::SecondFactorChallenge {
            user_id: user.id.clone(),
            request_id: pending.as_ref().map(|p| p.id.clone()),
            next: next.map(str::to_string),
        };
        return super::mfa::ask_for_second_factor(&state, &challenge).await;
    }
    tracing::info!(user_id = %user.id, "signed in with a password");
    let (location, cookie) =
        super::complete_sign_in(&state, &request, &user, &["pwd"], pending, next, &attempt).await?;
    let mut response = see_other(&location);
    let _ = response.add_cookie(&cookie);
    Ok(response)
}
