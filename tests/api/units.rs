use std::collections::HashSet;

use serde_json::Value;

use crate::helpers::{TestApp, problem};

async fn items(app: &TestApp, token: &str, path: &str) -> Value {
    let res = app.get(path, token).await;
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

async fn unit_id(app: &TestApp, token: &str, query: &str) -> String {
    let page = items(app, token, &format!("/api/v1/units?{query}")).await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        1,
        "{query}: {page}"
    );
    page["items"][0]["id"].as_str().unwrap().to_string()
}

#[actix_web::test]
async fn units_need_a_token() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/api/v1/units"))
        .send()
        .await
        .unwrap();
    problem(res, 401).await;
}

#[actix_web::test]
async fn provinces_by_period() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let now = items(&app, &token, "/api/v1/units?level=province&limit=500").await;
    assert_eq!(now["items"].as_array().unwrap().len(), 34);
    assert!(now["next_cursor"].is_null());
    let before = items(
        &app,
        &token,
        "/api/v1/units?level=province&at=2025-03-01&limit=500",
    )
    .await;
    let before = before["items"].as_array().unwrap();
    assert_eq!(before.len(), 63);
    let ha_giang = before.iter().find(|u| u["code"] == "02").unwrap();
    assert_eq!(ha_giang["name"], "Tỉnh Hà Giang");
    assert_eq!(ha_giang["valid_from"], "2025-03-01");
    assert_eq!(ha_giang["valid_to"], "2025-06-30");
}

#[actix_web::test]
async fn q_ignores_accents_and_case() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let page = items(&app, &token, "/api/v1/units?q=cao%20bang&level=province").await;
    assert_eq!(page["items"][0]["name"], "Tỉnh Cao Bằng");
    let page = items(&app, &token, "/api/v1/units?q=LUNG%20CU").await;
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Xã Lũng Cú"]);
    // Accented input finds the same, and LIKE wildcards are taken literally.
    let page = items(&app, &token, "/api/v1/units?q=L%C5%A9ng%20C%C3%BA").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let page = items(&app, &token, "/api/v1/units?q=%25").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
}

#[actix_web::test]
async fn children_page_through_all_56_communes_of_cao_bang() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let cao_bang = unit_id(&app, &token, "level=province&q=cao%20bang").await;
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!("/api/v1/units/{cao_bang}/children?limit=20");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = items(&app, &token, &path).await;
        pages += 1;
        for u in page["items"].as_array().unwrap() {
            assert_eq!(u["level"], "commune");
            assert_eq!(u["parent_id"], cao_bang.as_str());
            assert!(
                seen.insert(u["id"].as_str().unwrap().to_string()),
                "duplicate across pages"
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 56);
    assert_eq!(pages, 3);
}

#[actix_web::test]
async fn lineage_links_old_and_new_units() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let ha_giang = unit_id(&app, &token, "level=province&at=2025-03-01&q=ha%20giang").await;
    let lineage = items(&app, &token, &format!("/api/v1/units/{ha_giang}/lineage")).await;
    let successors = lineage["successors"].as_array().unwrap();
    assert_eq!(successors.len(), 1);
    assert_eq!(successors[0]["unit"]["code"], "08");
    assert_eq!(successors[0]["relation"], "whole");

    let tuyen_quang = successors[0]["unit"]["id"].as_str().unwrap();
    let back = items(
        &app,
        &token,
        &format!("/api/v1/units/{tuyen_quang}/lineage"),
    )
    .await;
    let codes: HashSet<&str> = back["predecessors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["unit"]["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains("02") && codes.contains("08"), "{codes:?}");

    let unit = items(&app, &token, &format!("/api/v1/units/{tuyen_quang}")).await;
    assert_eq!(unit["name"], "Tỉnh Tuyên Quang");
    assert_eq!(unit["type"], "Tỉnh");
}

