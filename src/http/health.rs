//! `GET /healthz`: 200 when the database (and Redis, when configured) answer, 503 naming
//! the part that does not. Details of a failure go to the log, not to the caller.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;
use crate::store::db;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(check_health));
}

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

async fn check_health(state: web::Data<AppState>) -> HttpResponse {
    let database = match tokio::time::timeout(CHECK_TIMEOUT, db::ping(&state.db)).await {
        Ok(Ok(())) => "ok",
        Ok(Err(error)) => {
            tracing::error!(%error, "health check: database failed");
            "unavailable"
        }
        Err(_) => "timeout",
    };
    let store = match tokio::time::timeout(CHECK_TIMEOUT, state.ephemeral.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(error)) => {
            tracing::error!(%error, "health check: ephemeral store failed");
            "unavailable"
        }
        Err(_) => "timeout",
    };
    let healthy = database == "ok" && store == "ok";
    let body = json!({
        "status": if healthy { "ok" } else { "unavailable" },
        "database": database,
        "ephemeral_store": { "backend": state.ephemeral.backend_name(), "status": store },
    });
    let mut response = if healthy { HttpResponse::Ok() } else { HttpResponse::ServiceUnavailable() };
    response.insert_header(("Cache-Control", "no-store")).json(body)
}
