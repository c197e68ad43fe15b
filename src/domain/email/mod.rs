//! Email: the single-use links Latchkey mails (verification, password reset, invitation,
//! registration), and what following them does; `letters` renders and sends the messages
//! and the security notices, off the request path. Links are stored by the hash of their
//! token, expire, and work once. Without `smtp.url` nothing is mailed: admins get the link
//! to pass on instead, and the pages do not offer what needs mail.

mod letters;

use secrecy::SecretString;

use letters::{Letter, dispatch, render};
pub use letters::{Notice, notify, notify_user};

use super::audit::{self, Actor, AdminAction, AuditEvent, AuditKind};
use super::users::{UserError, find_user, personal_words};
use super::{UnixTime, access_cache, credentials, now, password_policy, random_token, sha256_b64};
use crate::state::AppState;
use crate::store::db::{self, email_links::StoredLink};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Verify,
    Reset,
    Invite,
    /// Verifies the address of a self-registered account, which enables it.
    Register,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Reset => "reset",
            Purpose::Invite => "invite",
            Purpose::Register => "register",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Purpose::Verify => "/email/verify",
            Purpose::Reset => "/password/reset",
            Purpose::Invite => "/invite",
            Purpose::Register => "/email/verify",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("this link is not valid: it was used already, has expired, or was replaced by a newer one")]
    LinkInvalid,
    #[error("the user has no email address")]
    NoAddress,
    #[error("registration is open to addresses at {0} only")]
    DomainNotAllowed(String),
    #[error("{0:?} can sign in already: an invitation is for an account without a password or passkey")]
    AlreadyActive(String),
    #[error(transparent)]
    User(#[from] UserError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// How a link reached its user: mailed, or (without SMTP) handed to the admin to pass on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Mailed,
    Link(String),
}

/// A live link, as its page needs it.
#[derive(Debug, Clone)]
pub struct Link {
    pub user_id: String,
    pub email: String,
    pub request_id: Option<String>,
}

/// Stores a new link for `user_id` (ending the older ones of its purpose) and returns its URL.
async fn issue_link(
    state: &AppState,
    purpose: Purpose,
    user_id: &str,
    email: &str,
    request_id: Option<&str>,
    at: UnixTime,
) -> anyhow::Result<String> {
    db::email_links::spend_all(&state.db, user_id, purpose.as_str(), at).await?;
    let token = random_token(32);
    let link = StoredLink {
        purpose: purpose.as_str().to_string(),
        user_id: user_id.to_string(),
        email: email.to_string(),
        request_id: request_id.map(str::to_string),
        expires_at: at
            + match purpose {
                Purpose::Invite => state.settings.email.invite_ttl_secs,
                _ => state.settings.email.link_ttl_secs,
            } as i64,
    };
    db::email_links::insert(&state.db, &sha256_b64(token.as_bytes()), &link, at).await?;
    Ok(format!("{}{}?token={token}", state.settings.issuer.trim_end_matches('/'), purpose.path()))
}

/// A live link of `purpose`, without spending it (the page that shows its form).
pub async fn live_link(state: &AppState, purpose: Purpose, token: &str) -> Result<Link, EmailError> {
    if token.is_empty() || token.len() > 128 {
        return Err(EmailError::LinkInvalid);
    }
    let hash = sha256_b64(token.as_bytes());
    match db::email_links::find_live(&state.db, &hash, purpose.as_str(), now()).await? {
        Some(link) => Ok(Link { user_id: link.user_id, email: link.email, request_id: link.request_id }),
        None => Err(EmailError::LinkInvalid),
    }
}

/// Spends a link: only one caller gets it.
async fn spend_link(state: &AppState, purpose: Purpose, token: &str) -> Result<Link, EmailError> {
    let link = live_link(state, purpose, token).await?;
    if !db::email_links::spend(&state.db, &sha256_b64(token.as_bytes()), purpose.as_str(), now()).await? {
        return Err(EmailError::LinkInvalid);
    }
    Ok(link)
}

/// Sends `user_id` a link to verify their address (an admin's action, or the user's own).
/// Without SMTP, the link comes back for the admin to pass on.
pub async fn send_verification(state: &AppState, actor: &Actor, user_id: &str) -> Result<Delivery, EmailError> {
    let user = find_user(&state.db, user_id).await?;
    let own = matches!(actor, Actor::User { user_id: id, .. } if *id == user.id);
    if !own && !actor.is_admin() {
        return Err(UserError::Forbidden.into());
    }
    let email = user.email.clone().ok_or(EmailError::NoAddress)?;
    let at = now();
    let url = issue_link(state, Purpose::Verify, &user.id, &email, None, at).await?;
    if actor.is_admin() {
        audit::record_admin(&state.db, actor, AdminAction::SendVerification, Some(&user.id), None, at).await;
    }
    if state.mailer.is_none() {
        return Ok(Delivery::Link(url));
    }
    let letter = Letter {
        subject: "Verify your email address".into(),
        paragraphs: vec![
            format!("Hello {}, please confirm that {email} is your address.", user.username),
            "If you did not expect this, ignore this message.".into(),
        ],
        link: Some(url),
        link_text: "Verify my address",
    };
    dispatch(state, &user.id, "verify", render(state, &email, &letter)?);
    Ok(Delivery::Mailed)
}