#[actix_web::test]
async fn unknown_units_and_bad_paging_are_refused() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let missing = uuid::Uuid::new_v4();
    for path in [
        format!("/api/v1/units/{missing}"),
        format!("/api/v1/units/{missing}/children"),
        format!("/api/v1/units/{missing}/lineage"),
    ] {
        problem(app.get(&path, &token).await, 404).await;
    }
    let body = problem(app.get("/api/v1/units?limit=0", &token).await, 422).await;
    assert_eq!(body["errors"][0]["field"], "limit");
    problem(app.get("/api/v1/units?limit=501", &token).await, 422).await;
    let body = problem(app.get("/api/v1/units?cursor=bogus", &token).await, 422).await;
    assert_eq!(body["errors"][0]["field"], "cursor");
    let long_q = "a".repeat(101);
    problem(
        app.get(&format!("/api/v1/units?q={long_q}"), &token).await,
        422,
    )
    .await;
}

#[actix_web::test]
async fn officers_create_villages_under_communes_of_their_area() {
    let app = TestApp::spawn().await;
    let commune = unit_id(
        &app,
        &app.admin_token().await,
        "level=commune&q=thuc%20phan",
    )
    .await;
    let officer = app.token_for("canbo.xa", "officer", Some("01273")).await;
    let body =
        serde_json::json!({ "parent_id": commune, "name": "  Thôn Nà Pình ", "type": "Thôn" });
    let res = app.post_json("/api/v1/units", Some(&officer), &body).await;
    assert_eq!(res.status(), 201);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["level"], "village");
    assert_eq!(first["code"], "01273-01");
    assert_eq!(first["name"], "Thôn Nà Pình");
    assert_eq!(first["short_name"], "Nà Pình");
    assert_eq!(first["parent_id"], commune.as_str());
    let body = serde_json::json!({ "parent_id": commune, "name": "Bản Khuổi Khon", "type": "Bản" });
    let second: Value = app
        .post_json("/api/v1/units", Some(&officer), &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["code"], "01273-02");

    // The village is a unit like any other: listed under its commune and
    // found by name.
    let children = items(
        &app,
        &officer,
        &format!("/api/v1/units/{commune}/children?limit=500"),
    )
    .await;
    let codes: Vec<&str> = children["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["01273-01", "01273-02"]);
    let found = items(&app, &officer, "/api/v1/units?q=khuoi%20khon").await;
    assert_eq!(found["items"][0]["id"], second["id"]);

    // Outside the officer's area, under a province, or by a team leader: refused.
    let province = unit_id(&app, &officer, "level=province&q=cao%20bang").await;
    let hanoi_commune = unit_id(&app, &officer, "level=commune&q=00004").await;
    for parent in [province, hanoi_commune] {
        let body = serde_json::json!({ "parent_id": parent, "name": "Thôn Mới", "type": "Thôn" });
        let res = problem(
            app.post_json("/api/v1/units", Some(&officer), &body).await,
            422,
        )
        .await;
        assert_eq!(res["errors"][0]["field"], "parent_id");
    }
    let body = serde_json::json!({ "parent_id": commune, "name": "", "type": "" });
    let res = problem(
        app.post_json("/api/v1/units", Some(&officer), &body).await,
        422,
    )
    .await;
    assert_eq!(res["errors"].as_array().unwrap().len(), 2);
    let leader = app
        .token_for("totruong", "team_leader", Some("01273-01"))
        .await;
    let body = serde_json::json!({ "parent_id": commune, "name": "Thôn Mới", "type": "Thôn" });
    problem(
        app.post_json("/api/v1/units", Some(&leader), &body).await,
        403,
    )
    .await;
    let mut conn = app.conn();
    assert_eq!(
        crate::helpers::count(
            &mut conn,
            "SELECT count(*) AS n FROM units WHERE level = 'village'"
        ),
        2
    );
    assert_eq!(
        crate::helpers::count(
            &mut conn,
            "SELECT count(*) AS n FROM audit_events WHERE entity = 'unit' AND action = 'create'"
        ),
        2
    );
}
