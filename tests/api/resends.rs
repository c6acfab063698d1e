//! A record sent again under its phone-made id is answered with what is
//! stored, as the first time, whatever changed since: its team dissolved,
//! its household archived, a member left, its month locked. Each change is
//! shown to bite (the same record under a new id is refused), then the
//! resend is answered by `POST` and by `/sync` alike, and nothing is
//! written.

use banso::units::model::UnitRow;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, count, delete, id_of, patch, unit, village};

/// Nà Pình, a village of commune Thục Phán, with a team, a member, a
/// household, and tokens of an admin and of the village's team leader.
pub struct Field {
    pub admin: String,
    pub leader: String,
    pub commune: UnitRow,
    pub team: String,
    pub member: String,
    pub household: String,
}

pub async fn field(app: &TestApp) -> Field {
    let na_pinh = village(app, "01273", "Thôn Nà Pình");
    let admin = app.admin_token().await;
    let team = stored(
        app,
        &admin,
        "/api/v1/teams",
        &json!({ "village_id": na_pinh.id, "name": "Tổ CNS thôn Nà Pình" }),
    )
    .await;
    let member = stored(
        app,
        &admin,
        "/api/v1/members",
        &json!({
            "team_id": team["id"],
            "full_name": "Hoàng Thị Mai",
            "gender": "female",
            "team_role": "member",
            "affiliation": "youth_union",
            "joined_on": "2024-03-01",
        }),
    )
    .await;
    let household = stored(
        app,
        &admin,
        "/api/v1/households",
        &json!({
            "village_id": na_pinh.id,
            "head_name": "Nông Văn Dũng",
            "size": 4,
            "poverty_status": "poor",
        }),
    )
    .await;
    let leader = app
        .token_for("totruong.napinh", "team_leader", Some(&na_pinh.code))
        .await;
    Field {
        admin,
        leader,
        commune: unit(app, "01273"),
        team: id_of(&team),
        member: id_of(&member),
        household: id_of(&household),
    }
}

/// POSTs `body` and returns the record answered with 201.
pub async fn stored(app: &TestApp, token: &str, path: &str, body: &Value) -> Value {
    let res = app.post_json(path, Some(token), body).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 201, "{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

fn visit(f: &Field, on: &str) -> Value {
    json!({
        "id": Uuid::new_v4(),
        "household_id": f.household,
        "visited_on": on,
        "member_ids": [f.member],
        "help": [{ "kind": "vneid", "outcome": "done" }],
    })
}

fn training(f: &Field, on: &str) -> Value {
    json!({
        "id": Uuid::new_v4(),
        "team_id": f.team,
        "held_on": on,
        "duration_minutes": 90,
        "topics": ["digital_skills"],
        "trainer_ids": [f.member],
        "household_ids": [f.household],
        "attendees": { "total": 20, "women": 11, "ethnic_minority": 18, "poor": 5 },
    })
}

/// The same record under a new id: what the change now refuses.
fn as_new(body: &Value) -> Value {
    let mut new = body.clone();
    new["id"] = json!(Uuid::new_v4());
    new
}

fn n(app: &TestApp, sql: &str) -> i64 {
    count(&mut app.conn(), sql)
}

/// Rows of the activity tables and events, which a resend must not add to.
fn tally(app: &TestApp) -> [i64; 3] {
    [
        n(app, "SELECT count(*) AS n FROM assistances"),
        n(app, "SELECT count(*) AS n FROM trainings"),
        n(app, "SELECT count(*) AS n FROM audit_events"),
    ]
}

/// Sends `body` again by `POST` and in a sync batch: both answer `first`,
/// the record as it was stored, and write nothing.
async fn resent_as_the_first_time(
    app: &TestApp,
    token: &str,
    kind: &str,
    body: &Value,
    first: &Value,
) {
    let path = match kind {
        "assistance" => "/api/v1/assistances",
        _ => "/api/v1/trainings",
    };
    let before = tally(app);
    let res = app.post_json(path, Some(token), body).await;
    assert_eq!(res.status(), 201, "{kind} resent by POST");
    assert_eq!(res.headers()["idempotent-replay"], "true");
    assert_eq!(&res.json::<Value>().await.unwrap(), first);

    let item = json!({ "type": kind, "op": "create", "id": body["id"], "data": body });
    let res = app
        .post_json("/api/v1/sync", Some(token), &json!({ "items": [item] }))
        .await;
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["results"][0]["status"], "already_had", "{answer}");
    assert_eq!(&answer["results"][0]["record"], first);
    assert_eq!(tally(app), before, "a resend wrote something");
}

