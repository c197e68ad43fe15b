//! What an upstream can get wrong, and how it ends: a wrong `nonce`, a forged ID token,
//! `alg: none`, an issuer mix-up, an upstream that is slow or answers an error. Each ends
//! on the page that names the upstream, with an audit event; none is a 500 or a sign-in.
//! The misbehaving upstream is a small OpenID provider run by the test itself.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey::domain::audit::{Actor, AuditFilter};
use latchkey::domain::keys::{self, SealedKey, SigningKey};
use latchkey::domain::upstream::{self, ProviderSettings};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestEnv};
use crate::upstream::{Stop, browse, browser, person, settings_for, sign_in_through, upstream_latchkey};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Misbehaviour {
    None,
    WrongNonce,
    ForgedSignature,
    AlgNone,
    OtherIssuer,
    /// Discovery names a token endpoint on plain http, off loopback.
    HttpEndpoint,
    Slow,
    ServerError,
}

struct Fake {
    issuer: String,
    key: SigningKey,
    forger: SigningKey,
    mode: Misbehaviour,
    nonce: Option<String>,
    /// The `prompt` of the last authorization request.
    prompt: Option<String>,
    /// The `auth_time` the ID tokens carry, if any.
    auth_time: Option<i64>,
}

fn signing_key() -> SigningKey {
    let generated = keys::generate(2048).unwrap();
    let sealed = SealedKey {
        kid: generated.kid.clone(),
        generation: 1,
        bits: 2048,
        n: generated.n.clone(),
        e: generated.e.clone(),
        sealed_private_key: Vec::new(),
        created_at: 0,
        activates_at: 0,
        revoked_at: None,
    };
    SigningKey::new(sealed, &generated.pkcs8.0).unwrap()
}

type Shared = Arc<Mutex<Fake>>;

async fn discovery(fake: web::Data<Shared>) -> HttpResponse {
    let (issuer, mode) = {
        let fake = fake.lock().unwrap();
        (fake.issuer.clone(), fake.mode)
    };
    let token_endpoint = if mode == Misbehaviour::HttpEndpoint {
        "http://idp.example/token".to_string()
    } else {
        format!("{issuer}/token")
    };
    HttpResponse::Ok().json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": token_endpoint,
        "jwks_uri": format!("{issuer}/jwks"),
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
    }))
}

async fn jwks(fake: web::Data<Shared>) -> HttpResponse {
    let fake = fake.lock().unwrap();
    HttpResponse::Ok().json(json!({ "keys": [fake.key.public_jwk()] }))
}

#[derive(serde::Deserialize)]
struct AuthorizeQuery {
    redirect_uri: String,
    state: String,
    nonce: Option<String>,
    prompt: Option<String>,
}

async fn authorize(fake: web::Data<Shared>, query: web::Query<AuthorizeQuery>) -> HttpResponse {
    let mut fake = fake.lock().unwrap();
    fake.nonce = query.nonce.clone();
    fake.prompt = query.prompt.clone();
    let issuer =
        if fake.mode == Misbehaviour::OtherIssuer { "https://evil.example".to_string() } else { fake.issuer.clone() };
    let encode = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let location =
        format!("{}?code=fake-code&state={}&iss={}", query.redirect_uri, encode(&query.state), encode(&issuer));
    HttpResponse::SeeOther().insert_header(("location", location)).finish()
}

async fn token(fake: web::Data<Shared>) -> HttpResponse {
    let mode = fake.lock().unwrap().mode;
    match mode {
        Misbehaviour::Slow => tokio::time::sleep(Duration::from_secs(4)).await,
        Misbehaviour::ServerError => return HttpResponse::InternalServerError().body("down for maintenance"),
        _ => {}
    }
    let fake = fake.lock().unwrap();
    let now = latchkey::domain::now();
    let nonce = match mode {
        Misbehaviour::WrongNonce => "not-the-nonce-we-were-sent".to_string(),
        _ => fake.nonce.clone().unwrap_or_default(),
    };
    let mut claims = json!({
        "iss": fake.issuer, "sub": "mallory", "aud": "downstream", "exp": now + 300, "iat": now,
        "nonce": nonce, "email": "victim@example.com", "email_verified": true, "preferred_username": "mallory",
        "amr": ["pwd", "otp", "mfa"],
    });
    if let Some(auth_time) = fake.auth_time {
        claims["auth_time"] = json!(auth_time);
    }
    let id_token = match mode {
        // Signed by another key under the published key's kid.
        Misbehaviour::ForgedSignature => {
            let forged = fake.forger.sign_jwt("JWT", &claims).unwrap();
            let genuine_header = fake.key.sign_jwt("JWT", &json!({})).unwrap();
            let header = genuine_header.split('.').next().unwrap().to_string();
            let mut parts: Vec<&str> = forged.split('.').collect();
            parts[0] = &header;
            parts.join(".")
        }
        Misbehaviour::AlgNone => {
            let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
            format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims.to_string()))
        }
        _ => fake.key.sign_jwt("JWT", &claims).unwrap(),
    };
    HttpResponse::Ok().json(json!({ "access_token": "fake-access", "token_type": "Bearer", "id_token": id_token }))
}

