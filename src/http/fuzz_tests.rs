//! Property tests (proptest, stable Rust) for every parser that takes outside input: for
//! any input each answers with a value or a clear refusal, and never panics.

use proptest::prelude::*;

use crate::domain::authorization::{self, AuthorizationParams, AuthorizeError};
use crate::domain::clients::{ClientId, RedirectUri};
use crate::domain::model::{Client, GrantType, ScopeSet};

fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
}

fn client() -> Client {
    Client {
        id: "app".into(),
        name: "App".into(),
        public: true,
        first_party: false,
        require_pkce: false,
        require_par: false,
        redirect_uris: vec!["https://app.example/cb".into()],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        logo_uri: None,
        allowed_scopes: ["openid", "profile"].into(),
        allowed_grants: vec![GrantType::AuthorizationCode],
        enabled: true,
        created_at: 0,
        policy: Default::default(),
        keys: None,
        dynamic: false,
    }
}

/// Text that is sometimes a plausible value, often not.
fn text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        ".{0,80}",
        "[a-zA-Z0-9 _~.:/?#=&%+-]{0,60}",
        Just("https://app.example/cb".to_string())
    ])
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn an_authorization_request_is_accepted_or_refused_never_a_panic(
        client_id in text(), redirect_uri in text(), response_type in text(), scope in text(),
        state in text(), code_challenge in text(), code_challenge_method in text(), prompt in text(),
        max_age in text(), response_mode in text(),
    ) {
        let params = AuthorizationParams {
            client_id, redirect_uri: redirect_uri.clone(), response_type, response_mode, scope, state,
            code_challenge, code_challenge_method, prompt, max_age, ..AuthorizationParams::default()
        };
        match authorization::validate(&params, Some(client()), Ok(vec![]), &crate::config::Settings::default(), 0) {
            Ok(pending) => prop_assert_eq!(pending.redirect_uri.as_str(), "https://app.example/cb"),
            // An error is only ever sent to the registered redirect URI.
            Err(AuthorizeError::Redirect(error)) => prop_assert_eq!(error.redirect_uri.as_str(), "https://app.example/cb"),
            Err(AuthorizeError::Untrusted(_)) => {}
        }
    }

    #[test]
    fn scopes_parse_or_are_refused(raw in ".{0,200}") {
        if let Ok(scopes) = ScopeSet::parse(&raw) {
            prop_assert!(scopes.iter().all(|s| !s.is_empty() && !s.contains(' ') && !s.contains('"')));
            prop_assert_eq!(ScopeSet::parse(&scopes.to_string()).unwrap(), scopes);
        }
    }

    #[test]
    fn client_ids_and_redirect_uris_parse_or_are_refused(raw in ".{0,300}") {
        let _ = ClientId::parse(&raw);
        if let Ok(uri) = RedirectUri::parse(&raw) {
            prop_assert_eq!(uri.as_str(), raw.as_str(), "kept exactly as given");
            let _ = uri.is_secure();
        }
    }

    #[test]
    fn a_token_request_form_parses_or_is_invalid_request(body in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Err(error) = crate::http::oidc::client_auth::parse_form(&body) {
            prop_assert_eq!(error.code.as_str(), "invalid_request");
        }
    }

    #[test]
    fn a_basic_authorization_header_parses_or_is_invalid_client(value in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut raw = b"Basic ".to_vec();
        raw.extend(value);
        // Bytes no HTTP parser lets through never reach the handler.
        let Ok(header) = actix_web::http::header::HeaderValue::from_bytes(&raw) else { return Ok(()) };
        let request = actix_web::test::TestRequest::default().insert_header(("Authorization", header)).to_http_request();
        if let Err(error) = crate::http::oidc::client_auth::basic_credentials(&request) {
            prop_assert_eq!(error.code.as_str(), "invalid_client");
        }
    }

    #[test]
    fn a_jwt_header_from_outside_never_panics_the_decoder(token in "[A-Za-z0-9_.=-]{0,300}") {
        let _ = jsonwebtoken::decode_header(&token);
        let _ = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(&token);
    }

    #[test]
    fn webauthn_json_from_the_browser_parses_or_is_refused(json in ".{0,300}") {
        let _ = serde_json::from_str::<webauthn_rs::prelude::PublicKeyCredential>(&json);
        let _ = serde_json::from_str::<webauthn_rs::prelude::RegisterPublicKeyCredential>(&json);
    }

    #[test]
    fn a_query_string_is_redacted_whatever_it_holds(query in ".{0,200}") {
        let Ok(uri) = format!("/authorize?{}", query.replace(' ', "+").replace('#', "")).parse::<actix_web::http::Uri>() else {
            return Ok(());
        };
        let logged = crate::http::access_log::redacted_target(&uri);
        prop_assert!(logged.starts_with("/authorize"));
    }
}
