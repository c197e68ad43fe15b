//! What each endpoint is bounded by, measured in the same run on the same machine: nginx
//! serving the same bytes, minimal HTTP servers that only sign or only verify a token per
//! request (the same RSA-2048 key type and aws-lc-rs as Latchkey), raw argon2id with
//! Latchkey's default parameters on every core, and `openssl speed`.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::{Context, bail};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::Load;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Kind {
    /// POST /token: signs an access token's claims.
    Sign,
    /// GET /userinfo: verifies the bearer token; GET /token hands one out.
    Verify,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Limits {
    pub sign_http_rps: f64,
    pub verify_http_rps: f64,
    pub argon2_per_sec: f64,
    pub openssl_sign_per_sec: f64,
    pub openssl_verify_per_sec: f64,
}

struct Signer {
    key: KeyPair,
    public: ParsedPublicKey,
}

impl Signer {
    fn new() -> anyhow::Result<Signer> {
        let key = KeyPair::generate(KeySize::Rsa2048).map_err(|_| anyhow::anyhow!("RSA key generation failed"))?;
        let public = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.public_key().as_ref())
            .map_err(|_| anyhow::anyhow!("cannot parse the public key"))?;
        Ok(Signer { key, public })
    }

    /// The claims Latchkey puts in a client-credentials access token (RFC 9068).
    fn token(&self) -> String {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        let mut jti = [0u8; 16];
        let _ = aws_lc_rs::rand::fill(&mut jti);
        let header = r#"{"alg":"RS256","typ":"at+jwt","kid":"bench-reference-key-0000000000000000000000"}"#;
        let claims = serde_json::json!({
            "iss": "http://localhost:8080", "sub": "bench-app", "aud": "http://localhost:8080",
            "client_id": "bench-app", "scope": "", "iat": now, "exp": now + 600,
            "jti": URL_SAFE_NO_PAD.encode(jti), "gid": URL_SAFE_NO_PAD.encode(jti),
        });
        let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut signature = vec![0; self.key.public_modulus_len()];
        if self.key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), input.as_bytes(), &mut signature).is_err() {
            return String::new();
        }
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn verify(&self, token: &str) -> Option<serde_json::Value> {
        let (input, signature) = token.rsplit_once('.')?;
        let (_, claims) = input.split_once('.')?;
        self.public.verify_sig(input.as_bytes(), &URL_SAFE_NO_PAD.decode(signature).ok()?).ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()
    }
}

async fn sign(signer: web::Data<Signer>) -> HttpResponse {
    let body = serde_json::json!({ "access_token": signer.token(), "token_type": "Bearer", "expires_in": 600 });
    HttpResponse::Ok().content_type("application/json").body(body.to_string())
}

async fn hand_out(signer: web::Data<Signer>) -> HttpResponse {
    HttpResponse::Ok().body(signer.token())
}

async fn verify(signer: web::Data<Signer>, request: HttpRequest) -> HttpResponse {
    let bearer = request.headers().get("authorization").and_then(|v| v.to_str().ok()?.strip_prefix("Bearer "));
    match bearer.and_then(|token| signer.verify(token)) {
        Some(claims) => HttpResponse::Ok().json(serde_json::json!({ "sub": claims["sub"] })),
        None => HttpResponse::Unauthorized().finish(),
    }
}

/// Runs a reference server in this process (the bench starts it as a child).
pub fn serve(kind: Kind, port: u16) -> anyhow::Result<()> {
    let signer = web::Data::new(Signer::new()?);
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let app = App::new().app_data(signer.clone());
            match kind {
                Kind::Sign => app.route("/token", web::post().to(sign)),
                Kind::Verify => app.route("/userinfo", web::get().to(verify)).route("/token", web::get().to(hand_out)),
            }
        })
        .bind(("127.0.0.1", port))?
        .run()
        .await
    })?;
    Ok(())
}

struct ReferenceServer {
    child: Child,
    base: String,
}

