use crate::helpers::TestEnv;

#[tokio::test]
async fn healthz_reports_the_database_and_the_ephemeral_store() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    let backend = if env.redis_url.is_some() { "redis" } else { "memory" };
    assert_eq!(body["ephemeral_store"]["backend"], backend);
    assert_eq!(body["ephemeral_store"]["status"], "ok");
}

#[tokio::test]
async fn healthz_answers_503_naming_the_database_when_it_is_gone() {
    let env = TestEnv::new().await;
    let app = env.spawn_app().await;
    app.state.db.clone().close().await.unwrap();
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_ne!(body["database"], "ok");
    assert_eq!(body["ephemeral_store"]["status"], "ok");
}
