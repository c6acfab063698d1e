//! Tests for /api/v1/members.

use std::collections::HashSet;

use banso::units::model::UnitRow;
use serde_json::{Value, json};

use crate::helpers::{TestApp, count, delete, patch, problem};
use crate::helpers::{fields, id_of, pairs, unit, village};

/// Two villages of Cao Bằng (in two communes) and one of Tuyên Quang, each
/// with an active team made by the admin.
struct World {
    cao_bang: UnitRow,
    na_pinh: UnitRow,
    khuoi_ky: UnitRow,
    team_a: String,
    team_b: String,
    team_far: String,
}

async fn world(app: &TestApp) -> World {
    let na_pinh = village(app, "01273", "Thôn Nà Pình");
    let khuoi_ky = village(app, "01279", "Thôn Khuổi Ky");
    let far = village(app, "00691", "Tổ 5");
    let admin = app.admin_token().await;
    let team_a = create_team(app, &admin, &na_pinh, "Tổ CNS thôn Nà Pình").await;
    let team_b = create_team(app, &admin, &khuoi_ky, "Tổ CNS thôn Khuổi Ky").await;
    let team_far = create_team(app, &admin, &far, "Tổ CNS tổ 5").await;
    World {
        cao_bang: unit(app, "04"),
        na_pinh,
        khuoi_ky,
        team_a,
        team_b,
        team_far,
    }
}

async fn create_team(app: &TestApp, token: &str, village: &UnitRow, name: &str) -> String {
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(token),
            &json!({ "village_id": village.id, "name": name }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let team: Value = res.json().await.unwrap();
    team["id"].as_str().unwrap().to_string()
}

fn member_body(team_id: &str, name: &str) -> Value {
    json!({
        "team_id": team_id,
        "full_name": name,
        "gender": "female",
        "birth_year": 1996,
        "ethnicity": "Tày",
        "phone": "+84 912 345 678",
        "team_role": "member",
        "affiliation": "youth_union",
        "joined_on": "2024-03-01",
    })
}

/// Creates a member with `body` merged over the defaults.
async fn create_member(
    app: &TestApp,
    token: &str,
    team_id: &str,
    name: &str,
    extra: Value,
) -> Value {
    let mut body = member_body(team_id, name);
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let res = app.post_json("/api/v1/members", Some(token), &body).await;
    assert_eq!(res.status(), 201, "create {name}");
    res.json().await.unwrap()
}

async fn names(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let res = app.get(path, token).await;
    assert_eq!(res.status(), 200, "{path}");
    let page: Value = res.json().await.unwrap();
    let mut names: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["full_name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[actix_web::test]
async fn an_officer_registers_a_member_with_a_normalised_phone() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;

    let res = app
        .post_json(
            "/api/v1/members",
            Some(&officer),
            &member_body(&w.team_a, "  Hoàng   Thị Mai "),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let m: Value = res.json().await.unwrap();
    assert_eq!(m["phone"], "0912345678");
    assert_eq!(m["full_name"], "Hoàng Thị Mai");
    assert_eq!(m["team_id"], w.team_a.as_str());
    assert_eq!(m["gender"], "female");
    assert_eq!(m["birth_year"], 1996);
    assert_eq!(m["ethnicity"], "Tày");
    assert_eq!(m["team_role"], "member");
    assert_eq!(m["affiliation"], "youth_union");
    assert_eq!(m["joined_on"], "2024-03-01");
    assert!(m["left_on"].is_null() && m["archived_at"].is_null());
    assert_eq!(m["version"], 1);
    assert!(m["person_id"].is_string());
    assert_ne!(m["person_id"], m["id"]);
    let id = id_of(&m);

    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM members WHERE id = '{id}' AND phone = '0912345678' \
                 AND full_name = 'Hoàng Thị Mai' AND team_id = '{}' AND area_path = '{}'",
                w.team_a, w.na_pinh.path
            )
        ),
        1
    );

    let res = app.get(&format!("/api/v1/members/{id}"), &officer).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"1\"");
    assert_eq!(res.json::<Value>().await.unwrap(), m);

    let res = app
        .get(&format!("/api/v1/teams/{}/members", w.team_a), &officer)
        .await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["id"], id.as_str());
    assert!(page["next_cursor"].is_null());

    // Other spellings of the same number land the same way.
    for (i, phone) in ["0912.345.678", "84912345678", "091-234-5678"]
        .iter()
        .enumerate()
    {
        let mut body = member_body(&w.team_b, &format!("Người {i}"));
        body["phone"] = json!(phone);
        let res = app
            .post_json("/api/v1/members", Some(&officer), &body)
            .await;
        assert_eq!(res.status(), 201);
        assert_eq!(res.json::<Value>().await.unwrap()["phone"], "0912345678");
    }
    problem(
        app.get(
            &format!("/api/v1/members/{}", uuid::Uuid::new_v4()),
            &officer,
        )
        .await,
        404,
    )
    .await;
}

