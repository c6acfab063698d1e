//! Tests for /api/v1/households.

use std::collections::HashSet;

use banso::units::model::UnitRow;
use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{TestApp, count, delete, patch, problem};
use crate::helpers::{fields, id_of, pairs, unit, village};

/// Cao Bằng (04) with two villages in commune 01273 and one in 01279, and a
/// village of Tuyên Quang (08).
struct Places {
    cao_bang: UnitRow,
    thuc_phan: UnitRow,
    na_pinh: UnitRow,
    na_pinh_2: UnitRow,
    nung_tri_cao: UnitRow,
    khuoi_ky: UnitRow,
    far: UnitRow,
}

fn places(app: &TestApp) -> Places {
    Places {
        cao_bang: unit(app, "04"),
        thuc_phan: unit(app, "01273"),
        na_pinh: village(app, "01273", "Thôn Nà Pình"),
        na_pinh_2: village(app, "01273", "Thôn Nà Rụa"),
        nung_tri_cao: unit(app, "01279"),
        khuoi_ky: village(app, "01279", "Thôn Khuổi Ky"),
        far: village(app, "00691", "Tổ 5"),
    }
}

fn household_body(village: &UnitRow, head: &str) -> Value {
    json!({
        "village_id": village.id,
        "head_name": head,
        "size": 4,
        "poverty_status": "poor",
    })
}

/// Creates a household with `extra` merged over the minimal body.
async fn create(app: &TestApp, token: &str, village: &UnitRow, head: &str, extra: Value) -> Value {
    let mut body = household_body(village, head);
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let res = app
        .post_json("/api/v1/households", Some(token), &body)
        .await;
    assert_eq!(res.status(), 201, "create {head}");
    res.json().await.unwrap()
}

async fn import(app: &TestApp, token: &str, content_type: &str, csv: String) -> Response {
    app.client
        .post(app.url("/api/v1/households/import"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(csv)
        .send()
        .await
        .unwrap()
}

/// Head names of a list page, sorted.
async fn heads(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let res = app.get(path, token).await;
    assert_eq!(res.status(), 200, "{path}");
    let page: Value = res.json().await.unwrap();
    let mut names: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["head_name"].as_str().unwrap_or("").to_string())
        .collect();
    names.sort();
    names
}

fn households(app: &TestApp) -> i64 {
    count(&mut app.conn(), "SELECT count(*) AS n FROM households")
}

const HEADER: &str = "village_code,code,head_name,size,ethnicity,phone,poverty_status,poverty_standard,survey_year,deprivations,has_smartphone,has_internet";

#[actix_web::test]
async fn an_officer_registers_a_household() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let body = json!({
        "village_id": p.na_pinh.id,
        "code": " CB-001 ",
        "head_name": "  Nông   Văn Dũng ",
        "size": 5,
        "ethnicity": "Tày",
        "phone": "+84 912 345 678",
        "poverty_status": "poor",
        "poverty_standard": "2022-2025",
        "survey_year": 2024,
        "deprivations": ["information_access", "employment", "employment"],
        "has_smartphone": "yes",
    });
    let res = app
        .post_json("/api/v1/households", Some(&officer), &body)
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let h: Value = res.json().await.unwrap();
    assert_eq!(h["village_id"], p.na_pinh.id.to_string());
    assert_eq!(h["commune_id"], p.thuc_phan.id.to_string());
    assert_eq!(h["code"], "CB-001");
    assert_eq!(h["head_name"], "Nông Văn Dũng");
    assert_eq!(h["size"], 5);
    assert_eq!(h["ethnicity"], "Tày");
    assert_eq!(h["phone"], "0912345678");
    assert_eq!(h["poverty_status"], "poor");
    assert_eq!(h["poverty_standard"], "2022-2025");
    assert_eq!(h["survey_year"], 2024);
    assert_eq!(
        h["deprivations"],
        json!(["employment", "information_access"])
    );
    assert_eq!(h["has_smartphone"], "yes");
    assert_eq!(h["has_internet"], "unknown");
    assert!(h["erased_at"].is_null() && h["archived_at"].is_null());
    assert_eq!(h["version"], 1);
    assert!(h.get("confirm_new").is_none() && h.get("area_path").is_none());
    let id = id_of(&h);

    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM households WHERE id = '{id}' AND village_id = '{}' \
                 AND commune_id = '{}' AND area_path = '{}' AND code = 'CB-001' \
                 AND head_name = 'Nông Văn Dũng' AND phone = '0912345678' AND size = 5 \
                 AND deprivations = ARRAY['employment', 'information_access'] \
                 AND has_internet = 'unknown' AND erased_at IS NULL",
                p.na_pinh.id, p.thuc_phan.id, p.na_pinh.path
            )
        ),
        1
    );

    let res = app.get(&format!("/api/v1/households/{id}"), &officer).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"1\"");
    assert_eq!(res.json::<Value>().await.unwrap(), h);
    problem(
        app.get(
            &format!("/api/v1/households/{}", uuid::Uuid::new_v4()),
            &officer,
        )
        .await,
        404,
    )
    .await;
}

#[actix_web::test]
async fn a_likely_duplicate_needs_confirmation() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let first = create(&app, &officer, &p.na_pinh, "Nguyễn Văn An", json!({})).await;

    // The same head, written without accents and in capitals.
    let body = household_body(&p.na_pinh, "NGUYEN  VAN AN");
    let res = app
        .post_json("/api/v1/households", Some(&officer), &body)
        .await;
    let conflict = problem(res, 409).await;
    let candidates = conflict["current"]["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 1, "{conflict}");
    assert_eq!(candidates[0]["id"], first["id"]);
    assert_eq!(candidates[0]["reason"], "same_head_name");
    assert_eq!(candidates[0]["head_name"], "Nguyễn Văn An");
    assert_eq!(candidates[0]["village_id"], p.na_pinh.id.to_string());
    assert_eq!(households(&app), 1);

    // The caller has looked: it is another household.
    let mut confirmed = body.clone();
    confirmed["confirm_new"] = json!(true);
    let res = app
        .post_json("/api/v1/households", Some(&officer), &confirmed)
        .await;
    assert_eq!(res.status(), 201);
    let second: Value = res.json().await.unwrap();
    assert_eq!(second["head_name"], "NGUYEN VAN AN");
    assert_eq!(households(&app), 2);

    // A namesake in another village is no duplicate; a longer name is not
    // the same name.
    create(&app, &officer, &p.na_pinh_2, "Nguyễn Văn An", json!({})).await;
    create(&app, &officer, &p.na_pinh, "Nguyễn Văn Anh", json!({})).await;
    assert_eq!(households(&app), 4);
}

