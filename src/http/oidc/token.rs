//! `POST /token` (RFC 6749 §3.2): authorization_code, refresh_token, client_credentials.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::client_auth::{authenticate, parse_form};
use super::error::OAuthError;
use crate::domain::clients::parse_scopes;
use crate::domain::grants;
use crate::domain::now;
use crate::state::AppState;

pub async fn exchange(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let params = parse_form(&body)?;
    let client = authenticate(&state, &request, &params).await?;
    let param = |name: &str| params.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let scope = match param("scope") {
        Some(raw) => Some(parse_scopes(raw).map_err(|_| OAuthError::new("invalid_scope", "scope is malformed"))?),
        None => None,
    };
    let now = now();
    let set = match param("grant_type") {
        Some("authorization_code") => {
            let code = param("code").ok_or_else(|| OAuthError::invalid_request("code is required"))?;
            grants::exchange_code(&state, &client, code, param("redirect_uri"), param("code_verifier"), now).await?
        }
        Some("refresh_token") => {
            let token =
                param("refresh_token").ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
            grants::refresh(&state, &client, token, scope, now).await?
        }
        Some("client_credentials") => grants::client_credentials(&state, &client, scope, now).await?,
        Some(_) => {
            return Err(OAuthError::new("unsupported_grant_type", "grant_type is not supported"));
        }
        None => return Err(OAuthError::invalid_request("grant_type is required")),
    };
    let mut body = json!({
        "access_token": set.tokens.access_token,
        "token_type": "Bearer",
        "expires_in": set.tokens.expires_in,
        "scope": set.tokens.scope,
    });
    if let Some(id_token) = set.tokens.id_token {
        body["id_token"] = json!(id_token);
    }
    if let Some(refresh_token) = set.refresh_token {
        body["refresh_token"] = json!(refresh_token);
    }
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).insert_header(("Pragma", "no-cache")).json(body))
}
