//! The access log: one span per request, whose closing line is the log entry, carrying
//! the request id into every line logged while the request runs. Like tracing-actix-web's
//! default span, but the query string keeps only parameters known to be harmless: codes,
//! tokens, `id_token_hint`, `login_hint`, `state` and anything else unknown are redacted,
//! so no secret or personal data reaches the log. Bodies are never logged.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Uri;
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

/// Query parameters whose values may be logged: protocol switches and public names.
const LOGGED_PARAMETERS: &[&str] = &[
    "client_id",
    "response_type",
    "response_mode",
    "scope",
    "prompt",
    "max_age",
    "code_challenge_method",
    "redirect_uri",
    "post_logout_redirect_uri",
    "error",
    "display",
    "ui_locales",
    "token_type_hint",
    "event_type",
    "page",
    "per_page",
    "since",
    "until",
];

pub struct AccessLog;

impl RootSpanBuilder for AccessLog {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request.extensions().get::<RequestId>().map(ToString::to_string).unwrap_or_default();
        let route = request.match_pattern().unwrap_or_else(|| "default".into());
        let user_agent = request.headers().get("User-Agent").and_then(|h| h.to_str().ok()).unwrap_or("");
        let client_ip = request.peer_addr().map(|addr| addr.ip().to_string()).unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %redacted_target(request.uri()),
            http.client_ip = %client_ip,
            http.user_agent = %user_agent,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// The path, and the query with every value not in [`LOGGED_PARAMETERS`] replaced.
pub fn redacted_target(uri: &Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.path().to_string();
    };
    let mut redacted = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let logged = LOGGED_PARAMETERS.contains(&name.as_ref());
        redacted.append_pair(&name, if logged { &value } else { "[redacted]" });
    }
    format!("{}?{}", uri.path(), redacted.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_personal_data_leave_the_query_string() {
        let uri: Uri =
            "/logout?id_token_hint=eyJ.secret&client_id=shop&login_hint=alice%40example.com&code=abc".parse().unwrap();
        let target = redacted_target(&uri);
        assert_eq!(
            target,
            "/logout?id_token_hint=%5Bredacted%5D&client_id=shop&login_hint=%5Bredacted%5D&code=%5Bredacted%5D"
        );
        assert_eq!(redacted_target(&"/token".parse().unwrap()), "/token");
    }
}
