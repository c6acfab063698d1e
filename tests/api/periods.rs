//! Tests for /api/v1/periods.
//!
//! An officer locks a reporting month of a unit; while it is locked no
//! visit or session in or under the unit dated in that month is created,
//! changed, archived or checked.

use banso::units::model::UnitRow;
use reqwest::Response;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, count, problem};
use crate::helpers::{unit, village};

/// Nà Pình in commune Thục Phán (01273) and Khuổi Ky in commune 01279,
/// both of Cao Bằng (04), each with a team and a household; and a village
/// of Tuyên Quang (08).
struct World {
    cao_bang: UnitRow,
    thuc_phan: UnitRow,
    nung_tri_cao: UnitRow,
    na_pinh: UnitRow,
    house_a: String,
    house_b: String,
    team_a: String,
    admin: String,
    officer: String,
    leader: String,
}

async fn world(app: &TestApp) -> World {
    let na_pinh = village(app, "01273", "Thôn Nà Pình");
    let khuoi_ky = village(app, "01279", "Thôn Khuổi Ky");
    let admin = app.admin_token().await;
    let team_a = create_team(app, &admin, &na_pinh, "Tổ CNS thôn Nà Pình").await;
    create_team(app, &admin, &khuoi_ky, "Tổ CNS thôn Khuổi Ky").await;
    let leader = app
        .token_for(
            "totruong.napinh",
            "team_leader",
            Some(na_pinh.code.as_str()),
        )
        .await;
    World {
        cao_bang: unit(app, "04"),
        thuc_phan: unit(app, "01273"),
        nung_tri_cao: unit(app, "01279"),
        house_a: create_household(app, &admin, &na_pinh, "Nông Văn Dũng").await,
        house_b: create_household(app, &admin, &khuoi_ky, "Lục Văn Tài").await,
        officer: app.token_for("canbo.caobang", "officer", Some("04")).await,
        na_pinh,
        team_a,
        admin,
        leader,
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
    assert_eq!(res.status(), 201, "create team {name}");
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn create_household(app: &TestApp, token: &str, village: &UnitRow, head: &str) -> String {
    let res = app
        .post_json(
            "/api/v1/households",
            Some(token),
            &json!({
                "village_id": village.id,
                "head_name": head,
                "size": 3,
                "poverty_status": "near_poor",
            }),
        )
        .await;
    assert_eq!(res.status(), 201, "create household {head}");
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn visit(household_id: &str, visited_on: &str) -> Value {
    json!({
        "id": Uuid::new_v4(),
        "household_id": household_id,
        "visited_on": visited_on,
        "help": [{ "kind": "cashless", "outcome": "done" }],
    })
}

async fn post_visit(app: &TestApp, token: &str, body: &Value) -> Response {
    app.post_json("/api/v1/assistances", Some(token), body)
        .await
}

async fn create_visit(app: &TestApp, token: &str, household_id: &str, on: &str) -> String {
    let res = post_visit(app, token, &visit(household_id, on)).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 201, "{text}");
    serde_json::from_str::<Value>(&text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn lock(app: &TestApp, token: &str, unit_id: Uuid, month: &str, body: Value) -> Response {
    app.post_json(
        &format!("/api/v1/periods/{unit_id}/{month}/lock"),
        Some(token),
        &body,
    )
    .await
}

async fn unlock(app: &TestApp, token: &str, unit_id: Uuid, month: &str, body: Value) -> Response {
    app.post_json(
        &format!("/api/v1/periods/{unit_id}/{month}/unlock"),
        Some(token),
        &body,
    )
    .await
}

async fn patch(app: &TestApp, token: &str, path: &str, body: &Value) -> Response {
    app.client
        .patch(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn delete(app: &TestApp, token: &str, path: &str) -> Response {
    app.client
        .delete(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Checks that `res` is the 409 of a lock of `unit` in `month`.
async fn locked(res: Response, unit: &UnitRow, month: &str) {
    let body = problem(res, 409).await;
    assert_eq!(body["current"]["lock"]["month"], month, "{body}");
    assert_eq!(body["current"]["lock"]["unit_id"], unit.id.to_string());
    assert_eq!(body["current"]["lock"]["unit_name"], unit.name.as_str());
}

/// An officer verifies a visit.
async fn verify(app: &TestApp, token: &str, id: &str) {
    let res = app
        .post_json(
            &format!("/api/v1/assistances/{id}/verify"),
            Some(token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200, "verify {id}");
}

fn n(app: &TestApp, sql: &str) -> i64 {
    count(&mut app.conn(), sql)
}

fn visit_row(id: &str, version: i32) -> String {
    format!(
        "SELECT count(*) AS n FROM assistances WHERE id = '{id}' AND version = {version} \
         AND status = 'submitted' AND archived_at IS NULL"
    )
}

#[actix_web::test]
async fn a_locked_month_refuses_changes_to_its_visits() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let august = create_visit(&app, &w.leader, &w.house_a, "2025-08-10").await;
    let august_2 = create_visit(&app, &w.leader, &w.house_a, "2025-08-20").await;
    let september = create_visit(&app, &w.leader, &w.house_a, "2025-09-05").await;

    // Both August visits are still submitted: locked only by force.
    let res = lock(
        &app,
        &w.officer,
        w.thuc_phan.id,
        "2025-08",
        json!({ "reason": "Báo cáo tháng 8 đã gửi huyện", "force": true }),
    )
    .await;
    assert_eq!(res.status(), 201);
    let l: Value = res.json().await.unwrap();
    assert_eq!(l["forced"], true);
    assert_eq!(l["unchecked"]["assistances"], 2, "{l}");
    assert_eq!(l["unit_id"], w.thuc_phan.id.to_string());
    assert_eq!(l["month"], "2025-08");
    assert_eq!(l["reason"], "Báo cáo tháng 8 đã gửi huyện");
    assert!(l["locked_at"].is_string() && l["locked_by"].is_string());
    assert!(l.get("area_path").is_none());
    // Locking again changes nothing.
    let res = lock(&app, &w.officer, w.thuc_phan.id, "2025-08", json!({})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["reason"], l["reason"]);
    let lock_row = format!(
        "SELECT count(*) AS n FROM period_locks WHERE unit_id = '{}' AND month = '2025-08-01' \
         AND area_path = '{}' AND reason = 'Báo cáo tháng 8 đã gửi huyện'",
        w.thuc_phan.id, w.thuc_phan.path
    );
    assert_eq!(n(&app, &lock_row), 1);
    assert_eq!(n(&app, "SELECT count(*) AS n FROM period_locks"), 1);

    // A new visit of August in a village of the commune.
    let late = visit(&w.house_a, "2025-08-15");
    locked(
        post_visit(&app, &w.leader, &late).await,
        &w.thuc_phan,
        "2025-08",
    )
    .await;
    // Changing one.
    let res = patch(
        &app,
        &w.leader,
        &format!("/api/v1/assistances/{august}"),
        &json!({ "notes": "X", "version": 1 }),
    )
    .await;
    locked(res, &w.thuc_phan, "2025-08").await;
    // Moving one into August.
    let res = patch(
        &app,
        &w.leader,
        &format!("/api/v1/assistances/{september}"),
        &json!({ "visited_on": "2025-08-31", "version": 1 }),
    )
    .await;
    locked(res, &w.thuc_phan, "2025-08").await;
    // Archiving one.
    let res = delete(&app, &w.leader, &format!("/api/v1/assistances/{august_2}")).await;
    locked(res, &w.thuc_phan, "2025-08").await;
    // Checking one.
    for action in ["verify", "reject"] {
        let res = app
            .post_json(
                &format!("/api/v1/assistances/{august_2}/{action}"),
                Some(&w.officer),
                &json!({ "reason": "Sai" }),
            )
            .await;
        locked(res, &w.thuc_phan, "2025-08").await;
    }
    assert_eq!(n(&app, "SELECT count(*) AS n FROM assistances"), 3);
    assert_eq!(n(&app, &visit_row(&august, 1)), 1);
    assert_eq!(n(&app, &visit_row(&august_2, 1)), 1);
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE id = '{september}' AND version = 1 \
                 AND visited_on = '2025-09-05'"
            )
        ),
        1
    );

    // Another month of the commune, and August of another commune, are open.
    create_visit(&app, &w.leader, &w.house_a, "2025-09-15").await;
    create_visit(&app, &w.admin, &w.house_b, "2025-08-15").await;
    let res = patch(
        &app,
        &w.leader,
        &format!("/api/v1/assistances/{september}"),
        &json!({ "notes": "Tháng 4", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(n(&app, "SELECT count(*) AS n FROM assistances"), 5);

    // Unlocking needs a reason.
    let res = unlock(&app, &w.officer, w.thuc_phan.id, "2025-08", json!({})).await;
    let refused = problem(res, 422).await;
    assert_eq!(refused["errors"][0]["field"], "reason");
    let res = app
        .client
        .post(app.url(&format!(
            "/api/v1/periods/{}/2025-08/unlock",
            w.thuc_phan.id
        )))
        .bearer_auth(&w.officer)
        .send()
        .await
        .unwrap();
    problem(res, 422).await;
    assert_eq!(n(&app, &lock_row), 1);
    let res = unlock(
        &app,
        &w.officer,
        w.thuc_phan.id,
        "2025-08",
        json!({ "reason": "Bổ sung hoạt động còn thiếu" }),
    )
    .await;
    assert_eq!(res.status(), 204);
    assert_eq!(n(&app, "SELECT count(*) AS n FROM period_locks"), 0);
    // Unlocking what is not locked.
    let res = unlock(
        &app,
        &w.officer,
        w.thuc_phan.id,
        "2025-08",
        json!({ "reason": "lần nữa" }),
    )
    .await;
    problem(res, 409).await;

    // Now the same writes go through.
    let res = post_visit(&app, &w.leader, &late).await;
    assert_eq!(res.status(), 201);
    let res = patch(
        &app,
        &w.leader,
        &format!("/api/v1/assistances/{august}"),
        &json!({ "notes": "Đã bổ sung", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    verify(&app, &w.officer, &august_2).await;
    assert_eq!(n(&app, "SELECT count(*) AS n FROM assistances"), 6);
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE id = '{august}' AND version = 2 \
                 AND notes = 'Đã bổ sung'"
            )
        ),
        1
    );

    // Both are in the audit trail.
    for action in ["lock", "unlock"] {
        assert_eq!(
            n(
                &app,
                &format!(
                    "SELECT count(*) AS n FROM audit_events WHERE entity = 'period' \
                     AND action = '{action}' AND entity_id = '{}/2025-08'",
                    w.thuc_phan.id
                )
            ),
            1,
            "{action}"
        );
    }
}

#[actix_web::test]
async fn a_lock_of_a_province_covers_its_villages_and_trainings() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let res = lock(&app, &w.admin, w.cao_bang.id, "2025-10", json!({})).await;
    assert_eq!(res.status(), 201);
    locked(
        post_visit(&app, &w.leader, &visit(&w.house_a, "2025-10-02")).await,
        &w.cao_bang,
        "2025-10",
    )
    .await;
    locked(
        post_visit(&app, &w.admin, &visit(&w.house_b, "2025-10-31")).await,
        &w.cao_bang,
        "2025-10",
    )
    .await;
    let res = app
        .post_json(
            "/api/v1/trainings",
            Some(&w.leader),
            &json!({
                "id": Uuid::new_v4(),
                "team_id": w.team_a,
                "held_on": "2025-10-20",
                "duration_minutes": 60,
                "topics": ["scam_awareness"],
                "attendees": { "total": 12 },
            }),
        )
        .await;
    locked(res, &w.cao_bang, "2025-10").await;
    create_visit(&app, &w.leader, &w.house_a, "2025-11-01").await;
    assert_eq!(n(&app, "SELECT count(*) AS n FROM assistances"), 1);
    assert_eq!(n(&app, "SELECT count(*) AS n FROM trainings"), 0);
}

#[actix_web::test]
async fn locks_are_listed_and_guarded() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let stranger = app
        .token_for("canbo.tuyenquang", "officer", Some("08"))
        .await;
    let res = lock(&app, &w.officer, w.thuc_phan.id, "2025-08", json!({})).await;
    assert_eq!(res.status(), 201);
    let res = lock(&app, &w.officer, w.nung_tri_cao.id, "2025-07", json!({})).await;
    assert_eq!(res.status(), 201);

    let res = app.get("/api/v1/periods", &w.officer).await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{page}");
    // Newest month first.
    assert_eq!(items[0]["unit_id"], w.thuc_phan.id.to_string());
    assert_eq!(items[0]["month"], "2025-08");
    assert_eq!(items[1]["unit_id"], w.nung_tri_cao.id.to_string());
    assert_eq!(items[1]["month"], "2025-07");
    let res = app.get("/api/v1/periods?month=2025-07", &w.officer).await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["month"], "2025-07");
    let res = app
        .get(
            &format!("/api/v1/periods?unit_id={}", w.nung_tri_cao.id),
            &w.officer,
        )
        .await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["unit_id"], w.nung_tri_cao.id.to_string());
    // A unit means its subtree, as in every list: the province holds both.
    let res = app
        .get(
            &format!("/api/v1/periods?unit_id={}", w.cao_bang.id),
            &w.officer,
        )
        .await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2, "{page}");
    problem(
        app.get("/api/v1/periods?month=2025-8", &w.officer).await,
        422,
    )
    .await;

    // Team leaders cannot lock or unlock.
    problem(
        lock(&app, &w.leader, w.na_pinh.id, "2025-09", json!({})).await,
        403,
    )
    .await;
    problem(
        unlock(
            &app,
            &w.leader,
            w.thuc_phan.id,
            "2025-08",
            json!({ "reason": "x" }),
        )
        .await,
        403,
    )
    .await;
    // Another province's officer cannot see these units at all.
    problem(
        lock(&app, &stranger, w.thuc_phan.id, "2025-09", json!({})).await,
        404,
    )
    .await;
    problem(
        unlock(
            &app,
            &stranger,
            w.thuc_phan.id,
            "2025-08",
            json!({ "reason": "x" }),
        )
        .await,
        404,
    )
    .await;
    let res = app.get("/api/v1/periods", &stranger).await;
    let page: Value = res.json().await.unwrap();
    assert!(page["items"].as_array().unwrap().is_empty(), "{page}");
    // A unit nobody has.
    problem(
        lock(&app, &w.officer, Uuid::new_v4(), "2025-09", json!({})).await,
        404,
    )
    .await;
    // Months that are not months.
    for bad in ["2025-13", "2025-00", "2025-1", "202501", "august"] {
        let res = lock(&app, &w.officer, w.thuc_phan.id, bad, json!({})).await;
        let body = problem(res, 422).await;
        assert_eq!(body["errors"][0]["field"], "month", "{bad}");
    }
    // A reason too long.
    let res = lock(
        &app,
        &w.officer,
        w.thuc_phan.id,
        "2025-09",
        json!({ "reason": "x".repeat(501) }),
    )
    .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "reason");

    assert_eq!(n(&app, "SELECT count(*) AS n FROM period_locks"), 2);
    assert_eq!(
        n(
            &app,
            "SELECT count(*) AS n FROM audit_events WHERE entity = 'period' AND action = 'lock'"
        ),
        2
    );
}

/// The list keeps the 500 newest locks and only then drops those outside
/// the caller's area, so an officer's own locks vanish behind other
/// provinces' newer ones.
#[actix_web::test]
async fn an_officer_sees_its_locks_whatever_other_provinces_lock() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let far_commune = unit(&app, "00691");
    let admin_id = app.create_user("admin2", "admin", None).await;
    let mut conn = app.conn();
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "INSERT INTO period_locks (unit_id, month, area_path, locked_by) \
             SELECT '{}', m::date, '{}', '{admin_id}' \
             FROM generate_series('2030-01-01'::date, '2071-08-01'::date, interval '1 month') AS m",
            far_commune.id, far_commune.path
        )),
        &mut conn,
    )
    .unwrap();
    assert_eq!(n(&app, "SELECT count(*) AS n FROM period_locks"), 500);
    let res = lock(&app, &w.officer, w.thuc_phan.id, "2025-08", json!({})).await;
    assert_eq!(res.status(), 201);

    let res = app.get("/api/v1/periods", &w.officer).await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["unit_id"], w.thuc_phan.id.to_string());
}

