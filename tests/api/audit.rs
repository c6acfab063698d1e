//! Tests for /api/v1/audit.
//!
//! Every change, login, read and export of personal data appends an event;
//! `GET /audit` lists them by area, and `GET /audit/verify` recomputes the
//! hash chain that links them.

use banso::units::model::UnitRow;
use reqwest::Response;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::village;
use crate::helpers::{PASSWORD, TestApp, count, fields, pairs, problem};

/// An account and an access token for it.
async fn account(app: &TestApp, username: &str, role: &str, area: Option<&str>) -> (Uuid, String) {
    let id = app.create_user(username, role, area).await;
    let token = app.tokens(username).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    (id, token)
}

/// The `x-request-id` a response carries.
fn request_id(res: &Response) -> String {
    res.headers()["x-request-id"].to_str().unwrap().to_string()
}

/// Reads a 2xx JSON answer, with its request id.
async fn answer(res: Response) -> (Value, String) {
    let rid = request_id(&res);
    let status = res.status();
    let text = res.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    (serde_json::from_str(&text).unwrap_or(Value::Null), rid)
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

/// Every event the caller may see, newest first.
async fn events(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let sep = if query.is_empty() { "?" } else { "&" };
    let res = app
        .get(&format!("/api/v1/audit{query}{sep}limit=500"), token)
        .await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let page: Value = serde_json::from_str(&text).unwrap();
    assert!(page["next_cursor"].is_null(), "more than one page");
    page["items"].as_array().unwrap().clone()
}

/// The one event of a request.
fn by_request<'a>(events: &'a [Value], rid: &str) -> &'a Value {
    let found: Vec<&Value> = events.iter().filter(|e| e["request_id"] == rid).collect();
    assert_eq!(found.len(), 1, "events of request {rid}: {found:?}");
    found[0]
}

fn position(events: &[Value], rid: &str) -> usize {
    events
        .iter()
        .position(|e| e["request_id"] == rid)
        .unwrap_or_else(|| panic!("no event of request {rid}"))
}

fn n(app: &TestApp, sql: &str) -> i64 {
    count(&mut app.conn(), sql)
}

fn execute(app: &TestApp, sql: &str) -> usize {
    diesel::RunQueryDsl::execute(diesel::sql_query(sql), &mut app.conn()).unwrap()
}

