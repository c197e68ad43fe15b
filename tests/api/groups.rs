//! Groups, claims and access policies: `groups` in the ID token, userinfo and the access
//! token (filtered per client, nested membership resolved), an attribute released as a
//! mapped claim, a client's access policy at sign-in and at refresh, and group management
//! through the API and the CLI with the audit events they leave.

use std::collections::BTreeMap;

use latchkey::domain::audit::{self, Actor, AuditFilter};
use latchkey::domain::clients::{self, ClaimMapping, ClientPolicy, NewClient};
use latchkey::domain::groups::{self, Member};
use latchkey::domain::users;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    RedirectUrl, Scope, TokenResponse,
};
use serde_json::{Value, json};

use crate::admin_api::{admin_token, call};
use crate::flow::{PASSWORD, REDIRECT_URI, Rp, add_user, location, pkce, query_param};
use crate::helpers::{TestApp, TestEnv};
use crate::oidc_flow::rp_http;

async fn client(app: &TestApp, id: &str, scopes: &str, policy: ClientPolicy) -> Rp {
    client_with(app, id, scopes, policy, true).await
}

async fn client_with(app: &TestApp, id: &str, scopes: &str, policy: ClientPolicy, first_party: bool) -> Rp {
    let added = clients::add_client(
        &app.state,
        &Actor::Cli,
        NewClient {
            id: id.into(),
            name: Some(format!("{id} app")),
            public: false,
            first_party,
            require_pkce: false,
            require_par: false,
            redirect_uris: vec![REDIRECT_URI.into()],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            logo_uri: None,
            scopes: scopes.into(),
            grants: vec!["authorization_code,refresh_token".into()],
            secret: None,
            keys: None,
        },
    )
    .await
    .unwrap();
    clients::set_policy(&app.state, &Actor::Cli, id, policy).await.unwrap();
    use secrecy::ExposeSecret;
    Rp { client_id: id.into(), secret: added.generated_secret.map(|s| s.expose_secret().to_string()) }
}

async fn group(app: &TestApp, name: &str) {
    groups::add_group(&app.state, &Actor::Cli, name, "").await.unwrap();
}

async fn put_in(app: &TestApp, group: &str, member: Member<'_>) {
    assert!(groups::add_member(&app.state, &Actor::Cli, group, member).await.unwrap());
}

fn payload(jwt: &str) -> Value {
    crate::flow::jwt_claims(jwt)
}

/// Alice, in `engineering` (which is in `staff`), `app1-editors` and `other`, with a
/// department and an employee id.
async fn alice(app: &TestApp) -> latchkey::domain::users::User {
    let alice = add_user(app, "alice").await;
    for name in ["engineering", "staff", "app1-editors", "other", "unrelated"] {
        group(app, name).await;
    }
    put_in(app, "staff", Member::Group("engineering")).await;
    for name in ["engineering", "app1-editors", "other"] {
        put_in(app, name, Member::User(&alice.id)).await;
    }
    let attributes = BTreeMap::from([("department".into(), "R&D".into()), ("employee_id".into(), "42".into())]);
    users::set_attributes(&app.state, &Actor::Cli, &alice.id, attributes).await.unwrap();
    alice
}

