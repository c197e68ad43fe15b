//! OAuth 2.0 and OpenID Connect error codes, with the HTTP status each is answered with
//! when it is answered as JSON (RFC 6749 §5.2, RFC 6750 §3.1, OIDC Core §3.1.2.6).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthErrorCode {
    InvalidRequest,
    /// 401, with `WWW-Authenticate` (RFC 6749 §5.2).
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    /// RFC 8707 §2: the `resource` is unknown or not allowed.
    InvalidTarget,
    AccessDenied,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    /// 401 at a resource (RFC 6750 §3.1).
    InvalidToken,
    /// 403 at a resource (RFC 6750 §3.1).
    InsufficientScope,
    ServerError,
    /// 429: this address failed client authentication too often; retry later. The code is
    /// RFC 8628's, the closest registered one for "too fast".
    SlowDown,
    /// 503: a store the request needs is unreachable; retry later (RFC 6749 §4.1.2.1).
    TemporarilyUnavailable,
    /// RFC 8628 §3.5: the user has not answered yet.
    AuthorizationPending,
    /// RFC 8628 §3.5 `slow_down`, a 400 like every token error: the device polls too often.
    PollTooFast,
    /// RFC 8628 §3.5: the device code expired.
    ExpiredToken,
    /// RFC 9449 §5, §7.1: the DPoP proof is missing or invalid (400; 401 at a resource).
    InvalidDpopProof,
}

impl OAuthErrorCode {
    /// The name the RFCs give it: what goes into `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthErrorCode::InvalidRequest => "invalid_request",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::InvalidGrant => "invalid_grant",
            OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorCode::UnsupportedResponseType => "unsupported_response_type",
            OAuthErrorCode::InvalidScope => "invalid_scope",
            OAuthErrorCode::InvalidTarget => "invalid_target",
            OAuthErrorCode::AccessDenied => "access_denied",
            OAuthErrorCode::LoginRequired => "login_required",
            OAuthErrorCode::ConsentRequired => "consent_required",
            OAuthErrorCode::InteractionRequired => "interaction_required",
            OAuthErrorCode::RequestNotSupported => "request_not_supported",
            OAuthErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            OAuthErrorCode::InvalidToken => "invalid_token",
            OAuthErrorCode::InsufficientScope => "insufficient_scope",
            OAuthErrorCode::ServerError => "server_error",
            OAuthErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthErrorCode::SlowDown => "slow_down",
            OAuthErrorCode::AuthorizationPending => "authorization_pending",
            OAuthErrorCode::PollTooFast => "slow_down",
            OAuthErrorCode::ExpiredToken => "expired_token",
            OAuthErrorCode::InvalidDpopProof => "invalid_dpop_proof",
        }
    }

    /// The HTTP status of a JSON answer with this code.
    pub fn status(self) -> u16 {
        match self {
            OAuthErrorCode::InvalidClient | OAuthErrorCode::InvalidToken => 401,
            OAuthErrorCode::InsufficientScope => 403,
            OAuthErrorCode::ServerError => 500,
            OAuthErrorCode::TemporarilyUnavailable => 503,
            OAuthErrorCode::SlowDown => 429,
            _ => 400,
        }
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
