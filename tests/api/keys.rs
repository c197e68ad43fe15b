//! Signing keys: JWKS publication, rotation, persistence, several instances, master key.

use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use latchkey::domain::now;
use serde_json::json;

use crate::helpers::{TestApp, TestEnv, eventually};

/// Verifies `token` the way a relying party would: the JWKS fetched over HTTP, the key
/// picked by `kid`, jsonwebtoken doing the RS256 check. None of Latchkey's signing code.
async fn verify_with_published_keys(app: &TestApp, token: &str) -> Result<serde_json::Value, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwks: jsonwebtoken::jwk::JwkSet = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    let jwk = jwks.find(&kid).ok_or(format!("kid {kid} is not published"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iss"]);
    jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| e.to_string())
}

const ISSUER: &str = "https://issuer.test";

fn sign_at(app: &TestApp, at: i64) -> String {
    let key = app.state.keyring.signing_key(at).unwrap();
    key.sign_jwt("JWT", &json!({ "iss": ISSUER, "sub": "user-1", "exp": now() + 600 })).unwrap()
}

#[tokio::test]
async fn jwks_publishes_public_members_only_with_cache_headers() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let response = app.get("/.well-known/jwks.json").await;
    assert_eq!(response.status(), 200);
    let cache_control = response.headers()["cache-control"].to_str().unwrap().to_string();
    let max_age: u64 = cache_control.strip_prefix("public, max-age=").unwrap().parse().unwrap();
    assert!(max_age <= 300, "{cache_control}");
    assert!(response.headers().contains_key("etag"));

    let jwks: serde_json::Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = keys[0].as_object().unwrap();
    let mut members: Vec<&str> = key.keys().map(String::as_str).collect();
    members.sort();
    assert_eq!(members, ["alg", "e", "kid", "kty", "n", "use"], "no private member (d, p, q, dp, dq, qi)");
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["alg"], "RS256");
}

#[tokio::test]
async fn a_matching_etag_gets_304_and_a_stale_one_gets_the_document() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let first = app.get("/.well-known/jwks.json").await;
    let etag = first.headers()["etag"].to_str().unwrap().to_string();

    let revalidated =
        app.client.get(app.url("/.well-known/jwks.json")).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(revalidated.status(), 304);
    assert_eq!(revalidated.headers()["etag"], etag.as_str());
    assert!(revalidated.bytes().await.unwrap().is_empty());

    let stale =
        app.client.get(app.url("/.well-known/jwks.json")).header("If-None-Match", "\"stale\"").send().await.unwrap();
    assert_eq!(stale.status(), 200);
}

#[tokio::test]
async fn the_kid_is_the_rfc7638_thumbprint_of_the_published_key() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let jwks: jsonwebtoken::jwk::JwkSet = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    let jwk: &Jwk = &jwks.keys[0];
    assert_eq!(jwk.common.key_id.as_deref(), Some(jwk.thumbprint(ThumbprintHash::SHA256).unwrap().as_str()));
}

#[tokio::test]
async fn a_jwt_signed_by_the_keyring_verifies_with_the_published_key() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let token = sign_at(&app, now());
    let claims = verify_with_published_keys(&app, &token).await.unwrap();
    assert_eq!(claims["sub"], "user-1");

    // A tampered payload does not verify.
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    parts[1] = base64_url(&json!({ "iss": ISSUER, "sub": "admin", "exp": now() + 600 }).to_string());
    assert!(verify_with_published_keys(&app, &parts.join(".")).await.is_err());
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn keys_rotate_publishes_the_next_key_which_signs_after_the_lead_time_while_the_old_one_still_verifies() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let old_kid = app.jwks_kids().await[0].clone();
    let old_token = sign_at(&app, now());

    let rotated = env.latchkey(&["keys", "rotate"], None);
    rotated.assert_success();
    assert!(rotated.stdout.contains("generated signing key"), "{}", rotated.stdout);

    // The running server picks the rotation up from the database (refresh every second here).
    let published = eventually(Duration::from_secs(10), || async { app.jwks_kids().await.len() == 2 }).await;
    assert!(published, "the next key should appear in the JWKS");
    let kids = app.jwks_kids().await;
    let new_kid = kids.iter().find(|kid| **kid != old_kid).unwrap().clone();

    // Until the lead time has passed the old key signs; after it, the new one.
    let lead = env.settings(0).keys.publish_lead_secs as i64;
    assert_eq!(app.state.keyring.signing_key(now()).unwrap().kid, old_kid);
    let later = now() + lead + 1;
    let new_token = sign_at(&app, later);
    assert_eq!(jsonwebtoken::decode_header(&new_token).unwrap().kid.as_deref(), Some(new_kid.as_str()));
    assert!(verify_with_published_keys(&app, &new_token).await.is_ok());
    assert!(verify_with_published_keys(&app, &old_token).await.is_ok(), "the old key still verifies");

    let listed = env.latchkey(&["keys", "list"], None);
    listed.assert_success();
    let state_of = |kid: &str| listed.stdout.lines().find(|line| line.starts_with(kid)).map(str::to_string);
    assert!(state_of(&new_kid).unwrap().contains(" next "), "{}", listed.stdout);
    assert!(state_of(&old_kid).unwrap().contains(" active "), "{}", listed.stdout);
}