#[tokio::test]
async fn groups_and_mapped_claims_reach_a_relying_party_filtered_per_client() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let user = alice(&app).await;
    let policy = ClientPolicy {
        allowed_groups: None,
        released_groups: Some(vec!["app1-*".into(), "staff".into()]),
        claim_mappings: vec![ClaimMapping { attribute: "department".into(), claim: "dept".into(), scope: "hr".into() }],
        require_mfa: false,
        upstream_only: false,
    };
    let rp = client(&app, "app1", "openid profile groups hr offline_access", policy).await;

    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.address.clone()).unwrap(), &rp_http).await.unwrap();
    assert!(metadata.scopes_supported().unwrap().iter().any(|s| s.as_str() == "groups"));
    let oidc = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(rp.client_id.clone()),
        rp.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, _, nonce) = oidc
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("groups".into()))
        .add_scope(Scope::new("hr".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    let login = location(&app.client.get(authorize_url.as_str()).send().await.unwrap());
    let callback = location(&app.submit_login(&login, "alice", PASSWORD).await);
    let code = query_param(&callback, "code").unwrap_or_else(|| panic!("{callback}"));
    let tokens = oidc
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&rp_http)
        .await
        .unwrap();
    // The library verified the ID token; its extra claims are read from the payload.
    let id_token = tokens.id_token().unwrap();
    id_token.claims(&oidc.id_token_verifier(), &nonce).unwrap();
    let id_claims = payload(&id_token.to_string());
    assert_eq!(id_claims["groups"], json!(["app1-editors", "staff"]), "nested, filtered: {id_claims}");
    assert_eq!(id_claims["dept"], "R&D");
    assert!(id_claims.get("employee_id").is_none() && id_claims.get("department").is_none());
    let access_claims = payload(tokens.access_token().secret());
    assert_eq!(access_claims["groups"], json!(["app1-editors", "staff"]));
    let userinfo: Value = app.userinfo(tokens.access_token().secret()).await.json().await.unwrap();
    assert_eq!(userinfo["groups"], json!(["app1-editors", "staff"]));
    assert_eq!(userinfo["dept"], "R&D");
    assert_eq!(userinfo["sub"], user.id.as_str());

    // A refresh resolves groups again: alice left app1-editors.
    groups::remove_member(&app.state, &Actor::Cli, "app1-editors", Member::User(&user.id)).await.unwrap();
    let refreshed =
        oidc.exchange_refresh_token(tokens.refresh_token().unwrap()).unwrap().request_async(&rp_http).await.unwrap();
    assert_eq!(payload(refreshed.access_token().secret())["groups"], json!(["staff"]));

    // Another client with no filter learns every group; without the scope, none.
    let everything = client(&app, "app2", "openid groups", ClientPolicy::default()).await;
    let pkce = pkce();
    let code = app.obtain_code(&everything, "alice", &pkce, &[("scope", "openid groups")]).await;
    let answer: Value = app.exchange_code(&everything, &code, &pkce.verifier).await.json().await.unwrap();
    let groups_claim = payload(answer["id_token"].as_str().unwrap())["groups"].clone();
    assert_eq!(groups_claim, json!(["engineering", "other", "staff"]));
    let code = app.obtain_code(&everything, "alice", &pkce, &[("scope", "openid")]).await;
    let answer: Value = app.exchange_code(&everything, &code, &pkce.verifier).await.json().await.unwrap();
    assert!(payload(answer["id_token"].as_str().unwrap()).get("groups").is_none());
}

