//! Reports read from a real streaming replica (`DATABASE_READ_URL`): a
//! hot standby made with `pg_basebackup -R` from a primary of this test's
//! own. A replica that keeps up answers, and says so; one whose replay is
//! paused answers with its older figures and `as_of` when the allowed lag
//! is long, and the primary answers when it is short.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use banso::db::embedded::{Options, find_bin_dir};
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{PASSWORD, count, own_cluster, temp_dir, test_settings};

/// Starts a server over `url` reading reports from `read_url`, with the
/// signing keys in `keys`.
fn server(url: &str, keys: &std::path::Path, read_url: &str, max_lag_ms: &str) -> String {
    let settings = test_settings(
        url,
        keys,
        &[
            ("DATABASE_READ_URL", read_url),
            ("BANSO_READ_MAX_LAG_MS", max_lag_ms),
        ],
    );
    let tokens = banso::auth::tokens::TokenService::new(
        &banso::auth::tokens::load_keys(keys).unwrap(),
        &settings.issuer,
        &settings.audience,
        settings.access_token_ttl,
    )
    .unwrap();
    let pool = banso::db::build_pool(url, &settings);
    let app = banso::startup::Application::build(settings, pool, tokens).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    base
}

async fn send(client: &reqwest::Client, req: reqwest::RequestBuilder) -> Value {
    let res = client.execute(req.build().unwrap()).await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    assert!(status.is_success(), "{status} {text}");
    serde_json::from_str(&text).unwrap()
}

