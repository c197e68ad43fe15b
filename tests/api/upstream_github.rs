//! The `github` kind against a small GitHub of the test's own: the three endpoints
//! Latchkey uses (`/login/oauth/access_token`, `/api/user`, `/api/user/emails`), and the
//! authorize page a browser passes through.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use latchkey::domain::audit::{Actor, AuditFilter};
use latchkey::domain::upstream::{self, ProviderSettings, UpstreamKind};
use latchkey::domain::users;
use secrecy::SecretString;
use serde_json::json;

use crate::helpers::TestEnv;
use crate::upstream::{Stop, browser};

#[derive(Default)]
struct FakeGithub {
    /// The form the token endpoint last got.
    token_form: Vec<(String, String)>,
    /// Whether the primary address is verified.
    verified: bool,
    /// Authorization headers the API calls carried.
    api_auth: Vec<String>,
}

type Shared = Arc<Mutex<FakeGithub>>;

#[derive(serde::Deserialize)]
struct AuthorizeQuery {
    redirect_uri: String,
    state: String,
}

async fn authorize(query: web::Query<AuthorizeQuery>) -> HttpResponse {
    let state: String = url::form_urlencoded::byte_serialize(query.state.as_bytes()).collect();
    let location = format!("{}?code=gh-code&state={state}", query.redirect_uri);
    HttpResponse::Found().insert_header(("location", location)).finish()
}

async fn access_token(fake: web::Data<Shared>, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
    let form = form.into_inner();
    let code = form.iter().find(|(k, _)| k == "code").map(|(_, v)| v.clone());
    fake.lock().unwrap().token_form = form;
    if code.as_deref() != Some("gh-code") {
        // GitHub answers a bad code with 200 and an error member.
        return HttpResponse::Ok().json(json!({ "error": "bad_verification_code" }));
    }
    HttpResponse::Ok()
        .json(json!({ "access_token": "gho_test", "token_type": "bearer", "scope": "read:user,user:email" }))
}

fn note_auth(fake: &Shared, request: &HttpRequest) -> bool {
    let auth = request.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let ok = auth == "Bearer gho_test";
    fake.lock().unwrap().api_auth.push(auth);
    ok
}

async fn user(fake: web::Data<Shared>, request: HttpRequest) -> HttpResponse {
    if !note_auth(&fake, &request) {
        return HttpResponse::Unauthorized().json(json!({ "message": "Bad credentials" }));
    }
    HttpResponse::Ok().json(json!({ "id": 583231, "login": "octocat", "name": "The Octocat", "email": null }))
}

async fn emails(fake: web::Data<Shared>, request: HttpRequest) -> HttpResponse {
    if !note_auth(&fake, &request) {
        return HttpResponse::Unauthorized().json(json!({ "message": "Bad credentials" }));
    }
    let verified = fake.lock().unwrap().verified;
    HttpResponse::Ok().json(json!([
        { "email": "octo@old.example", "primary": false, "verified": true, "visibility": null },
        { "email": "octocat@github.example", "primary": true, "verified": verified, "visibility": "public" },
    ]))
}

async fn fake_github() -> (String, Shared) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let shared: Shared = Arc::new(Mutex::new(FakeGithub { verified: true, ..FakeGithub::default() }));
    let data = web::Data::new(shared.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/login/oauth/authorize", web::get().to(authorize))
            .route("/login/oauth/access_token", web::post().to(access_token))
            .route("/api/user", web::get().to(user))
            .route("/api/user/emails", web::get().to(emails))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (base, shared)
}

/// The fake GitHub as upstream `github`: auto-create, trusted addresses.
fn github_settings(base: &str) -> ProviderSettings {
    ProviderSettings {
        kind: UpstreamKind::Github,
        display_name: Some("GitHub".into()),
        issuer: base.to_string(),
        api_url: Some(format!("{base}/api")),
        client_id: "gh-client".into(),
        secret: Some(SecretString::from("gh-secret".to_string())),
        auto_create: true,
        trust_email: true,
        ..ProviderSettings::default()
    }
}