#[tokio::test]
async fn an_access_policy_refuses_outsiders_at_sign_in_and_at_refresh() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let alice = add_user(&app, "alice").await;
    let bob = add_user(&app, "bob").await;
    group(&app, "finance").await;
    group(&app, "accountants").await;
    put_in(&app, "finance", Member::Group("accountants")).await;
    put_in(&app, "accountants", Member::User(&alice.id)).await;
    let policy = ClientPolicy { allowed_groups: Some(vec!["finance".into()]), ..ClientPolicy::default() };
    let payroll = client(&app, "payroll", "openid profile email offline_access", policy).await;

    // Bob signs in: the page says he has no access; its link answers the app with access_denied.
    let pkce = pkce();
    let login = location(&app.authorize(&payroll, &pkce, &[]).await);
    let refused = app.submit_login(&login, "bob", PASSWORD).await;
    let page_path = location(&refused);
    assert!(page_path.starts_with("/authorize/no-access?request="), "{page_path}");
    let page = app.get(&page_path).await;
    assert_eq!(page.status(), 403);
    let html = page.text().await.unwrap();
    assert!(html.contains("Your account does not have access to payroll app. Ask an administrator."), "{html}");
    let back = html.split("href=\"").find(|s| s.starts_with(REDIRECT_URI)).unwrap().split('"').next().unwrap();
    let back = back.replace("&amp;", "&").replace("&#x2f;", "/").replace("&#x2F;", "/").replace("&#38;", "&");
    assert_eq!(query_param(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&back, "iss").as_deref(), Some(app.address.as_str()), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some("state-123"), "{back}");
    assert!(query_param(&back, "code").is_none());
    assert_eq!(app.get(&page_path).await.status(), 400, "the request is answered once");

    // prompt=none answers the app directly.
    let silent = location(&app.authorize(&payroll, &pkce, &[("prompt", "none")]).await);
    assert_eq!(query_param(&silent, "error").as_deref(), Some("access_denied"), "{silent}");

    // Alice is in finance through accountants; once out, her refreshes stop.
    assert_eq!(groups::groups_of(&app.state.db, &alice.id).await.unwrap(), ["accountants", "finance"]);
    // (The test's browser holds bob's session: alice signs in over it.)
    let code = app.obtain_code(&payroll, "alice", &pkce, &[("prompt", "login")]).await;
    let tokens: Value = app.exchange_code(&payroll, &code, &pkce.verifier).await.json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    groups::remove_member(&app.state, &Actor::Cli, "accountants", Member::User(&alice.id)).await.unwrap();
    let answer = app.token(&payroll, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!(answer.status(), 400);
    assert_eq!(answer.json::<Value>().await.unwrap()["error"], "invalid_grant");
    assert_eq!(app.userinfo(tokens["access_token"].as_str().unwrap()).await.status(), 401, "the grant ended");

    let filter = AuditFilter { event_type: Some("access_denied".into()), ..AuditFilter::default() };
    let (events, _) = audit::search(&app.state.db, &filter, 0, 10).await.unwrap();
    let steps: Vec<(String, String)> = events
        .iter()
        .map(|(_, e)| (e.subject_user_id.clone().unwrap(), e.details["step"].as_str().unwrap().to_string()))
        .collect();
    assert!(steps.contains(&(bob.id.clone(), "authorize".into())), "{steps:?}");
    assert!(steps.contains(&(alice.id.clone(), "refresh".into())), "{steps:?}");
    assert!(events.iter().all(|(_, e)| e.client_id.as_deref() == Some("payroll")));
}

