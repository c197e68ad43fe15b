//! The forms of `/account` that take access back: signing out a session (or all the
//! others), removing an app's access, and the profile form.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::domain::account;
use crate::domain::audit::Actor;
use crate::domain::users::User;
use crate::http::pages::{PageError, see_other};
use crate::http::{csrf, session, source_ip};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: Option<String>,
}

#[derive(Deserialize)]
pub struct AppForm {
    csrf_token: Option<String>,
    #[serde(default)]
    client_id: String,
}

#[derive(Deserialize)]
pub struct ProfileForm {
    csrf_token: Option<String>,
    #[serde(default)]
    display_name: String,
}

fn actor(user: &User, request: &HttpRequest) -> Actor {
    Actor::User { user_id: user.id.clone(), source_ip: source_ip(request) }
}

pub async fn end_session(
    state: web::Data<AppState>,
    request: HttpRequest,
    handle: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let user = super::passkeys::signed_in_form(&state, &request, form.csrf_token.as_deref()).await?;
    if !account::end_session(&state, &actor(&user, &request), &handle).await? {
        return Err(PageError::NotFound);
    }
    Ok(see_other("/account?done=session#sessions"))
}

pub async fn end_other_sessions(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    csrf::require(&request, form.csrf_token.as_deref())?;
    super::count_request(&state, &request).await??;
    let (browser_session, user) = session::require(&state, &request).await?;
    account::end_other_sessions(&state, &actor(&user, &request), &browser_session).await?;
    Ok(see_other("/account?done=sessions#sessions"))
}

pub async fn remove_app(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<AppForm>,
) -> Result<HttpResponse, PageError> {
    let user = super::passkeys::signed_in_form(&state, &request, form.csrf_token.as_deref()).await?;
    if !account::remove_app_access(&state, &actor(&user, &request), &form.client_id).await? {
        return Err(PageError::NotFound);
    }
    Ok(see_other("/account?done=app#apps"))
}

pub async fn update_profile(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<ProfileForm>,
) -> Result<HttpResponse, PageError> {
    let user = super::passkeys::signed_in_form(&state, &request, form.csrf_token.as_deref()).await?;
    account::update_profile(&state, &actor(&user, &request), &form.display_name).await?;
    Ok(see_other("/account?done=profile#profile"))
}
