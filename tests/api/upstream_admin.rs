//! Managing upstreams like clients: the CLI, the admin API (and its OpenAPI document), the
//! console and bootstrap, each audited; secrets sealed at rest; a client that offers only
//! its upstreams.

use latchkey::domain::audit::{Actor, AuditFilter};
use latchkey::domain::clients::{self, ClientPolicy};
use latchkey::domain::upstream::{self, ProviderSettings};
use sea_orm::{ConnectionTrait, Statement};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::admin_api::{admin_token, call};
use crate::admin_console::signed_in_browser;
use crate::flow::{ClientOptions, REDIRECT_URI, hidden_field, pkce, register_client};
use crate::helpers::TestEnv;

async fn admin_actions(app: &crate::helpers::TestApp) -> Vec<String> {
    let filter = AuditFilter { event_type: Some("admin_action".into()), ..AuditFilter::default() };
    let events = crate::upstream::audit_events(&app.state.db, &filter).await;
    events
        .into_iter()
        .filter(|e| e.details.get("upstream").is_some())
        .map(|e| e.details["action"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_cli_adds_lists_and_deletes_upstreams_with_the_secret_sealed() {
    let env = TestEnv::new().await;
    let secret = "corp-client-secret-that-must-not-leak";
    env.latchkey(
        &[
            "upstream",
            "add",
            "corp",
            "--issuer",
            "https://idp.corp.example",
            "--client-id",
            "latchkey",
            "--secret-stdin",
            "--scope",
            "openid",
            "--scope",
            "email,groups",
            "--display-name",
            "Corp SSO",
            "--auto-create",
            "--groups-claim",
            "groups",
        ],
        Some(secret),
    )
    .assert_success();
    let out = env.latchkey(
        &["upstream", "add", "gh", "--kind", "github", "--client-id", "Iv1.abc", "--secret-stdin"],
        Some("gh-secret"),
    );
    assert!(out.assert_success().stdout.contains("/login/upstream/gh/callback"), "{}", out.stdout);
    env.latchkey(
        &["upstream", "add", "bad", "--issuer", "http://idp.example", "--client-id", "x", "--secret-stdin"],
        Some("s"),
    )
    .assert_refused("must be https");
    env.latchkey(&["upstream", "add", "nosecret", "--issuer", "https://idp.example", "--client-id", "x"], None)
        .assert_refused("--secret-stdin");
    env.latchkey(
        &["upstream", "add", "Bad Name", "--issuer", "https://idp.example", "--client-id", "x", "--secret-stdin"],
        Some("s"),
    )
    .assert_refused("upstream name");

    let list = env.latchkey(&["upstream", "list", "--output", "json"], None);
    let list: Value = serde_json::from_str(&list.assert_success().stdout).unwrap();
    assert_eq!(list[0]["name"], "corp");
    assert_eq!(list[0]["display_name"], "Corp SSO");
    assert_eq!(list[0]["scopes"], json!(["openid", "email", "groups"]));
    assert_eq!(list[0]["auto_create"], true);
    assert_eq!(list[1]["issuer"], "https://github.com");
    assert_eq!(list[1]["api_url"], "https://api.github.com");
    assert!(!list.to_string().contains(secret), "the secret is never shown");
    let text = env.latchkey(&["upstream", "list"], None);
    assert!(text.assert_success().stdout.contains("Corp SSO"));

    // At rest the secret is sealed under the master key.
    let db = env.database().await;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT sealed_secret FROM upstream_providers",
        ))
        .await
        .unwrap();
    for row in rows {
        let sealed: Vec<u8> = row.try_get("", "sealed_secret").unwrap();
        assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }
    let app = env.spawn_app().await;
    let corp = upstream::find_upstream(&app.state.db, "corp").await.unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(upstream::client_secret(&app.state, &corp).unwrap().expose_secret(), secret);

    env.latchkey(&["upstream", "delete", "gh"], None).assert_success();
    env.latchkey(&["upstream", "delete", "gh"], None).assert_refused("no upstream");
    assert_eq!(admin_actions(&app).await, vec!["delete_upstream", "create_upstream", "create_upstream"]);
}

#[tokio::test]
async fn the_admin_api_manages_upstreams_and_documents_them() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let token = admin_token(&app).await;
    latchkey::domain::groups::add_group(&app.state, &Actor::Cli, "engineering", "").await.unwrap();
    let body = json!({
        "name": "entra", "issuer": "https://login.microsoftonline.com/tenant/v2.0", "client_id": "app-id",
        "client_secret": "entra-secret", "display_name": "Microsoft", "groups_claim": "groups",
        "group_map": { "0b1c-guid": "engineering" }, "trust_mfa": true,
    });
    let (status, created) = call(&app, &token, "POST", "/upstreams", Some(body.clone())).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["redirect_uri"], format!("{}/login/upstream/entra/callback", app.address));
    assert_eq!(created["scopes"], json!(["openid", "email", "profile"]));
    assert!(created.get("client_secret").is_none());
    assert_eq!(call(&app, &token, "POST", "/upstreams", Some(body.clone())).await.0, 409);
    let mut bad = body.clone();
    bad["name"] = json!("other");
    bad["group_map"] = json!({ "x": "latchkey-admins" });
    let (status, error) = call(&app, &token, "POST", "/upstreams", Some(bad)).await;
    assert_eq!(status, 400, "admins are made in Latchkey, not upstream: {error}");
    let mut no_secret = body.clone();
    no_secret["name"] = json!("other");
    no_secret.as_object_mut().unwrap().remove("client_secret");
    assert_eq!(call(&app, &token, "POST", "/upstreams", Some(no_secret)).await.0, 400);

    // An update without a secret keeps the stored one.
    let mut update = body.clone();
    update.as_object_mut().unwrap().remove("client_secret");
    update["enabled"] = json!(false);
    let (status, updated) = call(&app, &token, "PUT", "/upstreams/entra", Some(update)).await;
    assert_eq!((status, updated["enabled"].clone()), (200, json!(false)));
    let stored = upstream::find_upstream(&app.state.db, "entra").await.unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(upstream::client_secret(&app.state, &stored).unwrap().expose_secret(), "entra-secret");
    let (_, list) = call(&app, &token, "GET", "/upstreams", None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    // A disabled upstream shows no button.
    let login = app.get("/login").await.text().await.unwrap();
    assert!(!login.contains("Continue with Microsoft"));
    assert_eq!(call(&app, &token, "DELETE", "/upstreams/entra", None).await.0, 204);
    assert_eq!(call(&app, &token, "GET", "/upstreams/entra", None).await.0, 404);
    assert_eq!(call(&app, "", "GET", "/upstreams", None).await.0, 401);

    let openapi: Value = app.get("/admin/api/openapi.json").await.json().await.unwrap();
    assert!(openapi["paths"]["/admin/api/upstreams"]["post"].is_object(), "{}", openapi["paths"]);
    assert!(openapi["paths"]["/admin/api/upstreams/{name}"]["put"].is_object());
    assert_eq!(admin_actions(&app).await, vec!["delete_upstream", "update_upstream", "create_upstream"]);
}

