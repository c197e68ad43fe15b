//! What an operator scrapes at `/metrics` (Prometheus text format). Each application has
//! its own registry, so several in one process (the tests) never mix their counts.

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// Store failures seen at the HTTP edge, by store. Process-wide: an error reaches the edge
/// as an `anyhow::Error`, long after the store that raised it.
static DATABASE_ERRORS: AtomicU64 = AtomicU64::new(0);
static EPHEMERAL_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Counts `error` against the store it came from, if it came from one.
pub fn note_unexpected(error: &anyhow::Error) {
    match crate::store::failed_store(error) {
        Some(crate::store::Store::Database) => DATABASE_ERRORS.fetch_add(1, Ordering::Relaxed),
        Some(crate::store::Store::Ephemeral) => EPHEMERAL_ERRORS.fetch_add(1, Ordering::Relaxed),
        None => 0,
    };
}

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_seconds: HistogramVec,
    sign_ins: IntCounterVec,
    tokens_issued: IntCounterVec,
    refresh_token_reuse: IntCounter,
    lockouts: IntCounter,
    rate_limited: IntCounter,
    argon2_queue: IntGauge,
    store_errors: IntCounterVec,
    signing_key_age: IntGauge,
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> prometheus::Result<IntCounterVec> {
    let metric = IntCounterVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

fn counter(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntCounter> {
    let metric = IntCounter::new(name, help)?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

fn gauge(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntGauge> {
    let metric = IntGauge::new(name, help)?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

impl Metrics {
    pub fn new() -> anyhow::Result<Metrics> {
        let registry = Registry::new_custom(Some("latchkey".into()), None)?;
        let request_seconds = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by route and status")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &["route", "method", "status"],
        )?;
        registry.register(Box::new(request_seconds.clone()))?;
        Ok(Metrics {
            requests: counter_vec(
                &registry,
                "http_requests_total",
                "HTTP requests by route and status",
                &["route", "method", "status"],
            )?,
            request_seconds,
            sign_ins: counter_vec(
                &registry,
                "sign_ins_total",
                "sign-ins by method and outcome",
                &["method", "outcome"],
            )?,
            tokens_issued: counter_vec(
                &registry,
                "tokens_issued_total",
                "token responses by grant type",
                &["grant_type"],
            )?,
            refresh_token_reuse: counter(&registry, "refresh_token_reuse_total", "refresh-token reuse detections")?,
            lockouts: counter(&registry, "lockouts_total", "accounts locked after failed sign-ins")?,
            rate_limited: counter(&registry, "rate_limited_total", "requests answered 429")?,
            argon2_queue: gauge(&registry, "argon2_queue_depth", "password hashes waiting for a hashing thread")?,
            store_errors: counter_vec(&registry, "store_errors_total", "store failures, by store", &["store"])?,
            signing_key_age: gauge(&registry, "signing_key_age_seconds", "age of the key that signs new tokens")?,
            registry,
        })
    }

    pub fn observe_request(&self, route: &str, method: &str, status: &str, seconds: f64) {
        let labels = [route, method, status];
        self.requests.with_label_values(&labels).inc();
        self.request_seconds.with_label_values(&labels).observe(seconds);
        if status == "429" {
            self.rate_limited.inc();
        }
    }

    /// `method`: `password`, `passkey` or `mfa`; `outcome`: `success` or `failure`.
    pub fn sign_in(&self, method: &str, outcome: &str) {
        self.sign_ins.with_label_values(&[method, outcome]).inc();
    }

    pub fn token_issued(&self, grant_type: &str) {
        self.tokens_issued.with_label_values(&[grant_type]).inc();
    }

    pub fn refresh_token_reused(&self) {
        self.refresh_token_reuse.inc();
    }

    pub fn account_locked(&self) {
        self.lockouts.inc();
    }

    /// The exposition, with the gauges read now.
    pub fn render(&self, argon2_queue: usize, signing_key_age_secs: i64) -> anyhow::Result<String> {
        self.argon2_queue.set(argon2_queue as i64);
        self.signing_key_age.set(signing_key_age_secs);
        for (store, seen) in [("database", &DATABASE_ERRORS), ("ephemeral", &EPHEMERAL_ERRORS)] {
            let counter = self.store_errors.with_label_values(&[store]);
            counter.inc_by(seen.load(Ordering::Relaxed).saturating_sub(counter.get()));
        }
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8(out)?)
    }
}
