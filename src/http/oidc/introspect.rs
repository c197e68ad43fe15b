//! `POST /introspect` (RFC 7662), for authenticated confidential clients. A revoked,
//! expired, unknown or foreign token is `{"active": false}`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::client_auth::{authenticate, parse_form};
use super::error::OAuthError;
use crate::domain::tokens;
use crate::domain::{grants, now};
use crate::state::AppState;

pub async fn introspect(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let params = parse_form(&body)?;
    let client = authenticate(&state, &request, &params).await?;
    if client.public {
        return Err(OAuthError::invalid_client());
    }
    let token = params
        .get("token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let now = now();
    let hint = params.get("token_type_hint").map(String::as_str);
    let mut answer = json!({ "active": false });
    // Only the token's own client, or its audience, learns about it (RFC 7662 §4).
    if hint != Some("refresh_token")
        && let Ok(access) = tokens::verify_access_token(&state, token, now).await
        && (access.claims.client_id == client.id || access.claims.aud == client.id)
    {
        let claims = access.claims;
        answer = json!({
            "active": true,
            "token_type": if claims.cnf.is_some() { "DPoP" } else { "Bearer" },
            "scope": claims.scope,
            "client_id": claims.client_id,
            "sub": claims.sub,
            "aud": claims.aud,
            "iss": claims.iss,
            "exp": claims.exp,
            "iat": claims.iat,
            "jti": claims.jti,
        });
        if let Some(cnf) = claims.cnf {
            answer["cnf"] = json!({ "jkt": cnf.jkt });
        }
    } else if let Some(family) = grants::find_live_refresh_token(&state, token, now).await?
        && family.client_id == client.id
    {
        answer = json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": family.scope.to_string(),
            "client_id": family.client_id,
            "sub": family.user_id,
            "iss": state.settings.issuer,
            "exp": family.expires_at,
            "iat": family.created_at,
        });
    }
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(answer))
}