#[tokio::test]
async fn a_key_whose_lead_time_passed_signs_and_the_superseded_key_stays_published() {
    let env = TestEnv::new().await;
    let app = env
        .spawn_app_with(|s| {
            s.keys.publish_lead_secs = 1;
        })
        .await;
    let old_kid = app.jwks_kids().await[0].clone();
    app.state.keyring.rotate(&app.state.db, now()).await.unwrap();
    let switched =
        eventually(Duration::from_secs(10), || async { app.state.keyring.signing_key(now()).unwrap().kid != old_kid })
            .await;
    assert!(switched, "the new key should sign once its lead time has passed");
    let token = sign_at(&app, now());
    assert!(verify_with_published_keys(&app, &token).await.is_ok());
    assert!(app.jwks_kids().await.contains(&old_kid), "the previous key stays published");
}

#[tokio::test]
async fn a_restart_keeps_the_same_keys() {
    // No key yet: the first start generates and seals one.
    let env = TestEnv::without_keys().await;
    assert!(!env.keys_dir().join("master.key").exists());
    let first = env.spawn_app().await;
    let kids = first.jwks_kids().await;
    let token = sign_at(&first, now());
    drop(first);

    let second = env.spawn_app().await;
    assert_eq!(second.jwks_kids().await, kids);
    assert!(verify_with_published_keys(&second, &token).await.is_ok());
    assert!(env.keys_dir().join("master.key").exists());
}

#[tokio::test]
async fn a_second_instance_serves_the_same_jwks_and_sees_a_rotation_made_by_the_first() {
    let env = TestEnv::new().await;
    let first = env.spawn_app().await;
    let second = env.spawn_app().await;
    assert_eq!(first.jwks().await, second.jwks().await);

    let rotated = first.state.keyring.rotate(&first.state.db, now()).await.unwrap();
    let seen = eventually(Duration::from_secs(10), || async { second.jwks_kids().await.contains(&rotated.kid) }).await;
    assert!(seen, "the second instance should publish the key the first one generated");
    let synced = eventually(Duration::from_secs(10), || async { first.jwks().await == second.jwks().await }).await;
    assert!(synced);

    // A token signed by one instance verifies against the other's JWKS.
    let token = sign_at(&first, now());
    assert!(verify_with_published_keys(&second, &token).await.is_ok());
}

#[tokio::test]
async fn a_wrong_master_key_refuses_to_start() {
    let env = TestEnv::new().await;
    drop(env.spawn_app().await);

    let wrong = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let error = env.try_spawn_app_with(|s| s.keys.master_key = Some(wrong.into())).await.err().expect("must not start");
    assert!(format!("{error:#}").contains("master key"), "{error:#}");

    // The same as a process: a clear line and a failing exit code; the key file is untouched.
    let mut vars = env.env_vars();
    vars.push(("LATCHKEY_KEYS__MASTER_KEY".into(), wrong.into()));
    let output = crate::helpers::run_latchkey(env.dir.path(), &vars, &["keys", "list"], None);
    output.assert_refused("master key");

    // A missing key file once keys exist is an error too, never a silent regeneration.
    std::fs::remove_file(env.keys_dir().join("master.key")).unwrap();
    let error = env.try_spawn_app_with(|_| {}).await.err().expect("must not start");
    assert!(format!("{error:#}").contains("master key"), "{error:#}");
    assert!(!env.keys_dir().join("master.key").exists());
}

#[tokio::test]
async fn an_emergency_revocation_replaces_the_signing_key_at_once_and_its_tokens_stop_working() {
    use crate::flow::{ClientOptions, add_user, register_client};
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let access_token = tokens["access_token"].as_str().unwrap();
    let old_kid = app.jwks_kids().await.remove(0);

    env.latchkey(&["keys", "revoke", "no-such-kid"], None).assert_refused("no signing key");
    // A thumbprint can begin with "-": it is still a key id, not an option.
    env.latchkey(&["keys", "revoke", "-Gno-such-kid"], None).assert_refused("no signing key");
    let revoked = env.latchkey(&["keys", "revoke", &old_kid], None);
    revoked.assert_success();
    assert!(revoked.stdout.contains("signs from now on"), "{}", revoked.stdout);

    // The running instance follows within keys.refresh_interval_secs (1 s in tests).
    let replaced = eventually(Duration::from_secs(10), || async {
        let kids = app.jwks_kids().await;
        kids.len() == 1 && kids[0] != old_kid
    })
    .await;
    assert!(replaced, "the JWKS holds only the fresh key: {:?}", app.jwks_kids().await);
    assert_eq!(app.userinfo(access_token).await.status(), 401, "a token the revoked key signed is refused");
    let introspected: serde_json::Value = app
        .client
        .post(app.url("/introspect"))
        .basic_auth("webapp", rp.secret.as_ref())
        .form(&[("token", access_token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["active"], false);
    let fresh = app.tokens_for(&rp, "alice").await;
    let kid = jsonwebtoken::decode_header(fresh["access_token"].as_str().unwrap()).unwrap().kid.unwrap();
    assert_eq!(app.jwks_kids().await, vec![kid.clone()], "new tokens are signed by the fresh key at once");
    assert_eq!(app.userinfo(fresh["access_token"].as_str().unwrap()).await.status(), 200);

    let filter = latchkey::domain::audit::AuditFilter { event_type: Some("admin_action".into()), ..Default::default() };
    let (events, _) = latchkey::domain::audit::search(&app.state.db, &filter, 0, 10).await.unwrap();
    let revocation = events.iter().map(|(_, e)| e).find(|e| e.details["action"] == "revoke_key").expect("audited");
    assert_eq!(revocation.details["kid"], old_kid.as_str());
    assert_eq!(revocation.details["by"], "cli");
}
