//! Tests for /api/v1/catalog.

use serde_json::{Value, json};

use crate::helpers::{TestApp, count, problem};

async fn codes(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let res = app.get(path, token).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn catalogue_is_seeded_in_two_languages() {
    let app = TestApp::spawn().await;
    let token = app.token_for("truong.thon", "officer", Some("04")).await;
    let res = app.get("/api/v1/catalog/assistance-kinds", &token).await;
    let body: Value = res.json().await.unwrap();
    let vneid = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["code"] == "vneid")
        .unwrap();
    assert!(vneid["name_vi"].as_str().unwrap().contains("VNeID"));
    assert!(
        vneid["name_en"]
            .as_str()
            .unwrap()
            .contains("electronic identity")
    );
    let topics = codes(&app, &token, "/api/v1/catalog/training-topics").await;
    assert!(topics.contains(&"ecommerce".to_string()));
    problem(app.get("/api/v1/catalog/recipes", &token).await, 404).await;
}

#[actix_web::test]
async fn admins_add_and_retire_entries_and_others_cannot() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let officer = app.token_for("canbo.tinh", "officer", Some("04")).await;
    let entry = json!({ "code": "agri_app", "name_vi": "Ứng dụng nông nghiệp số", "name_en": "Digital farming apps" });

    problem(
        app.post_json("/api/v1/catalog/assistance-kinds", Some(&officer), &entry)
            .await,
        403,
    )
    .await;
    let res = app
        .post_json("/api/v1/catalog/assistance-kinds", Some(&admin), &entry)
        .await;
    assert_eq!(res.status(), 201);
    problem(
        app.post_json("/api/v1/catalog/assistance-kinds", Some(&admin), &entry)
            .await,
        409,
    )
    .await;

    let bad = json!({ "code": "Bad Code!", "name_vi": "", "name_en": "x" });
    let body = problem(
        app.post_json("/api/v1/catalog/assistance-kinds", Some(&admin), &bad)
            .await,
        422,
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["code", "name_vi"]);

    let res = app
        .client
        .patch(app.url("/api/v1/catalog/assistance-kinds/agri_app"))
        .bearer_auth(&admin)
        .json(&json!({ "retired": true, "version": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        !codes(&app, &officer, "/api/v1/catalog/assistance-kinds")
            .await
            .contains(&"agri_app".to_string())
    );
    assert!(
        codes(
            &app,
            &officer,
            "/api/v1/catalog/assistance-kinds?include_retired=true"
        )
        .await
        .contains(&"agri_app".to_string())
    );
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM catalog_entries WHERE code = 'agri_app' AND retired_at IS NOT NULL"
        ),
        1
    );
    let res = app
        .client
        .patch(app.url("/api/v1/catalog/assistance-kinds/nothing_here"))
        .bearer_auth(&admin)
        .json(&json!({ "retired": true, "version": 1 }))
        .send()
        .await
        .unwrap();
    problem(res, 404).await;
}
