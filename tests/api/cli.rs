//! The `latchkey` CLI, run as a process against the test database.

use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::TestEnv;

#[tokio::test]
async fn users_can_be_added_listed_and_disabled() {
    let env = TestEnv::new().await;
    env.latchkey(
        &[
            "user",
            "add",
            "alice",
            "--email",
            "alice@example.com",
            "--name",
            "Alice Liddell",
            "--admin",
            "--password-stdin",
        ],
        Some("s3cret pass\n"),
    )
    .assert_success();
    let listed = env.latchkey(&["user", "list"], None);
    listed.assert_success();
    let line = listed.stdout.lines().find(|l| l.contains("alice")).expect("alice is listed").to_string();
    assert!(line.contains("alice@example.com") && line.contains("yes") && line.contains("enabled"), "{line}");

    env.latchkey(&["user", "disable", "ALICE"], None).assert_success();
    let listed = env.latchkey(&["user", "list"], None);
    assert!(listed.stdout.lines().any(|l| l.contains("alice") && l.contains("disabled")), "{}", listed.stdout);

    // The password is stored as an argon2id hash, never as typed.
    let db = env.database().await;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT password_hash FROM users WHERE username_key = 'alice'",
        ))
        .await
        .unwrap()
        .unwrap();
    let hash: String = row.try_get("", "password_hash").unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains("s3cret"), "{hash}");
}

#[tokio::test]
async fn the_cli_refuses_bad_user_input_clearly() {
    let env = TestEnv::new().await;
    env.latchkey(&["user", "add", "alice", "--password-stdin"], Some("pw\n")).assert_success();

    env.latchkey(&["user", "add", "Alice", "--password-stdin"], Some("other\n")).assert_refused("already taken");
    env.latchkey(&["user", "add", "bob", "--password-stdin"], Some("\n")).assert_refused("password must not be empty");
    env.latchkey(&["user", "add", "bob smith", "--password-stdin"], Some("pw")).assert_refused("username must be");
    env.latchkey(&["user", "add", "bob", "--email", "not-an-email", "--password-stdin"], Some("pw"))
        .assert_refused("email");
    env.latchkey(&["user", "disable", "nobody"], None).assert_refused("no user named");

    // Passwords never go on the command line: --password-stdin is required.
    let output = env.latchkey(&["user", "add", "carol"], Some("pw"));
    assert!(!output.success && output.stderr.contains("--password-stdin"), "{}", output.stderr);
    let listed = env.latchkey(&["user", "list"], None);
    assert!(
        !listed.stdout.contains("bob") && !listed.stdout.contains("carol"),
        "nothing half-added: {}",
        listed.stdout
    );
}

#[tokio::test]
async fn a_confidential_client_gets_a_generated_secret_shown_once_and_stored_hashed() {
    let env = TestEnv::new().await;
    let added = env.latchkey(
        &[
            "client",
            "add",
            "webapp",
            "--redirect-uri",
            "https://app.example/cb",
            "--redirect-uri",
            "https://app.example/cb2",
            "--post-logout-redirect-uri",
            "https://app.example/",
        ],
        None,
    );
    added.assert_success();
    let secret = added
        .stdout
        .lines()
        .find_map(|l| l.split("store it now): ").nth(1))
        .expect("the secret is printed")
        .trim()
        .to_string();
    assert!(secret.len() >= 43, "256 bits, base64url: {secret}");

    let listed = env.latchkey(&["client", "list"], None);
    listed.assert_success();
    assert!(listed.stdout.contains("webapp") && listed.stdout.contains("confidential"), "{}", listed.stdout);
    assert!(!listed.stdout.contains(&secret), "the secret is never shown again");

    let db = env.database().await;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT secret_hash FROM clients WHERE id = 'webapp'",
        ))
        .await
        .unwrap()
        .unwrap();
    let stored: String = row.try_get("", "secret_hash").unwrap();
    assert!(!stored.contains(&secret));
    assert!(latchkey::domain::clients::secret_matches(&secret, &stored));
}

#[tokio::test]
async fn clients_can_be_public_or_bring_their_own_secret() {
    let env = TestEnv::new().await;
    let public = env.latchkey(
        &["client", "add", "spa", "--public", "--first-party", "--redirect-uri", "http://localhost:3000/cb"],
        None,
    );
    public.assert_success();
    assert!(!public.stdout.contains("secret"), "{}", public.stdout);

    let own = env.latchkey(
        &["client", "add", "svc", "--grant", "client_credentials", "--secret-stdin", "--scope", "admin"],
        Some(&format!("{}\n", "x".repeat(40))),
    );
    own.assert_success();
    assert!(!own.stdout.contains("secret ("), "a provided secret is not echoed: {}", own.stdout);

    let listed = env.latchkey(&["client", "list"], None).stdout;
    assert!(listed.lines().any(|l| l.contains("spa") && l.contains("public") && l.contains("yes")), "{listed}");
    assert!(listed.lines().any(|l| l.contains("svc") && l.contains("confidential")), "{listed}");
}

