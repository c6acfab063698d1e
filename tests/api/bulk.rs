//! Tests for bulk verify and reject: `POST /api/v1/{assistances|trainings}/verify`
//! and `/reject` with many ids, each answered on its own.

use diesel::connection::SimpleConnection;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::activities::{account, create_visit, n, training, visit, world};
use crate::helpers::{TestApp, fields, id_of, pairs, problem};

async fn results(res: reqwest::Response) -> Vec<Value> {
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    body["results"].as_array().unwrap().clone()
}

fn status_of(app: &TestApp, id: &str) -> (String, i64) {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        version: i32,
    }
    let r: Row = diesel::RunQueryDsl::get_result(
        diesel::sql_query(format!(
            "SELECT status, version FROM assistances WHERE id = '{id}' \
             UNION ALL SELECT status, version FROM trainings WHERE id = '{id}'"
        )),
        &mut app.conn(),
    )
    .unwrap();
    (r.status, i64::from(r.version))
}

fn events(app: &TestApp, action: &str) -> i64 {
    n(
        app,
        &format!("SELECT count(*) AS n FROM audit_events WHERE action = '{action}'"),
    )
}

#[actix_web::test]
async fn an_officer_verifies_many_visits_each_answered_on_its_own() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (_, officer) = account(&app, "canbo.caobang", "officer", Some("04")).await;
    let mut ids = Vec::new();
    for day in [
        "2025-11-01",
        "2025-11-02",
        "2025-11-03",
        "2025-11-04",
        "2025-11-05",
    ] {
        ids.push(id_of(
            &create_visit(&app, &w.admin, &visit(&w.house_a, day)).await,
        ));
    }
    let far = id_of(&create_visit(&app, &w.admin, &visit(&w.house_far, "2025-11-01")).await);
    // One already verified, one changed since the officer looked at it.
    let res = app
        .post_json(
            &format!("/api/v1/assistances/{}/verify", ids[3]),
            Some(&officer),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = crate::activities::patch(
        &app,
        &w.admin,
        &format!("/api/v1/assistances/{}", ids[4]),
        &json!({ "notes": "sửa lại", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let verified_before = events(&app, "verify");
    let unknown = Uuid::new_v4();

    let res = app
        .post_json(
            "/api/v1/assistances/verify",
            Some(&officer),
            &json!({ "ids": [
                ids[0],
                { "id": ids[1], "version": 1 },
                far,
                unknown,
                ids[3],
                { "id": ids[4], "version": 1 },
                ids[2],
                ids[0],
            ]}),
        )
        .await;
    let r = results(res).await;
    assert_eq!(r.len(), 8);
    for (i, a) in r.iter().enumerate() {
        assert_eq!(a["index"], i);
    }
    assert_eq!(r[0]["status"], "updated", "{}", r[0]);
    assert_eq!(r[0]["record"]["status"], "verified");
    assert_eq!(r[0]["record"]["version"], 2);
    assert_eq!(r[1]["status"], "updated");
    // Outside the area and unknown read the same.
    assert_eq!(r[2]["status"], "not_found");
    assert_eq!(r[2]["id"], far.as_str());
    assert!(r[2].get("record").is_none() && r[2].get("current").is_none());
    assert_eq!(r[3]["status"], "not_found");
    assert_eq!(r[4]["status"], "conflict");
    assert_eq!(r[4]["current"]["status"], "verified");
    assert!(r[4]["detail"].as_str().unwrap().contains("submitted"));
    // Stale: the current record comes back, and it is not verified.
    assert_eq!(r[5]["status"], "conflict");
    assert_eq!(r[5]["current"]["version"], 2);
    assert_eq!(r[5]["current"]["status"], "submitted");
    assert_eq!(r[6]["status"], "updated");
    // The same id again: changed once, answered again.
    assert_eq!(r[7]["status"], "updated");
    assert_eq!(r[7]["duplicate_of"], 0);
    assert_eq!(r[7]["record"], r[0]["record"]);

    assert_eq!(status_of(&app, &ids[0]), ("verified".into(), 2));
    assert_eq!(status_of(&app, &ids[1]), ("verified".into(), 2));
    assert_eq!(status_of(&app, &ids[2]), ("verified".into(), 2));
    assert_eq!(status_of(&app, &ids[3]), ("verified".into(), 2));
    assert_eq!(status_of(&app, &ids[4]), ("submitted".into(), 2));
    assert_eq!(status_of(&app, &far), ("submitted".into(), 1));
    // One event per record changed.
    assert_eq!(events(&app, "verify") - verified_before, 3);
    for id in &ids[..3] {
        assert_eq!(
            n(
                &app,
                &format!(
                    "SELECT count(*) AS n FROM audit_events WHERE action = 'verify' \
                     AND entity = 'assistance' AND entity_id = '{id}'"
                )
            ),
            1
        );
    }
}

#[actix_web::test]
async fn bulk_reject_needs_a_reason_and_a_checker() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (_, officer) = account(&app, "canbo.caobang", "officer", Some("04")).await;
    let leader = app
        .token_for(
            "totruong.napinh",
            "team_leader",
            Some(w.na_pinh.code.as_str()),
        )
        .await;
    let a = id_of(&create_visit(&app, &w.admin, &visit(&w.house_a, "2025-10-01")).await);
    let b = id_of(&create_visit(&app, &w.admin, &visit(&w.house_b, "2025-10-02")).await);
    let path = "/api/v1/assistances/reject";

    let res = app
        .post_json(path, Some(&officer), &json!({ "ids": [a, b] }))
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("reason", "required")])
    );
    let res = app
        .post_json(path, Some(&officer), &json!({ "ids": [a], "reason": "  " }))
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("reason", "required")])
    );
    let res = app
        .post_json(path, Some(&officer), &json!({ "ids": [], "reason": "x" }))
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("ids", "required")])
    );
    let many: Vec<Uuid> = (0..501).map(|_| Uuid::new_v4()).collect();
    let res = app
        .post_json(path, Some(&officer), &json!({ "ids": many, "reason": "x" }))
        .await;
    let body = problem(res, 422).await;
    assert_eq!(fields(&body), pairs(&[("ids", "too_many")]));
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("500")
    );
    let res = app
        .post_json(
            path,
            Some(&officer),
            &json!({ "ids": [a, "nope"], "reason": "x" }),
        )
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("ids[1]", "invalid")])
    );
    let res = app
        .post_json(path, Some(&officer), &json!({ "reason": "x" }))
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("ids", "required")])
    );
    let res = app
        .post_json(
            path,
            Some(&officer),
            &json!({ "ids": [{ "id": a, "version": 1 }, { "id": a, "version": 2 }], "reason": "x" }),
        )
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("ids[1]", "conflicting_versions")])
    );
    let res = app
        .post_json(path, Some(&leader), &json!({ "ids": [a], "reason": "x" }))
        .await;
    problem(res, 403).await;
    assert_eq!(status_of(&app, &a), ("submitted".into(), 1));
    assert_eq!(events(&app, "reject"), 0);

    // Exactly 500 are taken.
    let mut five_hundred: Vec<Value> = (0..498).map(|_| json!(Uuid::new_v4())).collect();
    five_hundred.push(json!(a));
    five_hundred.push(json!(b));
    let res = app
        .post_json(
            path,
            Some(&officer),
            &json!({ "ids": five_hundred, "reason": "Thiếu ảnh chụp" }),
        )
        .await;
    let r = results(res).await;
    assert_eq!(r.len(), 500);
    assert_eq!(r[499]["status"], "updated");
    assert_eq!(r[499]["record"]["status"], "rejected");
    assert_eq!(r[499]["record"]["status_reason"], "Thiếu ảnh chụp");
    assert_eq!(status_of(&app, &a), ("rejected".into(), 2));
    assert_eq!(status_of(&app, &b), ("rejected".into(), 2));
    assert_eq!(events(&app, "reject"), 2);
}

