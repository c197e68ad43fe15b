//! `/metrics`: Prometheus counters that move with the requests, behind a bearer token on
//! the main address, open on `server.metrics_bind`.

use crate::flow::{ClientOptions, add_user, register_client};
use crate::helpers::{TestApp, TestEnv};

const TOKEN: &str = "a-metrics-token-for-the-scraper";

/// The value of the sample `name{labels}` (labels as printed, in order), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok()).unwrap_or(0.0)
}

async fn scrape(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_requests_sign_ins_and_tokens_behind_the_token() {
    let env = TestEnv::new().await;
    let token_file = env.keys_dir().with_file_name("metrics.token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let app = env.spawn_app_with(|s| s.metrics.token_file = token_file.display().to_string()).await;

    let anonymous = app.get("/metrics").await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    let wrong = app.client.get(app.url("/metrics")).bearer_auth("not-the-token-at-all").send().await.unwrap();
    assert_eq!(wrong.status(), 401);

    let before = scrape(&app).await;
    for _ in 0..3 {
        assert_eq!(app.get("/.well-known/openid-configuration").await.status(), 200);
    }
    add_user(&app, "alice").await;
    app.submit_login("/login", "alice", "wrong").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    app.token(&rp, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await;
    // The spent token again: reuse detected.
    app.token(&rp, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await;
    let after = scrape(&app).await;

    let discovery =
        r#"latchkey_http_requests_total{method="GET",route="/.well-known/openid-configuration",status="200"}"#;
    assert_eq!(sample(&after, discovery) - sample(&before, discovery), 3.0, "{after}");
    assert!(after.contains(r#"latchkey_http_request_duration_seconds_bucket{method="GET",route="/.well-known/openid-configuration",status="200",le="#));
    let by_id = r#"latchkey_http_requests_total{method="GET",route="/metrics",status="401"}"#;
    assert_eq!(sample(&after, by_id), 2.0, "refused scrapes are counted under the route pattern");
    assert_eq!(sample(&after, r#"latchkey_sign_ins_total{method="password",outcome="success"}"#), 1.0);
    assert_eq!(sample(&after, r#"latchkey_sign_ins_total{method="password",outcome="failure"}"#), 1.0);
    assert_eq!(sample(&after, r#"latchkey_tokens_issued_total{grant_type="authorization_code"}"#), 1.0);
    assert_eq!(sample(&after, r#"latchkey_tokens_issued_total{grant_type="refresh_token"}"#), 1.0);
    assert_eq!(sample(&after, "latchkey_refresh_token_reuse_total"), 1.0);
    assert!(after.contains("latchkey_argon2_queue_depth 0"));
    assert!(sample(&after, "latchkey_signing_key_age_seconds") >= 0.0);
    assert!(after.contains("latchkey_lockouts_total 0") && after.contains("latchkey_rate_limited_total"));
}

#[tokio::test]
async fn metrics_are_served_on_their_own_address_and_not_on_the_main_one_without_a_token() {
    let env = TestEnv::new().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = env.spawn_app_with(|s| s.server.metrics_bind = Some(([127, 0, 0, 1], port).into())).await;
    assert_eq!(app.get("/metrics").await.status(), 404, "not on the main address without metrics.token_file");
    app.get("/healthz").await;
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap().text().await.unwrap();
    assert_eq!(sample(&text, r#"latchkey_http_requests_total{method="GET",route="/healthz",status="200"}"#), 1.0);
}
