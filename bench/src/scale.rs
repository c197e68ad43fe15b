//! Scale: the directory grows from 1,000 users to `--scale` (a million by default) through
//! the bench's own seeding path, one `INSERT … SELECT` in the database's own shell, and the
//! user-facing loads and the admin user list are measured again beside the 1,000-user figures.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use serde_json::Value;

use crate::latchkey::{Server, USERNAME, World};
use crate::report::{Measured, Row};

/// The number of users the main table is measured with.
pub const BASELINE_USERS: u64 = 1_000;

/// The username of the `n`th seeded user; every seeded user has the bench user's password.
pub fn seeded_username(n: u64) -> String {
    format!("user{n:07}")
}

/// Adds users `from..to` (so the directory holds `to` users with the bench user, who is
/// number 0), each with the bench user's password hash; returns how long it took.
pub fn seed(world: &World, from: u64, to: u64) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let hash = world.sql(&format!("SELECT password_hash FROM users WHERE username_key = '{USERNAME}'"))?;
    let hash = hash.trim();
    if !hash.starts_with("$argon2id$") || hash.contains('\'') {
        bail!("the bench user has no password hash to copy: {hash:?}");
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let columns = "id, username, username_key, email, email_key, display_name, password_hash, \
                   disabled, admin, must_change_password, created_at, updated_at";
    let last = to - 1;
    let sql = if world.is_postgres() {
        format!(
            "INSERT INTO users ({columns}) \
             SELECT 'seed-' || lpad(i::text, 7, '0'), 'user' || lpad(i::text, 7, '0'), 'user' || lpad(i::text, 7, '0'), \
                    'user' || lpad(i::text, 7, '0') || '@example.com', 'user' || lpad(i::text, 7, '0') || '@example.com', \
                    'User ' || i, '{hash}', false, false, false, {now}, {now} \
             FROM generate_series({from}, {last}) AS i; ANALYZE users;"
        )
    } else {
        format!(
            "WITH RECURSIVE n(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
             INSERT INTO users ({columns}) \
             SELECT printf('seed-%07d', i), printf('user%07d', i), printf('user%07d', i), \
                    printf('user%07d@example.com', i), printf('user%07d@example.com', i), \
                    'User ' || i, '{hash}', 0, 0, 0, {now}, {now} FROM n;"
        )
    };
    world.sql(&sql)?;
    Ok(started.elapsed())
}

/// A bearer token with the `admin` scope, from a client registered for it.
pub async fn admin_token(world: &World, server: &Server) -> anyhow::Result<String> {
    let added = world.cli(&["client", "add", "bench-ops", "--grant", "client_credentials", "--scope", "admin"], "")?;
    let secret = added
        .lines()
        .find_map(|line| line.split_once("store it now): ").map(|(_, secret)| secret.trim().to_string()))
        .context("client add printed no secret")?;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("bench-ops:{secret}"));
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/token", server.base))
        .header("Authorization", format!("Basic {basic}"))
        .form(&[("grant_type", "client_credentials"), ("scope", "admin")])
        .send()
        .await?
        .json()
        .await?;
    Ok(answer["access_token"].as_str().with_context(|| format!("no admin token: {answer}"))?.to_string())
}

/// The admin user list and searches, each asked `times` times one after another (the
/// console's pattern: one admin, one request at a time), with `users` in the directory.
pub async fn admin_lists(server: &Server, token: &str, users: u64, times: u32) -> anyhow::Result<Vec<Row>> {
    let last = seeded_username(users - 1);
    let middle = seeded_username(users / 2);
    let middle_cursor = format!("u.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&middle));
    let short_prefix = &last[..last.len() - 2];
    let queries = [
        ("first page", String::new()),
        ("a page from the middle", format!("after={middle_cursor}")),
        ("an exact username", format!("q={last}")),
        ("a username prefix", format!("q={short_prefix}")),
        ("an email prefix", format!("q={last}%40exa")),
        ("a contains search (*, a scan)", format!("q=*{}%40", &last[last.len() - 6..])),
    ];
    let client = reqwest::Client::new();
    let mut rows = Vec::new();
    for (what, query) in queries {
        let url = format!("{}/admin/api/users?{query}", server.base);
        let mut latencies = Vec::new();
        let mut errors = 0;
        let started = Instant::now();
        for round in 0..times + 2 {
            let asked = Instant::now();
            let response = client.get(&url).bearer_auth(token).send().await?;
            let ok = response.status().is_success()
                && response.json::<Value>().await.ok().and_then(|page| page["users"].as_array().map(|u| !u.is_empty()))
                    == Some(true);
            // Two rounds warm the caches first, as the console's second look would.
            if round >= 2 {
                latencies.push(asked.elapsed());
                errors += u64::from(!ok);
            }
        }
        let measured = Measured::from_latencies(latencies, errors, started.elapsed());
        rows.push(Row::new(&format!("admin user list: {what} ({} users)", thousands(users)), measured, None));
    }
    Ok(rows)
}

pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