#[actix_web::test]
async fn every_bad_field_is_named_in_one_422() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let mut body = member_body(&uuid::Uuid::new_v4().to_string(), " ");
    body["phone"] = json!("0212 345 678");
    body["birth_year"] = json!(1800);
    body["ethnicity"] = json!("x".repeat(51));
    body["joined_on"] = json!("2999-01-01");
    body["left_on"] = json!("2024-01-01");
    let res = app
        .post_json("/api/v1/members", Some(&officer), &body)
        .await;
    let problem_body = problem(res, 422).await;
    assert_eq!(
        fields(&problem_body),
        pairs(&[
            ("team_id", "unknown_team"),
            ("full_name", "required"),
            ("birth_year", "out_of_range"),
            ("ethnicity", "too_long"),
            ("phone", "invalid_phone"),
            ("joined_on", "in_future"),
            ("left_on", "before_joining"),
        ]),
        "{problem_body}"
    );

    // Just the phone and the year: both named.
    let mut body = member_body(&w.team_a, "Lương Văn Tú");
    body["phone"] = json!("12345");
    body["birth_year"] = json!(2100);
    let res = app
        .post_json("/api/v1/members", Some(&officer), &body)
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("birth_year", "out_of_range"), ("phone", "invalid_phone")])
    );

    // A value outside an enumeration is refused too.
    let mut body = member_body(&w.team_a, "Lương Văn Tú");
    body["team_role"] = json!("boss");
    let res = app
        .post_json("/api/v1/members", Some(&officer), &body)
        .await;
    let refused = problem(res, 422).await;
    assert_eq!(refused["errors"][0]["field"], "team_role");
    assert_eq!(refused["errors"][0]["code"], "not_allowed");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("leader, deputy, member")
    );
    let res = app
        .post_json(
            "/api/v1/members",
            Some(&officer),
            &json!({ "team_id": w.team_a, "full_name": "Tú", "unknown": 1 }),
        )
        .await;
    problem(res, 422).await;

    let mut conn = app.conn();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM members"), 0);
}

#[actix_web::test]
async fn a_bad_enum_is_named_with_the_other_bad_fields() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let mut body = member_body(&w.team_a, "Lương Văn Tú");
    body["gender"] = json!("robot");
    body["phone"] = json!("12345");
    body["birth_year"] = json!(1800);
    let res = app
        .post_json("/api/v1/members", Some(&officer), &body)
        .await;
    let refused = problem(res, 422).await;
    let named: HashSet<String> = fields(&refused).into_iter().map(|(f, _)| f).collect();
    let expected: HashSet<String> = ["gender", "phone", "birth_year"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(named, expected, "{refused}");
}