#[tokio::test]
async fn the_console_adds_and_deletes_an_upstream() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let (browser, csrf) = signed_in_browser(&app, "root", true).await;
    let page = browser.get(app.url("/admin/upstreams")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("/login/upstream/NAME/callback"), "{page}");
    let form = [
        ("csrf_token", csrf.as_str()),
        ("name", "google"),
        ("kind", "oidc"),
        ("display_name", "Google"),
        ("issuer", "https://accounts.google.com"),
        ("client_id", "123.apps.googleusercontent.com"),
        ("client_secret", "google-secret"),
        ("enabled", "on"),
        ("trust_email", "on"),
    ];
    let response = browser.post(app.url("/admin/upstreams")).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let google = upstream::find_upstream(&app.state.db, "google").await.unwrap();
    assert!(google.trust_email && !google.auto_create);
    let login = app.get("/login").await.text().await.unwrap();
    assert!(login.contains("Continue with Google"), "{login}");
    // A mistake is shown on the page, not a 500.
    let bad = [
        ("csrf_token", csrf.as_str()),
        ("name", "x"),
        ("issuer", "ftp://x"),
        ("client_id", "c"),
        ("client_secret", "s"),
    ];
    let response = browser.post(app.url("/admin/upstreams")).form(&bad).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("must be https"));
    let delete = [("csrf_token", csrf.as_str()), ("name", "google")];
    assert_eq!(browser.post(app.url("/admin/upstreams/delete")).form(&delete).send().await.unwrap().status(), 303);
    assert!(upstream::list_upstreams(&app.state.db).await.unwrap().is_empty());
}

