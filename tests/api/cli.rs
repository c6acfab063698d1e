//! The `banso` binary as an operator runs it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::helpers::{TestDb, count, temp_dir};

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
fn serve(mut cmd: Command) -> (Child, String, Vec<String>, mpsc::Receiver<String>) {
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
    // The first `serve --demo` loads two years of Cao Bằng's activities.
    let deadline = std::time::Instant::now() + Duration::from_secs(360);
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

fn sigterm(child: &Child) {
    // SAFETY: sending a signal to our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
}

#[actix_web::test]
async fn serve_drains_and_exits_0_on_sigterm() {
    let db = TestDb::from_template();
    let (mut child, addr, _, log) = serve({
        let mut c = banso(Some(&db));
        c.env("BANSO_LOG_FORMAT", "json").arg("serve");
        c
    });
    let res = reqwest::get(format!("{addr}/health/ready")).await.unwrap();
    assert_eq!(res.status(), 200);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    sigterm(&child);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    // One JSON log line per request, carrying its request id.
    let lines: Vec<serde_json::Value> = log
        .try_iter()
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["span"]["request_id"] == request_id.as_str() && l["status"] == 200),
        "{lines:?}"
    );
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
