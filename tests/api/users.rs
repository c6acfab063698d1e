//! Tests for /api/v1/users.

use serde_json::{Value, json};

use crate::helpers::village;
use crate::helpers::{PASSWORD, TestApp, count, problem};

fn unit_id(app: &TestApp, code: &str) -> String {
    let mut conn = app.conn();
    banso::units::repo::find_by_code(&mut conn, code, banso::units::repo::today()).unwrap()[0]
        .id
        .to_string()
}

async fn patch(app: &TestApp, token: &str, id: &str, body: Value) -> reqwest::Response {
    app.client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn an_officer_creates_a_team_leader_in_its_area_who_can_log_in() {
    let app = TestApp::spawn().await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let v = village(&app, "01273", "Thôn Nà Pình");
    let body = json!({
        "username": "Leader.NaPinh", "password": "leader password 1", "role": "team_leader",
        "area_id": v.id, "display_name": "Hoàng Văn A",
    });
    let res = app.post_json("/api/v1/users", Some(&officer), &body).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["username"], "leader.napinh");
    assert!(created.get("password_hash").is_none() && !created.to_string().contains("argon2"));
    let res = app.login("leader.napinh", "leader password 1").await;
    assert_eq!(res.status(), 200);

    // The officer sees the account; an officer of another province does not.
    let other = app.token_for("canbo.hanoi", "officer", Some("01")).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/users/{id}"), &officer)
            .await
            .status(),
        200
    );
    problem(app.get(&format!("/api/v1/users/{id}"), &other).await, 404).await;
    let listed: Value = app
        .get("/api/v1/users?role=team_leader", &other)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed["items"].as_array().unwrap().is_empty());
}

#[actix_web::test]
async fn officers_cannot_create_officers_or_place_accounts_outside_their_area() {
    let app = TestApp::spawn().await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let body = json!({ "username": "new.officer", "password": PASSWORD, "role": "officer", "area_id": unit_id(&app, "04") });
    problem(
        app.post_json("/api/v1/users", Some(&officer), &body).await,
        403,
    )
    .await;

    let hanoi_village = village(&app, "00004", "Tổ dân phố 1");
    let body = json!({ "username": "far.leader", "password": PASSWORD, "role": "team_leader", "area_id": hanoi_village.id });
    let res = problem(
        app.post_json("/api/v1/users", Some(&officer), &body).await,
        422,
    )
    .await;
    assert_eq!(res["errors"][0]["field"], "area_id");

    // Every bad field at once.
    let v = village(&app, "01273", "Thôn Pác Bó");
    let body = json!({ "username": "x", "password": "short", "role": "member", "area_id": v.id, "display_name": "" });
    let res = problem(
        app.post_json("/api/v1/users", Some(&officer), &body).await,
        422,
    )
    .await;
    let fields: Vec<&str> = res["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["username", "password", "display_name"]);
    let mut conn = app.conn();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM users"), 1);

    // Team leaders and members manage no accounts.
    let leader = app
        .token_for("leader.pacbo", "team_leader", Some(&v.code))
        .await;
    problem(app.get("/api/v1/users", &leader).await, 403).await;
}

#[actix_web::test]
async fn deactivation_revokes_refresh_tokens_at_once() {
    let app = TestApp::spawn().await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let v = village(&app, "01273", "Thôn Nà Mạ");
    let leader_id = app
        .create_user("leader.nama", "team_leader", Some(&v.code))
        .await
        .to_string();
    let session = app.tokens("leader.nama").await;

    // A stale version is refused with the current record.
    let res = patch(
        &app,
        &officer,
        &leader_id,
        json!({ "active": false, "version": 7 }),
    )
    .await;
    let body = problem(res, 409).await;
    assert_eq!(body["current"]["version"], 1);
    problem(
        patch(&app, &officer, &leader_id, json!({ "active": false })).await,
        422,
    )
    .await;

    let res = patch(
        &app,
        &officer,
        &leader_id,
        json!({ "active": false, "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM refresh_tokens WHERE user_id = '{leader_id}' AND revoked_at IS NULL"
            )
        ),
        0
    );
    let res = app
        .post_json(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": session["refresh_token"] }),
        )
        .await;
    problem(res, 401).await;
    problem(app.login("leader.nama", PASSWORD).await, 401).await;

    // Officers change neither roles nor areas.
    let res = patch(
        &app,
        &officer,
        &leader_id,
        json!({ "role": "officer", "version": 2 }),
    )
    .await;
    problem(res, 403).await;
}

#[actix_web::test]
async fn an_account_is_linked_to_a_member_of_its_village() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let v = village(&app, "01273", "Bản Khuổi Khon");
    let team = app
        .post_json(
            "/api/v1/teams",
            Some(&admin),
            &json!({ "village_id": v.id, "name": "Tổ CNSCĐ Khuổi Khon" }),
        )
        .await;
    assert_eq!(team.status(), 201);
    let team: Value = team.json().await.unwrap();
    let member = app
        .post_json(
            "/api/v1/members",
            Some(&admin),
            &json!({
                "team_id": team["id"], "full_name": "Nông Thị Hoa", "gender": "female", "team_role": "leader",
                "affiliation": "youth_union", "joined_on": "2025-08-01",
            }),
        )
        .await;
    assert_eq!(member.status(), 201);
    let member: Value = member.json().await.unwrap();
    let body = json!({
        "username": "hoa.leader", "password": PASSWORD, "role": "team_leader", "area_id": v.id, "member_id": member["id"],
    });
    let res = app.post_json("/api/v1/users", Some(&admin), &body).await;
    assert_eq!(res.status(), 201);
    let user: Value = res.json().await.unwrap();
    assert_eq!(user["member_id"], member["id"]);

    // A member of another village cannot be linked.
    let other = village(&app, "01273", "Bản Nặm Dân");
    let body = json!({
        "username": "wrong.link", "password": PASSWORD, "role": "team_leader", "area_id": other.id, "member_id": member["id"],
    });
    let res = problem(
        app.post_json("/api/v1/users", Some(&admin), &body).await,
        422,
    )
    .await;
    assert_eq!(res["errors"][0]["field"], "member_id");

    // Unlinking with null.
    let id = user["id"].as_str().unwrap();
    let res = patch(
        &app,
        &admin,
        id,
        json!({ "member_id": null, "version": user["version"] }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let after: Value = res.json().await.unwrap();
    assert!(after["member_id"].is_null());
}

#[actix_web::test]
async fn a_display_name_is_changed_or_cleared() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = app
        .create_user("canbo.tinh", "officer", Some("04"))
        .await
        .to_string();
    let res = patch(
        &app,
        &admin,
        &id,
        json!({ "display_name": "  Lò Văn Tâm ", "version": 1 }),
    )
    .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["display_name"], "Lò Văn Tâm");
    let res = patch(
        &app,
        &admin,
        &id,
        json!({ "display_name": "\u{7}", "version": 2 }),
    )
    .await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "display_name");
    let res = patch(
        &app,
        &admin,
        &id,
        json!({ "display_name": null, "version": 2 }),
    )
    .await;
    let body: Value = res.json().await.unwrap();
    assert!(body["display_name"].is_null(), "{body}");
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM users WHERE id = '{id}' AND display_name IS NULL AND version = 3"
            )
        ),
        1
    );
}
