//! Pages for the browser: rendering askama templates, and [`PageError`], the one error
//! type of page handlers, which renders the HTML error page (or a redirect).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::domain::clients::ClientError;
use crate::domain::grants::GrantError;
use crate::domain::groups::GroupError;
use crate::domain::keys::KeyError;
use crate::domain::login::LoginError;
use crate::domain::passkeys::PasskeyError;
use crate::domain::rate_limits::Limited;
use crate::domain::users::UserError;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// Why a page handler could not show its page. Page handlers return
/// `Result<HttpResponse, PageError>` and use `?`; the cause of an `Unexpected` goes to the
/// log, never to the browser.
#[derive(Debug)]
pub enum PageError {
    /// The error page with this status, title and message for the user.
    Page {
        status: StatusCode,
        title: &'static str,
        message: String,
    },
    NotFound,
    /// A form posted without the browser's CSRF token: refused, nothing done.
    CsrfFailed,
    /// The pending sign-in request is gone (answered already, or timed out).
    SignInExpired,
    /// Not an error for the user: the page needs something first (usually a sign-in).
    Redirect(String),
    /// 429: this address has made too many such requests; retry after so many seconds.
    TooManyRequests(u64),
    Unexpected(anyhow::Error),
}

impl PageError {
    pub fn page(status: StatusCode, title: &'static str, message: impl Into<String>) -> PageError {
        PageError::Page { status, title, message: message.into() }
    }

    pub fn bad_request(title: &'static str, message: impl Into<String>) -> PageError {
        PageError::page(StatusCode::BAD_REQUEST, title, message)
    }

    /// Sends the browser to the login page first.
    pub fn sign_in_first() -> PageError {
        PageError::Redirect("/login".into())
    }

    /// Sends the browser to the login page, and back to `back_to` (a local path; anything
    /// else is dropped) once signed in.
    pub fn sign_in_then(back_to: Option<&str>) -> PageError {
        match crate::http::login::local_path(back_to) {
            Some(path) => {
                let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
                PageError::Redirect(format!("/login?next={next}"))
            }
            None => PageError::sign_in_first(),
        }
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::Unexpected(error) => write!(f, "{error:#}"),
            other => write!(f, "{other:?}"),
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Unexpected(error) if crate::domain::is_outage(error) => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Page { status, .. } => *status,
            PageError::SignInExpired => StatusCode::BAD_REQUEST,
            PageError::CsrfFailed => StatusCode::FORBIDDEN,
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::Redirect(_) => StatusCode::SEE_OTHER,
            PageError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            PageError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let PageError::Unexpected(error) = self {
            crate::metrics::note_unexpected(error);
        }
        match self {
            PageError::Page { title, message, .. } => error_page(status, title, message),
            PageError::NotFound => error_page(status, "Page not found", "There is nothing at this address."),
            PageError::CsrfFailed => {
                error_page(status, "This form has expired", "Go back, reload the page and try again.")
            }
            PageError::SignInExpired => error_page(
                status,
                "This sign-in has expired",
                "Go back to the application you came from and start again.",
            ),
            PageError::Redirect(location) => see_other(location),
            PageError::TooManyRequests(retry_after) => {
                let mut page = error_page(
                    status,
                    "Too many attempts",
                    "Too many requests from your network. Wait a minute and try again.",
                );
                if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&retry_after.to_string()) {
                    page.headers_mut().insert(actix_web::http::header::RETRY_AFTER, value);
                }
                page
            }
            PageError::Unexpected(error) if crate::domain::is_outage(error) => {
                tracing::warn!(error = %format!("{error:#}"), "a store is unreachable");
                let mut page = error_page(status, "Temporarily unavailable", "Please try again in a moment.");
                page.headers_mut().insert(
                    actix_web::http::header::RETRY_AFTER,
                    actix_web::http::header::HeaderValue::from_static("5"),
                );
                page
            }
            PageError::Unexpected(error) => {
                tracing::error!(error = %format!("{error:#}"), "request failed");
                error_page(status, "Something went wrong", "Please try again in a moment.")
            }
        }
    }
}

