//! How strongly a user signed in, and when that must be multi-factor: the `acr` a sign-in
//! achieved, what an authorization request asks for (`acr_values`), what a client requires
//! (its "require MFA" policy), and the global `mfa.*` settings. Every caller (authorize,
//! the admin console and API, the sign-in pages) asks here.

use super::model::Client;
use super::{mfa, passkeys};
use crate::config::MfaSettings;
use crate::state::AppState;

/// A sign-in with one factor (a password).
pub const ACR_PWD: &str = "urn:latchkey:acr:pwd";
/// A sign-in with two factors: a password and a code, or a passkey with user verification.
pub const ACR_MFA: &str = "urn:latchkey:acr:mfa";
/// What discovery advertises, weakest first.
pub const ACR_VALUES_SUPPORTED: [&str; 2] = [ACR_PWD, ACR_MFA];

/// Whether a sign-in with these methods (RFC 8176 `amr`) was multi-factor.
pub fn is_multi_factor(amr: &[String]) -> bool {
    amr.iter().any(|method| method == "mfa")
}

/// The `acr` a sign-in with these methods achieved.
pub fn achieved_acr(amr: &[String]) -> &'static str {
    if is_multi_factor(amr) { ACR_MFA } else { ACR_PWD }
}

/// Whether `acr_values` (space-separated, in order of preference) admits only `mfa`.
/// Values Latchkey does not know are ignored (OIDC Core §3.1.2.1: they are voluntary);
/// a request that also admits `pwd` is satisfied by a password.
pub fn asks_for_mfa(acr_values: Option<&str>) -> bool {
    let known: Vec<&str> =
        acr_values.unwrap_or_default().split(' ').filter(|value| ACR_VALUES_SUPPORTED.contains(value)).collect();
    !known.is_empty() && known.iter().all(|value| *value == ACR_MFA)
}

/// Whether an authorization request for `client` needs a multi-factor sign-in: the request
/// asks for it, the client requires it, or every sign-in must be (`mfa.enforce_for_all`).
pub fn authorization_requires_mfa(settings: &MfaSettings, client: &Client, acr_values: Option<&str>) -> bool {
    settings.enforce_for_all || client.policy.require_mfa || asks_for_mfa(acr_values)
}

/// Whether an admin who signed in this strongly (a session, or a token's `acr`) may use
/// the admin console or the admin API.
pub fn admin_access_allowed(settings: &MfaSettings, multi_factor: bool) -> bool {
    !settings.required_for_admins || multi_factor
}

/// Whether a sign-in that ends with these methods must go on to a second step before
/// the user is anywhere (`mfa.enforce_for_all`).
pub fn sign_in_needs_second_step(settings: &MfaSettings, amr: &[String]) -> bool {
    settings.enforce_for_all && !is_multi_factor(amr)
}

/// How a signed-in user with only a password can make their session multi-factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondStep {
    /// A code from their authenticator app (or a recovery code).
    Code,
    /// A sign-in with one of their passkeys.
    Passkey,
    /// They have no second factor: they set up an authenticator app first.
    Enroll,
}

pub async fn second_step_for(state: &AppState, user_id: &str) -> anyhow::Result<SecondStep> {
    if mfa::has_totp(state, user_id).await.map_err(|e| anyhow::anyhow!(e))? {
        return Ok(SecondStep::Code);
    }
    let has_passkey =
        state.webauthn.is_some() && !passkeys::list(state, user_id).await.map_err(|e| anyhow::anyhow!(e))?.is_empty();
    Ok(if has_passkey { SecondStep::Passkey } else { SecondStep::Enroll })
}

/// Whether confirming a new authenticator app may count as the second step of the session
/// that set it up. Only for a user who had no second factor: they have nothing stronger to
/// prove, as Keycloak's "configure OTP" action assumes. A user with a passkey proves it.
pub async fn enrollment_completes_sign_in(state: &AppState, user_id: &str) -> anyhow::Result<bool> {
    Ok(passkeys::list(state, user_id).await.map_err(|e| anyhow::anyhow!(e))?.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acr_values_ask_for_mfa_only_when_nothing_weaker_is_admitted() {
        assert!(asks_for_mfa(Some(ACR_MFA)));
        assert!(asks_for_mfa(Some(&format!("urn:other {ACR_MFA}"))));
        assert!(!asks_for_mfa(Some(&format!("{ACR_MFA} {ACR_PWD}"))));
        assert!(!asks_for_mfa(Some(ACR_PWD)));
        assert!(!asks_for_mfa(Some("urn:other")));
        assert!(!asks_for_mfa(None));
    }

    #[test]
    fn the_achieved_acr_follows_amr() {
        let amr = |methods: &[&str]| methods.iter().map(|m| m.to_string()).collect::<Vec<_>>();
        assert_eq!(achieved_acr(&amr(&["pwd"])), ACR_PWD);
        assert_eq!(achieved_acr(&amr(&["pwd", "otp", "mfa"])), ACR_MFA);
        assert_eq!(achieved_acr(&amr(&["hwk", "user", "mfa"])), ACR_MFA);
        let required = MfaSettings { required_for_admins: true, enforce_for_all: false };
        assert!(!admin_access_allowed(&required, false));
        assert!(admin_access_allowed(&required, true));
        assert!(admin_access_allowed(&MfaSettings { required_for_admins: false, ..required }, false));
    }
}