/// POSTs a record that must now be refused, and checks nothing was stored.
async fn refused(app: &TestApp, token: &str, path: &str, body: &Value, status: u16) {
    let before = tally(app);
    let res = app.post_json(path, Some(token), body).await;
    assert_eq!(res.status().as_u16(), status, "{path} as new");
    assert_eq!(tally(app), before);
}

/// Records a visit and a session of `f`, lets `change` happen, checks that
/// the same records under new ids are now refused (`refused_as_new`, per
/// kind; `None`: the change does not refuse it), then resends both.
async fn stored_changed_resent(
    app: &TestApp,
    f: &Field,
    change: impl std::future::Future<Output = reqwest::Response>,
    refused_as_new: [Option<u16>; 2],
) {
    let records = [
        ("assistance", "/api/v1/assistances", visit(f, "2025-10-10")),
        ("training", "/api/v1/trainings", training(f, "2025-10-10")),
    ];
    let mut first = Vec::new();
    for (_, path, body) in &records {
        first.push(stored(app, &f.leader, path, body).await);
    }
    let res = change.await;
    assert!(res.status().is_success(), "the change: {}", res.status());
    for ((_, path, body), status) in records.iter().zip(refused_as_new) {
        if let Some(status) = status {
            refused(app, &f.leader, path, &as_new(body), status).await;
        }
    }
    for ((kind, _, body), first) in records.iter().zip(&first) {
        resent_as_the_first_time(app, &f.leader, kind, body, first).await;
    }
}

#[actix_web::test]
async fn a_resend_after_its_team_dissolved_is_what_was_stored() {
    let app = TestApp::spawn().await;
    let f = field(&app).await;
    let path = format!("/api/v1/teams/{}", f.team);
    let body = json!({ "status": "dissolved", "dissolved_on": "2025-10-31", "version": 1 });
    let dissolve = patch(&app, &f.admin, &path, None, &body);
    stored_changed_resent(&app, &f, dissolve, [Some(422), Some(422)]).await;
}

/// (A session may still name an archived household among those it
/// reached: only the visit is refused as new.)
#[actix_web::test]
async fn a_resend_after_its_household_was_archived_is_what_was_stored() {
    let app = TestApp::spawn().await;
    let f = field(&app).await;
    let path = format!("/api/v1/households/{}", f.household);
    stored_changed_resent(&app, &f, delete(&app, &f.admin, &path), [Some(422), None]).await;
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM households WHERE id = '{}' AND archived_at IS NOT NULL",
                f.household
            )
        ),
        1
    );
}

#[actix_web::test]
async fn a_resend_after_a_member_left_is_what_was_stored() {
    let app = TestApp::spawn().await;
    let f = field(&app).await;
    // Recorded as leaving before the day of the visit and the session.
    let path = format!("/api/v1/members/{}", f.member);
    let body = json!({ "left_on": "2025-10-05", "version": 1 });
    let leave = patch(&app, &f.admin, &path, None, &body);
    stored_changed_resent(&app, &f, leave, [Some(422), Some(422)]).await;
}

#[actix_web::test]
async fn a_resend_after_its_month_was_locked_is_what_was_stored() {
    let app = TestApp::spawn().await;
    let f = field(&app).await;
    let officer = app
        .token_for("canbo.thucphan", "officer", Some("01273"))
        .await;
    let path = format!("/api/v1/periods/{}/2025-10/lock", f.commune.id);
    let body = json!({ "force": true, "reason": "Hết hạn báo cáo" });
    let lock = app.post_json(&path, Some(&officer), &body);
    stored_changed_resent(&app, &f, lock, [Some(409), Some(409)]).await;
}

