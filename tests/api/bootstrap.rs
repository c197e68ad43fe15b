//! Declarative bootstrap: an admin and clients from a file, secrets from files, idempotent.

use latchkey::domain::login::Attempt;
use serde_json::Value;

use crate::flow::Rp;
use crate::helpers::TestEnv;

fn write(env: &TestEnv, name: &str, text: &str) -> String {
    let path = env.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn a_bootstrap_file_creates_an_admin_and_clients_idempotently() {
    let env = TestEnv::new().await;
    let admin_password = write(&env, "admin-password", "bootstrap admin pw\n");
    let secret = "s".repeat(40);
    let secret_file = write(&env, "ops-secret", &format!("{secret}\n"));
    let file = write(
        &env,
        "bootstrap.toml",
        &format!(
            r#"
[admin]
username = "root"
email = "root@example.com"
password = {{ file = "{admin_password}" }}

[[clients]]
client_id = "ops"
first_party = true
scope = "admin"
grants = ["client_credentials"]
secret = {{ file = "{secret_file}" }}

[[clients]]
client_id = "spa"
public = true
redirect_uris = ["http://localhost:3000/cb"]
"#
        ),
    );
    for _ in 0..2 {
        let app = env.spawn_app_with(|s| s.bootstrap.file = file.clone()).await;
        let ops = Rp { client_id: "ops".into(), secret: Some(secret.clone()) };
        let response: Value =
            app.token(&ops, &[("grant_type", "client_credentials"), ("scope", "admin")]).await.json().await.unwrap();
        let token = response["access_token"].as_str().unwrap_or_else(|| panic!("{response}"));
        let users: Value =
            app.client.get(app.url("/admin/api/users")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        assert_eq!(
            users["users"].as_array().unwrap().len(),
            1,
            "one admin, however often the file is applied: {users}"
        );
        assert_eq!(users["users"][0]["admin"], true);
        let clients: Value = app
            .client
            .get(app.url("/admin/api/clients"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(clients.as_array().unwrap().len(), 2);
        let signed_in = latchkey::domain::login::sign_in_with_password(
            &app.state,
            "root",
            &"bootstrap admin pw".into(),
            &Attempt::default(),
        )
        .await;
        assert!(signed_in.is_ok());
    }
}

#[tokio::test]
async fn a_secret_written_in_the_bootstrap_file_is_refused() {
    let env = TestEnv::new().await;
    let file = write(
        &env,
        "bootstrap.toml",
        "[[clients]]\nclient_id = \"ops\"\nsecret = \"plain-text-secret-plain-text-secret\"\n",
    );
    let error = env.try_spawn_app_with(|s| s.bootstrap.file = file.clone()).await.err().expect("must not start");
    assert!(format!("{error:#}").contains("bootstrap"), "{error:#}");
    let file = write(&env, "bootstrap2.toml", "[admin]\nusername = \"root\"\npassword = \"hunter2\"\n");
    assert!(env.try_spawn_app_with(|s| s.bootstrap.file = file.clone()).await.is_err());
}

#[tokio::test]
async fn a_bootstrap_file_declares_groups_members_and_client_policies() {
    use latchkey::domain::audit::{self, AuditFilter};
    use latchkey::domain::groups;
    let env = TestEnv::new().await;
    let admin_password = write(&env, "admin-password", "bootstrap admin pw\n");
    let secret_file = write(&env, "hr-secret", &format!("{}\n", "h".repeat(40)));
    let file = write(
        &env,
        "bootstrap.toml",
        &format!(
            r#"
[admin]
username = "root"
password = {{ file = "{admin_password}" }}

[[groups]]
name = "staff"
description = "Everyone employed"
groups = ["hr-team"]

[[groups]]
name = "hr-team"
members = ["root"]

[[clients]]
client_id = "hr"
redirect_uris = ["https://hr.example/cb"]
scope = "openid groups hr"
secret = {{ file = "{secret_file}" }}
allowed_groups = ["staff"]
released_groups = ["hr-*", "staff"]
claim_mappings = [{{ attribute = "employee_id", claim = "employee_id", scope = "hr" }}]
"#
        ),
    );
    for _ in 0..2 {
        let app = env.spawn_app_with(|s| s.bootstrap.file = file.clone()).await;
        let root = latchkey::domain::users::find_by_username(&app.state.db, "root").await.unwrap();
        assert_eq!(groups::groups_of(&app.state.db, &root.id).await.unwrap(), ["hr-team", "latchkey-admins", "staff"]);
        let detail = groups::group_detail(&app.state.db, "staff").await.unwrap();
        assert_eq!(detail.group.description, "Everyone employed");
        assert_eq!(detail.groups, ["hr-team"]);
        let hr = latchkey::domain::clients::find_client(&app.state.db, "hr").await.unwrap();
        assert_eq!(hr.policy.allowed_groups, Some(vec!["staff".to_string()]));
        assert_eq!(hr.policy.claim_mappings[0].claim, "employee_id");
    }
    // Applied twice, audited once.
    let app = env.spawn_app().await;
    let filter = AuditFilter { event_type: Some("admin_action".into()), ..AuditFilter::default() };
    let (events, _) = audit::search(&app.state.db, &filter, 0, 200).await.unwrap();
    let count = |action: &str| events.iter().filter(|(_, e)| e.details["action"] == action).count();
    assert_eq!((count("create_group"), count("add_group_member"), count("set_client_policy")), (2, 2, 1));
    assert!(
        events
            .iter()
            .filter(|(_, e)| e.details["action"] == "create_group")
            .all(|(_, e)| e.details["by"] == "bootstrap")
    );
}
