//! Housekeeping: what every instance purges periodically, so a busy deployment's tables and
//! memory hold live state only, and what it must keep.

use latchkey::domain::{grants, now, tokens};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;

use crate::flow::{ClientOptions, add_user, register_client};
use crate::helpers::{TestApp, TestEnv};

async fn count(app: &TestApp, table: &str) -> i64 {
    let db = &app.state.db;
    let statement = Statement::from_string(db.get_database_backend(), format!("SELECT COUNT(*) AS n FROM {table}"));
    db.query_one_raw(statement).await.unwrap().unwrap().try_get::<i64>("", "n").unwrap()
}

#[tokio::test]
async fn ended_grants_are_purged_with_their_tokens_and_live_ones_keep_working() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    add_user(&app, "alice").await;
    let rp = register_client(&app, "webapp", ClientOptions { first_party: true, ..ClientOptions::default() }).await;
    let ended = app.tokens_for(&rp, "alice").await;
    let live = app.tokens_for(&rp, "alice").await;
    let form = [("token", ended["refresh_token"].as_str().unwrap())];
    let revoked = app.client.post(app.url("/revoke")).basic_auth("webapp", rp.secret.as_ref()).form(&form);
    assert_eq!(revoked.send().await.unwrap().status(), 200);
    assert_eq!((count(&app, "refresh_token_families").await, count(&app, "refresh_tokens").await), (2, 2));

    let db = &app.state.db;
    assert_eq!(grants::purge_ended(db, now()).await.unwrap(), 0, "a just-revoked grant is kept a moment");
    assert_eq!(grants::purge_ended(db, now() + 120).await.unwrap(), 1);
    assert_eq!((count(&app, "refresh_token_families").await, count(&app, "refresh_tokens").await), (1, 1));

    let refresh = |tokens: &Value| {
        let token = tokens["refresh_token"].as_str().unwrap().to_string();
        let app = &app;
        let rp = &rp;
        async move { app.token(rp, &[("grant_type", "refresh_token"), ("refresh_token", &token)]).await }
    };
    let refused = refresh(&ended).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.json::<Value>().await.unwrap()["error"], "invalid_grant");
    assert_eq!(refresh(&live).await.status(), 200, "a live grant survives the purge");
    assert_eq!(count(&app, "refresh_tokens").await, 2, "the used token stays, for reuse detection");
    let access_token = ended["access_token"].as_str().unwrap();
    assert_eq!(app.userinfo(access_token).await.status(), 401, "the revocation record outlives the family");

    let after_expiry = now() + app.state.settings.tokens.refresh_token_ttl_secs as i64 + 1;
    assert_eq!(grants::purge_ended(db, after_expiry).await.unwrap(), 1, "an expired grant goes too");
    assert_eq!((count(&app, "refresh_token_families").await, count(&app, "refresh_tokens").await), (0, 0));
}

#[tokio::test]
async fn revocations_are_forgotten_only_once_every_token_of_the_grant_has_expired() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let (db, settings) = (&app.state.db, &app.state.settings);
    tokens::revoke_grant(&app.state, "grant-1", now()).await.unwrap();
    assert_eq!(
        tokens::purge_expired_revocations(db, now() + 3600).await.unwrap(),
        0,
        "its refresh token may still live"
    );
    assert!(tokens::is_grant_revoked(db, "grant-1").await.unwrap());
    let after_everything = now() + settings.tokens.refresh_token_ttl_secs as i64 + 120;
    assert_eq!(tokens::purge_expired_revocations(db, after_everything).await.unwrap(), 1);
    assert!(!tokens::is_grant_revoked(db, "grant-1").await.unwrap());
}
