//! The authorization request's validation and next steps.

use super::*;

fn client(public: bool) -> Client {
    Client {
        id: "app".into(),
        name: "App".into(),
        public,
        first_party: false,
        require_pkce: false,
        require_par: false,
        redirect_uris: vec!["https://app.example/cb".into()],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        logo_uri: None,
        allowed_scopes: ScopeSet::from(["openid", "profile"]),
        allowed_grants: vec![GrantType::AuthorizationCode],
        enabled: true,
        created_at: 0,
        policy: Default::default(),
        keys: None,
        dynamic: false,
    }
}

fn params() -> AuthorizationParams {
    AuthorizationParams {
        client_id: Some("app".into()),
        redirect_uri: Some("https://app.example/cb".into()),
        response_type: Some("code".into()),
        scope: Some("openid profile".into()),
        state: Some("xyz".into()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        code_challenge_method: Some("S256".into()),
        ..AuthorizationParams::default()
    }
}

fn redirect_error(result: Result<PendingAuthorization, AuthorizeError>) -> OAuthErrorCode {
    match result {
        Err(AuthorizeError::Redirect(error)) => error.error,
        other => panic!("expected a redirect error, got {other:?}"),
    }
}

#[test]
fn a_good_request_is_accepted() {
    let pending = validate(&params(), Some(client(true)), Ok(vec![]), &Settings::default(), 0).unwrap();
    assert_eq!(pending.scope, ScopeSet::from(["openid", "profile"]));
    assert_eq!(pending.state.as_deref(), Some("xyz"));
}

#[test]
fn an_unregistered_redirect_uri_is_never_redirected_to() {
    for uri in
        ["https://app.example/cb/", "https://app.example/cb?x=1", "https://evil.example/cb", "HTTPS://app.example/cb"]
    {
        let mut p = params();
        p.redirect_uri = Some(uri.into());
        assert!(
            matches!(
                validate(&p, Some(client(false)), Ok(vec![]), &Settings::default(), 0),
                Err(AuthorizeError::Untrusted(UntrustedRequest::RedirectUriMismatch))
            ),
            "{uri}"
        );
    }
    assert!(matches!(
        validate(&params(), None, Ok(vec![]), &Settings::default(), 0),
        Err(AuthorizeError::Untrusted(UntrustedRequest::UnknownClient))
    ));
}

#[test]
fn pkce_is_required_for_public_clients_and_plain_is_refused() {
    let mut p = params();
    p.code_challenge = None;
    p.code_challenge_method = None;
    assert_eq!(
        redirect_error(validate(&p, Some(client(true)), Ok(vec![]), &Settings::default(), 0)),
        OAuthErrorCode::InvalidRequest
    );
    assert!(
        validate(&p, Some(client(false)), Ok(vec![]), &Settings::default(), 0).is_ok(),
        "optional for confidential clients"
    );

    let mut p = params();
    p.code_challenge_method = Some("plain".into());
    assert_eq!(
        redirect_error(validate(&p, Some(client(false)), Ok(vec![]), &Settings::default(), 0)),
        OAuthErrorCode::InvalidRequest
    );
    p.code_challenge_method = None;
    assert_eq!(
        redirect_error(validate(&p, Some(client(false)), Ok(vec![]), &Settings::default(), 0)),
        OAuthErrorCode::InvalidRequest
    );
}

#[test]
fn response_type_and_scope_are_checked() {
    let mut p = params();
    p.response_type = Some("token".into());
    assert_eq!(
        redirect_error(validate(&p, Some(client(true)), Ok(vec![]), &Settings::default(), 0)),
        OAuthErrorCode::UnsupportedResponseType
    );
    let mut p = params();
    p.scope = Some("profile".into());
    let plain_oauth = validate(&p, Some(client(true)), Ok(vec![]), &Settings::default(), 0).unwrap();
    assert_eq!(plain_oauth.scope, ScopeSet::from(["profile"]), "a request without openid is plain OAuth 2.0");
    p.scope = None;
    assert_eq!(
        redirect_error(validate(&p, Some(client(true)), Ok(vec![]), &Settings::default(), 0)),
        OAuthErrorCode::InvalidScope
    );
    p.scope = Some("openid admin".into());
    assert_eq!(
        redirect_error(validate(&p, Some(client(true)), Ok(vec![]), &Settings::default(), 0)),
        OAuthErrorCode::InvalidScope
    );
}

fn session(auth_time: UnixTime) -> BrowserSession {
    BrowserSession {
        id: "s".into(),
        user_id: "u".into(),
        auth_time,
        amr: vec!["pwd".into()],
        expires_at: i64::MAX,
        device: Default::default(),
    }
}

#[test]
fn next_step_follows_session_prompt_max_age_and_consent() {
    let mut pending = validate(&params(), Some(client(true)), Ok(vec![]), &Settings::default(), 100).unwrap();
    let granted = ScopeSet::from(["openid", "profile"]);
    assert_eq!(next_step(&pending, None, None, 100), Ok(NextStep::SignIn));
    assert_eq!(next_step(&pending, Some(&session(50)), None, 100), Ok(NextStep::Consent));
    assert_eq!(next_step(&pending, Some(&session(50)), Some(&granted), 100), Ok(NextStep::IssueCode));

    pending.max_age = Some(30);
    assert_eq!(next_step(&pending, Some(&session(50)), Some(&granted), 100), Ok(NextStep::SignIn));
    pending.max_age = None;
    pending.prompt_login = true;
    assert_eq!(next_step(&pending, Some(&session(50)), Some(&granted), 100), Ok(NextStep::SignIn));
    assert_eq!(
        next_step(&pending, Some(&session(100)), Some(&granted), 100),
        Ok(NextStep::SignIn),
        "even a session from this very second: only the form clears prompt=login"
    );

    pending.prompt_login = false;
    pending.require_mfa = true;
    assert_eq!(next_step(&pending, Some(&session(50)), Some(&granted), 100), Ok(NextStep::StepUp));
    let mut two_factors = session(50);
    two_factors.amr = vec!["pwd".into(), "otp".into(), "mfa".into()];
    assert_eq!(next_step(&pending, Some(&two_factors), Some(&granted), 100), Ok(NextStep::IssueCode));
    pending.prompt_none = true;
    assert_eq!(
        next_step(&pending, Some(&session(50)), Some(&granted), 100).unwrap_err().error,
        OAuthErrorCode::InteractionRequired
    );
    pending.require_mfa = false;
    assert_eq!(next_step(&pending, None, None, 100).unwrap_err().error, OAuthErrorCode::LoginRequired);
    assert_eq!(next_step(&pending, Some(&session(50)), None, 100).unwrap_err().error, OAuthErrorCode::ConsentRequired);
}