/// The summary's visits (submitted and verified), where it was read and
/// how far behind the replica was.
async fn visits(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    unit: Uuid,
) -> (i64, String, Option<u64>, Value) {
    let res = client
        .get(format!(
            "{base}/api/v1/reports/summary?unit_id={unit}&from=2025-01-01&to=2025-12-31&status=all"
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let from = res.headers()["x-read-from"].to_str().unwrap().to_string();
    let lag = res
        .headers()
        .get("x-replica-lag-ms")
        .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    let body: Value = res.json().await.unwrap();
    (body["totals"]["visits"].as_i64().unwrap(), from, lag, body)
}

#[actix_web::test]
async fn reports_read_from_a_streaming_replica_and_say_how_far_behind_it_is() {
    let root = temp_dir("primary-pg");
    let replica_root = temp_dir("replica-pg");
    let keys = temp_dir("replica-keys");
    // Declared first, so dropped last: after both clusters have stopped.
    let _cleanup = Cleanup(vec![root.clone(), replica_root.clone(), keys.clone()]);
    let fast = Options {
        ephemeral: true,
        ..Default::default()
    };
    let primary = own_cluster(&root, fast.clone()).await;
    primary.ensure_database("banso").unwrap();
    let url = primary.url("banso");
    let mut conn = PgConnection::establish(&url).unwrap();
    let (commune, village) = crate::helpers::prepare_own_database(&mut conn);

    // The standby: a base backup of the primary that follows it (-R), run
    // by the user that runs the primary.
    let owner = std::fs::metadata(root.join("data")).unwrap();
    std::os::unix::fs::chown(&replica_root, Some(owner.uid()), Some(owner.gid())).unwrap();
    let bin = find_bin_dir().unwrap();
    let mut backup = std::process::Command::new(bin.join("pg_basebackup"));
    backup
        .arg("-D")
        .arg(replica_root.join("data"))
        .args(["-R", "-X", "stream", "-c", "fast", "-U", "postgres", "-h"])
        .arg(root.join("run"));
    if unsafe { libc::geteuid() } == 0 {
        backup.uid(owner.uid()).gid(owner.gid());
    }
    let out = backup.output().unwrap();
    assert!(
        out.status.success(),
        "pg_basebackup: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replica = own_cluster(&replica_root, fast).await;
    let read_url = replica.url("banso");
    let mut standby = PgConnection::establish(&read_url).unwrap();
    assert_eq!(
        count(
            &mut standby,
            "SELECT count(*) AS n FROM (SELECT 1 WHERE pg_is_in_recovery()) s"
        ),
        1,
        "the replica is a standby"
    );

    // Two instances over the same databases and keys: one allows a second
    // of lag, the other ten minutes.
    let strict = server(&url, &keys, &read_url, "1000");
    let lenient = server(&url, &keys, &read_url, "600000");
    let client = reqwest::Client::new();
    let login: Value = send(
        &client,
        client
            .post(format!("{strict}/api/v1/auth/login"))
            .json(&json!({ "username": "admin", "password": PASSWORD })),
    )
    .await;
    let token = login["access_token"].as_str().unwrap().to_string();
    let post = |path: &str, body: Value| {
        client
            .post(format!("{strict}/api/v1/{path}"))
            .bearer_auth(&token)
            .json(&body)
    };
    send(
        &client,
        post(
            "teams",
            json!({ "village_id": village.id, "name": "Tổ CNS Nà Pình", "founded_on": "2022-05-01" }),
        ),
    )
    .await;
    let household = send(
        &client,
        post(
            "households",
            json!({ "village_id": village.id, "head_name": "Nông Văn Páo", "size": 4,
                    "poverty_status": "poor", "confirm_new": true }),
        ),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let visit = |on: &str| {
        post(
            "assistances",
            json!({ "id": Uuid::new_v4(), "household_id": household, "visited_on": on,
                    "help": [{ "kind": "vneid", "outcome": "done" }] }),
        )
    };
    send(&client, visit("2025-10-02")).await;

    // Once the standby has replayed the visit, it answers.
    let on_standby = |conn: &mut PgConnection| count(conn, "SELECT count(*) AS n FROM assistances");
    let deadline = Instant::now() + Duration::from_secs(30);
    while on_standby(&mut standby) < 1 {
        assert!(
            Instant::now() < deadline,
            "the standby never replayed the visit"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (n, from, lag, _) = visits(&client, &strict, &token, commune.id).await;
    assert_eq!((n, from.as_str()), (1, "replica"));
    assert!(lag.is_some(), "the replica's lag is given");

    // Replay stops: the primary moves on, the standby does not.
    diesel::sql_query("SELECT pg_wal_replay_pause()")
        .execute(&mut standby)
        .unwrap();
    let paused = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    send(&client, visit("2025-10-03")).await;
    let primary_count =
        |conn: &mut PgConnection| count(conn, "SELECT count(*) AS n FROM assistances");
    assert_eq!(primary_count(&mut conn), 2);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(on_standby(&mut standby), 1, "the standby is behind");

    // Past the allowed second, the primary answers, and says how far
    // behind the replica was.
    let (n, from, lag, body) = visits(&client, &strict, &token, commune.id).await;
    assert_eq!((n, from.as_str()), (2, "primary"), "{body}");
    assert!(lag.unwrap() >= 1000, "lag {lag:?}");

    // With ten minutes allowed, the replica answers with what it has, true
    // as of the last transaction it replayed, before replay paused.
    let (n, from, lag, body) = visits(&client, &lenient, &token, commune.id).await;
    assert_eq!((n, from.as_str()), (1, "replica"), "{body}");
    assert!(lag.unwrap() >= 1000, "lag {lag:?}");
    let as_of: chrono::DateTime<chrono::Utc> = body["as_of"].as_str().unwrap().parse().unwrap();
    assert!(
        as_of <= paused,
        "as_of {as_of} is before replay paused at {paused}"
    );

    // Replay resumes and the replica catches up.
    diesel::sql_query("SELECT pg_wal_replay_resume()")
        .execute(&mut standby)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (n, from, _, _) = visits(&client, &strict, &token, commune.id).await;
        if (n, from.as_str()) == (2, "replica") {
            break;
        }
        assert!(Instant::now() < deadline, "the replica never caught up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    drop(standby);
    drop(conn);
    drop(replica);
    drop(primary);
}

/// Removes the test's folders when it ends, passed or not.
struct Cleanup(Vec<std::path::PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for dir in &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
