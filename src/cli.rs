//! The `latchkey` command line. Names here are an interface: scripts depend on them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// How a `list` command prints: a table for people, or JSON (an array) for scripts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Output {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// `text` (a table) or `json` (an array of objects)
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// A list flag's values, in either form: repeated flags, or space- or comma-separated
/// values in one (`--scope openid --scope email` = `--scope "openid email"` = `--scope openid,email`).
pub fn list_values(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|value| value.split(|c: char| c == ',' || c.is_whitespace()))
        .filter(|value| !value.is_empty())
        .map(str::to_string)
        .collect()
}

#[derive(Debug, Parser)]
#[command(name = "latchkey", version, about = "An OpenID Connect identity provider")]
pub struct Cli {
    /// Configuration file [default: ./config.toml, used when present]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP (the default); applies pending migrations first
    Serve,
    /// Apply pending database migrations
    Migrate,
    /// Manage users
    #[command(subcommand)]
    User(UserCommand),
    /// Manage groups and their members
    #[command(subcommand)]
    Group(GroupCommand),
    /// Manage OAuth clients (relying apps)
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage API resources: the APIs access tokens are issued for (RFC 8707)
    #[command(subcommand)]
    Api(ApiCommand),
    /// Manage signing keys
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage upstream identity providers: "Continue with …" on the login page
    #[command(subcommand)]
    Upstream(UpstreamCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input
    Add(AddUser),
    /// List users
    List(ListArgs),
    /// Disable a user: they can no longer sign in
    Disable { username: String },
    /// Remove a user's authenticator app and recovery codes (a lost phone)
    ResetMfa { username: String },
    /// Invite a user (created without a password if missing): mails a link to choose a
    /// password or a passkey, or prints it when no mail is set up (smtp.url)
    Invite {
        username: String,
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Add a group
    Add {
        /// 1 to 64 of a-z, 0-9, '_', '.', '-'
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List groups
    List(ListArgs),
    /// Show a group's members and the groups it is in
    Show { name: String },
    /// Delete a group and its memberships (refused while a client's access policy names it)
    Delete { name: String },
    /// Put a user (or, with --group, a group) in a group
    AddMember {
        group: String,
        /// A username, or a group name with --group
        member: String,
        /// The member is a group: its members belong to GROUP too
        #[arg(long = "group")]
        group_member: bool,
    },
    /// Take a user (or, with --group, a group) out of a group
    RemoveMember {
        group: String,
        member: String,
        #[arg(long = "group")]
        group_member: bool,
    },
}

#[derive(Debug, Args)]
pub struct AddUser {
    pub username: String,
    #[arg(long)]
    pub email: Option<String>,
    /// Display name
    #[arg(long)]
    pub name: Option<String>,
    /// Grant the admin role
    #[arg(long)]
    pub admin: bool,
    /// Read the password from standard input (required: passwords never go on the command line)
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client. A confidential client without --secret-stdin gets a generated secret, printed once
    Add(AddClient),
    /// List clients
    List(ListArgs),
    /// Issue an initial access token for dynamic client registration (RFC 7591), printed once
    RegistrationToken {
        /// How many clients may register with it
        #[arg(long, default_value_t = 1)]
        uses: u64,
        /// How long it is good for, in seconds
        #[arg(long, value_name = "SECS", default_value_t = 86400)]
        ttl: u64,
        /// What it is for (shown in the audit log)
        #[arg(long, default_value = "")]
        description: String,
    },
}

#[derive(Debug, Args)]
pub struct AddClient {
    pub client_id: String,
    /// An exact redirect URI; repeat, or separate several with spaces or commas
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// A public client (SPA, native app): no secret, PKCE required
    #[arg(long)]
    pub public: bool,
    /// A first-party client: users are not asked for consent
    #[arg(long)]
    pub first_party: bool,
    /// Require PKCE of this confidential client too (public clients always need it)
    #[arg(long)]
    pub require_pkce: bool,
    /// Accept only pushed authorization requests (PAR, RFC 9126) from this client
    #[arg(long, alias = "require-par")]
    pub require_pushed_authorization_requests: bool,
    /// Every sign-in to this client must be multi-factor (a second factor or a passkey)
    #[arg(long)]
    pub require_mfa: bool,
    /// The login page for this client offers only the upstream providers ("Continue with …")
    #[arg(long)]
    pub upstream_only: bool,
    /// Read the client secret from standard input (at least 32 characters)
    #[arg(long)]
    pub secret_stdin: bool,
    /// Scopes the client may request; repeat, or separate with spaces or commas
    /// [default: openid profile email offline_access]
    #[arg(long = "scope", value_name = "S")]
    pub scopes: Vec<String>,
    /// Grant types: authorization_code, refresh_token, client_credentials, device_code;
    /// repeat, or separate with spaces or commas [default: authorization_code,refresh_token]
    #[arg(long = "grant", value_name = "G")]
    pub grants: Vec<String>,
    /// A registered post-logout redirect URI; repeat, or separate with spaces or commas
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Where to send OpenID back-channel logout notifications
    #[arg(long, value_name = "URI")]
    pub backchannel_logout_uri: Option<String>,
    /// A name shown to users on the consent page [default: the client id]
    #[arg(long)]
    pub name: Option<String>,
    /// An https URL of the client's logo, shown on its consent page
    #[arg(long, value_name = "URL")]
    pub logo_uri: Option<String>,
    /// Authenticate with private_key_jwt (RFC 7523) against the JWK Set at this https URL,
    /// instead of a secret
    #[arg(long, value_name = "URL", conflicts_with = "secret_stdin")]
    pub jwks_uri: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ApiCommand {
    /// Register an API: tokens for it carry its identifier as `aud` and only its scopes
    Add(AddApi),
    /// List APIs
    List(ListArgs),
    /// Delete an API: no new token is issued for it
    Delete { identifier: String },
}

#[derive(Debug, Args)]
pub struct AddApi {
    /// The API's identifier, an absolute URI: https, or http on a loopback host
    pub identifier: String,
    /// The scopes the API defines (one or more; repeat the flag, or separate with spaces or commas)
    #[arg(long = "scope", value_name = "S", num_args = 1.., required = true)]
    pub scopes: Vec<String>,
    /// A name shown to users on the consent page [default: the identifier]
    #[arg(long)]
    pub name: Option<String>,
    /// Access-token lifetime for this API, in seconds (at most tokens.access_token_ttl_secs)
    #[arg(long, value_name = "SECS")]
    pub access_token_ttl: Option<u64>,
    /// Tokens for this API must be sender-constrained (DPoP): never a Bearer token
    #[arg(long)]
    pub require_dpop: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate the next signing key: published now, signing after keys.publish_lead_secs
    Rotate,
    /// List signing keys and their states
    List(ListArgs),
    /// Revoke a key at once (suspected compromise): it leaves the JWKS, tokens it signed are
    /// refused, and a fresh key signs from now on if it was the signing key
    Revoke {
        /// The key id, as `keys list` shows it. A thumbprint may begin with `-`, so the
        /// argument is taken as a value even then.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UpstreamCommand {
    /// Add an upstream identity provider; its client secret is read from standard input.
    /// Register {issuer}/login/upstream/NAME/callback as the redirect URI upstream.
    Add(Box<AddUpstream>),
    /// List upstream identity providers
    List(ListArgs),
    /// Delete an upstream and every link to it (its users keep their other ways in)
    Delete { name: String },
}

#[derive(Debug, Args)]
pub struct AddUpstream {
    /// A short name (lowercase letters, digits, '-'): part of the callback URL
    pub name: String,
    /// `oidc` (OpenID Connect, by issuer) or `github`
    #[arg(long, default_value = "oidc")]
    pub kind: String,
    /// OpenID Connect: the issuer URL (https; http only for localhost). GitHub: the web URL
    /// of a GitHub Enterprise server [default: https://github.com]
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// GitHub: the REST API URL [default: https://api.github.com, or ISSUER/api/v3]
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// The client id Latchkey has at the upstream
    #[arg(long)]
    pub client_id: String,
    /// Read the client secret from standard input (required)
    #[arg(long)]
    pub secret_stdin: bool,
    /// Scopes to ask for; repeat, or separate with spaces or commas
    /// [default: openid email profile, or read:user user:email for GitHub]
    #[arg(long = "scope", value_name = "S", num_args = 1..)]
    pub scopes: Vec<String>,
    /// The button says "Continue with DISPLAY_NAME" [default: the name]
    #[arg(long)]
    pub display_name: Option<String>,
    /// An https URL of the button's icon
    #[arg(long, value_name = "URL")]
    pub icon_url: Option<String>,
    /// Create a user at the first sign-in of someone with no linked account
    #[arg(long)]
    pub auto_create: bool,
    /// Believe the upstream's email_verified: link an existing account whose own address
    /// is verified, without asking its owner to sign in first
    #[arg(long)]
    pub trust_email: bool,
    /// Believe the upstream's amr: a sign-in it says was multi-factor counts as one here
    #[arg(long)]
    pub trust_mfa: bool,
    /// The claim new usernames are derived from [default: preferred_username, or login]
    #[arg(long, value_name = "CLAIM")]
    pub username_claim: Option<String>,
    /// Map a claim onto a profile field at every sign-in: FIELD=CLAIM, FIELD being
    /// display_name or email; repeat [default: display_name=name email=email]
    #[arg(long = "map-claim", value_name = "FIELD=CLAIM")]
    pub map_claims: Vec<String>,
    /// The claim holding the user's upstream groups or roles
    #[arg(long, value_name = "CLAIM")]
    pub groups_claim: Option<String>,
    /// Map an upstream group onto a Latchkey group at every sign-in: UPSTREAM=GROUP; repeat
    #[arg(long = "map-group", value_name = "UPSTREAM=GROUP")]
    pub map_groups: Vec<String>,
    /// Add it disabled: no button until an admin enables it
    #[arg(long)]
    pub disabled: bool,
}