async fn verify(app: &TestApp, token: &str) -> Value {
    let res = app.get("/api/v1/audit/verify", token).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Verifies, once more if the background linker held the chain's lock
/// while the first call wanted to link (it then links nothing itself).
async fn verify_linked(app: &TestApp, token: &str) -> Value {
    let v = verify(app, token).await;
    if v["unlinked"] == 0 {
        return v;
    }
    verify(app, token).await
}

/// A team in Nà Pình (Cao Bằng), a household and a visit by its leader:
/// enough events for the chain.
struct World {
    na_pinh: UnitRow,
    admin: String,
    admin_id: Uuid,
    officer: String,
    officer_id: Uuid,
    leader: String,
    leader_id: Uuid,
}

async fn world(app: &TestApp) -> World {
    let na_pinh = village(app, "01273", "Thôn Nà Pình");
    let (admin_id, admin) = account(app, "admin", "admin", None).await;
    let (officer_id, officer) = account(app, "canbo.caobang", "officer", Some("04")).await;
    let (leader_id, leader) = account(
        app,
        "totruong.napinh",
        "team_leader",
        Some(na_pinh.code.as_str()),
    )
    .await;
    World {
        na_pinh,
        admin,
        admin_id,
        officer,
        officer_id,
        leader,
        leader_id,
    }
}

async fn create_household(app: &TestApp, token: &str, village: &UnitRow, head: &str) -> String {
    let res = app
        .post_json(
            "/api/v1/households",
            Some(token),
            &json!({
                "village_id": village.id,
                "head_name": head,
                "size": 4,
                "phone": "0912 345 678",
                "poverty_status": "poor",
            }),
        )
        .await;
    let (h, _) = answer(res).await;
    h["id"].as_str().unwrap().to_string()
}

#[actix_web::test]
async fn writes_are_listed_newest_first_with_their_request_id() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let stranger = app
        .token_for("canbo.tuyenquang", "officer", Some("08"))
        .await;

    let (team, team_rid) = answer(
        app.post_json(
            "/api/v1/teams",
            Some(&w.admin),
            &json!({ "village_id": w.na_pinh.id, "name": "Tổ CNS thôn Nà Pình" }),
        )
        .await,
    )
    .await;
    let team_id = team["id"].as_str().unwrap().to_string();
    let (house, house_rid) = answer(
        app.post_json(
            "/api/v1/households",
            Some(&w.officer),
            &json!({
                "village_id": w.na_pinh.id,
                "head_name": "Nông Văn Dũng",
                "size": 4,
                "poverty_status": "poor",
            }),
        )
        .await,
    )
    .await;
    let house_id = house["id"].as_str().unwrap().to_string();
    let (_, update_rid) = answer(
        patch(
            &app,
            &w.officer,
            &format!("/api/v1/households/{house_id}"),
            &json!({ "size": 6, "version": 1 }),
        )
        .await,
    )
    .await;
    let visit_id = Uuid::new_v4().to_string();
    let (_, visit_rid) = answer(
        app.post_json(
            "/api/v1/assistances",
            Some(&w.leader),
            &json!({
                "id": visit_id,
                "household_id": house_id,
                "visited_on": "2025-11-02",
                "help": [{ "kind": "vneid", "outcome": "done" }],
            }),
        )
        .await,
    )
    .await;
    let (_, verify_rid) = answer(
        app.post_json(
            &format!("/api/v1/assistances/{visit_id}/verify"),
            Some(&w.officer),
            &json!({}),
        )
        .await,
    )
    .await;
    let res = app.login("canbo.caobang", "not the password").await;
    assert_eq!(res.status(), 401);
    let failed_rid = request_id(&res);
    let res = app.login("canbo.caobang", PASSWORD).await;
    assert_eq!(res.status(), 200);
    let login_rid = request_id(&res);

    let all = events(&app, &w.admin, "").await;
    // Newest first.
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|p| p[0] > p[1]), "{ids:?}");
    let order: Vec<usize> = [
        &login_rid,
        &failed_rid,
        &verify_rid,
        &visit_rid,
        &update_rid,
        &house_rid,
        &team_rid,
    ]
    .iter()
    .map(|rid| position(&all, rid))
    .collect();
    assert!(order.windows(2).all(|p| p[0] < p[1]), "{order:?}");

    let e = by_request(&all, &team_rid);
    assert_eq!(e["action"], "create");
    assert_eq!(e["entity"], "team");
    assert_eq!(e["entity_id"], team_id.as_str());
    assert_eq!(e["actor_kind"], "user");
    assert_eq!(e["actor_id"], w.admin_id.to_string());
    assert_eq!(e["unit_id"], w.na_pinh.id.to_string());
    assert_eq!(e["after"]["name"], "Tổ CNS thôn Nà Pình");
    assert!(e["before"].is_null());

    let e = by_request(&all, &house_rid);
    assert_eq!(e["action"], "create");
    assert_eq!(e["entity"], "household");
    assert_eq!(e["entity_id"], house_id.as_str());
    assert_eq!(e["actor_id"], w.officer_id.to_string());

    let e = by_request(&all, &update_rid);
    assert_eq!(e["action"], "update");
    assert_eq!(e["entity"], "household");
    assert_eq!(e["entity_id"], house_id.as_str());
    assert_eq!(e["actor_id"], w.officer_id.to_string());
    assert_eq!(e["before"]["size"], 4);
    assert_eq!(e["after"]["record"]["size"], 6);
    assert_eq!(e["after"]["record"]["version"], 2);
    // Personal fields are in the trail only as "recorded", so that an
    // erasure leaves nothing of them behind.
    assert_eq!(e["after"]["record"]["head_name"], "(recorded)");
    assert_eq!(e["before"]["head_name"], "(recorded)");
    assert!(e["after"]["personal_fields_changed"].is_array());

    let e = by_request(&all, &visit_rid);
    assert_eq!(e["action"], "create");
    assert_eq!(e["entity"], "assistance");
    assert_eq!(e["entity_id"], visit_id.as_str());
    assert_eq!(e["actor_id"], w.leader_id.to_string());
    assert_eq!(e["unit_id"], w.na_pinh.id.to_string());
    assert_eq!(e["after"]["household_id"], house_id.as_str());

    let e = by_request(&all, &verify_rid);
    assert_eq!(e["action"], "verify");
    assert_eq!(e["entity"], "assistance");
    assert_eq!(e["entity_id"], visit_id.as_str());
    assert_eq!(e["actor_id"], w.officer_id.to_string());
    assert_eq!(e["before"]["status"], "submitted");
    assert_eq!(e["after"]["status"], "verified");

    let e = by_request(&all, &failed_rid);
    assert_eq!(e["action"], "login_failed");
    assert_eq!(e["entity"], "user");
    assert_eq!(e["actor_kind"], "anonymous");
    assert!(e["actor_id"].is_null());
    assert_eq!(e["actor_name"], "canbo.caobang");

    let e = by_request(&all, &login_rid);
    assert_eq!(e["action"], "login");
    assert_eq!(e["entity"], "user");
    assert_eq!(e["entity_id"], w.officer_id.to_string());
    assert_eq!(e["actor_id"], w.officer_id.to_string());
    assert_eq!(e["actor_kind"], "user");

    // The database holds what the list shows.
    for (rid, action, entity) in [
        (&team_rid, "create", "team"),
        (&house_rid, "create", "household"),
        (&update_rid, "update", "household"),
        (&visit_rid, "create", "assistance"),
        (&verify_rid, "verify", "assistance"),
        (&failed_rid, "login_failed", "user"),
        (&login_rid, "login", "user"),
    ] {
        assert_eq!(
            n(
                &app,
                &format!(
                    "SELECT count(*) AS n FROM audit_events WHERE request_id = '{rid}' \
                     AND action = '{action}' AND entity = '{entity}'"
                )
            ),
            1,
            "{action} {entity}"
        );
    }
    assert_eq!(
        all.len() as i64,
        n(&app, "SELECT count(*) AS n FROM audit_events")
    );

    // Filters.
    let of_house = events(
        &app,
        &w.admin,
        &format!("?entity=household&entity_id={house_id}"),
    )
    .await;
    let actions: Vec<&str> = of_house
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["update", "create"]);
    let by_leader = events(&app, &w.admin, &format!("?actor_id={}", w.leader_id)).await;
    assert!(
        by_leader
            .iter()
            .all(|e| e["actor_id"] == w.leader_id.to_string())
    );
    assert!(
        by_leader
            .iter()
            .any(|e| e["request_id"] == visit_rid.as_str())
    );
    let verifies = events(&app, &w.admin, "?action=verify").await;
    assert_eq!(verifies.len(), 1);

    // The province's officer sees the events of its area, and no event
    // without one (failed logins, admins' logins).
    let mine = events(&app, &w.officer, "").await;
    for rid in [
        &team_rid,
        &house_rid,
        &update_rid,
        &visit_rid,
        &verify_rid,
        &login_rid,
    ] {
        by_request(&mine, rid);
    }
    assert!(mine.iter().all(|e| e["request_id"] != failed_rid.as_str()));
    assert!(mine.iter().all(|e| e["actor_kind"] != "anonymous"));
    assert!(
        mine.iter()
            .all(|e| e["actor_id"] != w.admin_id.to_string() || e["action"] != "login")
    );
    // Another province's officer sees none of it: only its own login.
    let theirs = events(&app, &stranger, "").await;
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!(theirs[0]["action"], "login");
    for e in &theirs {
        for id in [&team_id, &house_id, &visit_id] {
            assert_ne!(e["entity_id"], id.as_str());
        }
    }
    assert!(
        events(&app, &stranger, &format!("?unit_id={}", w.na_pinh.id))
            .await
            .is_empty()
    );
    // Field roles do not read the trail.
    problem(app.get("/api/v1/audit", &w.leader).await, 403).await;
    let member = app
        .token_for("thanhvien.napinh", "member", Some(w.na_pinh.code.as_str()))
        .await;
    problem(app.get("/api/v1/audit", &member).await, 403).await;
}

