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
