//! Every failure is a problem document, whichever layer produced it.

use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, count, problem};

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
    assert_eq!(errors[0]["field"], "password", "{body}");
    assert_eq!(errors[0]["code"], "required", "{body}");
}

#[actix_web::test]
async fn a_body_that_is_not_an_object_is_422() {
    let app = TestApp::spawn().await;
    // The fields in order, as an array, are not a login: no token.
    for body in [
        json!(["admin", PASSWORD]),
        json!("admin"),
        json!(null),
        json!(7),
    ] {
        let res = app.post_json("/api/v1/auth/login", None, &body).await;
        let problem = problem(res, 422).await;
        assert_eq!(problem["errors"][0]["field"], "body", "{body}: {problem}");
        assert_eq!(problem["errors"][0]["code"], "invalid_type", "{problem}");
        assert!(problem.get("access_token").is_none());
    }
    // Nor a team: nothing is stored.
    let admin = app.admin_token().await;
    let village = crate::helpers::village(&app, "01273", "Thôn Nà Pình");
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&admin),
            &json!([village.id, "Tổ CNS thôn Nà Pình", null, null]),
        )
        .await;
    problem(res, 422).await;
    let mut conn = app.conn();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM teams"), 0);
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
    assert_eq!(body["errors"][0]["field"], "reasn", "{body}");
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

/// Text that must never reach a client: Rust type names, parser positions,
/// constraint names.
fn assert_plain(body: &serde_json::Value) {
    let text = body.to_string();
    for needle in [
        "struct ",
        "enum ",
        "::",
        "_pkey",
        "_key\"",
        "_fkey",
        "at line ",
        "UUID parsing failed",
        "invalid character",
        "premature end",
        "HouseholdInput",
        "AssistanceInput",
    ] {
        assert!(!text.contains(needle), "{needle:?} in {text}");
    }
}

fn field_named(body: &serde_json::Value, field: &str) -> serde_json::Value {
    body["errors"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["field"] == field).cloned())
        .unwrap_or_else(|| panic!("no error for {field} in {body}"))
}

#[actix_web::test]
async fn a_date_or_id_in_the_wrong_form_names_its_field_in_plain_words() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let village = crate::helpers::village(&app, "01273", "Thôn Nà Pình");
    let visit = |visited_on: &str, household_id: &str| {
        json!({
            "id": uuid::Uuid::new_v4(),
            "household_id": household_id,
            "visited_on": visited_on,
            "help": [{ "kind": "vneid", "outcome": "done" }],
        })
    };
    let good_id = uuid::Uuid::new_v4().to_string();
    let res = app
        .post_json(
            "/api/v1/assistances",
            Some(&admin),
            &visit("01/12/2026", &good_id),
        )
        .await;
    let body = problem(res, 422).await;
    let e = field_named(&body, "visited_on");
    assert!(
        e["message"].as_str().unwrap().contains("YYYY-MM-DD"),
        "{body}"
    );
    assert_plain(&body);

    let res = app
        .post_json(
            "/api/v1/assistances",
            Some(&admin),
            &visit("2026-12-01", "nhà số 5"),
        )
        .await;
    let body = problem(res, 422).await;
    let e = field_named(&body, "household_id");
    assert!(e["message"].as_str().unwrap().contains("UUID"), "{body}");
    assert_plain(&body);

    // A household of the wrong shape, a member with a bad team id, a team
    // with a number for a name: each names its field.
    let samples = [
        (
            "/api/v1/households",
            json!({ "village_id": village.id, "head_name": "Nông Văn Dũng", "size": "bốn", "poverty_status": "poor" }),
            "size",
        ),
        (
            "/api/v1/households",
            json!({ "village_id": "thôn Nà Pình", "head_name": "Nông Văn Dũng", "size": 4, "poverty_status": "poor" }),
            "village_id",
        ),
        (
            "/api/v1/households",
            json!({ "village_id": village.id, "size": 4, "poverty_status": "poor" }),
            "head_name",
        ),
        (
            "/api/v1/teams",
            json!({ "village_id": village.id, "name": 12 }),
            "name",
        ),
        ("/api/v1/teams", json!("Tổ Nà Pình"), "body"),
        (
            "/api/v1/users",
            json!({ "username": "x.y", "password": PASSWORD, "display_name": "X", "role": "member", "area_id": "04" }),
            "area_id",
        ),
    ];
    for (path, sent, field) in samples {
        let res = app.post_json(path, Some(&admin), &sent).await;
        let body = problem(res, 422).await;
        field_named(&body, field);
        assert_plain(&body);
    }
    let mut conn = app.conn();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM households"), 0);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM teams"), 0);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM assistances"), 0);
}

