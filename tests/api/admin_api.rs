//! The admin API: every operation and its refusals.

use latchkey::domain::audit::Actor;
use latchkey::domain::login::Attempt;
use serde_json::{Value, json};

use crate::flow::{ClientOptions, PASSWORD, Rp, add_user, pkce, register_client};
use crate::helpers::{TestApp, TestEnv};

/// A client an admin allowed the `admin` scope, acting for itself.
async fn ops_client(app: &TestApp) -> Rp {
    let added = latchkey::domain::clients::add_client(
        &app.state,
        &Actor::Cli,
        latchkey::domain::clients::NewClient {
            id: "ops".into(),
            name: None,
            public: false,
            first_party: true,
            require_pkce: false,
            require_par: false,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            logo_uri: None,
            scopes: "admin profile".into(),
            grants: vec!["client_credentials".into()],
            secret: None,
            keys: None,
        },
    )
    .await
    .unwrap();
    use secrecy::ExposeSecret;
    Rp { client_id: "ops".into(), secret: added.generated_secret.map(|s| s.expose_secret().to_string()) }
}

async fn token(app: &TestApp, rp: &Rp, scope: &str) -> String {
    let response: Value =
        app.token(rp, &[("grant_type", "client_credentials"), ("scope", scope)]).await.json().await.unwrap();
    response["access_token"].as_str().unwrap_or_else(|| panic!("{response}")).to_string()
}

pub(crate) async fn admin_token(app: &TestApp) -> String {
    let ops = ops_client(app).await;
    token(app, &ops, "admin").await
}

