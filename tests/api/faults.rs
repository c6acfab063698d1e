//! PostgreSQL restarts while phones are writing: requests during the outage
//! get 503 with Retry-After, the service recovers by itself, every write
//! answered 2xx is stored, none twice, and retrying the unanswered ones with
//! the same ids stores each once.

use std::time::{Duration, Instant};

use banso::db::embedded::Options;
use diesel::{Connection, PgConnection};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{PASSWORD, count, own_cluster, temp_dir, test_settings};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    Stored,
    Unavailable,
    /// No HTTP answer at all (never expected: the service stays up).
    Lost,
}

#[actix_web::test]
async fn a_database_restart_loses_no_answered_write_and_stores_none_twice() {
    // A cluster of this test's own, so restarting it disturbs no other test.
    let root = temp_dir("faults-pg");
    let durable = Options {
        ephemeral: false,
        ..Default::default()
    };
    let pg = own_cluster(&root, durable.clone()).await;
    pg.ensure_database("banso").unwrap();
    let url = pg.url("banso");
    let mut conn = PgConnection::establish(&url).unwrap();
    let (_, village) = crate::helpers::prepare_own_database(&mut conn);
    drop(conn);

    let keys = temp_dir("faults-keys");
    let settings = test_settings(
        &url,
        &keys,
        &[("BANSO_POOL_TIMEOUT_MS", "500"), ("BANSO_WORKERS", "2")],
    );
    let tokens = banso::auth::tokens::TokenService::new(
        &banso::auth::tokens::load_keys(&keys).unwrap(),
        &settings.issuer,
        &settings.audience,
        settings.access_token_ttl,
    )
    .unwrap();
    let pool = banso::db::build_pool(&url, &settings);
    let app = banso::startup::Application::build(settings, pool, tokens).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    let login = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "username": "admin", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let token = login.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let team: serde_json::Value = client
        .post(format!("{base}/api/v1/teams"))
        .bearer_auth(&token)
        .json(&json!({ "village_id": village.id, "name": "Tổ CNSCĐ Nà Pình" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(team["id"].is_string(), "{team}");
    let household: serde_json::Value = client
        .post(format!("{base}/api/v1/households"))
        .bearer_auth(&token)
        .json(&json!({ "village_id": village.id, "head_name": "Nông Văn Dũng", "size": 4, "poverty_status": "poor" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let household_id = household["id"].as_str().unwrap().to_string();

    let visit = |id: Uuid| {
        json!({
            "id": id, "household_id": household_id, "visited_on": "2026-11-01",
            "help": [{ "kind": "vneid", "outcome": "done" }],
        })
    };
    let send = |id: Uuid| {
        let req = client
            .post(format!("{base}/api/v1/assistances"))
            .bearer_auth(&token)
            .json(&visit(id));
        async move {
            match req.send().await {
                Ok(res) if res.status().is_success() => Answer::Stored,
                Ok(res) if res.status() == 503 => {
                    assert!(
                        res.headers().get("retry-after").is_some(),
                        "503 without Retry-After"
                    );
                    Answer::Unavailable
                }
                Ok(res) => panic!(
                    "unexpected {}: {}",
                    res.status(),
                    res.text().await.unwrap_or_default()
                ),
                Err(_) => Answer::Lost,
            }
        }
    };

    // Writers run through a restart: stop after a moment, start again 2 s later.
    let restart = actix_web::rt::spawn({
        let mut pg = pg;
        let root = root.clone();
        async move {
            actix_web::rt::time::sleep(Duration::from_millis(400)).await;
            let pg = actix_web::web::block(move || {
                pg.stop();
                pg
            })
            .await
            .unwrap();
            actix_web::rt::time::sleep(Duration::from_secs(2)).await;
            drop(pg);
            own_cluster(&root, durable).await
        }
    });
    let mut sent: Vec<(Uuid, Answer)> = Vec::new();
    let began = Instant::now();
    while began.elapsed() < Duration::from_secs(6) {
        let id = Uuid::new_v4();
        sent.push((id, send(id).await));
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let pg = restart.await.unwrap();

    // It recovers by itself: with no restart of the service, a new write
    // is stored once the database is back (however slowly it came back).
    let began = Instant::now();
    loop {
        let id = Uuid::new_v4();
        let answer = send(id).await;
        sent.push((id, answer));
        if answer == Answer::Stored {
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "no recovery after the restart"
        );
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }

    let stored: Vec<Uuid> = sent
        .iter()
        .filter(|(_, a)| *a == Answer::Stored)
        .map(|(id, _)| *id)
        .collect();
    let unanswered: Vec<Uuid> = sent
        .iter()
        .filter(|(_, a)| *a != Answer::Stored)
        .map(|(id, _)| *id)
        .collect();
    assert!(
        sent.iter().any(|(_, a)| *a == Answer::Unavailable),
        "the outage was never seen: {:?}",
        sent.iter().map(|(_, a)| *a).collect::<Vec<_>>()
    );
    assert!(
        sent.iter().all(|(_, a)| *a != Answer::Lost),
        "the service itself stopped answering"
    );
    let mut conn = PgConnection::establish(&pg.url("banso")).unwrap();
    for id in &stored {
        assert_eq!(
            count(
                &mut conn,
                &format!("SELECT count(*) AS n FROM assistances WHERE id = '{id}'")
            ),
            1,
            "an answered write is missing"
        );
    }
    // The phone retries what got no 2xx, with the same ids, until stored.
    for id in &unanswered {
        let mut tries = 0;
        while send(*id).await != Answer::Stored {
            tries += 1;
            assert!(tries < 50, "a retry never succeeded");
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM assistances"),
        sent.len() as i64,
        "each write stored once"
    );
    assert_eq!(
        count(&mut conn, "SELECT count(DISTINCT id) AS n FROM assistances"),
        sent.len() as i64
    );
    drop(conn);
    drop(pg);
    let _ = std::fs::remove_dir_all(&root);
}