/// Which kind of verification link `token` is (a plain one, or a registration's).
pub async fn verification_purpose(state: &AppState, token: &str) -> Result<Purpose, EmailError> {
    match live_link(state, Purpose::Verify, token).await {
        Err(EmailError::LinkInvalid) => live_link(state, Purpose::Register, token).await.map(|_| Purpose::Register),
        other => other.map(|_| Purpose::Verify),
    }
}

/// The user followed a verification link: their address is verified, if it is still the
/// one the link was sent to; a self-registered account is enabled by it.
pub async fn verify(state: &AppState, token: &str) -> Result<String, EmailError> {
    let purpose = verification_purpose(state, token).await?;
    let link = spend_link(state, purpose, token).await?;
    let user = find_user(&state.db, &link.user_id).await?;
    let current = user.email.as_deref().map(db::users::email_key);
    if current.as_deref() != Some(db::users::email_key(&link.email).as_str()) {
        // A change the user asked for on /account takes effect now.
        let change = super::model::UserChange { email: Some(Some(link.email.clone())), ..Default::default() };
        db::users::update(&state.db, &user.id, &change, now()).await?;
    }
    if !db::users::set_email_verified(&state.db, &link.user_id, &link.email, true).await? {
        return Err(EmailError::LinkInvalid);
    }
    if purpose == Purpose::Register {
        let change = super::model::UserChange { disabled: Some(false), ..Default::default() };
        db::users::update(&state.db, &link.user_id, &change, now()).await?;
        let event = AuditEvent::new(AuditKind::Registered, now()).subject(&link.user_id);
        audit::record(&state.db, event).await;
    }
    access_cache::user_changed(state, &link.user_id).await.map_err(anyhow::Error::from)?;
    let event = AuditEvent::new(AuditKind::EmailVerified, now()).subject(&link.user_id);
    audit::record(&state.db, event).await;
    Ok(link.email)
}

/// The user asks to change their address to `new_email` on /account: a verification link
/// goes to the new address, and the change takes effect only when it is followed; the old
/// address (if any) is told.
pub async fn request_email_change(
    state: &AppState,
    user: &super::model::User,
    new_email: &str,
) -> Result<(), EmailError> {
    let new_email = super::users::Email::parse(new_email)?.as_str().to_string();
    let at = now();
    let url = issue_link(state, Purpose::Verify, &user.id, &new_email, None, at).await?;
    let letter = Letter {
        subject: "Confirm your new email address".into(),
        paragraphs: vec![
            format!("Hello {}, confirm {new_email} as the address of your account.", user.username),
            "Until you do, your account keeps its old address.".into(),
        ],
        link: Some(url),
        link_text: "Confirm my new address",
    };
    dispatch(state, &user.id, "verify", render(state, &new_email, &letter)?);
    if let Some(old) = user.email.as_deref().filter(|old| !old.eq_ignore_ascii_case(&new_email)) {
        let notice = Letter {
            subject: "Your email address is being changed".into(),
            paragraphs: vec![
                format!("Hello {}, someone asked to change the address of your account to {new_email}.", user.username),
                "If it was not you, reset your password and tell your administrator.".into(),
            ],
            link: Some(format!("{}/account", state.settings.issuer.trim_end_matches('/'))),
            link_text: "Review your account",
        };
        dispatch(state, &user.id, "notice_email_change", render(state, old, &notice)?);
    }
    Ok(())
}

/// An admin vouches for a user's address.
pub async fn mark_verified(state: &AppState, actor: &Actor, user_id: &str) -> Result<(), EmailError> {
    if !actor.is_admin() {
        return Err(UserError::Forbidden.into());
    }
    let user = find_user(&state.db, user_id).await?;
    let email = user.email.ok_or(EmailError::NoAddress)?;
    db::users::set_email_verified(&state.db, &user.id, &email, true).await?;
    access_cache::user_changed(state, &user.id).await.map_err(anyhow::Error::from)?;
    audit::record_admin(&state.db, actor, AdminAction::MarkEmailVerified, Some(&user.id), None, now()).await;
    Ok(())
}

