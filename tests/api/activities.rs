//! Tests for /api/v1/activities.
//!
//! Assistance visits (`/assistances`) and training sessions (`/trainings`):
//! the phone's id and resends, validation, who edits what, verification,
//! and what each caller can see.

use banso::units::model::UnitRow;
use banso::units::repo::today;
use reqwest::Response;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestDb, count, problem};
use crate::helpers::{fields, id_of, pairs, unit, village};

/// Cao Bằng (04): Nà Pình and Nà Rụa (no team) in commune 01273, Khuổi Ky
/// in commune 01279; and Tổ 5 of Tuyên Quang (08). Every village but Nà
/// Rụa has an active team, a member and a household.
pub(crate) struct World {
    pub(crate) cao_bang: UnitRow,
    pub(crate) thuc_phan: UnitRow,
    pub(crate) na_pinh: UnitRow,
    pub(crate) na_rua: UnitRow,
    pub(crate) khuoi_ky: UnitRow,
    pub(crate) far: UnitRow,
    pub(crate) team_a: String,
    pub(crate) team_b: String,
    pub(crate) team_far: String,
    pub(crate) member_a: String,
    pub(crate) member_b: String,
    pub(crate) house_a: String,
    pub(crate) house_b: String,
    pub(crate) house_far: String,
    pub(crate) house_no_team: String,
    pub(crate) admin: String,
}

pub(crate) async fn world(app: &TestApp) -> World {
    let na_pinh = village(app, "01273", "Thôn Nà Pình");
    let na_rua = village(app, "01273", "Thôn Nà Rụa");
    let khuoi_ky = village(app, "01279", "Thôn Khuổi Ky");
    let far = village(app, "00691", "Tổ 5");
    let admin = app.admin_token().await;
    let team_a = create_team(app, &admin, &na_pinh, "Tổ CNS thôn Nà Pình").await;
    let team_b = create_team(app, &admin, &khuoi_ky, "Tổ CNS thôn Khuổi Ky").await;
    let team_far = create_team(app, &admin, &far, "Tổ CNS tổ 5").await;
    World {
        cao_bang: unit(app, "04"),
        thuc_phan: unit(app, "01273"),
        member_a: create_member(app, &admin, &team_a, "Hoàng Thị Mai").await,
        member_b: create_member(app, &admin, &team_b, "Đàm Văn Sơn").await,
        house_a: create_household(app, &admin, &na_pinh, "Nông Văn Dũng").await,
        house_b: create_household(app, &admin, &khuoi_ky, "Lục Văn Tài").await,
        house_far: create_household(app, &admin, &far, "Ma Văn Hùng").await,
        house_no_team: create_household(app, &admin, &na_rua, "Bế Thị Lan").await,
        na_pinh,
        na_rua,
        khuoi_ky,
        far,
        team_a,
        team_b,
        team_far,
        admin,
    }
}

pub(crate) async fn create_team(
    app: &TestApp,
    token: &str,
    village: &UnitRow,
    name: &str,
) -> String {
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(token),
            &json!({ "village_id": village.id, "name": name }),
        )
        .await;
    assert_eq!(res.status(), 201, "create team {name}");
    id_of(&res.json::<Value>().await.unwrap())
}

pub(crate) async fn create_member(app: &TestApp, token: &str, team_id: &str, name: &str) -> String {
    let res = app
        .post_json(
            "/api/v1/members",
            Some(token),
            &json!({
                "team_id": team_id,
                "full_name": name,
                "gender": "female",
                "team_role": "member",
                "affiliation": "youth_union",
                "joined_on": "2024-03-01",
            }),
        )
        .await;
    assert_eq!(res.status(), 201, "create member {name}");
    id_of(&res.json::<Value>().await.unwrap())
}

pub(crate) async fn create_household(
    app: &TestApp,
    token: &str,
    village: &UnitRow,
    head: &str,
) -> String {
    let res = app
        .post_json(
            "/api/v1/households",
            Some(token),
            &json!({
                "village_id": village.id,
                "head_name": head,
                "size": 4,
                "poverty_status": "poor",
            }),
        )
        .await;
    assert_eq!(res.status(), 201, "create household {head}");
    id_of(&res.json::<Value>().await.unwrap())
}

/// An account and an access token for it.
pub(crate) async fn account(
    app: &TestApp,
    username: &str,
    role: &str,
    area: Option<&str>,
) -> (Uuid, String) {
    let id = app.create_user(username, role, area).await;
    let token = app.tokens(username).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    (id, token)
}

/// A visit as a phone sends it, under a new id.
pub(crate) fn visit(household_id: &str, visited_on: &str) -> Value {
    json!({
        "id": Uuid::new_v4(),
        "household_id": household_id,
        "visited_on": visited_on,
        "help": [{ "kind": "vneid", "outcome": "done" }],
    })
}

pub(crate) async fn create_visit(app: &TestApp, token: &str, body: &Value) -> Value {
    let res = app
        .post_json("/api/v1/assistances", Some(token), body)
        .await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 201, "{text}");
    serde_json::from_str(&text).unwrap()
}

pub(crate) fn training(team_id: &str, held_on: &str) -> Value {
    json!({
        "id": Uuid::new_v4(),
        "team_id": team_id,
        "held_on": held_on,
        "duration_minutes": 90,
        "topics": ["digital_skills"],
        "attendees": { "total": 20, "women": 11, "ethnic_minority": 18, "poor": 5 },
    })
}