#[actix_web::test]
async fn team_members_filter_by_role_gender_affiliation_and_current() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let a = &w.team_a;
    create_member(
        &app,
        &officer,
        a,
        "Nông Văn Dũng",
        json!({ "gender": "male", "team_role": "leader", "affiliation": "youth_union" }),
    )
    .await;
    create_member(
        &app,
        &officer,
        a,
        "Hoàng Thị Mai",
        json!({ "team_role": "deputy", "affiliation": "womens_union" }),
    )
    .await;
    create_member(
        &app,
        &officer,
        a,
        "Lục Thị Hoa",
        json!({ "affiliation": "teacher", "left_on": "2024-12-31" }),
    )
    .await;
    create_member(
        &app,
        &officer,
        &w.team_b,
        "Đàm Văn Sơn",
        json!({ "gender": "male" }),
    )
    .await;

    let base = format!("/api/v1/teams/{a}/members");
    assert_eq!(
        names(&app, &officer, &base).await,
        ["Hoàng Thị Mai", "Lục Thị Hoa", "Nông Văn Dũng"]
    );
    assert_eq!(
        names(&app, &officer, &format!("{base}?team_role=leader")).await,
        ["Nông Văn Dũng"]
    );
    assert_eq!(
        names(&app, &officer, &format!("{base}?gender=female")).await,
        ["Hoàng Thị Mai", "Lục Thị Hoa"]
    );
    assert_eq!(
        names(&app, &officer, &format!("{base}?affiliation=teacher")).await,
        ["Lục Thị Hoa"]
    );
    assert_eq!(
        names(&app, &officer, &format!("{base}?current=true")).await,
        ["Hoàng Thị Mai", "Nông Văn Dũng"]
    );
    assert_eq!(
        names(&app, &officer, &format!("{base}?current=false")).await,
        ["Lục Thị Hoa"]
    );
    assert_eq!(
        names(
            &app,
            &officer,
            &format!("{base}?gender=female&current=true")
        )
        .await,
        ["Hoàng Thị Mai"]
    );
    assert_eq!(
        names(&app, &officer, &format!("{base}?q=nong%20van")).await,
        ["Nông Văn Dũng"]
    );
    problem(
        app.get(&format!("{base}?team_role=boss"), &officer).await,
        400,
    )
    .await;

    // The same filters on /members, across teams.
    assert_eq!(
        names(&app, &officer, "/api/v1/members?gender=male").await,
        ["Nông Văn Dũng", "Đàm Văn Sơn"]
    );
    assert_eq!(
        names(
            &app,
            &officer,
            &format!("/api/v1/members?team_id={}", w.team_b)
        )
        .await,
        ["Đàm Văn Sơn"]
    );
    assert_eq!(
        names(
            &app,
            &officer,
            &format!("/api/v1/members?unit_id={}", w.khuoi_ky.id)
        )
        .await,
        ["Đàm Văn Sơn"]
    );
    assert_eq!(
        names(
            &app,
            &officer,
            &format!("/api/v1/members?unit_id={}", w.cao_bang.id)
        )
        .await
        .len(),
        4
    );
    problem(
        app.get(
            &format!("/api/v1/teams/{}/members", uuid::Uuid::new_v4()),
            &officer,
        )
        .await,
        404,
    )
    .await;
}

