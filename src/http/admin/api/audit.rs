//! `/admin/api/audit`: the audit log, newest first, filtered and paginated.

use actix_web::{get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::AdminCaller;
use super::error::ApiError;
use crate::domain::audit::{self, AuditFilter};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    id: i64,
    occurred_at: i64,
    event_type: String,
    actor_user_id: Option<String>,
    subject_user_id: Option<String>,
    client_id: Option<String>,
    source_ip: Option<String>,
    #[schema(value_type = Object)]
    details: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    events: Vec<AuditEntry>,
    total: u64,
    page: u64,
    per_page: u64,
}

#[derive(Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Events by or about this user id.
    user: Option<String>,
    client: Option<String>,
    /// e.g. `sign_in`, `sign_in_failed`, `token_refused`, `refresh_token_reuse`, `admin_action`.
    event_type: Option<String>,
    /// Unix time, inclusive.
    since: Option<i64>,
    until: Option<i64>,
    page: Option<u64>,
    per_page: Option<u64>,
}

#[utoipa::path(tag = "audit", params(AuditQuery), responses((status = 200, body = AuditPage)))]
#[get("/audit")]
pub async fn list_events(
    _caller: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<AuditPage>, ApiError> {
    let query = query.into_inner();
    let page = query.page.unwrap_or(1).max(1);
    let per_page = query.per_page.unwrap_or(50).clamp(1, 500);
    let filter = AuditFilter {
        user_id: query.user,
        client_id: query.client,
        event_type: query.event_type,
        since: query.since,
        until: query.until,
    };
    let (events, total) = audit::search(&state.db, &filter, (page - 1) * per_page, per_page).await?;
    let events = events
        .into_iter()
        .map(|(id, e)| AuditEntry {
            id,
            occurred_at: e.occurred_at,
            event_type: e.event_type,
            actor_user_id: e.actor_user_id,
            subject_user_id: e.subject_user_id,
            client_id: e.client_id,
            source_ip: e.source_ip,
            details: e.details,
        })
        .collect();
    Ok(web::Json(AuditPage { events, total, page, per_page }))
}