impl From<Limited> for PageError {
    fn from(limited: Limited) -> Self {
        PageError::TooManyRequests(limited.retry_after_secs)
    }
}

impl From<anyhow::Error> for PageError {
    fn from(error: anyhow::Error) -> Self {
        PageError::Unexpected(error)
    }
}

/// A refusal for the user's mistake: shown on the error page with the domain's words.
fn refused(message: String) -> PageError {
    PageError::bad_request("This is not possible", message)
}

fn forbidden() -> PageError {
    PageError::page(StatusCode::FORBIDDEN, "Admins only", "Your account does not have the admin role.")
}

impl From<UserError> for PageError {
    fn from(error: UserError) -> Self {
        match error {
            UserError::NotFound(_) => PageError::NotFound,
            UserError::Forbidden => forbidden(),
            UserError::Unexpected(error) => PageError::Unexpected(error),
            other => refused(other.to_string()),
        }
    }
}

impl From<ClientError> for PageError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::NotFound(_) => PageError::NotFound,
            ClientError::Forbidden => forbidden(),
            ClientError::Unexpected(error) => PageError::Unexpected(error),
            other => refused(other.to_string()),
        }
    }
}

impl From<GroupError> for PageError {
    fn from(error: GroupError) -> Self {
        match error {
            GroupError::NotFound(_) => PageError::NotFound,
            GroupError::Forbidden => forbidden(),
            GroupError::Unexpected(error) => PageError::Unexpected(error),
            other => refused(other.to_string()),
        }
    }
}

impl From<PasskeyError> for PageError {
    fn from(error: PasskeyError) -> Self {
        match error {
            PasskeyError::NotFound => {
                PageError::page(StatusCode::NOT_FOUND, "No such passkey", "It may have been deleted already.")
            }
            PasskeyError::InvalidName => {
                PageError::bad_request("Invalid name", "A passkey name must be 1 to 64 characters.")
            }
            PasskeyError::Unexpected(error) => PageError::Unexpected(error),
            other => PageError::bad_request("Not possible", other.to_string()),
        }
    }
}

/// Failures with no user-facing cause: the page is a 500, the cause goes to the log.
macro_rules! unexpected_from {
    ($($error:ty),*) => {$(
        impl From<$error> for PageError {
            fn from(error: $error) -> Self {
                PageError::Unexpected(anyhow::Error::from(error))
            }
        }
    )*};
}
unexpected_from!(GrantError, LoginError);

impl From<KeyError> for PageError {
    fn from(error: KeyError) -> Self {
        match error {
            KeyError::UnknownKey(_) => PageError::NotFound,
            error => PageError::Unexpected(anyhow::Error::from(error)),
        }
    }
}

/// Renders a page, or a plain error if the template fails.
pub fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .body(html),
        Err(error) => {
            tracing::error!(%error, "cannot render a page");
            HttpResponse::InternalServerError().content_type("text/plain; charset=utf-8").body("Something went wrong.")
        }
    }
}

/// A 303 to `location` (after a POST, RFC 9110 §15.4.4; fine after a GET too).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("Location", location)).insert_header(("Cache-Control", "no-store")).finish()
}

/// An HTML error page for a browser: used wherever redirecting back to a client would be
/// unsafe or impossible.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    match (ErrorPage { title, message }).render() {
        Ok(html) => HttpResponse::build(status).content_type("text/html; charset=utf-8").body(html),
        Err(error) => {
            tracing::error!(%error, "cannot render the error page");
            HttpResponse::build(status).content_type("text/plain; charset=utf-8").body(message.to_string())
        }
    }
}

/// A passkey as the account page and the admin's user page list it.
pub struct PasskeyRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: String,
}

impl PasskeyRow {
    pub fn rows(stored: Vec<crate::domain::passkeys::StoredPasskey>) -> Vec<PasskeyRow> {
        use crate::domain::format_time;
        stored
            .into_iter()
            .map(|p| PasskeyRow {
                id: p.id,
                name: p.name,
                created: format_time(p.created_at),
                last_used: p.last_used_at.map(format_time).unwrap_or_else(|| "never".into()),
            })
            .collect()
    }
}