#[actix_web::test]
async fn the_same_code_in_a_commune_is_never_a_new_household() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let first = create(
        &app,
        &officer,
        &p.na_pinh,
        "Nông Văn Dũng",
        json!({ "code": "CB-001" }),
    )
    .await;

    // Another village of the same commune, another head: still refused.
    let mut body = household_body(&p.na_pinh_2, "Hoàng Thị Mai");
    body["code"] = json!("CB-001");
    body["confirm_new"] = json!(true);
    let res = app
        .post_json("/api/v1/households", Some(&officer), &body)
        .await;
    let conflict = problem(res, 409).await;
    let candidates = conflict["current"]["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 1);
    assert_eq!(candidates[0]["id"], first["id"]);
    assert_eq!(candidates[0]["reason"], "same_code");
    assert_eq!(candidates[0]["code"], "CB-001");
    assert_eq!(households(&app), 1);

    // Codes are per commune.
    let other = create(
        &app,
        &officer,
        &p.khuoi_ky,
        "Hoàng Thị Mai",
        json!({ "code": "CB-001" }),
    )
    .await;
    assert_eq!(other["commune_id"], p.nung_tri_cao.id.to_string());

    // Nor can an update take a code of the commune.
    let second = create(
        &app,
        &officer,
        &p.na_pinh_2,
        "Lục Văn Hùng",
        json!({ "code": "CB-002" }),
    )
    .await;
    let res = patch(
        &app,
        &officer,
        &format!("/api/v1/households/{}", id_of(&second)),
        None,
        &json!({ "code": "CB-001", "version": 1 }),
    )
    .await;
    let conflict = problem(res, 409).await;
    assert_eq!(conflict["current"]["candidates"][0]["reason"], "same_code");
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM households WHERE id = '{}' AND code = 'CB-002' AND version = 1",
                id_of(&second)
            )
        ),
        1
    );
}

#[actix_web::test]
async fn lists_filter_by_poverty_deprivation_internet_text_and_unit() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let admin = app.admin_token().await;
    create(
        &app,
        &admin,
        &p.na_pinh,
        "Nông Văn Dũng",
        json!({ "code": "CB-001", "deprivations": ["information_access"], "has_internet": "no" }),
    )
    .await;
    create(
        &app,
        &admin,
        &p.na_pinh_2,
        "Hoàng Thị Mai",
        json!({ "code": "CB-002", "poverty_status": "near_poor", "has_internet": "yes",
                "deprivations": ["employment", "information_access"] }),
    )
    .await;
    create(
        &app,
        &admin,
        &p.khuoi_ky,
        "Đàm Văn Sơn",
        json!({ "code": "NT-001", "poverty_status": "not_poor", "has_internet": "yes" }),
    )
    .await;
    create(
        &app,
        &admin,
        &p.far,
        "Lý Thị Hoa",
        json!({ "code": "HG-001" }),
    )
    .await;

    let base = "/api/v1/households";
    assert_eq!(heads(&app, &admin, base).await.len(), 4);
    assert_eq!(
        heads(&app, &admin, &format!("{base}?poverty_status=poor")).await,
        ["Lý Thị Hoa", "Nông Văn Dũng"]
    );
    assert_eq!(
        heads(
            &app,
            &admin,
            &format!("{base}?deprivation=information_access")
        )
        .await,
        ["Hoàng Thị Mai", "Nông Văn Dũng"]
    );
    assert_eq!(
        heads(&app, &admin, &format!("{base}?deprivation=employment")).await,
        ["Hoàng Thị Mai"]
    );
    assert_eq!(
        heads(&app, &admin, &format!("{base}?has_internet=no")).await,
        ["Nông Văn Dũng"]
    );
    assert_eq!(
        heads(
            &app,
            &admin,
            &format!("{base}?has_internet=yes&poverty_status=near_poor")
        )
        .await,
        ["Hoàng Thị Mai"]
    );
    // Text: the head's name without accents, or the code.
    assert_eq!(
        heads(&app, &admin, &format!("{base}?q=nong%20van")).await,
        ["Nông Văn Dũng"]
    );
    assert_eq!(
        heads(&app, &admin, &format!("{base}?q=DAM%20VAN%20SON")).await,
        ["Đàm Văn Sơn"]
    );
    assert_eq!(
        heads(&app, &admin, &format!("{base}?q=cb-002")).await,
        ["Hoàng Thị Mai"]
    );
    assert_eq!(heads(&app, &admin, &format!("{base}?q=CB-")).await.len(), 2);
    // Units mean their whole subtree.
    assert_eq!(
        heads(&app, &admin, &format!("{base}?unit_id={}", p.thuc_phan.id)).await,
        ["Hoàng Thị Mai", "Nông Văn Dũng"]
    );
    assert_eq!(
        heads(&app, &admin, &format!("{base}?unit_id={}", p.cao_bang.id))
            .await
            .len(),
        3
    );
    assert_eq!(
        heads(&app, &admin, &format!("{base}?unit_id={}", p.khuoi_ky.id)).await,
        ["Đàm Văn Sơn"]
    );
    assert_eq!(
        heads(
            &app,
            &admin,
            &format!(
                "{base}?unit_id={}&deprivation=information_access&poverty_status=poor",
                p.cao_bang.id
            )
        )
        .await,
        ["Nông Văn Dũng"]
    );

    // Filters are checked.
    let body = problem(
        app.get(&format!("{base}?deprivation=wealth"), &admin).await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "deprivation");
    assert_eq!(body["errors"][0]["code"], "not_allowed");
    problem(
        app.get(&format!("{base}?poverty_status=rich"), &admin)
            .await,
        400,
    )
    .await;

    // Pages of two cover the four without repeats.
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("{base}?limit=2");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page: Value = app.get(&path, &admin).await.json().await.unwrap();
        for h in page["items"].as_array().unwrap() {
            assert!(seen.insert(id_of(h)));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4);
}

