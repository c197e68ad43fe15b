//! `POST /token` (RFC 6749 §3.2): authorization_code, refresh_token, client_credentials.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::client_auth::{authenticate, parse_form};
use super::error::{OAuthError, OAuthErrorCode};
use crate::domain::dpop::{self, DpopError};
use crate::domain::grants::TokenRequest;
use crate::domain::model::ScopeSet;
use crate::domain::{device, grants, now};
use crate::http::source_ip;
use crate::state::AppState;

fn invalid_proof(description: &str) -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidDpopProof, description)
}

pub async fn exchange(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let result = issue(&state, &request, &body).await;
    if let Err(error) = &result {
        // Token-endpoint refusals go to the audit log (the client id as claimed, unverified).
        let params = parse_form(&body).unwrap_or_default();
        let claimed_client = params.get("client_id").map(String::as_str);
        let grant_type = params.get("grant_type").map(String::as_str);
        grants::record_refusal(&state, error.code, grant_type, claimed_client, source_ip(&request)).await;
    }
    result
}

async fn issue(state: &AppState, request: &HttpRequest, body: &[u8]) -> Result<HttpResponse, OAuthError> {
    let params = parse_form(body)?;
    let client = authenticate(state, request, &params).await?;
    let param = |name: &str| params.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let scope = match param("scope") {
        Some(raw) => Some(
            ScopeSet::parse(raw).map_err(|_| OAuthError::new(OAuthErrorCode::InvalidScope, "scope is malformed"))?,
        ),
        None => None,
    };
    let now = now();
    // A DPoP proof (RFC 9449) binds the tokens to the client's key.
    let jkt = match request.headers().get_all("DPoP").collect::<Vec<_>>().as_slice() {
        [] => None,
        [proof] => {
            let proof = proof.to_str().map_err(|_| invalid_proof("the DPoP header is not text"))?;
            let url = state.settings.endpoint("/token");
            let verified = dpop::verify_proof(state, proof, "POST", &url, None, now).await;
            Some(verified.map_err(|error| match error {
                DpopError::Unexpected(error) => OAuthError::server_error(&error),
                error => invalid_proof(&error.to_string()),
            })?)
        }
        _ => return Err(invalid_proof("send one DPoP proof")),
    };
    let token_request = TokenRequest { resource: param("resource"), dpop_jkt: jkt.as_deref() };
    let set = match param("grant_type") {
        Some("authorization_code") => {
            let code = param("code").ok_or_else(|| OAuthError::invalid_request("code is required"))?;
            let (redirect_uri, verifier) = (param("redirect_uri"), param("code_verifier"));
            grants::exchange_code(state, &client, code, redirect_uri, verifier, token_request, now).await?
        }
        Some("refresh_token") => {
            let token =
                param("refresh_token").ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
            grants::refresh(state, &client, token, scope, token_request, now).await?
        }
        Some("client_credentials") => grants::client_credentials(state, &client, scope, token_request, now).await?,
        Some(device::GRANT_TYPE) => {
            let code = param("device_code").ok_or_else(|| OAuthError::invalid_request("device_code is required"))?;
            device::poll(state, &client, code, token_request, now).await?
        }
        Some(_) => {
            return Err(OAuthError::new(OAuthErrorCode::UnsupportedGrantType, "grant_type is not supported"));
        }
        None => return Err(OAuthError::invalid_request("grant_type is required")),
    };
    state.metrics.token_issued(param("grant_type").unwrap_or_default());
    let mut body = json!({
        "access_token": set.tokens.access_token,
        "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
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