pub(crate) async fn call(app: &TestApp, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = app.url(&format!("/admin/api{path}"));
    let request = match method {
        "GET" => app.client.get(url),
        "POST" => app.client.post(url),
        "PUT" => app.client.put(url),
        "PATCH" => app.client.patch(url),
        "DELETE" => app.client.delete(url),
        other => panic!("{other}"),
    };
    let request = if token.is_empty() { request } else { request.bearer_auth(token) };
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn only_admin_tokens_and_admin_sessions_may_call_the_api() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let ops = ops_client(&app).await;
    assert_eq!(call(&app, "", "GET", "/users", None).await.0, 401);
    assert_eq!(call(&app, "not-a-token", "GET", "/users", None).await.0, 401);
    let without_admin_scope = token(&app, &ops, "profile").await;
    assert_eq!(call(&app, &without_admin_scope, "GET", "/users", None).await.0, 403);
    let with_admin_scope = token(&app, &ops, "admin").await;
    assert_eq!(call(&app, &with_admin_scope, "GET", "/users", None).await.0, 200);

    // A user's token with the admin scope works only for an admin user.
    let console =
        register_client(&app, "console", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    latchkey::domain::clients::update_client(
        &app.state,
        &Actor::Cli,
        "console",
        latchkey::domain::clients::ClientSettings {
            name: "console".into(),
            first_party: true,
            require_pkce: false,
            require_par: false,
            redirect_uris: vec![crate::flow::REDIRECT_URI.into()],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            logo_uri: None,
            scopes: "openid admin".into(),
            grants: vec!["authorization_code".into()],
            enabled: true,
        },
    )
    .await
    .unwrap();
    add_user(&app, "alice").await;
    let p = pkce();
    let code = app.obtain_code(&console, "alice", &p, &[("scope", "openid admin")]).await;
    let tokens: Value = app.exchange_code(&console, &code, &p.verifier).await.json().await.unwrap();
    let non_admin = tokens["access_token"].as_str().unwrap();
    let (status, body) = call(&app, non_admin, "GET", "/users", None).await;
    assert_eq!(status, 403, "{body}");

    // An admin's browser session works with the CSRF header, not without.
    let admin = latchkey::domain::users::add_user(
        &app.state,
        &Actor::Cli,
        latchkey::domain::users::NewUser {
            username: "root".into(),
            email: None,
            display_name: None,
            admin: true,
            password: PASSWORD.into(),
        },
    )
    .await
    .unwrap();
    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let csrf = crate::flow::hidden_field(&page, "csrf_token");
    browser
        .post(app.url("/login"))
        .form(&[("csrf_token", csrf.as_str()), ("username", "root"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let stale = browser.get(app.url("/admin/api/users")).header("X-CSRF-Token", &csrf).send().await.unwrap();
    assert_eq!(stale.status(), 403, "the login page's token ended with the sign-in");
    let csrf = crate::flow::current_csrf(&app, &browser).await;
    let without = browser.get(app.url("/admin/api/users")).send().await.unwrap();
    assert_eq!(without.status(), 403);
    let with = browser
        .get(app.url(&format!("/admin/api/users/{}", admin.id)))
        .header("X-CSRF-Token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 200);
}

#[tokio::test]
async fn users_can_be_created_searched_edited_and_deleted() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let admin = admin_token(&app).await;
    let (status, created) = call(
        &app,
        &admin,
        "POST",
        "/users",
        Some(json!({ "username": "carol", "email": "carol@example.com", "name": "Carol", "password": "s3cret!" })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();

    assert_eq!(
        call(&app, &admin, "POST", "/users", Some(json!({ "username": "CAROL", "password": "x" }))).await.0,
        409
    );
    let (status, invalid) =
        call(&app, &admin, "POST", "/users", Some(json!({ "username": "bad name", "password": "x" }))).await;
    assert_eq!(status, 400);
    assert!(invalid["fields"]["username"].is_string(), "{invalid}");
    let (_, invalid) =
        call(&app, &admin, "POST", "/users", Some(json!({ "username": "dave", "email": "nope", "password": "x" })))
            .await;
    assert!(invalid["fields"]["email"].is_string(), "{invalid}");
    let (_, invalid) = call(&app, &admin, "POST", "/users", Some(json!({ "username": "dave", "password": "" }))).await;
    assert!(invalid["fields"]["password"].is_string(), "{invalid}");
    let (status, invalid) = call(&app, &admin, "POST", "/users", Some(json!({ "email": "x@example.com" }))).await;
    assert_eq!(status, 400, "a missing field: {invalid}");

    for name in ["erin", "frank", "grace"] {
        call(
            &app,
            &admin,
            "POST",
            "/users",
            Some(json!({ "username": name, "email": format!("{name}@corp.example"), "password": "pw" })),
        )
        .await;
    }
    let (_, page) = call(&app, &admin, "GET", "/users?q=*corp.example&per_page=2", None).await;
    assert_eq!(page["users"].as_array().unwrap().len(), 2);
    let next = page["next"].as_str().unwrap();
    let (_, page2) = call(&app, &admin, "GET", &format!("/users?q=*corp.example&per_page=2&after={next}"), None).await;
    assert_eq!(page2["users"][0]["username"], "grace");
    assert!(page2.get("next").is_none(), "the last page: {page2}");

    let (status, edited) = call(
        &app,
        &admin,
        "PATCH",
        &format!("/users/{id}"),
        Some(json!({ "name": "Carol C.", "admin": true, "disabled": true })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (edited["name"].as_str(), edited["admin"].as_bool(), edited["disabled"].as_bool()),
        (Some("Carol C."), Some(true), Some(true))
    );
    let (status, _) = call(&app, &admin, "PATCH", &format!("/users/{id}"), Some(json!({ "email": "bad" }))).await;
    assert_eq!(status, 400);
    call(&app, &admin, "PATCH", &format!("/users/{id}"), Some(json!({ "disabled": false }))).await;

    assert_eq!(
        call(&app, &admin, "PUT", &format!("/users/{id}/password"), Some(json!({ "password": "brand new" }))).await.0,
        204
    );
    let user =
        latchkey::domain::login::sign_in_with_password(&app.state, "carol", &"brand new".into(), &Attempt::default())
            .await;
    assert!(user.is_ok(), "the new password works");

    assert_eq!(call(&app, &admin, "GET", "/users/no-such-id", None).await.0, 404);
    assert_eq!(call(&app, &admin, "DELETE", &format!("/users/{id}"), None).await.0, 204);
    assert_eq!(call(&app, &admin, "GET", &format!("/users/{id}"), None).await.0, 404);
    assert_eq!(call(&app, &admin, "DELETE", &format!("/users/{id}"), None).await.0, 404);
}

#[tokio::test]
async fn a_deleted_users_refresh_token_stops_working_at_once() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let admin = admin_token(&app).await;
    let user = add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let tokens = app.tokens_for(&rp, "alice").await;

    let (_, grants) = call(&app, &admin, "GET", &format!("/users/{}/grants", user.id), None).await;
    assert_eq!(grants.as_array().unwrap().len(), 1, "{grants}");

    assert_eq!(call(&app, &admin, "DELETE", &format!("/users/{}", user.id), None).await.0, 204);
    let refresh = app
        .token(&rp, &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())])
        .await;
    assert_eq!(refresh.status(), 400);
    assert_eq!(app.userinfo(tokens["access_token"].as_str().unwrap()).await.status(), 401);
}

#[tokio::test]
async fn ending_a_grant_stops_its_refresh_token() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let admin = admin_token(&app).await;
    let user = add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let (_, grants) = call(&app, &admin, "GET", &format!("/users/{}/grants", user.id), None).await;
    let grant = grants[0]["id"].as_str().unwrap();
    assert_eq!(call(&app, &admin, "DELETE", &format!("/users/{}/grants/{grant}", user.id), None).await.0, 204);
    let refresh = app
        .token(&rp, &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())])
        .await;
    assert_eq!(refresh.status(), 400);
    assert_eq!(call(&app, &admin, "GET", &format!("/users/{}/passkeys", user.id), None).await, (200, json!([])));
}

#[tokio::test]
async fn clients_can_be_registered_edited_rotated_disabled_and_deleted() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let admin = admin_token(&app).await;
    let body = json!({ "client_id": "svc", "grants": ["client_credentials"], "scope": "profile" });
    let (status, created) = call(&app, &admin, "POST", "/clients", Some(body.clone())).await;
    assert_eq!(status, 201, "{created}");
    let secret = created["client_secret"].as_str().unwrap().to_string();
    assert_eq!(call(&app, &admin, "POST", "/clients", Some(body)).await.0, 409);
    let (status, invalid) =
        call(&app, &admin, "POST", "/clients", Some(json!({ "client_id": "web", "redirect_uris": ["not a uri"] })))
            .await;
    assert_eq!(status, 400);
    assert!(invalid["fields"]["redirect_uris"].is_string(), "{invalid}");
    let (_, fetched) = call(&app, &admin, "GET", "/clients/svc", None).await;
    assert!(fetched.get("client_secret").is_none(), "the secret is shown once");

    let svc = Rp { client_id: "svc".into(), secret: Some(secret.clone()) };
    assert_eq!(app.token(&svc, &[("grant_type", "client_credentials")]).await.status(), 200);

    let (status, rotated) = call(&app, &admin, "POST", "/clients/svc/secret", None).await;
    assert_eq!(status, 200);
    let new_secret = rotated["client_secret"].as_str().unwrap().to_string();
    assert_eq!(
        app.token(&svc, &[("grant_type", "client_credentials")]).await.status(),
        401,
        "the old secret stops working"
    );
    let svc = Rp { client_id: "svc".into(), secret: Some(new_secret) };
    assert_eq!(app.token(&svc, &[("grant_type", "client_credentials")]).await.status(), 200);

    let edit = json!({ "name": "Service", "first_party": false, "redirect_uris": [], "post_logout_redirect_uris": [],
                       "backchannel_logout_uri": null, "scope": "profile", "grants": ["client_credentials"], "enabled": false });
    let (status, edited) = call(&app, &admin, "PUT", "/clients/svc", Some(edit)).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["enabled"], false);
    let refused = app.token(&svc, &[("grant_type", "client_credentials")]).await;
    assert_eq!(refused.status(), 401, "a disabled client can no longer get tokens");

    assert_eq!(call(&app, &admin, "DELETE", "/clients/svc", None).await.0, 204);
    assert_eq!(call(&app, &admin, "GET", "/clients/svc", None).await.0, 404);
    let (_, listed) = call(&app, &admin, "GET", "/clients", None).await;
    assert!(listed.as_array().unwrap().iter().all(|c| c["client_id"] != "svc"));
}