pub(crate) async fn patch(app: &TestApp, token: &str, path: &str, body: &Value) -> Response {
    app.client
        .patch(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn items(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    let res = app.get(path, token).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{path}: {text}");
    let page: Value = serde_json::from_str(&text).unwrap();
    page["items"].as_array().unwrap().clone()
}

/// The ids of a list page, sorted.
async fn ids(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let mut ids: Vec<String> = items(app, token, path).await.iter().map(id_of).collect();
    ids.sort();
    ids
}

fn sorted(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

pub(crate) fn n(app: &TestApp, sql: &str) -> i64 {
    count(&mut app.conn(), sql)
}

#[actix_web::test]
async fn a_visit_is_stored_once_under_the_phones_id() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (leader_id, leader) = account(
        &app,
        "totruong.napinh",
        "team_leader",
        Some(w.na_pinh.code.as_str()),
    )
    .await;
    let id = Uuid::new_v4();
    let body = json!({
        "id": id,
        "household_id": w.house_a,
        "visited_on": "2025-11-02",
        "help": [
            { "kind": "vneid", "outcome": "done" },
            { "kind": "cashless", "outcome": "not_done", "reason": "chưa có điện thoại thông minh" },
        ],
        "member_ids": [w.member_a],
        "notes": "Hướng dẫn cài VNeID",
        "position": { "latitude": 22.6657, "longitude": 106.2522, "accuracy_m": 12.5 },
    });
    let res = app
        .post_json("/api/v1/assistances", Some(&leader), &body)
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["etag"], "\"1\"");
    assert!(res.headers().get("idempotent-replay").is_none());
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["id"], id.to_string());
    assert_eq!(v["household_id"], w.house_a.as_str());
    // No team named: the village's active team.
    assert_eq!(v["team_id"], w.team_a.as_str());
    assert_eq!(v["visited_on"], "2025-11-02");
    assert_eq!(v["member_ids"], json!([w.member_a]));
    assert_eq!(v["help"][0]["kind"], "vneid");
    assert_eq!(v["help"][0]["outcome"], "done");
    assert_eq!(v["help"][1]["kind"], "cashless");
    assert_eq!(v["help"][1]["outcome"], "not_done");
    assert_eq!(v["help"][1]["reason"], "chưa có điện thoại thông minh");
    assert_eq!(v["position"]["latitude"], 22.6657);
    assert_eq!(v["position"]["longitude"], 106.2522);
    assert_eq!(v["position"]["accuracy_m"], 12.5);
    assert_eq!(v["notes"], "Hướng dẫn cài VNeID");
    assert_eq!(v["status"], "submitted");
    assert_eq!(v["recorded_by"], leader_id.to_string());
    assert_eq!(v["version"], 1);
    assert!(v["archived_at"].is_null() && v["status_by"].is_null());

    let stored = format!(
        "SELECT count(*) AS n FROM assistances WHERE id = '{id}' AND household_id = '{}' \
         AND team_id = '{}' AND area_path = '{}' AND visited_on = '2025-11-02' \
         AND kinds = ARRAY['vneid', 'cashless'] AND member_ids = ARRAY['{}'::uuid] \
         AND latitude = 22.6657 AND status = 'submitted' AND recorded_by = '{leader_id}' \
         AND version = 1",
        w.house_a, w.team_a, w.na_pinh.path, w.member_a
    );
    assert_eq!(n(&app, &stored), 1);

    // The phone did not hear the answer and sends it again.
    let res = app
        .post_json("/api/v1/assistances", Some(&leader), &body)
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["idempotent-replay"], "true");
    assert_eq!(res.headers()["etag"], "\"1\"");
    let again: Value = res.json().await.unwrap();
    assert_eq!(again, v);
    assert_eq!(n(&app, "SELECT count(*) AS n FROM assistances"), 1);

    // The same id with another body is another record: refused.
    let mut other = body.clone();
    other["visited_on"] = json!("2025-11-03");
    let res = app
        .post_json("/api/v1/assistances", Some(&leader), &other)
        .await;
    let conflict = problem(res, 409).await;
    assert_eq!(conflict["current"]["id"], id.to_string());
    assert_eq!(n(&app, "SELECT count(*) AS n FROM assistances"), 1);
    assert_eq!(n(&app, &stored), 1);
    // One create event, not three.
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM audit_events WHERE entity = 'assistance' \
                 AND entity_id = '{id}' AND action = 'create'"
            )
        ),
        1
    );

    let res = app.get(&format!("/api/v1/assistances/{id}"), &leader).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"1\"");
    assert_eq!(res.json::<Value>().await.unwrap(), v);
}

#[actix_web::test]
async fn the_team_is_the_villages_unless_named() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;

    // Nà Rụa has no team: the visit must name one, and there is none.
    let res = app
        .post_json(
            "/api/v1/assistances",
            Some(&w.admin),
            &visit(&w.house_no_team, "2025-10-01"),
        )
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("team_id", "no_team")])
    );
    // A team of another village does not serve it.
    let mut body = visit(&w.house_no_team, "2025-10-01");
    body["team_id"] = json!(w.team_a);
    let res = app
        .post_json("/api/v1/assistances", Some(&w.admin), &body)
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("team_id", "other_village")])
    );
    // Nor a household nobody knows.
    let res = app
        .post_json(
            "/api/v1/assistances",
            Some(&w.admin),
            &visit(&Uuid::new_v4().to_string(), "2025-10-01"),
        )
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("household_id", "unknown_household")])
    );
    assert_eq!(n(&app, "SELECT count(*) AS n FROM assistances"), 0);

    // Naming the village's own team is the same as not naming it.
    let mut body = visit(&w.house_b, "2025-10-01");
    body["team_id"] = json!(w.team_b);
    let v = create_visit(&app, &w.admin, &body).await;
    assert_eq!(v["team_id"], w.team_b.as_str());
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE team_id = '{}' AND area_path = '{}'",
                w.team_b, w.khuoi_ky.path
            )
        ),
        1
    );
}

#[actix_web::test]
async fn every_bad_field_of_a_visit_is_named_in_one_422() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let leader = app
        .token_for(
            "totruong.napinh",
            "team_leader",
            Some(w.na_pinh.code.as_str()),
        )
        .await;
    let future = (today() + chrono::Duration::days(10)).to_string();
    let body = json!({
        "id": Uuid::new_v4(),
        "household_id": w.house_a,
        "visited_on": future,
        "help": [
            { "kind": "teleport", "outcome": "done" },
            { "kind": "vneid", "outcome": "not_done" },
            { "kind": "cashless", "outcome": "maybe" },
        ],
        "member_ids": [w.member_a, w.member_b],
        "position": { "latitude": 200.0, "longitude": 106.25 },
    });
    let res = app
        .post_json("/api/v1/assistances", Some(&leader), &body)
        .await;
    let refused = problem(res, 422).await;
    assert_eq!(
        fields(&refused),
        pairs(&[
            ("help[0].kind", "unknown_kind"),
            ("help[1].reason", "required"),
            ("help[2].outcome", "not_allowed"),
            ("visited_on", "in_future"),
            ("member_ids[1]", "not_a_member"),
            ("position.latitude", "out_of_range"),
        ]),
        "{refused}"
    );

    // Other rules, one at a time.
    let mut body = visit(&w.house_a, "2019-12-31");
    body["help"] = json!([
        { "kind": "vneid", "outcome": "done" },
        { "kind": "vneid", "outcome": "partly" },
    ]);
    body["position"] = json!({ "latitude": 22.0, "longitude": -181.0, "accuracy_m": -1.0 });
    let res = app
        .post_json("/api/v1/assistances", Some(&leader), &body)
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[
            ("visited_on", "too_old"),
            ("help[1].kind", "duplicate"),
            ("position.longitude", "out_of_range"),
            ("position.accuracy_m", "out_of_range"),
        ])
    );
    let mut body = visit(&w.house_a, "2025-10-01");
    body["help"] = json!([]);
    let res = app
        .post_json("/api/v1/assistances", Some(&leader), &body)
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("help", "count")])
    );
    // A body of the wrong shape.
    let mut body = visit(&w.house_a, "2025-10-01");
    body["colour"] = json!("blue");
    let res = app
        .post_json("/api/v1/assistances", Some(&leader), &body)
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "colour");
    let mut body = visit(&w.house_a, "2025-10-01");
    body["id"] = json!("not-a-uuid");
    let res = app
        .post_json("/api/v1/assistances", Some(&leader), &body)
        .await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "id");

    assert_eq!(n(&app, "SELECT count(*) AS n FROM assistances"), 0);
    assert_eq!(
        n(
            &app,
            "SELECT count(*) AS n FROM audit_events WHERE entity = 'assistance'"
        ),
        0
    );
}

