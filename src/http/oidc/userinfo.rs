//! `/userinfo` (OIDC Core §5.3), GET and POST, with a Bearer access token (RFC 6750).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::domain::now;
use crate::domain::tokens::{self, TokenError};
use crate::state::AppState;
use crate::store::db;

/// The Bearer token of a request, from the `Authorization` header.
pub fn bearer_token(request: &HttpRequest) -> Option<&str> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()).filter(|t| !t.is_empty())
}

fn challenge(status: actix_web::http::StatusCode, error: Option<(&str, &str)>) -> HttpResponse {
    let header = match error {
        Some((code, description)) => {
            format!(r#"Bearer realm="latchkey", error="{code}", error_description="{description}""#)
        }
        None => r#"Bearer realm="latchkey""#.to_string(),
    };
    let mut response = HttpResponse::build(status);
    response.insert_header((header::WWW_AUTHENTICATE, header)).insert_header(("Cache-Control", "no-store"));
    match error {
        Some((code, description)) => response.json(json!({ "error": code, "error_description": description })),
        None => response.finish(),
    }
}

pub async fn show(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    use actix_web::http::StatusCode;
    let Some(token) = bearer_token(&request) else {
        return challenge(StatusCode::UNAUTHORIZED, None);
    };
    let claims =
        match tokens::verify_access_token(&state.settings, &state.keyring, &state.ephemeral, token, now()).await {
            Ok(claims) => claims,
            Err(TokenError::Unexpected(error)) => {
                tracing::error!(error = %format!("{error:#}"), "userinfo failed");
                return HttpResponse::InternalServerError().finish();
            }
            Err(error) => {
                tracing::info!(%error, "userinfo refused a token");
                return challenge(
                    StatusCode::UNAUTHORIZED,
                    Some(("invalid_token", "the access token is invalid, expired or revoked")),
                );
            }
        };
    let scopes = claims.scopes();
    if !scopes.iter().any(|s| s == "openid") {
        return challenge(StatusCode::FORBIDDEN, Some(("insufficient_scope", "the openid scope is required")));
    }
    let user = match db::users::find_by_id(&state.db, &claims.sub).await {
        Ok(Some(user)) if !user.disabled => user,
        Ok(_) => {
            return challenge(
                StatusCode::UNAUTHORIZED,
                Some(("invalid_token", "the user no longer exists or is disabled")),
            );
        }
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "userinfo failed");
            return HttpResponse::InternalServerError().finish();
        }
    };
    let mut body = tokens::user_claims(&user, &scopes);
    body.insert("sub".into(), Value::String(user.id));
    HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(body)
}
