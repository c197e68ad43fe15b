//! Grants at the token endpoint (RFC 6749 §4.1.3, §4.4, §6): exchanging a code, rotating
//! refresh tokens with reuse detection, client credentials; and ending grants (revocation,
//! logout).
//!
//! A grant id names everything issued from one code exchange: the refresh-token family
//! (same id) and every access token (`gid` claim). Ending a grant ends all of them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::audit::{self, Actor, AdminAction, AuditEvent, AuditKind};
use super::authorization::{CodeGrant, code_grant_id_key, code_key};
use super::clients::{Client, GrantType};
pub use super::model::RefreshFamily;
use super::model::scopes::{OFFLINE_ACCESS, OPENID};
use super::model::{ApiResource, OAuthErrorCode, ScopeSet};
use super::resources::{self, TargetError};
use super::tokens::{self, Grant, IssuedTokens};
use super::{UnixTime, claims, constant_time_eq, groups, random_token, sha256_b64, users};
use crate::state::AppState;
use crate::store::db;
pub use crate::store::db::refresh_tokens::FamiliesOf;

/// What the token endpoint answers with.
#[derive(Debug)]
pub struct TokenSet {
    pub tokens: IssuedTokens,
    pub refresh_token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// RFC 6749 §5.2 `invalid_grant`; the reason goes to the log, not to the client.
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    #[error("unauthorized_client")]
    UnauthorizedClient,
    #[error("invalid_scope")]
    InvalidScope,
    /// RFC 8707 `invalid_target`: the `resource` is unknown or was not authorized.
    #[error("invalid_target: {0}")]
    InvalidTarget(TargetError),
    /// The API takes only sender-constrained (DPoP) tokens, and the request has no proof.
    #[error("the API requires DPoP-bound tokens")]
    DpopRequired,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

fn unexpected(error: impl Into<anyhow::Error>) -> GrantError {
    GrantError::Unexpected(error.into())
}

/// Exchanges an authorization code (once). A second use of a code ends everything the
/// first use issued (RFC 6749 §4.1.2, RFC 9700 §4.1.3), whatever the timing: the grant id
/// is fixed when the code is issued, so a replay that loses the race still finds it, and
/// every token of a revoked grant is refused wherever it is presented.
pub async fn exchange_code(
    state: &AppState,
    client: &Client,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    request: TokenRequest<'_>,
    now: UnixTime,
) -> Result<TokenSet, GrantError> {
    if !client.allowed_grants.contains(&GrantType::AuthorizationCode) {
        return Err(GrantError::UnauthorizedClient);
    }
    let Some(grant) = state.ephemeral.take_json::<CodeGrant>(&code_key(code)).await.map_err(unexpected)? else {
        if let Some(grant_id) = state.ephemeral.get(&code_grant_id_key(code)).await.map_err(unexpected)? {
            let grant_id = String::from_utf8_lossy(&grant_id).into_owned();
            tracing::warn!(%grant_id, client_id = %client.id, "authorization code reused: revoking its grant");
            end_grant(state, &grant_id, now).await?;
        }
        return Err(GrantError::InvalidGrant("unknown, expired or used code"));
    };
    let grant_id = grant.grant_id.clone();

    if grant.client_id != client.id {
        return Err(GrantError::InvalidGrant("code was issued to another client"));
    }
    if redirect_uri != Some(grant.redirect_uri.as_str()) {
        return Err(GrantError::InvalidGrant("redirect_uri differs from the authorization request"));
    }
    match (&grant.code_challenge, code_verifier) {
        (Some(challenge), Some(verifier)) if pkce_matches(challenge, verifier) => {}
        (Some(_), _) => return Err(GrantError::InvalidGrant("PKCE verification failed")),
        (None, Some(_)) => {
            return Err(GrantError::InvalidGrant("code_verifier without a code_challenge"));
        }
        (None, None) => {}
    }
    let authorized = Authorized {
        grant_id,
        user_id: grant.user_id,
        scope: grant.scope,
        nonce: grant.nonce,
        session_id: grant.session_id,
        auth_time: grant.auth_time,
        amr: grant.amr,
        resources: grant.resources,
    };
    start_grant(state, client, authorized, request, now).await
}

/// What a token request asks for beyond its grant: the API the token is for (RFC 8707),
/// and the key it is bound to (the thumbprint of a verified DPoP proof, RFC 9449).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenRequest<'a> {
    pub resource: Option<&'a str>,
    pub dpop_jkt: Option<&'a str>,
}