/// Starts the fake provider; returns its issuer and the handle that sets its behaviour.
async fn fake_provider() -> (String, Shared) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let shared: Shared = Arc::new(Mutex::new(Fake {
        issuer: issuer.clone(),
        key: signing_key(),
        forger: signing_key(),
        mode: Misbehaviour::None,
        nonce: None,
        prompt: None,
        auth_time: None,
    }));
    let data = web::Data::new(shared.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/.well-known/openid-configuration", web::get().to(discovery))
            .route("/jwks", web::get().to(jwks))
            .route("/authorize", web::get().to(authorize))
            .route("/token", web::post().to(token))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (issuer, shared)
}

async fn failures(app: &TestApp) -> Vec<Value> {
    let filter = AuditFilter { event_type: Some("upstream_sign_in_failed".into()), ..AuditFilter::default() };
    crate::upstream::audit_events(&app.state.db, &filter).await.into_iter().map(|e| e.details).collect()
}

/// The fake provider as upstream `fake` ("Fake").
fn fake_settings(issuer: String) -> ProviderSettings {
    ProviderSettings {
        display_name: Some("Fake".into()),
        issuer,
        client_id: "downstream".into(),
        secret: Some(SecretString::from("upstream-secret".to_string())),
        ..ProviderSettings::default()
    }
}

/// A sign-in through the fake upstream, from the login page to where it stops.
async fn through_fake(app: &TestApp) -> Stop {
    through_fake_from(app, "/login/upstream/fake").await
}

async fn through_fake_from(app: &TestApp, start: &str) -> Stop {
    let browser = browser();
    let start = browser.get(app.url(start)).send().await.unwrap();
    assert_eq!(start.status(), 303);
    let mut url = start.headers()["location"].to_str().unwrap().to_string();
    // The fake authorizes at once; follow it back to the callback.
    let answer = browser.get(&url).send().await.unwrap();
    url = answer.headers()["location"].to_str().unwrap().to_string();
    let response = browser.get(&url).send().await.unwrap();
    let status = response.status().as_u16();
    if status == 303 {
        return Stop::Away(response.headers()["location"].to_str().unwrap().to_string());
    }
    Stop::Page { status, url, html: response.text().await.unwrap() }
}

#[tokio::test]
async fn forged_and_mixed_up_id_tokens_are_refused_and_audited() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let (issuer, fake) = fake_provider().await;
    let settings = ProviderSettings { auto_create: true, trust_email: true, ..fake_settings(issuer) };
    upstream::add_upstream(&app.state, &Actor::Cli, "fake", settings).await.unwrap();

    // The well-behaved fake signs mallory in (and creates the account): the harness works.
    let signed_in = through_fake(&app).await;
    assert!(matches!(&signed_in, Stop::Away(url) if url == "/account"), "{signed_in:?}");
    latchkey::domain::users::find_by_username(&app.state.db, "mallory").await.unwrap();

    let cases = [
        (Misbehaviour::WrongNonce, "the ID token's nonce is not the one sent"),
        (Misbehaviour::ForgedSignature, "the ID token's signature does not verify"),
        (Misbehaviour::AlgNone, "not what discovery lists"),
        (Misbehaviour::OtherIssuer, "the response came from issuer"),
    ];
    for (mode, why) in cases {
        fake.lock().unwrap().mode = mode;
        let (status, html) = through_fake(&app).await.page();
        assert_eq!(status, 502, "{mode:?}");
        assert!(
            html.contains("Fake&#39;s answer could not be verified")
                || html.contains("Fake's answer could not be verified"),
            "{mode:?}: {html}"
        );
        let last = failures(&app).await.into_iter().next().unwrap();
        assert_eq!(last["reason"], "invalid", "{mode:?}");
        assert!(last["error"].as_str().unwrap().contains(why), "{mode:?}: {last}");
    }
    let sign_ins = crate::upstream::audit_events(
        &app.state.db,
        &AuditFilter { event_type: Some("sign_in".into()), ..AuditFilter::default() },
    )
    .await;
    assert_eq!(sign_ins.len(), 1, "only the well-behaved sign-in");

    // A callback without this browser's journey cookie (another browser) is refused too.
    fake.lock().unwrap().mode = Misbehaviour::None;
    let browser_a = browser();
    let start = browser_a.get(app.url("/login/upstream/fake")).send().await.unwrap();
    let to_fake = start.headers()["location"].to_str().unwrap().to_string();
    let back = browser_a.get(&to_fake).send().await.unwrap();
    let callback = back.headers()["location"].to_str().unwrap().to_string();
    let stranger = browser().get(&callback).send().await.unwrap();
    assert_eq!(stranger.status(), 400);
    assert!(stranger.text().await.unwrap().contains("started in another browser"));
    // The journey is single-use: its own browser cannot replay the callback after a success.
    assert_eq!(browser_a.get(&callback).send().await.unwrap().status(), 303);
    assert_eq!(browser_a.get(&callback).send().await.unwrap().status(), 400);
}

