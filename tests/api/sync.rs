//! Tests for /api/v1/sync.
//!
//! A phone sends what it recorded offline in one batch; each item is
//! answered on its own, and a batch sent again stores nothing twice.

use banso::units::model::UnitRow;
use reqwest::Response;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, count, problem};
use crate::helpers::{id_of, village};

/// Nà Pình (commune 01273, Cao Bằng) with its team, a member and a
/// household; Khuổi Ky (commune 01279) likewise; and the leader of Nà
/// Pình, who syncs.
struct World {
    na_pinh: UnitRow,
    khuoi_ky: UnitRow,
    team_a: String,
    member_a: String,
    house_a: String,
    house_b: String,
    admin: String,
    leader: String,
}

async fn world(app: &TestApp) -> World {
    let na_pinh = village(app, "01273", "Thôn Nà Pình");
    let khuoi_ky = village(app, "01279", "Thôn Khuổi Ky");
    let admin = app.admin_token().await;
    let team_a = create_team(app, &admin, &na_pinh, "Tổ CNS thôn Nà Pình").await;
    create_team(app, &admin, &khuoi_ky, "Tổ CNS thôn Khuổi Ky").await;
    let res = app
        .post_json(
            "/api/v1/members",
            Some(&admin),
            &json!({
                "team_id": team_a,
                "full_name": "Hoàng Thị Mai",
                "gender": "female",
                "team_role": "member",
                "affiliation": "womens_union",
                "joined_on": "2024-03-01",
            }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let member_a = id_of(&res.json::<Value>().await.unwrap());
    let leader = app
        .token_for(
            "totruong.napinh",
            "team_leader",
            Some(na_pinh.code.as_str()),
        )
        .await;
    World {
        house_a: create_household(app, &admin, &na_pinh, "Nông Văn Dũng").await,
        house_b: create_household(app, &admin, &khuoi_ky, "Lục Văn Tài").await,
        na_pinh,
        khuoi_ky,
        team_a,
        member_a,
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
    id_of(&res.json::<Value>().await.unwrap())
}

async fn create_household(app: &TestApp, token: &str, village: &UnitRow, head: &str) -> String {
    let res = app
        .post_json("/api/v1/households", Some(token), &household(village, head))
        .await;
    assert_eq!(res.status(), 201, "create household {head}");
    id_of(&res.json::<Value>().await.unwrap())
}

fn household(village: &UnitRow, head: &str) -> Value {
    json!({
        "village_id": village.id,
        "head_name": head,
        "size": 5,
        "poverty_status": "poor",
        "has_smartphone": "no",
    })
}

fn visit_data(household_id: &str, on: &str) -> Value {
    json!({
        "household_id": household_id,
        "visited_on": on,
        "help": [{ "kind": "vneid", "outcome": "done" }],
    })
}

fn create(kind: &str, data: Value) -> Value {
    json!({ "type": kind, "op": "create", "id": Uuid::new_v4(), "data": data })
}

fn update(kind: &str, id: &str, version: i64, data: Value) -> Value {
    json!({ "type": kind, "op": "update", "id": id, "version": version, "data": data })
}

async fn sync(app: &TestApp, token: &str, items: &[Value]) -> Response {
    app.post_json("/api/v1/sync", Some(token), &json!({ "items": items }))
        .await
}

/// The answers of a batch, checked to be 200 and one per item, in order.
async fn results(app: &TestApp, token: &str, items: &[Value]) -> Vec<Value> {
    let res = sync(app, token, items).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let results = body["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), items.len());
    for (i, (r, item)) in results.iter().zip(items).enumerate() {
        assert_eq!(r["index"], i);
        assert_eq!(r["id"], item["id"]);
        assert_eq!(r["type"], item["type"]);
    }
    results
}

fn statuses(results: &[Value]) -> Vec<&str> {
    results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect()
}

fn n(app: &TestApp, sql: &str) -> i64 {
    count(&mut app.conn(), sql)
}

/// Rows of the tables a sync writes.
fn tally(app: &TestApp) -> [i64; 4] {
    [
        n(app, "SELECT count(*) AS n FROM assistances"),
        n(app, "SELECT count(*) AS n FROM trainings"),
        n(app, "SELECT count(*) AS n FROM households"),
        n(
            app,
            "SELECT count(*) AS n FROM audit_events WHERE action = 'create'",
        ),
    ]
}

#[actix_web::test]
async fn a_batch_stores_the_good_items_and_names_the_bad_one() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let mut bad = visit_data(&w.house_a, "2025-11-03");
    bad["help"] = json!([{ "kind": "teleport", "outcome": "done" }]);
    let mut visit = visit_data(&w.house_a, "2025-11-02");
    visit["member_ids"] = json!([w.member_a]);
    let items = vec![
        create("assistance", visit),
        create(
            "training",
            json!({
                "team_id": w.team_a,
                "held_on": "2025-11-01",
                "duration_minutes": 90,
                "topics": ["digital_skills"],
                "trainer_ids": [w.member_a],
                "attendees": { "total": 18, "women": 10 },
            }),
        ),
        create("assistance", bad),
        create("household", household(&w.na_pinh, "Bế Văn Khánh")),
        create("assistance", visit_data(&w.house_a, "2025-11-04")),
    ];
    let before = tally(&app);

    let first = results(&app, &w.leader, &items).await;
    assert_eq!(
        statuses(&first),
        ["created", "created", "invalid", "created", "created"],
        "{first:?}"
    );
    assert_eq!(first[2]["errors"][0]["field"], "help[0].kind");
    assert_eq!(first[2]["errors"][0]["code"], "unknown_kind");
    assert!(first[2].get("record").is_none());
    assert_eq!(first[0]["record"]["team_id"], w.team_a.as_str());
    assert_eq!(first[0]["record"]["version"], 1);
    assert_eq!(first[1]["record"]["village_id"], w.na_pinh.id.to_string());
    assert_eq!(first[3]["record"]["head_name"], "Bế Văn Khánh");
    assert_eq!(first[3]["record"]["id"], items[3]["id"]);
    for i in [0, 1, 3, 4] {
        assert_eq!(first[i]["record"]["id"], items[i]["id"]);
    }
    let after = tally(&app);
    assert_eq!(after[0], before[0] + 2);
    assert_eq!(after[1], before[1] + 1);
    assert_eq!(after[2], before[2] + 1);
    assert_eq!(after[3], before[3] + 4);
    for (table, i) in [
        ("assistances", 0),
        ("trainings", 1),
        ("households", 3),
        ("assistances", 4),
    ] {
        assert_eq!(
            n(
                &app,
                &format!(
                    "SELECT count(*) AS n FROM {table} WHERE id = '{}'",
                    items[i]["id"].as_str().unwrap()
                )
            ),
            1,
            "{table} {i}"
        );
    }
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE id = '{}'",
                items[2]["id"].as_str().unwrap()
            )
        ),
        0
    );
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM households WHERE id = '{}' AND village_id = '{}' \
                 AND area_path = '{}' AND head_name = 'Bế Văn Khánh' AND has_smartphone = 'no'",
                items[3]["id"].as_str().unwrap(),
                w.na_pinh.id,
                w.na_pinh.path
            )
        ),
        1
    );

    // The connection dropped before the answer: the phone sends it all again.
    let second = results(&app, &w.leader, &items).await;
    assert_eq!(
        statuses(&second),
        [
            "already_had",
            "already_had",
            "invalid",
            "already_had",
            "already_had"
        ],
        "{second:?}"
    );
    assert_eq!(second[2]["errors"][0]["field"], "help[0].kind");
    assert_eq!(second[0]["record"], first[0]["record"]);
    assert_eq!(second[1]["record"], first[1]["record"]);
    assert_eq!(tally(&app), after);

    // The same ids with other content are conflicts, and change nothing.
    let mut changed = items.clone();
    changed[0]["data"]["visited_on"] = json!("2025-10-30");
    changed[1]["data"]["duration_minutes"] = json!(45);
    let third = results(&app, &w.leader, &changed[..2]).await;
    assert_eq!(statuses(&third), ["conflict", "conflict"], "{third:?}");
    assert_eq!(tally(&app), after);
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE id = '{}' AND visited_on = '2025-11-02'",
                items[0]["id"].as_str().unwrap()
            )
        ),
        1
    );

    // An item whose data names another id is refused.
    let mut mismatch = create("assistance", visit_data(&w.house_a, "2025-11-02"));
    mismatch["data"]["id"] = json!(Uuid::new_v4());
    let answer = results(&app, &w.leader, &[mismatch]).await;
    assert_eq!(statuses(&answer), ["invalid"]);
    assert_eq!(answer[0]["errors"][0]["field"], "data.id");
    assert_eq!(tally(&app), after);
}