#[actix_web::test]
async fn moving_a_member_keeps_the_history() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let m = create_member(&app, &officer, &w.team_a, "Hoàng Thị Mai", json!({})).await;
    let id = id_of(&m);

    let res = app
        .post_json(
            &format!("/api/v1/members/{id}/move"),
            Some(&officer),
            &json!({ "team_id": w.team_b, "on": "2025-01-15", "version": 1 }),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let moved: Value = res.json().await.unwrap();
    let new_id = id_of(&moved);
    assert_ne!(new_id, id);
    assert_eq!(moved["person_id"], m["person_id"]);
    assert_eq!(moved["team_id"], w.team_b.as_str());
    assert_eq!(moved["joined_on"], "2025-01-15");
    assert!(moved["left_on"].is_null());
    assert_eq!(moved["full_name"], "Hoàng Thị Mai");
    assert_eq!(moved["phone"], "0912345678");
    assert_eq!(moved["team_role"], "member");

    let old: Value = app
        .get(&format!("/api/v1/members/{id}"), &officer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(old["left_on"], "2025-01-15");
    assert_eq!(old["team_id"], w.team_a.as_str());
    assert_eq!(old["version"], 2);

    let mut conn = app.conn();
    let person = m["person_id"].as_str().unwrap();
    assert_eq!(
        count(
            &mut conn,
            &format!("SELECT count(*) AS n FROM members WHERE person_id = '{person}'")
        ),
        2
    );
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM members WHERE id = '{id}' AND left_on = '2025-01-15' AND version = 2"
            )
        ),
        1
    );
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM members WHERE id = '{new_id}' AND team_id = '{}' \
                 AND area_path = '{}' AND left_on IS NULL",
                w.team_b, w.khuoi_ky.path
            )
        ),
        1
    );

    // The history shows both memberships, oldest first, from either row.
    for from in [&id, &new_id] {
        let res = app
            .get(&format!("/api/v1/members/{from}/history"), &officer)
            .await;
        assert_eq!(res.status(), 200);
        let history: Value = res.json().await.unwrap();
        let items = history["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["id"], id.as_str());
        assert_eq!(items[0]["team_id"], w.team_a.as_str());
        assert_eq!(items[1]["id"], new_id.as_str());
        assert_eq!(items[1]["team_id"], w.team_b.as_str());
    }

    // Team lists follow: current members of B, ended ones of A.
    assert_eq!(
        names(
            &app,
            &officer,
            &format!("/api/v1/teams/{}/members?current=true", w.team_a)
        )
        .await,
        Vec::<String>::new()
    );
    assert_eq!(
        names(
            &app,
            &officer,
            &format!("/api/v1/teams/{}/members?current=true", w.team_b)
        )
        .await,
        ["Hoàng Thị Mai"]
    );
    // A team leader of the new village sees the membership it can see.
    let leader = app
        .token_for(
            "totruong.khuoiky",
            "team_leader",
            Some(w.khuoi_ky.code.as_str()),
        )
        .await;
    let res = app
        .get(&format!("/api/v1/members/{new_id}/history"), &leader)
        .await;
    let history: Value = res.json().await.unwrap();
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_move_is_checked() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let m = create_member(&app, &officer, &w.team_a, "Hoàng Thị Mai", json!({})).await;
    let path = format!("/api/v1/members/{}/move", id_of(&m));
    let post = |body: Value| {
        let (app, officer, path) = (&app, &officer, &path);
        async move { app.post_json(path, Some(officer), &body).await }
    };

    let res = post(json!({ "team_id": w.team_b, "on": "2025-01-15" })).await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "version");
    let res = post(json!({ "team_id": w.team_b, "on": "2025-01-15", "version": 5 })).await;
    assert_eq!(problem(res, 409).await["current"]["version"], 1);
    let res = post(json!({ "team_id": w.team_a, "on": "2023-01-15", "version": 1 })).await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("team_id", "same_team"), ("on", "before_joining")])
    );
    // A team outside the officer's province is not there for it.
    let res = post(json!({ "team_id": w.team_far, "on": "2025-01-15", "version": 1 })).await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("team_id", "unknown_team")])
    );
    // A move into the future. (The error names `joined_on`, the field of the
    // new membership, rather than the request's `on`.)
    let res = post(json!({ "team_id": w.team_b, "on": "2999-01-15", "version": 1 })).await;
    let future = fields(&problem(res, 422).await);
    assert_eq!(future.len(), 1);
    assert!(
        future
            .iter()
            .all(|(f, c)| (f == "on" || f == "joined_on") && c == "in_future"),
        "{future:?}"
    );

    let mut conn = app.conn();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM members"), 1);
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM members WHERE version = 1 AND left_on IS NULL"
        ),
        1
    );

    // An ended membership cannot move again.
    let res = post(json!({ "team_id": w.team_b, "on": "2025-01-15", "version": 1 })).await;
    assert_eq!(res.status(), 201);
    let res = post(json!({ "team_id": w.team_b, "on": "2025-02-15", "version": 2 })).await;
    let body = problem(res, 422).await;
    assert!(fields(&body).contains(&("id".to_string(), "not_current".to_string())));
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM members"), 2);
}

#[actix_web::test]
async fn changing_the_team_through_patch_is_refused() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let m = create_member(&app, &officer, &w.team_a, "Hoàng Thị Mai", json!({})).await;
    let path = format!("/api/v1/members/{}", id_of(&m));

    let res = patch(
        &app,
        &officer,
        &path,
        None,
        &json!({ "team_id": w.team_b, "version": 1 }),
    )
    .await;
    let body = problem(res, 422).await;
    assert_eq!(fields(&body), pairs(&[("team_id", "use_move")]));

    // Other fields change with either form of version.
    let res = patch(
        &app,
        &officer,
        &path,
        Some("\"1\""),
        &json!({ "team_role": "deputy", "phone": "0987 654 321" }),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["team_role"], "deputy");
    assert_eq!(updated["phone"], "0987654321");
    assert_eq!(updated["team_id"], w.team_a.as_str());
    let res = patch(
        &app,
        &officer,
        &path,
        None,
        &json!({ "phone": null, "version": 2 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(res.json::<Value>().await.unwrap()["phone"].is_null());
    let res = patch(
        &app,
        &officer,
        &path,
        None,
        &json!({ "full_name": "X", "version": 2 }),
    )
    .await;
    assert_eq!(problem(res, 409).await["current"]["version"], 3);
    let res = patch(&app, &officer, &path, None, &json!({ "full_name": "X" })).await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "version");

    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM members WHERE id = '{}' AND team_id = '{}' \
                 AND team_role = 'deputy' AND phone IS NULL AND version = 3",
                id_of(&m),
                w.team_a
            )
        ),
        1
    );
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM members"), 1);
}