#[tokio::test]
async fn a_slow_or_failing_upstream_gets_the_not_answering_page() {
    let env = TestEnv::new().await;
    let app = env.spawn_app_with(|settings| settings.upstream.timeout_secs = 1).await;
    let (issuer, fake) = fake_provider().await;
    let settings = ProviderSettings { auto_create: true, ..fake_settings(issuer) };
    upstream::add_upstream(&app.state, &Actor::Cli, "fake", settings).await.unwrap();
    for mode in [Misbehaviour::Slow, Misbehaviour::ServerError] {
        fake.lock().unwrap().mode = mode;
        let (status, html) = through_fake(&app).await.page();
        assert_eq!(status, 502, "{mode:?}");
        assert!(html.contains("Fake is not answering; try again or use another way to sign in."), "{html}");
        assert!(html.contains("Back to sign-in"));
        let last = failures(&app).await.into_iter().next().unwrap();
        assert_eq!(last["reason"], "unavailable", "{mode:?}: {last}");
    }
    assert!(failures(&app).await[1]["error"].as_str().unwrap().contains("timed out"));

    // An upstream that is not there at all (its port closed): the same page, at the start.
    let gone = ProviderSettings {
        display_name: Some("Gone".into()),
        issuer: "http://127.0.0.1:9".into(),
        client_id: "downstream".into(),
        secret: Some(SecretString::from("s".to_string())),
        ..ProviderSettings::default()
    };
    upstream::add_upstream(&app.state, &Actor::Cli, "gone", gone).await.unwrap();
    let response = browser().get(app.url("/login/upstream/gone")).send().await.unwrap();
    assert_eq!(response.status(), 502);
    assert!(response.text().await.unwrap().contains("Gone is not answering"));
    // An unknown or disabled upstream is a 404 page, not an error.
    assert_eq!(browser().get(app.url("/login/upstream/nope")).send().await.unwrap().status(), 404);
    assert_eq!(
        browser().get(app.url("/login/upstream/nope/callback?code=x&state=y")).send().await.unwrap().status(),
        404
    );
}

#[tokio::test]
async fn a_wrong_nonce_from_a_real_upstream_is_refused() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    crate::upstream::shop(&app).await;
    let corp = upstream_latchkey(&app, "corp").await;
    person(&corp.app, "ivan", "ivan@corp.example", true).await;
    let settings = ProviderSettings { auto_create: true, ..settings_for(&corp) };
    upstream::add_upstream(&app.state, &Actor::Cli, "corp", settings).await.unwrap();
    // The browser's trip upstream, with the nonce changed on the way (an attacker's
    // replayed ID token carries another nonce).
    let browser = browser();
    let start = browser.get(app.url("/login/upstream/corp")).send().await.unwrap();
    let to_upstream = start.headers()["location"].to_str().unwrap().to_string();
    let mut url = url::Url::parse(&to_upstream).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.to_string(), if k == "nonce" { "tampered".to_string() } else { v.into_owned() }))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let (status, html) = browse(&browser, url.as_str(), &corp, "ivan").await.page();
    assert_eq!(status, 502);
    assert!(html.contains("answer could not be verified"), "{html}");
    let filter = AuditFilter { event_type: Some("upstream_sign_in_failed".into()), ..AuditFilter::default() };
    let event = &crate::upstream::audit_events(&app.state.db, &filter).await[0];
    assert!(event.details["error"].as_str().unwrap().contains("nonce"), "{}", event.details);
    assert!(latchkey::domain::users::find_by_username(&app.state.db, "ivan").await.is_err());
    // The same upstream, untampered, signs ivan in.
    let callback = sign_in_through(&app, &crate::upstream::browser(), &corp, "ivan").await.away();
    assert!(callback.contains("code="), "{callback}");
}

