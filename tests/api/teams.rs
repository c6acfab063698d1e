//! Tests for /api/v1/teams.

use std::collections::HashSet;

use banso::units::model::UnitRow;
use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{TestApp, count, patch, problem};
use crate::helpers::{id_of, unit, village};

/// Two communes of Cao Bằng (04) with a village each, and a village of
/// Tuyên Quang (08).
struct Places {
    cao_bang: UnitRow,
    thuc_phan: UnitRow,
    na_pinh: UnitRow,
    nung_tri_cao: UnitRow,
    khuoi_ky: UnitRow,
    ha_giang_village: UnitRow,
}

fn places(app: &TestApp) -> Places {
    Places {
        cao_bang: unit(app, "04"),
        thuc_phan: unit(app, "01273"),
        na_pinh: village(app, "01273", "Thôn Nà Pình"),
        nung_tri_cao: unit(app, "01279"),
        khuoi_ky: village(app, "01279", "Thôn Khuổi Ky"),
        ha_giang_village: village(app, "00691", "Tổ 5"),
    }
}

async fn create_team(app: &TestApp, token: &str, village: &UnitRow, name: &str) -> Value {
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(token),
            &json!({ "village_id": village.id, "name": name }),
        )
        .await;
    assert_eq!(res.status(), 201, "create {name}");
    res.json().await.unwrap()
}

async fn delete(app: &TestApp, token: &str, path: &str, if_match: Option<&str>) -> Response {
    let mut req = app.client.delete(app.url(path)).bearer_auth(token);
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    req.send().await.unwrap()
}

/// The ids of a list page (asserting a 200).
async fn ids(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let res = app.get(path, token).await;
    assert_eq!(res.status(), 200, "{path}");
    let page: Value = res.json().await.unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn an_officer_creates_a_team_and_reads_it_back() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;

    let body = json!({
        "village_id": p.na_pinh.id,
        "name": "  Tổ CNS   thôn Nà Pình ",
        "founded_on": "2023-05-10",
        "decision_number": "123/QĐ-UBND",
    });
    let res = app.post_json("/api/v1/teams", Some(&officer), &body).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let team: Value = res.json().await.unwrap();
    assert_eq!(team["village_id"], p.na_pinh.id.to_string());
    assert_eq!(team["name"], "Tổ CNS thôn Nà Pình");
    assert_eq!(team["founded_on"], "2023-05-10");
    assert_eq!(team["decision_number"], "123/QĐ-UBND");
    assert_eq!(team["status"], "active");
    assert!(team["dissolved_on"].is_null());
    assert!(team["archived_at"].is_null());
    assert_eq!(team["version"], 1);
    assert!(team["created_at"].is_string() && team["updated_at"].is_string());
    let id = id_of(&team);

    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM teams WHERE id = '{id}' AND village_id = '{}' \
                 AND area_path = '{}' AND name = 'Tổ CNS thôn Nà Pình' AND status = 'active' \
                 AND founded_on = '2023-05-10' AND version = 1 AND archived_at IS NULL",
                p.na_pinh.id, p.na_pinh.path
            )
        ),
        1
    );

    let res = app.get(&format!("/api/v1/teams/{id}"), &officer).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let read: Value = res.json().await.unwrap();
    assert_eq!(read, team);

    problem(
        app.get(&format!("/api/v1/teams/{}", uuid::Uuid::new_v4()), &officer)
            .await,
        404,
    )
    .await;
    problem(app.get("/api/v1/teams/not-a-uuid", &officer).await, 400).await;
}

