//! Access-token checks are cached per instance, yet a change made on any instance is seen
//! at once everywhere. With Redis (the PostgreSQL pass), the change is made on one instance
//! and checked on another, whose cache is warm; on the embedded default, one instance does
//! both.

use serde_json::{Value, json};

use crate::admin_api::{admin_token, call};
use crate::flow::{ClientOptions, add_user, register_client};
use crate::helpers::{TestApp, TestEnv};

/// The instance that changes things, and the one that checks tokens (the same one without
/// Redis: the in-process store serves a single instance).
async fn two_instances(env: &TestEnv) -> (TestApp, Option<TestApp>) {
    let changer = env.spawn_app().await;
    let checker = match env.redis_url {
        // Instances of one deployment share the issuer.
        Some(_) => Some(env.spawn_app_with(|settings| settings.issuer = changer.address.clone()).await),
        None => None,
    };
    (changer, checker)
}

/// Calls userinfo twice: the second call is answered from a warm cache.
async fn warm(checker: &TestApp, access_token: &str) -> Value {
    assert_eq!(checker.userinfo(access_token).await.status(), 200);
    let second = checker.userinfo(access_token).await;
    assert_eq!(second.status(), 200);
    second.json().await.unwrap()
}

/// A grant whose access token `checker` has cached, then revoked through `changer`;
/// returns the access token.
async fn revoke_after_warming(changer: &TestApp, checker: &TestApp) -> String {
    add_user(changer, "alice").await;
    let rp = register_client(changer, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let tokens = changer.tokens_for(&rp, "alice").await;
    let access_token = tokens["access_token"].as_str().unwrap();
    warm(checker, access_token).await;
    let form = [("token", tokens["refresh_token"].as_str().unwrap())];
    let revoked = changer.client.post(changer.url("/revoke")).basic_auth("webapp", rp.secret.as_ref()).form(&form);
    assert_eq!(revoked.send().await.unwrap().status(), 200);
    access_token.to_string()
}

#[tokio::test]
async fn a_revoked_grant_is_refused_at_once_by_a_warm_cache() {
    let env = TestEnv::new().await;
    let (changer, other) = two_instances(&env).await;
    let checker = other.as_ref().unwrap_or(&changer);
    let access_token = &revoke_after_warming(&changer, checker).await;
    assert_eq!(checker.userinfo(access_token).await.status(), 401);
}

#[tokio::test]
async fn a_changed_user_is_read_again_at_once_by_a_warm_cache() {
    let env = TestEnv::new().await;
    let (changer, other) = two_instances(&env).await;
    let checker = other.as_ref().unwrap_or(&changer);
    let alice = add_user(&changer, "alice").await;
    let rp = register_client(&changer, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let pkce = crate::flow::pkce();
    let code = changer.obtain_code(&rp, "alice", &pkce, &[("scope", "openid email")]).await;
    let tokens: Value = changer.exchange_code(&rp, &code, &pkce.verifier).await.json().await.unwrap();
    let access_token = tokens["access_token"].as_str().unwrap();
    let before = warm(checker, access_token).await;
    assert_ne!(before["email"], "alice.new@example.com");

    let admin = admin_token(&changer).await;
    let change = json!({ "email": "alice.new@example.com" });
    assert_eq!(call(&changer, &admin, "PATCH", &format!("/users/{}", alice.id), Some(change)).await.0, 200);
    let after: Value = checker.userinfo(access_token).await.json().await.unwrap();
    assert_eq!(after["email"], "alice.new@example.com", "the new claims, not the cached ones");
}

#[tokio::test]
async fn a_disabled_clients_own_token_is_refused_at_once_by_a_warm_cache() {
    let env = TestEnv::new().await;
    let (changer, other) = two_instances(&env).await;
    let checker = other.as_ref().unwrap_or(&changer);
    let admin = admin_token(&changer).await;
    let body = json!({ "client_id": "svc", "grants": ["client_credentials"], "scope": "profile" });
    let (status, created) = call(&changer, &admin, "POST", "/clients", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let svc = crate::flow::Rp { client_id: "svc".into(), secret: created["client_secret"].as_str().map(Into::into) };
    let tokens: Value = changer.token(&svc, &[("grant_type", "client_credentials")]).await.json().await.unwrap();
    let access_token = tokens["access_token"].as_str().unwrap();
    // A client's own token has no user: userinfo checks it, then says it acts for nobody.
    for _ in 0..2 {
        assert_eq!(checker.userinfo(access_token).await.status(), 403, "valid, but not for userinfo");
    }

    let edit = json!({ "name": "Service", "first_party": false, "redirect_uris": [], "post_logout_redirect_uris": [],
                       "backchannel_logout_uri": null, "scope": "profile", "grants": ["client_credentials"], "enabled": false });
    assert_eq!(call(&changer, &admin, "PUT", "/clients/svc", Some(edit)).await.0, 200);
    assert_eq!(checker.userinfo(access_token).await.status(), 401, "the token is dead");
}

/// Redis restarted without persistence: the revocation markers are gone, but the database
/// still has every revocation, and no instance trusts what it cached before the loss.
#[tokio::test]
async fn a_warm_cache_trusts_nothing_once_redis_lost_its_data() {
    let env = TestEnv::new().await;
    let Some(redis_url) = env.redis_url.clone() else { return };
    let (changer, other) = two_instances(&env).await;
    let checker = other.as_ref().unwrap_or(&changer);
    let access_token = &revoke_after_warming(&changer, checker).await;
    let client = redis::Client::open(redis_url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> =
        redis::cmd("KEYS").arg(format!("{}*", env.redis_prefix)).query_async(&mut connection).await.unwrap();
    assert!(!keys.is_empty());
    let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut connection).await.unwrap();
    assert_eq!(checker.userinfo(access_token).await.status(), 401, "the database still knows");
}

#[tokio::test]
async fn a_rotated_client_secret_stops_working_at_once_on_every_instance() {
    let env = TestEnv::new().await;
    let (changer, other) = two_instances(&env).await;
    let checker = other.as_ref().unwrap_or(&changer);
    let admin = admin_token(&changer).await;
    let body = json!({ "client_id": "svc", "grants": ["client_credentials"], "scope": "profile" });
    let (_, created) = call(&changer, &admin, "POST", "/clients", Some(body)).await;
    let svc = crate::flow::Rp { client_id: "svc".into(), secret: created["client_secret"].as_str().map(Into::into) };
    for _ in 0..2 {
        assert_eq!(checker.token(&svc, &[("grant_type", "client_credentials")]).await.status(), 200);
    }

    assert_eq!(call(&changer, &admin, "POST", "/clients/svc/secret", None).await.0, 200);
    let refused = checker.token(&svc, &[("grant_type", "client_credentials")]).await;
    assert_eq!(refused.status(), 401, "the old secret is refused, not served from a cache");
}

/// A full in-process store cannot take the revocation marker: the revocation still stands
/// (it is in the database) and this instance stops serving what it had cached.
#[tokio::test]
async fn a_revocation_the_store_cannot_take_still_empties_this_instances_cache() {
    use base64::Engine;
    let env = TestEnv::new().await;
    if env.redis_url.is_some() {
        return; // Redis is never "full"; the in-process store is.
    }
    let app = env.spawn_app_with(|settings| settings.memory_store.max_entries = 1_000).await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let tokens = app.tokens_for(&rp, "alice").await;
    let access_token = tokens["access_token"].as_str().unwrap();
    warm(&app, access_token).await;

    let payload = access_token.split('.').nth(1).unwrap();
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let ttl = std::time::Duration::from_secs(600);
    let mut filler = 0;
    while app.state.ephemeral.put(&format!("filler:{filler}"), b"x", ttl).await.is_ok() {
        filler += 1;
    }
    let grant_id = claims["gid"].as_str().unwrap();
    let revoked = latchkey::domain::tokens::revoke_grant(&app.state, grant_id, latchkey::domain::now()).await;
    assert!(revoked.is_err(), "the store is full");
    assert_eq!(app.userinfo(access_token).await.status(), 401, "the database answers, not the cache");
}
