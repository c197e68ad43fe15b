//! `/admin/audit`: the audit log, filtered by user, client, event type and time, paginated.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::admin;
use crate::domain::audit::{self, AuditFilter, AuditKind};
use crate::domain::dashboard;
use crate::domain::format_time;
use crate::http::pages::PageError;
use crate::state::AppState;

const PER_PAGE: u64 = 50;

/// An id, and the name it stands for when it is known.
struct Named {
    id: String,
    name: Option<String>,
}

impl Named {
    fn new(id: Option<String>, names: &std::collections::HashMap<String, String>) -> Named {
        let id = id.unwrap_or_default();
        Named { name: names.get(&id).filter(|name| **name != id).cloned(), id }
    }
}

struct Row {
    when: String,
    event_type: String,
    user: Named,
    actor: Named,
    client: Named,
    source_ip: String,
    details: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage<'a> {
    rows: Vec<Row>,
    query: &'a AuditQuery,
    event_types: &'static [&'static str],
    page: u64,
    pages: u64,
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    client: String,
    #[serde(default)]
    event_type: String,
    /// A date, YYYY-MM-DD (UTC), inclusive.
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    page: Option<u64>,
}

fn day_start(date: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(date, &format).ok().map(|d| d.midnight().assume_utc().unix_timestamp())
}

pub async fn list(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, PageError> {
    let admin = admin(&state, &request).await?;
    let filled = |v: &String| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let filter = AuditFilter {
        user_id: filled(&query.user),
        client_id: filled(&query.client),
        event_type: filled(&query.event_type),
        since: day_start(&query.since),
        until: day_start(&query.until).map(|start| start + 86_399),
    };
    let page = query.page.unwrap_or(1).max(1);
    let (events, total) = audit::search(&state.db, &filter, (page - 1) * PER_PAGE, PER_PAGE).await?;
    let events: Vec<_> = events.into_iter().map(|(_, e)| e).collect();
    let (users, clients) = dashboard::names_in(&state, &events).await?;
    let rows = events
        .into_iter()
        .map(|e| Row {
            when: format_time(e.occurred_at),
            event_type: e.event_type,
            user: Named::new(e.subject_user_id, &users),
            actor: Named::new(e.actor_user_id, &users),
            client: Named::new(e.client_id, &clients),
            source_ip: e.source_ip.unwrap_or_default(),
            details: e.details.to_string(),
        })
        .collect();
    let pages = total.div_ceil(PER_PAGE).max(1);
    Ok(admin.page(&AuditPage { rows, query: &query, event_types: AuditKind::EVENT_TYPES, page, pages }))
}