#[actix_web::test]
async fn every_bad_field_is_named_in_one_422() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let res = app
        .post_json(
            "/api/v1/households",
            Some(&officer),
            &json!({
                "village_id": p.thuc_phan.id,
                "code": "CB 001",
                "head_name": " ",
                "size": 0,
                "phone": "0212 345 678",
                "poverty_status": "poor",
                "survey_year": 2000,
                "deprivations": ["information_access", "wealth"],
            }),
        )
        .await;
    let body = problem(res, 422).await;
    assert_eq!(
        fields(&body),
        pairs(&[
            ("village_id", "not_a_village"),
            ("code", "invalid_code"),
            ("head_name", "required"),
            ("size", "out_of_range"),
            ("phone", "invalid_phone"),
            ("survey_year", "out_of_range"),
            ("deprivations", "not_allowed"),
        ]),
        "{body}"
    );
    let res = app
        .post_json(
            "/api/v1/households",
            Some(&officer),
            &json!({ "village_id": p.na_pinh.id, "head_name": "A", "size": 51, "poverty_status": "poor" }),
        )
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("size", "out_of_range")])
    );
    let mut wrong = household_body(&p.na_pinh, "A");
    wrong["income"] = json!(1000);
    let res = app
        .post_json("/api/v1/households", Some(&officer), &wrong)
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "income");
    assert_eq!(households(&app), 0);
}

/// The document's `maxLength` counts characters as sent: white space
/// around a text counts too, and a text longer than the limit is refused
/// even when it would fit once trimmed.
#[actix_web::test]
async fn text_limits_count_characters_as_sent() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let padded = |text: &str, limit: usize| {
        format!("{text}{}", " ".repeat(limit + 1 - text.chars().count()))
    };
    let mut body = household_body(&p.na_pinh, &padded("Lò Văn Páo", 200));
    body["ethnicity"] = json!(padded("Tay", 50));
    body["poverty_standard"] = json!(padded("2022-2025", 50));
    let res = app
        .post_json("/api/v1/households", Some(&officer), &body)
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[
            ("head_name", "too_long"),
            ("ethnicity", "too_long"),
            ("poverty_standard", "too_long"),
        ])
    );
    assert_eq!(households(&app), 0);

    let h = create(
        &app,
        &officer,
        &p.na_pinh,
        "Lò Văn Páo",
        json!({ "ethnicity": " Tày " }),
    )
    .await;
    assert_eq!(h["ethnicity"], "Tày");
    let base = format!("/api/v1/households/{}", id_of(&h));
    let res = app
        .post_json(
            &format!("{base}/consents"),
            Some(&officer),
            &json!({
                "given": true,
                "given_on": "2025-03-01",
                "given_by": padded("Lò Văn Páo", 200),
                "purposes": ["registry"],
                "note": padded("on the form", 500),
            }),
        )
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("given_by", "too_long"), ("note", "too_long")])
    );
    let res = app
        .post_json(
            &format!("{base}/erase"),
            Some(&officer),
            &json!({ "reason": padded("asked by the household", 500), "version": 1 }),
        )
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("reason", "too_long")])
    );
    let consents = count(
        &mut app.conn(),
        "SELECT count(*) AS n FROM household_consents",
    );
    assert_eq!(consents, 0);
    let erased = count(
        &mut app.conn(),
        "SELECT count(*) AS n FROM households WHERE erased_at IS NOT NULL",
    );
    assert_eq!(erased, 0);
}

#[actix_web::test]
async fn updates_carry_the_version_and_archiving_hides() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let h = create(
        &app,
        &officer,
        &p.na_pinh,
        "Nông Văn Dũng",
        json!({ "code": "CB-001" }),
    )
    .await;
    let other = create(&app, &officer, &p.na_pinh, "Hoàng Thị Mai", json!({})).await;
    let path = format!("/api/v1/households/{}", id_of(&h));

    let res = patch(
        &app,
        &officer,
        &path,
        None,
        &json!({ "size": 6, "has_internet": "yes", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let v2: Value = res.json().await.unwrap();
    assert_eq!(v2["size"], 6);
    assert_eq!(v2["has_internet"], "yes");
    assert_eq!(v2["head_name"], "Nông Văn Dũng");
    assert_eq!(v2["code"], "CB-001");

    let res = patch(
        &app,
        &officer,
        &path,
        Some("\"2\""),
        &json!({ "poverty_status": "near_poor", "deprivations": ["information_access"] }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let v3: Value = res.json().await.unwrap();
    assert_eq!(v3["version"], 3);
    assert_eq!(v3["poverty_status"], "near_poor");

    let res = patch(
        &app,
        &officer,
        &path,
        None,
        &json!({ "size": 1, "version": 2 }),
    )
    .await;
    let stale = problem(res, 409).await;
    assert_eq!(stale["current"]["version"], 3);
    assert_eq!(stale["current"]["size"], 6);
    assert_eq!(stale["current"]["poverty_status"], "near_poor");
    let res = patch(&app, &officer, &path, None, &json!({ "size": 1 })).await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "version");
    let res = patch(
        &app,
        &officer,
        &path,
        None,
        &json!({ "size": 99, "version": 3 }),
    )
    .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("size", "out_of_range")])
    );

    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM households WHERE id = '{}' AND version = 3 AND size = 6 \
                 AND poverty_status = 'near_poor' AND has_internet = 'yes' \
                 AND deprivations = ARRAY['information_access']",
                id_of(&h)
            )
        ),
        1
    );

    // Archive: gone from lists, back with include_archived, and its code is
    // free again.
    let res = delete(&app, &officer, &path).await;
    assert_eq!(res.status(), 200);
    let archived: Value = res.json().await.unwrap();
    assert!(archived["archived_at"].is_string());
    assert_eq!(archived["version"], 4);
    assert_eq!(
        heads(&app, &officer, "/api/v1/households").await,
        [other["head_name"].as_str().unwrap()]
    );
    assert_eq!(
        heads(&app, &officer, "/api/v1/households?include_archived=true")
            .await
            .len(),
        2
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM households WHERE archived_at IS NOT NULL AND version = 4"
        ),
        1
    );
    create(
        &app,
        &officer,
        &p.na_pinh_2,
        "Lục Văn Hùng",
        json!({ "code": "CB-001" }),
    )
    .await;
}

