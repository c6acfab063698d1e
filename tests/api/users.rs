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

/// Where a new account is placed, relative to a caller of Cao Bằng (04).
#[derive(Clone, Copy, Debug)]
enum Place {
    Nowhere,
    /// The province itself.
    Province,
    /// Commune Thục Phán (01273) inside it.
    Commune,
    /// A village of that commune.
    Village,
    /// Hà Nội (01), outside it.
    Outside,
}

struct Places {
    province: String,
    commune: String,
    village: String,
    outside: String,
}

impl Places {
    fn new(app: &TestApp) -> Places {
        Places {
            province: unit_id(app, "04"),
            commune: unit_id(app, "01273"),
            village: village(app, "01273", "Thôn Nà Pình").id.to_string(),
            outside: unit_id(app, "01"),
        }
    }

    fn id(&self, place: Place) -> Value {
        match place {
            Place::Nowhere => Value::Null,
            Place::Province => json!(self.province),
            Place::Commune => json!(self.commune),
            Place::Village => json!(self.village),
            Place::Outside => json!(self.outside),
        }
    }
}

/// The callers: an admin of the country, an admin of Cao Bằng and an
/// officer of Cao Bằng.
async fn callers(app: &TestApp) -> [(&'static str, String); 3] {
    [
        ("national admin", app.admin_token().await),
        (
            "provincial admin",
            app.token_for("admin.caobang", "admin", Some("04")).await,
        ),
        (
            "provincial officer",
            app.token_for("canbo.caobang", "officer", Some("04")).await,
        ),
    ]
}

#[actix_web::test]
async fn every_caller_creates_accounts_only_inside_its_own_area() {
    use Place::*;
    let app = TestApp::spawn().await;
    let places = Places::new(&app);
    let callers = callers(&app).await;
    // (role, place, what the national admin, the provincial admin and the
    // provincial officer get)
    let cases: &[(&str, Place, [u16; 3])] = &[
        ("admin", Nowhere, [201, 422, 403]),
        ("admin", Province, [201, 201, 403]),
        ("admin", Commune, [201, 201, 403]),
        ("admin", Outside, [201, 422, 403]),
        ("officer", Nowhere, [422, 422, 403]),
        ("officer", Province, [201, 201, 403]),
        ("officer", Commune, [201, 201, 403]),
        ("officer", Outside, [201, 422, 403]),
        ("team_leader", Nowhere, [422, 422, 422]),
        ("team_leader", Village, [201, 201, 201]),
        ("team_leader", Commune, [422, 422, 422]),
        ("member", Nowhere, [422, 422, 422]),
        ("member", Village, [201, 201, 201]),
    ];
    let mut n = 0;
    for (role, place, expected) in cases {
        for ((who, token), want) in callers.iter().zip(expected) {
            n += 1;
            let username = format!("account.{n}");
            let mut body = json!({ "username": username, "password": PASSWORD, "role": role });
            if !matches!(place, Nowhere) {
                body["area_id"] = places.id(*place);
            }
            let res = app.post_json("/api/v1/users", Some(token), &body).await;
            let case = format!("{who} creating a {role} at {place:?}");
            assert_eq!(res.status().as_u16(), *want, "{case}");
            let mut conn = app.conn();
            let stored = count(
                &mut conn,
                &format!("SELECT count(*) AS n FROM users WHERE username = '{username}'"),
            );
            if *want == 201 {
                let created: Value = res.json().await.unwrap();
                assert_eq!(created["area_id"], places.id(*place), "{case}");
                assert_eq!(stored, 1, "{case}");
            } else {
                let body = problem(res, *want).await;
                if *want == 422 {
                    assert_eq!(body["errors"][0]["field"], "area_id", "{case}: {body}");
                }
                assert_eq!(stored, 0, "{case}");
            }
        }
    }
    // The provincial admin was told plainly why an admin without an area
    // is refused.
    let body = json!({ "username": "country.admin", "password": PASSWORD, "role": "admin" });
    let res = app
        .post_json("/api/v1/users", Some(&callers[1].1), &body)
        .await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["code"], "required", "{body}");
    let mut conn = app.conn();
    // The only accounts without an area are the national admin and the
    // admin it made.
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM users WHERE area_unit_id IS NULL"
        ),
        2
    );
}

#[actix_web::test]
async fn every_caller_changes_accounts_only_inside_its_own_area() {
    use Place::*;
    let app = TestApp::spawn().await;
    let places = Places::new(&app);
    let callers = callers(&app).await;
    // (the account's role and place, the patch's role and place, what each
    // caller gets)
    let cases: &[PatchCase] = &[
        // Made an admin where it is.
        ("officer", Commune, Some("admin"), None, [200, 200, 403]),
        // Moved out of Cao Bằng.
        ("officer", Commune, None, Some(Outside), [200, 422, 403]),
        ("admin", Commune, None, Some(Outside), [200, 422, 403]),
        // Moved inside it.
        ("officer", Commune, None, Some(Province), [200, 200, 403]),
        (
            "admin",
            Province,
            Some("officer"),
            Some(Commune),
            [200, 200, 403],
        ),
        // Accounts outside the caller's area are not found.
        // (an officer is refused a role change before anything is looked up)
        ("officer", Outside, Some("admin"), None, [200, 404, 403]),
        (
            "admin",
            Nowhere,
            Some("officer"),
            Some(Commune),
            [200, 404, 403],
        ),
        ("team_leader", Village, None, Some(Outside), [422, 422, 403]),
        // An officer edits field accounts of its area, but never role or
        // area.
        (
            "team_leader",
            Village,
            Some("member"),
            None,
            [200, 200, 403],
        ),
    ];
    let mut n = 0;
    for (role, place, new_role, new_place, expected) in cases {
        for ((who, token), want) in callers.iter().zip(expected) {
            n += 1;
            let username = format!("target.{n}");
            let area = match place {
                Nowhere => None,
                Province => Some("04".to_string()),
                Commune => Some("01273".to_string()),
                Outside => Some("01".to_string()),
                Village => Some(village_code(&app, &places)),
            };
            let id = app.create_user(&username, role, area.as_deref()).await;
            let mut body = json!({ "version": 1 });
            if let Some(r) = new_role {
                body["role"] = json!(r);
            }
            if let Some(p) = new_place {
                body["area_id"] = places.id(*p);
            }
            let res = patch(&app, token, &id.to_string(), body).await;
            let case =
                format!("{who} changing a {role} at {place:?} to {new_role:?} at {new_place:?}");
            let mut conn = app.conn();
            let version = count(
                &mut conn,
                &format!("SELECT version::bigint AS n FROM users WHERE id = '{id}'"),
            );
            if *want == 200 {
                assert_eq!(res.status(), 200, "{case}");
                let after: Value = res.json().await.unwrap();
                assert_eq!(after["role"], json!(new_role.unwrap_or(role)), "{case}");
                if let Some(p) = new_place {
                    assert_eq!(after["area_id"], places.id(*p), "{case}");
                }
                assert_eq!(version, 2, "{case}");
            } else {
                problem(res, *want).await;
                assert_eq!(version, 1, "{case}: the account is unchanged");
            }
        }
    }
}

/// An account's role and place, the patch's role and place, and what each
/// caller gets.
type PatchCase = (
    &'static str,
    Place,
    Option<&'static str>,
    Option<Place>,
    [u16; 3],
);

fn village_code(app: &TestApp, places: &Places) -> String {
    let mut conn = app.conn();
    let id: uuid::Uuid = places.village.parse().unwrap();
    banso::units::repo::get(&mut conn, id).unwrap().code
}
