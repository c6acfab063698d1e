//! `banso backup` and `banso restore`: a backup restored into a fresh
//! cluster serves the same records and a chain that verifies against the
//! checkpoint signed before the backup; bad files and occupied databases
//! are refused and left as they were.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cli::{banso, json_lines, run_with_stdin, serve, sigterm};
use crate::helpers::contract::Client;
use crate::helpers::{PASSWORD, TestApp, TestDb, count, temp_dir};
use crate::resends::{field, stored};

/// Runs a command to its end: whether it succeeded, and what it said.
fn run(cmd: Command) -> (bool, String) {
    run_with_stdin(cmd, "")
}

fn backup(db: &TestDb, file: &Path) -> (bool, String) {
    let mut cmd = banso(Some(db));
    cmd.arg("backup").arg(file);
    run(cmd)
}

fn restore_into(db: &TestDb, file: &Path, replace: bool) -> (bool, String) {
    let mut cmd = banso(Some(db));
    cmd.arg("restore").arg(file);
    if replace {
        cmd.arg("--replace");
    }
    run(cmd)
}

/// What the tests compare between a database and its restored copy.
const TALLY: [&str; 7] = [
    "SELECT count(*) AS n FROM users",
    "SELECT count(*) AS n FROM teams",
    "SELECT count(*) AS n FROM members",
    "SELECT count(*) AS n FROM households",
    "SELECT count(*) AS n FROM assistances",
    "SELECT count(*) AS n FROM units",
    "SELECT count(*) AS n FROM audit_events",
];

fn tally(url: &str) -> Vec<i64> {
    let mut conn = <diesel::PgConnection as diesel::Connection>::establish(url).unwrap();
    TALLY.iter().map(|sql| count(&mut conn, sql)).collect()
}

async fn get_json(client: &Client, url: &str, token: &str) -> Value {
    let res = client.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), 200, "{url}");
    res.json().await.unwrap()
}