#[tokio::test]
async fn the_cli_refuses_bad_client_input_clearly() {
    let env = TestEnv::new().await;
    env.latchkey(&["client", "add", "app", "--redirect-uri", "https://app.example/cb"], None).assert_success();
    env.latchkey(&["client", "add", "app", "--redirect-uri", "https://app.example/cb"], None)
        .assert_refused("already exists");
    env.latchkey(&["client", "add", "bad-uri", "--redirect-uri", "not a uri"], None)
        .assert_refused("not a valid redirect URI");
    env.latchkey(&["client", "add", "frag", "--redirect-uri", "https://app.example/cb#x"], None)
        .assert_refused("fragment");
    env.latchkey(&["client", "add", "nouri"], None).assert_refused("redirect-uri");
    env.latchkey(&["client", "add", "weird", "--redirect-uri", "https://a.example/", "--grant", "implicit"], None)
        .assert_refused("unknown grant type");
    env.latchkey(
        &["client", "add", "pub", "--public", "--secret-stdin", "--redirect-uri", "https://a.example/"],
        Some(&"y".repeat(40)),
    )
    .assert_refused("public client");
    env.latchkey(&["client", "add", "weak", "--secret-stdin", "--redirect-uri", "https://a.example/"], Some("short"))
        .assert_refused("at least 32");
    env.latchkey(&["client", "add", "bad id!", "--redirect-uri", "https://a.example/"], None)
        .assert_refused("client id");

    let listed = env.latchkey(&["client", "list"], None).stdout;
    assert_eq!(listed.lines().count(), 2, "only the header and `app`: {listed}");
}

#[tokio::test]
async fn migrate_applies_the_schema_and_is_idempotent() {
    let env = TestEnv::without_keys().await;
    let first = env.latchkey(&["migrate"], None);
    first.assert_success();
    assert!(first.stdout.contains("applied m20261129_000001_create_users"), "{}", first.stdout);
    let second = env.latchkey(&["migrate"], None);
    second.assert_success();
    assert!(second.stdout.contains("up to date"), "{}", second.stdout);
}

#[tokio::test]
async fn every_list_flag_takes_repeated_flags_or_separated_values_and_lists_print_json() {
    let env = TestEnv::new().await;
    env.latchkey(
        &[
            "client",
            "add",
            "webapp",
            "--redirect-uri",
            "https://a.example/cb",
            "--redirect-uri",
            "https://b.example/cb https://c.example/cb",
            "--scope",
            "openid",
            "--scope",
            "profile,email",
            "--grant",
            "authorization_code",
            "--grant",
            "refresh_token, client_credentials",
            "--post-logout-redirect-uri",
            "https://a.example/bye,https://b.example/bye",
        ],
        None,
    )
    .assert_success();
    let listed = env.latchkey(&["client", "list", "--output", "json"], None);
    let clients: serde_json::Value = serde_json::from_str(&listed.assert_success().stdout).unwrap();
    let client = &clients[0];
    assert_eq!(client["client_id"], "webapp");
    assert_eq!(
        client["redirect_uris"],
        serde_json::json!(["https://a.example/cb", "https://b.example/cb", "https://c.example/cb"])
    );
    assert_eq!(client["post_logout_redirect_uris"].as_array().unwrap().len(), 2);
    let scopes: Vec<&str> = client["scope"].as_str().unwrap().split(' ').collect();
    assert!(scopes.contains(&"openid") && scopes.contains(&"profile") && scopes.contains(&"email"), "{scopes:?}");
    assert_eq!(scopes.len(), 3);
    let grants = client["grant_types"].as_array().unwrap();
    assert_eq!(grants.len(), 3, "{grants:?}");

    // The defaults still apply when the flags are left out.
    env.latchkey(&["client", "add", "plain", "--redirect-uri", "https://p.example/cb"], None).assert_success();
    let clients: serde_json::Value =
        serde_json::from_str(&env.latchkey(&["client", "list", "--output", "json"], None).stdout).unwrap();
    let plain = clients.as_array().unwrap().iter().find(|c| c["client_id"] == "plain").unwrap();
    assert_eq!(plain["grant_types"], serde_json::json!(["authorization_code", "refresh_token"]));

    env.latchkey(&["api", "add", "https://api.example", "--scope", "read,write", "--scope", "admin:all"], None)
        .assert_success();
    let apis: serde_json::Value =
        serde_json::from_str(&env.latchkey(&["api", "list", "--output", "json"], None).assert_success().stdout)
            .unwrap();
    assert_eq!(apis[0]["identifier"], "https://api.example");
    assert_eq!(apis[0]["scope"].as_str().unwrap().split(' ').count(), 3);

    env.latchkey(&["user", "add", "alice", "--password-stdin"], Some("pw\n")).assert_success();
    env.latchkey(&["group", "add", "staff"], None).assert_success();
    for (list, key, value) in [("user", "username", "alice"), ("group", "name", "staff")] {
        let out = env.latchkey(&[list, "list", "--output", "json"], None);
        let items: serde_json::Value = serde_json::from_str(&out.assert_success().stdout).unwrap();
        assert!(items.as_array().unwrap().iter().any(|item| item[key] == value), "{list}: {items}");
    }
    let keys: serde_json::Value =
        serde_json::from_str(&env.latchkey(&["keys", "list", "--output", "json"], None).assert_success().stdout)
            .unwrap();
    assert!(keys.as_array().unwrap().iter().any(|key| key["state"] == "active"));
    let text = env.latchkey(&["client", "list"], None);
    assert!(text.assert_success().stdout.starts_with("CLIENT ID"), "text stays the default");
    let refused = env.latchkey(&["client", "list", "--output", "yaml"], None);
    assert!(!refused.success && refused.stderr.contains("possible values: text, json"), "{}", refused.stderr);
}