#[actix_web::test]
async fn consents_keep_their_history_in_order() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let h = create(&app, &officer, &p.na_pinh, "Nông Văn Dũng", json!({})).await;
    let path = format!("/api/v1/households/{}/consents", id_of(&h));

    let res = app
        .post_json(
            &path,
            Some(&officer),
            &json!({
                "given": true, "given_on": "2025-02-01", "given_by": "Nông Văn Dũng",
                "purposes": ["registry", "assistance", "registry"], "note": "Phiếu số 12",
            }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["given"], true);
    assert_eq!(first["purposes"], json!(["registry", "assistance"]));
    assert_eq!(first["given_by"], "Nông Văn Dũng");
    assert!(first["recorded_by"].is_string() && first["recorded_at"].is_string());

    // Withdrawing needs no purpose.
    let res = app
        .post_json(
            &path,
            Some(&officer),
            &json!({ "given": false, "given_on": "2025-03-01", "given_by": "Nông Văn Dũng" }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let second: Value = res.json().await.unwrap();

    // Consent with no purpose, an unknown purpose, or a future date: 422,
    // all named.
    let res = app
        .post_json(
            &path,
            Some(&officer),
            &json!({ "given": true, "given_on": "2025-03-02", "given_by": "Nông Văn Dũng", "purposes": [] }),
        )
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("purposes", "required")])
    );
    let res = app
        .post_json(
            &path,
            Some(&officer),
            &json!({ "given": true, "given_on": "2999-01-01", "given_by": " ", "purposes": ["marketing"] }),
        )
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[
            ("given_by", "required"),
            ("purposes[0]", "not_allowed"),
            ("purposes", "required"),
            ("given_on", "in_future"),
        ])
    );

    let res = app.get(&path, &officer).await;
    assert_eq!(res.status(), 200);
    let history: Value = res.json().await.unwrap();
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], first["id"]);
    assert_eq!(items[0]["given"], true);
    assert_eq!(items[1]["id"], second["id"]);
    assert_eq!(items[1]["given"], false);
    assert_eq!(items[1]["purposes"], json!([]));

    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM household_consents WHERE household_id = '{}'",
                id_of(&h)
            )
        ),
        2
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM household_consents WHERE purposes = ARRAY['registry', 'assistance'] \
             AND note = 'Phiếu số 12'"
        ),
        1
    );
    problem(
        app.get(
            &format!("/api/v1/households/{}/consents", uuid::Uuid::new_v4()),
            &officer,
        )
        .await,
        404,
    )
    .await;
}

#[actix_web::test]
async fn export_hands_over_the_household_and_its_consents() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let h = create(
        &app,
        &officer,
        &p.na_pinh,
        "Nông Văn Dũng",
        json!({ "phone": "0912345678", "code": "CB-001" }),
    )
    .await;
    let id = id_of(&h);
    let res = app
        .post_json(
            &format!("/api/v1/households/{id}/consents"),
            Some(&officer),
            &json!({ "given": true, "given_on": "2025-02-01", "given_by": "Nông Văn Dũng", "purposes": ["registry"] }),
        )
        .await;
    assert_eq!(res.status(), 201);

    let res = app
        .get(&format!("/api/v1/households/{id}/export"), &officer)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.contains("attachment") && disposition.contains(&id),
        "{disposition}"
    );
    let export: Value = res.json().await.unwrap();
    assert!(export["exported_at"].is_string());
    assert_eq!(export["household"], h);
    let consents = export["consents"].as_array().unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0]["given_by"], "Nông Văn Dũng");
    assert_eq!(consents[0]["purposes"], json!(["registry"]));
}

