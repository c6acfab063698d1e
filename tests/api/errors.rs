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

#[actix_web::test]
async fn an_archived_record_is_kept_as_it_was() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let mut conn = app.conn();
    let commune = banso::units::repo::find_by_code(&mut conn, "01273", banso::units::repo::today())
        .unwrap()
        .remove(0);
    let village = banso::units::repo::create_village(
        &mut conn,
        &commune,
        "Thôn Cốc Xả",
        "Thôn",
        commune.valid_from,
    )
    .unwrap();
    let team: serde_json::Value = app
        .post_json(
            "/api/v1/teams",
            Some(&admin),
            &json!({ "village_id": village.id, "name": "Tổ Cốc Xả" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let url = app.url(&format!("/api/v1/teams/{}", team["id"].as_str().unwrap()));
    let res = app
        .client
        .delete(&url)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .client
        .patch(&url)
        .bearer_auth(&admin)
        .json(&json!({ "name": "Tổ mới", "version": 2 }))
        .send()
        .await
        .unwrap();
    let body = problem(res, 409).await;
    assert!(
        body["detail"].as_str().unwrap().contains("archived"),
        "{body}"
    );
    assert_eq!(
        crate::helpers::count(
            &mut conn,
            "SELECT count(*) AS n FROM teams WHERE name = 'Tổ Cốc Xả' AND version = 2"
        ),
        1
    );
}

#[actix_web::test]
async fn an_optional_body_that_is_there_must_be_right() {
    let app = TestApp::spawn().await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let mut conn = app.conn();
    let province = banso::units::repo::find_by_code(&mut conn, "04", banso::units::repo::today())
        .unwrap()
        .remove(0);
    let url = app.url(&format!("/api/v1/periods/{}/2026-09/lock", province.id));
    let send = |ctype: &'static str, body: &'static str| {
        app.client
            .post(&url)
            .bearer_auth(&officer)
            .header("content-type", ctype)
            .body(body)
            .send()
    };
    problem(send("text/plain", "close the month").await.unwrap(), 415).await;
    let body = problem(
        send("application/json", r#"{"reasn": "typo"}"#)
            .await
            .unwrap(),
        422,
    )
    .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("reasn"),
        "{body}"
    );
    problem(send("application/json", "{").await.unwrap(), 400).await;
    assert_eq!(
        crate::helpers::count(&mut conn, "SELECT count(*) AS n FROM period_locks"),
        0
    );
    // No body at all is fine: the lock has no reason.
    let res = send("application/json", "").await.unwrap();
    assert_eq!(res.status(), 201);
}

#[actix_web::test]
async fn a_text_search_on_activities_is_refused_not_ignored() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for path in ["/api/v1/assistances?q=vneid", "/api/v1/trainings?q=vneid"] {
        let body = problem(app.get(path, &admin).await, 422).await;
        assert_eq!(body["errors"][0]["field"], "q");
    }
}