/// What a signed-in user authorized a client to have: from an authorization code, or a
/// device confirmation (RFC 8628).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Authorized {
    pub grant_id: String,
    pub user_id: String,
    pub scope: ScopeSet,
    pub nonce: Option<String>,
    pub session_id: String,
    pub auth_time: UnixTime,
    pub amr: Vec<String>,
    pub resources: Vec<String>,
}

/// Turns what a user authorized into a grant: the refresh-token family (with a refresh
/// token when `offline_access` allows), the access token and, with `openid`, the ID token.
pub(super) async fn start_grant(
    state: &AppState,
    client: &Client,
    grant: Authorized,
    request: TokenRequest<'_>,
    now: UnixTime,
) -> Result<TokenSet, GrantError> {
    let settings = &state.settings;
    let grant_id = grant.grant_id.clone();
    let Some(user) = users::find_enabled(&state.db, &grant.user_id).await? else {
        return Err(GrantError::InvalidGrant("the user no longer exists or is disabled"));
    };
    let audience = audience(state, &grant.resources, request).await?;

    let wants_refresh = grant.scope.contains(OFFLINE_ACCESS)
        || (client.first_party && settings.tokens.first_party_refresh_without_offline_access);
    let wants_refresh = wants_refresh && client.allowed_grants.contains(&GrantType::RefreshToken);
    // Every exchange is recorded as a grant (a refresh-token family, maybe without tokens),
    // so that logout and revocation find everything issued in a browser session.
    let lifetime = if wants_refresh {
        settings.tokens.refresh_token_ttl_secs
    } else {
        settings.tokens.access_token_ttl_secs.max(settings.tokens.id_token_ttl_secs)
    };
    let family = RefreshFamily {
        id: grant_id.clone(),
        user_id: user.id.clone(),
        client_id: client.id.clone(),
        session_id: Some(grant.session_id.clone()),
        scope: grant.scope.clone(),
        amr: grant.amr.clone(),
        auth_time: grant.auth_time,
        created_at: now,
        expires_at: now + lifetime as i64,
        revoked_at: None,
        resources: grant.resources.clone(),
        // A public client has no other proof that a refresh token is its own (RFC 9449 §5).
        dpop_jkt: request.dpop_jkt.filter(|_| client.public).map(str::to_string),
    };
    db::refresh_tokens::create_family(&state.db, &family).await?;
    let refresh_token = if wants_refresh { Some(new_refresh_token(state, &family.id, now).await?) } else { None };
    let claims = claims::released(&state.db, client, &user, &grant.scope).await?;
    let grant = Grant {
        grant_id,
        client_id: client.id.clone(),
        user: Some(user),
        scope: grant.scope,
        nonce: grant.nonce,
        auth_time: Some(grant.auth_time),
        amr: grant.amr,
        session_id: Some(grant.session_id),
        claims,
        audience,
        dpop_jkt: request.dpop_jkt.map(str::to_string),
    };
    let tokens = tokens::mint(settings, &state.keyring, &grant, now).map_err(unexpected)?;
    Ok(TokenSet { tokens, refresh_token })
}

/// The API a token is for, among the resources its grant was authorized for (see
/// `resources::select`); `None`: the client itself. An API that takes only DPoP-bound tokens
/// gets none from a request without a proof.
async fn audience(
    state: &AppState,
    granted: &[String],
    request: TokenRequest<'_>,
) -> Result<Option<ApiResource>, GrantError> {
    let api = resources::select(&state.db, granted, request.resource).await?.map_err(GrantError::InvalidTarget)?;
    if api.as_ref().is_some_and(|api| api.require_dpop) && request.dpop_jkt.is_none() {
        return Err(GrantError::DpopRequired);
    }
    Ok(api)
}

/// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge, compared in constant time.
fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    let valid = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    valid && constant_time_eq(URL_SAFE_NO_PAD.encode(digest.as_ref()).as_bytes(), challenge.as_bytes())
}

async fn new_refresh_token(state: &AppState, family_id: &str, now: UnixTime) -> Result<String, GrantError> {
    let token = random_token(32);
    db::refresh_tokens::insert_token(&state.db, &sha256_b64(token.as_bytes()), family_id, now).await?;
    Ok(token)
}

