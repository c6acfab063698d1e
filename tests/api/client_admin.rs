//! Integration clients as admins manage them: registered with scopes and a
//! rate limit over the API and the command line, secrets rotated with a
//! grace period, clients revoked with their tokens stopped at once.

use serde_json::{Value, json};

use crate::cli::banso;
use crate::clients::token;
use crate::helpers::{TestApp, count, problem};

async fn register(app: &TestApp, admin: &str, body: Value) -> reqwest::Response {
    app.post_json("/api/v1/clients", Some(admin), &body).await
}

fn body(client_id: &str, area: &str, scopes: &[&str]) -> Value {
    json!({
        "client_id": client_id,
        "name": "Cổng dữ liệu tỉnh Cao Bằng",
        "area_id": area,
        "scopes": scopes,
    })
}

async fn access(app: &TestApp, client_id: &str, secret: &str) -> String {
    let res = token(app, client_id, secret).await;
    assert_eq!(res.status(), 200, "token for {client_id}");
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

fn area_id(app: &TestApp, code: &str) -> String {
    crate::helpers::unit(app, code).id.to_string()
}

#[actix_web::test]
async fn an_admin_registers_a_client_whose_token_reaches_only_its_scopes() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cao_bang = area_id(&app, "04");
    let res = register(
        &app,
        &admin,
        body(
            "portal.caobang",
            &cao_bang,
            &["registry:read", "reports:read"],
        ),
    )
    .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let created: Value = res.json().await.unwrap();
    let secret = created["client_secret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 40);
    assert_eq!(
        created["client"]["scopes"],
        json!(["registry:read", "reports:read"])
    );
    assert_eq!(created["client"]["rate_limit_per_minute"], 600);
    let id = created["client"]["id"].as_str().unwrap().to_string();

    // Read back, without any secret; only a hash is stored.
    let read: Value = app
        .get(&format!("/api/v1/clients/{id}"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["client_id"], "portal.caobang");
    assert!(read.get("client_secret").is_none() && read.get("secret_hash").is_none());
    let mut conn = app.conn();
    let stored = format!("SELECT count(*) AS n FROM clients WHERE secret_hash LIKE '%{secret}%'");
    assert_eq!(count(&mut conn, &stored), 0);
    let list: Value = app
        .get("/api/v1/clients", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let access = access(&app, "portal.caobang", &secret).await;
    assert_eq!(app.get("/api/v1/teams", &access).await.status(), 200);
    let summary =
        format!("/api/v1/reports/summary?unit_id={cao_bang}&from=2025-01-01&to=2025-01-31");
    assert_eq!(app.get(&summary, &access).await.status(), 200);
    for (path, scope) in [
        ("/api/v1/assistances", "activities:read"),
        ("/api/v1/changes", "changes:read"),
        ("/api/v1/audit", "audit:read"),
    ] {
        let p = problem(app.get(path, &access).await, 403).await;
        assert!(p["detail"].as_str().unwrap().contains(scope), "{path}: {p}");
    }
    // Whatever its scopes, a client manages nothing.
    problem(app.get("/api/v1/clients", &access).await, 403).await;
    problem(app.get("/api/v1/users", &access).await, 403).await;

    let created_events =
        "SELECT count(*) AS n FROM audit_events WHERE entity = 'client' AND action = 'create'";
    assert_eq!(count(&mut conn, created_events), 1);
}

#[actix_web::test]
async fn a_bad_registration_is_named_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cao_bang = area_id(&app, "04");
    let field_of = |p: &Value| p["errors"][0]["field"].as_str().unwrap_or("").to_string();
    let cases = [
        (
            body("portal.caobang", &cao_bang, &["registry:write"]),
            "scopes",
        ),
        (body("portal.caobang", &cao_bang, &[]), "scopes"),
        (
            body("Portal Cao Bằng", &cao_bang, &["registry:read"]),
            "client_id",
        ),
        (
            json!({ "client_id": "portal.caobang", "name": "x", "area_id": cao_bang,
                    "scopes": ["registry:read"], "rate_limit_per_minute": 0 }),
            "rate_limit_per_minute",
        ),
        (
            body(
                "portal.caobang",
                "0190a000-0000-7000-8000-000000000000",
                &["registry:read"],
            ),
            "area_id",
        ),
    ];
    for (bad, field) in cases {
        let p = problem(register(&app, &admin, bad.clone()).await, 422).await;
        assert_eq!(field_of(&p), field, "{bad}: {p}");
    }
    let p = problem(
        register(
            &app,
            &admin,
            json!({ "client_id": "portal.caobang", "scopes": [] }),
        )
        .await,
        422,
    )
    .await;
    assert!(
        p.to_string().contains("name") || p.to_string().contains("area_id"),
        "{p}"
    );

    // An admin of one province registers clients of its area only.
    let province_admin = app.token_for("admin.caobang", "admin", Some("04")).await;
    let tuyen_quang = area_id(&app, "08");
    let p = problem(
        register(
            &app,
            &province_admin,
            body("portal.tq", &tuyen_quang, &["registry:read"]),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(field_of(&p), "area_id");
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    problem(
        register(
            &app,
            &officer,
            body("portal.cb", &cao_bang, &["registry:read"]),
        )
        .await,
        403,
    )
    .await;

    assert_eq!(
        count(&mut app.conn(), "SELECT count(*) AS n FROM clients"),
        0
    );
    let ok = register(
        &app,
        &admin,
        body("portal.caobang", &cao_bang, &["registry:read"]),
    )
    .await;
    assert_eq!(ok.status(), 201);
    let p = problem(
        register(
            &app,
            &admin,
            body("portal.caobang", &cao_bang, &["registry:read"]),
        )
        .await,
        409,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("taken"));
    // The province's admin does not see a client of another area.
    let tq = register(
        &app,
        &admin,
        body("portal.tq", &tuyen_quang, &["registry:read"]),
    )
    .await;
    let tq: Value = tq.json().await.unwrap();
    let path = format!("/api/v1/clients/{}", tq["client"]["id"].as_str().unwrap());
    problem(app.get(&path, &province_admin).await, 404).await;
    let theirs: Value = app
        .get("/api/v1/clients", &province_admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_client_over_its_rate_is_answered_429_with_ratelimit_headers() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let mut b = body("portal.caobang", &area_id(&app, "04"), &["registry:read"]);
    b["rate_limit_per_minute"] = json!(5);
    let created: Value = register(&app, &admin, b).await.json().await.unwrap();
    let access = access(
        &app,
        "portal.caobang",
        created["client_secret"].as_str().unwrap(),
    )
    .await;
    for left in (0..5).rev() {
        let res = app.get("/api/v1/teams", &access).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["ratelimit-policy"], "\"client\";q=5;w=60");
        let now = res.headers()["ratelimit"].to_str().unwrap().to_string();
        assert!(now.starts_with(&format!("\"client\";r={left};t=")), "{now}");
    }
    let res = app.get("/api/v1/teams", &access).await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=12).contains(&retry),
        "one request comes back every 12 s: {retry}"
    );
    assert!(
        res.headers()["ratelimit"]
            .to_str()
            .unwrap()
            .starts_with("\"client\";r=0;")
    );
    let p = problem(res, 429).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("5 requests a minute")
    );
    // Accounts are not rate limited this way.
    let res = app.get("/api/v1/teams", &admin).await;
    assert!(res.headers().get("ratelimit").is_none());
}

#[actix_web::test]
async fn a_rotated_secret_keeps_working_for_its_grace_and_a_revoked_client_stops_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let created: Value = register(
        &app,
        &admin,
        body("portal.caobang", &area_id(&app, "04"), &["registry:read"]),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = created["client"]["id"].as_str().unwrap().to_string();
    let first = created["client_secret"].as_str().unwrap().to_string();

    let rotate = |grace: Value| {
        let (app, admin, id) = (&app, &admin, &id);
        async move {
            let res = app
                .post_json(&format!("/api/v1/clients/{id}/rotate"), Some(admin), &grace)
                .await;
            assert_eq!(res.status(), 200);
            let v: Value = res.json().await.unwrap();
            (v["client_secret"].as_str().unwrap().to_string(), v)
        }
    };
    let (second, answer) = rotate(json!({ "grace_hours": 2 })).await;
    assert_ne!(second, first);
    assert!(answer["client"]["previous_secret_valid_until"].is_string());
    assert_eq!(token(&app, "portal.caobang", &second).await.status(), 200);
    assert_eq!(
        token(&app, "portal.caobang", &first).await.status(),
        200,
        "within its grace"
    );
    let (third, _) = rotate(json!({ "grace_hours": 0 })).await;
    problem(token(&app, "portal.caobang", &second).await, 401).await;
    problem(token(&app, "portal.caobang", &first).await, 401).await;
    let p = problem(
        app.post_json(
            &format!("/api/v1/clients/{id}/rotate"),
            Some(&admin),
            &json!({ "grace_hours": 500 }),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "grace_hours");
    // A body that is there but bad is refused, never read as no body: the
    // secret stays as it was.
    for (bad, field) in [
        (json!({ "grace_hours": "two" }), "grace_hours"),
        (json!({ "grace": 2 }), "grace"),
        (json!([2]), "body"),
    ] {
        let res = app
            .post_json(&format!("/api/v1/clients/{id}/rotate"), Some(&admin), &bad)
            .await;
        let p = problem(res, 422).await;
        assert_eq!(p["errors"][0]["field"], field, "{bad}");
    }
    assert_eq!(token(&app, "portal.caobang", &third).await.status(), 200);
    // No body at all, or `null`, is the default grace of 24 hours.
    for body in [None, Some("null")] {
        let mut req = app
            .client
            .post(app.url(&format!("/api/v1/clients/{id}/rotate")))
            .bearer_auth(&admin);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200, "{body:?}");
        let v: Value = res.json().await.unwrap();
        let until = chrono::DateTime::parse_from_rfc3339(
            v["client"]["previous_secret_valid_until"].as_str().unwrap(),
        )
        .unwrap();
        let hours = (until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
        assert!((23 * 60..=24 * 60).contains(&hours), "{body:?}: {hours}");
        let third = v["client_secret"].as_str().unwrap().to_string();
        assert_eq!(token(&app, "portal.caobang", &third).await.status(), 200);
    }
    let third = {
        let res = app
            .post_json(
                &format!("/api/v1/clients/{id}/rotate"),
                Some(&admin),
                &json!({ "grace_hours": 0 }),
            )
            .await;
        assert_eq!(res.status(), 200);
        let v: Value = res.json().await.unwrap();
        v["client_secret"].as_str().unwrap().to_string()
    };

    let held = access(&app, "portal.caobang", &third).await;
    assert_eq!(app.get("/api/v1/teams", &held).await.status(), 200);
    let revoke = |reason: Value| {
        let (app, admin, id) = (&app, &admin, &id);
        async move {
            app.post_json(
                &format!("/api/v1/clients/{id}/revoke"),
                Some(admin),
                &reason,
            )
            .await
        }
    };
    let p = problem(revoke(json!({})).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "reason");
    let res = revoke(json!({ "reason": "Cổng cũ ngừng hoạt động" })).await;
    assert_eq!(res.status(), 200);
    let revoked: Value = res.json().await.unwrap();
    assert_eq!(revoked["active"], false);
    assert!(revoked["revoked_at"].is_string());
    // The token it held stops at once; it gets no new one.
    problem(app.get("/api/v1/teams", &held).await, 401).await;
    problem(token(&app, "portal.caobang", &third).await, 401).await;
    problem(revoke(json!({ "reason": "again" })).await, 409).await;

    let mut conn = app.conn();
    let events = "SELECT count(*) AS n FROM audit_events WHERE entity = 'client' \
                  AND action IN ('rotate_secret', 'revoke')";
    assert_eq!(
        count(&mut conn, events),
        6,
        "five rotations and a revocation"
    );
    let leaked = format!(
        "SELECT count(*) AS n FROM audit_events WHERE after::text LIKE '%{third}%' OR before::text LIKE '%{third}%'"
    );
    assert_eq!(count(&mut conn, &leaked), 0, "no secret in the trail");
}

#[actix_web::test]
async fn the_command_line_creates_lists_rotates_and_revokes_clients() {
    let app = TestApp::spawn().await;
    let run = |args: &[&str]| {
        let out = banso(Some(&app.db)).args(args).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let (ok, text) = run(&[
        "client",
        "create",
        "--client-id",
        "portal.caobang",
        "--name",
        "Cổng Cao Bằng",
        "--area",
        "04",
        "--scopes",
        "registry:read,activities:write",
        "--rate-per-minute",
        "120",
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("registry:read, activities:write"), "{text}");
    let secret = text
        .lines()
        .find_map(|l| l.strip_prefix("its secret, shown only this once: "))
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(token(&app, "portal.caobang", &secret).await.status(), 200);

    let (ok, text) = run(&[
        "client",
        "create",
        "--client-id",
        "portal.x",
        "--name",
        "X",
        "--area",
        "04",
        "--scopes",
        "everything",
    ]);
    assert!(
        !ok && text.contains("unknown scope \"everything\""),
        "{text}"
    );

    let (ok, text) = run(&["client", "list"]);
    assert!(
        ok && text.contains("portal.caobang\tactive\tregistry:read,activities:write\t120/min"),
        "{text}"
    );

    let (ok, text) = run(&[
        "client",
        "rotate",
        "--client-id",
        "portal.caobang",
        "--grace-hours",
        "0",
    ]);
    assert!(ok, "{text}");
    problem(token(&app, "portal.caobang", &secret).await, 401).await;
    let new_secret = text
        .lines()
        .find_map(|l| {
            l.split_once("shown only this once: ")
                .map(|(_, s)| s.trim().to_string())
        })
        .unwrap();
    let held = access(&app, "portal.caobang", &new_secret).await;

    let (ok, text) = run(&[
        "client",
        "revoke",
        "--client-id",
        "portal.caobang",
        "--reason",
        "thử nghiệm xong",
    ]);
    assert!(ok, "{text}");
    // Another process revoked it: this instance hears of it through the
    // database and refuses the token it had admitted.
    let mut refused = false;
    for _ in 0..50 {
        if app.get("/api/v1/teams", &held).await.status() == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(refused, "the revoked client's token is refused within 5 s");
    let (ok, text) = run(&[
        "client",
        "revoke",
        "--client-id",
        "no.such",
        "--reason",
        "x",
    ]);
    assert!(
        !ok && text.contains("no client has the id no.such"),
        "{text}"
    );
}

#[actix_web::test]
async fn a_client_with_activities_write_records_visits_as_a_team_would() {
    let app = TestApp::spawn().await;
    let w = crate::activities::world(&app).await;
    let cao_bang = w.cao_bang.id.to_string();
    let writer: Value = register(
        &app,
        &w.admin,
        body(
            "app.vneid",
            &cao_bang,
            &["activities:read", "activities:write"],
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    let reader: Value = register(
        &app,
        &w.admin,
        body("portal.read", &cao_bang, &["activities:read"]),
    )
    .await
    .json()
    .await
    .unwrap();
    let client_uuid = writer["client"]["id"].as_str().unwrap().to_string();
    let writer = access(&app, "app.vneid", writer["client_secret"].as_str().unwrap()).await;
    let reader = access(
        &app,
        "portal.read",
        reader["client_secret"].as_str().unwrap(),
    )
    .await;

    let mut visit = crate::activities::visit(&w.house_a, "2025-11-03");
    visit["member_ids"] = json!([w.member_a]);
    let res = app
        .post_json("/api/v1/assistances", Some(&writer), &visit)
        .await;
    assert_eq!(res.status(), 201);
    let stored: Value = res.json().await.unwrap();
    assert_eq!(stored["recorded_by"], client_uuid.as_str());
    assert_eq!(stored["team_id"], w.team_a.as_str());
    // A resend is stored once.
    let again = app
        .post_json("/api/v1/assistances", Some(&writer), &visit)
        .await;
    assert_eq!(again.headers()["idempotent-replay"], "true");
    // The same checks as a team's: a household outside its area is refused.
    let outside = crate::activities::visit(&w.house_far, "2025-11-03");
    let res = app
        .post_json("/api/v1/assistances", Some(&writer), &outside)
        .await;
    assert!(
        matches!(res.status().as_u16(), 403 | 404 | 422),
        "{}",
        res.status()
    );
    // It corrects its own record, and never verifies.
    let path = format!("/api/v1/assistances/{}", stored["id"].as_str().unwrap());
    let res = crate::helpers::patch(
        &app,
        &writer,
        &path,
        Some("\"1\""),
        &json!({ "notes": "Đã cài VNeID" }),
    )
    .await;
    assert_eq!(res.status(), 200);
    problem(
        app.post_json(&format!("{path}/verify"), Some(&writer), &json!({}))
            .await,
        403,
    )
    .await;
    problem(crate::helpers::delete(&app, &writer, &path).await, 403).await;
    // Without the scope, no writing.
    let mut other = crate::activities::visit(&w.house_a, "2025-11-04");
    other["member_ids"] = json!([w.member_a]);
    let p = problem(
        app.post_json("/api/v1/assistances", Some(&reader), &other)
            .await,
        403,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("activities:write"));

    let mut conn = app.conn();
    let by_client = format!(
        "SELECT count(*) AS n FROM assistances WHERE recorded_by = '{client_uuid}' AND notes = 'Đã cài VNeID'"
    );
    assert_eq!(count(&mut conn, &by_client), 1);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM assistances"), 1);
    let audited = format!(
        "SELECT count(*) AS n FROM audit_events WHERE actor_kind = 'client' \
         AND actor_id = '{client_uuid}' AND entity = 'assistance' AND action IN ('create', 'update')"
    );
    assert_eq!(count(&mut conn, &audited), 2);
    // A recorder that is neither an account nor a client is refused by the
    // database itself.
    let bad = diesel::RunQueryDsl::execute(
        diesel::sql_query(
            "UPDATE assistances SET recorded_by = '0190a000-0000-7000-8000-000000000000'",
        ),
        &mut conn,
    );
    assert!(bad.is_err());
}
