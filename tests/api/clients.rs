//! Integration clients: client-credentials tokens that read inside an area.

use serde_json::{Value, json};

use crate::helpers::{TestApp, count, problem};

/// Registers a client for `area` and returns its id and secret.
async fn client(app: &TestApp, client_id: &str, area: &str) -> String {
    let url = app.db.url.clone();
    let (client_id, area) = (client_id.to_string(), area.to_string());
    actix_web::web::block(move || {
        let mut conn = diesel::Connection::establish(&url).unwrap();
        banso::cli::create_client(&mut conn, &client_id, "Cổng thông tin tỉnh", &area)
            .unwrap()
            .1
    })
    .await
    .unwrap()
}

pub async fn token(app: &TestApp, client_id: &str, secret: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_portal_reads_its_area_and_nothing_else() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let mut conn = app.conn();
    let village = |code: &str, name: &str| {
        let mut conn = app.conn();
        let commune =
            banso::units::repo::find_by_code(&mut conn, code, banso::units::repo::today())
                .unwrap()
                .remove(0);
        banso::units::repo::create_village(&mut conn, &commune, name, "Thôn", commune.valid_from)
            .unwrap()
    };
    let cao_bang = village("01273", "Thôn Nà Pình");
    let tuyen_quang = village("00691", "Thôn Lũng Cú");
    for (v, name) in [(&cao_bang, "Tổ Nà Pình"), (&tuyen_quang, "Tổ Lũng Cú")] {
        let res = app
            .post_json(
                "/api/v1/teams",
                Some(&admin),
                &json!({ "village_id": v.id, "name": name }),
            )
            .await;
        assert_eq!(res.status(), 201);
    }

    let secret = client(&app, "portal.caobang", "04").await;
    assert!(secret.len() >= 40);
    // Only a hash of the secret is stored.
    assert_eq!(
        count(
            &mut conn,
            &format!("SELECT count(*) AS n FROM clients WHERE secret_hash LIKE '%{secret}%'")
        ),
        0
    );
    let res = token(&app, "portal.caobang", &secret).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("refresh_token").is_none());
    let access = body["access_token"].as_str().unwrap().to_string();

    let me: Value = app.get("/api/v1/me", &access).await.json().await.unwrap();
    assert_eq!(me["role"], "client");
    assert_eq!(me["username"], "portal.caobang");
    assert_eq!(me["area"]["code"], "04");

    // Reads inside the area; the other province's team is not there.
    let teams: Value = app
        .get("/api/v1/teams", &access)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = teams["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Tổ Nà Pình"]);
    // Never writes, and never manages accounts or the audit trail.
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&access),
            &json!({ "village_id": cao_bang.id, "name": "Tổ khác" }),
        )
        .await;
    problem(res, 403).await;
    problem(app.get("/api/v1/users", &access).await, 403).await;
    problem(app.get("/api/v1/audit", &access).await, 403).await;
    // Its reads are the client's in the trail.
    assert!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM audit_events WHERE actor_kind = 'client' AND action = 'token'"
        ) == 1
    );
}

#[actix_web::test]
async fn wrong_credentials_are_refused_and_throttled() {
    let app = TestApp::spawn().await;
    let _ = client(&app, "portal.caobang", "04").await;
    problem(token(&app, "portal.caobang", "not the secret").await, 401).await;
    problem(token(&app, "no.such.client", "not the secret").await, 401).await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({ "grant_type": "password", "client_id": "portal.caobang", "client_secret": "x" }))
        .send()
        .await
        .unwrap();
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "grant_type");
    let res = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .header("content-type", "text/plain")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    problem(res, 415).await;
    for _ in 0..4 {
        problem(token(&app, "portal.caobang", "still wrong").await, 401).await;
    }
    let res = token(&app, "portal.caobang", "still wrong").await;
    assert!(res.headers().get("retry-after").is_some());
    problem(res, 429).await;
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM audit_events WHERE action = 'token_failed'"
        ),
        6
    );
}

#[actix_web::test]
async fn a_withdrawn_client_gets_no_token() {
    let app = TestApp::spawn().await;
    let secret = client(&app, "portal.old", "04").await;
    assert_eq!(token(&app, "portal.old", &secret).await.status(), 200);
    let mut conn = app.conn();
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE clients SET active = false WHERE client_id = 'portal.old'"),
        &mut conn,
    )
    .unwrap();
    problem(token(&app, "portal.old", &secret).await, 401).await;
}

#[actix_web::test]
async fn a_portal_follows_the_change_feed_of_its_area() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cb = crate::helpers::village(&app, "01273", "Thôn Pác Bó");
    let tq = crate::helpers::village(&app, "00691", "Thôn Nà Tòng");
    for (v, name) in [(&cb, "Tổ Pác Bó"), (&tq, "Tổ Nà Tòng")] {
        let res = app
            .post_json(
                "/api/v1/teams",
                Some(&admin),
                &json!({ "village_id": v.id, "name": name }),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let secret = client(&app, "portal.caobang", "04").await;
    let body: Value = token(&app, "portal.caobang", &secret)
        .await
        .json()
        .await
        .unwrap();
    let access = body["access_token"].as_str().unwrap();
    banso::audit::chain::link_all(&mut app.conn()).unwrap();
    let feed: Value = app
        .get("/api/v1/changes", access)
        .await
        .json()
        .await
        .unwrap();
    let units: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["entity"] == "team")
        .map(|c| c["unit_id"].as_str().unwrap())
        .collect();
    assert_eq!(units, vec![cb.id.to_string().as_str()], "{feed}");
}