#[tokio::test]
async fn keys_can_be_listed_and_rotated() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let ops = ops_client(&app).await;
    let ops_secret = ops.secret.clone();
    let admin = token(&app, &ops, "admin").await;
    let (_, keys) = call(&app, &admin, "GET", "/keys", None).await;
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["state"], "active");
    let (status, rotated) = call(&app, &admin, "POST", "/keys/rotate", None).await;
    assert_eq!(status, 200);
    assert_eq!(rotated["state"], "next");
    let (_, keys) = call(&app, &admin, "GET", "/keys", None).await;
    assert_eq!(keys.as_array().unwrap().len(), 2);

    assert_eq!(call(&app, &admin, "POST", "/keys/unknown/revoke", None).await.0, 404);
    let active = keys.as_array().unwrap().iter().find(|k| k["state"] == "active").unwrap()["kid"].clone();
    let (status, revoked) =
        call(&app, &admin, "POST", &format!("/keys/{}/revoke", active.as_str().unwrap()), None).await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["signing_key"]["state"], "active", "a fresh key signs at once");
    assert_eq!(call(&app, &admin, "GET", "/keys", None).await.0, 401, "the revoked key signed this token");
    let admin = token(&app, &Rp { client_id: "ops".into(), secret: ops_secret }, "admin").await;
    let (_, keys) = call(&app, &admin, "GET", "/keys", None).await;
    assert!(keys.as_array().unwrap().iter().all(|k| k["kid"] != active), "the revoked key is gone");
}