#[actix_web::test]
async fn erasure_removes_personal_data_and_freezes_the_record() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let h = create(
        &app,
        &officer,
        &p.na_pinh,
        "Nông Văn Dũng",
        json!({
            "code": "CB-001", "phone": "0912345678", "ethnicity": "Tày", "size": 5,
            "deprivations": ["information_access"], "has_smartphone": "no",
        }),
    )
    .await;
    let id = id_of(&h);
    let base = format!("/api/v1/households/{id}");
    let res = app
        .post_json(
            &format!("{base}/consents"),
            Some(&officer),
            &json!({ "given": true, "given_on": "2025-02-01", "given_by": "Nông Văn Dũng",
                     "purposes": ["registry", "assistance"], "note": "Con trai ký thay" }),
        )
        .await;
    assert_eq!(res.status(), 201);

    // A reason and the current version are needed.
    let res = app
        .post_json(
            &format!("{base}/erase"),
            Some(&officer),
            &json!({ "reason": " ", "version": 1 }),
        )
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "reason");
    let res = app
        .post_json(
            &format!("{base}/erase"),
            Some(&officer),
            &json!({ "reason": "Yêu cầu của hộ" }),
        )
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "version");
    let res = app
        .post_json(
            &format!("{base}/erase"),
            Some(&officer),
            &json!({ "reason": "Yêu cầu của hộ", "version": 9 }),
        )
        .await;
    assert_eq!(problem(res, 409).await["current"]["version"], 1);

    let res = app
        .post_json(
            &format!("{base}/erase"),
            Some(&officer),
            &json!({ "reason": "Yêu cầu của hộ", "version": 1 }),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let erased: Value = res.json().await.unwrap();
    for gone in ["head_name", "phone", "code", "ethnicity"] {
        assert!(erased[gone].is_null(), "{gone}: {erased}");
    }
    assert!(erased["erased_at"].is_string());
    assert_eq!(erased["size"], 5);
    assert_eq!(erased["poverty_status"], "poor");
    assert_eq!(erased["deprivations"], json!(["information_access"]));
    assert_eq!(erased["has_smartphone"], "no");
    assert_eq!(erased["village_id"], p.na_pinh.id.to_string());
    assert_eq!(erased["version"], 2);

    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM households WHERE id = '{id}' AND head_name IS NULL \
                 AND phone IS NULL AND code IS NULL AND ethnicity IS NULL AND erased_at IS NOT NULL \
                 AND erasure_reason = 'Yêu cầu của hộ' AND size = 5 AND poverty_status = 'poor' \
                 AND search_text NOT LIKE '%dung%'"
            )
        ),
        1
    );
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM household_consents WHERE household_id = '{id}' \
                 AND given_by = '' AND note IS NULL AND purposes = ARRAY['registry', 'assistance']"
            )
        ),
        1
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM household_consents WHERE given_by LIKE '%Dũng%'"
        ),
        0
    );

    // Frozen: no change, no new consent, no second erasure.
    let res = patch(
        &app,
        &officer,
        &base,
        None,
        &json!({ "size": 3, "version": 2 }),
    )
    .await;
    problem(res, 409).await;
    let res = patch(
        &app,
        &officer,
        &base,
        Some("\"2\""),
        &json!({ "head_name": "Ai đó" }),
    )
    .await;
    problem(res, 409).await;
    let res = app
        .post_json(
            &format!("{base}/consents"),
            Some(&officer),
            &json!({ "given": true, "given_on": "2025-03-01", "given_by": "Ai đó", "purposes": ["registry"] }),
        )
        .await;
    problem(res, 409).await;
    let res = app
        .post_json(
            &format!("{base}/erase"),
            Some(&officer),
            &json!({ "reason": "Lại", "version": 2 }),
        )
        .await;
    problem(res, 409).await;
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM households WHERE id = '{id}' AND version = 2 AND size = 5"
            )
        ),
        1
    );

    // What is left can still be read and exported, but not found by name.
    assert!(
        heads(&app, &officer, "/api/v1/households?q=nong%20van%20dung")
            .await
            .is_empty()
    );
    assert!(
        heads(&app, &officer, "/api/v1/households?q=CB-001")
            .await
            .is_empty()
    );
    let export: Value = app
        .get(&format!("{base}/export"), &officer)
        .await
        .json()
        .await
        .unwrap();
    assert!(export["household"]["head_name"].is_null());
    assert_eq!(export["consents"][0]["given_by"], "");
    assert!(!export.to_string().contains("Dũng") && !export.to_string().contains("0912345678"));

    // The head may be registered again without any duplicate warning.
    create(
        &app,
        &officer,
        &p.na_pinh,
        "Nông Văn Dũng",
        json!({ "code": "CB-001" }),
    )
    .await;
}

#[actix_web::test]
async fn only_officers_and_admins_erase() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let leader = app
        .token_for(
            "totruong.napinh",
            "team_leader",
            Some(p.na_pinh.code.as_str()),
        )
        .await;
    let member = app
        .token_for("thanhvien.napinh", "member", Some(p.na_pinh.code.as_str()))
        .await;
    let h = create(
        &app,
        &leader,
        &p.na_pinh,
        "Nông Văn Dũng",
        json!({ "phone": "0912345678" }),
    )
    .await;
    let path = format!("/api/v1/households/{}/erase", id_of(&h));
    let body = json!({ "reason": "Yêu cầu của hộ", "version": 1 });
    problem(app.post_json(&path, Some(&leader), &body).await, 403).await;
    problem(app.post_json(&path, Some(&member), &body).await, 403).await;
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM households WHERE erased_at IS NULL AND head_name = 'Nông Văn Dũng' \
             AND phone = '0912345678' AND version = 1"
        ),
        1
    );
    // The leader may still export what its village holds; a member may not.
    let export = format!("/api/v1/households/{}/export", id_of(&h));
    assert_eq!(app.get(&export, &leader).await.status(), 200);
    problem(app.get(&export, &member).await, 403).await;
}

#[actix_web::test]
async fn team_leaders_register_households_of_their_village_only() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let admin = app.admin_token().await;
    let leader = app
        .token_for(
            "totruong.napinh",
            "team_leader",
            Some(p.na_pinh.code.as_str()),
        )
        .await;
    let member = app
        .token_for("thanhvien.napinh", "member", Some(p.na_pinh.code.as_str()))
        .await;
    let neighbour = create(&app, &admin, &p.na_pinh_2, "Hoàng Thị Mai", json!({})).await;

    create(&app, &leader, &p.na_pinh, "Nông Văn Dũng", json!({})).await;
    let res = app
        .post_json(
            "/api/v1/households",
            Some(&leader),
            &household_body(&p.na_pinh_2, "Lục Văn Hùng"),
        )
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("village_id", "unknown_village")])
    );
    problem(
        app.get(
            &format!("/api/v1/households/{}", id_of(&neighbour)),
            &leader,
        )
        .await,
        404,
    )
    .await;
    assert_eq!(
        heads(
            &app,
            &leader,
            &format!("/api/v1/households?unit_id={}", p.cao_bang.id)
        )
        .await,
        ["Nông Văn Dũng"]
    );

    let res = app
        .post_json(
            "/api/v1/households",
            Some(&member),
            &household_body(&p.na_pinh, "Lục Văn Hùng"),
        )
        .await;
    problem(res, 403).await;
    assert_eq!(households(&app), 2);
}