#[actix_web::test]
async fn a_visit_sent_by_post_and_again_by_sync_is_one_visit() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let id = Uuid::new_v4();
    let mut body = visit_data(&w.house_a, "2025-11-02");
    body["id"] = json!(id);
    let res = app
        .post_json("/api/v1/assistances", Some(&w.leader), &body)
        .await;
    assert_eq!(res.status(), 201);
    let item = json!({
        "type": "assistance",
        "op": "create",
        "id": id,
        "data": visit_data(&w.house_a, "2025-11-02"),
    });
    let answer = results(&app, &w.leader, &[item]).await;
    assert_eq!(statuses(&answer), ["already_had"]);
    assert_eq!(n(&app, "SELECT count(*) AS n FROM assistances"), 1);
}

#[actix_web::test]
async fn a_stale_update_is_a_conflict_with_the_current_record() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let res = app
        .post_json(
            "/api/v1/assistances",
            Some(&w.leader),
            &json!({
                "id": Uuid::new_v4(),
                "household_id": w.house_a,
                "visited_on": "2025-11-02",
                "help": [{ "kind": "vneid", "outcome": "done" }],
            }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let visit_id = id_of(&res.json::<Value>().await.unwrap());
    let training_id = Uuid::new_v4().to_string();
    let res = app
        .post_json(
            "/api/v1/trainings",
            Some(&w.leader),
            &json!({
                "id": training_id,
                "team_id": w.team_a,
                "held_on": "2025-11-01",
                "duration_minutes": 90,
                "topics": ["digital_skills"],
                "attendees": { "total": 18 },
            }),
        )
        .await;
    assert_eq!(res.status(), 201);

    let answers = results(
        &app,
        &w.leader,
        &[
            update("assistance", &visit_id, 1, json!({ "notes": "Lần 1" })),
            update(
                "training",
                &training_id,
                1,
                json!({ "duration_minutes": 60 }),
            ),
            update("household", &w.house_a, 1, json!({ "has_internet": "yes" })),
        ],
    )
    .await;
    assert_eq!(
        statuses(&answers),
        ["updated", "updated", "updated"],
        "{answers:?}"
    );
    assert_eq!(answers[0]["record"]["version"], 2);
    assert_eq!(answers[0]["record"]["notes"], "Lần 1");

    // A second phone still holds version 1.
    let answers = results(
        &app,
        &w.leader,
        &[
            update("assistance", &visit_id, 1, json!({ "notes": "Lần 2" })),
            update("training", &training_id, 1, json!({ "duration_minutes": 30 })),
            update("household", &w.house_a, 1, json!({ "size": 9 })),
            json!({ "type": "assistance", "op": "update", "id": visit_id, "data": { "notes": "X" } }),
        ],
    )
    .await;
    assert_eq!(
        statuses(&answers),
        ["conflict", "conflict", "conflict", "invalid"],
        "{answers:?}"
    );
    assert_eq!(answers[0]["current"]["version"], 2);
    assert_eq!(answers[0]["current"]["notes"], "Lần 1");
    assert!(answers[0]["detail"].is_string());
    assert_eq!(answers[1]["current"]["duration_minutes"], 60);
    assert_eq!(answers[2]["current"]["has_internet"], "yes");
    assert_eq!(answers[2]["current"]["size"], 5);
    assert_eq!(answers[3]["errors"][0]["field"], "version");

    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE id = '{visit_id}' AND version = 2 \
                 AND notes = 'Lần 1'"
            )
        ),
        1
    );
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM trainings WHERE id = '{training_id}' AND version = 2 \
                 AND duration_minutes = 60"
            )
        ),
        1
    );
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM households WHERE id = '{}' AND version = 2 AND size = 5",
                w.house_a
            )
        ),
        1
    );
    assert_eq!(
        n(
            &app,
            "SELECT count(*) AS n FROM audit_events WHERE action = 'update'"
        ),
        3
    );
}

