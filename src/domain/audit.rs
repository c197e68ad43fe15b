//! The audit log: who did what, when, from where. Every state-changing operation takes an
//! [`Actor`] and records a typed [`AuditKind`], so the console, the admin API, the CLI and
//! bootstrap write the same event for the same action. Writing an event never fails the
//! action it records; a failure to write is logged.

use serde_json::{Value, json};

use super::UnixTime;
pub use super::model::{AuditEvent, AuditFilter};
use crate::store::db::{self, Db};

/// Who performs an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An admin user, through the console or the admin API.
    Admin { user_id: String, source_ip: Option<String> },
    /// A client acting for itself with an `admin`-scope token (client credentials).
    AdminClient { client_id: String, source_ip: Option<String> },
    /// A user acting on their own account.
    User { user_id: String, source_ip: Option<String> },
    /// An operator at the command line.
    Cli,
    /// The declarative bootstrap file, applied at start.
    Bootstrap,
}

impl Actor {
    /// Whether this actor may perform admin operations. Admin users and admin clients are
    /// checked when the actor is made (session or token); the CLI and bootstrap run with
    /// the operator's access to the deployment.
    pub fn is_admin(&self) -> bool {
        !matches!(self, Actor::User { .. })
    }

    pub fn user_id(&self) -> Option<&str> {
        match self {
            Actor::Admin { user_id, .. } | Actor::User { user_id, .. } => Some(user_id),
            _ => None,
        }
    }

    pub fn source_ip(&self) -> Option<&str> {
        match self {
            Actor::Admin { source_ip, .. } | Actor::AdminClient { source_ip, .. } | Actor::User { source_ip, .. } => {
                source_ip.as_deref()
            }
            Actor::Cli | Actor::Bootstrap => None,
        }
    }
}

/// What happened. Stored as the event's `event_type`; admin operations are all stored as
/// `admin_action` with the operation's name in `details.action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    SignIn,
    SignInFailed,
    AccountLocked,
    TokenRefused,
    RefreshTokenReuse,
    PasskeyRegistered,
    /// A user deleted one of their own passkeys (an admin's deletion is `DeletePasskey`).
    PasskeyDeleted,
    PasskeyCounterRegression,
    /// A user changed their own password (an admin's reset is `SetPassword`).
    PasswordChanged,
    /// A client's access policy refused a user (at sign-in or at refresh).
    AccessDenied,
    /// A user set up an authenticator app (TOTP).
    MfaEnrolled,
    /// A user signed in with one of their recovery codes.
    RecoveryCodeUsed,
    /// A user replaced their recovery codes.
    RecoveryCodesRegenerated,
    /// A user turned their authenticator app off (an admin's reset is `ResetMfa`).
    MfaRemoved,
    /// A mail was handed to the SMTP server (its kind; never its link).
    MailSent,
    /// A mail could not be delivered after every attempt.
    MailFailed,
    /// A user followed a verification link.
    EmailVerified,
    /// Someone asked for a password-reset link for an existing account.
    PasswordResetRequested,
    /// A user set a new password through a reset link.
    PasswordReset,
    /// An invited user chose a password or a passkey.
    InvitationAccepted,
    /// Someone registered an account (not usable until its address is verified).
    RegistrationStarted,
    /// A self-registered account's address was verified: the account works.
    Registered,
    /// A client registered itself (RFC 7591), or read, changed or deleted its registration
    /// (RFC 7592).
    ClientRegistered,
    ClientRegistrationUpdated,
    ClientRegistrationDeleted,
    /// A user signed out one of their own sessions from `/account` (or all the others).
    SessionEnded,
    /// A user removed a connected app's access: its consent and grants.
    AppAccessRemoved,
    /// A user changed their own name.
    ProfileUpdated,
    /// The first admin was created through the one-time `/setup` link.
    SetupCompleted,
    /// An upstream account was linked to a user: explicitly, by a verified email, or at
    /// the user's creation (`details.how`).
    UpstreamLinked,
    /// A user removed the link to an upstream account.
    UpstreamUnlinked,
    /// A sign-in through an upstream failed: it did not answer, answered an error, or its
    /// answer did not verify (`details.reason`).
    UpstreamSignInFailed,
    /// An upstream sign-in changed the user's membership of mapped groups.
    UpstreamGroupsSynced,
    Admin(AdminAction),
}

