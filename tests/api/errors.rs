//! Every failure is a problem document, whichever layer produced it.

use serde_json::json;

use crate::helpers::{TestApp, problem};

#[actix_web::test]
async fn unknown_route_is_a_404_problem() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/api/v1/nowhere"))
        .send()
        .await
        .unwrap();
    let body = problem(res, 404).await;
    assert_eq!(body["type"], "/problems/not-found");
}

#[actix_web::test]
async fn wrong_method_is_a_405_problem() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .delete(app.url("/health/live"))
        .send()
        .await
        .unwrap();
    problem(res, 405).await;
    let res = app
        .client
        .get(app.url("/api/v1/auth/login"))
        .send()
        .await
        .unwrap();
    problem(res, 405).await;
}

#[actix_web::test]
async fn malformed_json_is_400() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"username\": \"a\", ")
        .send()
        .await
        .unwrap();
    let body = problem(res, 400).await;
    assert!(
        body["detail"].as_str().unwrap().contains("malformed JSON"),
        "{body}"
    );
}

#[actix_web::test]
async fn json_of_the_wrong_shape_is_422_naming_the_problem() {
    let app = TestApp::spawn().await;
    let res = app
        .post_json("/api/v1/auth/login", None, &json!({ "username": "a" }))
        .await;
    let body = problem(res, 422).await;
    let errors = body["errors"].as_array().expect("errors");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("password"),
        "{body}"
    );
}

#[actix_web::test]
async fn wrong_content_type_is_415() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "text/plain")
        .body("username=a")
        .send()
        .await
        .unwrap();
    problem(res, 415).await;
}

#[actix_web::test]
async fn bodies_over_one_mebibyte_are_413() {
    let app = TestApp::spawn().await;
    let big = json!({ "username": "a", "password": "x".repeat(1024 * 1024 + 10) });
    let res = app.post_json("/api/v1/auth/login", None, &big).await;
    problem(res, 413).await;
}

#[actix_web::test]
async fn bad_path_and_query_parameters_are_400() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let res = app.get("/api/v1/units/not-a-uuid", &token).await;
    problem(res, 400).await;
    let res = app.get("/api/v1/units?level=county", &token).await;
    problem(res, 400).await;
    let res = app.get("/api/v1/units?at=2025-13-01", &token).await;
    problem(res, 400).await;
}
