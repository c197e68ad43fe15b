//! The messages Latchkey mails: a letter rendered into a plain-text and an HTML part
//! (`templates/email/`), handed to the mailer in the background; and the security notices.

use askama::Template;
use serde_json::json;

use super::super::audit::{self, AuditEvent, AuditKind};
use super::super::model::User;
use super::super::now;
use crate::mail::Message;
use crate::state::AppState;
use crate::store::db;

#[derive(Template)]
#[template(path = "email/message.txt")]
struct TextPart<'a> {
    site: &'a str,
    heading: &'a str,
    paragraphs: &'a [String],
    link: Option<&'a str>,
    link_text: &'a str,
}

#[derive(Template)]
#[template(path = "email/message.html")]
struct HtmlPart<'a> {
    site: &'a str,
    /// The button's colour (`ui.accent_color`).
    accent: &'a str,
    heading: &'a str,
    paragraphs: &'a [String],
    link: Option<&'a str>,
    link_text: &'a str,
}

/// What a message says, before it is rendered into its two parts.
pub(super) struct Letter {
    pub subject: String,
    pub paragraphs: Vec<String>,
    pub link: Option<String>,
    pub link_text: &'static str,
}

/// The site a message names: the issuer's host, after `ui.site_name` when one is set.
fn site(state: &AppState) -> String {
    let host = url::Url::parse(&state.settings.issuer)
        .ok()
        .and_then(|url| url.host_str().map(str::to_string))
        .unwrap_or_else(|| state.settings.issuer.clone());
    match state.settings.ui.site_name.trim() {
        "Latchkey" => host,
        name => format!("{name} ({host})"),
    }
}

pub(super) fn render(state: &AppState, to: &str, letter: &Letter) -> anyhow::Result<Message> {
    let site = site(state);
    let heading = letter.subject.as_str();
    let link = letter.link.as_deref();
    let (paragraphs, link_text) = (letter.paragraphs.as_slice(), letter.link_text);
    let text = TextPart { site: &site, heading, paragraphs, link, link_text }.render()?;
    let accent = match state.settings.ui.accent_color.as_str() {
        "" => "#1f6feb",
        color => color,
    };
    let html = HtmlPart { site: &site, accent, heading, paragraphs, link, link_text }.render()?;
    Ok(Message { to: to.to_string(), subject: format!("{} · {site}", letter.subject), text, html })
}

/// Hands a message to the mailer in the background: the request does not wait for SMTP,
/// and whether it was delivered is audited (`mail_sent` or `mail_failed`, with its kind
/// but never its link).
pub(super) fn dispatch(state: &AppState, user_id: &str, kind: &'static str, message: Message) {
    let Some(mailer) = state.mailer.clone() else { return };
    let (db, user_id) = (state.db.clone(), user_id.to_string());
    let in_flight = mailer.track();
    tokio::spawn(async move {
        let _in_flight = in_flight;
        let (audit_kind, details) = match mailer.send(&message).await {
            Ok(()) => (AuditKind::MailSent, json!({ "kind": kind })),
            Err(error) => {
                tracing::error!(kind, %user_id, error = %format!("{error:#}"), "mail not delivered");
                (AuditKind::MailFailed, json!({ "kind": kind, "error": format!("{error:#}") }))
            }
        };
        audit::record(&db, AuditEvent::new(audit_kind, now()).subject(&user_id).details(details)).await;
    });
}

/// A security notice, mailed to the user's verified address when it is turned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    PasswordChanged,
    FactorAdded,
    FactorRemoved,
    AccountLocked,
}

/// [`notify`] the user with this id (a lookup failure is logged: a notice is best effort).
pub async fn notify_user(state: &AppState, user_id: &str, notice: Notice) {
    match db::users::find_by_id(&state.db, user_id).await {
        Ok(Some(user)) => notify(state, &user, notice).await,
        Ok(None) => {}
        Err(error) => tracing::error!(error = %format!("{error:#}"), "cannot look up the user to notify"),
    }
}

pub async fn notify(state: &AppState, user: &User, notice: Notice) {
    let notices = &state.settings.email.notices;
    let on = match notice {
        Notice::PasswordChanged => notices.password_changed,
        Notice::FactorAdded | Notice::FactorRemoved => notices.factor_changed,
        Notice::AccountLocked => notices.account_locked,
    };
    let Some(email) = user.email.as_deref().filter(|_| on && user.email_verified && state.mailer.is_some()) else {
        return;
    };
    let (kind, subject, what) = match notice {
        Notice::PasswordChanged => {
            ("notice_password_changed", "Your password was changed", "Your password was changed.")
        }
        Notice::FactorAdded => (
            "notice_factor_added",
            "A sign-in method was added",
            "A passkey or authenticator app was added to your account.",
        ),
        Notice::FactorRemoved => (
            "notice_factor_removed",
            "A sign-in method was removed",
            "A passkey or authenticator app was removed from your account.",
        ),
        Notice::AccountLocked => (
            "notice_account_locked",
            "Your account was locked",
            "Your account was locked for a while after several wrong sign-in attempts.",
        ),
    };
    let letter = Letter {
        subject: subject.into(),
        paragraphs: vec![
            format!("Hello {}. {what}", user.username),
            "If this was you, there is nothing to do. If not, reset your password and tell your administrator.".into(),
        ],
        link: Some(format!("{}/account", state.settings.issuer.trim_end_matches('/'))),
        link_text: "Review your account",
    };
    match render(state, email, &letter) {
        Ok(message) => dispatch(state, &user.id, kind, message),
        Err(error) => tracing::error!(error = %format!("{error:#}"), "cannot render a notice"),
    }
}