#[actix_web::test]
async fn archived_members_leave_lists_unless_asked_for() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let m = create_member(&app, &officer, &w.team_a, "Hoàng Thị Mai", json!({})).await;
    create_member(&app, &officer, &w.team_a, "Nông Văn Dũng", json!({})).await;
    let res = delete(&app, &officer, &format!("/api/v1/members/{}", id_of(&m))).await;
    assert_eq!(res.status(), 200);
    let archived: Value = res.json().await.unwrap();
    assert!(archived["archived_at"].is_string());
    assert_eq!(archived["version"], 2);
    let base = format!("/api/v1/teams/{}/members", w.team_a);
    assert_eq!(names(&app, &officer, &base).await, ["Nông Văn Dũng"]);
    assert_eq!(
        names(&app, &officer, &format!("{base}?include_archived=true"))
            .await
            .len(),
        2
    );
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM members WHERE archived_at IS NOT NULL"
        ),
        1
    );
}

#[actix_web::test]
async fn team_leaders_manage_their_own_team_only() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let leader = app
        .token_for(
            "totruong.napinh",
            "team_leader",
            Some(w.na_pinh.code.as_str()),
        )
        .await;
    let member = app
        .token_for("thanhvien.napinh", "member", Some(w.na_pinh.code.as_str()))
        .await;
    let neighbour = create_member(&app, &officer, &w.team_b, "Đàm Văn Sơn", json!({})).await;

    let res = app
        .post_json(
            "/api/v1/members",
            Some(&leader),
            &member_body(&w.team_a, "Hoàng Thị Mai"),
        )
        .await;
    assert_eq!(res.status(), 201);
    let own: Value = res.json().await.unwrap();

    // Another village's team is not there for the leader.
    let res = app
        .post_json(
            "/api/v1/members",
            Some(&leader),
            &member_body(&w.team_b, "Người lạ"),
        )
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("team_id", "unknown_team")])
    );
    problem(
        app.get(&format!("/api/v1/members/{}", id_of(&neighbour)), &leader)
            .await,
        404,
    )
    .await;
    let res = patch(
        &app,
        &leader,
        &format!("/api/v1/members/{}", id_of(&neighbour)),
        None,
        &json!({ "full_name": "X", "version": 1 }),
    )
    .await;
    problem(res, 404).await;
    problem(
        app.get(&format!("/api/v1/teams/{}/members", w.team_b), &leader)
            .await,
        404,
    )
    .await;
    assert_eq!(
        names(&app, &leader, "/api/v1/members").await,
        ["Hoàng Thị Mai"]
    );

    // The leader edits its own members.
    let res = patch(
        &app,
        &leader,
        &format!("/api/v1/members/{}", id_of(&own)),
        None,
        &json!({ "team_role": "deputy", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);

    // A plain member reads but does not write.
    let res = app
        .post_json(
            "/api/v1/members",
            Some(&member),
            &member_body(&w.team_a, "Người mới"),
        )
        .await;
    problem(res, 403).await;
    let res = patch(
        &app,
        &member,
        &format!("/api/v1/members/{}", id_of(&own)),
        None,
        &json!({ "full_name": "X", "version": 2 }),
    )
    .await;
    problem(res, 403).await;
    let res = app
        .post_json(
            &format!("/api/v1/members/{}/move", id_of(&own)),
            Some(&member),
            &json!({ "team_id": w.team_b, "on": "2025-01-15", "version": 2 }),
        )
        .await;
    problem(res, 403).await;
    problem(
        delete(&app, &member, &format!("/api/v1/members/{}", id_of(&own))).await,
        403,
    )
    .await;
    assert_eq!(
        names(&app, &member, "/api/v1/members").await,
        ["Hoàng Thị Mai"]
    );

    let mut conn = app.conn();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM members"), 2);
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM members WHERE full_name = 'Đàm Văn Sơn' AND version = 1"
        ),
        1
    );
}

