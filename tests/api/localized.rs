//! A PostgreSQL server that speaks German: deadlocks and lock timeouts are
//! still answered 503 with `Retry-After`, and nothing is half stored.
//!
//! The machine has no generated locales but C, C.UTF-8 and POSIX
//! (`locale -a`), so `lc_messages` cannot be set to `de_DE.UTF-8`. It does
//! have PostgreSQL's German message catalogue, and with `lc_messages` set
//! to `C.UTF-8` glibc's gettext honours the server's `LANGUAGE` environment
//! (it ignores it only for the plain "C" locale): this test's own cluster
//! starts with `LANGUAGE=de`, its database is given `ALTER DATABASE … SET
//! lc_messages = 'C.UTF-8'`, and the test first shows that an ordinary
//! session there gets German messages.

use std::time::{Duration, Instant};

use banso::db::embedded::{EmbeddedPostgres, Options};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, count, own_cluster, start_server, temp_dir, test_settings};

struct Server {
    base: String,
    url: String,
    client: reqwest::Client,
    token: String,
    village: uuid::Uuid,
    _pg: EmbeddedPostgres,
}

async fn german_server() -> Server {
    let root = temp_dir("de-pg");
    let pg = own_cluster(
        &root,
        Options {
            ephemeral: true,
            env: vec![("LANGUAGE".into(), "de".into())],
        },
    )
    .await;
    pg.ensure_database("banso").unwrap();
    let url = pg.url("banso");
    let mut conn = PgConnection::establish(&url).unwrap();
    // Sessions of this database take `C.UTF-8` (initdb may have chosen
    // plain `C`, which ignores LANGUAGE); deadlock checks of the service's
    // sessions run after 3 s, so that the test's own waiting session (which
    // never checks) is never the victim.
    conn.batch_execute(
        "ALTER DATABASE banso SET lc_messages = 'C.UTF-8'; \
         ALTER DATABASE banso SET deadlock_timeout = '3s'",
    )
    .unwrap();
    drop(conn);
    let mut conn = PgConnection::establish(&url).unwrap();
    // The precondition: this server answers in German.
    let err = conn.batch_execute("SELECT 1/0").unwrap_err().to_string();
    assert!(
        err.contains("Division durch Null"),
        "the server's messages are not German ({err}); is PostgreSQL's German catalogue installed?"
    );
    let village = crate::helpers::prepare_own_database(&mut conn).1.id;
    drop(conn);

    let keys = temp_dir("de-keys");
    let settings = test_settings(&url, &keys, &[("BANSO_STATEMENT_TIMEOUT_MS", "1500")]);
    let (base, _handle) = start_server(&settings, &url);
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "username": "admin", "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_string();
    Server {
        base,
        url,
        client,
        token,
        village,
        _pg: pg,
    }
}

/// A household in the village.
async fn household(s: &Server) -> String {
    let res = s
        .client
        .post(format!("{}/api/v1/households", s.base))
        .bearer_auth(&s.token)
        .json(&json!({ "village_id": s.village, "head_name": "Nông Văn Dũng", "size": 4, "poverty_status": "poor" }))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

fn patch(s: &Server, id: &str) -> impl std::future::Future<Output = reqwest::Response> + use<> {
    let req = s
        .client
        .patch(format!("{}/api/v1/households/{id}", s.base))
        .bearer_auth(&s.token)
        .json(&json!({ "size": 5, "version": 1 }));
    async move { req.send().await.unwrap() }
}

/// Waits until a session of the service waits for a lock while inserting
/// its audit event.
fn wait_for_waiter(url: &str, what: &str) {
    let mut conn = PgConnection::establish(url).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let sql = format!(
        "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE wait_event_type = 'Lock' AND query ILIKE '%{what}%' AND pid <> pg_backend_pid()"
    );
    while count(&mut conn, &sql) == 0 {
        assert!(Instant::now() < deadline, "no session waited for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn assert_retry_later(res: reqwest::Response) {
    assert_eq!(res.status(), 503);
    assert!(res.headers().get("retry-after").is_some());
    let ctype = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("application/problem+json"), "{ctype}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "/problems/unavailable", "{body}");
}

fn stored_size(url: &str, id: &str) -> i64 {
    let mut conn = PgConnection::establish(url).unwrap();
    count(
        &mut conn,
        &format!("SELECT size::bigint AS n FROM households WHERE id = '{id}' AND version = 1"),
    )
}

#[actix_web::test]
async fn a_deadlock_on_a_german_server_is_503_and_stores_nothing() {
    let s = german_server().await;
    let id = household(&s).await;
    let url = s.url.clone();
    let hid = id.clone();
    // The test's session holds the audit trail against inserts; the PATCH
    // locks the household and then waits for the trail; the test's session
    // then asks for the household: a cycle, which PostgreSQL breaks by
    // aborting the PATCH's transaction (SQLSTATE 40P01).
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let other = std::thread::spawn(move || {
        let mut conn = PgConnection::establish(&url).unwrap();
        conn.batch_execute(
            "BEGIN; SET LOCAL deadlock_timeout = '60s'; \
             LOCK TABLE audit_events IN EXCLUSIVE MODE",
        )
        .unwrap();
        locked_tx.send(()).unwrap();
        wait_for_waiter(&url, "audit_events");
        diesel::sql_query(format!(
            "SELECT 1 AS n FROM households WHERE id = '{hid}' FOR UPDATE"
        ))
        .execute(&mut conn)
        .unwrap();
        conn.batch_execute("ROLLBACK").unwrap();
    });
    locked_rx.recv().unwrap();
    let res = patch(&s, &id).await;
    assert_retry_later(res).await;
    other.join().unwrap();
    assert_eq!(stored_size(&s.url, &id), 4, "the household is as it was");

    // Sent again once the database is free, the same PATCH is stored.
    let res = patch(&s, &id).await;
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn a_lock_timeout_on_a_german_server_is_503() {
    let s = german_server().await;
    let id = household(&s).await;
    let mut conn = PgConnection::establish(&s.url).unwrap();
    conn.batch_execute(&format!(
        "BEGIN; SELECT 1 FROM households WHERE id = '{id}' FOR UPDATE"
    ))
    .unwrap();
    // The service's lock_timeout is 1.5 s here (BANSO_STATEMENT_TIMEOUT_MS).
    let res = patch(&s, &id).await;
    assert_retry_later(res).await;
    conn.batch_execute("ROLLBACK").unwrap();
    assert_eq!(stored_size(&s.url, &id), 4);
}
