//! The contract proven by an outside tool: schemathesis (from PyPI) reads
//! the served OpenAPI document and sends every operation schema-valid and
//! schema-invalid requests, with every check on (status, headers, bodies,
//! negative data refused, valid data accepted, stateful runs through the
//! document's `links`), under the real tokens of an admin and of a team
//! leader, and of an integration client for the webhooks (only clients
//! have webhooks). Any finding fails the test with schemathesis's own
//! report.
//!
//! The exclusions, and why, are in `tests/schemathesis.toml` and in
//! `docs/integration.md`. The run is repeatable: a fixed seed unless
//! `BANSO_SCHEMATHESIS_SEED` says otherwise; `BANSO_SCHEMATHESIS_EXAMPLES`
//! sets the cases per operation. Without schemathesis on `PATH` (or at
//! `BANSO_SCHEMATHESIS`) the test says so and passes; with `CI` set it
//! fails instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::helpers::TestApp;
use crate::resends::{field, stored};

/// The schemathesis program, or why the test cannot run.
fn program() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("BANSO_SCHEMATHESIS") {
        return Some(PathBuf::from(path));
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("schemathesis"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs schemathesis on PATH (python3 -m venv .venv && .venv/bin/pip install schemathesis)"
        );
        eprintln!("schemathesis test skipped: no schemathesis on PATH (pip install schemathesis)");
    }
    found
}

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// Runs schemathesis against `base` as the bearer of `token`, with `only`
/// narrowing the operations; its report when it found anything.
fn run(program: &Path, base: &str, who: &str, token: &str, only: &[&str]) -> Result<(), String> {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis.toml");
    let slug: String = who.chars().filter(char::is_ascii_alphanumeric).collect();
    let reports =
        std::env::temp_dir().join(format!("banso-schemathesis-{}-{slug}", std::process::id()));
    // Its caches go in the run's own folder, not in the checkout.
    std::fs::create_dir_all(&reports).map_err(|e| format!("{}: {e}", reports.display()))?;
    let output = Command::new(program)
        .current_dir(&reports)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{base}/api/v1/openapi.json"))
        .args(["--url", base])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(only)
        // Every check but one: `DELETE` archives (teams, members,
        // households, visits, sessions), and an archived record stays
        // readable by id with `archived_at`, as the document says; the
        // use-after-free check reads that as a deleted record still
        // served. The API tests cover archiving.
        .args(["--checks", "all", "--exclude-checks", "use_after_free"])
        .args(["--mode", "all"])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args([
            "--max-examples",
            &setting("BANSO_SCHEMATHESIS_EXAMPLES", "20"),
        ])
        .args(["--seed", &setting("BANSO_SCHEMATHESIS_SEED", "20261201")])
        // One worker each: the two runs go at once, and hypothesis has been
        // seen failing inside itself with several threads.
        .args(["--workers", "1", "--request-timeout", "20", "--no-color"])
        .args(["--generation-database", "none"])
        .arg("--report-dir")
        .arg(&reports)
        .env("NO_COLOR", "1")
        .output()
        .map_err(|e| format!("schemathesis could not start: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::remove_dir_all(&reports);
    let summary = text
        .lines()
        .rev()
        .find(|l| l.contains(" in ") && l.starts_with('='))
        .unwrap_or("(no summary)")
        .to_string();
    eprintln!("schemathesis as {who}: {summary}");
    // Its warnings (operations that only ever answered errors, say) are
    // worth reading even when it found nothing: `--nocapture` shows them.
    if let Some((_, warnings)) = text.split_once("WARNINGS") {
        eprintln!("schemathesis warnings as {who}:{warnings}");
    }
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("schemathesis as {who} failed:\n{text}"))
    }
}

/// A token of a new integration client of `area` with every scope and the
/// highest rate, and webhooks of it (on this machine, where nothing
/// listens) that are sent every change.
async fn client_with_a_webhook(app: &TestApp, admin: &str, area: &str) -> String {
    let client = stored(
        app,
        admin,
        "/api/v1/clients",
        &json!({
            "client_id": "cong-tinh-thu",
            "name": "Cổng dữ liệu tỉnh (thử)",
            "area_id": area,
            "scopes": ["registry:read", "activities:read", "activities:write",
                       "reports:read", "audit:read", "changes:read"],
            "rate_limit_per_minute": 100_000,
        }),
    )
    .await;
    let secret = client["client_secret"].as_str().expect("a secret");
    let res = crate::clients::token(app, "cong-tinh-thu", secret).await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.expect("a token");
    let token = body["access_token"].as_str().expect("a token").to_string();
    let entities: Vec<&str> = banso::audit::Entity::feed()
        .into_iter()
        .map(|e| e.as_str())
        .collect();
    // Several, so that some remain to follow links to after the run has
    // deleted one or two.
    for n in 0..5 {
        stored(
            app,
            &token,
            "/api/v1/webhooks",
            &json!({ "url": format!("http://127.0.0.1:9/banso/{n}"), "entities": entities }),
        )
        .await;
    }
    token
}

#[actix_web::test]
async fn schemathesis_finds_nothing_as_an_admin_a_team_leader_or_a_client() {
    let Some(program) = program() else { return };
    let app = TestApp::spawn_on(
        crate::helpers::TestDb::from_template(),
        &[("BANSO_WEBHOOKS_ALLOW_LOOPBACK", "true")],
    )
    .await;
    // A village with a team, a member, a household, a visit and a
    // session, so that lists are not empty and links lead somewhere; a
    // client's webhook, registered first, has their deliveries.
    let f = field(&app).await;
    let client = client_with_a_webhook(&app, &f.admin, &f.commune.id.to_string()).await;
    stored(
        &app,
        &f.admin,
        "/api/v1/assistances",
        &json!({
            "id": uuid::Uuid::new_v4(),
            "household_id": f.household,
            "visited_on": "2026-11-20",
            "member_ids": [f.member],
            "help": [{ "kind": "vneid", "outcome": "done" }],
        }),
    )
    .await;
    stored(
        &app,
        &f.admin,
        "/api/v1/trainings",
        &json!({
            "id": uuid::Uuid::new_v4(),
            "team_id": f.team,
            "held_on": "2026-11-21",
            "duration_minutes": 90,
            "topics": ["digital_skills"],
            "trainer_ids": [f.member],
            "household_ids": [f.household],
            "attendees": { "total": 20, "women": 11, "ethnic_minority": 18, "poor": 5 },
        }),
    )
    .await;
    let base = app.url("");
    let base = base.trim_end_matches('/').to_string();
    // The runs at once: each waits on the service most of the time. The
    // client's covers the webhooks, which people's tokens may not touch.
    let webhooks: &'static [&'static str] = &["--include-tag", "webhooks"];
    let runs = [
        ("an admin", f.admin, &[][..]),
        ("a team leader", f.leader, &[][..]),
        ("an integration client", client, webhooks),
    ]
    .map(|(who, token, only)| {
        let (program, base) = (program.clone(), base.clone());
        actix_web::web::block(move || run(&program, &base, who, &token, only))
    });
    let mut failures = Vec::new();
    for result in futures_util::future::join_all(runs).await {
        if let Err(report) = result.expect("blocking task") {
            failures.push(report);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