#[actix_web::test]
async fn an_officer_of_another_province_never_reaches_the_household() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let stranger = app
        .token_for("canbo.tuyenquang", "officer", Some("08"))
        .await;
    let h = create(
        &app,
        &officer,
        &p.na_pinh,
        "Nông Văn Dũng",
        json!({ "code": "CB-001", "phone": "0912345678" }),
    )
    .await;
    let theirs = create(&app, &stranger, &p.far, "Lý Thị Hoa", json!({})).await;
    let base = format!("/api/v1/households/{}", id_of(&h));

    problem(app.get(&base, &stranger).await, 404).await;
    problem(app.get(&format!("{base}/export"), &stranger).await, 404).await;
    problem(app.get(&format!("{base}/consents"), &stranger).await, 404).await;
    let res = app
        .post_json(
            &format!("{base}/consents"),
            Some(&stranger),
            &json!({ "given": true, "given_on": "2025-02-01", "given_by": "Ai đó", "purposes": ["registry"] }),
        )
        .await;
    problem(res, 404).await;
    let res = app
        .post_json(
            &format!("{base}/erase"),
            Some(&stranger),
            &json!({ "reason": "Thử", "version": 1 }),
        )
        .await;
    problem(res, 404).await;
    let res = patch(
        &app,
        &stranger,
        &base,
        None,
        &json!({ "size": 1, "version": 1 }),
    )
    .await;
    problem(res, 404).await;
    problem(delete(&app, &stranger, &base).await, 404).await;

    for filter in [
        String::new(),
        format!("?unit_id={}", p.na_pinh.id),
        format!("?unit_id={}", p.thuc_phan.id),
        format!("?unit_id={}", p.cao_bang.id),
        "?q=nong%20van".to_string(),
        "?q=CB-001".to_string(),
        "?poverty_status=poor&include_archived=true".to_string(),
    ] {
        let found = heads(&app, &stranger, &format!("/api/v1/households{filter}")).await;
        assert!(!found.contains(&"Nông Văn Dũng".to_string()), "{filter}");
        if filter.is_empty() {
            assert_eq!(found, [theirs["head_name"].as_str().unwrap()]);
        }
    }
    // Nor can it register a household in a village it does not cover.
    let res = app
        .post_json(
            "/api/v1/households",
            Some(&stranger),
            &household_body(&p.na_pinh, "Người lạ"),
        )
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("village_id", "unknown_village")])
    );

    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM households WHERE id = '{}' AND version = 1 AND erased_at IS NULL \
                 AND archived_at IS NULL AND size = 4 AND head_name = 'Nông Văn Dũng'",
                id_of(&h)
            )
        ),
        1
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM household_consents"),
        0
    );
    assert_eq!(households(&app), 2);
}

#[actix_web::test]
async fn import_inserts_every_row_of_a_good_file() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let (a, b) = (&p.na_pinh.code, &p.khuoi_ky.code);
    let csv = format!(
        "\u{feff}{HEADER}\n\
         {a},CB-101,Nông Văn Dũng,5,Tày,0912 345 678,poor,2022-2025,2024,information_access;employment,yes,no\n\
         {a},CB-102,\"Hoàng Thị Mai\",3,Nùng,,near_poor,,,,,\n\
         {b},,Đàm Văn Sơn,2,,,not_poor,,,,No,YES\n"
    );
    let res = import(&app, &officer, "text/csv; charset=utf-8", csv).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({ "inserted": 3 }));

    let mut conn = app.conn();
    assert_eq!(households(&app), 3);
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM households WHERE code = 'CB-101' AND village_id = '{}' \
                 AND commune_id = '{}' AND area_path = '{}' AND head_name = 'Nông Văn Dũng' \
                 AND size = 5 AND phone = '0912345678' AND poverty_status = 'poor' \
                 AND survey_year = 2024 AND deprivations = ARRAY['employment', 'information_access'] \
                 AND has_smartphone = 'yes' AND has_internet = 'no' AND version = 1",
                p.na_pinh.id, p.thuc_phan.id, p.na_pinh.path
            )
        ),
        1
    );
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM households WHERE head_name = 'Đàm Văn Sơn' AND code IS NULL \
                 AND commune_id = '{}' AND has_smartphone = 'no' AND has_internet = 'yes'",
                p.nung_tri_cao.id
            )
        ),
        1
    );
    // Imported rows are ordinary households: listed, searchable.
    assert_eq!(
        heads(
            &app,
            &officer,
            &format!("/api/v1/households?unit_id={}", p.thuc_phan.id)
        )
        .await,
        ["Hoàng Thị Mai", "Nông Văn Dũng"]
    );
    assert_eq!(
        heads(&app, &officer, "/api/v1/households?q=cb-102").await,
        ["Hoàng Thị Mai"]
    );
}

#[actix_web::test]
async fn import_reports_every_bad_row_and_inserts_nothing() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    create(
        &app,
        &officer,
        &p.na_pinh_2,
        "Lục Văn Hùng",
        json!({ "code": "CB-001" }),
    )
    .await;
    let before = households(&app);
    let (a, far) = (&p.na_pinh.code, &p.far.code);
    let csv = format!(
        "{HEADER}\n\
         {a},CB-201,Nông Văn Dũng,4,,,poor,,,,,\n\
         {a},CB-202,Hoàng Thị Mai,abc,,,poor,,,,,\n\
         01273-99,CB-203,Đàm Văn Sơn,3,,,poor,,,,,\n\
         {a},CB-201,Lý Văn Tài,2,,,poor,,,,,\n\
         {a},CB-001,Hà Thị Lan,2,,,near_poor,,,,,\n\
         {a},CB-207,Bế Văn Cường,2,,12345,poor,,,,,\n\
         {far},CB-208,Lý Thị Hoa,2,,,poor,,,,,\n"
    );
    let res = import(&app, &officer, "text/csv", csv).await;
    let body = problem(res, 422).await;
    let errors = body["errors"].as_array().unwrap();
    let found: HashSet<(u64, String, String)> = errors
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().expect("every error has a line"),
                e["field"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [
        (3, "size", None),
        (4, "village_code", Some("unknown_village")),
        (5, "code", Some("duplicate")),
        (6, "code", Some("duplicate")),
        (7, "phone", Some("invalid_phone")),
        (8, "village_code", Some("unknown_village")),
    ] {
        assert!(
            found.iter().any(|(line, field, code)| *line == expected.0
                && field == expected.1
                && expected.2.is_none_or(|c| c == code)),
            "missing {expected:?} in {body}"
        );
    }
    let lines: HashSet<u64> = found.iter().map(|(l, _, _)| *l).collect();
    assert_eq!(lines, HashSet::from([3, 4, 5, 6, 7, 8]), "{body}");
    // Listed in file order.
    let order: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
    // The duplicate within the file points at the first line that has it.
    let dup = errors.iter().find(|e| e["line"] == 5).unwrap();
    assert!(dup["message"].as_str().unwrap().contains("line 2"), "{dup}");

    assert_eq!(households(&app), before);
}