#[actix_web::test]
async fn the_trail_pages_newest_first() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    for _ in 0..4 {
        app.tokens("canbo.caobang").await;
    }
    let total = n(&app, "SELECT count(*) AS n FROM audit_events");
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/audit?limit=2&cursor={c}"),
            None => "/api/v1/audit?limit=2".to_string(),
        };
        let res = app.get(&path, &w.admin).await;
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.unwrap();
        for e in page["items"].as_array().unwrap() {
            seen.push(e["id"].as_i64().unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len() as i64, total);
    assert!(seen.windows(2).all(|p| p[0] > p[1]), "{seen:?}");
}

#[actix_web::test]
async fn reads_exports_and_failed_logins_are_recorded() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let house_id = create_household(&app, &w.officer, &w.na_pinh, "Nông Văn Dũng").await;

    let (_, read_rid) = answer(
        app.get(&format!("/api/v1/households/{house_id}"), &w.officer)
            .await,
    )
    .await;
    let (_, list_rid) = answer(app.get("/api/v1/households", &w.leader).await).await;
    let (exported, export_rid) = answer(
        app.get(&format!("/api/v1/households/{house_id}/export"), &w.officer)
            .await,
    )
    .await;
    assert_eq!(exported["household"]["id"], house_id.as_str());
    let res = app.login("nobody.here", "whatever it was").await;
    assert_eq!(res.status(), 401);
    let failed_rid = request_id(&res);

    let all = events(&app, &w.admin, "").await;
    let e = by_request(&all, &read_rid);
    assert_eq!(e["action"], "read");
    assert_eq!(e["entity"], "household");
    assert_eq!(e["entity_id"], house_id.as_str());
    assert_eq!(e["actor_id"], w.officer_id.to_string());
    assert_eq!(e["unit_id"], w.na_pinh.id.to_string());
    let e = by_request(&all, &list_rid);
    assert_eq!(e["action"], "read");
    assert_eq!(e["entity"], "household");
    assert_eq!(e["actor_id"], w.leader_id.to_string());
    assert_eq!(e["after"]["ids"], json!([house_id]));
    let e = by_request(&all, &export_rid);
    assert_eq!(e["action"], "export");
    assert_eq!(e["entity"], "household");
    assert_eq!(e["entity_id"], house_id.as_str());
    assert_eq!(e["actor_id"], w.officer_id.to_string());
    let e = by_request(&all, &failed_rid);
    assert_eq!(e["action"], "login_failed");
    assert_eq!(e["actor_kind"], "anonymous");
    assert!(e["actor_id"].is_null());
    assert_eq!(e["actor_name"], "nobody.here");

    for (action, times) in [("read", 2), ("export", 1), ("login_failed", 1)] {
        assert_eq!(
            n(
                &app,
                &format!(
                    "SELECT count(*) AS n FROM audit_events WHERE action = '{action}' \
                     AND entity IN ('household', 'user')"
                )
            ),
            times,
            "{action}"
        );
    }
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM audit_events WHERE action = 'read' AND entity_id = '{house_id}' \
                 AND actor_id = '{}' AND request_id = '{read_rid}'",
                w.officer_id
            )
        ),
        1
    );
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM audit_events WHERE action = 'login_failed' \
                 AND actor_kind = 'anonymous' AND actor_id IS NULL AND actor_name = 'nobody.here' \
                 AND request_id = '{failed_rid}'"
            )
        ),
        1
    );
    // The officer of the province sees the read and the export.
    let mine = events(&app, &w.officer, "").await;
    by_request(&mine, &read_rid);
    by_request(&mine, &export_rid);
}

