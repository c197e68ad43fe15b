//! Logging through `tracing`: human-readable by default, JSON by `log.format`. Each HTTP
//! request runs in a span carrying its request id, so every line it logs carries the id,
//! and the span's closing line is the access log.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::{LogFormat, LogSettings};

/// Installs the global subscriber. `RUST_LOG` overrides the configured level. Lines go to
/// standard error through a background thread, so a request never waits on the write; the
/// returned guard flushes what is queued when dropped (keep it until exit). A full queue
/// makes the logging thread wait rather than drop lines.
pub fn init(log: &LogSettings, level: &str) -> WorkerGuard {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("latchkey-log")
        .finish(std::io::stderr());
    // The access log is the closing line of each request's span.
    let span_events = if log.access { FmtSpan::CLOSE } else { FmtSpan::NONE };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_span_events(span_events).with_writer(writer);
    // A second init (tests start several apps in one process) is harmless: ignore it.
    let _ = match log.format {
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    guard
}
