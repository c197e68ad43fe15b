//! "Continue with …": a sign-in through an upstream identity provider, and linking one
//! from the account page. The browser's journey is bound to it by a short-lived cookie
//! holding the `state` sent upstream, so a callback from another browser is worthless.

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::rate_limits::{self, Limit};
use crate::domain::upstream::accounts::AccountRefusal;
use crate::domain::upstream::journey::{self, Completed, JourneyError};
use crate::domain::upstream::protocol::{Callback, Intent, UpstreamFailure};
use crate::domain::upstream::{self, UpstreamError};
use crate::domain::{credentials, now};
use crate::http::extract::{cookie_name, cookie_value};
use crate::http::login::{attempt, local_path, reauthenticate_location};
use crate::http::oidc::authorize::pending_request;
use crate::http::pages::{PageError, render, see_other};
use crate::http::{csrf, session, source_ip};
use crate::state::AppState;

const JOURNEY_COOKIE: &str = "latchkey_upstream";

#[derive(Template)]
#[template(path = "login/upstream_error.html")]
struct UpstreamErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    /// Where "Back to sign-in" goes.
    back: &'a str,
}

#[derive(Deserialize)]
pub struct StartQuery {
    request: Option<String>,
    next: Option<String>,
    /// `login`: a re-authentication; the upstream must ask the user again.
    prompt: Option<String>,
}

fn journey_cookie(state: &AppState, value: &str, ttl_secs: i64) -> Cookie<'static> {
    Cookie::build(cookie_name(&state.settings, JOURNEY_COOKIE), value.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.secure_cookies())
        .max_age(time::Duration::seconds(ttl_secs))
        .finish()
}

fn to_upstream(state: &AppState, location: &str, state_token: &str) -> HttpResponse {
    let mut response = see_other(location);
    let _ = response.add_cookie(&journey_cookie(state, state_token, 600));
    response
}

/// `GET /login/upstream/{name}`: off to the upstream, for the pending authorization request
/// (`request`) or a local `next`.
pub async fn start(
    state: web::Data<AppState>,
    request: HttpRequest,
    name: web::Path<String>,
    query: web::Query<StartQuery>,
) -> Result<HttpResponse, PageError> {
    // Each start keeps a journey for 10 minutes: counted like authorization requests.
    rate_limits::count(&state, Limit::Authorize, source_ip(&request).as_deref()).await??;
    let pending = pending_request(&state, query.request.as_deref()).await?;
    let attempt = attempt(&request, pending.as_ref().map(|p| p.client_id.clone()));
    let back = login_path(pending.as_ref().map(|p| p.id.as_str()));
    let fresh = query.prompt.as_deref() == Some("login")
        || pending.as_ref().is_some_and(|p| p.prompt_login || p.max_age.is_some());
    let intent = Intent {
        request_id: pending.map(|p| p.id),
        next: local_path(query.next.as_deref()).map(str::to_string),
        link_user_id: None,
        fresh,
    };
    match journey::begin(&state, &name, intent, &attempt).await {
        Ok((location, state_token)) => Ok(to_upstream(&state, &location, &state_token)),
        Err(error) => failure_page(&state, &name, &error, &back).await,
    }
}

#[derive(Deserialize)]
pub struct LinkForm {
    csrf_token: Option<String>,
}

/// `POST /account/upstreams/{name}/link`: a signed-in user links an upstream account. It
/// adds a way into the account, so it needs a recent sign-in, like adding a passkey.
pub async fn link(
    state: web::Data<AppState>,
    request: HttpRequest,
    name: web::Path<String>,
    form: web::Form<LinkForm>,
) -> Result<HttpResponse, PageError> {
    csrf::require(&request, form.csrf_token.as_deref())?;
    let (browser_session, user) = session::require(&state, &request).await?;
    if !credentials::is_recent(&state, &browser_session, now()) {
        return Err(PageError::Redirect(reauthenticate_location("/account")));
    }
    let attempt = attempt(&request, None);
    let intent = Intent { link_user_id: Some(user.id.clone()), ..Intent::default() };
    match journey::begin(&state, &name, intent, &attempt).await {
        Ok((location, state_token)) => Ok(to_upstream(&state, &location, &state_token)),
        Err(error) => failure_page(&state, &name, &error, "/account").await,
    }
}

