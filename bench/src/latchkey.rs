//! The Latchkey under test: built in release mode, started in a folder of its own on one
//! backend, provisioned through its CLI and its pages, measured through /proc.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;

use crate::Backend;

pub const USERNAME: &str = "bench";
pub const PASSWORD: &str = "bench passphrase that is long enough";
pub const CLIENT_ID: &str = "bench-app";
pub const REDIRECT_URI: &str = "https://rp.example/callback";

pub fn build_release() -> anyhow::Result<PathBuf> {
    let root = crate::workspace_root();
    eprintln!("bench: cargo build --release --bin latchkey");
    let mut cargo = Command::new(env!("CARGO"));
    // What `cargo run` sets for the bench itself would make cargo rebuild dependencies
    // whose build scripts watch the environment, at every alternation with a plain build.
    for (key, _) in std::env::vars() {
        if key.starts_with("CARGO_PKG_") || key.starts_with("CARGO_MANIFEST_") || key.starts_with("CARGO_CRATE_") {
            cargo.env_remove(key);
        }
    }
    for key in ["CARGO_BIN_NAME", "CARGO_PRIMARY_PACKAGE", "OUT_DIR"] {
        cargo.env_remove(key);
    }
    let status = cargo
        .args(["build", "--release", "--quiet", "-p", "latchkey", "--bin", "latchkey"])
        .current_dir(&root)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo build --release failed");
    }
    Ok(root.join("target/release/latchkey"))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One backend's folder, database and configuration.
pub struct World {
    binary: PathBuf,
    dir: PathBuf,
    env: Vec<(String, String)>,
    pub port: u16,
    database: Database,
    drop_database: Option<(String, String)>,
}

enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

