//! The `banso` binary as an operator runs it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::helpers::{TestApp, TestDb, count, temp_dir, village};

pub fn banso(db: Option<&TestDb>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_banso"));
    cmd.env_remove("DATABASE_URL")
        .env("BANSO_LOG", "warn")
        .env("BANSO_DATA_DIR", temp_dir("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(db) = db {
        cmd.env("DATABASE_URL", &db.url);
    }
    cmd
}

pub fn run_with_stdin(mut cmd: Command, input: &str) -> (bool, String) {
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn user_create_checks_its_input() {
    let db = TestDb::from_template();
    let mut cmd = banso(Some(&db));
    cmd.args([
        "user",
        "create",
        "--username",
        "CanBo.Xa",
        "--role",
        "officer",
        "--area",
        "04",
        "--password-stdin",
    ]);
    let (ok, out) = run_with_stdin(cmd, "a very good password\n");
    assert!(ok, "{out}");
    let mut conn = db.conn();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM users WHERE username = 'canbo.xa' AND role = 'officer'"
        ),
        1
    );
    assert!(!out.contains("a very good password"));
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM audit_events WHERE entity = 'user' AND action = 'create' AND actor_kind = 'system'"
        ),
        1
    );

    let cases = [
        (
            vec!["--username", "x1.user", "--role", "chief", "--area", "04"],
            "unknown role",
        ),
        (
            vec![
                "--username",
                "x2.user",
                "--role",
                "officer",
                "--area",
                "77777",
            ],
            "no unit with code 77777",
        ),
        (
            vec!["--username", "x3.user", "--role", "officer"],
            "needs an area",
        ),
        (
            vec![
                "--username",
                "canbo.xa",
                "--role",
                "officer",
                "--area",
                "04",
            ],
            "taken",
        ),
        (
            vec!["--username", "a b", "--role", "admin"],
            "username must be",
        ),
    ];
    for (args, expected) in cases {
        let mut cmd = banso(Some(&db));
        cmd.args(["user", "create"])
            .args(&args)
            .arg("--password-stdin");
        let (ok, out) = run_with_stdin(cmd, "a very good password\n");
        assert!(!ok && out.contains(expected), "{args:?}: {out}");
    }
    let mut cmd = banso(Some(&db));
    cmd.args([
        "user",
        "create",
        "--username",
        "short.pw",
        "--role",
        "admin",
        "--password-stdin",
    ]);
    let (ok, out) = run_with_stdin(cmd, "short\n");
    assert!(!ok && out.contains("at least 10"), "{out}");
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM users"), 1);
}

#[test]
fn units_import_reports_a_bad_row_and_exits_non_zero() {
    let db = TestDb::from_template();
    let dir = temp_dir("cli-import");
    let file = dir.join("units-2026-01-01.csv");
    std::fs::write(
        &file,
        "level,code,name,parent_code,type,short_name,province_code\nprovince,04,,,Tỉnh,Cao Bằng,04\n",
    )
    .unwrap();
    let mut cmd = banso(Some(&db));
    cmd.args(["units", "import"]).arg(&file);
    let (ok, out) = run_with_stdin(cmd, "");
    assert!(!ok);
    assert!(out.contains("line 2") && out.contains("name"), "{out}");

    // Without files: the shipped lists, already in the template, unchanged.
    let mut cmd = banso(Some(&db));
    cmd.args(["units", "import"]);
    let (ok, out) = run_with_stdin(cmd, "");
    assert!(ok, "{out}");
    assert!(
        out.contains("units-2025-07-01.csv (units): 0 inserted, 0 updated, 3355 unchanged"),
        "{out}"
    );
}

#[test]
fn bad_configuration_is_named_and_exits_2() {
    let mut cmd = banso(None);
    cmd.env("BANSO_LISTEN", "everywhere")
        .env("BANSO_POOL_SIZE", "lots")
        .arg("migrate");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("BANSO_LISTEN") && err.contains("BANSO_POOL_SIZE"),
        "{err}"
    );
}