#[actix_web::test]
async fn bulk_verify_of_trainings_keeps_locked_months() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (_, officer) = account(&app, "canbo.caobang", "officer", Some("04")).await;
    let august = training(&w.team_a, "2025-08-10");
    let september = training(&w.team_a, "2025-09-10");
    for t in [&august, &september] {
        let res = app.post_json("/api/v1/trainings", Some(&w.admin), t).await;
        assert_eq!(res.status(), 201);
    }
    let res = app
        .post_json(
            &format!("/api/v1/periods/{}/2025-08/lock", w.thuc_phan.id),
            Some(&officer),
            &json!({ "reason": "Đã báo cáo", "force": true }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let res = app
        .post_json(
            "/api/v1/trainings/verify",
            Some(&officer),
            &json!({ "ids": [august["id"], september["id"]] }),
        )
        .await;
    let r = results(res).await;
    assert_eq!(r[0]["status"], "conflict");
    assert_eq!(r[0]["current"]["lock"]["month"], "2025-08");
    assert_eq!(r[1]["status"], "updated");
    assert_eq!(r[1]["record"]["status"], "verified");
    assert_eq!(status_of(&app, &id_of(&august)), ("submitted".into(), 1));
    assert_eq!(status_of(&app, &id_of(&september)), ("verified".into(), 2));
    assert_eq!(events(&app, "verify"), 1);
}

#[actix_web::test]
async fn a_bulk_call_that_fails_half_way_changes_nothing() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let mut ids = Vec::new();
    for day in ["2025-11-01", "2025-11-02", "2025-11-03"] {
        ids.push(id_of(
            &create_visit(&app, &w.admin, &visit(&w.house_a, day)).await,
        ));
    }
    let mut sorted = ids.clone();
    sorted.sort();
    // The database fails on the last record the call reaches (ids are
    // taken in order), after the others were changed.
    app.conn()
        .batch_execute(&format!(
            "CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'disk trouble' USING ERRCODE = '58030'; END $$; \
             CREATE TRIGGER fail_once BEFORE UPDATE ON assistances FOR EACH ROW \
             WHEN (OLD.id = '{}') EXECUTE FUNCTION fail_once();",
            sorted[2]
        ))
        .unwrap();
    let before = n(&app, "SELECT count(*) AS n FROM audit_events");
    let res = app
        .post_json(
            "/api/v1/assistances/verify",
            Some(&w.admin),
            &json!({ "ids": ids }),
        )
        .await;
    let body = problem(res, 500).await;
    assert!(!body.to_string().contains("disk trouble"), "{body}");
    for id in &ids {
        assert_eq!(status_of(&app, id), ("submitted".into(), 1));
    }
    assert_eq!(n(&app, "SELECT count(*) AS n FROM audit_events"), before);
}
