//! `/admin`: the dashboard an admin reads at a glance. The sign-in chart is SVG drawn here,
//! on the server: no script, no CDN.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::admin;
use crate::domain::dashboard::{self, HourOfSignIns, MethodShare};
use crate::domain::model::AuditEvent;
use crate::domain::{approximate_age, format_time, now};
use crate::http::pages::PageError;
use crate::state::AppState;

/// The chart's drawing area, in SVG units.
const BAR_WIDTH: i64 = 5;
const CHART_HEIGHT: i64 = 120;

struct Bar {
    x: i64,
    ok_y: i64,
    ok_height: i64,
    failed_y: i64,
    failed_height: i64,
    label: String,
}

struct Tick {
    x: i64,
    label: String,
}

struct EventRow {
    when: String,
    user: String,
    client: String,
    source_ip: String,
}

#[derive(Template)]
#[template(path = "admin/home.html")]
struct DashboardPage<'a> {
    username: &'a str,
    users: u64,
    clients: u64,
    recent_sessions: i64,
    session_hours: u64,
    active_grants: u64,
    bars: Vec<Bar>,
    ticks: Vec<Tick>,
    week_succeeded: i64,
    week_failed: i64,
    peak: i64,
    methods: Vec<MethodShare>,
    lockouts: Vec<EventRow>,
    reuses: Vec<EventRow>,
    active_key: String,
    next_rotation: String,
}

fn hour_label(hour: i64) -> String {
    let format =
        time::macros::format_description!("[weekday repr:short] [day padding:none] [month repr:short] [hour]:00");
    time::OffsetDateTime::from_unix_timestamp(hour).ok().and_then(|t| t.format(&format).ok()).unwrap_or_default()
}

fn bars(hours: &[HourOfSignIns]) -> (Vec<Bar>, Vec<Tick>, i64) {
    let peak = hours.iter().map(|h| h.succeeded + h.failed).max().unwrap_or(0).max(1);
    let scale = |count: i64| if count == 0 { 0 } else { (count * CHART_HEIGHT / peak).max(1) };
    let bars = hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let (ok_height, failed_height) = (scale(h.succeeded), scale(h.failed));
            Bar {
                x: i as i64 * BAR_WIDTH,
                ok_y: CHART_HEIGHT - ok_height,
                ok_height,
                failed_y: CHART_HEIGHT - ok_height - failed_height,
                failed_height,
                label: format!("{} UTC: {} signed in, {} failed", hour_label(h.hour), h.succeeded, h.failed),
            }
        })
        .collect();
    let day = time::macros::format_description!("[weekday repr:short] [day padding:none]");
    let ticks = hours
        .iter()
        .enumerate()
        .filter(|(_, h)| h.hour.rem_euclid(86_400) == 0)
        .map(|(i, h)| Tick {
            x: i as i64 * BAR_WIDTH,
            label: time::OffsetDateTime::from_unix_timestamp(h.hour)
                .ok()
                .and_then(|t| t.format(&day).ok())
                .unwrap_or_default(),
        })
        .collect();
    (bars, ticks, peak)
}

fn rows(events: Vec<AuditEvent>, users: &std::collections::HashMap<String, String>) -> Vec<EventRow> {
    let now = now();
    events
        .into_iter()
        .map(|e| EventRow {
            when: approximate_age(e.occurred_at, now),
            user: e.subject_user_id.map(|id| users.get(&id).cloned().unwrap_or(id)).unwrap_or_default(),
            client: e.client_id.unwrap_or_default(),
            source_ip: e.source_ip.unwrap_or_default(),
        })
        .collect()
}

pub async fn show(state: web::Data<AppState>, request: HttpRequest) -> Result<HttpResponse, PageError> {
    let admin = admin(&state, &request).await?;
    let now = now();
    let figures = dashboard::dashboard(&state, now).await?;
    let mentioned: Vec<AuditEvent> = figures.lockouts.iter().chain(&figures.reuses).cloned().collect();
    let (users, _) = dashboard::names_in(&state, &mentioned).await?;
    let (bars, ticks, peak) = bars(&figures.hours);
    let page = DashboardPage {
        username: &admin.user.username,
        users: figures.users,
        clients: figures.clients,
        recent_sessions: figures.recent_sessions,
        session_hours: state.settings.sessions.ttl_secs.div_ceil(3600),
        active_grants: figures.active_grants,
        week_succeeded: figures.hours.iter().map(|h| h.succeeded).sum(),
        week_failed: figures.hours.iter().map(|h| h.failed).sum(),
        bars,
        ticks,
        peak,
        methods: figures.methods,
        lockouts: rows(figures.lockouts, &users),
        reuses: rows(figures.reuses, &users),
        active_key: figures
            .active_key
            .map(|key| format!("{} (generation {}, since {})", key.kid, key.generation, format_time(key.activates_at)))
            .unwrap_or_else(|| "none".into()),
        next_rotation: figures.next_rotation_at.map(format_time).unwrap_or_else(|| "not scheduled".into()),
    };
    Ok(admin.page(&page))
}