#[actix_web::test]
async fn a_new_household_and_its_first_visit_travel_together() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let household_id = Uuid::new_v4().to_string();
    let visit_id = Uuid::new_v4().to_string();
    let items = [
        json!({
            "type": "household",
            "op": "create",
            "id": household_id,
            "data": household(&w.na_pinh, "Hà Văn Thắng"),
        }),
        json!({
            "type": "assistance",
            "op": "create",
            "id": visit_id,
            "data": visit_data(&household_id, "2025-11-05"),
        }),
    ];
    let answers = results(&app, &w.leader, &items).await;
    assert_eq!(statuses(&answers), ["created", "created"], "{answers:?}");
    assert_eq!(answers[1]["record"]["household_id"], household_id.as_str());
    assert_eq!(answers[1]["record"]["team_id"], w.team_a.as_str());
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances a JOIN households h ON h.id = a.household_id \
                 WHERE a.id = '{visit_id}' AND h.id = '{household_id}' AND a.team_id = '{}' \
                 AND a.area_path = '{}' AND h.area_path = '{}'",
                w.team_a, w.na_pinh.path, w.na_pinh.path
            )
        ),
        1
    );

    // The order matters: a visit before its household is not found in the
    // batch, and the household after it is still stored.
    let late_household = Uuid::new_v4().to_string();
    let items = [
        create("assistance", visit_data(&late_household, "2025-11-05")),
        json!({
            "type": "household",
            "op": "create",
            "id": late_household,
            "data": household(&w.na_pinh, "Triệu Thị Nga"),
        }),
    ];
    let answers = results(&app, &w.leader, &items).await;
    assert_eq!(statuses(&answers), ["invalid", "created"], "{answers:?}");
    assert_eq!(answers[0]["errors"][0]["field"], "household_id");
    assert_eq!(n(&app, "SELECT count(*) AS n FROM assistances"), 1);
    assert_eq!(n(&app, "SELECT count(*) AS n FROM households"), 4);
}