#[actix_web::test]
async fn lists_filter_by_unit_subtree_status_and_accent_insensitive_text() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let admin = app.admin_token().await;
    let na_pinh = create_team(&app, &admin, &p.na_pinh, "Tổ CNS thôn Nà Pình").await;
    let khuoi_ky = create_team(&app, &admin, &p.khuoi_ky, "Tổ CNS thôn Khuổi Ky").await;
    let ha_giang = create_team(&app, &admin, &p.ha_giang_village, "Tổ CNS tổ 5").await;
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&admin),
            &json!({
                "village_id": p.khuoi_ky.id, "name": "Tổ cũ Khuổi Ky",
                "founded_on": "2020-01-01", "status": "dissolved", "dissolved_on": "2024-12-31",
            }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let dissolved: Value = res.json().await.unwrap();
    assert_eq!(dissolved["status"], "dissolved");
    let [na_pinh, khuoi_ky, ha_giang, dissolved] =
        [&na_pinh, &khuoi_ky, &ha_giang, &dissolved].map(id_of);

    let set = |v: Vec<String>| v.into_iter().collect::<HashSet<_>>();
    let all = ids(&app, &admin, "/api/v1/teams").await;
    assert_eq!(
        set(all),
        set(vec![
            na_pinh.clone(),
            khuoi_ky.clone(),
            ha_giang.clone(),
            dissolved.clone()
        ])
    );

    // A commune or a province means everything under it.
    let in_commune = ids(
        &app,
        &admin,
        &format!("/api/v1/teams?unit_id={}", p.thuc_phan.id),
    )
    .await;
    assert_eq!(in_commune, vec![na_pinh.clone()]);
    let in_province = ids(
        &app,
        &admin,
        &format!("/api/v1/teams?unit_id={}", p.cao_bang.id),
    )
    .await;
    assert_eq!(
        set(in_province),
        set(vec![na_pinh.clone(), khuoi_ky.clone(), dissolved.clone()])
    );
    let in_village = ids(
        &app,
        &admin,
        &format!("/api/v1/teams?unit_id={}", p.khuoi_ky.id),
    )
    .await;
    assert_eq!(
        set(in_village),
        set(vec![khuoi_ky.clone(), dissolved.clone()])
    );
    let unknown = ids(
        &app,
        &admin,
        &format!("/api/v1/teams?unit_id={}", uuid::Uuid::new_v4()),
    )
    .await;
    assert!(unknown.is_empty());

    // Status.
    let gone = ids(&app, &admin, "/api/v1/teams?status=dissolved").await;
    assert_eq!(gone, vec![dissolved.clone()]);
    let active = ids(
        &app,
        &admin,
        &format!("/api/v1/teams?status=active&unit_id={}", p.nung_tri_cao.id),
    )
    .await;
    assert_eq!(active, vec![khuoi_ky.clone()]);
    problem(app.get("/api/v1/teams?status=sleeping", &admin).await, 400).await;

    // Text, without accents or case.
    for q in [
        "na%20pinh",
        "N%C3%80%20P%C3%8CNH",
        "%20NA%20%20pinh%20",
        "cns%20thon%20na",
    ] {
        let found = ids(&app, &admin, &format!("/api/v1/teams?q={q}")).await;
        assert_eq!(found, vec![na_pinh.clone()], "q={q}");
    }
    let found = ids(&app, &admin, "/api/v1/teams?q=khuoi%20ky").await;
    assert_eq!(set(found), set(vec![khuoi_ky.clone(), dissolved.clone()]));
    assert!(ids(&app, &admin, "/api/v1/teams?q=%25").await.is_empty());
    let long = "a".repeat(101);
    let body = problem(
        app.get(&format!("/api/v1/teams?q={long}"), &admin).await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "q");
}

