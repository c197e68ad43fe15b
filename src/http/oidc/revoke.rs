//! `POST /revoke` (RFC 7009). Answers 200 whether or not the token was known.

use actix_web::{HttpRequest, HttpResponse, web};

use super::client_auth::{authenticate, parse_form};
use super::error::OAuthError;
use crate::domain::{grants, now};
use crate::state::AppState;

pub async fn revoke(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let params = parse_form(&body)?;
    let client = authenticate(&state, &request, &params).await?;
    let token = params
        .get("token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    grants::revoke(&state, &client, token, now()).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).finish())
}
