//! The identity-provider rules. Nothing here names actix; storage goes through
//! `crate::store`, which in turn knows only the plain records of [`model`].
//!
//! Every operation that changes state takes an [`audit::Actor`], checks its own rules and
//! records its own [`audit::AuditKind`]: the console, the admin API, the CLI and bootstrap
//! are thin callers of the same functions.

pub mod access_cache;
pub mod account;
pub mod assurance;
pub mod audit;
pub mod authorization;
pub mod backchannel;
pub mod bootstrap;
pub mod claims;
pub mod client_assertion;
pub mod clients;
pub mod consents;
pub mod credentials;
pub mod dashboard;
pub mod device;
pub mod dpop;
pub mod email;
pub mod grants;
pub mod groups;
pub mod keys;
pub mod login;
pub mod metadata_documents;
pub mod mfa;
pub mod model;
pub mod passkeys;
pub mod password_policy;
pub mod passwords;
pub mod rate_limits;
pub mod registration;
pub mod resources;
pub mod sessions;
pub mod setup;
pub mod tokens;
pub mod upstream;
pub mod user_search;
pub mod users;

pub use model::UnixTime;

pub use crate::store::is_outage;

/// The current time, read in one place so that tests can pass their own `now` further down.
pub fn now() -> UnixTime {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Formats a Unix time as RFC 3339 for people (CLI listings, pages).
pub fn format_time(at: UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| at.to_string())
}

/// How long ago `at` was, roughly, for people: "just now", "5 minutes ago", "3 days ago".
pub fn approximate_age(at: UnixTime, now: UnixTime) -> String {
    let plural = |n: i64, unit: &str| if n == 1 { format!("1 {unit} ago") } else { format!("{n} {unit}s ago") };
    match (now - at).max(0) {
        0..60 => "just now".into(),
        secs @ 60..3600 => plural(secs / 60, "minute"),
        secs @ 3600..86_400 => plural(secs / 3600, "hour"),
        secs => plural(secs / 86_400, "day"),
    }
}

/// `len` random bytes from the operating system's CSPRNG, base64url without padding.
pub fn random_token(len: usize) -> String {
    use base64::Engine;
    let mut bytes = vec![0u8; len];
    rand::fill(&mut bytes[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256, base64url without padding: how high-entropy secrets (client secrets, refresh
/// tokens) are stored. They need no slow hash: 256 random bits cannot be guessed.
pub fn sha256_b64(data: &[u8]) -> String {
    use base64::Engine;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// Compares two byte strings in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}