#[actix_web::test]
async fn updated_since_keeps_what_changed_at_or_after_the_instant() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let first = create_team(&app, &officer, &p.na_pinh, "Tổ CNS thôn Nà Pình").await;
    let second = create_team(&app, &officer, &p.khuoi_ky, "Tổ CNS thôn Khuổi Ky").await;
    let since = second["updated_at"].as_str().unwrap().replace('+', "%2B");

    let found = ids(
        &app,
        &officer,
        &format!("/api/v1/teams?updated_since={since}"),
    )
    .await;
    assert_eq!(found, vec![id_of(&second)]);

    // An update brings the first one back into the window.
    let res = patch(
        &app,
        &officer,
        &format!("/api/v1/teams/{}", id_of(&first)),
        None,
        &json!({ "decision_number": "45/QĐ", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let found = ids(
        &app,
        &officer,
        &format!("/api/v1/teams?updated_since={since}"),
    )
    .await;
    assert_eq!(found.len(), 2);

    problem(
        app.get("/api/v1/teams?updated_since=yesterday", &officer)
            .await,
        400,
    )
    .await;
}

#[actix_web::test]
async fn cursor_pages_walk_every_team_once() {
    let app = TestApp::spawn().await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let mut made = HashSet::new();
    for i in 0..7 {
        let v = village(&app, "01294", &format!("Thôn Bản {i}"));
        made.insert(id_of(
            &create_team(&app, &officer, &v, &format!("Tổ CNS bản {i}")).await,
        ));
    }
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = "/api/v1/teams?limit=3".to_string();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let res = app.get(&path, &officer).await;
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.unwrap();
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        for t in items {
            assert!(seen.insert(id_of(t)), "a team came back on two pages");
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, made);

    let body = problem(app.get("/api/v1/teams?limit=0", &officer).await, 422).await;
    assert_eq!(body["errors"][0]["field"], "limit");
    let body = problem(app.get("/api/v1/teams?cursor=garbage", &officer).await, 422).await;
    assert_eq!(body["errors"][0]["field"], "cursor");
}

#[actix_web::test]
async fn a_village_has_one_active_team() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    create_team(&app, &officer, &p.na_pinh, "Tổ CNS thôn Nà Pình").await;

    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&officer),
            &json!({ "village_id": p.na_pinh.id, "name": "Tổ thứ hai" }),
        )
        .await;
    let body = problem(res, 409).await;
    assert!(
        body["detail"].as_str().unwrap().contains("active team"),
        "{body}"
    );

    // A dissolved team of the same village is history, not a clash.
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&officer),
            &json!({
                "village_id": p.na_pinh.id, "name": "Tổ cũ", "status": "dissolved",
                "dissolved_on": "2024-06-30",
            }),
        )
        .await;
    assert_eq!(res.status(), 201);

    let mut conn = app.conn();
    let sql = format!(
        "SELECT count(*) AS n FROM teams WHERE village_id = '{}' AND status = 'active'",
        p.na_pinh.id
    );
    assert_eq!(count(&mut conn, &sql), 1);
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM teams WHERE village_id = '{}'",
                p.na_pinh.id
            )
        ),
        2
    );
}

#[actix_web::test]
async fn updates_carry_the_version_they_are_based_on() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let team = create_team(&app, &officer, &p.na_pinh, "Tổ CNS thôn Nà Pình").await;
    let path = format!("/api/v1/teams/{}", id_of(&team));

    // With a version field.
    let res = patch(
        &app,
        &officer,
        &path,
        None,
        &json!({ "name": "Tổ công nghệ số Nà Pình", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let v2: Value = res.json().await.unwrap();
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["name"], "Tổ công nghệ số Nà Pình");
    // Fields the patch left out are kept.
    assert_eq!(v2["village_id"], team["village_id"]);
    assert_eq!(v2["status"], "active");

    // With If-Match, as the ETag came.
    let res = patch(
        &app,
        &officer,
        &path,
        Some("\"2\""),
        &json!({ "status": "dissolved", "dissolved_on": "2025-08-01" }),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"3\"");
    let v3: Value = res.json().await.unwrap();
    assert_eq!(v3["status"], "dissolved");
    assert_eq!(v3["dissolved_on"], "2025-08-01");

    // A stale version: 409 with the record as it is now, and nothing written.
    let res = patch(
        &app,
        &officer,
        &path,
        None,
        &json!({ "name": "Cũ", "version": 1 }),
    )
    .await;
    let body = problem(res, 409).await;
    assert_eq!(body["current"]["version"], 3);
    assert_eq!(body["current"]["name"], "Tổ công nghệ số Nà Pình");
    assert_eq!(body["current"]["status"], "dissolved");
    let res = patch(
        &app,
        &officer,
        &path,
        Some("\"2\""),
        &json!({ "name": "Cũ" }),
    )
    .await;
    assert_eq!(problem(res, 409).await["current"]["version"], 3);

    // No version at all, or one that is not an ETag.
    let res = patch(&app, &officer, &path, None, &json!({ "name": "Cũ" })).await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "version");
    assert_eq!(body["errors"][0]["code"], "required");
    let res = patch(
        &app,
        &officer,
        &path,
        Some("soon"),
        &json!({ "name": "Cũ" }),
    )
    .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "If-Match");

    // An update is checked like a create.
    let res = patch(
        &app,
        &officer,
        &path,
        None,
        &json!({ "name": " ", "version": 3 }),
    )
    .await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "name");
    let res = patch(
        &app,
        &officer,
        &path,
        None,
        &json!({ "colour": "red", "version": 3 }),
    )
    .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "colour");

    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM teams WHERE id = '{}' AND version = 3 \
                 AND name = 'Tổ công nghệ số Nà Pình' AND status = 'dissolved' \
                 AND dissolved_on = '2025-08-01'",
                id_of(&team)
            )
        ),
        1
    );
    // The search text followed the new name.
    assert_eq!(
        ids(&app, &officer, "/api/v1/teams?q=cong%20nghe%20so").await,
        vec![id_of(&team)]
    );
}