#[tokio::test]
async fn the_audit_log_records_sign_ins_refusals_and_admin_actions() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let admin = admin_token(&app).await;
    let user = add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    app.submit_login("/login", "alice", "wrong").await;
    app.tokens_for(&rp, "alice").await;
    let bad = Rp { secret: Some("x".repeat(40)), ..rp.clone() };
    app.token(&bad, &[("grant_type", "refresh_token"), ("refresh_token", "x")]).await;
    call(&app, &admin, "PATCH", &format!("/users/{}", user.id), Some(json!({ "name": "Alice A." }))).await;

    let (_, failed) = call(&app, &admin, "GET", "/audit?event_type=sign_in_failed", None).await;
    assert_eq!(failed["events"][0]["details"]["method"], "pwd");
    assert!(failed["events"][0]["source_ip"].is_string());
    let (_, signed_in) = call(&app, &admin, "GET", &format!("/audit?event_type=sign_in&user={}", user.id), None).await;
    assert_eq!(signed_in["total"], 1);
    assert_eq!(signed_in["events"][0]["client_id"], "webapp");
    let (_, refused) = call(&app, &admin, "GET", "/audit?event_type=token_refused", None).await;
    assert_eq!(refused["events"][0]["details"]["error"], "invalid_client");
    let (_, actions) =
        call(&app, &admin, "GET", &format!("/audit?event_type=admin_action&user={}", user.id), None).await;
    assert_eq!(actions["events"][0]["details"]["action"], "update_user");
    assert_eq!(actions["events"][0]["details"]["by_client"], "ops");
    let (_, none) = call(&app, &admin, "GET", &format!("/audit?since={}", latchkey::domain::now() + 3600), None).await;
    assert_eq!(none["total"], 0);
}

