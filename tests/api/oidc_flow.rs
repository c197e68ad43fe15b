//! The whole flow driven by a relying-party library we did not write (`openidconnect`):
//! discovery, authorize, the login form over real HTTP with its CSRF token, consent, code,
//! token exchange, ID token verified by the library, userinfo, refresh, revocation, logout.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::flow::{ClientOptions, POST_LOGOUT_URI, REDIRECT_URI, add_user, location, query_param, register_client};
use crate::helpers::TestEnv;

/// The relying party's HTTP client: reqwest without redirects, adapted to openidconnect.
pub(crate) async fn rp_http(
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, reqwest::Error> {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let (parts, body) = request.into_parts();
    let response = client.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body).send().await?;
    let mut builder = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    Ok(builder.body(response.bytes().await?.to_vec()).expect("a valid response"))
}

#[tokio::test]
async fn a_relying_party_library_signs_a_user_in_end_to_end() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let user = add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions::default()).await;

    // Discovery, as the library does it (it checks the issuer matches exactly).
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.address.clone()).unwrap(), &rp_http).await.unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(rp.client_id.clone()),
        rp.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, csrf_state, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The browser: authorize → login page → consent page → back to the RP with a code.
    let response = app.client.get(authorize_url.as_str()).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let login_path = location(&response);
    assert!(login_path.starts_with("/login?request="), "{login_path}");
    let response = app.submit_login(&login_path, "alice", crate::flow::PASSWORD).await;
    assert_eq!(response.status(), 303);
    let set_cookie =
        response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect::<Vec<_>>();
    let session_cookie = set_cookie.iter().find(|c| c.starts_with("latchkey_session=")).expect("a session cookie");
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"), "{session_cookie}");
    let consent_path = location(&response);
    assert!(consent_path.starts_with("/consent?request="), "{consent_path}");
    let consent_page = app.get(&consent_path).await.text().await.unwrap();
    assert!(consent_page.contains("webapp app") && consent_page.contains("See your email address"), "{consent_page}");
    let response = app.submit_consent(&consent_path, "allow").await;
    assert_eq!(response.status(), 303);
    let callback = location(&response);
    assert!(callback.starts_with(REDIRECT_URI), "{callback}");
    assert_eq!(query_param(&callback, "state").as_deref(), Some(csrf_state.secret().as_str()));
    assert_eq!(query_param(&callback, "iss").as_deref(), Some(app.address.as_str()));
    let code = query_param(&callback, "code").unwrap();

    // The RP exchanges the code; the library verifies the ID token (signature via JWKS,
    // iss, aud, exp, nonce).
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&rp_http)
        .await
        .unwrap();
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let claims = id_token.claims(&verifier, &nonce).unwrap();
    assert_eq!(claims.subject().as_str(), user.id, "sub is the stable id, not the username");
    assert_eq!(claims.issuer().as_str(), app.address);
    let amr: Vec<String> = claims.auth_method_refs().unwrap().iter().map(|a| a.as_str().to_string()).collect();
    assert_eq!(amr, vec!["pwd"]);
    let auth_time = claims.auth_time().expect("auth_time").timestamp();
    assert!((auth_time - latchkey::domain::now()).abs() < 60);
    let expected_hash = claims.access_token_hash().expect("at_hash");
    let actual_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(*expected_hash, actual_hash);
    let header = jsonwebtoken::decode_header(tokens.access_token().secret()).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert!(header.kid.is_some());

    // UserInfo, through the library.
    let userinfo: CoreUserInfoClaims =
        client.user_info(tokens.access_token().clone(), None).unwrap().request_async(&rp_http).await.unwrap();
    assert_eq!(userinfo.subject().as_str(), user.id);
    assert_eq!(userinfo.preferred_username().unwrap().as_str(), "alice");
    assert_eq!(userinfo.email().unwrap().as_str(), "alice@example.com");

    // Refresh: a new refresh token each time.
    let refresh_token = tokens.refresh_token().expect("a refresh token for offline_access").clone();
    let refreshed = client.exchange_refresh_token(&refresh_token).unwrap().request_async(&rp_http).await.unwrap();
    let rotated = refreshed.refresh_token().expect("a rotated refresh token").clone();
    assert_ne!(rotated.secret(), refresh_token.secret());
    let userinfo = app.userinfo(refreshed.access_token().secret()).await;
    assert_eq!(userinfo.status(), 200);

    // Revocation ends the grant: the refresh token and the access tokens issued under it.
    // (The library only revokes over https, so this request is made by hand, per RFC 7009.)
    let revoked = app
        .client
        .post(app.url("/revoke"))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[("token", rotated.secret().as_str()), ("token_type_hint", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert!(client.exchange_refresh_token(&rotated).unwrap().request_async(&rp_http).await.is_err());
    assert_eq!(app.userinfo(refreshed.access_token().secret()).await.status(), 401);

    // RP-initiated logout with the ID token as hint, back to a registered URI.
    let logout = app
        .client
        .get(app.url("/logout"))
        .query(&[
            ("id_token_hint", id_token.to_string().as_str()),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
            ("state", "bye"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 303);
    let back = location(&logout);
    assert!(back.starts_with(POST_LOGOUT_URI) && query_param(&back, "state").as_deref() == Some("bye"), "{back}");

    // The browser session is over: a silent authorization now needs a login.
    let pkce = crate::flow::pkce();
    let silent = app.authorize(&rp, &pkce, &[("prompt", "none")]).await;
    assert_eq!(query_param(&location(&silent), "error").as_deref(), Some("login_required"));
}