#[actix_web::test]
async fn a_change_names_only_fields_the_team_has_and_an_integer_version() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let team = create_team(&app, &officer, &p.na_pinh, "Tổ CNS thôn Nà Pình").await;
    let path = format!("/api/v1/teams/{}", id_of(&team));
    for (if_match, body, field, code) in [
        // Removing a field the team does not have is still naming it.
        (
            None,
            json!({ "nickname": null, "version": 1 }),
            "nickname",
            "unknown",
        ),
        (
            Some("\"1\""),
            json!({ "nickname": null }),
            "nickname",
            "unknown",
        ),
        // A version in the body is read even when If-Match wins over it.
        (
            Some("\"1\""),
            json!({ "name": "Tổ mới", "version": "one" }),
            "version",
            "invalid_type",
        ),
        (
            None,
            json!({ "name": "Tổ mới", "version": [1] }),
            "version",
            "invalid_type",
        ),
    ] {
        let res = patch(&app, &officer, &path, if_match, &body).await;
        let problem = problem(res, 422).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["code"], code, "{body}: {problem}");
    }
    let mut conn = app.conn();
    let stored = format!(
        "SELECT count(*) AS n FROM teams WHERE id = '{}' AND version = 1 AND name = 'Tổ CNS thôn Nà Pình'",
        id_of(&team)
    );
    assert_eq!(count(&mut conn, &stored), 1, "the team was left as it was");
    // `null` is no version: If-Match gives it.
    let res = patch(
        &app,
        &officer,
        &path,
        Some("\"1\""),
        &json!({ "name": "Tổ công nghệ số Nà Pình", "version": null }),
    )
    .await;
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn reactivating_a_team_in_a_village_that_has_another_is_a_conflict() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&officer),
            &json!({
                "village_id": p.na_pinh.id, "name": "Tổ cũ", "status": "dissolved",
                "dissolved_on": "2024-06-30",
            }),
        )
        .await;
    let old: Value = res.json().await.unwrap();
    create_team(&app, &officer, &p.na_pinh, "Tổ mới").await;
    let res = patch(
        &app,
        &officer,
        &format!("/api/v1/teams/{}", id_of(&old)),
        None,
        &json!({ "status": "active", "dissolved_on": null, "version": 1 }),
    )
    .await;
    problem(res, 409).await;
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM teams WHERE id = '{}' AND status = 'dissolved' AND version = 1",
                id_of(&old)
            )
        ),
        1
    );
}