/// An operation on users, clients or keys performed by an admin, the CLI or bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    CreateUser,
    UpdateUser,
    DisableUser,
    EnableUser,
    DeleteUser,
    SetPassword,
    UnlockUser,
    EndSession,
    DeletePasskey,
    EndGrant,
    CreateClient,
    UpdateClient,
    DeleteClient,
    RotateClientSecret,
    SetClientSecret,
    RotateKeys,
    RevokeKey,
    CreateGroup,
    UpdateGroup,
    DeleteGroup,
    AddGroupMember,
    RemoveGroupMember,
    SetClientPolicy,
    SetUserAttributes,
    ResetMfa,
    SendVerification,
    MarkEmailVerified,
    InviteUser,
    CreateApi,
    UpdateApi,
    DeleteApi,
    IssueInitialAccessToken,
    CreateUpstream,
    UpdateUpstream,
    DeleteUpstream,
}

impl AdminAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminAction::CreateUser => "create_user",
            AdminAction::UpdateUser => "update_user",
            AdminAction::DisableUser => "disable_user",
            AdminAction::EnableUser => "enable_user",
            AdminAction::DeleteUser => "delete_user",
            AdminAction::SetPassword => "set_password",
            AdminAction::UnlockUser => "unlock_user",
            AdminAction::EndSession => "end_session",
            AdminAction::DeletePasskey => "delete_passkey",
            AdminAction::EndGrant => "end_grant",
            AdminAction::CreateClient => "create_client",
            AdminAction::UpdateClient => "update_client",
            AdminAction::DeleteClient => "delete_client",
            AdminAction::RotateClientSecret => "rotate_client_secret",
            AdminAction::SetClientSecret => "set_client_secret",
            AdminAction::RotateKeys => "rotate_keys",
            AdminAction::RevokeKey => "revoke_key",
            AdminAction::CreateGroup => "create_group",
            AdminAction::UpdateGroup => "update_group",
            AdminAction::DeleteGroup => "delete_group",
            AdminAction::AddGroupMember => "add_group_member",
            AdminAction::RemoveGroupMember => "remove_group_member",
            AdminAction::SetClientPolicy => "set_client_policy",
            AdminAction::SetUserAttributes => "set_user_attributes",
            AdminAction::ResetMfa => "reset_mfa",
            AdminAction::SendVerification => "send_verification",
            AdminAction::MarkEmailVerified => "mark_email_verified",
            AdminAction::InviteUser => "invite_user",
            AdminAction::CreateApi => "create_api",
            AdminAction::UpdateApi => "update_api",
            AdminAction::DeleteApi => "delete_api",
            AdminAction::IssueInitialAccessToken => "issue_initial_access_token",
            AdminAction::CreateUpstream => "create_upstream",
            AdminAction::UpdateUpstream => "update_upstream",
            AdminAction::DeleteUpstream => "delete_upstream",
        }
    }
}

impl AuditKind {
    /// The stored `event_type`.
    pub fn event_type(self) -> &'static str {
        match self {
            AuditKind::SignIn => "sign_in",
            AuditKind::SignInFailed => "sign_in_failed",
            AuditKind::AccountLocked => "account_locked",
            AuditKind::TokenRefused => "token_refused",
            AuditKind::RefreshTokenReuse => "refresh_token_reuse",
            AuditKind::PasskeyRegistered => "passkey_registered",
            AuditKind::PasskeyDeleted => "passkey_deleted",
            AuditKind::PasskeyCounterRegression => "passkey_counter_regression",
            AuditKind::PasswordChanged => "password_changed",
            AuditKind::AccessDenied => "access_denied",
            AuditKind::MfaEnrolled => "mfa_enrolled",
            AuditKind::RecoveryCodeUsed => "recovery_code_used",
            AuditKind::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            AuditKind::MfaRemoved => "mfa_removed",
            AuditKind::MailSent => "mail_sent",
            AuditKind::MailFailed => "mail_failed",
            AuditKind::EmailVerified => "email_verified",
            AuditKind::PasswordResetRequested => "password_reset_requested",
            AuditKind::PasswordReset => "password_reset",
            AuditKind::InvitationAccepted => "invitation_accepted",
            AuditKind::RegistrationStarted => "registration_started",
            AuditKind::Registered => "registered",
            AuditKind::ClientRegistered => "client_registered",
            AuditKind::ClientRegistrationUpdated => "client_registration_updated",
            AuditKind::ClientRegistrationDeleted => "client_registration_deleted",
            AuditKind::SessionEnded => "session_ended",
            AuditKind::AppAccessRemoved => "app_access_removed",
            AuditKind::ProfileUpdated => "profile_updated",
            AuditKind::SetupCompleted => "setup_completed",
            AuditKind::UpstreamLinked => "upstream_linked",
            AuditKind::UpstreamUnlinked => "upstream_unlinked",
            AuditKind::UpstreamSignInFailed => "upstream_sign_in_failed",
            AuditKind::UpstreamGroupsSynced => "upstream_groups_synced",
            AuditKind::Admin(_) => "admin_action",
        }
    }

    /// Every stored `event_type`, for the audit page's filter.
    pub const EVENT_TYPES: &'static [&'static str] = &[
        "sign_in",
        "sign_in_failed",
        "account_locked",
        "token_refused",
        "refresh_token_reuse",
        "access_denied",
        "passkey_registered",
        "passkey_deleted",
        "passkey_counter_regression",
        "password_changed",
        "password_reset_requested",
        "password_reset",
        "mfa_enrolled",
        "mfa_removed",
        "recovery_code_used",
        "recovery_codes_regenerated",
        "mail_sent",
        "mail_failed",
        "email_verified",
        "invitation_accepted",
        "registration_started",
        "registered",
        "client_registered",
        "client_registration_updated",
        "client_registration_deleted",
        "session_ended",
        "app_access_removed",
        "profile_updated",
        "setup_completed",
        "upstream_linked",
        "upstream_unlinked",
        "upstream_sign_in_failed",
        "upstream_groups_synced",
        "admin_action",
    ];
}

