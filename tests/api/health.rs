use diesel_migrations::MigrationHarness;

use crate::helpers::{TestApp, TestDb, problem};

#[actix_web::test]
async fn live_and_ready_answer_with_a_request_id() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let id = res
        .headers()
        .get("x-request-id")
        .expect("request id header");
    assert!(uuid::Uuid::parse_str(id.to_str().unwrap()).is_ok());

    let res = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

#[actix_web::test]
async fn ready_is_503_while_a_migration_is_pending() {
    let app = TestApp::spawn_on(TestDb::empty(), &[]).await;
    // An empty database: nothing migrated yet.
    let res = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("retry-after").is_some());
    problem(res, 503).await;

    let mut conn = app.conn();
    banso::db::migrate(&mut conn).unwrap();
    let res = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    conn.revert_last_migration(banso::db::MIGRATIONS).unwrap();
    let res = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    problem(res, 503).await;
}

#[actix_web::test]
async fn a_database_that_is_down_gives_503_not_a_hang() {
    // Nothing listens on port 1: every checkout fails after the timeout.
    let keys = crate::helpers::temp_dir("keys");
    let settings = crate::helpers::test_settings(
        "postgres://postgres@127.0.0.1:1/none",
        &keys,
        &[("BANSO_POOL_TIMEOUT_MS", "300")],
    );
    let tokens = banso::auth::tokens::TokenService::new(
        &banso::auth::tokens::load_keys(&keys).unwrap(),
        "banso",
        "banso-api",
        std::time::Duration::from_secs(60),
    )
    .unwrap();
    let token = tokens
        .issue(uuid::Uuid::new_v4(), banso::auth::Role::Admin, None)
        .unwrap();
    let pool = banso::db::build_pool(settings.database_url.as_deref().unwrap(), &settings);
    let app = banso::startup::Application::build(settings, pool, tokens).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    let res = client
        .get(format!("{base}/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "the process is up even without a database"
    );
    let res = client
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers().get("retry-after").unwrap(), "2");
    problem(res, 503).await;
    let res = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let body = problem(res, 503).await;
    assert!(
        !body.to_string().contains("127.0.0.1:1"),
        "no connection details leak: {body}"
    );
}
