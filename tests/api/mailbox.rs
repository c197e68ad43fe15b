//! A real SMTP server for the tests (`mailin-embedded`, on a random port): it keeps what it
//! receives so a test can read the messages and follow their links.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::{Handler, Server, SslConfig, response};

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    /// The raw message, with quoted-printable soft breaks undone.
    pub body: String,
}

impl Mail {
    /// The first link in the message that starts with `issuer` + `path`, as a local path.
    pub fn link(&self, issuer: &str, path: &str) -> String {
        let prefix = format!("{issuer}{path}");
        let start = self.body.find(&prefix).unwrap_or_else(|| panic!("no {prefix} link in {}", self.body));
        let end = self.body[start..].find(|c: char| c.is_whitespace() || c == '"' || c == '<').unwrap();
        self.body[start + issuer.len()..start + end].to_string()
    }
}

#[derive(Clone, Default)]
struct Collector {
    received: Arc<Mutex<Vec<Mail>>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Collector {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> response::Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> response::Response {
        let raw = String::from_utf8_lossy(&self.data).to_string();
        let body = raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
        self.received.lock().unwrap().push(Mail { to: self.to.clone(), body });
        response::OK
    }
}

pub struct Mailbox {
    pub port: u16,
    received: Arc<Mutex<Vec<Mail>>>,
}

impl Mailbox {
    pub fn start() -> Mailbox {
        Mailbox::serve(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    /// A server on `port` (one a test kept free so that mail to it failed first).
    pub fn start_on(port: u16) -> Mailbox {
        Mailbox::serve(TcpListener::bind(("127.0.0.1", port)).unwrap())
    }

    fn serve(listener: TcpListener) -> Mailbox {
        let port = listener.local_addr().unwrap().port();
        let collector = Collector::default();
        let received = collector.received.clone();
        let mut server = Server::new(collector);
        server.with_name("mail.test").with_ssl(SslConfig::None).unwrap().with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Mailbox { port, received }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message so far.
    pub fn all(&self) -> Vec<Mail> {
        self.received.lock().unwrap().clone()
    }

    /// The `n`-th message (from 1) to `to`, waiting up to 10 s for it.
    pub async fn nth_to(&self, to: &str, n: usize) -> Mail {
        for _ in 0..200 {
            let found: Vec<Mail> = self.all().into_iter().filter(|m| m.to.iter().any(|t| t == to)).collect();
            if found.len() >= n {
                return found[n - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no message {n} to {to}; received: {:?}", self.all());
    }
}
