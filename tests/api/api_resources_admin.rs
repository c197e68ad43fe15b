//! API resources from every admin surface: the CLI, the admin API, the console and
//! bootstrap, each audited.

use serde_json::json;

use crate::admin_api::{admin_token, call};
use crate::admin_console::signed_in_browser;
use crate::helpers::TestEnv;

#[tokio::test]
async fn apis_are_managed_from_the_cli_the_admin_api_and_the_console_and_audited() {
    let env = TestEnv::new().await;
    env.latchkey(&["migrate"], None).assert_success();
    let added = env.latchkey(
        &["api", "add", "https://mcp.example/mcp", "--scope", "tools:read", "tools:call", "--name", "MCP tools"],
        None,
    );
    added.assert_success();
    env.latchkey(&["api", "add", "http://api.example/", "--scope", "read"], None).assert_refused("loopback");
    env.latchkey(&["api", "add", "https://x.example/", "--scope", "openid"], None).assert_refused("Latchkey's own");
    let listed = env.latchkey(&["api", "list"], None);
    assert!(listed.assert_success().stdout.contains("MCP tools"), "{}", listed.stdout);

    let app = env.spawn_app().await;
    let token = admin_token(&app).await;
    let encoded = "/apis/https%3A%2F%2Fmcp.example%2Fmcp";
    let (status, api) = call(&app, &token, "GET", encoded, None).await;
    assert_eq!((status, api["scopes"].clone()), (200, json!(["tools:read", "tools:call"])), "{api}");
    let body = json!({ "name": "MCP", "scopes": ["tools:read"], "access_token_ttl_secs": 300, "require_dpop": true });
    let (status, api) = call(&app, &token, "PUT", encoded, Some(body)).await;
    assert_eq!((status, api["require_dpop"].as_bool(), api["name"].as_str()), (200, Some(true), Some("MCP")));
    let body = json!({ "identifier": "https://billing.example/", "scopes": ["invoices:read"] });
    assert_eq!(call(&app, &token, "POST", "/apis", Some(body.clone())).await.0, 201);
    assert_eq!(call(&app, &token, "POST", "/apis", Some(body)).await.0, 409);
    let bad = json!({ "identifier": "https://bad.example/#x", "scopes": ["a"] });
    let (status, error) = call(&app, &token, "POST", "/apis", Some(bad)).await;
    assert_eq!((status, error["fields"]["identifier"].is_string()), (400, true), "{error}");
    assert_eq!(call(&app, &token, "DELETE", "/apis/https%3A%2F%2Fbilling.example%2F", None).await.0, 204);
    assert_eq!(call(&app, &token, "GET", "/apis/https%3A%2F%2Fbilling.example%2F", None).await.0, 404);

    let (browser, csrf) = signed_in_browser(&app, "root", true).await;
    let page = browser.get(app.url("/admin/apis")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("https://mcp.example/mcp"));
    let form = [
        ("csrf_token", csrf.as_str()),
        ("identifier", "http://localhost:9000/api"),
        ("name", "Local"),
        ("scopes", "things:read"),
        ("access_token_ttl_secs", ""),
    ];
    let created = browser.post(app.url("/admin/apis")).form(&form).send().await.unwrap();
    assert_eq!(created.status(), 303);
    let form = [("csrf_token", csrf.as_str()), ("identifier", "https://y.example/"), ("scopes", "")];
    let refused = browser.post(app.url("/admin/apis")).form(&form).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("at least one scope"));
    let forged = browser.post(app.url("/admin/apis/delete")).form(&[("identifier", "http://localhost:9000/api")]);
    assert_eq!(forged.send().await.unwrap().status(), 403, "no CSRF token, no change");
    let form = [("csrf_token", csrf.as_str()), ("identifier", "http://localhost:9000/api")];
    assert_eq!(browser.post(app.url("/admin/apis/delete")).form(&form).send().await.unwrap().status(), 303);

    let (_, events) = call(&app, &token, "GET", "/audit?event_type=admin_action&per_page=200", None).await;
    let actions: Vec<(String, String)> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some((e["details"]["action"].as_str()?.to_string(), e["details"]["api"].as_str()?.to_string())))
        .collect();
    for expected in [
        ("create_api", "https://mcp.example/mcp"),
        ("update_api", "https://mcp.example/mcp"),
        ("delete_api", "https://billing.example/"),
        ("create_api", "http://localhost:9000/api"),
        ("delete_api", "http://localhost:9000/api"),
    ] {
        assert!(actions.contains(&(expected.0.into(), expected.1.into())), "{expected:?} in {actions:?}");
    }
}

#[tokio::test]
async fn bootstrap_declares_apis_idempotently() {
    let env = TestEnv::new().await;
    let path = env.dir.path().join("bootstrap.toml");
    std::fs::write(
        &path,
        r#"
[[apis]]
identifier = "https://mcp.example/mcp"
name = "MCP tools"
scopes = ["tools:read", "tools:call"]
access_token_ttl_secs = 300
"#,
    )
    .unwrap();
    let file = path.display().to_string();
    for _ in 0..2 {
        let app = env.spawn_app_with(|s| s.bootstrap.file = file.clone()).await;
        let apis = latchkey::domain::resources::list_apis(&app.state.db).await.unwrap();
        assert_eq!(apis.len(), 1);
        assert_eq!((apis[0].name.as_str(), apis[0].access_token_ttl_secs), ("MCP tools", Some(300)));
    }
    let filter = latchkey::domain::model::AuditFilter { event_type: Some("admin_action".into()), ..Default::default() };
    let (events, _) = latchkey::domain::audit::search(&env.database().await, &filter, 0, 100).await.unwrap();
    let api_actions: Vec<&str> = events
        .iter()
        .filter(|(_, e)| e.details["api"] == "https://mcp.example/mcp")
        .filter_map(|(_, e)| e.details["action"].as_str())
        .collect();
    assert_eq!(api_actions, ["create_api"], "created once, by bootstrap; the second start changes nothing");
}