/// Rotates a refresh token: the presented one is spent, a new one is returned. Presenting
/// a spent token means it leaked: the whole family ends (RFC 9700 §4.14.2).
pub async fn refresh(
    state: &AppState,
    client: &Client,
    refresh_token: &str,
    requested_scope: Option<ScopeSet>,
    request: TokenRequest<'_>,
    now: UnixTime,
) -> Result<TokenSet, GrantError> {
    if !client.allowed_grants.contains(&GrantType::RefreshToken) {
        return Err(GrantError::UnauthorizedClient);
    }
    let hash = sha256_b64(refresh_token.as_bytes());
    let Some(found) = db::refresh_tokens::find_token(&state.db, &hash).await? else {
        return Err(GrantError::InvalidGrant("unknown refresh token"));
    };
    let family = found.family;
    if family.client_id != client.id {
        return Err(GrantError::InvalidGrant("refresh token of another client"));
    }
    if !family.is_live(now) || found.grant_revoked {
        return Err(GrantError::InvalidGrant("refresh token revoked or expired"));
    }
    if found.used_at.is_some() {
        return Err(refresh_token_reused(state, client, &family, now).await);
    }
    if family.dpop_jkt.as_deref().is_some_and(|bound| request.dpop_jkt != Some(bound)) {
        return Err(GrantError::InvalidGrant("the refresh token is bound to another DPoP key"));
    }
    let Some(user) = users::find_enabled(&state.db, &family.user_id).await? else {
        return Err(GrantError::InvalidGrant("the user no longer exists or is disabled"));
    };
    if !groups::may_use(&state.db, client, &user.id).await? {
        // The user lost access (left an allowed group): the grant ends with it.
        groups::record_refusal(&state.db, client, &user.id, "refresh", None).await;
        end_grant(state, &family.id, now).await?;
        return Err(GrantError::InvalidGrant("the user may no longer use this client"));
    }
    let audience = audience(state, &family.resources, request).await?;
    // What the client may still have: the grant's scopes, less any the client has since
    // lost (an admin removing `admin` from a client stops it minting admin tokens) and any
    // the API the token is for no longer defines.
    let mut still_allowed = client.allowed_scopes.clone();
    for scope in audience.iter().flat_map(|api| api.scopes.iter()) {
        still_allowed.insert(scope);
    }
    let grantable = family.scope.intersection(&still_allowed);
    let scope = match requested_scope {
        Some(scope) if scope.is_subset_of(&grantable) => scope,
        Some(_) => return Err(GrantError::InvalidScope),
        None => grantable,
    };
    // Spending this token and storing the next is one transaction; of two concurrent
    // presentations, the second finds it spent: a reuse.
    let next = random_token(32);
    if !db::refresh_tokens::rotate(&state.db, &hash, &sha256_b64(next.as_bytes()), &family.id, now).await? {
        return Err(refresh_token_reused(state, client, &family, now).await);
    }
    let claims = claims::released(&state.db, client, &user, &scope).await?;
    let grant = Grant {
        grant_id: family.id.clone(),
        client_id: client.id.clone(),
        user: Some(user),
        scope,
        nonce: None,
        auth_time: Some(family.auth_time),
        amr: family.amr.clone(),
        session_id: family.session_id.clone(),
        claims,
        audience,
        dpop_jkt: request.dpop_jkt.map(str::to_string),
    };
    let tokens = tokens::mint(&state.settings, &state.keyring, &grant, now).map_err(unexpected)?;
    Ok(TokenSet { tokens, refresh_token: Some(next) })
}

/// A spent refresh token presented again means it leaked: the whole family ends
/// (RFC 9700 §4.14.2), and the reuse is audited.
async fn refresh_token_reused(state: &AppState, client: &Client, family: &RefreshFamily, now: UnixTime) -> GrantError {
    tracing::warn!(family_id = %family.id, client_id = %client.id, "refresh token reused: revoking its family");
    state.metrics.refresh_token_reused();
    let event = AuditEvent::new(AuditKind::RefreshTokenReuse, now)
        .subject(&family.user_id)
        .client(&client.id)
        .details(serde_json::json!({ "grant_id": family.id }));
    audit::record(&state.db, event).await;
    match end_grant(state, &family.id, now).await {
        Ok(()) => GrantError::InvalidGrant("refresh token already used"),
        Err(error) => error,
    }
}

