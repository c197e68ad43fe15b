//! Outages: with Redis gone, what needs it answers 503 within 2 s (an HTML page for the
//! browser, `temporarily_unavailable` for the protocol), what can answer from memory or the
//! database still does, and everything recovers when Redis is back, without a restart.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::flow::{ClientOptions, add_user, location, pkce, register_client};
use crate::helpers::{TestEnv, eventually};

/// A Redis server of the test's own on a spare port, which the test can stop and start.
struct OwnRedis {
    port: u16,
    process: Option<Child>,
}

impl OwnRedis {
    async fn start(port: u16) -> OwnRedis {
        let process = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (it is on this kind of machine)");
        let up =
            eventually(Duration::from_secs(10), || async { std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() })
                .await;
        assert!(up, "redis-server answers on {port}");
        OwnRedis { port, process: Some(process) }
    }

    fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
async fn with_redis_down_the_browser_and_the_token_endpoint_get_503_userinfo_and_jwks_still_answer_and_all_recovers() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut redis = OwnRedis::start(port).await;
    let env = TestEnv::new().await;
    let redis_url = format!("redis://127.0.0.1:{}", redis.port);
    let app = env.spawn_app_with(|settings| settings.redis.url = Some(redis_url.clone().into())).await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let p = pkce();
    let code = app.obtain_code(&rp, "alice", &p, &[]).await;

    redis.stop();
    let started = Instant::now();
    let authorize = app.authorize(&rp, &pkce(), &[]).await;
    assert!(started.elapsed() < Duration::from_secs(3), "answered in {:?}", started.elapsed());
    assert_eq!(authorize.status(), 503);
    assert!(authorize.headers().contains_key("retry-after"));
    assert!(authorize.text().await.unwrap().contains("Temporarily unavailable"));

    let started = Instant::now();
    let exchanged = app.exchange_code(&rp, &code, &p.verifier).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(exchanged.status(), 503);
    assert_eq!(exchanged.json::<Value>().await.unwrap()["error"], "temporarily_unavailable");

    // Revocations live in the database: userinfo can still answer, and correctly.
    assert_eq!(app.userinfo(tokens["access_token"].as_str().unwrap()).await.status(), 200);
    assert_eq!(app.get("/.well-known/jwks.json").await.status(), 200);
    assert_eq!(app.get("/.well-known/openid-configuration").await.status(), 200);
    let health: Value = app.get("/healthz").await.json().await.unwrap();
    assert_ne!(health["ephemeral_store"]["status"], "ok", "{health}");

    let _redis = OwnRedis::start(port).await;
    let recovered = eventually(Duration::from_secs(15), || async {
        let response = app.authorize(&rp, &pkce(), &[]).await;
        response.status() == 303 && location(&response).starts_with("/login")
    })
    .await;
    assert!(recovered, "the authorize endpoint recovers without a restart");
}

#[tokio::test]
async fn a_full_in_process_store_refuses_new_sign_in_requests_with_503_and_evicts_nothing() {
    let env = TestEnv::new().await;
    if env.redis_url.is_some() {
        return; // Redis has no such bound; its keys all expire (see the next test).
    }
    let app = env.spawn_app_with(|settings| settings.memory_store.max_entries = 12).await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let tokens = app.tokens_for(&rp, "alice").await;
    assert_eq!(app.get("/account").await.status(), 200, "signed in");
    let mut refused = None;
    for _ in 0..20 {
        let response = app.authorize(&rp, &pkce(), &[]).await;
        if response.status() != 303 {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("the store fills up");
    assert_eq!(refused.status(), 503);
    assert!(refused.text().await.unwrap().contains("Temporarily unavailable"));
    assert_eq!(app.get("/account").await.status(), 200, "the session was not evicted");
    assert_eq!(app.userinfo(tokens["access_token"].as_str().unwrap()).await.status(), 200);
}

#[tokio::test]
async fn every_key_written_to_redis_expires() {
    let env = TestEnv::new().await;
    let Some(redis_url) = env.redis_url.clone() else {
        return; // The in-process store expires everything by construction.
    };
    let app = env.spawn_app().await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let stranger = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let page = stranger.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let form = [
        ("csrf_token", crate::flow::hidden_field(&page, "csrf_token")),
        ("username", "alice".into()),
        ("password", "wrong".into()),
    ];
    stranger.post(app.url("/login")).form(&form).send().await.unwrap();
    app.client
        .post(app.url("/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(app.userinfo(tokens["access_token"].as_str().unwrap()).await.status(), 200);

    let client = redis::Client::open(redis_url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> =
        redis::cmd("KEYS").arg(format!("{}*", env.redis_prefix)).query_async(&mut connection).await.unwrap();
    assert!(keys.len() >= 4, "sessions, codes, counters: {keys:?}");
    for key in keys {
        let ttl: i64 = redis::cmd("PTTL").arg(&key).query_async(&mut connection).await.unwrap();
        assert!(ttl > 0, "{key} has no expiry ({ttl})");
    }
}

/// A TCP proxy of the test's own in front of PostgreSQL, which can be made to fail: when
/// down it drops every open connection and accepts new ones only to close them at once.
struct PostgresProxy {
    port: u16,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    connections: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl PostgresProxy {
    async fn start(target: std::net::SocketAddr) -> PostgresProxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let connections = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (flag, open) = (down.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let connection = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                open.lock().unwrap().push(connection);
            }
        });
        PostgresProxy { port, down, connections }
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
        if down {
            for connection in self.connections.lock().unwrap().drain(..) {
                connection.abort();
            }
        }
    }
}

#[tokio::test]
async fn with_postgres_unreachable_requests_get_503_within_2_s_and_all_recovers() {
    let env = TestEnv::new().await;
    if !env.database_url.starts_with("postgres") {
        return; // The embedded SQLite file cannot become unreachable.
    }
    let mut url = url::Url::parse(&env.database_url).unwrap();
    let target = (url.host_str().unwrap().to_string(), url.port().unwrap_or(5432));
    let target = tokio::net::lookup_host(target).await.unwrap().next().unwrap();
    let proxy = PostgresProxy::start(target).await;
    url.set_port(Some(proxy.port)).unwrap();
    let proxied = url.to_string();
    let app = env.spawn_app_with(|settings| settings.database.url = proxied.clone().into()).await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let access_token = tokens["access_token"].as_str().unwrap();

    proxy.set_down(true);
    for _ in 0..2 {
        let started = Instant::now();
        let userinfo = app.userinfo(access_token).await;
        assert!(started.elapsed() < Duration::from_secs(4), "answered in {:?}", started.elapsed());
        assert_eq!(userinfo.status(), 503, "never a stale answer, never a 500");
        assert_eq!(userinfo.json::<Value>().await.unwrap()["error"], "temporarily_unavailable");
    }
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let refreshed = app.token(&rp, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await;
    assert_eq!(refreshed.status(), 503);
    assert_eq!(app.get("/.well-known/jwks.json").await.status(), 200, "from memory");
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 503);

    proxy.set_down(false);
    let recovered =
        eventually(Duration::from_secs(20), || async { app.userinfo(access_token).await.status() == 200 }).await;
    assert!(recovered, "userinfo recovers without a restart");
}