/// Starts `banso serve` and waits for the address it listens on. The caller
/// owns the child and waits for it.
#[allow(clippy::zombie_processes)]
pub fn serve(mut cmd: Command) -> (Child, String, Vec<String>, mpsc::Receiver<String>) {
    cmd.env("BANSO_LISTEN", "127.0.0.1:0")
        .env("BANSO_LOG", "info");
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // The first `serve --demo` loads two years of Cao Bằng's activities and
    // announces its registry in the change feed: minutes on a debug build
    // of a busy machine.
    let deadline = std::time::Instant::now() + Duration::from_secs(600);
    let mut seen = Vec::new();
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .unwrap_or_else(|_| panic!("banso serve did not say where it listens: {seen:?}"));
        if let Some(addr) = line.split("listening on http").nth(1) {
            return (child, format!("http{}", addr.trim()), seen, rx);
        }
        seen.push(line);
    }
}

pub fn sigterm(child: &Child) {
    // SAFETY: sending a signal to our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
}

/// The JSON log lines received so far.
pub fn json_lines(log: &mpsc::Receiver<String>) -> Vec<serde_json::Value> {
    log.try_iter()
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect()
}

/// The binary on the test's database, with the test app's signing keys (so
/// its tokens work there) and `extra` settings.
pub fn serve_beside(
    app: &TestApp,
    extra: &[(&str, &str)],
) -> (Child, String, Vec<String>, mpsc::Receiver<String>) {
    let mut c = banso(Some(&app.db));
    c.env("BANSO_LOG_FORMAT", "json")
        .env("BANSO_JWT_KEYS_DIR", &app.keys_dir)
        .envs(extra.iter().copied())
        .arg("serve");
    serve(c)
}