#[actix_web::test]
async fn a_lock_waits_for_writes_in_flight_in_its_month() {
    use diesel::RunQueryDsl;
    let app = TestApp::spawn().await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let province = unit(&app, "04");
    let month = chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
    // A writer of a record dated in the month, mid-transaction: it holds the
    // month's shared lock, as the service's writers do.
    let mut writer = app.conn();
    diesel::sql_query("BEGIN").execute(&mut writer).unwrap();
    diesel::sql_query("SELECT pg_advisory_xact_lock_shared($1)")
        .bind::<diesel::sql_types::BigInt, _>(banso::activities::month_key(month))
        .execute(&mut writer)
        .unwrap();

    let url = app.url(&format!("/api/v1/periods/{}/2026-09/lock", province.id));
    let lock = actix_web::rt::spawn({
        let client = app.client.clone();
        let officer = officer.clone();
        async move {
            client
                .post(url)
                .bearer_auth(officer)
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    actix_web::rt::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !lock.is_finished(),
        "the lock was set while a write in its month was in flight"
    );
    diesel::sql_query("COMMIT").execute(&mut writer).unwrap();
    assert_eq!(lock.await.unwrap(), 201);
    drop(writer);
    let mut conn = app.conn();
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM period_locks"),
        1
    );
}

/// A month whose trainings and visits are not all checked is locked only
/// with `"force": true` and a reason; the refusal names how many are left
/// and where, the forced lock and its event say how many it left.
#[actix_web::test]
async fn a_month_not_checked_is_locked_only_by_force() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    // October: two submitted visits and a training in Nà Pình (commune
    // Thục Phán), one visit in Khuổi Ky (commune Nùng Trí Cao); a verified
    // and an archived visit, and a November one, which do not count.
    create_visit(&app, &w.leader, &w.house_a, "2025-10-03").await;
    create_visit(&app, &w.leader, &w.house_a, "2025-10-31").await;
    create_visit(&app, &w.admin, &w.house_b, "2025-10-12").await;
    let verified = create_visit(&app, &w.leader, &w.house_a, "2025-10-05").await;
    verify(&app, &w.officer, &verified).await;
    let archived = create_visit(&app, &w.leader, &w.house_a, "2025-10-06").await;
    let res = delete(&app, &w.leader, &format!("/api/v1/assistances/{archived}")).await;
    assert_eq!(res.status(), 200);
    let november = create_visit(&app, &w.leader, &w.house_a, "2025-11-02").await;
    let res = app
        .post_json(
            "/api/v1/trainings",
            Some(&w.leader),
            &json!({
                "id": Uuid::new_v4(),
                "team_id": w.team_a,
                "held_on": "2025-10-20",
                "duration_minutes": 90,
                "topics": ["digital_skills"],
                "attendees": { "total": 20, "women": 11, "ethnic_minority": 18, "poor": 5 },
            }),
        )
        .await;
    assert_eq!(res.status(), 201);

    // The province: per commune.
    let body = problem(
        lock(&app, &w.officer, w.cao_bang.id, "2025-10", json!({})).await,
        409,
    )
    .await;
    let left = &body["current"]["unchecked"];
    assert_eq!(left["trainings"], 1, "{body}");
    assert_eq!(left["assistances"], 3, "{body}");
    let mut by_unit: Vec<(String, i64, i64)> = left["by_unit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["unit_id"].as_str().unwrap().to_string(),
                u["trainings"].as_i64().unwrap(),
                u["assistances"].as_i64().unwrap(),
            )
        })
        .collect();
    by_unit.sort();
    let mut expected = vec![
        (w.thuc_phan.id.to_string(), 1, 2),
        (w.nung_tri_cao.id.to_string(), 0, 1),
    ];
    expected.sort();
    assert_eq!(by_unit, expected, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("1 training and 3 visits of 2025-10")
            && detail.contains(&format!("3 in {}", w.thuc_phan.name)),
        "{detail}"
    );
    // The commune: per village.
    let body = problem(
        lock(&app, &w.officer, w.thuc_phan.id, "2025-10", json!({})).await,
        409,
    )
    .await;
    let left = &body["current"]["unchecked"];
    assert_eq!(left["by_unit"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(left["by_unit"][0]["unit_id"], w.na_pinh.id.to_string());
    assert_eq!(left["by_unit"][0]["unit_name"], w.na_pinh.name.as_str());
    assert_eq!(left["by_unit"][0]["trainings"], 1);
    assert_eq!(left["by_unit"][0]["assistances"], 2);
    // The village itself.
    let body = problem(
        lock(&app, &w.officer, w.na_pinh.id, "2025-10", json!({})).await,
        409,
    )
    .await;
    assert_eq!(
        body["current"]["unchecked"]["by_unit"][0]["unit_id"],
        w.na_pinh.id.to_string()
    );

    // Bad bodies: force without a reason, a blank one, a force that is not
    // a boolean, a field nobody knows.
    for bad in [
        json!({ "force": true }),
        json!({ "force": true, "reason": "   " }),
    ] {
        let body = problem(
            lock(&app, &w.officer, w.cao_bang.id, "2025-10", bad).await,
            422,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "reason", "{body}");
        assert_eq!(body["errors"][0]["code"], "required", "{body}");
    }
    for bad in [
        json!({ "force": "yes", "reason": "Hết hạn báo cáo" }),
        json!({ "forced": true, "reason": "Hết hạn báo cáo" }),
    ] {
        problem(
            lock(&app, &w.officer, w.cao_bang.id, "2025-10", bad).await,
            422,
        )
        .await;
    }
    // Nothing was locked or written by any of those.
    assert_eq!(n(&app, "SELECT count(*) AS n FROM period_locks"), 0);
    assert_eq!(
        n(
            &app,
            "SELECT count(*) AS n FROM audit_events WHERE entity = 'period'"
        ),
        0
    );

    // By force, with a reason: locked, and the answer and the event say
    // what was left.
    let res = lock(
        &app,
        &w.officer,
        w.cao_bang.id,
        "2025-10",
        json!({ "force": true, "reason": "Hết hạn báo cáo quý" }),
    )
    .await;
    assert_eq!(res.status(), 201);
    let l: Value = res.json().await.unwrap();
    assert_eq!(l["forced"], true);
    assert_eq!(l["reason"], "Hết hạn báo cáo quý");
    assert_eq!(l["unchecked"]["trainings"], 1);
    assert_eq!(l["unchecked"]["assistances"], 3);
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM period_locks WHERE unit_id = '{}' AND month = '2025-10-01'",
                w.cao_bang.id
            )
        ),
        1
    );
    assert_eq!(
        n(
            &app,
            "SELECT count(*) AS n FROM audit_events WHERE entity = 'period' AND action = 'lock' \
             AND (after->>'forced')::boolean AND after->'unchecked'->>'trainings' = '1' \
             AND after->'unchecked'->>'assistances' = '3' \
             AND jsonb_array_length(after->'unchecked'->'by_unit') = 2"
        ),
        1
    );

    // A month whose records are all checked locks without force.
    verify(&app, &w.officer, &november).await;
    let res = lock(&app, &w.officer, w.cao_bang.id, "2025-11", json!({})).await;
    assert_eq!(res.status(), 201);
    let l: Value = res.json().await.unwrap();
    assert_eq!(l["forced"], false);
    assert_eq!(
        l["unchecked"],
        json!({ "trainings": 0, "assistances": 0, "by_unit": [] })
    );
}