#[actix_web::test]
async fn the_chain_verifies_and_an_edited_event_breaks_it() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    create_household(&app, &w.officer, &w.na_pinh, "Nông Văn Dũng").await;
    create_household(&app, &w.officer, &w.na_pinh, "Lục Văn Tài").await;

    problem(app.get("/api/v1/audit/verify", &w.officer).await, 403).await;
    problem(app.get("/api/v1/audit/verify", &w.leader).await, 403).await;

    let v = verify_linked(&app, &w.admin).await;
    let total = n(&app, "SELECT count(*) AS n FROM audit_events");
    assert!(total >= 5);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["checked"], total, "{v}");
    assert_eq!(v["unlinked"], 0, "{v}");
    assert!(v["first_broken"].is_null());
    assert_eq!(
        n(
            &app,
            "SELECT count(*) AS n FROM audit_events WHERE seq IS NULL OR chain_hash IS NULL OR prev_hash IS NULL"
        ),
        0
    );
    assert_eq!(
        n(
            &app,
            &format!("SELECT count(*) AS n FROM audit_events WHERE seq BETWEEN 1 AND {total}")
        ),
        total
    );

    // Someone with access to the database rewrites an event.
    assert_eq!(
        execute(
            &app,
            r#"UPDATE audit_events SET after = '{"x":1}' WHERE seq = 2"#
        ),
        1
    );
    let v = verify(&app, &w.admin).await;
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["first_broken"]["seq"], 2, "{v}");
    assert_eq!(v["checked"], 1);
    let why = v["first_broken"]["problem"].as_str().unwrap();
    assert!(why.contains("content"), "{why}");
    assert!(v["first_broken"]["event_id"].is_string());
}

