//! `/metrics` (Prometheus text format) and the middleware that counts every request by
//! route and status. On the main address `/metrics` needs `Authorization: Bearer` with the
//! token of `metrics.token_file`; on `server.metrics_bind` it is open (a private address).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::keys::KeyState;
use crate::domain::{constant_time_eq, now};
use crate::state::AppState;

/// The bearer token `/metrics` on the main address wants; `None`: not served there.
#[derive(Clone)]
pub struct MetricsToken(pub Option<String>);

impl MetricsToken {
    /// Reads `metrics.token_file` (surrounding whitespace dropped).
    pub fn load(settings: &crate::config::Settings) -> anyhow::Result<MetricsToken> {
        use anyhow::Context;
        let file = &settings.metrics.token_file;
        if file.is_empty() {
            return Ok(MetricsToken(None));
        }
        let token = std::fs::read_to_string(file).with_context(|| format!("cannot read metrics.token_file {file}"))?;
        let token = token.trim().to_string();
        anyhow::ensure!(token.len() >= 16, "metrics.token_file must hold a token of at least 16 characters");
        Ok(MetricsToken(Some(token)))
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(scrape_with_token));
}

async fn scrape_with_token(
    state: web::Data<AppState>,
    token: web::Data<MetricsToken>,
    request: HttpRequest,
) -> HttpResponse {
    let Some(expected) = &token.0 else {
        return super::not_found().await;
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match presented {
        Some(presented) if constant_time_eq(presented.as_bytes(), expected.as_bytes()) => scrape(state).await,
        _ => HttpResponse::Unauthorized().insert_header((header::WWW_AUTHENTICATE, "Bearer")).finish(),
    }
}

/// The exposition itself, read now.
pub async fn scrape(state: web::Data<AppState>) -> HttpResponse {
    let now = now();
    let key_age = state
        .keyring
        .describe(now)
        .iter()
        .find(|key| key.state == KeyState::Active)
        .map(|key| now - key.created_at)
        .unwrap_or_default();
    match state.metrics.render(state.passwords.queue_depth(), key_age) {
        Ok(text) => HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(text),
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "cannot render the metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// Counts the request and its latency under its route pattern (`/admin/users/{id}`, never
/// the raw path, so the number of series stays bounded).
pub async fn count_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let started = Instant::now();
    let state = request.app_data::<web::Data<AppState>>().cloned();
    let method = request.method().clone();
    let response = next.call(request).await?;
    if let Some(state) = state {
        let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".into());
        let method = if matches!(method.as_str(), "GET" | "POST" | "PUT" | "DELETE" | "HEAD" | "OPTIONS" | "PATCH") {
            method.as_str()
        } else {
            "other"
        };
        let status = response.status();
        state.metrics.observe_request(&route, method, status.as_str(), started.elapsed().as_secs_f64());
    }
    Ok(response)
}