/// "Forgot your password?": mails a reset link to the account `identifier` names (a
/// username or an email address), if there is one with an address, at most
/// `email.resets_per_account_per_hour` times. The caller answers the same way whatever
/// happened here, so nobody learns whether an account exists.
pub async fn request_password_reset(
    state: &AppState,
    identifier: &str,
    request_id: Option<&str>,
    source_ip: Option<String>,
) -> anyhow::Result<()> {
    if state.mailer.is_none() {
        return Ok(());
    }
    let identifier = identifier.trim();
    if identifier.is_empty() || identifier.len() > 320 {
        return Ok(());
    }
    let mut users = db::users::find_by_email_key(&state.db, &db::users::email_key(identifier)).await?;
    if users.is_empty()
        && let Ok(username) = super::users::Username::parse(identifier)
        && let Some((user, _)) = db::users::find_by_username_key(&state.db, &username.key()).await?
    {
        users.push(user);
    }
    for user in users.into_iter().filter(|user| !user.disabled) {
        let Some(email) = user.email.clone() else { continue };
        let sent = state
            .ephemeral
            .increment(&format!("reset-mails:{}", user.id), std::time::Duration::from_secs(3600))
            .await?;
        if sent > state.settings.email.resets_per_account_per_hour {
            tracing::warn!(user_id = %user.id, "password-reset mails for this account are rate-limited");
            continue;
        }
        let at = now();
        let url = issue_link(state, Purpose::Reset, &user.id, &email, request_id, at).await?;
        let event =
            AuditEvent::new(AuditKind::PasswordResetRequested, at).subject(&user.id).source_ip(source_ip.clone());
        audit::record(&state.db, event).await;
        let letter = Letter {
            subject: "Reset your password".into(),
            paragraphs: vec![
                format!("Someone asked to reset the password of {}. If it was you, choose a new one.", user.username),
                "If it was not you, ignore this message: your password stays as it is.".into(),
            ],
            link: Some(url),
            link_text: "Choose a new password",
        };
        dispatch(state, &user.id, "reset", render(state, &email, &letter)?);
    }
    Ok(())
}

/// Sets a new password through a reset link. Like a password change, it ends every
/// session and grant; following the link also proves the address. Returns the user and
/// the authorization request the reset started from, if any.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    new: &SecretString,
    source_ip: Option<String>,
) -> Result<(super::model::User, Option<String>), EmailError> {
    let link = live_link(state, Purpose::Reset, token).await?;
    let user = find_user(&state.db, &link.user_id).await?;
    if user.disabled {
        return Err(EmailError::LinkInvalid);
    }
    password_policy::check(&state.settings.passwords, new, &personal_words(&user)).map_err(UserError::from)?;
    let hash = state.passwords.hash(new).await?;
    let link = spend_link(state, Purpose::Reset, token).await?;
    let at = now();
    db::users::set_password_hash(&state.db, &user.id, &hash, false, at).await?;
    db::users::set_email_verified(&state.db, &user.id, &link.email, true).await?;
    credentials::revoke_access(state, &user.id, None, at).await?;
    access_cache::user_changed(state, &user.id).await.map_err(anyhow::Error::from)?;
    let event = AuditEvent::new(AuditKind::PasswordReset, at).subject(&user.id).source_ip(source_ip);
    audit::record(&state.db, event).await;
    let user = find_user(&state.db, &user.id).await?;
    notify(state, &user, Notice::PasswordChanged).await;
    Ok((user, link.request_id))
}

/// Invites `username` (created with `email` if missing, with no password): they choose
/// a password or a passkey through the link. An existing user who can sign in already is
/// refused; one who has not accepted yet gets a new link (the old one stops working).
pub async fn invite(
    state: &AppState,
    actor: &Actor,
    username: &str,
    email: &str,
) -> Result<(super::model::User, Delivery), EmailError> {
    if !actor.is_admin() {
        return Err(UserError::Forbidden.into());
    }
    let user = match super::users::find_by_username(&state.db, username).await {
        Ok(user) => {
            let has_password = db::users::password_hash(&state.db, &user.id).await?.is_some();
            if has_password || !db::passkeys::list_for_user(&state.db, &user.id).await?.is_empty() {
                return Err(EmailError::AlreadyActive(user.username));
            }
            user
        }
        Err(UserError::NotFound(_)) => super::users::add_invited_user(state, actor, username, email).await?,
        Err(error) => return Err(error.into()),
    };
    let address = user.email.clone().ok_or(EmailError::NoAddress)?;
    let at = now();
    let url = issue_link(state, Purpose::Invite, &user.id, &address, None, at).await?;
    audit::record_admin(&state.db, actor, AdminAction::InviteUser, Some(&user.id), None, at).await;
    if state.mailer.is_none() {
        return Ok((user, Delivery::Link(url)));
    }
    let days = state.settings.email.invite_ttl_secs.div_ceil(86_400);
    let letter = Letter {
        subject: "You are invited".into(),
        paragraphs: vec![
            format!("Hello {}, an administrator created an account for you.", user.username),
            format!("Choose a password or add a passkey to start using it. The link works once, for {days} days."),
        ],
        link: Some(url),
        link_text: "Set up my account",
    };
    dispatch(state, &user.id, "invite", render(state, &address, &letter)?);
    Ok((user, Delivery::Mailed))
}