#[tokio::test]
async fn groups_are_managed_through_the_api_and_the_cli_and_audited() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let token = admin_token(&app).await;
    let carol = add_user(&app, "carol").await;

    // The API.
    let (status, made) =
        call(&app, &token, "POST", "/groups", Some(json!({ "name": "ops", "description": "On call" }))).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(call(&app, &token, "POST", "/groups", Some(json!({ "name": "Bad Name" }))).await.0, 400);
    assert_eq!(call(&app, &token, "POST", "/groups", Some(json!({ "name": "ops" }))).await.0, 409);
    assert_eq!(call(&app, &token, "PUT", &format!("/groups/ops/users/{}", carol.id), None).await.0, 201);
    assert_eq!(call(&app, &token, "PUT", &format!("/groups/ops/users/{}", carol.id), None).await.0, 204);
    assert_eq!(call(&app, &token, "PUT", "/groups/ops/users/nobody", None).await.0, 404);
    let (_, ops) = call(&app, &token, "GET", "/groups/ops", None).await;
    assert_eq!(ops["users"][0]["username"], "carol");
    assert_eq!(ops["description"], "On call");

    // Nesting: ops inside latchkey-admins makes carol an admin; a cycle is refused.
    assert_eq!(call(&app, &token, "PUT", "/groups/latchkey-admins/groups/ops", None).await.0, 201);
    let (_, user) = call(&app, &token, "GET", &format!("/users/{}", carol.id), None).await;
    assert_eq!(user["admin"], true, "{user}");
    let (status, cycle) = call(&app, &token, "PUT", "/groups/ops/groups/latchkey-admins", None).await;
    assert_eq!(status, 409, "{cycle}");
    let (_, theirs) = call(&app, &token, "GET", &format!("/users/{}/groups", carol.id), None).await;
    assert_eq!(theirs["groups"], json!(["latchkey-admins", "ops"]));
    assert_eq!(call(&app, &token, "DELETE", "/groups/latchkey-admins/groups/ops", None).await.0, 204);
    let (_, user) = call(&app, &token, "GET", &format!("/users/{}", carol.id), None).await;
    assert_eq!(user["admin"], false);

    // A group a client's policy names cannot be deleted; the built-in one never.
    crate::flow::register_client(&app, "rota", crate::flow::ClientOptions::default()).await;
    let (status, policy) =
        call(&app, &token, "PUT", "/clients/rota/policy", Some(json!({ "allowed_groups": ["ops"] }))).await;
    assert_eq!(status, 200, "{policy}");
    let (status, body) =
        call(&app, &token, "PUT", "/clients/rota/policy", Some(json!({ "allowed_groups": ["ghosts"] }))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["fields"]["allowed_groups"].is_string());
    let (status, refused) = call(&app, &token, "DELETE", "/groups/ops", None).await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused["message"].as_str().unwrap_or_default().contains("rota") || refused.to_string().contains("rota"));
    assert_eq!(call(&app, &token, "DELETE", "/groups/latchkey-admins", None).await.0, 409);
    call(&app, &token, "PUT", "/clients/rota/policy", Some(json!({}))).await;
    assert_eq!(call(&app, &token, "DELETE", "/groups/ops", None).await.0, 204);
    assert_eq!(call(&app, &token, "GET", "/groups/ops", None).await.0, 404);

    // The CLI.
    env.latchkey(&["group", "add", "night-shift", "--description", "Nights"], None).assert_success();
    env.latchkey(&["group", "add-member", "night-shift", "CAROL"], None).assert_success();
    env.latchkey(&["group", "add", "everyone"], None).assert_success();
    env.latchkey(&["group", "add-member", "everyone", "night-shift", "--group"], None).assert_success();
    let shown = env.latchkey(&["group", "show", "night-shift"], None);
    shown.assert_success();
    assert!(shown.stdout.contains("user   carol") && shown.stdout.contains("in     everyone"), "{}", shown.stdout);
    let listed = env.latchkey(&["group", "list"], None);
    assert!(listed.stdout.contains("night-shift") && listed.stdout.contains("latchkey-admins"), "{}", listed.stdout);
    let refused = env.latchkey(&["group", "add-member", "night-shift", "everyone", "--group"], None);
    assert!(!refused.success, "a cycle: {}", refused.stdout);
    env.latchkey(&["group", "remove-member", "night-shift", "carol"], None).assert_success();
    env.latchkey(&["group", "delete", "everyone"], None).assert_success();

    let filter = AuditFilter { event_type: Some("admin_action".into()), ..AuditFilter::default() };
    let (events, _) = audit::search(&app.state.db, &filter, 0, 200).await.unwrap();
    let seen: Vec<(String, String, Value)> = events
        .iter()
        .filter(|(_, e)| e.details.get("group").is_some())
        .map(|(_, e)| {
            let by = e.details.get("by").cloned().or_else(|| e.details.get("by_client").cloned()).unwrap_or_default();
            (e.details["action"].as_str().unwrap().to_string(), e.details["group"].as_str().unwrap().to_string(), by)
        })
        .collect();
    for expected in [
        ("create_group", "ops", json!("ops")),
        ("add_group_member", "ops", json!("ops")),
        ("add_group_member", "latchkey-admins", json!("ops")),
        ("remove_group_member", "latchkey-admins", json!("ops")),
        ("delete_group", "ops", json!("ops")),
        ("create_group", "night-shift", json!("cli")),
        ("add_group_member", "night-shift", json!("cli")),
        ("add_group_member", "everyone", json!("cli")),
        ("remove_group_member", "night-shift", json!("cli")),
        ("delete_group", "everyone", json!("cli")),
    ] {
        let expected = (expected.0.to_string(), expected.1.to_string(), expected.2);
        assert_eq!(seen.iter().filter(|event| **event == expected).count(), 1, "{expected:?} in {seen:?}");
    }
    let (membership, _) =
        audit::search(&app.state.db, &AuditFilter { user_id: Some(carol.id.clone()), ..AuditFilter::default() }, 0, 50)
            .await
            .unwrap();
    assert!(membership.iter().any(|(_, e)| e.details["action"] == "add_group_member" && e.details["group"] == "ops"));
}

