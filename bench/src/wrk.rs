//! Load from wrk (Debian's package), scripted in Lua; its `done` hook prints one JSON line
//! with the figures the report needs.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

use crate::Load;
use crate::report::Measured;

/// Installs wrk, nginx and openssl from Debian when one is missing (as root, or with
/// password-less sudo); otherwise says what to install.
pub fn ensure_tools() -> anyhow::Result<()> {
    let missing: Vec<&str> = [("wrk", "wrk"), ("nginx", "nginx"), ("openssl", "openssl"), ("sqlite3", "sqlite3")]
        .into_iter()
        .filter(|(command, _)| !on_path(command))
        .map(|(_, package)| package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("bench: installing {} from Debian", missing.join(" "));
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let apt = |args: &[&str]| {
        let mut command = if root { Command::new("apt-get") } else { Command::new("sudo") };
        if !root {
            command.args(["-n", "apt-get"]);
        }
        command.env("DEBIAN_FRONTEND", "noninteractive").args(args).status()
    };
    let installed = apt(&["install", "-y", "-q"].iter().copied().chain(missing.iter().copied()).collect::<Vec<_>>())
        .map(|s| s.success())
        .unwrap_or(false)
        || (apt(&["update", "-q"]).is_ok()
            && apt(&["install", "-y", "-q"].iter().copied().chain(missing.iter().copied()).collect::<Vec<_>>())
                .map(|s| s.success())
                .unwrap_or(false));
    if !installed {
        bail!("the bench needs {}: sudo apt-get install {}", missing.join(", "), missing.join(" "));
    }
    Ok(())
}

pub fn on_path(command: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {command}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

const DONE: &str = r#"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"failed":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout))
end
"#;

/// One fixed request, built once: args are method, path, body, then "Name: value" headers.
const FIXED: &str = r#"
function init(args)
  local headers = {}
  for i = 4, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  local body = nil
  if args[3] ~= "" then body = args[3] end
  if body then headers["Content-Type"] = "application/x-www-form-urlencoded" end
  fixed = wrk.format(args[1], args[2], headers, body)
end
function request() return fixed end
"#;

/// Refresh-token rotation: each thread takes its share of the tokens in the file, sends
/// one, and queues the new one from the answer (every token is used once, as it must be).
const REFRESH: &str = r#"
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
end
function init(args)
  queue = {}
  local threads = tonumber(args[2])
  local i = 0
  for line in io.lines(args[1]) do
    if i % threads == id - 1 then table.insert(queue, line) end
    i = i + 1
  end
  headers = { ["Content-Type"] = "application/x-www-form-urlencoded", ["Authorization"] = args[3] }
end
function request()
  local token = table.remove(queue, 1) or "exhausted"
  return wrk.format("POST", "/token", headers, "grant_type=refresh_token&refresh_token=" .. token)
end
function response(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if token then table.insert(queue, token) end
end
"#;

pub enum Request {
    Fixed { method: &'static str, path: String, body: String, headers: Vec<String> },
    Refresh { tokens: Vec<String>, basic_auth: String },
}

impl Request {
    pub fn get(path: &str, headers: &[(&str, &str)]) -> Request {
        Request::fixed("GET", path, "", headers)
    }

    pub fn post(path: &str, body: &str, headers: &[(&str, &str)]) -> Request {
        Request::fixed("POST", path, body, headers)
    }

    fn fixed(method: &'static str, path: &str, body: &str, headers: &[(&str, &str)]) -> Request {
        let headers = headers.iter().map(|(name, value)| format!("{name}: {value}")).collect();
        Request::Fixed { method, path: path.to_string(), body: body.to_string(), headers }
    }

    pub fn refresh(tokens: &[String], basic_auth: &str) -> Request {
        Request::Refresh { tokens: tokens.to_vec(), basic_auth: basic_auth.to_string() }
    }
}

fn scratch_file(name: &str, contents: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("latchkey-bench-wrk-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(name);
    std::fs::write(&path, contents)?;
    Ok(path)
}

pub async fn get(base: &str, path: &str, headers: &[(&str, &str)], load: Load) -> anyhow::Result<Measured> {
    run(base, &Request::get(path, headers), load).await
}

pub async fn run(base: &str, request: &Request, load: Load) -> anyhow::Result<Measured> {
    let (script, script_args) = match request {
        Request::Fixed { method, path, body, headers } => {
            let mut script_args = vec![method.to_string(), path.clone(), body.clone()];
            script_args.extend(headers.iter().cloned());
            (scratch_file("fixed.lua", &format!("{FIXED}{DONE}"))?, script_args)
        }
        Request::Refresh { tokens, basic_auth } => {
            let file = scratch_file("refresh-tokens.txt", &(tokens.join("\n") + "\n"))?;
            let script_args = vec![file.display().to_string(), load.threads.to_string(), basic_auth.clone()];
            (scratch_file("refresh.lua", &format!("{REFRESH}{DONE}"))?, script_args)
        }
    };
    let output = tokio::process::Command::new("wrk")
        .arg(format!("-t{}", load.threads))
        .arg(format!("-c{}", load.connections.max(load.threads)))
        .arg(format!("-d{}s", load.duration.as_secs().max(1)))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(&script)
        .arg(base)
        .arg("--")
        .args(&script_args)
        .output()
        .await
        .context("cannot run wrk")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|line| line.starts_with('{'))
        .with_context(|| format!("wrk printed no summary: {stdout}{}", String::from_utf8_lossy(&output.stderr)))?;
    let summary: serde_json::Value = serde_json::from_str(line)?;
    let figure = |name: &str| summary[name].as_u64().unwrap_or(0);
    Ok(Measured::from_wrk(
        figure("requests"),
        figure("duration_us"),
        figure("p50_us"),
        figure("p99_us"),
        figure("failed"),
    ))
}