/// `POST /account/upstreams/{name}/unlink`.
pub async fn unlink(
    state: web::Data<AppState>,
    request: HttpRequest,
    name: web::Path<String>,
    form: web::Form<LinkForm>,
) -> Result<HttpResponse, PageError> {
    csrf::require(&request, form.csrf_token.as_deref())?;
    let (_, user) = session::require(&state, &request).await?;
    match upstream::unlink(&state, &user.id, &name, source_ip(&request)).await {
        Ok(()) => Ok(see_other("/account?done=unlinked")),
        Err(UpstreamError::NotFound(_)) => Err(PageError::NotFound),
        Err(UpstreamError::LastSignInMethod) => Err(PageError::page(
            StatusCode::CONFLICT,
            "This is your only way to sign in",
            "Add a password or a passkey to your account before you unlink this sign-in.",
        )),
        Err(error) => Err(PageError::Unexpected(anyhow::anyhow!(error))),
    }
}

/// `GET /login/upstream/{name}/callback`: the upstream sends the browser back here (the
/// redirect URI to register upstream).
pub async fn callback(
    state: web::Data<AppState>,
    request: HttpRequest,
    name: web::Path<String>,
    query: web::Query<Callback>,
) -> Result<HttpResponse, PageError> {
    let browser_state = cookie_value(&request, JOURNEY_COOKIE);
    let mut attempt = attempt(&request, None);
    attempt.upstream = Some(name.to_string());
    let result = journey::complete(&state, &name, &query, browser_state.as_deref(), &attempt).await;
    let mut response = match result {
        Ok(Completed::Linked { .. }) => see_other("/account?done=linked"),
        Ok(Completed::SignedIn { user, amr, journey }) => {
            let pending = pending_request(&state, journey.intent.request_id.as_deref()).await?;
            attempt.client_id = pending.as_ref().map(|p| p.client_id.clone());
            tracing::info!(user_id = %user.id, upstream = %name, "signed in through an upstream");
            let (location, cookie) = super::complete_sign_in(
                &state,
                &request,
                &user,
                &amr,
                pending,
                journey.intent.next.as_deref(),
                &attempt,
            )
            .await?;
            let mut response = see_other(&location);
            let _ = response.add_cookie(&cookie);
            response
        }
        Err(error) => failure_page(&state, &name, &error, "/login").await?,
    };
    let mut spent = journey_cookie(&state, "", 0);
    spent.make_removal();
    let _ = response.add_cookie(&spent);
    Ok(response)
}

fn login_path(request_id: Option<&str>) -> String {
    match request_id {
        Some(id) => {
            format!("/login?request={}", url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>())
        }
        None => "/login".to_string(),
    }
}

/// The page for a sign-in through an upstream that did not work: what happened, in words
/// the user can act on, and the way back to the other ways to sign in.
async fn failure_page(
    state: &AppState,
    name: &str,
    error: &JourneyError,
    back: &str,
) -> Result<HttpResponse, PageError> {
    let display = journey::display_name(state, name).await;
    let (status, title, message) = match error {
        JourneyError::NotFound(_) => return Err(PageError::NotFound),
        JourneyError::Upstream(UpstreamFailure::Unavailable(_)) => (
            StatusCode::BAD_GATEWAY,
            "Sign-in unavailable",
            format!("{display} is not answering; try again or use another way to sign in."),
        ),
        JourneyError::Upstream(UpstreamFailure::Refused(_)) => (
            StatusCode::BAD_GATEWAY,
            "Sign-in not completed",
            format!("{display} did not complete the sign-in; try again or use another way to sign in."),
        ),
        JourneyError::Upstream(UpstreamFailure::Invalid(_)) => (
            StatusCode::BAD_GATEWAY,
            "Sign-in not accepted",
            format!("{display}'s answer could not be verified; try again or use another way to sign in."),
        ),
        JourneyError::Upstream(UpstreamFailure::Expired) => (
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "This sign-in took too long or was started in another browser. Start again.".to_string(),
        ),
        JourneyError::Account(AccountRefusal::NoAccount) => (
            StatusCode::FORBIDDEN,
            "No account",
            format!(
                "No account here is linked to your {display} account, and one cannot be created with it. Ask your administrator for an account."
            ),
        ),
        JourneyError::Account(AccountRefusal::LinkRequired) => (
            StatusCode::CONFLICT,
            "Link your account first",
            format!(
                "An account with your email address already exists. Sign in to it another way, then link {display} on your account page."
            ),
        ),
        JourneyError::Account(AccountRefusal::LinkedElsewhere) => (
            StatusCode::CONFLICT,
            "Already linked",
            format!("That {display} account is already linked to another account here."),
        ),
        JourneyError::Account(AccountRefusal::Disabled) => (
            StatusCode::FORBIDDEN,
            "Sign-in not possible",
            "This account cannot sign in. Ask your administrator.".to_string(),
        ),
        JourneyError::Account(AccountRefusal::Unexpected(error)) => {
            return Err(PageError::Unexpected(anyhow::anyhow!("{error:#}")));
        }
    };
    Ok(render(status, &UpstreamErrorPage { title, message: &message, back }))
}