#[actix_web::test]
async fn import_reports_a_bad_size_once() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let csv = format!(
        "{HEADER}\n{},CB-202,Hoàng Thị Mai,abc,,,poor,,,,,\n",
        p.na_pinh.code
    );
    let body = problem(import(&app, &officer, "text/csv", csv).await, 422).await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 1, "{body}");
}

#[actix_web::test]
async fn import_wants_csv_with_the_required_columns() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let good = format!(
        "{HEADER}\n{},CB-1,Nông Văn Dũng,4,,,poor,,,,,\n",
        p.na_pinh.code
    );

    for wrong in ["application/json", "text/plain", "application/octet-stream"] {
        problem(import(&app, &officer, wrong, good.clone()).await, 415).await;
    }

    let csv = format!(
        "village_code,code,head_name,poverty_status\n{},CB-1,Nông Văn Dũng,poor\n",
        p.na_pinh.code
    );
    let body = problem(import(&app, &officer, "text/csv", csv).await, 422).await;
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["field"], "size");
    assert_eq!(errors[0]["code"], "missing_column");
    assert_eq!(errors[0]["line"], 1);

    let csv = format!(
        "{HEADER},notes\n{},CB-1,Nông Văn Dũng,4,,,poor,,,,,,x\n",
        p.na_pinh.code
    );
    let body = problem(import(&app, &officer, "text/csv", csv).await, 422).await;
    assert_eq!(body["errors"][0]["field"], "notes");
    assert_eq!(body["errors"][0]["code"], "unknown_column");
    assert_eq!(body["errors"][0]["line"], 1);

    let body = problem(
        import(&app, &officer, "text/csv", format!("{HEADER}\n")).await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["code"], "empty");

    // A row with too few cells cannot even be read.
    let csv = format!(
        "{HEADER}\n{},CB-1,Nông Văn Dũng,4,,,poor,,,,,\n{},CB-2,Hoàng Thị Mai\n",
        p.na_pinh.code, p.na_pinh.code
    );
    let body = problem(import(&app, &officer, "text/csv", csv).await, 422).await;
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["field"], "row");
    assert_eq!(errors[0]["code"], "unreadable");
    assert_eq!(errors[0]["line"], 3);

    assert_eq!(households(&app), 0);
    // The right type goes through.
    assert_eq!(
        import(&app, &officer, "application/csv", good)
            .await
            .status(),
        201
    );
    assert_eq!(households(&app), 1);
}

#[actix_web::test]
async fn import_stays_inside_the_callers_area() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let leader = app
        .token_for(
            "totruong.napinh",
            "team_leader",
            Some(p.na_pinh.code.as_str()),
        )
        .await;
    let member = app
        .token_for("thanhvien.napinh", "member", Some(p.na_pinh.code.as_str()))
        .await;
    let csv = format!(
        "{HEADER}\n{},CB-1,Nông Văn Dũng,4,,,poor,,,,,\n{},CB-2,Hoàng Thị Mai,3,,,poor,,,,,\n",
        p.na_pinh.code, p.na_pinh_2.code
    );
    let body = problem(import(&app, &leader, "text/csv", csv.clone()).await, 422).await;
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["line"], 3);
    assert_eq!(errors[0]["field"], "village_code");
    assert_eq!(errors[0]["code"], "unknown_village");
    problem(import(&app, &member, "text/csv", csv).await, 403).await;
    assert_eq!(households(&app), 0);

    let own = format!(
        "{HEADER}\n{},CB-1,Nông Văn Dũng,4,,,poor,,,,,\n",
        p.na_pinh.code
    );
    let res = import(&app, &leader, "text/csv", own).await;
    assert_eq!(res.status(), 201);
    assert_eq!(households(&app), 1);
}

#[actix_web::test]
async fn a_code_clash_does_not_reveal_households_outside_the_area() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let hidden = create(
        &app,
        &officer,
        &p.na_pinh_2,
        "Lục Văn Hùng",
        json!({ "code": "CB-001" }),
    )
    .await;
    let leader = app
        .token_for(
            "totruong.napinh",
            "team_leader",
            Some(p.na_pinh.code.as_str()),
        )
        .await;
    // The leader cannot see the household of the neighbouring village...
    problem(
        app.get(&format!("/api/v1/households/{}", id_of(&hidden)), &leader)
            .await,
        404,
    )
    .await;

    // ...and a clash on its code must not show it either.
    let mut body = household_body(&p.na_pinh, "Nông Văn Dũng");
    body["code"] = json!("CB-001");
    let res = app
        .post_json("/api/v1/households", Some(&leader), &body)
        .await;
    let conflict = problem(res, 409).await;
    let text = conflict.to_string();
    assert!(
        !text.contains("Lục Văn Hùng") && !text.contains(&id_of(&hidden)),
        "{conflict}"
    );

    let own = create(
        &app,
        &leader,
        &p.na_pinh,
        "Nông Văn Dũng",
        json!({ "code": "CB-002" }),
    )
    .await;
    let res = patch(
        &app,
        &leader,
        &format!("/api/v1/households/{}", id_of(&own)),
        None,
        &json!({ "code": "CB-001", "version": 1 }),
    )
    .await;
    let conflict = problem(res, 409).await;
    let text = conflict.to_string();
    assert!(
        !text.contains("Lục Văn Hùng") && !text.contains(&id_of(&hidden)),
        "{conflict}"
    );
}

