//! `/authorize` (GET and POST): validates the request, then walks the browser through
//! sign-in and consent until a code goes back to the client.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::authorization::{self, Advance, AuthorizationParams, AuthorizeError, PendingAuthorization, pushed};
use crate::domain::rate_limits::{self, Limit};
use crate::domain::sessions::BrowserSession;
use crate::domain::{clients, now, resources, users::User};
use crate::http::pages::{PageError, see_other};
use crate::http::{session, source_ip};
use crate::state::AppState;

pub async fn start_get(state: web::Data<AppState>, request: HttpRequest) -> Result<HttpResponse, PageError> {
    let params = parse_params(request.query_string().as_bytes())?;
    start(&state, &request, &params).await
}

pub async fn start_post(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = parse_params(&body)?;
    start(&state, &request, &params).await
}

fn parse_params(raw: &[u8]) -> Result<AuthorizationParams, PageError> {
    AuthorizationParams::from_form(raw)
        .map_err(|_| PageError::bad_request("This sign-in request is not valid", "Its parameters cannot be read."))
}

/// A pushed request (RFC 9126) stands in for the whole query but `client_id`: once, for
/// the client that pushed it.
async fn unpushed(state: &AppState, params: AuthorizationParams) -> Result<AuthorizationParams, PageError> {
    let (Some(request_uri), Some(client_id)) = (params.request_uri.as_deref(), params.client_id.as_deref()) else {
        return Ok(params);
    };
    match pushed::take(&state.ephemeral, request_uri, client_id).await? {
        Some(raw) => Ok(AuthorizationParams { pushed: true, ..parse_params(raw.as_bytes())? }),
        None => Err(PageError::bad_request(
            "This sign-in request is not valid",
            "It has expired or was used already. Go back to the application and start again.",
        )),
    }
}

async fn start(
    state: &AppState,
    request: &HttpRequest,
    params: &AuthorizationParams,
) -> Result<HttpResponse, PageError> {
    rate_limits::count(state, Limit::Authorize, source_ip(request).as_deref()).await??;
    let params = &unpushed(state, params.clone()).await?;
    let client = match params.client_id.as_deref() {
        Some(id) if !id.is_empty() => clients::find_usable(state, id).await?,
        _ => None,
    };
    let apis = resources::resolve(&state.db, &params.resources).await?;
    let pending = match authorization::validate(params, client, apis, &state.settings, now()) {
        Ok(pending) => pending,
        Err(AuthorizeError::Untrusted(reason)) => {
            return Err(PageError::bad_request("This sign-in request is not valid", reason.to_string()));
        }
        Err(AuthorizeError::Redirect(error)) => {
            return Ok(see_other(&authorization::response::answer_error(state, &error).await?));
        }
    };
    authorization::save_pending(&state.ephemeral, &pending, state.settings.sessions.login_timeout_secs).await?;
    let signed_in = session::current(state, request).await?;
    Ok(see_other(&next_location(state, &pending, signed_in.as_ref()).await?))
}

/// Where the browser goes next for a pending request, for the signed-in user (if any): the
/// login page, the password change, the consent page, or back to the client.
pub async fn next_location(
    state: &AppState,
    pending: &PendingAuthorization,
    signed_in: Option<&(BrowserSession, User)>,
) -> Result<String, PageError> {
    let signed_in = signed_in.map(|(session, user)| (session, user));
    location(authorization::advance(state, pending, signed_in, now()).await?, pending)
}

/// The URL of an [`Advance`]; an expired request is the error page.
pub fn location(advance: Advance, pending: &PendingAuthorization) -> Result<String, PageError> {
    match advance {
        Advance::SignIn => Ok(format!("/login?request={}", pending.id)),
        Advance::ChangePassword => Ok(format!("/account/password?request={}", pending.id)),
        Advance::StepUp => Ok(format!("/login/step-up?request={}", pending.id)),
        Advance::Consent => Ok(format!("/consent?request={}", pending.id)),
        Advance::Redirect(url) => Ok(url),
        Advance::Expired => Err(PageError::SignInExpired),
        Advance::NoAccess => Ok(format!("/authorize/no-access?request={}", pending.id)),
    }
}

/// The pending request a page belongs to; `None` when the page has no request id, and the
/// expired page when it is gone.
pub async fn pending_request(state: &AppState, id: Option<&str>) -> Result<Option<PendingAuthorization>, PageError> {
    let Some(id) = id.filter(|id| !id.is_empty()) else {
        return Ok(None);
    };
    match authorization::load_pending(&state.ephemeral, id).await? {
        Some(pending) => Ok(Some(pending)),
        None => Err(PageError::SignInExpired),
    }
}

#[derive(askama::Template)]
#[template(path = "oidc/no_access.html")]
struct NoAccessPage<'a> {
    client_name: &'a str,
    return_to: &'a str,
}

#[derive(serde::Deserialize)]
pub struct RequestQuery {
    request: Option<String>,
}

/// `GET /authorize/no-access`: the client's access policy does not admit the signed-in
/// user. The request is answered here, once (`access_denied` back to the client, behind
/// the page's link); a user admitted meanwhile goes on as usual.
pub async fn no_access(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<RequestQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(pending) = pending_request(&state, query.request.as_deref()).await? else {
        return Err(PageError::NotFound);
    };
    let Some(signed_in) = session::current(&state, &request).await? else {
        return Ok(see_other(&format!("/login?request={}", pending.id)));
    };
    if authorization::may_use_client(&state, &pending, &signed_in.1).await? {
        return Ok(see_other(&next_location(&state, &pending, Some(&signed_in)).await?));
    }
    let Some(return_to) = authorization::refuse_no_access(&state, &pending, &signed_in.1).await? else {
        return Err(PageError::SignInExpired);
    };
    let page = NoAccessPage { client_name: &pending.client_name, return_to: &return_to };
    Ok(crate::http::pages::render(actix_web::http::StatusCode::FORBIDDEN, &page))
}

#[derive(askama::Template)]
#[template(path = "oidc/form_post.html")]
struct FormPostPage<'a> {
    redirect_uri: &'a str,
    params: &'a [(String, String)],
}

#[derive(serde::Deserialize)]
pub struct FormPostQuery {
    response: Option<String>,
}

/// `GET /authorize/form-post`: an answer in `response_mode=form_post`, delivered once as a
/// form the browser posts to the client (by script, or by the button without one).
pub async fn form_post(
    state: web::Data<AppState>,
    query: web::Query<FormPostQuery>,
) -> Result<HttpResponse, PageError> {
    let id = query.response.as_deref().unwrap_or_default();
    let Some(answer) = authorization::take_form_post(&state.ephemeral, id).await? else {
        return Err(PageError::SignInExpired);
    };
    let page = FormPostPage { redirect_uri: &answer.redirect_uri, params: &answer.params };
    Ok(crate::http::pages::render(actix_web::http::StatusCode::OK, &page))
}