/// Through the fake GitHub from the login page's button to where the browser ends up.
async fn through_github(app: &crate::helpers::TestApp) -> Stop {
    let browser = browser();
    let login = browser.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let start = crate::upstream::continue_with(&login, "GitHub");
    let mut url = app.url(&start);
    for _ in 0..5 {
        let response = browser.get(&url).send().await.unwrap();
        let status = response.status().as_u16();
        if !matches!(status, 302 | 303) {
            return Stop::Page { status, url, html: response.text().await.unwrap() };
        }
        let location = response.headers()["location"].to_str().unwrap().to_string();
        if location.starts_with('/') && location.starts_with("/account") {
            return Stop::Away(location);
        }
        url = url::Url::parse(&url).unwrap().join(&location).unwrap().to_string();
    }
    panic!("too many redirects")
}

#[tokio::test]
async fn github_users_sign_in_with_their_verified_primary_address() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let (base, github) = fake_github().await;
    // Someone else is "octocat" here already: the new user gets a suffix.
    crate::upstream::person(&app, "octocat", "someone@else.example", true).await;
    let settings = github_settings(&base);
    let added = upstream::add_upstream(&app.state, &Actor::Cli, "github", settings).await.unwrap();
    assert_eq!(added.scopes, vec!["read:user", "user:email"]);
    assert_eq!(added.username_claim, "login");

    let end = through_github(&app).await;
    assert!(matches!(&end, Stop::Away(location) if location == "/account"), "{end:?}");
    let octocat = users::find_by_username(&app.state.db, "octocat-2").await.unwrap();
    assert_eq!(octocat.email.as_deref(), Some("octocat@github.example"), "the primary address, not the other one");
    assert!(octocat.email_verified);
    assert_eq!(octocat.display_name.as_deref(), Some("The Octocat"));
    {
        let fake = github.lock().unwrap();
        let form = &fake.token_form;
        let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        assert_eq!(field("client_id"), Some("gh-client"));
        assert_eq!(field("client_secret"), Some("gh-secret"));
        assert_eq!(field("redirect_uri"), Some(format!("{}/login/upstream/github/callback", app.address).as_str()));
        assert!(field("code_verifier").is_some_and(|v| v.len() >= 43), "PKCE");
        assert_eq!(fake.api_auth, vec!["Bearer gho_test", "Bearer gho_test"]);
    }
    let filter = AuditFilter { event_type: Some("sign_in".into()), ..AuditFilter::default() };
    let sign_in = &crate::upstream::audit_events(&app.state.db, &filter).await[0];
    assert_eq!(sign_in.details["amr"], json!(["fed"]));
    assert_eq!(sign_in.subject_user_id.as_deref(), Some(octocat.id.as_str()));

    // Signing in again is the same user (linked by GitHub's numeric id).
    assert!(matches!(through_github(&app).await, Stop::Away(_)));
    assert_eq!(users::find_by_username(&app.state.db, "octocat-2").await.unwrap().id, octocat.id);
    assert!(users::find_by_username(&app.state.db, "octocat-3").await.is_err());
}

#[tokio::test]
async fn an_unverified_github_address_links_no_existing_account() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let (base, github) = fake_github().await;
    github.lock().unwrap().verified = false;
    // An account with the GitHub user's address, verified here.
    let victim = crate::upstream::person(&app, "octocat", "octocat@github.example", true).await;
    let settings = github_settings(&base);
    upstream::add_upstream(&app.state, &Actor::Cli, "github", settings).await.unwrap();
    let (status, html) = through_github(&app).await.page();
    assert_eq!(status, 409);
    assert!(html.contains("Link your account first"), "{html}");
    // No link was made, and no second account either.
    assert!(users::find_by_username(&app.state.db, "octocat-2").await.is_err());
    assert!(upstream::upstreams_of(&app.state.db, &victim.id).await.unwrap()[0].link.is_none());

    // With the address verified at GitHub, the trusted upstream links the account.
    github.lock().unwrap().verified = true;
    assert!(matches!(through_github(&app).await, Stop::Away(_)));
    assert!(upstream::upstreams_of(&app.state.db, &victim.id).await.unwrap()[0].link.is_some());
}
