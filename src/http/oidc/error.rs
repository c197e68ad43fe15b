//! OAuth errors as JSON (RFC 6749 §5.2, RFC 7009, RFC 7662). The code carries its status;
//! `invalid_client` is a 401 with `WWW-Authenticate`; every error response is `no-store`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::domain::clients::ClientAuthError;
use crate::domain::grants::GrantError;
pub use crate::domain::model::OAuthErrorCode;

#[derive(Debug)]
pub struct OAuthError {
    pub code: OAuthErrorCode,
    pub description: Option<String>,
}

impl OAuthError {
    pub fn new(code: OAuthErrorCode, description: impl Into<String>) -> OAuthError {
        OAuthError { code, description: Some(description.into()) }
    }

    pub fn invalid_request(description: impl Into<String>) -> OAuthError {
        OAuthError::new(OAuthErrorCode::InvalidRequest, description)
    }

    pub fn invalid_client() -> OAuthError {
        OAuthError::new(OAuthErrorCode::InvalidClient, "client authentication failed")
    }

    /// A failure of ours: `temporarily_unavailable` (503) when a store is unreachable,
    /// `server_error` otherwise. The cause goes to the log.
    pub fn server_error(error: &anyhow::Error) -> OAuthError {
        crate::metrics::note_unexpected(error);
        if crate::domain::is_outage(error) {
            tracing::warn!(error = %format!("{error:#}"), "a store is unreachable");
            return OAuthError::new(
                OAuthErrorCode::TemporarilyUnavailable,
                "the service is unavailable; retry shortly",
            );
        }
        tracing::error!(error = %format!("{error:#}"), "token endpoint failed");
        OAuthError::new(OAuthErrorCode::ServerError, "the server could not complete the request")
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code.as_str())
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header(("Cache-Control", "no-store")).insert_header(("Pragma", "no-cache"));
        let retry_after = match self.code {
            OAuthErrorCode::TemporarilyUnavailable => Some("5"),
            OAuthErrorCode::SlowDown => Some("60"),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response.insert_header(("Retry-After", seconds));
        }
        if self.code == OAuthErrorCode::InvalidClient {
            response.insert_header(("WWW-Authenticate", r#"Basic realm="latchkey", charset="UTF-8""#));
        }
        let mut body = json!({ "error": self.code.as_str() });
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

impl From<crate::domain::device::PollError> for OAuthError {
    fn from(error: crate::domain::device::PollError) -> Self {
        use crate::domain::device::PollError;
        match error {
            PollError::Pending => {
                OAuthError::new(OAuthErrorCode::AuthorizationPending, "the user has not answered yet")
            }
            PollError::SlowDown => OAuthError::new(OAuthErrorCode::PollTooFast, "poll at most every interval seconds"),
            PollError::Denied => OAuthError::new(OAuthErrorCode::AccessDenied, "the user denied the request"),
            PollError::Expired => OAuthError::new(OAuthErrorCode::ExpiredToken, "the device code expired"),
            PollError::Grant(error) => error.into(),
        }
    }
}

impl From<GrantError> for OAuthError {
    fn from(error: GrantError) -> Self {
        match error {
            GrantError::InvalidGrant(reason) => {
                tracing::info!(reason, "token request refused: invalid_grant");
                OAuthError::new(
                    OAuthErrorCode::InvalidGrant,
                    "the grant is invalid, expired, revoked or was issued to another client",
                )
            }
            GrantError::UnauthorizedClient => {
                OAuthError::new(OAuthErrorCode::UnauthorizedClient, "this client may not use this grant type")
            }
            GrantError::InvalidScope => {
                OAuthError::new(OAuthErrorCode::InvalidScope, "the requested scope exceeds what was granted")
            }
            GrantError::InvalidTarget(error) => OAuthError::new(OAuthErrorCode::InvalidTarget, error.to_string()),
            GrantError::DpopRequired => {
                OAuthError::invalid_request("this API accepts only DPoP-bound tokens: send a DPoP proof")
            }
            GrantError::Unexpected(error) => OAuthError::server_error(&error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_is_answered_with_its_status() {
        let status = |code| OAuthError::new(code, "x").status_code().as_u16();
        assert_eq!(status(OAuthErrorCode::InvalidClient), 401);
        assert_eq!(status(OAuthErrorCode::InvalidGrant), 400);
        assert_eq!(status(OAuthErrorCode::InvalidToken), 401);
        assert_eq!(status(OAuthErrorCode::InsufficientScope), 403);
        assert_eq!(status(OAuthErrorCode::ServerError), 500);
        let response = OAuthError::invalid_client().error_response();
        assert!(response.headers().contains_key("WWW-Authenticate"));
    }
}
