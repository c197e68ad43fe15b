//! The admin dashboard's figures, each from one cheap query: counts, the hourly sign-in
//! rollup of the last 7 days, the latest lockouts and refresh-token reuses, key status.
//! Also the names the audit page shows beside ids.

use std::collections::HashMap;

use super::UnixTime;
use super::keys::{KeyInfo, KeyState};
use super::model::AuditEvent;
use crate::state::AppState;
use crate::store::db;

/// How far back the chart reaches.
pub const CHART_HOURS: i64 = 7 * 24;

/// One hour of the chart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourOfSignIns {
    pub hour: UnixTime,
    pub succeeded: i64,
    pub failed: i64,
}

/// A sign-in method's share of the week's successful sign-ins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodShare {
    /// `password`, `passkey`, `mfa` or `upstream`.
    pub method: &'static str,
    pub count: i64,
    pub percent: i64,
}

#[derive(Debug, Clone)]
pub struct Dashboard {
    pub users: u64,
    pub clients: u64,
    /// Successful sign-ins within one session lifetime: an upper bound on the live browser
    /// sessions (which the ephemeral store cannot count cheaply).
    pub recent_sessions: i64,
    pub active_grants: u64,
    /// Oldest first, one entry per hour, `CHART_HOURS` of them.
    pub hours: Vec<HourOfSignIns>,
    pub methods: Vec<MethodShare>,
    pub lockouts: Vec<AuditEvent>,
    pub reuses: Vec<AuditEvent>,
    pub active_key: Option<KeyInfo>,
    pub next_key: Option<KeyInfo>,
    /// When the next key takes over signing (it is made ahead of time, when due).
    pub next_rotation_at: Option<UnixTime>,
}

pub async fn dashboard(state: &AppState, now: UnixTime) -> anyhow::Result<Dashboard> {
    let (users, clients, active_grants) = db::stats::counts(&state.db, now).await?;
    let this_hour = now - now.rem_euclid(3600);
    let first_hour = this_hour - (CHART_HOURS - 1) * 3600;
    let rows = db::stats::sign_ins_since(&state.db, first_hour).await?;
    let mut hours: Vec<HourOfSignIns> =
        (0..CHART_HOURS).map(|i| HourOfSignIns { hour: first_hour + i * 3600, ..Default::default() }).collect();
    let mut by_method: HashMap<String, i64> = HashMap::new();
    let session_start = now - state.settings.sessions.ttl_secs as i64;
    let mut recent_sessions = 0;
    for (hour, method, outcome, count) in rows {
        let Some(slot) = hours.get_mut(((hour - first_hour) / 3600) as usize) else { continue };
        if outcome == "success" {
            slot.succeeded += count;
            *by_method.entry(method).or_default() += count;
            if hour + 3600 > session_start {
                recent_sessions += count;
            }
        } else {
            slot.failed += count;
        }
    }
    let total: i64 = by_method.values().sum();
    let methods = ["password", "passkey", "mfa", "upstream"]
        .into_iter()
        .map(|method| {
            let count = by_method.get(method).copied().unwrap_or_default();
            let percent = if total > 0 { (count * 100 + total / 2) / total } else { 0 };
            MethodShare { method, count, percent }
        })
        .collect();
    let keys = state.keyring.describe(now);
    let active_key = keys.iter().find(|key| key.state == KeyState::Active).cloned();
    let next_key = keys.iter().find(|key| key.state == KeyState::Next).cloned();
    let rotation_period = state.settings.keys.rotation_period_secs as i64;
    let next_rotation_at = match (&next_key, &active_key) {
        (Some(next), _) => Some(next.activates_at),
        (None, Some(active)) => Some(active.activates_at + rotation_period),
        (None, None) => None,
    };
    Ok(Dashboard {
        users,
        clients,
        recent_sessions,
        active_grants,
        hours,
        methods,
        lockouts: db::stats::latest_events(&state.db, &["account_locked"], 5).await?,
        reuses: db::stats::latest_events(&state.db, &["refresh_token_reuse"], 5).await?,
        active_key,
        next_key,
        next_rotation_at,
    })
}

/// Forgets rollup hours older than the chart (run with the other housekeeping).
pub async fn purge_old_sign_in_counts(state: &AppState, now: UnixTime) -> anyhow::Result<u64> {
    db::stats::purge_sign_ins(&state.db, now - (CHART_HOURS + 24) * 3600).await
}

/// Usernames and client names for the ids these events mention.
pub async fn names_in(
    state: &AppState,
    events: &[AuditEvent],
) -> anyhow::Result<(HashMap<String, String>, HashMap<String, String>)> {
    let mut user_ids: Vec<String> =
        events.iter().flat_map(|e| [e.subject_user_id.clone(), e.actor_user_id.clone()]).flatten().collect();
    user_ids.sort();
    user_ids.dedup();
    let mut client_ids: Vec<String> = events.iter().filter_map(|e| e.client_id.clone()).collect();
    client_ids.sort();
    client_ids.dedup();
    let users = db::stats::usernames(&state.db, &user_ids).await?.into_iter().collect();
    let clients = db::stats::client_names(&state.db, &client_ids).await?.into_iter().collect();
    Ok((users, clients))
}