#[tokio::test]
async fn upstream_mfa_counts_only_when_trusted_and_rotated_keys_are_fetched_again() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let (issuer, fake) = fake_provider().await;
    let settings = ProviderSettings { auto_create: true, ..fake_settings(issuer) };
    upstream::add_upstream(&app.state, &Actor::Cli, "fake", settings.clone()).await.unwrap();
    let last_amr = || async {
        let filter = AuditFilter { event_type: Some("sign_in".into()), ..AuditFilter::default() };
        crate::upstream::audit_events(&app.state.db, &filter).await[0].details["amr"].clone()
    };
    // The upstream says mfa; not trusted, the sign-in is single-factor here.
    assert!(matches!(through_fake(&app).await, Stop::Away(_)));
    assert_eq!(last_amr().await, json!(["fed"]));
    let trusted = ProviderSettings { trust_mfa: true, secret: None, ..settings };
    upstream::update_upstream(&app.state, &Actor::Cli, "fake", trusted).await.unwrap();
    assert!(matches!(through_fake(&app).await, Stop::Away(_)));
    assert_eq!(last_amr().await, json!(["fed", "mfa"]));

    // The upstream rotates its key: the unknown kid fetches the key set again.
    fake.lock().unwrap().key = signing_key();
    assert!(matches!(through_fake(&app).await, Stop::Away(_)), "a rotated key is found");
    // Again at once: forced fetches are rate-limited, so this one is refused.
    fake.lock().unwrap().key = signing_key();
    let (status, _) = through_fake(&app).await.page();
    assert_eq!(status, 502);
    let last = failures(&app).await.into_iter().next().unwrap();
    assert!(last["error"].as_str().unwrap().contains("not in the upstream's key set"), "{last}");
}

#[tokio::test]
async fn a_re_authentication_through_an_upstream_needs_a_fresh_upstream_sign_in() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let (issuer, fake) = fake_provider().await;
    let settings = ProviderSettings { auto_create: true, ..fake_settings(issuer) };
    upstream::add_upstream(&app.state, &Actor::Cli, "fake", settings).await.unwrap();
    let reauthenticate = "/login/upstream/fake?next=%2Faccount&prompt=login";
    // The upstream is asked to sign the user in again; its token without auth_time is refused.
    let (status, _) = through_fake_from(&app, reauthenticate).await.page();
    assert_eq!(status, 502);
    assert_eq!(fake.lock().unwrap().prompt.as_deref(), Some("login"));
    let last = failures(&app).await.into_iter().next().unwrap();
    assert!(last["error"].as_str().unwrap().contains("did not sign the user in again"), "{last}");
    // An old sign-in upstream is refused too; a fresh one is accepted.
    fake.lock().unwrap().auth_time = Some(latchkey::domain::now() - 3600);
    assert_eq!(through_fake_from(&app, reauthenticate).await.page().0, 502);
    fake.lock().unwrap().auth_time = Some(latchkey::domain::now());
    assert!(matches!(through_fake_from(&app, reauthenticate).await, Stop::Away(to) if to == "/account"));
    // An ordinary sign-in asks nothing of the kind.
    fake.lock().unwrap().auth_time = None;
    assert!(matches!(through_fake(&app).await, Stop::Away(_)));
    assert_eq!(fake.lock().unwrap().prompt, None);
}

#[tokio::test]
async fn an_upstream_whose_discovery_names_a_plain_http_endpoint_is_refused() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let (issuer, fake) = fake_provider().await;
    fake.lock().unwrap().mode = Misbehaviour::HttpEndpoint;
    upstream::add_upstream(&app.state, &Actor::Cli, "fake", fake_settings(issuer)).await.unwrap();
    let response = browser().get(app.url("/login/upstream/fake")).send().await.unwrap();
    assert_eq!(response.status(), 502, "never sent off to the upstream");
    assert!(response.text().await.unwrap().contains("answer could not be verified"));
    let last = failures(&app).await.into_iter().next().unwrap();
    assert!(last["error"].as_str().unwrap().contains("token_endpoint"), "{last}");
    assert!(last["error"].as_str().unwrap().contains("must be https"), "{last}");
}