#[actix_web::test]
async fn a_deleted_event_breaks_the_chain() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    create_household(&app, &w.officer, &w.na_pinh, "Nông Văn Dũng").await;
    let v = verify_linked(&app, &w.admin).await;
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["checked"].as_i64().unwrap() >= 4, "{v}");

    assert_eq!(execute(&app, "DELETE FROM audit_events WHERE seq = 3"), 1);
    let v = verify(&app, &w.admin).await;
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["first_broken"]["seq"], 4, "{v}");
    assert_eq!(v["checked"], 2);
    let why = v["first_broken"]["problem"].as_str().unwrap();
    assert!(why.contains("missing"), "{why}");

    // New events are still linked after the gap, and the gap stays found.
    create_household(&app, &w.officer, &w.na_pinh, "Lục Văn Tài").await;
    let v = verify(&app, &w.admin).await;
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_broken"]["seq"], 4);
}

#[actix_web::test]
async fn no_secret_reaches_the_trail() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let first = "correct horse battery staple 41";
    let second = "tr0ub4dor and three more words";

    let (user, _) = answer(
        app.post_json(
            "/api/v1/users",
            Some(&w.admin),
            &json!({
                "username": "thanhvien.moi",
                "password": first,
                "role": "member",
                "area_id": w.na_pinh.id,
                "display_name": "Hà Thị Xuân",
            }),
        )
        .await,
    )
    .await;
    let user_id = user["id"].as_str().unwrap().to_string();
    assert!(user.get("password_hash").is_none());
    let (_, _) = answer(
        patch(
            &app,
            &w.admin,
            &format!("/api/v1/users/{user_id}"),
            &json!({ "password": second, "version": 1 }),
        )
        .await,
    )
    .await;
    // The old password fails; the new one works.
    assert_eq!(app.login("thanhvien.moi", first).await.status(), 401);
    let (tokens, _) = answer(app.login("thanhvien.moi", second).await).await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let (renewed, _) = answer(
        app.post_json(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": refresh }),
        )
        .await,
    )
    .await;
    let refresh_2 = renewed["refresh_token"].as_str().unwrap().to_string();
    let access_2 = renewed["access_token"].as_str().unwrap().to_string();
    let res = app
        .post_json(
            "/api/v1/auth/logout",
            None,
            &json!({ "refresh_token": refresh_2 }),
        )
        .await;
    assert_eq!(res.status(), 204);

    // The events are there...
    for (action, times) in [
        ("create", 1),
        ("update", 1),
        ("login_failed", 1),
        ("login", 1),
        ("logout", 1),
    ] {
        assert_eq!(
            n(
                &app,
                &format!(
                    "SELECT count(*) AS n FROM audit_events WHERE action = '{action}' \
                     AND (entity_id = '{user_id}' OR actor_name = 'thanhvien.moi')"
                )
            ),
            times,
            "{action}"
        );
    }
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM audit_events WHERE action = 'update' \
                 AND entity_id = '{user_id}' AND after ->> 'password_changed' = 'true'"
            )
        ),
        1
    );
    // ...and no secret is in any of them.
    let text = "coalesce(before::text, '') || ' ' || coalesce(after::text, '') || ' ' || coalesce(actor_name, '')";
    for secret in [
        first,
        second,
        PASSWORD,
        "argon2",
        "password_hash",
        &access,
        &refresh,
        &access_2,
        &refresh_2,
    ] {
        assert_eq!(
            n(
                &app,
                &format!(
                    "SELECT count(*) AS n FROM audit_events WHERE strpos({text}, '{secret}') > 0"
                )
            ),
            0,
            "{secret}"
        );
    }
    // Nor any stored hash, of a password or of a refresh token.
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM audit_events e, users u \
                 WHERE strpos({text}, u.password_hash) > 0"
            )
        ),
        0
    );
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM audit_events e, refresh_tokens r \
                 WHERE strpos({text}, encode(r.token_hash, 'hex')) > 0 \
                 OR strpos({text}, encode(r.token_hash, 'base64')) > 0"
            )
        ),
        0
    );
    // Not in the API's view of the trail either.
    let all = events(&app, &w.admin, "").await;
    let listed = serde_json::to_string(&all).unwrap();
    for secret in [first, second, PASSWORD, "argon2", &access, &refresh_2] {
        assert!(!listed.contains(secret), "{secret}");
    }
}

