//! Spawning the app and the CLI for tests.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use latchkey::config::Settings;
use latchkey::domain::keys::{self, GeneratedKey};
use latchkey::startup::Application;
use latchkey::state::AppState;
use sea_orm::{ConnectionTrait, Database};
use tempfile::TempDir;

/// One test's world: a folder (keys, SQLite file), a database and a Redis prefix. Several
/// apps and CLI runs made from one `TestEnv` share all three, like instances of one
/// deployment.
pub struct TestEnv {
    pub dir: TempDir,
    pub database_url: String,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
}

pub struct TestApp {
    pub address: String,
    pub state: AppState,
    pub client: reqwest::Client,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// One RSA key for the whole test run: generating RSA-2048 for each of the suite's worlds
/// costs more than the rest of starting an app.
fn shared_signing_key() -> &'static GeneratedKey {
    static KEY: OnceLock<GeneratedKey> = OnceLock::new();
    KEY.get_or_init(|| keys::generate(2048).expect("RSA key generation"))
}

impl TestEnv {
    /// A new world whose database already holds the run's shared signing key (sealed under
    /// this world's own master key), as if it had started once before.
    pub async fn new() -> TestEnv {
        let env = TestEnv::without_keys().await;
        let settings = env.settings(0);
        let db = latchkey::store::db::connect(&settings.database).await.unwrap();
        latchkey::store::db::migrate(&db).await.unwrap();
        keys::install_first_key(&db, &settings, shared_signing_key(), latchkey::domain::now()).await.unwrap();
        db.close().await.unwrap();
        env
    }

    /// A new world with an empty database: the first start generates the signing key.
    pub async fn without_keys() -> TestEnv {
        let dir = tempfile::tempdir().unwrap();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let database_url = match std::env::var("LATCHKEY_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                create_postgres_database(&admin_url, &format!("latchkey_test_{id}")).await
            }
            _ => format!("sqlite://{}?mode=rwc", dir.path().join("latchkey.db").display()),
        };
        let redis_url = std::env::var("LATCHKEY_TEST_REDIS_URL").ok().filter(|url| !url.is_empty());
        TestEnv { dir, database_url, redis_url, redis_prefix: format!("latchkey-test:{id}:") }
    }

    pub fn keys_dir(&self) -> PathBuf {
        self.dir.path().join("keys")
    }

    /// Settings for an app on `port`: issuer `http://localhost:{port}` (a WebAuthn RP ID
    /// must be a host name), cheap argon2, fast key refresh.
    pub fn settings(&self, port: u16) -> Settings {
        let mut settings = Settings { issuer: format!("http://localhost:{port}"), ..Settings::default() };
        settings.server.bind = ([127, 0, 0, 1], port).into();
        settings.server.workers = 1;
        settings.database.url = self.database_url.clone().into();
        settings.database.max_connections = 5;
        settings.redis.url = self.redis_url.clone().map(Into::into);
        settings.redis.key_prefix = self.redis_prefix.clone();
        settings.keys.dir = self.keys_dir();
        settings.keys.refresh_interval_secs = 1;
        settings.passwords.memory_kib = 64;
        settings.passwords.iterations = 1;
        // Tests pick short passwords; the policy has tests of its own.
        settings.passwords.min_length = 1;
        settings.passwords.min_strength = 0;
        // Admin tests sign in with a password; the MFA tests turn this back on.
        settings.mfa.required_for_admins = false;
        settings
    }

    pub async fn spawn_app(&self) -> TestApp {
        self.spawn_app_with(|_| {}).await
    }

    pub async fn spawn_app_with(&self, customize: impl FnOnce(&mut Settings)) -> TestApp {
        self.try_spawn_app_with(customize).await.expect("the app should start")
    }

    pub async fn try_spawn_app_with(&self, customize: impl FnOnce(&mut Settings)) -> anyhow::Result<TestApp> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut settings = self.settings(port);
        customize(&mut settings);
        let application = Application::build_with_listener(settings, listener).await?;
        let state = application.state().clone();
        let server = tokio::spawn(application.run_until_stopped());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Ok(TestApp { address: format!("http://localhost:{port}"), state, client, server })
    }

    /// The environment a `latchkey` process needs to run in this world.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        let mut vars = vec![
            ("LATCHKEY_DATABASE__URL".to_string(), self.database_url.clone()),
            ("LATCHKEY_KEYS__DIR".to_string(), self.keys_dir().display().to_string()),
            ("LATCHKEY_REDIS__KEY_PREFIX".to_string(), self.redis_prefix.clone()),
            ("LATCHKEY_PASSWORDS__MEMORY_KIB".to_string(), "64".to_string()),
            ("LATCHKEY_PASSWORDS__ITERATIONS".to_string(), "1".to_string()),
            ("LATCHKEY_PASSWORDS__MIN_LENGTH".to_string(), "1".to_string()),
            ("LATCHKEY_PASSWORDS__MIN_STRENGTH".to_string(), "0".to_string()),
            ("LATCHKEY_MFA__REQUIRED_FOR_ADMINS".to_string(), "false".to_string()),
        ];
        if let Some(url) = &self.redis_url {
            vars.push(("LATCHKEY_REDIS__URL".to_string(), url.clone()));
        }
        vars
    }

    /// Runs the real `latchkey` binary in the test's folder (so no stray config.toml is read).
    pub fn latchkey(&self, args: &[&str], stdin: Option<&str>) -> CliOutput {
        run_latchkey(self.dir.path(), &self.env_vars(), args, stdin)
    }

    /// Opens the test database directly, for assertions about what is stored.
    pub async fn database(&self) -> sea_orm::DatabaseConnection {
        Database::connect(&self.database_url).await.unwrap()
    }
}

