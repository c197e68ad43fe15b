//! The figures of one run: printed as a markdown table, written as markdown and JSON, and
//! compared with the run before.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::references::Limits;
use crate::{Backend, Load};

#[derive(Clone, Debug, Default, Serialize)]
pub struct Measured {
    pub requests: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
    pub peak_rss_kib: u64,
}

impl Measured {
    pub fn from_wrk(requests: u64, duration_us: u64, p50_us: u64, p99_us: u64, errors: u64) -> Measured {
        Measured {
            requests,
            rps: requests as f64 / (duration_us.max(1) as f64 / 1e6),
            p50_ms: p50_us as f64 / 1000.0,
            p99_ms: p99_us as f64 / 1000.0,
            errors,
            peak_rss_kib: 0,
        }
    }

    pub fn from_latencies(mut latencies: Vec<Duration>, errors: u64, elapsed: Duration) -> Measured {
        latencies.sort();
        let percentile = |p: f64| {
            if latencies.is_empty() {
                return 0.0;
            }
            let index = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[index].as_secs_f64() * 1000.0
        };
        Measured {
            requests: latencies.len() as u64,
            rps: latencies.len() as f64 / elapsed.as_secs_f64(),
            p50_ms: percentile(0.50),
            p99_ms: percentile(0.99),
            errors,
            peak_rss_kib: 0,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub name: String,
    pub measured: Option<Measured>,
    /// A single figure instead of a load (idle RSS, start time), with its unit.
    pub figure: Option<(f64, String)>,
    pub reference: Option<(String, f64)>,
    pub ratio: Option<f64>,
}

impl Row {
    pub fn new(name: &str, measured: Measured, reference: Option<(&str, f64)>) -> Row {
        let ratio = reference.filter(|(_, rps)| *rps > 0.0).map(|(_, rps)| measured.rps / rps);
        Row {
            name: name.to_string(),
            measured: Some(measured),
            figure: None,
            reference: reference.map(|(name, rps)| (name.to_string(), rps)),
            ratio,
        }
    }

    pub fn figure(name: &str, value: f64, unit: &str) -> Row {
        Row {
            name: name.to_string(),
            measured: None,
            figure: Some((value, unit.to_string())),
            reference: None,
            ratio: None,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub cores: usize,
    pub seconds_per_endpoint: u64,
    pub connections: u32,
    pub references: Limits,
    pub backends: Vec<(Backend, Vec<Row>)>,
    /// PostgreSQL + Redis throughput over the embedded figure, per endpoint.
    pub postgres_over_embedded: Vec<(String, f64)>,
    #[serde(skip)]
    previous: Option<serde_json::Value>,
}

impl Report {
    pub fn new(cores: usize, load: &Load) -> Report {
        Report {
            cores,
            seconds_per_endpoint: load.duration.as_secs(),
            connections: load.connections,
            references: Limits::default(),
            backends: Vec::new(),
            postgres_over_embedded: Vec::new(),
            previous: None,
        }
    }

    pub fn compare_backends(&mut self) {
        let find = |backend: Backend| self.backends.iter().find(|(b, _)| *b == backend).map(|(_, rows)| rows);
        let (Some(embedded), Some(postgres)) = (find(Backend::Embedded), find(Backend::Postgres)) else { return };
        self.postgres_over_embedded = embedded
            .iter()
            .filter_map(|row| {
                let base = row.measured.as_ref()?.rps;
                let other = postgres.iter().find(|other| other.name == row.name)?.measured.as_ref()?.rps;
                (base > 0.0).then(|| (row.name.clone(), other / base))
            })
            .collect();
    }

    /// Writes latest.md and latest.json into `dir`; the run before becomes previous.*.
    pub fn write(&mut self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        let latest_json = dir.join("latest.json");
        if let Ok(text) = std::fs::read_to_string(&latest_json) {
            self.previous = serde_json::from_str(&text).ok();
            std::fs::rename(&latest_json, dir.join("previous.json"))?;
            let _ = std::fs::rename(dir.join("latest.md"), dir.join("previous.md"));
        }
        std::fs::write(&latest_json, serde_json::to_string_pretty(self)?)?;
        std::fs::write(dir.join("latest.md"), self.markdown())?;
        eprintln!("bench: wrote {} and latest.md", latest_json.display());
        Ok(())
    }

    /// Requests per second of `name` on `backend` in the run before, if it had that row.
    fn previous_rps(&self, backend: Backend, name: &str) -> Option<f64> {
        let backends = self.previous.as_ref()?["backends"].as_array()?;
        let backend_name = serde_json::to_value(backend).ok()?;
        let rows = backends.iter().find_map(|pair| {
            let pair = pair.as_array()?;
            if pair.first()? == &backend_name { pair.get(1) } else { None }
        })?;
        let row = rows.as_array()?.iter().find(|row| row["name"] == name)?;
        row["measured"]["rps"].as_f64()
    }

    pub fn markdown(&self) -> String {
        let r = &self.references;
        let mut out = format!(
            "## References ({} cores, {} s per load, {} connections)\n\n\
             | reference | per second |\n|---|---|\n\
             | minimal HTTP server signing an access token (aws-lc-rs, RSA-2048) | {:.0} |\n\
             | minimal HTTP server verifying a bearer token | {:.0} |\n\
             | argon2id verifications (m=19456 KiB, t=2, p=1), all cores | {:.1} |\n\
             | `openssl speed rsa2048`, all cores: sign / verify | {:.0} / {:.0} |\n",
            self.cores,
            self.seconds_per_endpoint,
            self.connections,
            r.sign_http_rps,
            r.verify_http_rps,
            r.argon2_per_sec,
            r.openssl_sign_per_sec,
            r.openssl_verify_per_sec
        );
        for (backend, rows) in &self.backends {
            out.push_str(&format!(
                "\n## Latchkey on {}\n\n\
                 | endpoint | req/s | p50 ms | p99 ms | errors | peak RSS MiB | reference | ratio | vs last run |\n\
                 |---|---|---|---|---|---|---|---|---|\n",
                backend.label()
            ));
            for row in rows {
                if let Some((value, unit)) = &row.figure {
                    out.push_str(&format!("| {} | {value:.1} {unit} | | | | | | | |\n", row.name));
                    continue;
                }
                let Some(m) = &row.measured else { continue };
                let reference =
                    row.reference.as_ref().map(|(name, rps)| format!("{name}: {rps:.0}")).unwrap_or_default();
                let ratio = row.ratio.map(|ratio| format!("{ratio:.2}")).unwrap_or_default();
                let versus = self
                    .previous_rps(*backend, &row.name)
                    .filter(|previous| *previous > 0.0)
                    .map(|previous| format!("{:+.0}%", (m.rps / previous - 1.0) * 100.0))
                    .unwrap_or_default();
                let rss =
                    if m.peak_rss_kib > 0 { format!("{:.1}", m.peak_rss_kib as f64 / 1024.0) } else { String::new() };
                out.push_str(&format!(
                    "| {} | {:.0} | {:.2} | {:.2} | {} | {rss} | {reference} | {ratio} | {versus} |\n",
                    row.name, m.rps, m.p50_ms, m.p99_ms, m.errors,
                ));
            }
        }
        if !self.postgres_over_embedded.is_empty() {
            out.push_str("\n## PostgreSQL + Redis over embedded (throughput)\n\n| endpoint | ratio |\n|---|---|\n");
            for (name, ratio) in &self.postgres_over_embedded {
                out.push_str(&format!("| {name} | {ratio:.2} |\n"));
            }
        }
        out
    }
}