/// A NUL byte in a login name or in a filter of the trail goes to
/// PostgreSQL, which refuses it: the client gets a 500, and the failed
/// login is not recorded at all.
#[actix_web::test]
async fn a_nul_byte_is_the_clients_mistake() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for query in ["?entity=a%00b", "?action=%00", "?entity_id=%00"] {
        let status = app
            .get(&format!("/api/v1/audit{query}"), &admin)
            .await
            .status()
            .as_u16();
        assert!([200, 400, 422].contains(&status), "{query}: {status}");
    }
    // A NUL in the username is refused, by name, before any account is
    // looked up: nothing is recorded, nothing fails inside.
    let res = app.login("canbo\u{0}caobang", "whatever it was").await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "username");
    assert_eq!(
        n(
            &app,
            "SELECT count(*) AS n FROM audit_events WHERE action = 'login_failed'"
        ),
        0
    );
}

/// The trail's filters take the names of actions and kinds of record it
/// writes; any other name is refused, naming the filter, rather than
/// answering an empty page that looks like "nothing happened".
#[actix_web::test]
async fn an_unknown_action_or_entity_filter_is_refused_by_name() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let res = app.get("/api/v1/audit?entity=person", &admin).await;
    let body = problem(res, 422).await;
    assert_eq!(fields(&body), pairs(&[("entity", "not_allowed")]));
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("household")
    );
    let res = app.get("/api/v1/audit?action=destroy", &admin).await;
    let body = problem(res, 422).await;
    assert_eq!(fields(&body), pairs(&[("action", "not_allowed")]));
    // The names it writes are accepted.
    let logins = events(&app, &admin, "?action=login&entity=user").await;
    assert!(!logins.is_empty());
    assert!(
        logins
            .iter()
            .all(|e| e["action"] == "login" && e["entity"] == "user")
    );
}

