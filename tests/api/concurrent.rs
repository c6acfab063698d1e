//! Two writers of the same record based on the same version, at the same
//! time: exactly one wins, the other gets 409 with the record as it is now.
//!
//! Each test holds the record's row locked from a connection of its own,
//! sends both requests, waits until both are waiting for that lock (or
//! have answered), and only then lets go, so the two writers really
//! overlap.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use diesel::Connection;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{RequestBuilder, TestApp, count};
use crate::resends::{field, stored};

/// What a client saw of one request.
struct Seen {
    status: u16,
    body: Value,
}

/// Holds `SELECT … FROM {table} WHERE {cond} FOR UPDATE` from a connection
/// of the test while `a` and `b` are sent, until both wait for the lock or
/// have answered; then commits and returns both answers.
async fn race(
    app: &TestApp,
    table: &str,
    cond: &str,
    a: RequestBuilder,
    b: RequestBuilder,
) -> [Seen; 2] {
    let (locked_tx, locked_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let url = app.db.url.clone();
    let lock = format!("SELECT 1 FROM {table} WHERE {cond} FOR UPDATE");
    let holder = std::thread::spawn(move || {
        let mut conn = diesel::PgConnection::establish(&url).expect("connect");
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            let rows = diesel::RunQueryDsl::execute(diesel::sql_query(&lock), conn)?;
            assert_eq!(rows, 1, "the row to hold: {lock}");
            locked_tx.send(()).expect("tell the test");
            release_rx.recv().expect("wait for the test");
            Ok(())
        })
        .expect("hold the row lock");
    });
    actix_web::web::block(move || locked_rx.recv())
        .await
        .expect("blocking task")
        .expect("the row is held");

    let send = |r: RequestBuilder| {
        actix_web::rt::spawn(async move {
            let res = r.send().await.expect("request");
            let status = res.status().as_u16();
            let body = res.json::<Value>().await.unwrap_or(Value::Null);
            Seen { status, body }
        })
    };
    let (a, b) = (send(a), send(b));
    let waiting = "SELECT count(*) AS n FROM pg_stat_activity \
                   WHERE datname = current_database() AND wait_event_type = 'Lock'";
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut conn = app.conn();
    while count(&mut conn, waiting) < 2
        && !(a.is_finished() && b.is_finished())
        && Instant::now() < deadline
    {
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    release_tx.send(()).expect("release the row");
    holder.join().expect("the holder thread");
    [
        a.await.expect("first writer"),
        b.await.expect("second writer"),
    ]
}

/// Exactly one 200 and one 409 whose `current` is the winner's record at
/// version 2; returns the index of the winner.
fn one_won(seen: &[Seen; 2]) -> usize {
    let mut statuses = [seen[0].status, seen[1].status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} {}", seen[0].body, seen[1].body);
    let winner = usize::from(seen[1].status == 200);
    let loser = &seen[1 - winner].body;
    assert_eq!(loser["status"], 409, "{loser}");
    assert_eq!(loser["current"]["version"], 2, "{loser}");
    assert_eq!(seen[winner].body["version"], 2);
    winner
}

fn patch(app: &TestApp, token: &str, path: &str, version: i32, body: &Value) -> RequestBuilder {
    app.client
        .patch(app.url(path))
        .bearer_auth(token)
        .header("If-Match", format!("\"{version}\""))
        .json(body)
}

/// Two edits of one text field of the record at `path`: one wins, the 409
/// shows its value, and the database holds exactly the winner's value at
/// version 2.
async fn edits_of_one_field(
    app: &TestApp,
    token: &str,
    path: &str,
    table: &str,
    cond: &str,
    field: &str,
    column: &str,
) {
    let values = ["Giá trị thứ nhất", "Giá trị thứ hai"];
    let seen = race(
        app,
        table,
        cond,
        patch(app, token, path, 1, &json!({ field: values[0] })),
        patch(app, token, path, 1, &json!({ field: values[1] })),
    )
    .await;
    let winner = one_won(&seen);
    let loser = &seen[1 - winner].body;
    assert_eq!(loser["current"][field], values[winner], "{loser}");
    let mut conn = app.conn();
    let sql = |v: &str| {
        format!(
            "SELECT count(*) AS n FROM {table} WHERE {cond} AND version = 2 AND {column} = '{v}'"
        )
    };
    assert_eq!(count(&mut conn, &sql(values[winner])), 1);
    assert_eq!(count(&mut conn, &sql(values[1 - winner])), 0);
}

