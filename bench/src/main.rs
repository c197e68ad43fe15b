//! Latchkey's benchmark: `cargo run --release -p latchkey-bench`.
//!
//! Builds and starts the release `latchkey` on the embedded default, then on PostgreSQL +
//! Redis; drives each endpoint with wrk (and the multi-step flows with a small driver of
//! our own) at fixed concurrency for a fixed time; and measures, in the same run on the
//! same machine, what each endpoint is bounded by: nginx serving the same bytes, a minimal
//! HTTP server that only signs (or only verifies) a token per request, raw argon2id, and
//! `openssl speed`. It prints a table of ratios and writes it as markdown and JSON.

mod flows;
mod latchkey;
mod references;
mod report;
mod scale;
#[path = "../../tests/api/soft_authenticator.rs"]
#[allow(dead_code)]
mod soft_authenticator;
mod wrk;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use crate::report::{Measured, Report, Row};

#[derive(Parser)]
#[command(about = "Latchkey's benchmark, with the physical limits measured in the same run")]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Seconds of load per endpoint.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Concurrent connections (wrk) or flows (the driver).
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// One second per endpoint, the embedded default only: checks the bench runs (CI).
    #[arg(long)]
    smoke: bool,
    /// The latchkey binary to measure. Default: build it in release mode.
    #[arg(long)]
    latchkey: Option<PathBuf>,
    /// Backends to measure.
    #[arg(long, value_delimiter = ',', default_values = ["embedded", "postgres"])]
    backends: Vec<Backend>,
    /// PostgreSQL server for the `postgres` backend (a database is created for the run).
    #[arg(long, env = "LATCHKEY_BENCH_DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/test")]
    postgres: String,
    #[arg(long, env = "LATCHKEY_BENCH_REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    redis: String,
    /// Extra settings for Latchkey, as LATCHKEY_* variables (e.g. LATCHKEY_LOG__ACCESS=false).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    latchkey_env: Vec<String>,
    /// Measure only the endpoints whose name contains one of these (references too).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Users in the directory for the scale rows (the main table has 1,000); 0 skips them.
    #[arg(long, default_value_t = 1_000_000)]
    scale: u64,
    /// Where latest.md / latest.json go (the run before becomes previous.*).
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// A reference server (started by the bench itself).
    Reference {
        #[arg(value_enum)]
        kind: references::Kind,
        #[arg(long)]
        port: u16,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Embedded,
    Postgres,
}

impl Backend {
    fn label(self) -> &'static str {
        match self {
            Backend::Embedded => "embedded (SQLite + in-process store)",
            Backend::Postgres => "PostgreSQL + Redis",
        }
    }
}

/// What a row is compared with: the reference's name and its requests per second.
type Reference<'a> = Option<(&'a str, f64)>;

/// How hard and how long each load runs.
#[derive(Clone, Copy)]
pub struct Load {
    pub duration: Duration,
    pub connections: u32,
    pub threads: u32,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(Command::Reference { kind, port }) = args.command {
        return references::serve(kind, port);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(args))
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

async fn run(mut args: Args) -> anyhow::Result<()> {
    if args.smoke {
        args.duration = 1;
        args.backends = vec![Backend::Embedded];
        args.scale = args.scale.min(5_000);
    }
    let load =
        Load { duration: Duration::from_secs(args.duration), connections: args.connections, threads: args.threads };
    wrk::ensure_tools()?;
    let binary = match &args.latchkey {
        Some(path) => {
            std::fs::canonicalize(path).with_context(|| format!("no latchkey binary at {}", path.display()))?
        }
        None => latchkey::build_release()?,
    };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    eprintln!("bench: {} s per endpoint, {} connections, {} cores", args.duration, args.connections, cores);

    let mut report = Report::new(cores, &load);
    eprintln!("bench: references");
    let limits = references::measure_all(load, args.smoke).await?;
    report.references = limits.clone();

    for backend in args.backends.clone() {
        eprintln!("bench: latchkey on {}", backend.label());
        let rows = measure_backend(&binary, backend, &args, load, &limits).await?;
        report.backends.push((backend, rows));
    }
    report.compare_backends();
    let out = if args.out.is_absolute() { args.out.clone() } else { workspace_root().join(&args.out) };
    report.write(&out)?;
    println!("{}", report.markdown());
    Ok(())
}

async fn measure_backend(
    binary: &Path,
    backend: Backend,
    args: &Args,
    load: Load,
    limits: &references::Limits,
) -> anyhow::Result<Vec<Row>> {
    let extra_env = args.latchkey_env.iter().filter_map(|pair| pair.split_once('=')).collect::<Vec<_>>();
    let world = latchkey::World::create(binary, backend, &args.postgres, &args.redis, &extra_env)?;
    let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|part| name.contains(part.as_str()));
    let server = world.start().await?;
    let started_in = server.start_to_healthy;
    // Idle: started on an existing database, nothing served yet but the health check.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let idle = server.rss_kib();
    let setup = latchkey::provision(&world, &server).await?;
    scale::seed(&world, 1, scale::BASELINE_USERS)?;
    let admin_token = scale::admin_token(&world, &server).await?;
    let mut rows = Vec::new();
    let mut measure = |name: &str, reference: Option<(&str, f64)>, measured: Measured| {
        rows.push(Row::new(name, measured, reference));
    };

