//! `/userinfo` (OIDC Core §5.3), GET and POST, with a Bearer access token (RFC 6750).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::error::OAuthErrorCode;
use crate::domain::dpop::{self, DpopError, Presentation};
use crate::domain::now;
use crate::domain::tokens::{self, TokenError};
use crate::http::extract::{bearer_token, dpop_token};
use crate::state::AppState;

/// A refusal as RFC 6750 §3 asks: the status of `error`, `WWW-Authenticate` naming it.
fn challenge(error: Option<(OAuthErrorCode, &str)>) -> HttpResponse {
    let Some((code, description)) = error else {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="latchkey""#))
            .insert_header(("Cache-Control", "no-store"))
            .finish();
    };
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let header = format!(r#"Bearer realm="latchkey", error="{code}", error_description="{description}""#);
    HttpResponse::build(status)
        .insert_header((header::WWW_AUTHENTICATE, header))
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "error": code.as_str(), "error_description": description }))
}

/// A refusal of a DPoP presentation: 401 with a `DPoP` challenge (RFC 9449 §7.1).
fn dpop_challenge(code: OAuthErrorCode, description: &str) -> HttpResponse {
    let algorithms: Vec<String> = dpop::ALGORITHMS.iter().map(|alg| format!("{alg:?}")).collect();
    let header = format!(r#"DPoP error="{code}", error_description="{description}", algs="{}""#, algorithms.join(" "));
    HttpResponse::Unauthorized()
        .insert_header((header::WWW_AUTHENTICATE, header))
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "error": code.as_str(), "error_description": description }))
}

fn server_error(error: &anyhow::Error) -> HttpResponse {
    use actix_web::ResponseError;
    super::error::OAuthError::server_error(error).error_response()
}

pub async fn show(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let (token, presentation) = match (bearer_token(&request), dpop_token(&request)) {
        (Some(token), _) => (token, Presentation::Bearer),
        (None, Some((token, proof))) => (token, Presentation::Dpop { token, proof }),
        (None, None) => return challenge(None),
    };
    let now = now();
    let access = match tokens::verify_access_token(&state, token, now).await {
        Ok(access) => access,
        Err(TokenError::Unexpected(error)) => return server_error(&error),
        Err(error) => {
            tracing::info!(%error, "userinfo refused a token");
            let description = "the access token is invalid, expired or revoked";
            return challenge(Some((OAuthErrorCode::InvalidToken, description)));
        }
    };
    let url = state.settings.endpoint("/userinfo");
    let method = request.method().as_str();
    match dpop::check_presentation(&state, &access.claims, presentation, method, &url, now).await {
        Ok(()) => {}
        Err(DpopError::Unexpected(error)) => return server_error(&error),
        Err(error) => {
            tracing::info!(%error, "userinfo refused a token's presentation");
            let code = match error {
                DpopError::ProofRequired | DpopError::NotBound => OAuthErrorCode::InvalidToken,
                _ => OAuthErrorCode::InvalidDpopProof,
            };
            return dpop_challenge(code, &error.to_string());
        }
    }
    let scopes = access.claims.scopes();
    if !scopes.contains_openid() {
        return challenge(Some((OAuthErrorCode::InsufficientScope, "the openid scope is required")));
    }
    let Some(user) = access.user else {
        return challenge(Some((OAuthErrorCode::InsufficientScope, "the token does not act for a user")));
    };
    let mut body = tokens::user_claims(&user, &scopes);
    body.extend(access.claims.extra);
    body.insert("sub".into(), Value::String(user.id));
    HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(body)
}