#[tokio::test]
async fn consent_says_what_the_groups_scope_and_mapped_scopes_release() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    alice(&app).await;
    let mapping =
        |attribute: &str| ClaimMapping { attribute: attribute.into(), claim: attribute.into(), scope: "hr".into() };
    let policy =
        ClientPolicy { claim_mappings: vec![mapping("department"), mapping("employee_id")], ..ClientPolicy::default() };
    let rp = client_with(&app, "hrapp", "openid groups hr", policy, false).await;
    let login = location(&app.authorize(&rp, &pkce(), &[("scope", "openid groups hr")]).await);
    let consent = location(&app.submit_login(&login, "alice", PASSWORD).await);
    assert!(consent.starts_with("/consent"), "{consent}");
    let page = app.get(&consent).await.text().await.unwrap();
    assert!(page.contains("See the groups you belong to"), "{page}");
    assert!(page.contains("See your department, employee_id"), "{page}");
}

#[tokio::test]
async fn the_console_sets_a_clients_policy_and_a_users_attributes() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let carol = add_user(&app, "carol").await;
    group(&app, "finance").await;
    crate::flow::register_client(&app, "payroll", crate::flow::ClientOptions::default()).await;
    let (admin, csrf) = crate::admin_console::signed_in_browser(&app, "root", true).await;
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let admin = admin.clone();
        let url = app.url(&path);
        async move { admin.post(url).form(&form).send().await.unwrap() }
    };

    let saved = post(
        "/admin/clients/payroll/policy".into(),
        vec![
            ("csrf_token", csrf.clone()),
            ("allowed_groups", "finance".into()),
            ("released_groups", "fin* staff".into()),
            ("claim_mappings", "department dept profile\n".into()),
        ],
    )
    .await;
    assert_eq!(saved.status(), 303);
    let policy = clients::find_client(&app.state.db, "payroll").await.unwrap().policy;
    assert_eq!(policy.allowed_groups, Some(vec!["finance".to_string()]));
    assert_eq!(policy.released_groups, Some(vec!["fin*".to_string(), "staff".to_string()]));
    assert_eq!(policy.claim_mappings[0].claim, "dept");
    let page = admin.get(app.url("/admin/clients/payroll")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("value=\"finance\"") && page.contains("department dept profile"), "{page}");

    let refused = post(
        "/admin/clients/payroll/policy".into(),
        vec![("csrf_token", csrf.clone()), ("claim_mappings", "department sub profile".into())],
    )
    .await;
    assert!(refused.text().await.unwrap().contains("cannot be a mapped claim"));
    let forged = post("/admin/clients/payroll/policy".into(), vec![("allowed_groups", "".into())]).await;
    assert_eq!(forged.status(), 403);

    let saved = post(
        format!("/admin/users/{}/attributes", carol.id),
        vec![("csrf_token", csrf.clone()), ("attributes", "department=R&D\nemployee_id = 42\n".into())],
    )
    .await;
    assert_eq!(saved.status(), 303);
    let carol = users::find_user(&app.state.db, &carol.id).await.unwrap();
    assert_eq!(carol.attributes.get("employee_id").map(String::as_str), Some("42"));
    assert_eq!(carol.attributes.get("department").map(String::as_str), Some("R&D"));
    let bad = post(
        format!("/admin/users/{}/attributes", carol.id),
        vec![("csrf_token", csrf.clone()), ("attributes", "Not A Key=1".into())],
    )
    .await;
    assert!(bad.text().await.unwrap().contains("attributes: at most 50"));
}
