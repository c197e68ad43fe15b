//! Usernameless sign-in with a passkey: JSON endpoints for `static/js/passkey.js`. Both
//! require the CSRF token in the `X-CSRF-Token` header; the ceremony is bound to the
//! browser's CSRF cookie. Errors have one shape, `{"error": "message for the user"}`,
//! here and on the account page's passkey endpoints ([`JsonError`]).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::PublicKeyCredential;

use crate::domain::now;
use crate::domain::passkeys::{self, PASSKEY_AMR, PasskeyError};
use crate::domain::rate_limits::{self, Limit, Limited};
use crate::http::extract::checked_browser;
use crate::http::login::attempt;
use crate::http::oidc::authorize::pending_request;
use crate::http::source_ip;
use crate::state::AppState;

/// A JSON error for the passkey script, which shows `error` to the user.
#[derive(Debug)]
pub struct JsonError {
    status: StatusCode,
    message: String,
    /// Where the script sends the browser to sign in again first, if anywhere.
    sign_in: Option<String>,
    retry_after_secs: Option<u64>,
}

impl JsonError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> JsonError {
        JsonError { status, message: message.into(), sign_in: None, retry_after_secs: None }
    }

    pub fn sign_in_at(self, location: String) -> JsonError {
        JsonError { sign_in: Some(location), ..self }
    }

    /// The page's CSRF token is missing or stale.
    pub fn page_expired() -> JsonError {
        JsonError::new(StatusCode::FORBIDDEN, "This page has expired. Reload it and try again.")
    }

    fn sign_in_expired() -> JsonError {
        JsonError::new(StatusCode::BAD_REQUEST, "This sign-in has expired. Go back to the application and start again.")
    }
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl ResponseError for JsonError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = json!({ "error": self.message });
        if let Some(location) = &self.sign_in {
            body["sign_in"] = json!(location);
        }
        let mut response = HttpResponse::build(self.status);
        response.insert_header(("Cache-Control", "no-store"));
        if let Some(seconds) = self.retry_after_secs {
            response.insert_header(("Retry-After", seconds.to_string()));
        }
        response.json(body)
    }
}

impl From<Limited> for JsonError {
    fn from(limited: Limited) -> Self {
        JsonError {
            retry_after_secs: Some(limited.retry_after_secs),
            ..JsonError::new(StatusCode::TOO_MANY_REQUESTS, "Too many attempts. Wait a minute and try again.")
        }
    }
}

impl From<anyhow::Error> for JsonError {
    fn from(error: anyhow::Error) -> Self {
        PasskeyError::Unexpected(error).into()
    }
}

/// What the browser is told of a passkey failure; causes go to the log.
impl From<PasskeyError> for JsonError {
    fn from(error: PasskeyError) -> Self {
        if let PasskeyError::Unexpected(error) = &error {
            crate::metrics::note_unexpected(error);
        }
        match error {
            PasskeyError::Unexpected(error) if crate::domain::is_outage(&error) => {
                tracing::warn!(error = %format!("{error:#}"), "a store is unreachable");
                JsonError::new(StatusCode::SERVICE_UNAVAILABLE, "The service is unavailable. Try again in a moment.")
            }
            PasskeyError::Unexpected(error) => {
                tracing::error!(error = %format!("{error:#}"), "passkey request failed");
                JsonError::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong. Please try again.")
            }
            PasskeyError::Disabled => JsonError::new(StatusCode::NOT_FOUND, "Passkeys are not enabled on this server."),
            PasskeyError::Rejected => JsonError::new(StatusCode::UNAUTHORIZED, "This passkey was not accepted."),
            PasskeyError::NotFound => JsonError::new(StatusCode::NOT_FOUND, "No such passkey."),
            other => JsonError::new(StatusCode::BAD_REQUEST, format!("{}.", capitalize(&other.to_string()))),
        }
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

pub async fn start_sign_in(state: web::Data<AppState>, request: HttpRequest) -> Result<HttpResponse, JsonError> {
    let browser = checked_browser(&request).ok_or_else(JsonError::page_expired)?;
    rate_limits::count(&state, Limit::PasskeyStart, source_ip(&request).as_deref()).await??;
    let (ceremony, options) = passkeys::start_sign_in(&state, &browser).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "ceremony": ceremony, "options": options })))
}

#[derive(Deserialize)]
pub struct FinishSignIn {
    ceremony: String,
    credential: PublicKeyCredential,
    #[serde(default)]
    request: Option<String>,
    #[serde(default)]
    next: Option<String>,
}

pub async fn finish_sign_in(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<FinishSignIn>,
) -> Result<HttpResponse, JsonError> {
    let browser = checked_browser(&request).ok_or_else(JsonError::page_expired)?;
    let body = body.into_inner();
    let pending = pending_request(&state, body.request.as_deref()).await.map_err(|_| JsonError::sign_in_expired())?;
    let attempt = attempt(&request, pending.as_ref().map(|p| p.client_id.clone()));
    let user = passkeys::finish_sign_in(&state, &browser, &body.ceremony, &body.credential, &attempt, now()).await?;
    tracing::info!(user_id = %user.id, "signed in with a passkey");
    let next = super::local_path(body.next.as_deref());
    let (location, cookie) = super::complete_sign_in(&state, &request, &user, &PASSKEY_AMR, pending, next, &attempt)
        .await
        .map_err(|_| JsonError::sign_in_expired())?;
    let mut response =
        HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({ "redirect": location }));
    let _ = response.add_cookie(&cookie);
    Ok(response)
}
