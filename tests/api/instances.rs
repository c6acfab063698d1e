//! Two `banso serve` processes on one database, as behind a load balancer:
//! sessions end on both at once, idempotent creates and month locks hold
//! across both, the background work (the audit linker, checkpoints) runs
//! once, and each names itself in `/metrics`.

use std::collections::HashSet;
use std::process::Child;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cli::{metrics_text, serve_beside, sigterm};
use crate::helpers::{PASSWORD, TestApp, count, temp_dir};
use crate::resends::field;

struct Instance {
    child: Child,
    addr: String,
    data: std::path::PathBuf,
}

fn start(app: &TestApp, name: &str) -> Instance {
    let data = temp_dir("instance");
    let (child, addr, _, _) = serve_beside(
        app,
        &[
            ("BANSO_INSTANCE", name),
            ("BANSO_DATA_DIR", data.to_str().unwrap()),
        ],
    );
    Instance { child, addr, data }
}

async fn login(client: &reqwest::Client, at: &Instance, username: &str) -> Value {
    let res = client
        .post(format!("{}/api/v1/auth/login", at.addr))
        .json(&json!({ "username": username, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn me(client: &reqwest::Client, at: &Instance, token: &str) -> u16 {
    client
        .get(format!("{}/api/v1/me", at.addr))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn checkpoints(dir: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("audit/checkpoints.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[actix_web::test]
async fn two_instances_on_one_database_act_as_one_service() {
    let app = TestApp::spawn().await;
    let f = field(&app).await;
    let a = start(&app, "banso-a");
    let b = start(&app, "banso-b");
    let client = reqwest::Client::new();

    // A session ended on one is ended on the other at once: by logout on
    // a, by deactivation on b.
    let session = login(&client, &a, "totruong.napinh").await;
    let access = session["access_token"].as_str().unwrap();
    assert_eq!(me(&client, &b, access).await, 200);
    let res = client
        .post(format!("{}/api/v1/auth/logout", a.addr))
        .json(&json!({ "refresh_token": session["refresh_token"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(me(&client, &b, access).await, 401);
    let officer_id = app
        .create_user("canbo.thucphan", "officer", Some("01273"))
        .await;
    let officer = login(&client, &a, "canbo.thucphan").await;
    let officer = officer["access_token"].as_str().unwrap().to_string();
    assert_eq!(me(&client, &a, &officer).await, 200);
    let res = client
        .patch(format!("{}/api/v1/users/{officer_id}", b.addr))
        .bearer_auth(&f.admin)
        .json(&json!({ "active": false, "version": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(me(&client, &a, &officer).await, 401);

    // The same record sent to both at once is stored once, and both
    // answer it.
    let leader = login(&client, &b, "totruong.napinh").await;
    let leader = leader["access_token"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for day in 1..=10 {
        let id = uuid::Uuid::new_v4();
        ids.push(id);
        let body = json!({
            "id": id,
            "household_id": f.household,
            "visited_on": format!("2025-09-{day:02}"),
            "member_ids": [f.member],
            "help": [{ "kind": "vneid", "outcome": "done" }],
        });
        let send = |at: &Instance| {
            client
                .post(format!("{}/api/v1/assistances", at.addr))
                .bearer_auth(&leader)
                .json(&body)
                .send()
        };
        let (ra, rb) = tokio::join!(send(&a), send(&b));
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        let statuses = [ra.status().as_u16(), rb.status().as_u16()];
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 201) && statuses.contains(&201),
            "{statuses:?}"
        );
        let (va, vb): (Value, Value) = (ra.json().await.unwrap(), rb.json().await.unwrap());
        assert_eq!(va, vb);
    }
    let list: Vec<String> = ids.iter().map(|i| format!("'{i}'")).collect();
    assert_eq!(
        count(
            &mut app.conn(),
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE id IN ({})",
                list.join(",")
            )
        ),
        10
    );
    assert_eq!(
        count(
            &mut app.conn(),
            &format!(
                "SELECT count(*) AS n FROM audit_events WHERE entity = 'assistance' AND action = 'create' AND entity_id IN ({})",
                list.join(",")
            )
        ),
        10
    );

    // A month locked on a refuses a record of it on b.
    let res = client
        .post(format!(
            "{}/api/v1/periods/{}/2025-10/lock",
            a.addr, f.commune.id
        ))
        .bearer_auth(&f.admin)
        .json(&json!({ "force": true, "reason": "Hết hạn báo cáo" }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let res = client
        .post(format!("{}/api/v1/assistances", b.addr))
        .bearer_auth(&leader)
        .json(&json!({
            "id": uuid::Uuid::new_v4(),
            "household_id": f.household,
            "visited_on": "2025-10-15",
            "member_ids": [f.member],
            "help": [{ "kind": "vneid", "outcome": "done" }],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(
        count(
            &mut app.conn(),
            "SELECT count(*) AS n FROM assistances WHERE visited_on = '2025-10-15'"
        ),
        0
    );

    // Each instance names itself in /metrics.
    for (at, name) in [(&a, "banso-a"), (&b, "banso-b")] {
        let text = metrics_text(&client, &at.addr).await;
        let info = text
            .lines()
            .find(|l| l.starts_with("banso_instance_info{"))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(info.contains(&format!("instance=\"{name}\"")), "{info}");
    }

    // The linkers of three servers (a, b and the test's own) linked every
    // event once: one chain, numbered without gaps or repeats.
    let res = client
        .get(format!("{}/api/v1/audit/verify", b.addr))
        .bearer_auth(&f.admin)
        .send()
        .await
        .unwrap();
    let verdict: Value = res.json().await.unwrap();
    assert_eq!(verdict["ok"], true, "{verdict}");
    let mut conn = app.conn();
    let events = count(
        &mut conn,
        "SELECT count(*) AS n FROM audit_events WHERE seq IS NOT NULL",
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(DISTINCT seq) AS n FROM audit_events"
        ),
        events
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT coalesce(max(seq), 0) AS n FROM audit_events"
        ),
        events
    );

    // Checkpoints: one per period across the instances, whichever wrote
    // it; the database knows the newest.
    let dirs = [
        a.data.clone(),
        b.data.clone(),
        app.settings.data_dir.clone(),
    ];
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while dirs.iter().all(|d| checkpoints(d).is_empty()) {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint written"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    // A few more passes of every linker.
    actix_web::rt::time::sleep(Duration::from_secs(2)).await;
    let mut all: Vec<Value> = dirs.iter().flat_map(|d| checkpoints(d)).collect();
    all.sort_by_key(|c| c["seq"].as_i64());
    let seqs: HashSet<i64> = all.iter().filter_map(|c| c["seq"].as_i64()).collect();
    assert_eq!(seqs.len(), all.len(), "a checkpoint written twice: {all:?}");
    for pair in all.windows(2) {
        let at =
            |c: &Value| chrono::DateTime::parse_from_rfc3339(c["at"].as_str().unwrap()).unwrap();
        assert!(
            at(&pair[1]) - at(&pair[0]) >= chrono::Duration::seconds(59),
            "checkpoints closer than a period: {all:?}"
        );
    }
    let newest = all.last().unwrap()["seq"].as_i64().unwrap();
    assert_eq!(
        count(
            &mut conn,
            "SELECT value::bigint AS n FROM app_meta WHERE key = 'audit_checkpoint_seq'"
        ),
        newest
    );

    for mut at in [a, b] {
        sigterm(&at.child);
        assert!(at.child.wait().unwrap().success());
        let _ = std::fs::remove_dir_all(&at.data);
    }
}
