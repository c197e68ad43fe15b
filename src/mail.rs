//! Outgoing mail over SMTP (`lettre`): a message with a plain-text and an HTML part,
//! delivered with a bounded number of attempts. What to send, and when, is the domain's
//! (`domain::email`); this is only the transport.

use std::time::Duration;

use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::SmtpSettings;

/// One message, rendered.
#[derive(Debug, Clone)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    max_attempts: u32,
    retry_delay: Duration,
    /// Messages still being delivered, so a short-lived process (the CLI) can wait for them.
    in_flight: std::sync::Arc<tokio::sync::watch::Sender<usize>>,
}

/// Counts one message as in flight until dropped.
pub struct InFlight(std::sync::Arc<tokio::sync::watch::Sender<usize>>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|count| *count -= 1);
    }
}

impl Mailer {
    /// The mailer `smtp` describes; `None` when no `smtp.url` is set.
    pub fn from_settings(smtp: &SmtpSettings) -> anyhow::Result<Option<Mailer>> {
        if !smtp.enabled() {
            return Ok(None);
        }
        let from: Mailbox =
            smtp.from.parse().with_context(|| format!("smtp.from {:?} is not an address", smtp.from))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp.url.trim())
            .with_context(|| "smtp.url is not an smtp:// or smtps:// URL".to_string())?
            .timeout(Some(Duration::from_secs(smtp.timeout_secs.max(1))));
        if !smtp.username.is_empty() {
            builder = builder.credentials(Credentials::new(smtp.username.clone(), password(smtp)?));
        }
        Ok(Some(Mailer {
            transport: builder.build(),
            from,
            max_attempts: smtp.max_attempts.max(1),
            retry_delay: Duration::from_millis(smtp.retry_delay_ms),
            in_flight: std::sync::Arc::new(tokio::sync::watch::channel(0).0),
        }))
    }

    /// Marks a message in flight (see [`Mailer::idle`]).
    pub fn track(&self) -> InFlight {
        self.in_flight.send_modify(|count| *count += 1);
        InFlight(self.in_flight.clone())
    }

    /// Waits until no message is in flight.
    pub async fn idle(&self) {
        let mut count = self.in_flight.subscribe();
        let _ = count.wait_for(|count| *count == 0).await;
    }

    /// Sends `message`, trying up to `smtp.max_attempts` times with growing waits; the
    /// last error if every attempt failed.
    pub async fn send(&self, message: &Message) -> anyhow::Result<()> {
        let email = self.build(message)?;
        let mut wait = self.retry_delay;
        let mut attempt = 1;
        loop {
            match self.transport.send(email.clone()).await {
                Ok(_) => return Ok(()),
                Err(error) if attempt >= self.max_attempts => {
                    return Err(anyhow::anyhow!("{error}")).context(format!("gave up after {attempt} attempts"));
                }
                Err(error) => {
                    tracing::warn!(attempt, error = %error, "mail delivery failed; trying again");
                    tokio::time::sleep(wait).await;
                    wait *= 4;
                    attempt += 1;
                }
            }
        }
    }

    fn build(&self, message: &Message) -> anyhow::Result<lettre::Message> {
        let to: Mailbox = message.to.parse().with_context(|| "the recipient is not an address".to_string())?;
        lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&message.subject)
            .multipart(MultiPart::alternative_plain_html(message.text.clone(), message.html.clone()))
            .context("cannot build the message")
    }
}

/// The SMTP password: `smtp.password_file`, else `LATCHKEY_SMTP_PASSWORD`.
fn password(smtp: &SmtpSettings) -> anyhow::Result<String> {
    if !smtp.password_file.is_empty() {
        let text = std::fs::read_to_string(&smtp.password_file)
            .with_context(|| format!("cannot read smtp.password_file {}", smtp.password_file))?;
        return Ok(text.trim_end_matches(['\r', '\n']).to_string());
    }
    std::env::var("LATCHKEY_SMTP_PASSWORD")
        .context("smtp.username is set: give its password in smtp.password_file or LATCHKEY_SMTP_PASSWORD")
}