#[actix_web::test]
async fn bad_query_and_path_parameters_are_named() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for (path, field) in [
        ("/api/v1/households?unit_id=caobang", "unit_id"),
        (
            "/api/v1/households?updated_since=h%C3%B4m%20qua",
            "updated_since",
        ),
        ("/api/v1/households?limit=many", "limit"),
        ("/api/v1/households/not-an-id", "id"),
    ] {
        let body = problem(app.get(path, &admin).await, 400).await;
        field_named(&body, field);
        assert_plain(&body);
    }
}

#[actix_web::test]
async fn nul_characters_are_refused_before_the_database() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let village = crate::helpers::village(&app, "01273", "Thôn Nà Pình");
    let body = problem(app.get("/api/v1/households?q=N%00ng", &admin).await, 400).await;
    let e = field_named(&body, "q");
    assert_eq!(e["code"], "nul");
    let sent = json!({ "village_id": village.id, "head_name": "Nông\u{0}Văn", "size": 4, "poverty_status": "poor" });
    let body = problem(
        app.post_json("/api/v1/households", Some(&admin), &sent)
            .await,
        422,
    )
    .await;
    assert_eq!(field_named(&body, "head_name")["code"], "nul");
    let mut conn = app.conn();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM households"), 0);
}

#[actix_web::test]
async fn an_id_taken_in_another_area_is_a_plain_conflict() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let far = crate::helpers::village(&app, "00691", "Tổ 5");
    let near = crate::helpers::village(&app, "01273", "Thôn Nà Pình");
    let res = app
        .post_json(
            "/api/v1/households",
            Some(&admin),
            &json!({ "village_id": far.id, "head_name": "Lê Thị Hoa", "size": 3, "poverty_status": "poor", "code": "HN-77" }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let far_house: serde_json::Value = res.json().await.unwrap();
    let id = far_house["id"].as_str().unwrap().to_string();

    // An admin of Cao Bằng sends a new household with that id.
    let local = app.token_for("admin.caobang", "admin", Some("04")).await;
    let res = app
        .post_json(
            "/api/v1/sync",
            Some(&local),
            &json!({ "items": [{ "type": "household", "op": "create", "id": id, "data": {
                "village_id": near.id, "head_name": "Nông Văn Dũng", "size": 4, "poverty_status": "poor"
            } }] }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    let answer = &body["results"][0];
    assert_eq!(answer["status"], "conflict", "{body}");
    let text = answer.to_string();
    // At most the id the client sent itself, nothing of the other record.
    let current = &answer["current"];
    assert!(
        current.is_null() || *current == json!({ "id": id }),
        "{body}"
    );
    for secret in [
        "Lê Thị Hoa",
        "HN-77",
        &far.id.to_string(),
        "households_pkey",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert_plain(&body);
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM households WHERE head_name = 'Lê Thị Hoa'"
        ),
        1
    );
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM households"), 1);
}

#[actix_web::test]
async fn a_request_line_or_header_too_long_is_a_problem_document() {
    let app = TestApp::spawn().await;
    let long = "a".repeat(9 * 1024);
    let res = app
        .client
        .get(app.url(&format!("/api/v1/units?q={long}")))
        .send()
        .await
        .unwrap();
    let body = problem(res, 414).await;
    assert_eq!(body["type"], "/problems/uri-too-long");
    let res = app
        .client
        .get(app.url("/health/live"))
        .header("x-note", long.as_str())
        .send()
        .await
        .unwrap();
    let body = problem(res, 431).await;
    assert!(
        body["detail"].as_str().unwrap().contains("x-note"),
        "{body}"
    );
    let mut req = app.client.get(app.url("/health/live"));
    for i in 0..70 {
        req = req.header(format!("x-n{i}"), "1");
    }
    problem(req.send().await.unwrap(), 431).await;
}
