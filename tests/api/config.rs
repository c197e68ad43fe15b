//! Configuration errors stop the process with exit code 2 and one line naming the key.

use crate::helpers::{TestEnv, run_latchkey};

fn refused_with_exit_2(env: &TestEnv, extra: &[(&str, &str)], args: &[&str], key: &str) {
    let mut vars = env.env_vars();
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let output = run_latchkey(env.dir.path(), &vars, args, None);
    assert_eq!(output.code, Some(2), "exit code 2 expected; stderr: {}", output.stderr);
    assert!(output.stderr.contains(key), "stderr should name {key:?}: {}", output.stderr);
    assert_eq!(output.stderr.trim().lines().count(), 1, "{}", output.stderr);
    assert!(!output.stderr.contains("panicked"));
}

#[tokio::test]
async fn bad_configuration_exits_2_naming_the_key() {
    let env = TestEnv::new().await;
    refused_with_exit_2(&env, &[("LATCHKEY_SERVER__BIND", "not-an-address")], &["user", "list"], "server.bind");
    refused_with_exit_2(&env, &[("LATCHKEY_KEYS__RSA_BITS", "1024")], &["user", "list"], "keys.rsa_bits");
    refused_with_exit_2(&env, &[("LATCHKEY_ISSUER", "localhost:8080")], &["user", "list"], "issuer");
    refused_with_exit_2(&env, &[("LATCHKEY_ISSUER", "https://id.example/")], &["user", "list"], "issuer");
    refused_with_exit_2(&env, &[("LATCHKEY_DATABASE__URL", "mysql://x")], &["user", "list"], "database.url");
    refused_with_exit_2(&env, &[("LATCHKEY_LOG__FORMAT", "xml")], &["user", "list"], "log.format");
    refused_with_exit_2(
        &env,
        &[("LATCHKEY_TOKENS__ACCESS_TOKEN_TTL_SECS", "soon")],
        &["user", "list"],
        "tokens.access_token_ttl_secs",
    );
    refused_with_exit_2(&env, &[], &["--config", "/no/such/file.toml", "user", "list"], "--config");
}

#[tokio::test]
async fn a_config_file_is_read_and_the_environment_overrides_it() {
    let env = TestEnv::new().await;
    let file = env.dir.path().join("custom.toml");
    std::fs::write(&file, "[keys]\nrsa_bits = 1000\n").unwrap();
    let path = file.display().to_string();
    refused_with_exit_2(&env, &[], &["--config", &path, "user", "list"], "keys.rsa_bits");

    let mut vars = env.env_vars();
    vars.push(("LATCHKEY_KEYS__RSA_BITS".into(), "2048".into()));
    let output = run_latchkey(env.dir.path(), &vars, &["--config", &path, "user", "list"], None);
    assert!(output.success, "the environment wins over the file: {}", output.stderr);

    std::fs::write(&file, "issuer = [broken\n").unwrap();
    refused_with_exit_2(&env, &[], &["--config", &path, "user", "list"], "invalid configuration");
}

#[test]
fn the_shipped_config_toml_holds_the_documented_defaults() {
    let shipped = latchkey::config::Settings::load(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml")),
        true,
    );
    let shipped = shipped.unwrap_or_else(|error| panic!("config.toml does not load: {error}"));
    let defaults = latchkey::config::Settings::default();
    assert_eq!(serde_json::to_value(&shipped).unwrap(), serde_json::to_value(&defaults).unwrap());
}

#[tokio::test]
async fn an_ip_address_issuer_is_refused_while_passkeys_are_enabled() {
    let env = TestEnv::new().await;
    refused_with_exit_2(&env, &[("LATCHKEY_ISSUER", "http://127.0.0.1:8080")], &["user", "list"], "IP address");
    let mut vars = env.env_vars();
    vars.push(("LATCHKEY_ISSUER".into(), "http://127.0.0.1:8080".into()));
    vars.push(("LATCHKEY_PASSKEYS__ENABLED".into(), "false".into()));
    let output = run_latchkey(env.dir.path(), &vars, &["user", "list"], None);
    assert!(output.success, "fine without passkeys: {}", output.stderr);
}

#[tokio::test]
async fn sqlite_commits_are_durable_unless_configured_otherwise() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let env = TestEnv::new().await;
    refused_with_exit_2(
        &env,
        &[("LATCHKEY_DATABASE__SQLITE_SYNCHRONOUS", "off")],
        &["user", "list"],
        "sqlite_synchronous",
    );
    for (setting, pragma) in [(None, 2), (Some(latchkey::config::SqliteSync::Normal), 1)] {
        let app = env
            .spawn_app_with(|settings| {
                if let Some(setting) = setting {
                    settings.database.sqlite_synchronous = setting;
                }
            })
            .await;
        if app.state.db.get_database_backend() != DbBackend::Sqlite {
            return;
        }
        let row = app
            .state
            .db
            .query_one_raw(Statement::from_string(DbBackend::Sqlite, "PRAGMA synchronous"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get_by_index::<i32>(0).unwrap(), pragma, "{setting:?}");
    }
}
