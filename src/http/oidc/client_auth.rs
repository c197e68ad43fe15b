//! Client authentication at the token, introspection, revocation and PAR endpoints (RFC
//! 6749 §2.3.1): `client_secret_basic`, `client_secret_post`, `private_key_jwt` (RFC 7523),
//! or `none` for public clients. Exactly one method per request.

use std::collections::HashMap;

use actix_web::HttpRequest;
use actix_web::http::header;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::error::{OAuthError, OAuthErrorCode};
use crate::domain::client_assertion;
use crate::domain::clients::{self, Client, ClientAuthError};
use crate::domain::rate_limits::{self, Limit};
use crate::http::source_ip;
use crate::state::AppState;

/// Parses an `application/x-www-form-urlencoded` body. A parameter sent twice is an
/// `invalid_request` (RFC 6749 §3.2).
pub fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    single_valued(&parse_pairs(body)?, &[])
}

/// The pairs of a form body, in order, repeats included.
pub fn parse_pairs(body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    serde_urlencoded::from_bytes(body).map_err(|_| OAuthError::invalid_request("the body is not a valid form"))
}

/// The parameters of `pairs` but those named in `multi` (which may repeat, as `resource`
/// does in RFC 8707), refusing any other that is repeated.
pub fn single_valued(pairs: &[(String, String)], multi: &[&str]) -> Result<HashMap<String, String>, OAuthError> {
    let mut params = HashMap::with_capacity(pairs.len());
    for (key, value) in pairs.iter().filter(|(key, _)| !multi.contains(&key.as_str())) {
        if params.insert(key.clone(), value.clone()).is_some() {
            return Err(OAuthError::invalid_request(format!("parameter {key} is repeated")));
        }
    }
    Ok(params)
}

/// The authenticated client making this request.
pub async fn authenticate(
    state: &AppState,
    request: &HttpRequest,
    params: &HashMap<String, String>,
) -> Result<Client, OAuthError> {
    let basic = basic_credentials(request)?;
    let form_id = params.get("client_id").map(String::as_str);
    if let Some(assertion_type) = params.get("client_assertion_type") {
        if basic.is_some() || params.contains_key("client_secret") {
            return Err(OAuthError::invalid_request("use one client authentication method, not two"));
        }
        return authenticate_by_assertion(state, request, params, assertion_type).await;
    }
    let form_secret = params.get("client_secret").map(String::as_str);
    let (client_id, secret) = match (basic, form_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request("use one client authentication method, not two"));
        }
        (Some((id, _)), _) if form_id.is_some_and(|form_id| form_id != id) => {
            return Err(OAuthError::invalid_request("client_id differs from the authenticated client"));
        }
        (Some((id, secret)), None) => (id, Some(secret)),
        (None, secret) => match form_id {
            Some(id) => (id.to_string(), secret.map(str::to_string)),
            None => return Err(OAuthError::invalid_client()),
        },
    };
    // An address that keeps failing is slowed down before its next guess is even checked.
    let source_ip = source_ip(request);
    let limited = rate_limits::check(state, Limit::FailedClientAuth, source_ip.as_deref()).await;
    if limited.map_err(|error| OAuthError::server_error(&error))?.is_err() {
        return Err(OAuthError::new(OAuthErrorCode::SlowDown, "too many failed client authentications"));
    }
    match clients::authenticate(state, &client_id, secret.as_deref()).await {
        Err(ClientAuthError::Failed) => {
            let counted = rate_limits::count(state, Limit::FailedClientAuth, source_ip.as_deref()).await;
            counted.map_err(|error| OAuthError::server_error(&error))?.ok();
            Err(OAuthError::invalid_client())
        }
        result => Ok(result?),
    }
}

/// `private_key_jwt`: the client named by the assertion's `sub` (and `client_id`, when
/// sent, must agree), its signature checked against the client's keys. The assertion's
/// `aud` may name the issuer, the token endpoint, or the endpoint called.
async fn authenticate_by_assertion(
    state: &AppState,
    request: &HttpRequest,
    params: &HashMap<String, String>,
    assertion_type: &str,
) -> Result<Client, OAuthError> {
    if assertion_type != client_assertion::ASSERTION_TYPE {
        return Err(OAuthError::invalid_request("unsupported client_assertion_type"));
    }
    let assertion = params
        .get("client_assertion")
        .filter(|a| !a.is_empty() && a.len() <= 8192)
        .ok_or_else(|| OAuthError::invalid_request("client_assertion is required"))?;
    let Some(client_id) = client_assertion::claimed_client(assertion) else {
        return Err(OAuthError::invalid_client());
    };
    if params.get("client_id").is_some_and(|id| *id != client_id) {
        return Err(OAuthError::invalid_client());
    }
    let source_ip = source_ip(request);
    let limited = rate_limits::check(state, Limit::FailedClientAuth, source_ip.as_deref()).await;
    if limited.map_err(|error| OAuthError::server_error(&error))?.is_err() {
        return Err(OAuthError::new(OAuthErrorCode::SlowDown, "too many failed client authentications"));
    }
    let settings = &state.settings;
    let audiences = [settings.issuer.clone(), settings.endpoint("/token"), settings.endpoint(request.path())];
    match clients::authenticate_with_assertion(state, &client_id, assertion, &audiences).await {
        Err(ClientAuthError::Failed) => {
            let counted = rate_limits::count(state, Limit::FailedClientAuth, source_ip.as_deref()).await;
            counted.map_err(|error| OAuthError::server_error(&error))?.ok();
            Err(OAuthError::invalid_client())
        }
        result => Ok(result?),
    }
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`.
pub(crate) fn basic_credentials(request: &HttpRequest) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| OAuthError::invalid_client())?;
    let Some(encoded) = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic ")) else {
        return Err(OAuthError::invalid_client());
    };
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| OAuthError::invalid_client())?;
    let decoded = String::from_utf8(decoded).map_err(|_| OAuthError::invalid_client())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(OAuthError::invalid_client)?;
    Ok(Some((form_decode(id), form_decode(secret))))
}

fn form_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("v={value}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}