#[actix_web::test]
async fn archived_teams_leave_lists_unless_asked_for() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let team = create_team(&app, &officer, &p.na_pinh, "Tổ CNS thôn Nà Pình").await;
    let other = create_team(&app, &officer, &p.khuoi_ky, "Tổ CNS thôn Khuổi Ky").await;
    let path = format!("/api/v1/teams/{}", id_of(&team));

    // A stale If-Match is refused.
    let res = delete(&app, &officer, &path, Some("\"7\"")).await;
    assert_eq!(problem(res, 409).await["current"]["version"], 1);

    let res = delete(&app, &officer, &path, Some("\"1\"")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let archived: Value = res.json().await.unwrap();
    assert!(archived["archived_at"].is_string());
    assert_eq!(archived["version"], 2);
    // Archiving again changes nothing.
    let res = delete(&app, &officer, &path, None).await;
    assert_eq!(res.status(), 200);
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["version"], 2);

    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM teams WHERE id = '{}' AND archived_at IS NOT NULL AND version = 2",
                id_of(&team)
            )
        ),
        1
    );

    assert_eq!(
        ids(&app, &officer, "/api/v1/teams").await,
        vec![id_of(&other)]
    );
    assert!(
        ids(&app, &officer, "/api/v1/teams?q=na%20pinh")
            .await
            .is_empty()
    );
    let with = ids(&app, &officer, "/api/v1/teams?include_archived=true").await;
    assert_eq!(with.len(), 2);
    assert!(with.contains(&id_of(&team)));
    // Still readable by id.
    assert_eq!(app.get(&path, &officer).await.status(), 200);

    // The village may have a new active team now.
    create_team(&app, &officer, &p.na_pinh, "Tổ CNS mới").await;
    problem(
        delete(
            &app,
            &officer,
            &format!("/api/v1/teams/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await,
        404,
    )
    .await;
}

#[actix_web::test]
async fn every_bad_field_is_named_in_one_422() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&officer),
            &json!({
                "village_id": p.thuc_phan.id,
                "name": "   ",
                "status": "dissolved",
                "founded_on": "2999-01-01",
                "decision_number": "x".repeat(101),
            }),
        )
        .await;
    let body = problem(res, 422).await;
    let errors = body["errors"].as_array().unwrap();
    let found: HashSet<(&str, &str)> = errors
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    let expected: HashSet<(&str, &str)> = [
        ("village_id", "not_a_village"),
        ("name", "required"),
        ("dissolved_on", "required"),
        ("founded_on", "in_future"),
        ("decision_number", "too_long"),
    ]
    .into_iter()
    .collect();
    assert_eq!(found, expected, "{body}");
    assert!(errors.iter().all(|e| e["message"].is_string()));

    // An active team has no dissolution date, and it cannot come before
    // the founding.
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&officer),
            &json!({ "village_id": p.na_pinh.id, "name": "Tổ", "dissolved_on": "2024-01-01" }),
        )
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["code"], "not_allowed");
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&officer),
            &json!({
                "village_id": p.na_pinh.id, "name": "Tổ", "status": "dissolved",
                "founded_on": "2024-01-02", "dissolved_on": "2024-01-01",
            }),
        )
        .await;
    assert_eq!(
        problem(res, 422).await["errors"][0]["code"],
        "before_founding"
    );

    // A field the resource does not have, or no village at all.
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&officer),
            &json!({ "village_id": p.na_pinh.id, "name": "Tổ", "leader": "Anh A" }),
        )
        .await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "leader");
    assert_eq!(body["errors"][0]["code"], "unknown");
    let res = app
        .post_json("/api/v1/teams", Some(&officer), &json!({ "name": "Tổ" }))
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "village_id");
    let res = app
        .client
        .post(app.url("/api/v1/teams"))
        .bearer_auth(&officer)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    problem(res, 400).await;

    let mut conn = app.conn();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM teams"), 0);
}

#[actix_web::test]
async fn only_admins_and_officers_write_teams() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let team = create_team(&app, &officer, &p.na_pinh, "Tổ CNS thôn Nà Pình").await;
    let path = format!("/api/v1/teams/{}", id_of(&team));
    let code = p.na_pinh.code.as_str();
    let leader = app
        .token_for("totruong.napinh", "team_leader", Some(code))
        .await;
    let member = app
        .token_for("thanhvien.napinh", "member", Some(code))
        .await;
    let body = json!({ "village_id": p.na_pinh.id, "name": "Tổ khác" });

    for token in [&leader, &member] {
        problem(
            app.post_json("/api/v1/teams", Some(token), &body).await,
            403,
        )
        .await;
        let res = patch(
            &app,
            token,
            &path,
            None,
            &json!({ "name": "X", "version": 1 }),
        )
        .await;
        problem(res, 403).await;
        problem(delete(&app, token, &path, None).await, 403).await;
        // Reading is fine.
        assert_eq!(app.get(&path, token).await.status(), 200);
    }
    let res = app
        .client
        .get(app.url("/api/v1/teams"))
        .send()
        .await
        .unwrap();
    problem(res, 401).await;

    let mut conn = app.conn();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM teams"), 1);
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM teams WHERE version = 1 AND archived_at IS NULL"
        ),
        1
    );
}