#[actix_web::test]
async fn a_backup_restored_into_a_fresh_cluster_serves_the_same_records() {
    let app = TestApp::spawn().await;
    let f = field(&app).await;
    let visit = stored(
        &app,
        &f.leader,
        "/api/v1/assistances",
        &json!({
            "id": uuid::Uuid::new_v4(),
            "household_id": f.household,
            "visited_on": "2025-10-10",
            "member_ids": [f.member],
            "help": [{ "kind": "vneid", "outcome": "done" }],
        }),
    )
    .await;
    let household_path = format!("/api/v1/households/{}", f.household);
    let visit_path = format!("/api/v1/assistances/{}", visit["id"].as_str().unwrap());
    let household = get_json(&app.client, &app.url(&household_path), &f.admin).await;
    let verdict = get_json(&app.client, &app.url("/api/v1/audit/verify"), &f.admin).await;
    assert_eq!(verdict["ok"], true, "{verdict}");
    // The checkpoint the linker signs once the chain has a head.
    let mut checkpoint = None;
    for _ in 0..100 {
        let list = get_json(&app.client, &app.url("/api/v1/audit/checkpoints"), &f.admin).await;
        if let Some(cp) = list["items"].as_array().and_then(|a| a.first()).cloned() {
            checkpoint = Some(cp);
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let checkpoint = checkpoint.expect("a checkpoint is written");
    let token = checkpoint["token"].as_str().expect("checkpoint token");
    // Every event linked before the copy is taken.
    get_json(&app.client, &app.url("/api/v1/audit/verify"), &f.admin).await;
    let before = tally(&app.db.url);

    let dir = temp_dir("backup");
    let file = dir.join("banso.dump");
    let (ok, out) = backup(&app.db, &file);
    assert!(ok, "{out}");
    assert!(out.contains("backed up the database to"), "{out}");
    assert!(file.exists() && !dir.join("banso.dump.partial").exists());
    // Personal data: readable by its owner only.
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o077, 0, "{mode:o}");

    // Restored into a fresh embedded cluster.
    let data = temp_dir("restored");
    let fresh = || {
        let mut c = banso(None);
        c.env("BANSO_DATA_DIR", &data)
            .env("BANSO_JWT_KEYS_DIR", &app.keys_dir);
        c
    };
    let mut cmd = fresh();
    cmd.arg("restore").arg(&file);
    let (ok, out) = run(cmd);
    assert!(ok, "{out}");
    assert!(out.contains("restored"), "{out}");
    // Not twice over what is now there.
    let mut cmd = fresh();
    cmd.arg("restore").arg(&file);
    let (ok, out) = run(cmd);
    assert!(!ok && out.contains("not empty"), "{out}");

    let (mut child, addr, _, log) = serve({
        let mut c = fresh();
        c.env("BANSO_LOG_FORMAT", "json").arg("serve");
        c
    });
    let restored_url = format!(
        "postgresql://postgres@/banso?host={}",
        data.join("pg/run").display()
    );
    assert_eq!(tally(&restored_url), before);
    let client = Client::new(reqwest::Client::new());
    let res = client
        .post(format!("{addr}/api/v1/auth/login"))
        .json(&json!({ "username": "admin", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let admin: Value = res.json().await.unwrap();
    let admin = admin["access_token"].as_str().unwrap();
    assert_eq!(
        get_json(&client, &format!("{addr}{household_path}"), admin).await,
        household
    );
    assert_eq!(
        get_json(&client, &format!("{addr}{visit_path}"), admin).await,
        visit
    );
    let verdict = get_json(
        &client,
        &format!("{addr}/api/v1/audit/verify?checkpoint={token}"),
        admin,
    )
    .await;
    assert_eq!(verdict["ok"], true, "{verdict}");
    assert_eq!(verdict["checkpoint"]["reached"], true, "{verdict}");
    assert!(
        verdict["checked"].as_i64().unwrap() >= before[6],
        "{verdict}"
    );

    sigterm(&child);
    assert!(child.wait().unwrap().success());
    let lines = json_lines(&log);
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "stopped: the embedded PostgreSQL cluster is down"),
        "{lines:?}"
    );
    assert!(!data.join("pg/data/postmaster.pid").exists());
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(&dir);
}

#[actix_web::test]
async fn bad_files_and_occupied_databases_are_refused_and_left_alone() {
    let app = TestApp::spawn().await;
    field(&app).await;
    let dir = temp_dir("backup-bad");
    let file = dir.join("banso.dump");
    let (ok, out) = backup(&app.db, &file);
    assert!(ok, "{out}");
    let size = std::fs::metadata(&file).unwrap().len();

    // A backup never overwrites a file, nor writes into a missing folder.
    let (ok, out) = backup(&app.db, &file);
    assert!(!ok && out.contains("already exists"), "{out}");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), size);
    let (ok, out) = backup(&app.db, &dir.join("missing/banso.dump"));
    assert!(!ok && out.contains("missing"), "{out}");
    // Nothing to back up: a database without Bản Số's tables, a data
    // folder without a cluster (none is made for it).
    let (ok, out) = backup(&TestDb::empty(), &dir.join("empty.dump"));
    assert!(!ok && out.contains("no Bản Số tables"), "{out}");
    let data = temp_dir("no-cluster");
    let mut cmd = banso(None);
    cmd.env("BANSO_DATA_DIR", &data)
        .arg("backup")
        .arg(dir.join("none.dump"));
    let (ok, out) = run(cmd);
    assert!(!ok && out.contains("nothing to back up"), "{out}");
    assert!(!data.join("pg").exists());

    // Files that are not a Bản Số backup, into an empty database that
    // stays empty.
    let target = TestDb::empty();
    let tables = "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'";
    let (ok, out) = restore_into(&target, &dir.join("absent.dump"), false);
    assert!(!ok && out.contains("cannot read"), "{out}");
    let text = dir.join("notes.txt");
    std::fs::write(&text, "không phải bản sao lưu").unwrap();
    let (ok, out) = restore_into(&target, &text, false);
    assert!(
        !ok && out.contains("not a backup made by `banso backup`"),
        "{out}"
    );
    let other = TestDb::empty();
    diesel::RunQueryDsl::execute(
        diesel::sql_query("CREATE TABLE notes (id int PRIMARY KEY, body text)"),
        &mut other.conn(),
    )
    .unwrap();
    let foreign = dir.join("foreign.dump");
    let pg_dump = banso::db::embedded::find_bin_dir().unwrap().join("pg_dump");
    let status = Command::new(pg_dump)
        .args(["--format=custom", "--file"])
        .arg(&foreign)
        .arg("--dbname")
        .arg(&other.url)
        .status()
        .unwrap();
    assert!(status.success());
    let (ok, out) = restore_into(&target, &foreign, false);
    assert!(!ok && out.contains("not of a Bản Số database"), "{out}");
    // A backup cut short fails as a whole: nothing of it is left.
    let bytes = std::fs::read(&file).unwrap();
    let cut = dir.join("cut.dump");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (ok, out) = restore_into(&target, &cut, false);
    assert!(!ok && out.contains("pg_restore"), "{out}");
    assert_eq!(count(&mut target.conn(), tables), 0);

    // A database with tables is refused, then replaced when told to, but
    // never while something else uses it.
    let busy = TestDb::from_template();
    let (ok, out) = restore_into(&busy, &file, false);
    assert!(
        !ok && out.contains("not empty") && out.contains("--replace"),
        "{out}"
    );
    let held = busy.conn();
    let (ok, out) = restore_into(&busy, &file, true);
    assert!(!ok && out.contains("other connections"), "{out}");
    drop(held);
    assert_eq!(
        count(&mut busy.conn(), "SELECT count(*) AS n FROM users"),
        0
    );
    let (ok, out) = restore_into(&busy, &file, true);
    assert!(ok, "{out}");
    // The backup's contents: its accounts, records and events, and the
    // village made for the test, which the template lacked.
    assert_eq!(tally(&busy.url), tally(&app.db.url));
    let _ = std::fs::remove_dir_all(&dir);
}
