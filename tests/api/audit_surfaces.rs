//! One audit event per action, whichever surface performs it: the console, the admin API,
//! the CLI and bootstrap call the same domain operation, which records it.

use latchkey::domain::audit::{self, AuditEvent, AuditFilter};
use serde_json::{Value, json};

use crate::admin_api::{admin_token, call};
use crate::admin_console::signed_in_browser;
use crate::helpers::{TestApp, TestEnv};

/// The `admin_action` events about `client_id`, newest first.
async fn client_events(app: &TestApp, client_id: &str) -> Vec<AuditEvent> {
    let filter = AuditFilter {
        client_id: Some(client_id.into()),
        event_type: Some("admin_action".into()),
        ..AuditFilter::default()
    };
    audit::search(&app.state.db, &filter, 0, 50).await.unwrap().0.into_iter().map(|(_, event)| event).collect()
}

#[tokio::test]
async fn registering_a_client_is_the_same_audit_event_from_the_console_the_api_the_cli_and_bootstrap() {
    let env = TestEnv::new().await;
    let bootstrap = env.dir.path().join("bootstrap.toml");
    std::fs::write(
        &bootstrap,
        "[[clients]]\nclient_id = \"from-bootstrap\"\npublic = true\nredirect_uris = [\"https://b.example/cb\"]\n",
    )
    .unwrap();
    let bootstrap = bootstrap.display().to_string();
    let app = env.spawn_app_with(|settings| settings.bootstrap.file = bootstrap.clone()).await;

    let token = admin_token(&app).await;
    let body = json!({ "client_id": "from-api", "redirect_uris": ["https://a.example/cb"] });
    assert_eq!(call(&app, &token, "POST", "/clients", Some(body)).await.0, 201);

    let (browser, csrf) = signed_in_browser(&app, "root", true).await;
    let form = [
        ("csrf_token", csrf.as_str()),
        ("client_id", "from-console"),
        ("client_type", "confidential"),
        ("redirect_uris", "https://c.example/cb"),
        ("scope", "openid"),
        ("grant", "authorization_code"),
    ];
    assert_eq!(browser.post(app.url("/admin/clients")).form(&form).send().await.unwrap().status(), 200);

    env.latchkey(&["client", "add", "from-cli", "--redirect-uri", "https://d.example/cb"], None).assert_success();

    let root = latchkey::domain::users::find_by_username(&app.state.db, "root").await.unwrap();
    let expected_actor = [
        ("from-bootstrap", None, json!({ "action": "create_client", "by": "bootstrap" })),
        ("from-api", None, json!({ "action": "create_client", "by_client": "ops" })),
        ("from-console", Some(root.id.as_str()), json!({ "action": "create_client", "by_client": Value::Null })),
        ("from-cli", None, json!({ "action": "create_client", "by": "cli" })),
    ];
    for (client_id, actor_user_id, details) in expected_actor {
        let events = client_events(&app, client_id).await;
        assert_eq!(events.len(), 1, "{client_id}: one event: {events:?}");
        assert_eq!(events[0].event_type, "admin_action", "{client_id}");
        assert_eq!(events[0].details, details, "{client_id}");
        assert_eq!(events[0].actor_user_id.as_deref(), actor_user_id, "{client_id}");
    }

    // Bootstrap applies its file at every start; an unchanged client is no new event.
    drop(app);
    let again = env.spawn_app_with(|settings| settings.bootstrap.file = bootstrap.clone()).await;
    assert_eq!(client_events(&again, "from-bootstrap").await.len(), 1);
}

#[tokio::test]
async fn disabling_a_user_is_the_same_audit_event_from_the_console_the_api_and_the_cli() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let (browser, csrf) = signed_in_browser(&app, "root", true).await;
    let token = admin_token(&app).await;
    let mut ids = Vec::new();
    for name in ["by-console", "by-api", "by-cli"] {
        let body = json!({ "username": name, "password": "pw" });
        let (status, user) = call(&app, &token, "POST", "/users", Some(body)).await;
        assert_eq!(status, 201);
        ids.push(user["id"].as_str().unwrap().to_string());
    }
    let disabled = browser
        .post(app.url(&format!("/admin/users/{}/disable", ids[0])))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    let patch = json!({ "disabled": true });
    assert_eq!(call(&app, &token, "PATCH", &format!("/users/{}", ids[1]), Some(patch)).await.0, 200);
    env.latchkey(&["user", "disable", "by-cli"], None).assert_success();

    for id in &ids {
        let filter = AuditFilter { user_id: Some(id.clone()), ..AuditFilter::default() };
        let (events, _) = audit::search(&app.state.db, &filter, 0, 10).await.unwrap();
        let actions: Vec<&Value> = events.iter().map(|(_, e)| &e.details["action"]).collect();
        assert_eq!(actions, [&json!("disable_user"), &json!("create_user")], "{id}");
    }
}

#[tokio::test]
async fn a_user_acting_for_themselves_cannot_perform_admin_operations() {
    use latchkey::domain::audit::Actor;
    use latchkey::domain::credentials::{self, PasswordReset};
    use latchkey::domain::users::{self, NewUser, UserError};

    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let alice = crate::flow::add_user(&app, "alice").await;
    let bob = crate::flow::add_user(&app, "bob").await;
    let as_alice = Actor::User { user_id: alice.id.clone(), source_ip: None };

    let new =
        NewUser { username: "mallory".into(), email: None, display_name: None, admin: true, password: "pw".into() };
    assert!(matches!(users::add_user(&app.state, &as_alice, new).await, Err(UserError::Forbidden)));
    assert!(matches!(users::set_disabled(&app.state, &as_alice, &bob.id, true).await, Err(UserError::Forbidden)));
    let reset = PasswordReset { password: "new password".into(), temporary: false, remove_passkeys: false };
    assert!(matches!(
        credentials::reset_password(&app.state, &as_alice, &bob.id, reset).await,
        Err(UserError::Forbidden)
    ));
    assert!(!users::find_user(&app.state.db, &bob.id).await.unwrap().disabled);
    let filter = AuditFilter { event_type: Some("admin_action".into()), ..AuditFilter::default() };
    let (events, _) = audit::search(&app.state.db, &filter, 0, 10).await.unwrap();
    assert!(events.iter().all(|(_, e)| e.actor_user_id.as_deref() != Some(alice.id.as_str())), "{events:?}");
}