/// Client credentials (RFC 6749 §4.4): a confidential client acting for itself.
pub async fn client_credentials(
    state: &AppState,
    client: &Client,
    requested: Option<ScopeSet>,
    request: TokenRequest<'_>,
    now: UnixTime,
) -> Result<TokenSet, GrantError> {
    if client.public || !client.allowed_grants.contains(&GrantType::ClientCredentials) {
        return Err(GrantError::UnauthorizedClient);
    }
    let audience = match request.resource {
        Some(resource) => audience(state, &[resource.to_string()], request).await?,
        None => None,
    };
    // User-facing scopes make no sense without a user; for an API, only the API's scopes
    // an admin allowed this client.
    let grantable = match &audience {
        Some(api) => client.allowed_scopes.intersection(&api.scopes),
        None => client.allowed_scopes.without(&[OPENID, OFFLINE_ACCESS]),
    };
    let scope = match requested {
        Some(scope) if scope.is_subset_of(&grantable) => scope,
        Some(_) => return Err(GrantError::InvalidScope),
        None => grantable,
    };
    let grant = Grant {
        grant_id: uuid::Uuid::new_v4().to_string(),
        client_id: client.id.clone(),
        user: None,
        scope,
        nonce: None,
        auth_time: None,
        amr: Vec::new(),
        session_id: None,
        claims: Default::default(),
        audience,
        dpop_jkt: request.dpop_jkt.map(str::to_string),
    };
    let tokens = tokens::mint(&state.settings, &state.keyring, &grant, now).map_err(unexpected)?;
    Ok(TokenSet { tokens, refresh_token: None })
}

/// How many refused token requests one source address writes to the audit log a minute;
/// a flood beyond that is counted in the server log, not written row by row.
pub const REFUSALS_AUDITED_PER_MINUTE: u64 = 20;