    // nginx serves exactly what Latchkey serves on these two paths.
    let nginx = references::Nginx::start(&server.base, cores_or_one()).await?;
    for (name, path) in [("discovery", "/.well-known/openid-configuration"), ("jwks", "/.well-known/jwks.json")] {
        if !wanted(name) {
            continue;
        }
        let reference = wrk::get(&nginx.base, path, &[], load).await?;
        server.reset_peak_rss();
        let mut measured = wrk::get(&server.base, path, &[], load).await?;
        measured.peak_rss_kib = server.peak_rss_kib();
        measure(name, Some(("nginx", reference.rps)), measured);
    }
    drop(nginx);

    let basic = setup.basic_auth();
    let endpoints: Vec<(&str, Reference, wrk::Request)> = vec![
        (
            "token client_credentials",
            Some(("signing server", limits.sign_http_rps)),
            wrk::Request::post("/token", "grant_type=client_credentials", &[("Authorization", &basic)]),
        ),
        (
            "token refresh_token",
            Some(("signing server / 2", limits.sign_http_rps / 2.0)),
            wrk::Request::refresh(&setup.refresh_tokens, &basic),
        ),
        (
            "userinfo",
            Some(("verifying server", limits.verify_http_rps)),
            wrk::Request::get("/userinfo", &[("Authorization", &format!("Bearer {}", setup.access_token))]),
        ),
        (
            "introspection",
            Some(("verifying server", limits.verify_http_rps)),
            wrk::Request::post("/introspect", &format!("token={}", setup.access_token), &[("Authorization", &basic)]),
        ),
        (
            "password login POST",
            Some(("argon2id", limits.argon2_per_sec)),
            wrk::Request::post("/login", &setup.login_form, &[("Cookie", &setup.login_cookie)]),
        ),
    ];
    for (name, reference, request) in endpoints.into_iter().filter(|(name, _, _)| wanted(name)) {
        server.reset_peak_rss();
        let mut measured = wrk::run(&server.base, &request, load).await?;
        measured.peak_rss_kib = server.peak_rss_kib();
        measure(name, reference, measured);
    }

    server.reset_peak_rss();
    let mut measured = flows::code_flow(&server.base, &setup, load).await?;
    measured.peak_rss_kib = server.peak_rss_kib();
    measure(
        "authorization-code flow (authorize → login → code → token)",
        Some(("argon2id", limits.argon2_per_sec)),
        measured,
    );

    server.reset_peak_rss();
    let mut measured = flows::passkey_sign_in(&server.base, load).await?;
    measured.peak_rss_kib = server.peak_rss_kib();
    measure("passkey sign-in (start + finish)", None, measured);

    rows.push(Row::figure("idle RSS after start (before any load)", idle as f64 / 1024.0, "MiB"));
    rows.push(Row::figure("start to healthy (existing database)", started_in.as_secs_f64() * 1000.0, "ms"));

    let admin_rounds = if args.smoke { 3 } else { 20 };
    rows.extend(scale::admin_lists(&server, &admin_token, scale::BASELINE_USERS, admin_rounds).await?);
    if args.scale > scale::BASELINE_USERS && wanted("scale") {
        let users = scale::thousands(args.scale);
        eprintln!("bench: seeding to {users} users");
        let took = scale::seed(&world, scale::BASELINE_USERS, args.scale)?;
        rows.push(Row::figure(&format!("seeding to {users} users"), took.as_secs_f64(), "s"));
        drop(server);
        let server = world.start().await?;
        rows.push(Row::figure(
            &format!("start to healthy at {users} users"),
            server.start_to_healthy.as_secs_f64() * 1000.0,
            "ms",
        ));
        let login_as = |n| setup.login_form_for(&scale::seeded_username(n));
        let again: Vec<(&str, wrk::Request)> = vec![
            (
                "token client_credentials",
                wrk::Request::post("/token", "grant_type=client_credentials", &[("Authorization", &basic)]),
            ),
            (
                "userinfo",
                wrk::Request::get("/userinfo", &[("Authorization", &format!("Bearer {}", setup.access_token))]),
            ),
            (
                "password login POST",
                wrk::Request::post("/login", &login_as(args.scale - 1), &[("Cookie", &setup.login_cookie)]),
            ),
        ];
        for (name, request) in again {
            let Some(base) = rows.iter().find(|row| row.name == name).and_then(|row| row.measured.clone()) else {
                continue;
            };
            server.reset_peak_rss();
            let mut measured = wrk::run(&server.base, &request, load).await?;
            measured.peak_rss_kib = server.peak_rss_kib();
            rows.push(Row::new(&format!("{name} at {users} users"), measured, Some(("same at 1,000 users", base.rps))));
        }
        rows.extend(scale::admin_lists(&server, &admin_token, args.scale, admin_rounds).await?);
        drop(server);
    } else {
        drop(server);
    }
    world.remove();
    Ok(rows)
}

fn cores_or_one() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}