#[actix_web::test]
async fn a_training_session_is_recorded_once() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (leader_id, leader) = account(
        &app,
        "totruong.napinh",
        "team_leader",
        Some(w.na_pinh.code.as_str()),
    )
    .await;
    let id = Uuid::new_v4();
    let body = json!({
        "id": id,
        "team_id": w.team_a,
        "held_on": "2025-10-20",
        "duration_minutes": 120,
        "place": "Nhà văn hoá thôn",
        "topics": ["digital_skills", "scam_awareness"],
        "trainer_ids": [w.member_a],
        "attendees": { "total": 25, "women": 14, "ethnic_minority": 20, "poor": 6 },
        "household_ids": [w.house_a],
    });
    let res = app
        .post_json("/api/v1/trainings", Some(&leader), &body)
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let t: Value = res.json().await.unwrap();
    assert_eq!(t["id"], id.to_string());
    assert_eq!(t["team_id"], w.team_a.as_str());
    // Held in the team's village unless said otherwise.
    assert_eq!(t["village_id"], w.na_pinh.id.to_string());
    assert_eq!(t["held_on"], "2025-10-20");
    assert_eq!(t["duration_minutes"], 120);
    assert_eq!(t["place"], "Nhà văn hoá thôn");
    assert_eq!(t["topics"], json!(["digital_skills", "scam_awareness"]));
    assert_eq!(t["trainer_ids"], json!([w.member_a]));
    assert_eq!(
        t["attendees"],
        json!({ "total": 25, "women": 14, "ethnic_minority": 20, "poor": 6 })
    );
    assert_eq!(t["household_ids"], json!([w.house_a]));
    assert_eq!(t["status"], "submitted");
    assert_eq!(t["recorded_by"], leader_id.to_string());
    assert_eq!(t["version"], 1);
    let stored = format!(
        "SELECT count(*) AS n FROM trainings WHERE id = '{id}' AND team_id = '{}' \
         AND village_id = '{}' AND area_path = '{}' AND held_on = '2025-10-20' \
         AND duration_minutes = 120 AND topics = ARRAY['digital_skills', 'scam_awareness'] \
         AND trainer_ids = ARRAY['{}'::uuid] AND household_ids = ARRAY['{}'::uuid] \
         AND attendees_total = 25 AND attendees_women = 14 AND attendees_ethnic_minority = 20 \
         AND attendees_poor = 6 AND status = 'submitted' AND version = 1",
        w.team_a, w.na_pinh.id, w.na_pinh.path, w.member_a, w.house_a
    );
    assert_eq!(n(&app, &stored), 1);

    let res = app
        .post_json("/api/v1/trainings", Some(&leader), &body)
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["idempotent-replay"], "true");
    assert_eq!(res.json::<Value>().await.unwrap(), t);
    assert_eq!(n(&app, "SELECT count(*) AS n FROM trainings"), 1);

    let mut other = body.clone();
    other["duration_minutes"] = json!(60);
    let res = app
        .post_json("/api/v1/trainings", Some(&leader), &other)
        .await;
    problem(res, 409).await;
    assert_eq!(n(&app, "SELECT count(*) AS n FROM trainings"), 1);
    assert_eq!(n(&app, &stored), 1);

    let res = app.get(&format!("/api/v1/trainings/{id}"), &leader).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), t);
}

#[actix_web::test]
async fn every_bad_field_of_a_training_is_named_in_one_422() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let leader = app
        .token_for(
            "totruong.napinh",
            "team_leader",
            Some(w.na_pinh.code.as_str()),
        )
        .await;

    let mut body = training(&w.team_a, "2025-10-20");
    body["attendees"] = json!({ "total": 10, "women": 11 });
    let res = app
        .post_json("/api/v1/trainings", Some(&leader), &body)
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("attendees.women", "out_of_range")])
    );

    let mut body = training(&w.team_a, "2025-10-20");
    body["topics"] = json!(["digital_skills", "astrology"]);
    let res = app
        .post_json("/api/v1/trainings", Some(&leader), &body)
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("topics[1]", "unknown_topic")])
    );

    let future = (today() + chrono::Duration::days(10)).to_string();
    let body = json!({
        "id": Uuid::new_v4(),
        "team_id": w.team_a,
        "held_on": future,
        "duration_minutes": 0,
        "topics": ["astrology"],
        "trainer_ids": [w.member_b],
        "attendees": { "total": 1, "women": 2, "ethnic_minority": -1, "poor": 0 },
        "household_ids": [w.house_a, w.house_far],
    });
    let res = app
        .post_json("/api/v1/trainings", Some(&leader), &body)
        .await;
    let refused = problem(res, 422).await;
    assert_eq!(
        fields(&refused),
        pairs(&[
            ("held_on", "in_future"),
            ("duration_minutes", "out_of_range"),
            ("topics[0]", "unknown_topic"),
            ("trainer_ids[0]", "not_a_member"),
            ("attendees.women", "out_of_range"),
            ("attendees.ethnic_minority", "out_of_range"),
            ("household_ids[1]", "unknown_household"),
            ("household_ids", "more_than_attendees"),
        ]),
        "{refused}"
    );

    // A team the leader cannot see.
    let res = app
        .post_json(
            "/api/v1/trainings",
            Some(&leader),
            &training(&w.team_b, "2025-10-20"),
        )
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("team_id", "unknown_team")])
    );
    assert_eq!(n(&app, "SELECT count(*) AS n FROM trainings"), 0);
}

#[actix_web::test]
async fn members_edit_their_own_visits_and_leaders_their_teams() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let code = w.na_pinh.code.clone();
    let (_, mai) = account(&app, "thanhvien.mai", "member", Some(code.as_str())).await;
    let (_, hoa) = account(&app, "thanhvien.hoa", "member", Some(code.as_str())).await;
    let leader = app
        .token_for("totruong.napinh", "team_leader", Some(code.as_str()))
        .await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;

    let own = create_visit(&app, &mai, &visit(&w.house_a, "2025-11-01")).await;
    let theirs = create_visit(&app, &hoa, &visit(&w.house_a, "2025-11-02")).await;
    let own_path = format!("/api/v1/assistances/{}", id_of(&own));
    let theirs_path = format!("/api/v1/assistances/{}", id_of(&theirs));

    // Its own record, by version in the body.
    let res = patch(
        &app,
        &mai,
        &own_path,
        &json!({ "notes": "Đã quay lại lần hai", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let edited: Value = res.json().await.unwrap();
    assert_eq!(edited["notes"], "Đã quay lại lần hai");
    assert_eq!(edited["version"], 2);
    assert_eq!(edited["help"], own["help"]);
    assert_eq!(edited["recorded_at"], own["recorded_at"]);

    // Not another member's.
    let res = patch(
        &app,
        &mai,
        &theirs_path,
        &json!({ "notes": "X", "version": 1 }),
    )
    .await;
    problem(res, 403).await;
    // Nor may it archive one.
    let res = app
        .client
        .delete(app.url(&theirs_path))
        .bearer_auth(&mai)
        .send()
        .await
        .unwrap();
    problem(res, 403).await;

    // The team leader edits any record of its team.
    let res = patch(
        &app,
        &leader,
        &theirs_path,
        &json!({ "help": [{ "kind": "cashless", "outcome": "partly" }], "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let by_leader: Value = res.json().await.unwrap();
    assert_eq!(
        by_leader["help"],
        json!([{ "kind": "cashless", "outcome": "partly", "reason": null }])
    );

    // Officers check records; they do not edit them.
    let res = patch(
        &app,
        &officer,
        &own_path,
        &json!({ "notes": "X", "version": 2 }),
    )
    .await;
    problem(res, 403).await;

    // A stale version gets the record as it is now.
    let res = patch(
        &app,
        &mai,
        &own_path,
        &json!({ "notes": "X", "version": 1 }),
    )
    .await;
    let stale = problem(res, 409).await;
    assert_eq!(stale["current"]["version"], 2);
    assert_eq!(stale["current"]["notes"], "Đã quay lại lần hai");
    // If-Match works as well as a version field; no version at all does not.
    let res = app
        .client
        .patch(app.url(&own_path))
        .bearer_auth(&mai)
        .header("If-Match", "\"1\"")
        .json(&json!({ "notes": "X" }))
        .send()
        .await
        .unwrap();
    problem(res, 409).await;
    let res = patch(&app, &mai, &own_path, &json!({ "notes": "X" })).await;
    assert_eq!(problem(res, 422).await["errors"][0]["field"], "version");
    // What a visit is about does not change.
    let res = patch(
        &app,
        &mai,
        &own_path,
        &json!({ "household_id": w.house_b, "version": 2 }),
    )
    .await;
    assert_eq!(problem(res, 422).await["errors"][0]["code"], "immutable");

    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE id = '{}' AND version = 2 \
                 AND notes = 'Đã quay lại lần hai' AND archived_at IS NULL",
                id_of(&own)
            )
        ),
        1
    );
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE id = '{}' AND version = 2 \
                 AND kinds = ARRAY['cashless'] AND notes IS NULL AND archived_at IS NULL",
                id_of(&theirs)
            )
        ),
        1
    );
    assert_eq!(
        n(
            &app,
            "SELECT count(*) AS n FROM audit_events WHERE entity = 'assistance' AND action = 'update'"
        ),
        2
    );
}