#[actix_web::test]
async fn more_than_500_items_are_refused_whole() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let items: Vec<Value> = (0..501)
        .map(|_| create("assistance", visit_data(&w.house_a, "2025-11-02")))
        .collect();
    let res = sync(&app, &w.leader, &items).await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "items");
    assert_eq!(body["errors"][0]["code"], "too_many");
    assert_eq!(n(&app, "SELECT count(*) AS n FROM assistances"), 0);

    // A batch of the wrong shape is refused whole too.
    let res = app
        .post_json(
            "/api/v1/sync",
            Some(&w.leader),
            &json!({ "items": [{ "type": "visit", "op": "create", "id": Uuid::new_v4(), "data": {} }] }),
        )
        .await;
    problem(res, 422).await;
    let res = sync(&app, &w.leader, &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["results"], json!([]));
}

#[actix_web::test]
async fn items_outside_the_area_fail_alone() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let res = app
        .post_json(
            "/api/v1/assistances",
            Some(&w.admin),
            &json!({
                "id": Uuid::new_v4(),
                "household_id": w.house_b,
                "visited_on": "2025-11-02",
                "help": [{ "kind": "vneid", "outcome": "done" }],
            }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let far_visit = id_of(&res.json::<Value>().await.unwrap());

    let items = [
        create("assistance", visit_data(&w.house_b, "2025-11-03")),
        update("assistance", &far_visit, 1, json!({ "notes": "X" })),
        update("household", &w.house_b, 1, json!({ "size": 9 })),
        create("household", household(&w.khuoi_ky, "Người lạ")),
        create("assistance", visit_data(&w.house_a, "2025-11-03")),
    ];
    let answers = results(&app, &w.leader, &items).await;
    assert_eq!(
        statuses(&answers),
        ["invalid", "not_found", "not_found", "invalid", "created"],
        "{answers:?}"
    );
    assert_eq!(answers[0]["errors"][0]["field"], "household_id");
    assert_eq!(answers[0]["errors"][0]["code"], "unknown_household");
    assert_eq!(answers[3]["errors"][0]["field"], "village_id");
    assert_eq!(n(&app, "SELECT count(*) AS n FROM assistances"), 2);
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE id = '{far_visit}' AND version = 1 AND notes IS NULL"
            )
        ),
        1
    );
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM households WHERE id = '{}' AND version = 1 AND size = 5",
                w.house_b
            )
        ),
        1
    );
    assert_eq!(n(&app, "SELECT count(*) AS n FROM households"), 2);

    // A member records visits but does not register households.
    let member = app
        .token_for("thanhvien.napinh", "member", Some(w.na_pinh.code.as_str()))
        .await;
    let answers = results(
        &app,
        &member,
        &[
            create("household", household(&w.na_pinh, "Hà Thị Xuân")),
            create("assistance", visit_data(&w.house_a, "2025-11-06")),
        ],
    )
    .await;
    assert_eq!(statuses(&answers), ["forbidden", "created"], "{answers:?}");
    assert_eq!(n(&app, "SELECT count(*) AS n FROM households"), 2);
    assert_eq!(n(&app, "SELECT count(*) AS n FROM assistances"), 3);
}

