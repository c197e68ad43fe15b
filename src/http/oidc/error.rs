//! OAuth errors as JSON (RFC 6749 §5.2, RFC 7009, RFC 7662). `invalid_client` is a 401
//! with `WWW-Authenticate`; every error response is `no-store`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::domain::clients::ClientAuthError;
use crate::domain::grants::GrantError;

#[derive(Debug)]
pub struct OAuthError {
    pub code: &'static str,
    pub description: Option<String>,
}

impl OAuthError {
    pub fn new(code: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError { code, description: Some(description.into()) }
    }

    pub fn invalid_request(description: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_request", description)
    }

    pub fn invalid_client() -> OAuthError {
        OAuthError::new("invalid_client", "client authentication failed")
    }

    pub fn server_error(error: &anyhow::Error) -> OAuthError {
        tracing::error!(error = %format!("{error:#}"), "token endpoint failed");
        OAuthError::new("server_error", "the server could not complete the request")
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code)
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self.code {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header(("Cache-Control", "no-store")).insert_header(("Pragma", "no-cache"));
        if self.code == "invalid_client" {
            response.insert_header(("WWW-Authenticate", r#"Basic realm="latchkey", charset="UTF-8""#));
        }
        let mut body = json!({ "error": self.code });
        if let Some(description) = &self.description {
            body["error_description"] = json!(description);
        }
        response.json(body)
    }
}

impl From<ClientAuthError> for OAuthError {
    fn from(error: ClientAuthError) -> Self {
        match error {
            ClientAuthError::Failed => OAuthError::invalid_client(),
            ClientAuthError::Unexpected(error) => OAuthError::server_error(&error),
        }
    }
}

impl From<GrantError> for OAuthError {
    fn from(error: GrantError) -> Self {
        match error {
            GrantError::InvalidGrant(reason) => {
                tracing::info!(reason, "token request refused: invalid_grant");
                OAuthError::new(
                    "invalid_grant",
                    "the grant is invalid, expired, revoked or was issued to another client",
                )
            }
            GrantError::UnauthorizedClient => {
                OAuthError::new("unauthorized_client", "this client may not use this grant type")
            }
            GrantError::InvalidScope => {
                OAuthError::new("invalid_scope", "the requested scope exceeds what was granted")
            }
            GrantError::Unexpected(error) => OAuthError::server_error(&error),
        }
    }
}
