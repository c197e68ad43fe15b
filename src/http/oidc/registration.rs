//! Dynamic client registration (RFC 7591) at `POST /register` (JSON; the same path with a
//! form is the user sign-up page), and management (RFC 7592) at `/register/{client_id}`
//! with the registration access token.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::domain::rate_limits::{self, Limit};
use crate::domain::registration::{self, ClientMetadata, RegistrationError};
use crate::http::extract::bearer_token;
use crate::http::source_ip;
use crate::state::AppState;

/// Whether a request carries JSON: what tells a client registration from the sign-up form.
pub fn is_json(ctx: &actix_web::guard::GuardContext) -> bool {
    ctx.head()
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.to_ascii_lowercase().starts_with("application/json"))
}

fn error(status: StatusCode, code: &str, description: &str) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header(("Cache-Control", "no-store"));
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header(("WWW-Authenticate", format!(r#"Bearer error="{code}""#)));
    }
    response.json(json!({ "error": code, "error_description": description }))
}

fn refusal(refused: RegistrationError) -> HttpResponse {
    let description = refused.to_string();
    match refused {
        RegistrationError::Off => error(StatusCode::FORBIDDEN, "access_denied", &description),
        RegistrationError::InvalidToken => error(StatusCode::UNAUTHORIZED, "invalid_token", &description),
        RegistrationError::InvalidRedirectUri(_) => {
            error(StatusCode::BAD_REQUEST, "invalid_redirect_uri", &description)
        }
        RegistrationError::InvalidMetadata(_) => {
            error(StatusCode::BAD_REQUEST, "invalid_client_metadata", &description)
        }
        RegistrationError::Unexpected(cause) => {
            use actix_web::ResponseError;
            super::error::OAuthError::server_error(&cause).error_response()
        }
    }
}

fn answer(status: StatusCode, body: Value) -> HttpResponse {
    HttpResponse::build(status).insert_header(("Cache-Control", "no-store")).json(body)
}

fn metadata(body: &[u8]) -> Result<ClientMetadata, Box<HttpResponse>> {
    serde_json::from_slice(body).map_err(|e| {
        let description = format!("the body is not valid client metadata: {e}");
        Box::new(error(StatusCode::BAD_REQUEST, "invalid_client_metadata", &description))
    })
}

pub async fn register(state: web::Data<AppState>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    match rate_limits::count(&state, Limit::ClientRegistration, source_ip(&request).as_deref()).await {
        Ok(Ok(())) => {}
        Ok(Err(limited)) => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "slow_down", "too many registrations; retry later");
            response.headers_mut().insert(actix_web::http::header::RETRY_AFTER, limited.retry_after_secs.into());
            return response;
        }
        Err(cause) => return refusal(RegistrationError::Unexpected(cause)),
    }
    let metadata = match metadata(&body) {
        Ok(metadata) => metadata,
        Err(response) => return *response,
    };
    match registration::register(&state, metadata, bearer_token(&request)).await {
        Ok(registered) => answer(StatusCode::CREATED, registered),
        Err(refused) => refusal(refused),
    }
}

pub async fn read(state: web::Data<AppState>, request: HttpRequest, client_id: web::Path<String>) -> HttpResponse {
    match registration::read(&state, &client_id, bearer_token(&request)).await {
        Ok(registered) => answer(StatusCode::OK, registered),
        Err(refused) => refusal(refused),
    }
}

pub async fn update(
    state: web::Data<AppState>,
    request: HttpRequest,
    client_id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let metadata = match metadata(&body) {
        Ok(metadata) => metadata,
        Err(response) => return *response,
    };
    match registration::update(&state, &client_id, bearer_token(&request), metadata).await {
        Ok(registered) => answer(StatusCode::OK, registered),
        Err(refused) => refusal(refused),
    }
}

pub async fn delete(state: web::Data<AppState>, request: HttpRequest, client_id: web::Path<String>) -> HttpResponse {
    match registration::delete(&state, &client_id, bearer_token(&request)).await {
        Ok(()) => HttpResponse::NoContent().insert_header(("Cache-Control", "no-store")).finish(),
        Err(refused) => refusal(refused),
    }
}