/// Records of a batch: one resent after its team dissolved, one new (now
/// refused) and one new that passes, in one request to the writer: each
/// gets its own answer.
#[actix_web::test]
async fn a_sync_batch_answers_a_resend_beside_new_records() {
    let app = TestApp::spawn().await;
    let f = field(&app).await;
    let v = visit(&f, "2025-10-10");
    let first_v = stored(&app, &f.leader, "/api/v1/assistances", &v).await;
    let res = patch(
        &app,
        &f.admin,
        &format!("/api/v1/members/{}", f.member),
        None,
        &json!({ "left_on": "2025-10-05", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let refused_v = as_new(&v);
    let mut fine = visit(&f, "2025-10-02");
    fine["member_ids"] = json!([]);
    let items: Vec<Value> = [&v, &refused_v, &fine]
        .iter()
        .map(|b| json!({ "type": "assistance", "op": "create", "id": b["id"], "data": b }))
        .collect();
    let res = app
        .post_json("/api/v1/sync", Some(&f.leader), &json!({ "items": items }))
        .await;
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.unwrap();
    let r = &answer["results"];
    assert_eq!(r[0]["status"], "already_had", "{answer}");
    assert_eq!(r[0]["record"], first_v);
    assert_eq!(r[1]["status"], "invalid", "{answer}");
    assert_eq!(r[2]["status"], "created", "{answer}");
    assert_eq!(n(&app, "SELECT count(*) AS n FROM assistances"), 2);
}

/// A household created through sync and changed since (edited, then
/// archived) is answered as stored when the phone sends the same item
/// again; another item under its id is a conflict that names only the id.
#[actix_web::test]
async fn a_household_resent_by_sync_after_it_changed_is_what_is_stored() {
    let app = TestApp::spawn().await;
    let f = field(&app).await;
    let na_rua = village(&app, "01273", "Thôn Nà Rụa");
    let id = Uuid::new_v4();
    let data = json!({
        "village_id": na_rua.id,
        "head_name": "Bế Thị Lan",
        "size": 3,
        "poverty_status": "near_poor",
    });
    let item = json!({ "type": "household", "op": "create", "id": id, "data": data });
    let sync = |item: Value| {
        let app = &app;
        let token = f.admin.clone();
        async move {
            let res = app
                .post_json("/api/v1/sync", Some(&token), &json!({ "items": [item] }))
                .await;
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()["results"][0].clone()
        }
    };
    assert_eq!(sync(item.clone()).await["status"], "created");
    let res = patch(
        &app,
        &f.admin,
        &format!("/api/v1/households/{id}"),
        None,
        &json!({ "phone": "0912345678", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let edited: Value = res.json().await.unwrap();
    let events = n(&app, "SELECT count(*) AS n FROM audit_events");

    let again = sync(item.clone()).await;
    assert_eq!(again["status"], "already_had", "{again}");
    assert_eq!(again["record"], edited);

    let res = delete(&app, &f.admin, &format!("/api/v1/households/{id}")).await;
    assert_eq!(res.status(), 200);
    let archived: Value = res.json().await.unwrap();
    let events_archived = n(&app, "SELECT count(*) AS n FROM audit_events");
    assert_eq!(events_archived, events + 1);
    let again = sync(item.clone()).await;
    assert_eq!(again["status"], "already_had", "{again}");
    assert_eq!(again["record"], archived);

    let mut other = item.clone();
    other["data"]["head_name"] = json!("Người khác");
    let clash = sync(other).await;
    assert_eq!(clash["status"], "conflict", "{clash}");
    assert_eq!(clash["current"], json!({ "id": id }), "{clash}");
    assert_eq!(
        n(
            &app,
            &format!("SELECT count(*) AS n FROM households WHERE id = '{id}' AND version = 3")
        ),
        1
    );
    assert_eq!(
        n(&app, "SELECT count(*) AS n FROM audit_events"),
        events_archived
    );
}