/// Records a refused token request. What the caller claimed (client id, grant type) is
/// unverified: it is cut to 64 characters, and each source address writes at most
/// [`REFUSALS_AUDITED_PER_MINUTE`] such rows a minute, so a flood cannot fill the disk.
pub async fn record_refusal(
    state: &AppState,
    error: OAuthErrorCode,
    grant_type: Option<&str>,
    claimed_client_id: Option<&str>,
    source_ip: Option<String>,
) {
    let window = std::time::Duration::from_secs(60);
    let key = format!("audited-refusals:{}", source_ip.as_deref().unwrap_or("unknown"));
    match state.ephemeral.increment(&key, window).await {
        Ok(count) if count > REFUSALS_AUDITED_PER_MINUTE => {
            if count == REFUSALS_AUDITED_PER_MINUTE + 1 {
                tracing::warn!(
                    ?source_ip,
                    "many refused token requests from one address: not auditing more this minute"
                );
            }
            return;
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(error = %format!("{error:#}"), "cannot count refused token requests"),
    }
    let grant_type = grant_type.map(|g| audit::truncated(g, 64));
    let mut event = AuditEvent::new(AuditKind::TokenRefused, super::now())
        .source_ip(source_ip)
        .details(serde_json::json!({ "error": error.as_str(), "grant_type": grant_type }));
    event.client_id = claimed_client_id.map(|id| audit::truncated(id, 64));
    audit::record(&state.db, event).await;
}

/// Ends a grant: its refresh-token family and every access token issued under it.
pub async fn end_grant(state: &AppState, grant_id: &str, now: UnixTime) -> Result<(), GrantError> {
    tokens::revoke_grant(state, grant_id, now).await?;
    db::refresh_tokens::revoke_family(&state.db, grant_id, now).await?;
    Ok(())
}

/// How long an ended family is kept before it is purged: a refresh racing its revocation
/// must not leave a token behind whose family is gone.
const ENDED_GRANT_GRACE_SECS: i64 = 60;

/// Deletes refresh-token families that ended (revoked, or expired) and their tokens, so a
/// busy deployment's tables hold live grants only; run periodically by every instance.
/// Access tokens of a revoked grant stay refused: that record is `revoked_grants`.
pub async fn purge_ended(db: &db::Db, now: UnixTime) -> anyhow::Result<u64> {
    db::refresh_tokens::purge_ended(db, now - ENDED_GRANT_GRACE_SECS, now).await
}

/// A live refresh token and its family, for introspection.
pub async fn find_live_refresh_token(
    state: &AppState,
    token: &str,
    now: UnixTime,
) -> Result<Option<RefreshFamily>, GrantError> {
    let hash = sha256_b64(token.as_bytes());
    match db::refresh_tokens::find_token(&state.db, &hash).await? {
        Some(found) if found.used_at.is_none() && !found.grant_revoked && found.family.is_live(now) => {
            Ok(Some(found.family))
        }
        _ => Ok(None),
    }
}

/// Revokes a token presented by `client` (RFC 7009). Either kind ends its whole grant: the
/// refresh token and every access token issued under it. Tokens of other clients and
/// unknown tokens are ignored, as the RFC asks (the answer is 200 either way).
pub async fn revoke(state: &AppState, client: &Client, token: &str, now: UnixTime) -> Result<(), GrantError> {
    let hash = sha256_b64(token.as_bytes());
    if let Some(found) = db::refresh_tokens::find_token(&state.db, &hash).await? {
        if found.family.client_id == client.id {
            end_grant(state, &found.family.id, now).await?;
        }
        return Ok(());
    }
    if let Ok(access) = tokens::verify_access_token(state, token, now).await
        && access.claims.client_id == client.id
    {
        end_grant(state, &access.claims.gid, now).await?;
    }
    Ok(())
}

/// Ends every grant of a browser session, a user or a client: their refresh tokens and
/// access tokens stop working, durably, and the clients involved get back-channel logout.
pub async fn end_all(state: &AppState, of: FamiliesOf<'_>, now: UnixTime) -> Result<Vec<RefreshFamily>, GrantError> {
    let families = db::refresh_tokens::revoke_families(&state.db, of, now).await?;
    for family in &families {
        tokens::revoke_grant(state, &family.id, now).await?;
    }
    super::backchannel::notify(state, &families, now);
    Ok(families)
}

/// Ends a browser session: the grants issued in it end, their clients get back-channel
/// logout notices, and the session itself is gone.
pub async fn sign_out(state: &AppState, session_id: &str, now: UnixTime) -> Result<(), GrantError> {
    end_all(state, FamiliesOf::Session(session_id), now).await?;
    super::sessions::end(&state.ephemeral, session_id).await.map_err(unexpected)?;
    Ok(())
}

/// The live grants of `user_id`, newest first.
pub async fn live_grants_of_user(state: &AppState, user_id: &str, now: UnixTime) -> anyhow::Result<Vec<RefreshFamily>> {
    db::refresh_tokens::live_grants_of_user(&state.db, user_id, now).await
}

/// Ends one of `user_id`'s live grants. `false` when the user has no such live grant: a
/// grant id of another user is never ended through this user.
pub async fn end_user_grant(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
    grant_id: &str,
    now: UnixTime,
) -> Result<bool, GrantError> {
    if !actor.is_admin() {
        return Ok(false);
    }
    let live = live_grants_of_user(state, user_id, now).await?;
    if !live.iter().any(|grant| grant.id == grant_id) {
        return Ok(false);
    }
    end_grant(state, grant_id, now).await?;
    audit::record_admin(&state.db, actor, AdminAction::EndGrant, Some(user_id), None, now).await;
    Ok(true)
}

/// Ends a user's browser session by its admin-visible handle, with the grants issued in it.
/// `false` when the user has no such live session.
pub async fn end_user_session(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
    handle: &str,
    now: UnixTime,
) -> Result<bool, GrantError> {
    if !actor.is_admin() {
        return Ok(false);
    }
    let sessions = super::sessions::list_for_user(&state.ephemeral, user_id, now).await.map_err(unexpected)?;
    let Some((_, session)) = sessions.into_iter().find(|(summary, _)| summary.handle == handle) else {
        return Ok(false);
    };
    sign_out(state, &session.id, now).await?;
    audit::record_admin(&state.db, actor, AdminAction::EndSession, Some(user_id), None, now).await;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::pkce_matches;

    #[test]
    fn pkce_s256_matches_the_rfc7636_example_only() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(challenge, verifier));
        assert!(!pkce_matches(challenge, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl"));
        assert!(!pkce_matches(challenge, challenge));
    }
}
