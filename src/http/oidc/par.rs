//! `POST /par` (RFC 9126): an authenticated client pushes its authorization request and
//! gets a `request_uri` to send the browser to `/authorize` with. The request is validated
//! here as `/authorize` would, and errors are JSON.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::client_auth::{authenticate, parse_pairs, single_valued};
use super::error::{OAuthError, OAuthErrorCode};
use crate::domain::authorization::{self, AuthorizationParams, AuthorizeError, pushed};
use crate::domain::rate_limits::{self, Limit};
use crate::domain::{now, resources};
use crate::http::source_ip;
use crate::state::AppState;

/// Client credentials go no further than this endpoint.
const CLIENT_CREDENTIALS: [&str; 3] = ["client_secret", "client_assertion", "client_assertion_type"];

pub async fn push(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let limited = rate_limits::count(&state, Limit::Authorize, source_ip(&request).as_deref()).await;
    if limited.map_err(|error| OAuthError::server_error(&error))?.is_err() {
        return Err(OAuthError::new(OAuthErrorCode::SlowDown, "too many authorization requests"));
    }
    let pairs = parse_pairs(&body)?;
    let client = authenticate(&state, &request, &single_valued(&pairs, &["resource"])?).await?;
    let mut kept: Vec<(String, String)> =
        pairs.into_iter().filter(|(name, _)| !CLIENT_CREDENTIALS.contains(&name.as_str())).collect();
    if !kept.iter().any(|(name, _)| name == "client_id") {
        kept.push(("client_id".into(), client.id.clone()));
    }
    let encoded = serde_urlencoded::to_string(&kept).map_err(|_| OAuthError::invalid_request("unreadable form"))?;
    let params = AuthorizationParams::from_form(encoded.as_bytes())
        .map_err(|_| OAuthError::invalid_request("the request's parameters cannot be read"))?;
    if params.request_uri.is_some() {
        return Err(OAuthError::invalid_request("request_uri cannot be pushed"));
    }
    let params = AuthorizationParams { pushed: true, ..params };
    let apis = resources::resolve(&state.db, &params.resources).await.map_err(|e| OAuthError::server_error(&e))?;
    match authorization::validate(&params, Some(client.clone()), apis, &state.settings, now()) {
        Ok(_) => {}
        Err(AuthorizeError::Untrusted(reason)) => return Err(OAuthError::invalid_request(reason.to_string())),
        Err(AuthorizeError::Redirect(error)) => return Err(OAuthError::new(error.error, error.description)),
    }
    let request_uri =
        pushed::push(&state.ephemeral, &client.id, encoded).await.map_err(|e| OAuthError::server_error(&e))?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "request_uri": request_uri, "expires_in": pushed::REQUEST_URI_TTL_SECS })))
}