#[actix_web::test]
async fn members_outside_the_area_are_not_found() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let stranger = app
        .token_for("canbo.tuyenquang", "officer", Some("08"))
        .await;
    let m = create_member(&app, &officer, &w.team_a, "Hoàng Thị Mai", json!({})).await;
    let path = format!("/api/v1/members/{}", id_of(&m));

    problem(app.get(&path, &stranger).await, 404).await;
    problem(app.get(&format!("{path}/history"), &stranger).await, 404).await;
    let res = patch(
        &app,
        &stranger,
        &path,
        None,
        &json!({ "full_name": "X", "version": 1 }),
    )
    .await;
    problem(res, 404).await;
    problem(delete(&app, &stranger, &path).await, 404).await;
    let res = app
        .post_json(
            &format!("{path}/move"),
            Some(&stranger),
            &json!({ "team_id": w.team_far, "on": "2025-01-15", "version": 1 }),
        )
        .await;
    problem(res, 404).await;
    for filter in [
        String::new(),
        format!("?team_id={}", w.team_a),
        format!("?unit_id={}", w.cao_bang.id),
        "?q=mai".to_string(),
    ] {
        assert!(
            names(&app, &stranger, &format!("/api/v1/members{filter}"))
                .await
                .is_empty(),
            "{filter}"
        );
    }
    // Nor can it add members to a team it cannot see.
    let res = app
        .post_json(
            "/api/v1/members",
            Some(&stranger),
            &member_body(&w.team_a, "Người lạ"),
        )
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("team_id", "unknown_team")])
    );

    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM members WHERE version = 1 AND archived_at IS NULL AND left_on IS NULL"
        ),
        1
    );
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM members"), 1);
}

#[actix_web::test]
async fn archived_or_dissolved_teams_take_no_new_members() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/teams/{}", w.team_a)))
        .bearer_auth(&officer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .post_json(
            "/api/v1/members",
            Some(&officer),
            &member_body(&w.team_a, "Hoàng Thị Mai"),
        )
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("team_id", "team_not_active")])
    );
    let mut conn = app.conn();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM members"), 0);
}

#[actix_web::test]
async fn members_of_a_dissolved_team_can_be_moved_out() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let m = create_member(&app, &officer, &w.team_a, "Hoàng Thị Mai", json!({})).await;
    let other = create_member(&app, &officer, &w.team_a, "Nông Văn Dũng", json!({})).await;
    let res = patch(
        &app,
        &officer,
        &format!("/api/v1/teams/{}", w.team_a),
        None,
        &json!({ "status": "dissolved", "dissolved_on": "2025-01-31", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);

    // Its members join the neighbouring team...
    let res = app
        .post_json(
            &format!("/api/v1/members/{}/move", id_of(&m)),
            Some(&officer),
            &json!({ "team_id": w.team_b, "on": "2025-02-01", "version": 1 }),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    // ...or simply leave.
    let res = patch(
        &app,
        &officer,
        &format!("/api/v1/members/{}", id_of(&other)),
        None,
        &json!({ "left_on": "2025-01-31", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

#[actix_web::test]
async fn a_team_keeps_its_village_and_its_members() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let new_village = village(&app, "01279", "Thôn Pác Bó");
    create_member(&app, &officer, &w.team_a, "Hoàng Thị Mai", json!({})).await;
    // Members and records hang on the team's village: moving a team is
    // refused, and nothing moves.
    let res = patch(
        &app,
        &officer,
        &format!("/api/v1/teams/{}", w.team_a),
        None,
        &json!({ "village_id": new_village.id, "version": 1 }),
    )
    .await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "village_id");
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM members WHERE area_path = '{}'",
                new_village.path
            )
        ),
        0
    );
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM teams WHERE id = '{}' AND version = 1",
                w.team_a
            )
        ),
        1
    );
}