pub struct CliOutput {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    pub fn assert_success(&self) -> &CliOutput {
        assert!(self.success, "latchkey failed ({:?}):\nstdout: {}\nstderr: {}", self.code, self.stdout, self.stderr);
        self
    }

    /// A refusal: non-zero exit, one clear line, no panic.
    pub fn assert_refused(&self, expected: &str) {
        assert!(!self.success, "latchkey should have failed:\nstdout: {}", self.stdout);
        assert!(!self.stderr.contains("panicked"), "latchkey panicked: {}", self.stderr);
        assert!(self.stderr.contains(expected), "stderr should mention {expected:?}: {}", self.stderr);
        assert_eq!(self.stderr.trim().lines().count(), 1, "one error line expected: {}", self.stderr);
    }
}

pub fn run_latchkey(dir: &Path, env: &[(String, String)], args: &[&str], stdin: Option<&str>) -> CliOutput {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command.current_dir(dir).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("LATCHKEY_")) {
        command.env_remove(key);
    }
    command.env_remove("RUST_LOG");
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("cannot start latchkey");
    {
        use std::io::Write;
        let mut pipe = child.stdin.take().unwrap();
        if let Some(input) = stdin {
            // A command that fails before reading its input closes the pipe: its exit
            // status and stderr below say why.
            if let Err(error) = pipe.write_all(input.as_bytes()) {
                eprintln!("latchkey did not read its standard input: {error}");
            }
        }
    }
    let output: Output = child.wait_with_output().unwrap();
    CliOutput {
        success: output.status.success(),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn create_postgres_database(admin_url: &str, name: &str) -> String {
    let admin = Database::connect(admin_url).await.expect("PostgreSQL (LATCHKEY_TEST_DATABASE_URL) must be reachable");
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
    admin.close().await.unwrap();
    let mut url = url::Url::parse(admin_url).unwrap();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Polls `check` every 100 ms until it holds or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn jwks(&self) -> serde_json::Value {
        self.get("/.well-known/jwks.json").await.json().await.unwrap()
    }

    pub async fn jwks_kids(&self) -> Vec<String> {
        self.jwks().await["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect()
    }
}