#[actix_web::test]
async fn an_officer_verifies_rejects_and_reopens() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let leader = app
        .token_for(
            "totruong.napinh",
            "team_leader",
            Some(w.na_pinh.code.as_str()),
        )
        .await;
    let (officer_id, officer) = account(&app, "canbo.caobang", "officer", Some("04")).await;
    let stranger = app
        .token_for("canbo.tuyenquang", "officer", Some("08"))
        .await;
    let v = create_visit(&app, &leader, &visit(&w.house_a, "2025-11-01")).await;
    let id = id_of(&v);
    let path = format!("/api/v1/assistances/{id}");
    let verify = format!("{path}/verify");
    let row = |status: &str, version: i32| {
        format!(
            "SELECT count(*) AS n FROM assistances WHERE id = '{id}' AND status = '{status}' \
             AND version = {version}"
        )
    };

    problem(app.post_json(&verify, Some(&leader), &json!({})).await, 403).await;
    problem(
        app.post_json(&verify, Some(&stranger), &json!({})).await,
        404,
    )
    .await;
    assert_eq!(n(&app, &row("submitted", 1)), 1);

    let res = app.post_json(&verify, Some(&officer), &json!({})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let verified: Value = res.json().await.unwrap();
    assert_eq!(verified["status"], "verified");
    assert_eq!(verified["status_by"], officer_id.to_string());
    assert!(verified["status_at"].is_string());
    assert_eq!(n(&app, &row("verified", 2)), 1);

    // Verified twice is once too many.
    let twice = problem(
        app.post_json(&verify, Some(&officer), &json!({})).await,
        409,
    )
    .await;
    assert_eq!(twice["current"]["status"], "verified");
    // A verified record is read-only, even for its recorder.
    let res = patch(&app, &leader, &path, &json!({ "notes": "X", "version": 2 })).await;
    problem(res, 409).await;
    let res = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&leader)
        .send()
        .await
        .unwrap();
    problem(res, 409).await;
    // It can only be rejected once reopened.
    let res = app
        .post_json(
            &format!("{path}/reject"),
            Some(&officer),
            &json!({ "reason": "sai ngày" }),
        )
        .await;
    problem(res, 409).await;
    assert_eq!(n(&app, &row("verified", 2)), 1);

    // Reopening needs a reason.
    let res = app
        .post_json(&format!("{path}/reopen"), Some(&officer), &json!({}))
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("reason", "required")])
    );
    let res = app
        .post_json(
            &format!("{path}/reopen"),
            Some(&officer),
            &json!({ "reason": "Cần bổ sung thành viên", "version": 2 }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let reopened: Value = res.json().await.unwrap();
    assert_eq!(reopened["status"], "submitted");
    assert_eq!(reopened["status_reason"], "Cần bổ sung thành viên");
    assert_eq!(n(&app, &row("submitted", 3)), 1);

    // Rejecting needs a reason too: without a body, or with an empty one.
    let res = app
        .client
        .post(app.url(&format!("{path}/reject")))
        .bearer_auth(&officer)
        .send()
        .await
        .unwrap();
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("reason", "required")])
    );
    let res = app
        .post_json(
            &format!("{path}/reject"),
            Some(&officer),
            &json!({ "reason": "   " }),
        )
        .await;
    problem(res, 422).await;
    assert_eq!(n(&app, &row("submitted", 3)), 1);
    // With a stale version it is a conflict.
    let res = app
        .post_json(
            &format!("{path}/reject"),
            Some(&officer),
            &json!({ "reason": "Thiếu thông tin", "version": 2 }),
        )
        .await;
    assert_eq!(problem(res, 409).await["current"]["version"], 3);
    let res = app
        .post_json(
            &format!("{path}/reject"),
            Some(&officer),
            &json!({ "reason": "Thiếu thông tin" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let rejected: Value = res.json().await.unwrap();
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["status_reason"], "Thiếu thông tin");
    assert_eq!(n(&app, &row("rejected", 4)), 1);

    // The recorder corrects it, and it is submitted again.
    let res = patch(
        &app,
        &leader,
        &path,
        &json!({ "notes": "Đã bổ sung", "member_ids": [w.member_a], "version": 4 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let corrected: Value = res.json().await.unwrap();
    assert_eq!(corrected["status"], "submitted");
    assert_eq!(corrected["member_ids"], json!([w.member_a]));
    assert_eq!(n(&app, &row("submitted", 5)), 1);

    let res = app.post_json(&verify, Some(&officer), &json!({})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(n(&app, &row("verified", 6)), 1);
    for (action, times) in [("verify", 2), ("reopen", 1), ("reject", 1), ("update", 1)] {
        assert_eq!(
            n(
                &app,
                &format!(
                    "SELECT count(*) AS n FROM audit_events WHERE entity = 'assistance' \
                     AND entity_id = '{id}' AND action = '{action}'"
                )
            ),
            times,
            "{action}"
        );
    }
}

#[actix_web::test]
async fn trainings_are_checked_like_visits() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let leader = app
        .token_for(
            "totruong.napinh",
            "team_leader",
            Some(w.na_pinh.code.as_str()),
        )
        .await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let stranger = app
        .token_for("canbo.tuyenquang", "officer", Some("08"))
        .await;
    let res = app
        .post_json(
            "/api/v1/trainings",
            Some(&leader),
            &training(&w.team_a, "2025-10-20"),
        )
        .await;
    assert_eq!(res.status(), 201);
    let t: Value = res.json().await.unwrap();
    let path = format!("/api/v1/trainings/{}", id_of(&t));

    problem(
        app.post_json(&format!("{path}/verify"), Some(&leader), &json!({}))
            .await,
        403,
    )
    .await;
    problem(
        app.post_json(&format!("{path}/verify"), Some(&stranger), &json!({}))
            .await,
        404,
    )
    .await;
    problem(app.get(&path, &stranger).await, 404).await;
    let res = patch(
        &app,
        &officer,
        &path,
        &json!({ "duration_minutes": 60, "version": 1 }),
    )
    .await;
    problem(res, 403).await;

    let res = app
        .post_json(&format!("{path}/verify"), Some(&officer), &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "verified");
    let res = patch(
        &app,
        &leader,
        &path,
        &json!({ "duration_minutes": 60, "version": 2 }),
    )
    .await;
    problem(res, 409).await;
    let res = app
        .post_json(&format!("{path}/reopen"), Some(&officer), &json!({}))
        .await;
    problem(res, 422).await;
    let res = app
        .post_json(
            &format!("{path}/reopen"),
            Some(&officer),
            &json!({ "reason": "Sai số người" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .post_json(
            &format!("{path}/reject"),
            Some(&officer),
            &json!({ "reason": "Sai số người" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = patch(
        &app,
        &leader,
        &path,
        &json!({ "attendees": { "women": 12 }, "version": 4 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let fixed: Value = res.json().await.unwrap();
    assert_eq!(fixed["status"], "submitted");
    assert_eq!(
        fixed["attendees"],
        json!({ "total": 20, "women": 12, "ethnic_minority": 18, "poor": 5 })
    );
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM trainings WHERE id = '{}' AND status = 'submitted' \
                 AND attendees_women = 12 AND version = 5",
                id_of(&t)
            )
        ),
        1
    );
}

#[actix_web::test]
async fn lists_and_reads_stay_inside_the_area() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let stranger = app
        .token_for("canbo.tuyenquang", "officer", Some("08"))
        .await;
    let leader = app
        .token_for(
            "totruong.napinh",
            "team_leader",
            Some(w.na_pinh.code.as_str()),
        )
        .await;
    let commune_officer = app
        .token_for("canbo.thucphan", "officer", Some("01273"))
        .await;

    let a1 = id_of(&create_visit(&app, &w.admin, &visit(&w.house_a, "2025-09-05")).await);
    let mut body = visit(&w.house_a, "2025-10-15");
    body["help"] = json!([{ "kind": "cashless", "outcome": "done" }]);
    let a2 = id_of(&create_visit(&app, &w.admin, &body).await);
    let b1 = id_of(&create_visit(&app, &w.admin, &visit(&w.house_b, "2025-10-20")).await);
    let f1 = id_of(&create_visit(&app, &w.admin, &visit(&w.house_far, "2025-10-21")).await);
    let res = app
        .post_json(
            &format!("/api/v1/assistances/{a1}/verify"),
            Some(&officer),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let base = "/api/v1/assistances";

    assert_eq!(ids(&app, &w.admin, base).await.len(), 4);
    assert_eq!(ids(&app, &officer, base).await, sorted(&[&a1, &a2, &b1]));
    assert_eq!(ids(&app, &commune_officer, base).await, sorted(&[&a1, &a2]));
    assert_eq!(ids(&app, &leader, base).await, sorted(&[&a1, &a2]));
    assert_eq!(ids(&app, &stranger, base).await, sorted(&[&f1]));

    for (query, expected) in [
        (format!("?unit_id={}", w.thuc_phan.id), sorted(&[&a1, &a2])),
        (format!("?unit_id={}", w.khuoi_ky.id), sorted(&[&b1])),
        (
            format!("?unit_id={}", w.cao_bang.id),
            sorted(&[&a1, &a2, &b1]),
        ),
        (format!("?unit_id={}", w.far.id), vec![]),
        (format!("?unit_id={}", w.na_rua.id), vec![]),
        (format!("?unit_id={}", Uuid::new_v4()), vec![]),
        ("?status=verified".to_string(), sorted(&[&a1])),
        ("?status=submitted".to_string(), sorted(&[&a2, &b1])),
        ("?kind=cashless".to_string(), sorted(&[&a2])),
        ("?kind=vneid".to_string(), sorted(&[&a1, &b1])),
        ("?from=2025-10-01".to_string(), sorted(&[&a2, &b1])),
        ("?to=2025-10-15".to_string(), sorted(&[&a1, &a2])),
        ("?from=2025-10-15&to=2025-10-15".to_string(), sorted(&[&a2])),
        (format!("?household_id={}", w.house_a), sorted(&[&a1, &a2])),
        (format!("?household_id={}", w.house_far), vec![]),
        (format!("?team_id={}", w.team_b), sorted(&[&b1])),
        (
            format!("?household_id={}&status=submitted", w.house_a),
            sorted(&[&a2]),
        ),
    ] {
        assert_eq!(
            ids(&app, &officer, &format!("{base}{query}")).await,
            expected,
            "{query}"
        );
    }
    // Outside the area, no filter finds anything.
    for query in [
        format!("?unit_id={}", w.cao_bang.id),
        format!("?household_id={}", w.house_a),
        format!("?team_id={}", w.team_a),
        "?status=verified".to_string(),
        "?kind=cashless".to_string(),
    ] {
        assert!(
            ids(&app, &stranger, &format!("{base}{query}"))
                .await
                .is_empty(),
            "{query}"
        );
    }
    problem(app.get(&format!("{base}?status=lost"), &officer).await, 422).await;
    problem(
        app.get(&format!("{base}?from=yesterday"), &officer).await,
        400,
    )
    .await;

    for id in [&a1, &a2, &b1] {
        problem(app.get(&format!("{base}/{id}"), &stranger).await, 404).await;
    }
    problem(app.get(&format!("{base}/{b1}"), &leader).await, 404).await;
    problem(app.get(&format!("{base}/{f1}"), &officer).await, 404).await;
    assert_eq!(
        app.get(&format!("{base}/{a2}"), &leader).await.status(),
        200
    );
    // Nor can a caller change what it cannot see.
    let far_leader = app
        .token_for("totruong.to5", "team_leader", Some(w.far.code.as_str()))
        .await;
    let res = patch(
        &app,
        &far_leader,
        &format!("{base}/{a2}"),
        &json!({ "notes": "X", "version": 1 }),
    )
    .await;
    problem(res, 404).await;
    let res = app
        .client
        .delete(app.url(&format!("{base}/{a2}")))
        .bearer_auth(&far_leader)
        .send()
        .await
        .unwrap();
    problem(res, 404).await;
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE id = '{a2}' AND version = 1 AND archived_at IS NULL"
            )
        ),
        1
    );

    // Trainings follow the same rule.
    let res = app
        .post_json(
            "/api/v1/trainings",
            Some(&w.admin),
            &training(&w.team_a, "2025-10-20"),
        )
        .await;
    let ta = id_of(&res.json::<Value>().await.unwrap());
    let res = app
        .post_json(
            "/api/v1/trainings",
            Some(&w.admin),
            &training(&w.team_far, "2025-10-21"),
        )
        .await;
    let tf = id_of(&res.json::<Value>().await.unwrap());
    assert_eq!(
        ids(&app, &officer, "/api/v1/trainings").await,
        sorted(&[&ta])
    );
    assert_eq!(
        ids(&app, &stranger, "/api/v1/trainings").await,
        sorted(&[&tf])
    );
    assert_eq!(
        ids(
            &app,
            &stranger,
            &format!("/api/v1/trainings?unit_id={}", w.cao_bang.id)
        )
        .await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&app, &officer, "/api/v1/trainings?topic=digital_skills").await,
        sorted(&[&ta])
    );
    problem(
        app.get(&format!("/api/v1/trainings/{ta}"), &stranger).await,
        404,
    )
    .await;
}

#[actix_web::test]
async fn archiving_a_visit_takes_it_off_the_lists() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let leader = app
        .token_for(
            "totruong.napinh",
            "team_leader",
            Some(w.na_pinh.code.as_str()),
        )
        .await;
    let v = create_visit(&app, &leader, &visit(&w.house_a, "2025-11-01")).await;
    let path = format!("/api/v1/assistances/{}", id_of(&v));
    let res = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&leader)
        .header("If-Match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let archived: Value = res.json().await.unwrap();
    assert!(archived["archived_at"].is_string());
    assert_eq!(archived["version"], 2);
    assert!(ids(&app, &leader, "/api/v1/assistances").await.is_empty());
    assert_eq!(
        ids(&app, &leader, "/api/v1/assistances?include_archived=true")
            .await
            .len(),
        1
    );
    assert_eq!(
        n(
            &app,
            "SELECT count(*) AS n FROM assistances WHERE archived_at IS NOT NULL AND version = 2"
        ),
        1
    );
}

/// A visit recorded offline names the members who went. One of them leaves
/// the team before the phone syncs; the visit is still true and must be
/// stored, and a later correction of its notes must not need the member to
/// be taken off it.
#[actix_web::test]
async fn a_member_who_left_after_the_visit_still_counts() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let leader = app
        .token_for(
            "totruong.napinh",
            "team_leader",
            Some(w.na_pinh.code.as_str()),
        )
        .await;
    let second = create_member(&app, &w.admin, &w.team_a, "Lục Thị Hoa").await;
    let mut body = visit(&w.house_a, "2025-10-01");
    body["member_ids"] = json!([w.member_a]);
    let recorded = create_visit(&app, &leader, &body).await;

    // Hoa goes on a visit on 1 October and leaves the team on 15 October.
    let mut offline = visit(&w.house_a, "2025-10-01");
    offline["member_ids"] = json!([second]);
    let res = patch(
        &app,
        &w.admin,
        &format!("/api/v1/members/{second}"),
        &json!({ "left_on": "2025-10-15", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    // Mai leaves too, after the recorded visit.
    let res = patch(
        &app,
        &w.admin,
        &format!("/api/v1/members/{}", w.member_a),
        &json!({ "left_on": "2025-10-15", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);

    let res = app
        .post_json("/api/v1/assistances", Some(&leader), &offline)
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let res = patch(
        &app,
        &leader,
        &format!("/api/v1/assistances/{}", id_of(&recorded)),
        &json!({ "notes": "Bổ sung ghi chú", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// A team dissolves after a visit; an officer then rejects the visit for a
/// wrong date. Its recorder (an admin here) cannot correct it: the edit
/// checks the team as if the visit were new.
#[actix_web::test]
async fn a_visit_of_a_team_dissolved_since_can_be_corrected() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let v = create_visit(&app, &w.admin, &visit(&w.house_a, "2025-10-01")).await;
    let path = format!("/api/v1/assistances/{}", id_of(&v));
    let res = app
        .post_json(
            &format!("{path}/reject"),
            Some(&officer),
            &json!({ "reason": "Sai ngày" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = patch(
        &app,
        &w.admin,
        &format!("/api/v1/teams/{}", w.team_a),
        &json!({ "status": "dissolved", "dissolved_on": "2025-10-31", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = patch(
        &app,
        &w.admin,
        &path,
        &json!({ "visited_on": "2025-10-02", "version": 2 }),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// A training's area is the village where it was held, not its team's: a
/// session of Khuổi Ky's team held in Nà Pình is invisible to Khuổi Ky's
/// leader and shows up for Nà Pình's, who still cannot edit it.
#[actix_web::test]
async fn a_training_stays_with_its_team() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let leader_a = app
        .token_for(
            "totruong.napinh",
            "team_leader",
            Some(w.na_pinh.code.as_str()),
        )
        .await;
    let leader_b = app
        .token_for(
            "totruong.khuoiky",
            "team_leader",
            Some(w.khuoi_ky.code.as_str()),
        )
        .await;
    let mut body = training(&w.team_b, "2025-10-20");
    body["village_id"] = json!(w.na_pinh.id);
    let res = app
        .post_json("/api/v1/trainings", Some(&w.admin), &body)
        .await;
    assert_eq!(res.status(), 201);
    let id = id_of(&body);
    assert_eq!(ids(&app, &leader_b, "/api/v1/trainings").await, [id]);
    assert!(ids(&app, &leader_a, "/api/v1/trainings").await.is_empty());
}

/// A NUL byte in a text filter goes to PostgreSQL, which refuses it, and
/// the client gets a 500 for its own mistake.
#[actix_web::test]
async fn a_nul_byte_in_a_list_filter_is_the_clients_mistake() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for path in [
        "/api/v1/assistances?kind=a%00b",
        "/api/v1/trainings?topic=a%00b",
    ] {
        let status = app.get(path, &admin).await.status().as_u16();
        assert!([200, 400, 422].contains(&status), "{path}: {status}");
    }
}

/// What a client saw of one request: status, whether it was a replay, body.
struct Seen {
    status: u16,
    replay: bool,
    body: Value,
}

async fn send_visit(app: &TestApp, token: &str, body: &Value) -> Seen {
    let res = app
        .post_json("/api/v1/assistances", Some(token), body)
        .await;
    let status = res.status().as_u16();
    let replay = res.headers().contains_key("idempotent-replay");
    let body = res.json().await.unwrap_or(Value::Null);
    Seen {
        status,
        replay,
        body,
    }
}

/// Waits until `n` of this database's sessions wait on an advisory lock
/// (the activity writers stopped at a month held by the test).
async fn writers_waiting(app: &TestApp, n: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let waiting = count(
            &mut app.conn(),
            "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        );
        if waiting >= n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{waiting} of {n} writers reached the lock"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Waits until `GET /metrics` shows `n` visits queued for this server's
/// writers (the count is read from the server's own queue at each scrape).
async fn visits_queued(app: &TestApp, admin: &str, n: usize) {
    let wanted = format!("banso_activity_writer_queue{{kind=\"assistance\"}} {n}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut last = String::new();
    loop {
        let res = app.get("/metrics", admin).await;
        assert_eq!(res.status(), 200);
        let text = res.text().await.unwrap_or_default();
        if text.lines().any(|l| l == wanted) {
            return;
        }
        if let Some(line) = text
            .lines()
            .find(|l| l.starts_with("banso_activity_writer_queue{kind=\"assistance\"}"))
        {
            last = line.to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited a minute for {n} queued; the last scrape said {last:?}"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Sends `bodies` while the test holds their month: the first two stop
/// both writers at the lock, one record each, and the rest wait in the
/// queue, so that they are taken together once the lock is let go.
async fn send_while_held(
    app: &std::sync::Arc<TestApp>,
    leader: &str,
    admin: &str,
    bodies: &[Value],
) -> Vec<actix_web::rt::task::JoinHandle<Seen>> {
    let mut handles = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let (app2, leader, body) = (app.clone(), leader.to_string(), body.clone());
        handles.push(actix_web::rt::spawn(async move {
            send_visit(&app2, &leader, &body).await
        }));
        if i < 2 {
            writers_waiting(app, i as i64 + 1).await;
        }
    }
    visits_queued(app, admin, bodies.len().saturating_sub(2)).await;
    handles
}

/// Records sent together are written in one batch (the month's lock is
/// held from outside until they have all arrived) and each still gets its
/// own answer: new ones stored, a resend recognised even inside the batch,
/// another body under a taken id refused, bad fields and a locked month
/// named, and a record the database refuses (failing the whole batch)
/// fails alone once the batch is written again record by record.
#[actix_web::test]
async fn records_sent_together_are_written_together_and_answered_one_by_one() {
    use diesel::RunQueryDsl;
    // The writers wait at the held month while thirty requests arrive: on a
    // busy machine that takes longer than the service's 5 s lock timeout.
    let app = TestApp::spawn_on(
        TestDb::from_template(),
        &[
            ("BANSO_STATEMENT_TIMEOUT_MS", "120000"),
            ("BANSO_LOCK_TIMEOUT_MS", "120000"),
        ],
    )
    .await;
    let w = world(&app).await;
    let (_, leader) = account(
        &app,
        "totruong.napinh",
        "team_leader",
        Some(w.na_pinh.code.as_str()),
    )
    .await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let res = app
        .post_json(
            &format!("/api/v1/periods/{}/2025-09/lock", w.thuc_phan.id),
            Some(&officer),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 201);

    // Hold October 2025's month lock, as an officer locking it would: every
    // writer stops at it, and what arrives meanwhile waits in the queue.
    let october = chrono::NaiveDate::from_ymd_opt(2025, 10, 1).unwrap();
    let mut holder = app.conn();
    diesel::sql_query(format!(
        "SELECT pg_advisory_lock({})",
        banso::activities::month_key(october)
    ))
    .execute(&mut holder)
    .unwrap();

    let fresh: Vec<Value> = (0..20).map(|_| visit(&w.house_a, "2025-10-03")).collect();
    let twice = visit(&w.house_a, "2025-10-04");
    let mut clash = visit(&w.house_a, "2025-10-05");
    let mut clash_other = clash.clone();
    clash_other["visited_on"] = json!("2025-10-06");
    clash["notes"] = json!("lần đầu");
    let unknown = visit(&Uuid::new_v4().to_string(), "2025-10-07");
    let outside = visit(&w.house_b, "2025-10-08");
    let in_locked_month = visit(&w.house_a, "2025-09-15");
    // The database itself refuses this one (a trigger stands in for any
    // failure no check foresaw).
    diesel::sql_query(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
    )
    .execute(&mut holder)
    .unwrap();
    diesel::sql_query(
        "CREATE TRIGGER refuse BEFORE INSERT ON assistances FOR EACH ROW \
         WHEN (NEW.notes = 'từ chối') EXECUTE FUNCTION refuse()",
    )
    .execute(&mut holder)
    .unwrap();
    let mut refused = visit(&w.house_a, "2025-10-09");
    refused["notes"] = json!("từ chối");

    // Two fresh ones first: they stop the writers at the lock, one each.
    let mut sent: Vec<(&'static str, Value)> = Vec::new();
    for v in &fresh {
        sent.push(("fresh", v.clone()));
    }
    sent.push(("twice", twice.clone()));
    sent.push(("twice", twice.clone()));
    sent.push(("twice", twice.clone()));
    sent.push(("clash", clash.clone()));
    sent.push(("clash", clash_other.clone()));
    sent.push(("unknown", unknown.clone()));
    sent.push(("outside", outside.clone()));
    sent.push(("locked", in_locked_month.clone()));
    sent.push(("refused", refused.clone()));
    let app = std::sync::Arc::new(app);
    let bodies: Vec<Value> = sent.iter().map(|(_, body)| body.clone()).collect();
    let handles = send_while_held(&app, &leader, &w.admin, &bodies).await;
    diesel::sql_query("SELECT pg_advisory_unlock_all()")
        .execute(&mut holder)
        .unwrap();
    let mut seen = Vec::new();
    for h in handles {
        seen.push(h.await.unwrap());
    }
    let of = |kind: &str| -> Vec<&Seen> {
        sent.iter()
            .zip(&seen)
            .filter(|((k, _), _)| *k == kind)
            .map(|(_, s)| s)
            .collect()
    };

    for s in of("fresh") {
        assert_eq!(s.status, 201, "{}", s.body);
        assert!(!s.replay);
    }
    let twice_seen = of("twice");
    assert!(twice_seen.iter().all(|s| s.status == 201));
    assert_eq!(twice_seen.iter().filter(|s| !s.replay).count(), 1);
    assert!(twice_seen.iter().all(|s| s.body["id"] == twice["id"]));
    let clash_seen = of("clash");
    let mut statuses: Vec<u16> = clash_seen.iter().map(|s| s.status).collect();
    statuses.sort();
    assert_eq!(
        statuses,
        vec![201, 409],
        "one body stored, the other refused"
    );
    assert_eq!(of("unknown")[0].status, 422);
    assert_eq!(
        fields(&of("unknown")[0].body),
        pairs(&[("household_id", "unknown_household")])
    );
    assert_eq!(of("outside")[0].status, 422);
    assert_eq!(of("locked")[0].status, 409);
    assert_eq!(
        of("locked")[0].body["current"]["lock"]["month"],
        "2025-09",
        "{}",
        of("locked")[0].body
    );
    assert_eq!(of("refused")[0].status, 500, "{}", of("refused")[0].body);
    assert!(
        !of("refused")[0]
            .body
            .to_string()
            .contains("refused by the test")
    );

    // Stored: the 20, the resend once, one of the clash; nothing else.
    let stored = |id: &Value| {
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE id = '{}'",
                id.as_str().unwrap()
            ),
        )
    };
    assert_eq!(n(&app, "SELECT count(*) AS n FROM assistances"), 22);
    assert_eq!(stored(&twice["id"]), 1);
    assert_eq!(stored(&clash["id"]), 1);
    for v in [&unknown, &outside, &in_locked_month, &refused] {
        assert_eq!(stored(&v["id"]), 0);
    }
    // One audit event per stored visit, and most of them written together.
    assert_eq!(
        n(
            &app,
            "SELECT count(*) AS n FROM audit_events WHERE entity = 'assistance' AND action = 'create'"
        ),
        22
    );
    // (A batch that failed is written again record by record, so the
    // batch that held the refused record leaves events one by one; the
    // records that waited came in the same batch or in a later one.)

    // Without a refused record, what waited is written in one transaction:
    // its audit events share their time.
    diesel::sql_query(format!(
        "SELECT pg_advisory_lock({})",
        banso::activities::month_key(october)
    ))
    .execute(&mut holder)
    .unwrap();
    let bodies: Vec<Value> = (0..20).map(|_| visit(&w.house_a, "2025-10-10")).collect();
    let handles = send_while_held(&app, &leader, &w.admin, &bodies).await;
    diesel::sql_query("SELECT pg_advisory_unlock_all()")
        .execute(&mut holder)
        .unwrap();
    for h in handles {
        assert_eq!(h.await.unwrap().status, 201);
    }
    // Two writers each held one record at the lock; the 18 that waited in
    // the queue are one batch.
    let together = n(
        &app,
        "SELECT max(c) AS n FROM (SELECT count(*) AS c FROM audit_events \
         WHERE entity = 'assistance' AND after->>'visited_on' = '2025-10-10' GROUP BY at) g",
    );
    assert_eq!(together, 18, "largest batch {together} of 20");
    // Written together, each event still names its own request and caller.
    assert_eq!(
        n(
            &app,
            "SELECT count(DISTINCT request_id) AS n FROM audit_events \
             WHERE entity = 'assistance' AND after->>'visited_on' = '2025-10-10' \
             AND actor_kind = 'user' AND actor_id IS NOT NULL",
        ),
        20
    );

    let res = app.get("/api/v1/audit/verify", &w.admin).await;
    assert_eq!(res.status(), 200);
    let verdict: Value = res.json().await.unwrap();
    assert_eq!(verdict["ok"], true, "{verdict}");
}

/// A visit whose month an officer is locking at that very moment waits for
/// the lock's transaction, then sees the lock and is refused: the check
/// reads the locks only once it holds the month.
#[actix_web::test]
async fn a_visit_waiting_on_a_lock_being_set_sees_it() {
    use diesel::RunQueryDsl;
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (leader_id, leader) = account(
        &app,
        "totruong.napinh",
        "team_leader",
        Some(w.na_pinh.code.as_str()),
    )
    .await;
    let november = chrono::NaiveDate::from_ymd_opt(2025, 11, 1).unwrap();
    // What setting a lock does: the month's lock alone, then the row.
    let mut officer = app.conn();
    diesel::sql_query("BEGIN").execute(&mut officer).unwrap();
    diesel::sql_query(format!(
        "SELECT pg_advisory_xact_lock({})",
        banso::activities::month_key(november)
    ))
    .execute(&mut officer)
    .unwrap();
    diesel::sql_query(format!(
        "INSERT INTO period_locks (unit_id, month, area_path, locked_by, locked_at) \
         VALUES ('{}', '2025-11-01', '{}', '{}', now())",
        w.thuc_phan.id, w.thuc_phan.path, leader_id
    ))
    .execute(&mut officer)
    .unwrap();

    let app = std::sync::Arc::new(app);
    let body = visit(&w.house_a, "2025-11-12");
    let waiting = {
        let (app, leader, body) = (app.clone(), leader.clone(), body.clone());
        actix_web::rt::spawn(async move { send_visit(&app, &leader, &body).await })
    };
    actix_web::rt::time::sleep(std::time::Duration::from_millis(600)).await;
    diesel::sql_query("COMMIT").execute(&mut officer).unwrap();
    let seen = waiting.await.unwrap();
    assert_eq!(seen.status, 409, "{}", seen.body);
    assert_eq!(seen.body["current"]["lock"]["month"], "2025-11");
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE id = '{}'",
                body["id"].as_str().unwrap()
            )
        ),
        0
    );
}

/// The `after` of the household read events, oldest first.
fn household_reads(app: &TestApp) -> Vec<Value> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        after: Value,
    }
    let rows: Vec<Row> = diesel::RunQueryDsl::load(
        diesel::sql_query(
            "SELECT after FROM audit_events WHERE action = 'read' AND entity = 'household' \
             AND entity_id IS NULL ORDER BY id",
        ),
        &mut app.conn(),
    )
    .unwrap();
    rows.into_iter().map(|r| r.after).collect()
}

#[actix_web::test]
async fn lists_carry_household_names_as_one_audited_read() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (_, officer) = account(&app, "canbo.caobang", "officer", Some("04")).await;
    let a = create_visit(&app, &w.admin, &visit(&w.house_a, "2025-11-01")).await;
    let b = create_visit(&app, &w.admin, &visit(&w.house_b, "2025-11-02")).await;
    create_visit(&app, &w.admin, &visit(&w.house_far, "2025-11-02")).await;
    let mut t = training(&w.team_a, "2025-11-03");
    t["household_ids"] = json!([w.house_a]);
    assert_eq!(
        app.post_json("/api/v1/trainings", Some(&w.admin), &t)
            .await
            .status(),
        201
    );
    let reads = household_reads(&app).len();

    // Without include: no names, no read.
    let plain = items(&app, &officer, "/api/v1/assistances").await;
    assert_eq!(plain.len(), 2);
    assert!(plain.iter().all(|i| i.get("household").is_none()));
    assert_eq!(household_reads(&app).len(), reads);

    let res = app
        .get("/api/v1/assistances?include=household", &officer)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page: Value = res.json().await.unwrap();
    let by_id = |id: &Value| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| &i["id"] == id)
            .cloned()
            .unwrap()
    };
    let ha = by_id(&a["id"])["household"].clone();
    assert_eq!(ha["id"], w.house_a.as_str());
    assert_eq!(ha["head_name"], "Nông Văn Dũng");
    assert_eq!(ha["village_id"], w.na_pinh.id.to_string());
    assert_eq!(ha["village_name"], "Thôn Nà Pình");
    assert!(ha.get("area_path").is_none());
    assert_eq!(by_id(&b["id"])["household"]["head_name"], "Lục Văn Tài");
    assert_eq!(
        by_id(&b["id"])["household"]["village_name"],
        "Thôn Khuổi Ky"
    );
    // One read event naming the households read, and no names.
    let after = household_reads(&app);
    assert_eq!(after.len(), reads + 1);
    let event = &after[reads];
    assert_eq!(event["via"], "assistance");
    assert_eq!(
        sorted(&[
            event["ids"][0].as_str().unwrap(),
            event["ids"][1].as_str().unwrap()
        ]),
        sorted(&[&w.house_a, &w.house_b])
    );
    assert!(!event.to_string().contains("Nông"), "{event}");

    // A page of one reads the household of that page only.
    let res = app
        .get("/api/v1/assistances?include=household&limit=1", &officer)
        .await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let after = household_reads(&app);
    assert_eq!(after.len(), reads + 2);
    assert_eq!(
        after[reads + 1]["ids"],
        json!([page["items"][0]["household_id"]])
    );

    // Sessions carry the households of their attendees.
    let res = app
        .get("/api/v1/trainings?include=household", &officer)
        .await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page: Value = res.json().await.unwrap();
    let hs = &page["items"][0]["households"];
    assert_eq!(hs.as_array().unwrap().len(), 1, "{page}");
    assert_eq!(hs[0]["head_name"], "Nông Văn Dũng");
    assert_eq!(hs[0]["village_name"], "Thôn Nà Pình");
    assert_eq!(household_reads(&app).len(), reads + 3);

    // Anything else to include is refused, by name.
    for bad in ["team", "household,team"] {
        let res = app
            .get(&format!("/api/v1/assistances?include={bad}"), &officer)
            .await;
        let body = problem(res, 422).await;
        assert_eq!(fields(&body), pairs(&[("include", "invalid")]));
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("household")
        );
    }
    assert_eq!(household_reads(&app).len(), reads + 3);
}

#[actix_web::test]
async fn whole_numbers_with_a_fraction_count_and_a_verifying_reason_is_checked() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let leader = app
        .token_for(
            "totruong.napinh",
            "team_leader",
            Some(w.na_pinh.code.as_str()),
        )
        .await;
    let (_, officer) = account(&app, "canbo.caobang", "officer", Some("04")).await;
    let v = create_visit(&app, &leader, &visit(&w.house_a, "2025-11-01")).await;
    let id = id_of(&v);
    let path = format!("/api/v1/assistances/{id}");
    let stored = |status: &str, version: i32| {
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE id = '{id}' \
                 AND status = '{status}' AND version = {version}"
            ),
        )
    };

    // JSON Schema counts 1.0 as an integer: it is version 1.
    let res = patch(
        &app,
        &leader,
        &path,
        &json!({ "notes": "Đã cài VNeID", "version": 1.0 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(stored("submitted", 2), 1);

    // A verifying reason is optional, but held to the rules of the others.
    let long = "x".repeat(501);
    for (bad, code) in [
        (long.as_str(), "too_long"),
        ("sai\u{7}", "control_characters"),
    ] {
        let body = problem(
            app.post_json(
                &format!("{path}/verify"),
                Some(&officer),
                &json!({ "reason": bad }),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(fields(&body), pairs(&[("reason", code)]));
        let body = problem(
            app.post_json(
                "/api/v1/assistances/verify",
                Some(&officer),
                &json!({ "ids": [{ "id": id, "version": 2.0 }], "reason": bad }),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(fields(&body), pairs(&[("reason", code)]));
    }
    assert_eq!(stored("submitted", 2), 1);

    let res = app
        .post_json(
            "/api/v1/assistances/verify",
            Some(&officer),
            &json!({ "ids": [{ "id": id, "version": 2.0 }], "reason": " đúng " }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["results"][0]["status"], "updated");
    assert_eq!(body["results"][0]["record"]["status_reason"], "đúng");
    assert_eq!(stored("verified", 3), 1);
}