#[actix_web::test]
async fn an_officer_of_another_province_never_sees_the_team() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let stranger = app
        .token_for("canbo.tuyenquang", "officer", Some("08"))
        .await;
    let team = create_team(&app, &officer, &p.na_pinh, "Tổ CNS thôn Nà Pình").await;
    let theirs = create_team(&app, &stranger, &p.ha_giang_village, "Tổ CNS tổ 5").await;
    let path = format!("/api/v1/teams/{}", id_of(&team));

    problem(app.get(&path, &stranger).await, 404).await;
    let res = patch(
        &app,
        &stranger,
        &path,
        None,
        &json!({ "name": "X", "version": 1 }),
    )
    .await;
    problem(res, 404).await;
    let res = patch(
        &app,
        &stranger,
        &path,
        Some("\"1\""),
        &json!({ "name": "X" }),
    )
    .await;
    problem(res, 404).await;
    problem(delete(&app, &stranger, &path, None).await, 404).await;
    problem(app.get(&format!("{path}/members"), &stranger).await, 404).await;

    for filter in [
        String::new(),
        format!("?unit_id={}", p.na_pinh.id),
        format!("?unit_id={}", p.thuc_phan.id),
        format!("?unit_id={}", p.cao_bang.id),
        "?q=na%20pinh".to_string(),
        "?include_archived=true&status=active".to_string(),
    ] {
        let found = ids(&app, &stranger, &format!("/api/v1/teams{filter}")).await;
        assert!(!found.contains(&id_of(&team)), "{filter}");
        if filter.is_empty() {
            assert_eq!(found, vec![id_of(&theirs)]);
        }
    }

    // Nor can it put a team in a village of Cao Bằng.
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&stranger),
            &json!({ "village_id": p.khuoi_ky.id, "name": "Tổ lạ" }),
        )
        .await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "village_id");
    assert_eq!(body["errors"][0]["code"], "unknown_village");

    // The Cao Bằng officer does not see Tuyên Quang's team either.
    problem(
        app.get(&format!("/api/v1/teams/{}", id_of(&theirs)), &officer)
            .await,
        404,
    )
    .await;

    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM teams WHERE id = '{}' AND version = 1 AND archived_at IS NULL \
                 AND name = 'Tổ CNS thôn Nà Pình'",
                id_of(&team)
            )
        ),
        1
    );
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM teams"), 2);
}

#[actix_web::test]
async fn a_commune_officer_sees_its_commune_only() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let admin = app.admin_token().await;
    let here = create_team(&app, &admin, &p.na_pinh, "Tổ CNS thôn Nà Pình").await;
    let there = create_team(&app, &admin, &p.khuoi_ky, "Tổ CNS thôn Khuổi Ky").await;
    let commune = app
        .token_for("canbo.thucphan", "officer", Some(p.thuc_phan.code.as_str()))
        .await;
    assert_eq!(
        ids(&app, &commune, "/api/v1/teams").await,
        vec![id_of(&here)]
    );
    let in_other = ids(
        &app,
        &commune,
        &format!("/api/v1/teams?unit_id={}", p.nung_tri_cao.id),
    )
    .await;
    assert!(in_other.is_empty());
    problem(
        app.get(&format!("/api/v1/teams/{}", id_of(&there)), &commune)
            .await,
        404,
    )
    .await;
}

#[actix_web::test]
async fn a_team_leader_sees_only_its_village_team() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let admin = app.admin_token().await;
    let own = create_team(&app, &admin, &p.na_pinh, "Tổ CNS thôn Nà Pình").await;
    let neighbour = create_team(&app, &admin, &p.khuoi_ky, "Tổ CNS thôn Khuổi Ky").await;
    create_team(&app, &admin, &p.ha_giang_village, "Tổ CNS tổ 5").await;
    let leader = app
        .token_for(
            "totruong.napinh",
            "team_leader",
            Some(p.na_pinh.code.as_str()),
        )
        .await;

    assert_eq!(ids(&app, &leader, "/api/v1/teams").await, vec![id_of(&own)]);
    let wide = ids(
        &app,
        &leader,
        &format!("/api/v1/teams?unit_id={}", p.cao_bang.id),
    )
    .await;
    assert_eq!(wide, vec![id_of(&own)]);
    assert_eq!(
        app.get(&format!("/api/v1/teams/{}", id_of(&own)), &leader)
            .await
            .status(),
        200
    );
    problem(
        app.get(&format!("/api/v1/teams/{}", id_of(&neighbour)), &leader)
            .await,
        404,
    )
    .await;
}

/// A date a spreadsheet cannot hold (before 1900) leaves as its text in an
/// XLSX file instead of failing the whole export.
#[actix_web::test]
async fn a_founding_date_before_1900_is_exported_as_text() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&officer),
            &json!({ "village_id": p.na_pinh.id, "name": "Tổ Nà Pình", "founded_on": "0341-05-04" }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let res = app.get("/api/v1/teams?format=xlsx&lang=en", &officer).await;
    let sheet = crate::exports::xlsx_of(res).await;
    let cells: Vec<String> = sheet
        .rows()
        .skip(1)
        .flat_map(|r| r.iter().map(ToString::to_string).collect::<Vec<_>>())
        .collect();
    assert!(cells.contains(&"0341-05-04".to_string()), "{cells:?}");
}
