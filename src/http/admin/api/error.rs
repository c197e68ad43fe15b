//! Admin API errors: 400 with field messages, 401, 403, 404, 409, 500; always JSON.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::clients::ClientError;
use crate::domain::email::EmailError;
use crate::domain::grants::GrantError;
use crate::domain::keys::KeyError;
use crate::domain::passkeys::PasskeyError;
use crate::domain::users::UserError;

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    #[serde(skip)]
    pub status: u16,
    /// `invalid_input`, `unauthorized`, `forbidden`, `not_found`, `conflict` or `server_error`.
    pub error: &'static str,
    pub message: String,
    /// For `invalid_input`: what is wrong with each field.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

impl ApiError {
    fn new(status: u16, error: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, error, message: message.into(), fields: BTreeMap::new() }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        let mut error = ApiError::new(400, "invalid_input", "the request has invalid fields");
        error.fields.insert(field.to_string(), message);
        error
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(401, "unauthorized", "a bearer token with the admin scope, or an admin's session, is required")
    }

    pub fn forbidden(message: &'static str) -> ApiError {
        ApiError::new(403, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(409, "conflict", message)
    }

    pub fn unexpected(error: &anyhow::Error) -> ApiError {
        crate::metrics::note_unexpected(error);
        if crate::domain::is_outage(error) {
            tracing::warn!(error = %format!("{error:#}"), "a store is unreachable");
            return ApiError::new(503, "unavailable", "the service is unavailable; retry shortly");
        }
        tracing::error!(error = %format!("{error:#}"), "admin API request failed");
        ApiError::new(500, "server_error", "the server could not complete the request")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if self.status == 401 {
            response.insert_header(("WWW-Authenticate", r#"Bearer realm="latchkey", scope="admin""#));
        }
        response.insert_header(("Cache-Control", "no-store")).json(self)
    }
}

impl From<UserError> for ApiError {
    fn from(error: UserError) -> Self {
        let message = error.to_string();
        match error {
            UserError::InvalidUsername => ApiError::invalid("username", message),
            UserError::InvalidEmail => ApiError::invalid("email", message),
            UserError::InvalidDisplayName => ApiError::invalid("name", message),
            UserError::EmptyPassword | UserError::WrongPassword | UserError::WeakPassword(_) => {
                ApiError::invalid("password", message)
            }
            UserError::BadCursor => ApiError::invalid("after", message),
            UserError::InvalidAttributes => ApiError::invalid("attributes", message),
            UserError::UsernameTaken(_) => ApiError::conflict(message),
            UserError::NotFound(_) => ApiError::not_found(message),
            UserError::Forbidden => ApiError::forbidden("only admins may do this"),
            UserError::Unexpected(error) => ApiError::unexpected(&error),
        }
    }
}

impl From<ClientError> for ApiError {
    fn from(error: ClientError) -> Self {
        let message = error.to_string();
        match error {
            ClientError::InvalidClientId => ApiError::invalid("client_id", message),
            ClientError::InvalidRedirectUri(..) | ClientError::MissingRedirectUri => {
                ApiError::invalid("redirect_uris", message)
            }
            ClientError::InvalidScope(_) => ApiError::invalid("scope", message),
            ClientError::InvalidLogoUri => ApiError::invalid("logo_uri", message),
            ClientError::UnknownGrant(_) => ApiError::invalid("grants", message),
            ClientError::PublicClientWithSecret => ApiError::invalid("public", message),
            ClientError::WeakSecret => ApiError::invalid("secret", message),
            ClientError::InvalidKeys(_) => ApiError::invalid("jwks", message),
            ClientError::AlreadyExists(_) => ApiError::conflict(message),
            ClientError::InvalidPolicy(field, _) => ApiError::invalid(field, message),
            ClientError::NotFound(_) => ApiError::not_found(message),
            ClientError::Forbidden => ApiError::forbidden("only admins may do this"),
            ClientError::Unexpected(error) => ApiError::unexpected(&error),
        }
    }
}

impl From<PasskeyError> for ApiError {
    fn from(error: PasskeyError) -> Self {
        match error {
            PasskeyError::NotFound => ApiError::not_found("no such passkey"),
            PasskeyError::Unexpected(error) => ApiError::unexpected(&error),
            other => ApiError::invalid("passkey", other.to_string()),
        }
    }
}

impl From<GrantError> for ApiError {
    fn from(error: GrantError) -> Self {
        ApiError::unexpected(&anyhow::Error::from(error))
    }
}

impl From<KeyError> for ApiError {
    fn from(error: KeyError) -> Self {
        match error {
            KeyError::UnknownKey(_) => ApiError::not_found(error.to_string()),
            error => ApiError::unexpected(&anyhow::Error::from(error)),
        }
    }
}

impl From<EmailError> for ApiError {
    fn from(error: EmailError) -> Self {
        match error {
            EmailError::User(error) => error.into(),
            EmailError::NoAddress => ApiError::invalid("email", error.to_string()),
            EmailError::AlreadyActive(_) => ApiError::conflict(error.to_string()),
            EmailError::DomainNotAllowed(_) => ApiError::invalid("email", error.to_string()),
            EmailError::LinkInvalid => ApiError::invalid("token", error.to_string()),
            EmailError::Unexpected(error) => ApiError::unexpected(&error),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        ApiError::unexpected(&error)
    }
}

impl From<crate::domain::resources::ApiError> for ApiError {
    fn from(error: crate::domain::resources::ApiError) -> Self {
        use crate::domain::resources::ApiError as E;
        let message = error.to_string();
        match error {
            E::InvalidIdentifier(..) => ApiError::invalid("identifier", message),
            E::InvalidScope(_) | E::ReservedScope(_) | E::NoScopes => ApiError::invalid("scopes", message),
            E::InvalidLifetime => ApiError::invalid("access_token_ttl_secs", message),
            E::NotFound(_) => ApiError::not_found(message),
            E::AlreadyExists(_) => ApiError::conflict(message),
            E::Forbidden => ApiError::forbidden("only admins may do this"),
            E::Unexpected(error) => ApiError::unexpected(&error),
        }
    }
}

impl From<crate::domain::upstream::UpstreamError> for ApiError {
    fn from(error: crate::domain::upstream::UpstreamError) -> Self {
        use crate::domain::upstream::UpstreamError as E;
        let message = error.to_string();
        match error {
            E::InvalidName => ApiError::invalid("name", message),
            E::InvalidUrl(field, ..) => ApiError::invalid(field, message),
            E::InvalidClientId => ApiError::invalid("client_id", message),
            E::MissingSecret => ApiError::invalid("client_secret", message),
            E::InvalidScope(_) => ApiError::invalid("scopes", message),
            E::InvalidMapping(_) => ApiError::invalid("mapping", message),
            E::InvalidDisplayName => ApiError::invalid("display_name", message),
            E::NotFound(_) => ApiError::not_found(message),
            E::AlreadyExists(_) | E::LastSignInMethod => ApiError::conflict(message),
            E::Forbidden => ApiError::forbidden("only admins may do this"),
            E::Unexpected(error) => ApiError::unexpected(&error),
        }
    }
}