/// Who acted, by username, and the names a person reads the trail by:
/// the account's username and the unit's name on every event.
#[actix_web::test]
async fn the_trail_is_filtered_by_who_acted_and_names_them_and_the_place() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    create_household(&app, &w.leader, &w.na_pinh, "Nông Văn Dũng").await;
    create_household(&app, &w.admin, &w.na_pinh, "Hoàng Thị Mai").await;

    let by_leader = events(&app, &w.officer, "?actor=totruong.napinh").await;
    let expected = n(
        &app,
        &format!(
            "SELECT count(*) AS n FROM audit_events WHERE actor_id = '{}'",
            w.leader_id
        ),
    );
    assert!(expected >= 2, "a login and a household at least");
    assert_eq!(by_leader.len() as i64, expected);
    assert!(by_leader.iter().all(|e| {
        e["actor_id"] == w.leader_id.to_string() && e["actor_username"] == "totruong.napinh"
    }));
    let created = by_leader
        .iter()
        .find(|e| e["action"] == "create" && e["entity"] == "household")
        .expect("the household the leader registered");
    assert_eq!(created["unit_id"], w.na_pinh.id.to_string());
    assert_eq!(created["unit_name"], "Thôn Nà Pình");

    // Written as typed, in capitals and with spaces around: the same account.
    let again = events(&app, &w.officer, "?actor=%20TOTRUONG.NAPINH%20").await;
    assert_eq!(again.len(), by_leader.len());
    // With the other filters: only what all of them admit.
    let created_only = events(
        &app,
        &w.officer,
        "?actor=totruong.napinh&action=create&entity=household",
    )
    .await;
    assert_eq!(created_only.len(), 1);
    assert_eq!(created_only[0]["id"], created["id"]);
    // An account that does not exist has done nothing.
    assert!(
        events(&app, &w.officer, "?actor=nobody.here")
            .await
            .is_empty()
    );
    // The admin's events in the officer's area name the admin too.
    let by_admin = events(&app, &w.officer, "?actor=admin&entity=household").await;
    assert_eq!(by_admin.len(), 1);
    assert_eq!(by_admin[0]["actor_username"], "admin");
    assert_eq!(by_admin[0]["actor_id"], w.admin_id.to_string());
    // An event with no account (a failed login) has no username.
    app.post_json(
        "/api/v1/auth/login",
        None,
        &json!({ "username": "admin", "password": "not the password" }),
    )
    .await;
    let failed = events(&app, &w.admin, "?action=login_failed").await;
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["actor_username"].is_null() && failed[0]["unit_name"].is_null());
    let _ = w.officer_id;
}

/// A bad filter is refused by name, with nothing listed.
#[actix_web::test]
async fn bad_who_and_when_filters_are_refused_by_name() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    for bad in ["a", "tổ%20trưởng", "x%3Dy"] {
        let res = app
            .get(&format!("/api/v1/audit?actor={bad}"), &w.officer)
            .await;
        let body = problem(res, 422).await;
        assert_eq!(fields(&body), pairs(&[("actor", "invalid")]), "{bad}");
    }
    let res = app
        .get(
            "/api/v1/audit?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z",
            &w.officer,
        )
        .await;
    let body = problem(res, 422).await;
    assert_eq!(fields(&body), pairs(&[("to", "before_from")]));
    let res = app.get("/api/v1/audit?from=2026-11-31", &w.officer).await;
    let body = problem(res, 400).await;
    assert!(fields(&body).iter().any(|(f, _)| f == "from"), "{body}");
    // One day, as the officers' screen asks for it: Vietnam's midnight to
    // the next.
    let day = events(
        &app,
        &w.officer,
        "?from=2000-01-01T00:00:00%2B07:00&to=2000-01-02T00:00:00%2B07:00",
    )
    .await;
    assert!(day.is_empty());
}