#[tokio::test]
async fn the_openapi_document_parses_and_lists_every_route() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let document: Value = app.get("/admin/api/openapi.json").await.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let mut listed: Vec<String> = Vec::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            listed.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    listed.sort();
    let mut expected = vec![
        "GET /admin/api/users",
        "POST /admin/api/users",
        "GET /admin/api/users/{id}",
        "PATCH /admin/api/users/{id}",
        "DELETE /admin/api/users/{id}",
        "PUT /admin/api/users/{id}/password",
        "POST /admin/api/users/{id}/unlock",
        "GET /admin/api/users/{id}/sessions",
        "DELETE /admin/api/users/{id}/sessions/{handle}",
        "GET /admin/api/users/{id}/passkeys",
        "DELETE /admin/api/users/{id}/passkeys/{passkey_id}",
        "GET /admin/api/users/{id}/grants",
        "DELETE /admin/api/users/{id}/grants/{grant_id}",
        "GET /admin/api/clients",
        "POST /admin/api/clients",
        "GET /admin/api/clients/{id}",
        "PUT /admin/api/clients/{id}",
        "DELETE /admin/api/clients/{id}",
        "POST /admin/api/clients/{id}/secret",
        "GET /admin/api/keys",
        "POST /admin/api/keys/rotate",
        "POST /admin/api/keys/{kid}/revoke",
        "GET /admin/api/audit",
        "GET /admin/api/groups",
        "POST /admin/api/groups",
        "GET /admin/api/groups/{name}",
        "PATCH /admin/api/groups/{name}",
        "DELETE /admin/api/groups/{name}",
        "PUT /admin/api/groups/{name}/users/{user_id}",
        "DELETE /admin/api/groups/{name}/users/{user_id}",
        "PUT /admin/api/groups/{name}/groups/{child}",
        "DELETE /admin/api/groups/{name}/groups/{child}",
        "GET /admin/api/users/{id}/groups",
        "PUT /admin/api/users/{id}/attributes",
        "GET /admin/api/clients/{id}/policy",
        "PUT /admin/api/clients/{id}/policy",
        "GET /admin/api/users/{id}/mfa",
        "DELETE /admin/api/users/{id}/mfa",
        "POST /admin/api/users/{id}/email/verification",
        "POST /admin/api/users/{id}/email/verified",
        "POST /admin/api/users/invitations",
        "GET /admin/api/apis",
        "POST /admin/api/apis",
        "GET /admin/api/apis/{identifier}",
        "PUT /admin/api/apis/{identifier}",
        "DELETE /admin/api/apis/{identifier}",
        "GET /admin/api/upstreams",
        "POST /admin/api/upstreams",
        "GET /admin/api/upstreams/{name}",
        "PUT /admin/api/upstreams/{name}",
        "DELETE /admin/api/upstreams/{name}",
        "POST /admin/api/clients/registration-tokens",
    ];
    expected.sort();
    assert_eq!(listed, expected);
    // Every listed route answers (401 without a token), so the document matches the server.
    for route in &listed {
        let (method, path) = route.split_once(' ').unwrap();
        let path =
            path.replace("{id}", "x").replace("{passkey_id}", "y").replace("{grant_id}", "z").replace("{handle}", "h");
        let request = app.client.request(method.parse().unwrap(), app.url(&path));
        assert_eq!(request.send().await.unwrap().status(), 401, "{route}");
    }
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_an_account_until_an_admin_unlocks_it() {
    let env = TestEnv::new().await;
    let app = env.spawn_app_with(|s| s.lockout.max_failed_attempts = 3).await;
    let admin = admin_token(&app).await;
    let user = add_user(&app, "alice").await;
    let state = app.state.clone();
    let attempt = move |password: &'static str| {
        let state = state.clone();
        async move {
            latchkey::domain::login::sign_in_with_password(&state, "alice", &password.into(), &Attempt::default()).await
        }
    };
    for _ in 0..3 {
        assert!(attempt("wrong").await.is_err());
    }
    assert!(attempt(PASSWORD).await.is_err(), "locked: even the right password is refused");
    let (_, locked) =
        call(&app, &admin, "GET", &format!("/audit?event_type=account_locked&user={}", user.id), None).await;
    assert_eq!(locked["total"], 1);

    assert_eq!(call(&app, &admin, "POST", &format!("/users/{}/unlock", user.id), None).await.0, 204);
    assert!(attempt(PASSWORD).await.is_ok());
    assert_eq!(call(&app, &admin, "POST", "/users/nobody/unlock", None).await.0, 404);
}

#[tokio::test]
async fn an_admin_lists_and_ends_a_users_browser_session() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let admin = admin_token(&app).await;
    let user = add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let tokens = app.tokens_for(&rp, "alice").await;
    assert!(app.get("/login").await.text().await.unwrap().contains("You are signed in"));

    let (status, sessions) = call(&app, &admin, "GET", &format!("/users/{}/sessions", user.id), None).await;
    assert_eq!(status, 200);
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");
    assert_eq!(sessions[0]["amr"], json!(["pwd"]));
    let handle = sessions[0]["handle"].as_str().unwrap();

    assert_eq!(call(&app, &admin, "DELETE", &format!("/users/{}/sessions/{handle}", user.id), None).await.0, 204);
    assert!(!app.get("/login").await.text().await.unwrap().contains("You are signed in"), "the browser is signed out");
    let refresh = app
        .token(&rp, &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())])
        .await;
    assert_eq!(refresh.status(), 400, "the session's refresh tokens end with it");
    assert_eq!(call(&app, &admin, "DELETE", &format!("/users/{}/sessions/{handle}", user.id), None).await.0, 404);
}