/// What `/metrics` of the server at `addr` says (to this machine).
pub async fn metrics_text(client: &reqwest::Client, addr: &str) -> String {
    let res = client.get(format!("{addr}/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// `banso_http_requests_in_flight` as `/metrics` says it (the scrape
/// itself is one of them).
async fn in_flight(client: &reqwest::Client, addr: &str) -> i64 {
    let text = metrics_text(client, addr).await;
    text.lines()
        .find_map(|l| l.strip_prefix("banso_http_requests_in_flight "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no in-flight gauge: {text}"))
}

/// A SIGTERM while a sync batch of 500 households is being written: the
/// batch is still answered in full and stored in full, and the log says
/// when the drain began, how many requests were in flight, and that the
/// service stopped with every request answered.
#[actix_web::test]
async fn serve_drains_and_exits_0_on_sigterm() {
    let app = TestApp::spawn().await;
    let v = village(&app, "01273", "Thôn Nà Rụa");
    let leader = app
        .token_for("totruong.narua", "team_leader", Some(&v.code))
        .await;
    let (mut child, addr, _, log) = serve_beside(&app, &[]);
    let client = reqwest::Client::new();
    let res = client
        .get(format!("{addr}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_string();

    let items: Vec<serde_json::Value> = (0..500)
        .map(|i| {
            let id = uuid::Uuid::new_v4();
            serde_json::json!({ "type": "household", "op": "create", "id": id, "data": {
                "village_id": v.id, "head_name": format!("Chủ hộ số {i}"), "size": 3,
                "poverty_status": "not_poor" } })
        })
        .collect();
    let batch = client
        .post(format!("{addr}/api/v1/sync"))
        .bearer_auth(&leader)
        .json(&serde_json::json!({ "items": items }))
        .send();
    let batch = actix_web::rt::spawn(batch);
    // The batch is in flight once the gauge counts it beside the scrape.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while in_flight(&client, &addr).await < 2 {
        assert!(
            !batch.is_finished() && std::time::Instant::now() < deadline,
            "the batch was never seen in flight"
        );
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
    sigterm(&child);
    let res = batch.await.unwrap().expect("the batch is answered");
    assert_eq!(res.status(), 200);
    let answer: serde_json::Value = res.json().await.unwrap();
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 500);
    assert!(results.iter().all(|r| r["status"] == "created"), "{answer}");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");

    // Stored in full, each with its audit event.
    let stored = |sql: &str| count(&mut app.conn(), sql);
    assert_eq!(
        stored(&format!(
            "SELECT count(*) AS n FROM households WHERE village_id = '{}'",
            v.id
        )),
        500
    );
    assert_eq!(
        stored(
            "SELECT count(*) AS n FROM audit_events WHERE entity = 'household' AND action = 'create'"
        ),
        500
    );

    let lines = json_lines(&log);
    // One JSON log line per request, carrying its request id.
    assert!(
        lines
            .iter()
            .any(|l| l["span"]["request_id"] == request_id.as_str() && l["status"] == 200),
        "{lines:?}"
    );
    let said = |text: &str| {
        lines
            .iter()
            .find(|l| l["message"].as_str().is_some_and(|m| m.starts_with(text)))
            .unwrap_or_else(|| panic!("no line {text:?}: {lines:?}"))
    };
    let drain = said("draining");
    assert_eq!(drain["signal"], "SIGTERM");
    assert!(drain["in_flight"].as_i64().unwrap() >= 1, "{drain}");
    said("stopped serving: every request was answered");
    said("stopped: the database (DATABASE_URL) is left running");
}

/// Each request is logged once at INFO when the client is at fault (404,
/// 401, 405, 400, 422), whether the handler, an extractor or actix-web
/// itself made the answer; no WARN line is about them.
#[actix_web::test]
async fn answers_to_a_clients_mistake_are_logged_at_info() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (mut child, addr, _, log) = serve_beside(&app, &[]);
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{addr}{path}");
    let requests = [
        (client.get(url("/api/v1/no-such-thing")), 404),
        (
            client
                .get(url(&format!("/api/v1/households/{}", uuid::Uuid::new_v4())))
                .bearer_auth(&admin),
            404,
        ),
        (client.get(url("/api/v1/me")), 401),
        (client.delete(url("/health/live")), 405),
        (
            client
                .post(url("/api/v1/households"))
                .bearer_auth(&admin)
                .header("content-type", "application/json")
                .body("{not json"),
            400,
        ),
        (
            client
                .post(url("/api/v1/households"))
                .bearer_auth(&admin)
                .json(&serde_json::json!({ "size": 0 })),
            422,
        ),
    ];
    let mut ids = Vec::new();
    for (req, status) in requests {
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), status);
        ids.push((
            res.headers()["x-request-id"].to_str().unwrap().to_string(),
            status,
        ));
    }
    sigterm(&child);
    assert!(child.wait().unwrap().success());
    let lines = json_lines(&log);
    for (id, status) in ids {
        let about: Vec<&serde_json::Value> = lines
            .iter()
            .filter(|l| l["span"]["request_id"] == id.as_str())
            .collect();
        assert!(
            about
                .iter()
                .any(|l| l["status"] == status && l["level"] == "INFO"),
            "{status}: {about:?}"
        );
        assert!(
            about
                .iter()
                .all(|l| l["level"] != "WARN" && l["level"] != "ERROR"),
            "{status}: {about:?}"
        );
    }
}

#[actix_web::test]
async fn serve_demo_runs_its_own_postgres_and_keeps_its_data() {
    let data = temp_dir("embedded");
    let start = || {
        let mut c = banso(None);
        c.env("BANSO_DATA_DIR", &data)
            .env("BANSO_ADMIN_PASSWORD", "demo password 2026")
            .args(["serve", "--demo"]);
        serve(c)
    };
    let (mut child, addr, _, _) = start();
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(format!("{addr}/health/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let login = serde_json::json!({ "username": "admin", "password": "demo password 2026" });
    let res = client
        .post(format!("{addr}/api/v1/auth/login"))
        .json(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let pid_file = data.join("pg/data/postmaster.pid");
    assert!(pid_file.exists());

    // Another command on the same data folder uses the running cluster,
    // and leaves it running.
    let out = banso(None)
        .env("BANSO_DATA_DIR", &data)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let res = client
        .get(format!("{addr}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the service lost its database");
    sigterm(&child);
    assert!(child.wait().unwrap().success());
    assert!(!pid_file.exists(), "the private cluster was stopped");

    // A second start reuses the cluster: the demo is not loaded twice.
    let (mut child, addr, log, _) = start();
    let res = client
        .post(format!("{addr}/api/v1/auth/login"))
        .json(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    sigterm(&child);
    assert!(child.wait().unwrap().success());
    let lines = log;
    assert!(
        lines.iter().any(|l| l.contains("demo data already loaded")),
        "{lines:?}"
    );
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn without_postgresql_binaries_it_says_what_to_install() {
    let mut cmd = banso(None);
    cmd.env("BANSO_PG_BINDIR", "/nonexistent/postgresql/bin")
        .arg("migrate");
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("apt-get install postgresql") && err.contains("DATABASE_URL"),
        "{err}"
    );
}