/// An invitation link for the first admin made by `/setup`, handed straight to the browser
/// (never mailed; it proves no address).
pub(crate) async fn setup_invitation(state: &AppState, user_id: &str) -> anyhow::Result<String> {
    issue_link(state, Purpose::Invite, user_id, "", None, now()).await
}

/// Accepts an invitation with a password (under the password policy); the link also
/// proves the address. Returns the user, to sign in.
pub async fn accept_invite_with_password(
    state: &AppState,
    token: &str,
    password: &SecretString,
) -> Result<super::model::User, EmailError> {
    let link = live_link(state, Purpose::Invite, token).await?;
    let user = find_user(&state.db, &link.user_id).await?;
    password_policy::check(&state.settings.passwords, password, &personal_words(&user)).map_err(UserError::from)?;
    let hash = state.passwords.hash(password).await?;
    let link = spend_link(state, Purpose::Invite, token).await?;
    db::users::set_password_hash(&state.db, &user.id, &hash, false, now()).await?;
    accepted(state, &link).await
}

/// The invitation's user, for registering a passkey with it (the link stays live until
/// [`accept_invite_with_passkey`]).
pub async fn invited_user(state: &AppState, token: &str) -> Result<super::model::User, EmailError> {
    let link = live_link(state, Purpose::Invite, token).await?;
    Ok(find_user(&state.db, &link.user_id).await?)
}

/// Spends the invitation once its passkey is registered.
pub async fn accept_invite_with_passkey(state: &AppState, token: &str) -> Result<super::model::User, EmailError> {
    let link = spend_link(state, Purpose::Invite, token).await?;
    accepted(state, &link).await
}

async fn accepted(state: &AppState, link: &Link) -> Result<super::model::User, EmailError> {
    db::users::set_email_verified(&state.db, &link.user_id, &link.email, true).await?;
    access_cache::user_changed(state, &link.user_id).await.map_err(anyhow::Error::from)?;
    let event = AuditEvent::new(AuditKind::InvitationAccepted, now()).subject(&link.user_id);
    audit::record(&state.db, event).await;
    Ok(find_user(&state.db, &link.user_id).await?)
}

/// The hash an invitation's passkey ceremony is bound to (in place of a browser session).
pub fn invite_binding(token: &str) -> String {
    format!("invite:{}", sha256_b64(token.as_bytes()))
}

/// Self-registration: creates a disabled account and mails the link that verifies its
/// address and enables it. A taken username or address gets the same answer as a new one
/// (nothing is created or sent); only input errors and a refused domain are reported.
pub async fn register(
    state: &AppState,
    username: &str,
    email: &str,
    password: &SecretString,
    source_ip: Option<String>,
) -> Result<(), EmailError> {
    let allowed = &state.settings.registration.allowed_email_domains;
    let domain = email.trim().rsplit_once('@').map(|(_, domain)| domain.to_lowercase()).unwrap_or_default();
    if !allowed.is_empty() && !allowed.iter().any(|d| d.trim_start_matches('@').eq_ignore_ascii_case(&domain)) {
        return Err(EmailError::DomainNotAllowed(allowed.join(", ")));
    }
    let Some(user) = super::users::add_self_registered(state, username, email, password).await? else {
        tracing::info!("a registration named a taken username or address; nothing was created");
        return Ok(());
    };
    let address = user.email.clone().ok_or(EmailError::NoAddress)?;
    let at = now();
    let url = issue_link(state, Purpose::Register, &user.id, &address, None, at).await?;
    let event = AuditEvent::new(AuditKind::RegistrationStarted, at).subject(&user.id).source_ip(source_ip);
    audit::record(&state.db, event).await;
    let letter = Letter {
        subject: "Confirm your new account".into(),
        paragraphs: vec![
            format!("Hello {}, confirm that {address} is your address to start using your account.", user.username),
            "If you did not sign up, ignore this message: the account stays unusable.".into(),
        ],
        link: Some(url),
        link_text: "Confirm my account",
    };
    dispatch(state, &user.id, "register", render(state, &address, &letter)?);
    Ok(())
}
