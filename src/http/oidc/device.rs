//! The device authorization grant (RFC 8628): `POST /device_authorization` for the device,
//! and `/device`, the page where a signed-in user enters the user code and confirms.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use super::client_auth::{authenticate, parse_pairs, single_valued};
use super::error::{OAuthError, OAuthErrorCode};
use crate::domain::device::{self, DeviceError, MayAnswer};
use crate::domain::model::ScopeSet;
use crate::domain::now;
use crate::domain::rate_limits::{self, Limit};
use crate::http::csrf::{self, FormToken};
use crate::http::login::step_up;
use crate::http::pages::{PageError, see_other};
use crate::http::{session, source_ip};
use crate::state::AppState;

/// `POST /device_authorization` (RFC 8628 §3.1-3.2).
pub async fn start(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let pairs = parse_pairs(&body)?;
    let params = single_valued(&pairs, &["resource"])?;
    let client = authenticate(&state, &request, &params).await?;
    let scope = match params.get("scope").filter(|s| !s.is_empty()) {
        Some(raw) => Some(
            ScopeSet::parse(raw).map_err(|_| OAuthError::new(OAuthErrorCode::InvalidScope, "scope is malformed"))?,
        ),
        None => None,
    };
    let resources: Vec<String> =
        pairs.iter().filter(|(name, _)| name == "resource").map(|(_, value)| value.clone()).collect();
    let started = device::start(&state, &client, scope, &resources, now()).await.map_err(|error| match error {
        DeviceError::UnauthorizedClient => {
            OAuthError::new(OAuthErrorCode::UnauthorizedClient, "this client may not use the device grant")
        }
        DeviceError::InvalidScope(_) => OAuthError::new(OAuthErrorCode::InvalidScope, error.to_string()),
        DeviceError::InvalidTarget(_) => OAuthError::new(OAuthErrorCode::InvalidTarget, error.to_string()),
        DeviceError::Unexpected(error) => OAuthError::server_error(&error),
    })?;
    let verification_uri = state.settings.endpoint("/device");
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({
        "device_code": started.device_code,
        "user_code": started.user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": format!("{verification_uri}?user_code={}", started.user_code),
        "expires_in": state.settings.device.code_ttl_secs,
        "interval": state.settings.device.poll_interval_secs.max(1),
    })))
}

#[derive(Template)]
#[template(path = "oidc/device.html")]
struct DevicePage<'a> {
    username: &'a str,
    csrf_token: &'a str,
    user_code: &'a str,
    /// Set when the code was found: confirm; else the code entry form.
    client_name: Option<&'a str>,
    permissions: Vec<String>,
    error: Option<&'a str>,
    done: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct DeviceQuery {
    user_code: Option<String>,
}

#[derive(Deserialize)]
pub struct DeviceForm {
    csrf_token: Option<String>,
    user_code: String,
    decision: Option<String>,
}

fn sign_in_first(user_code: Option<&str>) -> HttpResponse {
    let back: String = match user_code {
        Some(code) => {
            format!("/device?user_code={}", url::form_urlencoded::byte_serialize(code.as_bytes()).collect::<String>())
        }
        None => "/device".into(),
    };
    see_other(&format!("/login?next={}", url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()))
}

/// `GET /device`: the code entry form, or with `user_code`, the confirmation.
pub async fn show(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<DeviceQuery>,
) -> Result<HttpResponse, PageError> {
    let typed = query.user_code.as_deref().filter(|code| !code.is_empty());
    let Some((session, user)) = session::current(&state, &request).await? else {
        return Ok(sign_in_first(typed));
    };
    let form = FormToken::new(&request, &state.settings);
    let mut page = DevicePage {
        username: &user.username,
        csrf_token: &form.token,
        user_code: typed.unwrap_or_default(),
        client_name: None,
        permissions: Vec::new(),
        error: None,
        done: None,
    };
    let Some(typed) = typed else { return Ok(form.render(StatusCode::OK, &page)) };
    rate_limits::count(&state, Limit::DeviceUserCode, source_ip(&request).as_deref()).await??;
    let found = device::find_by_user_code(&state, typed, now()).await?;
    let Some((_, authorization)) = &found else {
        page.error = Some("That code is not valid or has expired. Check the code on your device.");
        return Ok(form.render(StatusCode::BAD_REQUEST, &page));
    };
    match device::may_answer(&state, authorization, &session).await? {
        MayAnswer::Yes => {}
        MayAnswer::NeedsMultiFactor => {
            let back = format!("/device?user_code={}", authorization.user_code);
            return Ok(see_other(&step_up::location(None, Some(&back))));
        }
        MayAnswer::NoAccess => {
            page.error = Some("Your account does not have access to this application. Ask an administrator.");
            return Ok(form.render(StatusCode::FORBIDDEN, &page));
        }
    }
    page.client_name = Some(&authorization.client_name);
    page.permissions =
        super::consent::describe_all(&state, &authorization.scope, &authorization.resources, &authorization.client_id)
            .await?;
    Ok(form.render(StatusCode::OK, &page))
}

/// `POST /device`: a code entered (on to its confirmation), or the user's answer.
pub async fn submit(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<DeviceForm>,
) -> Result<HttpResponse, PageError> {
    csrf::require(&request, form.csrf_token.as_deref())?;
    let Some((session, user)) = session::current(&state, &request).await? else {
        return Ok(sign_in_first(Some(&form.user_code)));
    };
    let Some(decision) = form.decision.as_deref() else {
        let code: String = url::form_urlencoded::byte_serialize(form.user_code.trim().as_bytes()).collect();
        return Ok(see_other(&format!("/device?user_code={code}")));
    };
    let token = FormToken::new(&request, &state.settings);
    let mut page = DevicePage {
        username: &user.username,
        csrf_token: &token.token,
        user_code: "",
        client_name: None,
        permissions: Vec::new(),
        error: None,
        done: None,
    };
    // The same checks as the confirmation page: the answer may come without it.
    let Some((_, authorization)) = device::find_by_user_code(&state, &form.user_code, now()).await? else {
        page.error = Some("That code is not valid or has expired. Check the code on your device.");
        return Ok(token.render(StatusCode::BAD_REQUEST, &page));
    };
    if device::may_answer(&state, &authorization, &session).await? != MayAnswer::Yes {
        return Ok(see_other(&format!("/device?user_code={}", authorization.user_code)));
    }
    let allow = decision == "allow";
    if device::answer(&state, &form.user_code, &session, allow, now()).await?.is_none() {
        page.error = Some("That code is not valid or has expired. Check the code on your device.");
        return Ok(token.render(StatusCode::BAD_REQUEST, &page));
    }
    page.done = Some(if allow {
        "Done: your device is signed in. You can close this page and return to it."
    } else {
        "Denied: your device was not signed in."
    });
    Ok(token.render(StatusCode::OK, &page))
}