impl World {
    pub fn create(
        binary: &Path,
        backend: Backend,
        postgres: &str,
        redis: &str,
        extra_env: &[(&str, &str)],
    ) -> anyhow::Result<World> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let id = format!("{}_{nanos}", std::process::id());
        let dir = std::env::temp_dir().join(format!("latchkey-bench-{id}"));
        std::fs::create_dir_all(&dir)?;
        let port = free_port()?;
        let mut env = vec![
            ("LATCHKEY_ISSUER", format!("http://localhost:{port}")),
            ("LATCHKEY_SERVER__BIND", format!("127.0.0.1:{port}")),
            ("LATCHKEY_KEYS__DIR", dir.join("keys").display().to_string()),
            // The bench comes from one address: the per-address limits would measure themselves.
            ("LATCHKEY_LOCKOUT__ATTEMPTS_PER_IP_PER_MINUTE", "0".into()),
            ("LATCHKEY_RATE_LIMITS__AUTHORIZE_PER_MINUTE", "0".into()),
            ("LATCHKEY_RATE_LIMITS__PASSKEY_START_PER_MINUTE", "0".into()),
            ("LATCHKEY_RATE_LIMITS__FAILED_CLIENT_AUTH_PER_MINUTE", "0".into()),
            ("LATCHKEY_RATE_LIMITS__ACCOUNT_PER_MINUTE", "0".into()),
        ];
        let mut drop_database = None;
        let database = match backend {
            Backend::Embedded => {
                let file = dir.join("latchkey.db");
                env.push(("LATCHKEY_DATABASE__URL", format!("sqlite://{}?mode=rwc", file.display())));
                Database::Sqlite(file)
            }
            Backend::Postgres => {
                let name = format!("latchkey_bench_{}", std::process::id());
                psql(postgres, &format!("DROP DATABASE IF EXISTS \"{name}\""))?;
                psql(postgres, &format!("CREATE DATABASE \"{name}\""))?;
                let mut url = url::Url::parse(postgres).context("LATCHKEY_BENCH_DATABASE_URL")?;
                url.set_path(&format!("/{name}"));
                env.push(("LATCHKEY_DATABASE__URL", url.to_string()));
                env.push(("LATCHKEY_REDIS__URL", redis.to_string()));
                env.push(("LATCHKEY_REDIS__KEY_PREFIX", format!("latchkey-bench:{id}:")));
                drop_database = Some((postgres.to_string(), name));
                Database::Postgres(url.to_string())
            }
        };
        let mut env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        env.extend(extra_env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Ok(World { binary: binary.to_path_buf(), dir, env, port, database, drop_database })
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.database, Database::Postgres(_))
    }

    /// Runs SQL on this world's database through the backend's own shell (`sqlite3` or
    /// `psql`); returns what it printed.
    pub fn sql(&self, sql: &str) -> anyhow::Result<String> {
        let output = match &self.database {
            Database::Sqlite(file) => {
                Command::new("sqlite3").args(["-cmd", ".timeout 30000"]).arg(file).arg(sql).output()
            }
            Database::Postgres(url) => {
                Command::new("psql").args([url.as_str(), "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql]).output()
            }
        }
        .context("cannot run the database shell")?;
        if !output.status.success() {
            bail!("SQL failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    pub fn cli(&self, args: &[&str], stdin: &str) -> anyhow::Result<String> {
        use std::io::Write;
        let mut child = Command::new(&self.binary)
            .args(args)
            .current_dir(&self.dir)
            .envs(self.env.iter().cloned())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run latchkey")?;
        child.stdin.take().context("stdin")?.write_all(stdin.as_bytes())?;
        let output = child.wait_with_output()?;
        if !output.status.success() {
            bail!("latchkey {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn spawn(&self) -> anyhow::Result<Child> {
        let log = std::fs::File::create(self.dir.join("latchkey.log"))?;
        Command::new(&self.binary)
            .arg("serve")
            .current_dir(&self.dir)
            .envs(self.env.iter().cloned())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start latchkey")
    }

    /// Starts Latchkey once to create its database and keys, stops it, and starts it again:
    /// the second start, on an existing database, is the one timed.
    pub async fn start(&self) -> anyhow::Result<Server> {
        let base = format!("http://127.0.0.1:{}", self.port);
        let first = Server { child: self.spawn()?, base: base.clone(), start_to_healthy: Duration::ZERO };
        wait_healthy(&first.base, Duration::from_secs(60)).await?;
        drop(first);
        let started = Instant::now();
        let child = self.spawn()?;
        wait_healthy(&base, Duration::from_secs(30)).await?;
        Ok(Server { child, base, start_to_healthy: started.elapsed() })
    }

    pub fn remove(self) {
        if let Some((url, name)) = &self.drop_database {
            let _ = psql(url, &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let status = Command::new("psql").args([url, "-qc", sql]).status().context("cannot run psql")?;
    if !status.success() {
        bail!("psql: {sql} failed");
    }
    Ok(())
}

async fn wait_healthy(base: &str, within: Duration) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(response) = client.get(format!("{base}/healthz")).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    bail!("latchkey did not become healthy at {base}")
}

/// A running Latchkey; stopped when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    pub start_to_healthy: Duration,
}

impl Server {
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    pub fn peak_rss_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    /// Starts a new peak-RSS measurement (`VmHWM` counts from here).
    pub fn reset_peak_rss(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM first: Latchkey shuts down gracefully; then make sure.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the loads need: a client, a user with a passkey, live tokens, a login form.
pub struct Setup {
    pub client_secret: String,
    pub access_token: String,
    pub refresh_tokens: Vec<String>,
    pub login_form: String,
    pub login_cookie: String,
    pub login_csrf: String,
}

impl Setup {
    /// The login form as the bench's browser got it, filled in for `username`.
    pub fn login_form_for(&self, username: &str) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf_token", &self.login_csrf)
            .append_pair("username", username)
            .append_pair("password", PASSWORD)
            .finish()
    }

    pub fn basic_auth(&self) -> String {
        let pair = format!("{CLIENT_ID}:{}", self.client_secret);
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
    }
}

pub async fn provision(world: &World, server: &Server) -> anyhow::Result<Setup> {
    world.cli(&["user", "add", USERNAME, "--password-stdin"], &format!("{PASSWORD}\n"))?;
    let added = world.cli(
        &[
            "client",
            "add",
            CLIENT_ID,
            "--first-party",
            "--redirect-uri",
            REDIRECT_URI,
            "--grant",
            "authorization_code,refresh_token,client_credentials",
            "--scope",
            "openid profile email offline_access",
        ],
        "",
    )?;
    let client_secret = added
        .lines()
        .find_map(|line| line.split_once("store it now): ").map(|(_, secret)| secret.trim().to_string()))
        .context("client add printed no secret")?;
    let mut setup = Setup {
        client_secret,
        access_token: String::new(),
        refresh_tokens: Vec::new(),
        login_form: String::new(),
        login_cookie: String::new(),
        login_csrf: String::new(),
    };

    // A browser signed in once mints as many grants as the refresh load needs.
    let browser = crate::flows::browser()?;
    crate::flows::password_sign_in(&browser, &server.base, None).await?;
    for _ in 0..128 {
        let tokens = crate::flows::code_grant(&browser, &server.base, &setup).await?;
        setup.access_token = tokens["access_token"].as_str().context("access_token")?.to_string();
        setup.refresh_tokens.push(tokens["refresh_token"].as_str().context("refresh_token")?.to_string());
    }

    // The login form as a page hands it out: its pre-session cookie and CSRF token.
    let page = reqwest::get(format!("{}/login", server.base)).await?;
    let cookies: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok()?.split(';').next().map(str::to_string))
        .collect();
    let html = page.text().await?;
    let csrf = crate::flows::hidden_field(&html, "csrf_token").context("login form without csrf_token")?;
    setup.login_cookie = cookies.join("; ");
    setup.login_csrf = csrf;
    setup.login_form = setup.login_form_for(USERNAME);
    let check = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?
        .post(format!("{}/login", server.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Cookie", &setup.login_cookie)
        .body(setup.login_form.clone())
        .send()
        .await?;
    if check.headers().get("location").and_then(|l| l.to_str().ok()) != Some("/account") {
        bail!("the login form replayed does not sign in: {}", check.status());
    }
    Ok(setup)
}