impl AuditEvent {
    /// A new event of `kind` at `at`, with no actor, subject or client yet.
    pub fn new(kind: AuditKind, at: UnixTime) -> AuditEvent {
        let details = match kind {
            AuditKind::Admin(action) => json!({ "action": action.as_str() }),
            _ => Value::Object(Default::default()),
        };
        AuditEvent {
            occurred_at: at,
            event_type: kind.event_type().to_string(),
            actor_user_id: None,
            subject_user_id: None,
            client_id: None,
            source_ip: None,
            details,
        }
    }

    /// Who did it: the acting user, the source address, and for admin clients and the
    /// system actors a `by_client` / `by` detail.
    pub fn by(mut self, actor: &Actor) -> AuditEvent {
        self.actor_user_id = actor.user_id().map(str::to_string);
        self.source_ip = actor.source_ip().map(str::to_string);
        match actor {
            Actor::AdminClient { client_id, .. } => {
                self.client_id.get_or_insert_with(|| client_id.clone());
                self.details["by_client"] = json!(client_id);
            }
            Actor::Admin { .. } => self.details["by_client"] = Value::Null,
            Actor::Cli => self.details["by"] = json!("cli"),
            Actor::Bootstrap => self.details["by"] = json!("bootstrap"),
            Actor::User { .. } => {}
        }
        self
    }

    pub fn client(mut self, client_id: &str) -> AuditEvent {
        self.client_id = Some(client_id.to_string());
        self
    }

    pub fn subject(mut self, user_id: &str) -> AuditEvent {
        self.subject_user_id = Some(user_id.to_string());
        self
    }

    pub fn source_ip(mut self, ip: Option<String>) -> AuditEvent {
        self.source_ip = ip;
        self
    }

    /// Adds the fields of `details` (an object) to the event's details.
    pub fn details(mut self, details: Value) -> AuditEvent {
        if let (Value::Object(into), Value::Object(from)) = (&mut self.details, details) {
            into.extend(from);
        }
        self
    }
}

/// `text` cut to at most `max` characters: values a caller sent are bounded before they are
/// stored.
pub fn truncated(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

pub async fn record(db: &Db, mut event: AuditEvent) {
    // The columns' own bounds: an overlong value is cut, never a failed insert.
    event.client_id = event.client_id.map(|id| truncated(&id, 255));
    event.source_ip = event.source_ip.map(|ip| truncated(&ip, 64));
    if let Err(error) = db::audit::insert(db, &event).await {
        tracing::error!(error = %format!("{error:#}"), event_type = %event.event_type, "cannot write the audit log");
    }
}

/// Records an admin operation by `actor` on a user and/or a client.
pub async fn record_admin(
    db: &Db,
    actor: &Actor,
    action: AdminAction,
    user_id: Option<&str>,
    client_id: Option<&str>,
    at: UnixTime,
) {
    let mut event = AuditEvent::new(AuditKind::Admin(action), at);
    event.subject_user_id = user_id.map(str::to_string);
    event.client_id = client_id.map(str::to_string);
    record(db, event.by(actor)).await;
}

/// A page of the audit log, newest first, and the total count.
pub async fn search(
    db: &Db,
    filter: &AuditFilter,
    offset: u64,
    limit: u64,
) -> anyhow::Result<(Vec<(i64, AuditEvent)>, u64)> {
    db::audit::search(db, filter, offset, limit).await
}