#[actix_web::test]
async fn five_hundred_visits_go_in_one_batch() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let kinds = ["vneid", "cashless", "digital_skills", "scam_awareness"];
    let items: Vec<Value> = (0..500)
        .map(|i| {
            let mut data = visit_data(&w.house_a, &format!("2025-10-{:02}", i % 28 + 1));
            data["help"] = json!([{ "kind": kinds[i % 4], "outcome": "done" }]);
            data["member_ids"] = json!([w.member_a]);
            create("assistance", data)
        })
        .collect();
    let answers = results(&app, &w.leader, &items).await;
    assert!(
        answers.iter().all(|a| a["status"] == "created"),
        "{:?}",
        answers
            .iter()
            .find(|a| a["status"] != "created")
            .map(Value::to_string)
    );
    assert_eq!(n(&app, "SELECT count(*) AS n FROM assistances"), 500);
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE team_id = '{}' AND household_id = '{}'",
                w.team_a, w.house_a
            )
        ),
        500
    );
    assert_eq!(
        n(
            &app,
            "SELECT count(*) AS n FROM audit_events WHERE entity = 'assistance' AND action = 'create'"
        ),
        500
    );
}

/// A household create sent again under the same id but with other content
/// is answered `already_had` and the new content is dropped without a word,
/// where a visit or a session under a reused id is a `conflict`.
#[actix_web::test]
async fn a_household_id_reused_for_other_content_is_a_conflict() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let id = Uuid::new_v4().to_string();
    let first = json!({
        "type": "household", "op": "create", "id": id,
        "data": household(&w.na_pinh, "Hà Văn Thắng"),
    });
    let answers = results(&app, &w.leader, &[first]).await;
    assert_eq!(statuses(&answers), ["created"]);
    let other = json!({
        "type": "household", "op": "create", "id": id,
        "data": household(&w.na_pinh, "Triệu Thị Nga"),
    });
    let answers = results(&app, &w.leader, &[other]).await;
    assert_eq!(statuses(&answers), ["conflict"], "{answers:?}");
}

/// Visits next to each other in a batch are stored together, in order: the
/// same visit twice is stored once and answered `already_had` the second
/// time, the same id with other content is a conflict, a bad one is named,
/// and a session between them is stored in its place.
#[actix_web::test]
async fn the_same_visit_twice_in_one_batch_is_stored_once() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let first = create("assistance", visit_data(&w.house_a, "2025-11-02"));
    let mut other = first.clone();
    other["data"]["visited_on"] = json!("2025-11-03");
    let mut bad = create("assistance", visit_data(&w.house_a, "2025-11-04"));
    bad["data"]["help"] = json!([]);
    let session = create(
        "training",
        json!({
            "team_id": w.team_a,
            "held_on": "2025-11-01",
            "duration_minutes": 60,
            "topics": ["digital_skills"],
            "attendees": { "total": 12 },
        }),
    );
    let after = create("assistance", visit_data(&w.house_a, "2025-11-05"));
    let items = vec![
        first.clone(),
        first.clone(),
        other,
        bad,
        session,
        after.clone(),
        after,
    ];
    let before = tally(&app);
    let answers = results(&app, &w.leader, &items).await;
    assert_eq!(
        statuses(&answers),
        [
            "created",
            "already_had",
            "conflict",
            "invalid",
            "created",
            "created",
            "already_had"
        ],
        "{answers:?}"
    );
    assert_eq!(answers[1]["record"], answers[0]["record"]);
    assert_eq!(answers[3]["errors"][0]["field"], "help");
    let after_tally = tally(&app);
    // Two visits, one session, and their three create events.
    assert_eq!(after_tally[0] - before[0], 2);
    assert_eq!(after_tally[1] - before[1], 1);
    assert_eq!(after_tally[3] - before[3], 3);
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE id = '{}' AND visited_on = '2025-11-02'",
                first["id"].as_str().unwrap()
            )
        ),
        1
    );
}
