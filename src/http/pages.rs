//! Rendering of askama pages shared by every area.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
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

/// A generic 500 page; the cause goes to the log.
pub fn internal_error(error: &anyhow::Error) -> HttpResponse {
    tracing::error!(error = %format!("{error:#}"), "request failed");
    error_page(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "Please try again in a moment.")
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
