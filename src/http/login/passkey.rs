//! Usernameless sign-in with a passkey: JSON endpoints for `static/js/passkey.js`. Both
//! require the CSRF token in the `X-CSRF-Token` header; the ceremony is bound to the
//! browser's CSRF cookie.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::PublicKeyCredential;

use super::password::pending_request;
use crate::domain::audit::{self, AuditEvent};
use crate::domain::now;
use crate::domain::passkeys::{self, PASSKEY_AMR, PasskeyError};
use crate::http::{csrf, source_ip};
use crate::state::AppState;

pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// A JSON error for the passkey script, which shows `error` to the user.
pub fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).insert_header(("Cache-Control", "no-store")).json(json!({ "error": message }))
}

/// Maps a passkey failure to what the browser is told; causes go to the log.
pub fn passkey_failure(error: PasskeyError) -> HttpResponse {
    match error {
        PasskeyError::Unexpected(error) => {
            tracing::error!(error = %format!("{error:#}"), "passkey request failed");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong. Please try again.")
        }
        PasskeyError::Disabled => json_error(StatusCode::NOT_FOUND, "Passkeys are not enabled on this server."),
        PasskeyError::Rejected => json_error(StatusCode::UNAUTHORIZED, "This passkey was not accepted."),
        PasskeyError::NotFound => json_error(StatusCode::NOT_FOUND, "No such passkey."),
        other => json_error(StatusCode::BAD_REQUEST, &format!("{}.", capitalize(&other.to_string()))),
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The browser's CSRF cookie when the request carries the matching header.
pub fn checked_browser(request: &HttpRequest) -> Option<String> {
    let header = request.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    csrf::verify(request, header).then(|| request.cookie(csrf::COOKIE).map(|c| c.value().to_string())).flatten()
}

pub async fn start_sign_in(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let Some(browser) = checked_browser(&request) else {
        return json_error(StatusCode::FORBIDDEN, "This page has expired. Reload it and try again.");
    };
    match passkeys::start_sign_in(&state, &browser).await {
        Ok((ceremony, options)) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(json!({ "ceremony": ceremony, "options": options })),
        Err(error) => passkey_failure(error),
    }
}

#[derive(Deserialize)]
pub struct FinishSignIn {
    ceremony: String,
    credential: PublicKeyCredential,
    #[serde(default)]
    request: Option<String>,
}

pub async fn finish_sign_in(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<FinishSignIn>,
) -> HttpResponse {
    let Some(browser) = checked_browser(&request) else {
        return json_error(StatusCode::FORBIDDEN, "This page has expired. Reload it and try again.");
    };
    let body = body.into_inner();
    let pending = match pending_request(&state, body.request.as_deref()).await {
        Ok(pending) => pending,
        Err(_) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "This sign-in has expired. Go back to the application and start again.",
            );
        }
    };
    let client_id = pending.as_ref().map(|p| p.client_id.clone());
    let ip = source_ip(&request);
    let user =
        match passkeys::finish_sign_in(&state, &browser, &body.ceremony, &body.credential, ip.clone(), now()).await {
            Ok(user) => user,
            Err(error) => {
                let mut event = AuditEvent::new("sign_in_failed", now())
                    .source_ip(ip)
                    .details(json!({ "method": "passkey", "reason": error.to_string() }));
                event.client_id = client_id;
                audit::record(&state.db, event).await;
                return passkey_failure(error);
            }
        };
    tracing::info!(user_id = %user.id, "signed in with a passkey");
    let (location, cookie) = match super::complete_sign_in(&state, &request, &user, &PASSKEY_AMR, pending).await {
        Ok(done) => done,
        Err(_) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "This sign-in has expired. Go back to the application and start again.",
            );
        }
    };
    let mut response =
        HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({ "redirect": location }));
    let _ = response.add_cookie(&cookie);
    response
}