impl ReferenceServer {
    async fn start(kind: Kind) -> anyhow::Result<ReferenceServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(std::env::current_exe()?)
            .args(["reference", &format!("{kind:?}").to_lowercase(), "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let server = ReferenceServer { child, base: format!("http://127.0.0.1:{port}") };
        wait_listening(port).await?;
        Ok(server)
    }
}

impl Drop for ReferenceServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_listening(port: u16) -> anyhow::Result<()> {
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bail!("nothing listens on port {port}")
}

pub async fn measure_all(load: Load, smoke: bool) -> anyhow::Result<Limits> {
    let signing = ReferenceServer::start(Kind::Sign).await?;
    let sign_http = crate::wrk::run(&signing.base, &crate::wrk::Request::post("/token", "", &[]), load).await?;
    drop(signing);
    let verifying = ReferenceServer::start(Kind::Verify).await?;
    let token = reqwest::get(format!("{}/token", verifying.base)).await?.text().await?;
    let bearer = format!("Bearer {token}");
    let verify_http =
        crate::wrk::run(&verifying.base, &crate::wrk::Request::get("/userinfo", &[("Authorization", &bearer)]), load)
            .await?;
    drop(verifying);
    let (openssl_sign_per_sec, openssl_verify_per_sec) = openssl_speed(if smoke { 1 } else { 3 })?;
    Ok(Limits {
        sign_http_rps: sign_http.rps,
        verify_http_rps: verify_http.rps,
        argon2_per_sec: argon2_per_sec(load.duration.min(Duration::from_secs(5))),
        openssl_sign_per_sec,
        openssl_verify_per_sec,
    })
}

/// argon2id verifications per second with Latchkey's default (OWASP) parameters, one
/// thread per core.
fn argon2_per_sec(duration: Duration) -> f64 {
    use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
    let Ok(params) = Params::new(19456, 2, 1, None) else { return 0.0 };
    let argon2 = Arc::new(Argon2::new(Algorithm::Argon2id, Version::V0x13, params));
    let Ok(hash) = argon2.hash_password(b"bench passphrase that is long enough") else { return 0.0 };
    let hash = Arc::new(hash.to_string());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let started = Instant::now();
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let (argon2, hash) = (argon2.clone(), hash.clone());
            std::thread::spawn(move || {
                let mut done = 0u64;
                while started.elapsed() < duration {
                    if let Ok(parsed) = PasswordHash::new(&hash)
                        && argon2.verify_password(b"bench passphrase that is long enough", &parsed).is_ok()
                    {
                        done += 1;
                    }
                }
                done
            })
        })
        .collect();
    let done: u64 = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
    done as f64 / started.elapsed().as_secs_f64()
}

/// `openssl speed -multi CORES rsa2048`: signs and verifications per second on all cores.
fn openssl_speed(seconds: u32) -> anyhow::Result<(f64, f64)> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let output = Command::new("openssl")
        .args(["speed", "-seconds", &seconds.to_string(), "-multi", &cores.to_string(), "rsa2048"])
        .stderr(Stdio::null())
        .output()
        .context("cannot run openssl speed")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    // "rsa 2048 bits 0.000373s 0.000011s   2681.0  90909.1"
    let line =
        stdout.lines().rev().find(|line| line.starts_with("rsa 2048")).context("no rsa 2048 line from openssl")?;
    let figures: Vec<f64> = line.split_whitespace().filter_map(|word| word.parse().ok()).collect();
    match figures.as_slice() {
        [.., sign, verify] => Ok((*sign, *verify)),
        _ => bail!("cannot read openssl speed: {line}"),
    }
}

/// nginx, one worker per core, serving the bytes and headers Latchkey serves at the
/// discovery and JWKS paths.
pub struct Nginx {
    child: Child,
    dir: std::path::PathBuf,
    pub base: String,
}

impl Nginx {
    pub async fn start(latchkey: &str, workers: usize) -> anyhow::Result<Nginx> {
        let dir = std::env::temp_dir().join(format!("latchkey-bench-nginx-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let mut locations = String::new();
        for (file, path) in [("discovery", "/.well-known/openid-configuration"), ("jwks", "/.well-known/jwks.json")] {
            let response = reqwest::get(format!("{latchkey}{path}")).await?;
            let header =
                |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            let (content_type, cache_control) = (header("content-type"), header("cache-control"));
            std::fs::write(dir.join(file), response.bytes().await?)?;
            locations.push_str(&format!(
                "location = {path} {{ default_type \"{content_type}\"; add_header Cache-Control \"{cache_control}\"; \
                 alias {}; }}\n",
                dir.join(file).display()
            ));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let config = format!(
            "worker_processes {workers};\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\ndaemon off;\n\
             events {{ worker_connections 1024; }}\n\
             http {{ access_log off; server_tokens off; client_body_temp_path {dir}; proxy_temp_path {dir};\n\
             fastcgi_temp_path {dir}; uwsgi_temp_path {dir}; scgi_temp_path {dir};\n\
             server {{ listen 127.0.0.1:{port}; {locations} }} }}\n",
            dir = dir.display()
        );
        std::fs::write(dir.join("nginx.conf"), config)?;
        let child = Command::new("nginx")
            .args(["-e", &dir.join("error.log").display().to_string(), "-c"])
            .arg(dir.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start nginx")?;
        let nginx = Nginx { child, dir, base: format!("http://127.0.0.1:{port}") };
        wait_listening(port).await?;
        Ok(nginx)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