/// An XLSX workbook whose first sheet holds `rows` (the first is the header).
fn workbook(rows: &[Vec<&str>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            // Numbers go in as numbers, as a spreadsheet program stores them.
            match cell.parse::<f64>() {
                Ok(n) if !cell.starts_with('0') || *cell == "0" => {
                    sheet.write_number(r as u32, c as u16, n).unwrap();
                }
                _ => {
                    sheet.write_string(r as u32, c as u16, *cell).unwrap();
                }
            }
        }
    }
    book.save_to_buffer().unwrap()
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[actix_web::test]
async fn import_reads_the_first_sheet_of_a_workbook() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let a = p.na_pinh.code.as_str();
    let header = HEADER.split(',').collect::<Vec<_>>();
    let book = workbook(&[
        header.clone(),
        vec![
            a,
            "CB-201",
            "Lục Văn Nhập",
            "4",
            "Tày",
            "0912345678",
            "poor",
            "2022-2025",
            "2024",
            "information_access",
            "no",
            "unknown",
        ],
        vec![
            a,
            "CB-202",
            "Bế Thị Hoa",
            "2",
            "",
            "",
            "near_poor",
            "",
            "",
            "",
            "",
            "",
        ],
    ]);
    let res = app
        .client
        .post(app.url("/api/v1/households/import"))
        .bearer_auth(&officer)
        .header("content-type", XLSX)
        .body(book)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM households WHERE code = 'CB-201' AND size = 4 AND survey_year = 2024 \
             AND phone = '0912345678' AND deprivations = ARRAY['information_access']"
        ),
        1
    );
    assert_eq!(households(&app), 2);

    // A bad row is named by the line a spreadsheet program shows, and
    // nothing of the workbook lands.
    let book = workbook(&[
        header,
        vec![
            a,
            "CB-203",
            "Ma Văn Lâm",
            "3",
            "",
            "",
            "poor",
            "",
            "",
            "",
            "",
            "",
        ],
        vec![
            a,
            "CB-204",
            "Triệu Thị Xuân",
            "many",
            "",
            "",
            "rich",
            "",
            "",
            "",
            "",
            "",
        ],
    ]);
    let res = app
        .client
        .post(app.url("/api/v1/households/import"))
        .bearer_auth(&officer)
        .header("content-type", XLSX)
        .body(book)
        .send()
        .await
        .unwrap();
    let body = problem(res, 422).await;
    let errors = body["errors"].as_array().unwrap();
    assert!(errors.iter().all(|e| e["line"] == 3), "{body}");
    let named: HashSet<&str> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(named, HashSet::from(["size", "poverty_status"]));
    assert_eq!(households(&app), 2);

    // Something that is not a workbook at all.
    let res = app
        .client
        .post(app.url("/api/v1/households/import"))
        .bearer_auth(&officer)
        .header("content-type", XLSX)
        .body("not a zip file")
        .send()
        .await
        .unwrap();
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["code"], "not_xlsx");
}

#[actix_web::test]
async fn after_erasure_the_audit_trail_holds_no_personal_data() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let created = create(
        &app,
        &officer,
        &p.na_pinh,
        "Nông Thị Riêngtư",
        json!({ "phone": "0987654321", "ethnicity": "Tày" }),
    )
    .await;
    let id = id_of(&created);
    let res = patch(
        &app,
        &officer,
        &format!("/api/v1/households/{id}"),
        None,
        &json!({ "phone": "0912000111", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = app.get(&format!("/api/v1/households/{id}"), &officer).await;
    assert_eq!(res.status(), 200);
    let res = app
        .post_json(
            &format!("/api/v1/households/{id}/erase"),
            Some(&officer),
            &json!({ "reason": "yêu cầu của chủ hộ", "version": 2 }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let mut conn = app.conn();
    for secret in ["Riêngtư", "0987654321", "0912000111"] {
        assert_eq!(
            count(
                &mut conn,
                &format!(
                    "SELECT count(*) AS n FROM audit_events \
                     WHERE coalesce(before::text, '') || coalesce(after::text, '') LIKE '%{secret}%'"
                )
            ),
            0,
            "{secret} is in the audit trail"
        );
    }
    // The trail still says what happened to the household.
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM audit_events WHERE entity_id = '{id}' AND action IN ('create', 'update', 'read', 'erase')"
            )
        ),
        4
    );
}

#[actix_web::test]
async fn import_reads_the_vietnamese_headings_and_wordings_of_commune_lists() {
    let app = TestApp::spawn().await;
    let p = places(&app);
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let a = &p.na_pinh.code;
    let csv = format!(
        "Mã thôn,Mã hộ,Họ tên chủ hộ,Số nhân khẩu,Dân tộc,Số điện thoại,Phân loại hộ,Năm rà soát,Có điện thoại thông minh,Có Internet\n\
         {a},VN-001,Hà Thị Lụa,4,Tày,,Hộ nghèo,2024,Không,Có\n\
         {a},VN-002,Nông Văn Páo,6,H'Mông,,Hộ cận nghèo,2024,Có,Không rõ\n"
    );
    let res = import(&app, &officer, "text/csv", csv).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM households WHERE code = 'VN-001' AND poverty_status = 'poor' \
             AND has_smartphone = 'no' AND has_internet = 'yes' AND size = 4"
        ),
        1
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM households WHERE code = 'VN-002' AND poverty_status = 'near_poor' \
             AND has_smartphone = 'yes' AND has_internet = 'unknown'"
        ),
        1
    );
    // An unknown heading is still named, in the words of the file.
    let csv = format!(
        "Mã thôn,Họ tên chủ hộ,Số nhân khẩu,Phân loại hộ,Ghi chú\n{a},Lý Văn Mạnh,3,Hộ nghèo,x\n"
    );
    let body = problem(import(&app, &officer, "text/csv", csv).await, 422).await;
    assert_eq!(body["errors"][0]["field"], "ghi chú");
    assert_eq!(body["errors"][0]["code"], "unknown_column");
}
