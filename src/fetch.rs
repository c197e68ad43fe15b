//! Fetching small JSON documents that clients name by URL: a Client ID Metadata Document
//! (the client id itself), a client's `jwks_uri`. Anyone can make Latchkey fetch such a URL,
//! so the fetch is SSRF-safe:
//! - https only, and redirects only to the same host (at most three);
//! - the host's addresses are checked after resolution, so a name that resolves to a
//!   private, loopback, link-local or otherwise internal address is refused (unless
//!   `clients.metadata_documents.allow_private_addresses`, for tests);
//! - a timeout, and a size limit read as the body arrives;
//! - documents are cached per URL within their `Cache-Control: max-age` (bounded).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use url::Url;

use crate::config::MetadataDocumentSettings;

/// The largest document fetched.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;
const TIMEOUT: Duration = Duration::from_secs(5);
const MAX_CACHED: usize = 1000;
/// Cached at least this long (a flood of requests naming one document fetches it once)…
const MIN_CACHE: Duration = Duration::from_secs(60);
/// …and at most this long, whatever the document's server says.
const MAX_CACHE: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the URL must be https")]
    NotHttps,
    #[error("the host resolves to an address that is not public")]
    PrivateAddress,
    #[error("the document is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
    #[error("the server answered {0}")]
    Status(u16),
    #[error("the document is not JSON")]
    NotJson,
    #[error("the document could not be fetched: {0}")]
    Unreachable(String),
}

/// Whether an address is one the public internet routes to.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => {
            let [a, b, ..] = ip.octets();
            !(ip.is_private()
                || ip.is_loopback()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.is_multicast()
                || ip.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || a >= 240)
        }
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = ip.segments()[0];
            !(ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80) // link-local
        }
    }
}

/// Resolves names and keeps only public addresses: the check happens on the addresses the
/// connection will use, so DNS rebinding cannot slip a private one in after a check.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::task::spawn_blocking(move || (host.as_str(), 0).to_socket_addrs().map(Iterator::collect))
                    .await??;
            let public: Vec<SocketAddr> = addrs.into_iter().filter(|addr| is_public(addr.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(std::io::Error::other("no public address")) as _);
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

struct Cached {
    body: serde_json::Value,
    until: Instant,
}

pub struct Fetcher {
    client: reqwest::Client,
    allow_private_addresses: bool,
    cache: Mutex<HashMap<String, Cached>>,
}

impl Fetcher {
    pub fn new(settings: &MetadataDocumentSettings) -> anyhow::Result<Fetcher> {
        let same_host = reqwest::redirect::Policy::custom(|attempt| {
            let first_host = attempt.previous().first().and_then(|url| url.host_str().map(str::to_string));
            if attempt.previous().len() > 3 || attempt.url().host_str().map(str::to_string) != first_host {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let mut builder =
            reqwest::Client::builder().timeout(TIMEOUT).https_only(true).redirect(same_host).user_agent("Latchkey");
        if !settings.allow_private_addresses {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        if !settings.extra_root_certificates.is_empty() {
            let path = &settings.extra_root_certificates;
            let pem = std::fs::read(path).with_context(|| format!("cannot read {path}"))?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                .with_context(|| format!("clients.metadata_documents.extra_root_certificates: {path}"))?;
            builder = builder.tls_certs_merge(certificates);
        }
        Ok(Fetcher {
            client: builder.build().context("cannot build the metadata HTTP client")?,
            allow_private_addresses: settings.allow_private_addresses,
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The JSON document at `url`, from the cache while its lifetime lasts.
    pub async fn json(&self, url: &str) -> Result<serde_json::Value, FetchError> {
        if let Some(cached) = self.cache().get(url).filter(|c| c.until > Instant::now()) {
            return Ok(cached.body.clone());
        }
        let parsed = Url::parse(url).map_err(|_| FetchError::NotHttps)?;
        if parsed.scheme() != "https" {
            return Err(FetchError::NotHttps);
        }
        // An address literal never reaches the resolver: check it here.
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if literal.is_some_and(|ip| !is_public(ip)) && !self.allow_private_addresses {
            return Err(FetchError::PrivateAddress);
        }
        let mut response = self.client.get(parsed).send().await.map_err(|error| {
            if is_resolver_refusal(&error) {
                FetchError::PrivateAddress
            } else {
                FetchError::Unreachable(error.to_string())
            }
        })?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        if response.content_length().is_some_and(|length| length > MAX_DOCUMENT_BYTES as u64) {
            return Err(FetchError::TooLarge);
        }
        let lifetime = cache_lifetime(response.headers().get(reqwest::header::CACHE_CONTROL));
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| FetchError::Unreachable(e.to_string()))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_DOCUMENT_BYTES {
                return Err(FetchError::TooLarge);
            }
        }
        let document: serde_json::Value = serde_json::from_slice(&body).map_err(|_| FetchError::NotJson)?;
        let mut cache = self.cache();
        if cache.len() >= MAX_CACHED {
            let now = Instant::now();
            cache.retain(|_, cached| cached.until > now);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(url.to_string(), Cached { body: document.clone(), until: Instant::now() + lifetime });
        Ok(document)
    }

    /// Forgets a cached document (its keys rotated, say).
    pub fn forget(&self, url: &str) {
        self.cache().remove(url);
    }
}

fn is_resolver_refusal(error: &reqwest::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(cause) = source {
        if cause.to_string().contains("no public address") {
            return true;
        }
        source = cause.source();
    }
    false
}

/// How long to keep a document: its `max-age` within [`MIN_CACHE`]..[`MAX_CACHE`];
/// `no-store` or `no-cache` still keep it [`MIN_CACHE`], to bound the fetch rate.
fn cache_lifetime(header: Option<&reqwest::header::HeaderValue>) -> Duration {
    let max_age = header
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .split(',')
                .map(str::trim)
                .find_map(|directive| directive.strip_prefix("max-age=")?.parse::<u64>().ok())
        })
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(300));
    max_age.clamp(MIN_CACHE, MAX_CACHE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn cache_lifetimes_are_bounded() {
        let header = |v: &str| reqwest::header::HeaderValue::from_str(v).unwrap();
        assert_eq!(cache_lifetime(Some(&header("public, max-age=600"))), Duration::from_secs(600));
        assert_eq!(cache_lifetime(Some(&header("max-age=1"))), MIN_CACHE);
        assert_eq!(cache_lifetime(Some(&header("max-age=99999999"))), MAX_CACHE);
        assert_eq!(cache_lifetime(None), Duration::from_secs(300));
    }
}