#[tokio::test]
async fn a_temporary_password_must_be_changed_at_the_next_sign_in() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let admin = admin_token(&app).await;
    let user = add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let body = json!({ "password": "temporary-1", "temporary": true });
    assert_eq!(call(&app, &admin, "PUT", &format!("/users/{}/password", user.id), Some(body)).await.0, 204);
    assert_eq!(call(&app, &admin, "GET", &format!("/users/{}", user.id), None).await.1["must_change_password"], true);

    let p = pkce();
    let response = app.authorize(&rp, &p, &[]).await;
    let response = app.submit_login(&crate::flow::location(&response), "alice", "temporary-1").await;
    let change_path = crate::flow::location(&response);
    assert!(change_path.starts_with("/account/password?request="), "{change_path}");
    // Going around the form does not help: the flow comes back to it.
    let around = app.authorize(&rp, &p, &[]).await;
    assert!(crate::flow::location(&around).starts_with("/account/password"));

    let page = app.get(&change_path).await.text().await.unwrap();
    let csrf = crate::flow::hidden_field(&page, "csrf_token");
    let request = crate::flow::hidden_field(&page, "request");
    let mismatch =
        [("csrf_token", csrf.as_str()), ("request", request.as_str()), ("password", "mine-2"), ("confirm", "other")];
    assert_eq!(app.client.post(app.url("/account/password")).form(&mismatch).send().await.unwrap().status(), 400);
    let form =
        [("csrf_token", csrf.as_str()), ("request", request.as_str()), ("password", "mine-2"), ("confirm", "mine-2")];
    let done = app.client.post(app.url("/account/password")).form(&form).send().await.unwrap();
    let callback = crate::flow::location(&done);
    assert!(callback.starts_with(crate::flow::REDIRECT_URI) && callback.contains("code="), "{callback}");

    assert_eq!(call(&app, &admin, "GET", &format!("/users/{}", user.id), None).await.1["must_change_password"], false);
    let login = |password: &'static str| {
        let state = app.state.clone();
        async move {
            latchkey::domain::login::sign_in_with_password(&state, "alice", &password.into(), &Attempt::default())
                .await
                .is_ok()
        }
    };
    assert!(!login("temporary-1").await);
    assert!(login("mine-2").await);
}

/// Admin API bodies from outside: whatever JSON (or not-JSON) arrives, the answer is a
/// clear 4xx or a success, never a 500 and never a panic. Bodies are drawn with proptest.
#[tokio::test]
async fn any_body_gets_a_clear_answer_never_a_server_error() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;

    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let admin = admin_token(&app).await;
    let field = proptest::prop_oneof![
        proptest::strategy::Just(Value::Null),
        proptest::bool::ANY.prop_map(Value::from),
        proptest::num::i64::ANY.prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        proptest::collection::vec(".{0,20}", 0..3).prop_map(Value::from),
    ];
    let names = proptest::sample::select(vec![
        "username",
        "password",
        "email",
        "name",
        "admin",
        "disabled",
        "client_id",
        "public",
        "redirect_uris",
        "scope",
        "grants",
        "enabled",
        "first_party",
        "temporary",
        "remove_passkeys",
        "require_pkce",
    ]);
    let bodies = proptest::collection::vec((names, field), 0..6)
        .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(name, value)| (name.to_string(), value)).collect()));
    let mut runner = TestRunner::deterministic();
    for _ in 0..64 {
        let body = bodies.new_tree(&mut runner).unwrap().current();
        for (method, path) in
            [("POST", "/users"), ("POST", "/clients"), ("PATCH", "/users/nobody"), ("PUT", "/clients/nobody")]
        {
            let (status, answer) = call(&app, &admin, method, path, Some(body.clone())).await;
            assert!(status < 500, "{method} {path} {body} -> {status} {answer}");
        }
    }
    let raw =
        app.client.post(app.url("/admin/api/users")).bearer_auth(&admin).header("content-type", "application/json");
    assert_eq!(raw.body("{not json").send().await.unwrap().status(), 400);
}