#[actix_web::test]
async fn two_edits_of_a_team_one_wins() {
    let app = TestApp::spawn().await;
    let p = field(&app).await;
    let cond = format!("id = '{}'", p.team);
    let path = format!("/api/v1/teams/{}", p.team);
    edits_of_one_field(&app, &p.admin, &path, "teams", &cond, "name", "name").await;
}

#[actix_web::test]
async fn two_edits_of_a_member_one_wins() {
    let app = TestApp::spawn().await;
    let p = field(&app).await;
    let cond = format!("id = '{}'", p.member);
    let path = format!("/api/v1/members/{}", p.member);
    edits_of_one_field(
        &app,
        &p.admin,
        &path,
        "members",
        &cond,
        "full_name",
        "full_name",
    )
    .await;
}

#[actix_web::test]
async fn two_edits_of_a_household_one_wins() {
    let app = TestApp::spawn().await;
    let p = field(&app).await;
    let cond = format!("id = '{}'", p.household);
    let path = format!("/api/v1/households/{}", p.household);
    edits_of_one_field(
        &app,
        &p.admin,
        &path,
        "households",
        &cond,
        "head_name",
        "head_name",
    )
    .await;
}

#[actix_web::test]
async fn two_edits_of_a_visit_one_wins() {
    let app = TestApp::spawn().await;
    let p = field(&app).await;
    let id = Uuid::new_v4();
    stored(
        &app,
        &p.admin,
        "/api/v1/assistances",
        &json!({
            "id": id,
            "household_id": p.household,
            "visited_on": "2025-10-10",
            "help": [{ "kind": "vneid", "outcome": "done" }],
        }),
    )
    .await;
    let cond = format!("id = '{id}'");
    let path = format!("/api/v1/assistances/{id}");
    edits_of_one_field(
        &app,
        &p.admin,
        &path,
        "assistances",
        &cond,
        "notes",
        "notes",
    )
    .await;
}

#[actix_web::test]
async fn two_edits_of_a_training_one_wins() {
    let app = TestApp::spawn().await;
    let p = field(&app).await;
    let id = Uuid::new_v4();
    stored(
        &app,
        &p.admin,
        "/api/v1/trainings",
        &json!({
            "id": id,
            "team_id": p.team,
            "held_on": "2025-10-20",
            "duration_minutes": 90,
            "topics": ["digital_skills"],
            "attendees": { "total": 20, "women": 11, "ethnic_minority": 18, "poor": 5 },
        }),
    )
    .await;
    let cond = format!("id = '{id}'");
    let path = format!("/api/v1/trainings/{id}");
    edits_of_one_field(&app, &p.admin, &path, "trainings", &cond, "place", "place").await;
}

#[actix_web::test]
async fn two_edits_of_a_catalogue_entry_one_wins() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let entry = stored(
        &app,
        &admin,
        "/api/v1/catalog/assistance-kinds",
        &json!({ "code": "agri_app", "name_vi": "Ứng dụng nông nghiệp", "name_en": "Farming app" }),
    )
    .await;
    assert_eq!(entry["version"], 1);
    edits_of_one_field(
        &app,
        &admin,
        "/api/v1/catalog/assistance-kinds/agri_app",
        "catalog_entries",
        "kind = 'assistance_kind' AND code = 'agri_app'",
        "name_vi",
        "name_vi",
    )
    .await;
}

/// The case that brought an account back to life: one admin deactivates
/// it while another renames it from the same version.
#[actix_web::test]
async fn a_deactivation_and_an_edit_of_an_account_one_wins() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = app
        .create_user("canbo.thucphan", "officer", Some("01273"))
        .await;
    let path = format!("/api/v1/users/{id}");
    let seen = race(
        &app,
        "users",
        &format!("id = '{id}'"),
        patch(&app, &admin, &path, 1, &json!({ "active": false })),
        patch(
            &app,
            &admin,
            &path,
            1,
            &json!({ "display_name": "Tên mới" }),
        ),
    )
    .await;
    let winner = one_won(&seen);
    let loser = &seen[1 - winner].body;
    let mut conn = app.conn();
    let holds = |sql: &str| {
        count(
            &mut app.conn(),
            &format!("SELECT count(*) AS n FROM users WHERE id = '{id}' AND version = 2 AND {sql}"),
        )
    };
    if winner == 0 {
        assert_eq!(loser["current"]["active"], false, "{loser}");
        assert_eq!(holds("NOT active AND display_name IS NULL"), 1);
    } else {
        assert_eq!(loser["current"]["display_name"], "Tên mới", "{loser}");
        assert_eq!(holds("active AND display_name = 'Tên mới'"), 1);
    }
    assert_eq!(
        count(
            &mut conn,
            &format!("SELECT count(*) AS n FROM users WHERE id = '{id}'")
        ),
        1
    );
}
