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

/// An HTML error page for a browser: used wherever redirecting back to a client would be
/// unsafe or impossible.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    match (ErrorPage { title, message }).render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(error) => {
            tracing::error!(%error, "cannot render the error page");
            HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body(message.to_string())
        }
    }
}