#[tokio::test]
async fn bootstrap_declares_upstreams_idempotently() {
    let env = TestEnv::new().await;
    let secret = env.dir.path().join("corp-secret");
    std::fs::write(&secret, "bootstrap-secret\n").unwrap();
    let file = env.dir.path().join("bootstrap.toml");
    std::fs::write(
        &file,
        format!(
            r#"
[[upstreams]]
name = "corp"
display_name = "Corp"
issuer = "https://idp.corp.example"
client_id = "latchkey"
secret = {{ file = "{}" }}
auto_create = true

[[upstreams]]
name = "github"
kind = "github"
client_id = "Iv1.abc"
secret = {{ file = "{}" }}
"#,
            secret.display(),
            secret.display()
        ),
    )
    .unwrap();
    let file = file.display().to_string();
    for _ in 0..2 {
        let app = env.spawn_app_with(|s| s.bootstrap.file = file.clone()).await;
        let list = upstream::list_upstreams(&app.state.db).await.unwrap();
        assert_eq!(list.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), vec!["corp", "github"]);
        assert!(list[0].auto_create);
        assert_eq!(admin_actions(&app).await.len(), 2, "the second start changes nothing");
    }
}

#[tokio::test]
async fn a_client_can_offer_only_its_upstreams() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let rp = register_client(&app, "portal", ClientOptions { first_party: true, ..Default::default() }).await;
    let settings = ProviderSettings {
        display_name: Some("Corp".into()),
        issuer: "https://idp.corp.example".into(),
        client_id: "latchkey".into(),
        secret: Some(SecretString::from("s".to_string())),
        ..ProviderSettings::default()
    };
    upstream::add_upstream(&app.state, &Actor::Cli, "corp", settings).await.unwrap();
    let policy = ClientPolicy { upstream_only: true, ..ClientPolicy::default() };
    clients::set_policy(&app.state, &Actor::Cli, "portal", policy).await.unwrap();
    crate::flow::add_user(&app, "alice").await;

    let pkce = pkce();
    let login = crate::flow::location(&app.authorize(&rp, &pkce, &[]).await);
    let html = app.get(&login).await.text().await.unwrap();
    assert!(html.contains("Continue with Corp"), "{html}");
    assert!(!html.contains("name=\"password\""), "no password form for this client");
    assert!(!html.contains("passkey-sign-in"), "no passkey button either");
    // A password posted anyway does not sign in.
    let page = app.get("/login").await.text().await.unwrap();
    let form = [
        ("csrf_token", hidden_field(&page, "csrf_token")),
        ("request", login.trim_start_matches("/login?request=").to_string()),
        ("username", "alice".into()),
        ("password", crate::flow::PASSWORD.into()),
    ];
    let refused = app.client.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    // Other clients keep the password form.
    let plain = app.get("/login").await.text().await.unwrap();
    assert!(plain.contains("name=\"password\"") && plain.contains("Continue with Corp"));
    let _ = REDIRECT_URI;
}
