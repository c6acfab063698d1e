//! The audit trail holds on real field data: exact hashes for any value
//! (phone positions among them), erasure that keeps the chain provable,
//! signed checkpoints that show a truncated chain, and the explained
//! change of hashing for events written before seals.

use std::process::Command;
use std::time::Duration;

use banso::audit::{Action, Ctx, Entity, Event};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, count, id_of, problem, village};

fn n(app: &TestApp, sql: &str) -> i64 {
    count(&mut app.conn(), sql)
}

fn execute(app: &TestApp, sql: &str) -> usize {
    diesel::RunQueryDsl::execute(diesel::sql_query(sql), &mut app.conn()).unwrap()
}

async fn verify_at(app: &TestApp, token: &str, query: &str) -> Value {
    let res = app
        .get(&format!("/api/v1/audit/verify{query}"), token)
        .await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

async fn verify(app: &TestApp, token: &str) -> Value {
    verify_at(app, token, "").await
}

async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> Value {
    let res = app.post_json(path, Some(token), body).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

/// A village with a team and a household, as an admin made them.
struct Place {
    admin: String,
    household: String,
}

async fn place(app: &TestApp, code: &str) -> Place {
    let na_pinh = village(app, "01273", "Thôn Nà Pình");
    let admin = app.admin_token().await;
    post(
        app,
        &admin,
        "/api/v1/teams",
        &json!({ "village_id": na_pinh.id, "name": "Tổ CNS thôn Nà Pình" }),
    )
    .await;
    let h = post(
        app,
        &admin,
        "/api/v1/households",
        &json!({
            "village_id": na_pinh.id, "code": code, "head_name": "Nông Văn Dũng",
            "size": 4, "phone": "0912 345 678", "poverty_status": "poor",
        }),
    )
    .await;
    Place {
        admin,
        household: id_of(&h),
    }
}

/// Positions as phones report them: six decimals, accuracy such as 1.21.
fn phone_visit(household: &str, i: usize) -> Value {
    const ACCURACY: [f32; 5] = [1.21, 4.41, 3.3, 12.07, 0.1];
    json!({
        "id": Uuid::new_v4(),
        "household_id": household,
        "visited_on": format!("2026-11-{:02}", 1 + i % 20),
        "help": [{ "kind": "vneid", "outcome": "done" }],
        "notes": format!("Hướng dẫn cài VNeID lần {i}"),
        "position": {
            "latitude": 22.665712 + i as f64 * 0.000137,
            "longitude": 106.252281 - i as f64 * 0.000093,
            "accuracy_m": ACCURACY[i % ACCURACY.len()],
        },
    })
}

/// Records `count` visits to the place's household; answers their ids.
async fn record_visits(app: &TestApp, p: &Place, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..count {
        let body = phone_visit(&p.household, i);
        ids.push(id_of(
            &post(app, &p.admin, "/api/v1/assistances", &body).await,
        ));
    }
    ids
}

/// Twenty visits with ordinary phone positions leave a chain that
/// verifies; and moving one stored number by the smallest step is found.
#[actix_web::test]
async fn twenty_visits_with_phone_positions_verify() {
    let app = TestApp::spawn().await;
    let p = place(&app, "NP-001").await;
    record_visits(&app, &p, 20).await;
    assert_eq!(
        n(
            &app,
            "SELECT count(*) AS n FROM assistances WHERE accuracy_m IS NOT NULL"
        ),
        20
    );
    let v = verify(&app, &p.admin).await;
    assert_eq!(v["ok"], true, "{v}");
    let total = n(&app, "SELECT count(*) AS n FROM audit_events");
    assert_eq!(v["checked"], total, "{v}");
    assert_eq!(
        n(
            &app,
            "SELECT count(*) AS n FROM audit_events WHERE entity = 'assistance' AND action = 'create' \
             AND after->'position'->>'accuracy_m' IS NOT NULL AND sealed IS NOT NULL"
        ),
        20
    );

    // One stored accuracy nudged in its last digit.
    let edited = execute(
        &app,
        "UPDATE audit_events SET after = jsonb_set(after, '{position,accuracy_m}', \
         to_jsonb((after->'position'->>'accuracy_m')::numeric + 0.0000000000000001)) \
         WHERE seq = (SELECT min(seq) FROM audit_events WHERE entity = 'assistance')",
    );
    assert_eq!(edited, 1);
    let v = verify(&app, &p.admin).await;
    assert_eq!(v["ok"], false, "{v}");
    assert!(
        v["first_broken"]["problem"]
            .as_str()
            .unwrap()
            .contains("content"),
        "{v}"
    );
}

/// Editing what opens a seal (a leaf's stored text) is found too.
#[actix_web::test]
async fn an_edited_opening_breaks_the_chain() {
    let app = TestApp::spawn().await;
    let p = place(&app, "NP-002").await;
    record_visits(&app, &p, 1).await;
    assert_eq!(verify(&app, &p.admin).await["ok"], true);
    let edited = execute(
        &app,
        "UPDATE audit_events SET openings = replace(openings, 'VNeID', 'VNeIĐ') \
         WHERE entity = 'assistance' AND action = 'create'",
    );
    assert_eq!(edited, 1);
    let v = verify(&app, &p.admin).await;
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(
        v["first_broken"]["seq"],
        n(
            &app,
            "SELECT seq AS n FROM audit_events WHERE entity = 'assistance'"
        ),
        "{v}"
    );
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        any::<f32>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        (-90.0..90.0f64).prop_map(|x| json!((x * 1e6).round() / 1e6)),
        // PostgreSQL's text and jsonb hold no NUL; every other character.
        any::<String>().prop_map(|s| Value::from(s.replace('\0', ""))),
        // The same words composed (NFC) and decomposed (NFD).
        prop::sample::select(vec![
            "Nguyễn Thị Ánh",
            "Nguye\u{302}\u{303}n Thi\u{323} A\u{301}nh",
            "đường",
            "A\u{30a}",
        ])
        .prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_/~ ]{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn event() -> impl Strategy<Value = Event> {
    (
        prop::sample::select(Action::ALL.to_vec()),
        prop::sample::select(Entity::ALL.to_vec()),
        prop::option::of("[0-9a-zà-ỹ/-]{1,20}"),
        prop::option::of(value()),
        prop::option::of(value()),
    )
        .prop_map(|(action, entity, id, before, after)| {
            let mut e = Event::of(action, entity);
            e.entity_id = id;
            e.before = before;
            e.after = after;
            e
        })
}

/// Thousands of random events, of every kind of value a record can hold,
/// written by the service's own write path, verify; the server agrees.
#[actix_web::test]
async fn random_events_of_any_value_verify() {
    let app = TestApp::spawn().await;
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    // The runner takes a `Fn`: the connection and the count live in cells.
    let conn = std::cell::RefCell::new(app.conn());
    let written = std::cell::Cell::new(0usize);
    let ctx = Ctx::system("property test");
    let fail = |e: banso::error::ApiError| TestCaseError::fail(e.to_string());
    runner
        .run(&prop::collection::vec(event(), 1..60), |events| {
            let conn = &mut *conn.borrow_mut();
            let batch: Vec<(&Ctx, Event)> = events.into_iter().map(|e| (&ctx, e)).collect();
            banso::audit::record_many(conn, &batch).map_err(fail)?;
            written.set(written.get() + batch.len());
            banso::audit::chain::link_all(conn).map_err(fail)?;
            let v = banso::audit::chain::verify(conn, None).map_err(fail)?;
            prop_assert!(v.ok, "{:?}", v.first_broken);
            Ok(())
        })
        .unwrap();
    let written = written.get();
    assert!(written >= 2_000, "{written} events");
    // (After the runner, which holds this thread: no idle connection.)
    let admin = app.admin_token().await;
    let v = verify(&app, &admin).await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(
        v["checked"],
        n(&app, "SELECT count(*) AS n FROM audit_events"),
        "{v}"
    );
}

/// Erasing a household clears its visits' notes and position and what
/// the trail holds of it and of them, and the chain still verifies.
#[actix_web::test]
async fn erasure_reaches_the_visits_and_the_trail_and_the_chain_holds() {
    let app = TestApp::spawn().await;
    let p = place(&app, "NP-RIENGTU-7").await;
    let h = &p.household;
    let visits = record_visits(&app, &p, 3).await;
    let res = crate::helpers::patch(
        &app,
        &p.admin,
        &format!("/api/v1/households/{h}"),
        None,
        &json!({ "code": "NP-RIENGTU-8", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = crate::helpers::patch(
        &app,
        &p.admin,
        &format!("/api/v1/assistances/{}", visits[0]),
        None,
        &json!({ "notes": "Hướng dẫn lại, lần hai", "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(verify(&app, &p.admin).await["ok"], true);

    let erased = post(
        &app,
        &p.admin,
        &format!("/api/v1/households/{h}/erase"),
        &json!({ "reason": "Yêu cầu của hộ", "version": 2 }),
    )
    .await;
    assert!(erased["erased_at"].is_string());

    // The visits say nothing of the household any more.
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE household_id = '{h}' \
                 AND notes IS NULL AND latitude IS NULL AND longitude IS NULL AND accuracy_m IS NULL"
            )
        ),
        3
    );
    let res = app
        .get(&format!("/api/v1/assistances/{}", visits[1]), &p.admin)
        .await;
    let v: Value = res.json().await.unwrap();
    assert!(v["notes"].is_null() && v["position"].is_null(), "{v}");

    // Nor does the trail: not in the copies clients read, not in what
    // opens the seals.
    for secret in [
        "NP-RIENGTU",
        "VNeID",
        "lần hai",
        "22.6657",
        "106.25",
        "1.21",
    ] {
        assert_eq!(
            n(
                &app,
                &format!(
                    "SELECT count(*) AS n FROM audit_events WHERE coalesce(before::text, '') \
                     || coalesce(after::text, '') || coalesce(openings, '') LIKE '%{secret}%'"
                )
            ),
            0,
            "{secret} is still in the trail"
        );
    }
    // The erasure is an event that names which fields of which events went,
    // and each visit's erasure is in the change feed's events.
    let listed = n(
        &app,
        &format!(
            "SELECT jsonb_array_length(after->'erased')::bigint AS n FROM audit_events \
             WHERE action = 'erase' AND entity = 'household' AND entity_id = '{h}'"
        ),
    );
    assert!(listed >= 6, "{listed} events listed");
    assert_eq!(
        n(
            &app,
            "SELECT count(*) AS n FROM audit_events WHERE action = 'erase' AND entity = 'assistance'"
        ),
        3
    );

    let v = verify(&app, &p.admin).await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(
        v["checked"],
        n(&app, "SELECT count(*) AS n FROM audit_events")
    );
    assert!(v["erased_fields"].as_i64().unwrap() >= 12, "{v}");
    assert_eq!(v["explained"], 0, "{v}");

    // Removing a field no erasure names is still found.
    let edited = execute(
        &app,
        "UPDATE audit_events SET openings = (openings::jsonb - 'after/size')::text \
         WHERE id = (SELECT min(id) FROM audit_events WHERE entity = 'household' AND action = 'create')",
    );
    assert_eq!(edited, 1);
    let v = verify(&app, &p.admin).await;
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(
        v["first_broken"]["problem"], "a field is missing that no erasure removed",
        "{v}"
    );
}

async fn first_checkpoint(app: &TestApp, token: &str) -> Value {
    for _ in 0..100 {
        let res = app.get("/api/v1/audit/checkpoints", token).await;
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.unwrap();
        if let Some(cp) = page["items"].as_array().and_then(|i| i.first()) {
            return cp.clone();
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no checkpoint was written");
}

/// Deleting the newest events leaves a chain that is sound on its own;
/// the signed checkpoint shows it truncated, in the file and the API.
#[actix_web::test]
async fn deleting_the_newest_events_is_named_against_the_checkpoint() {
    let app = TestApp::spawn().await;
    let p = place(&app, "NP-003").await;
    record_visits(&app, &p, 3).await;
    let cp = first_checkpoint(&app, &p.admin).await;
    let seq = cp["seq"].as_i64().unwrap();
    assert!(seq >= 1, "{cp}");
    assert_eq!(cp["chain_hash"].as_str().unwrap().len(), 64);
    problem(
        app.get(
            "/api/v1/audit/checkpoints",
            &app.token_for("canbo", "officer", Some("04")).await,
        )
        .await,
        403,
    )
    .await;
    // The same line is in the data folder, for an operator to copy.
    let file = app
        .settings
        .data_dir
        .join("audit")
        .join("checkpoints.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(cp["signature"].as_str().unwrap()), "{text}");

    let token = cp["token"].as_str().unwrap().to_string();
    let v = verify_at(&app, &p.admin, &format!("?checkpoint={token}")).await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["checkpoint"]["reached"], true, "{v}");

    // Someone deletes the newest events, those the checkpoint covers among them.
    let deleted = execute(
        &app,
        &format!("DELETE FROM audit_events WHERE seq >= {}", seq.max(2) - 1),
    );
    assert!(deleted >= 1);
    for query in [format!("?checkpoint={token}"), String::new()] {
        let v = verify_at(&app, &p.admin, &query).await;
        assert_eq!(v["ok"], false, "{query}: {v}");
        assert!(v["first_broken"].is_null(), "{v}");
        assert_eq!(v["checkpoint"]["reached"], false, "{v}");
        assert_eq!(v["checkpoint"]["seq"], seq, "{v}");
        let why = v["checkpoint"]["problem"].as_str().unwrap();
        assert!(
            why.contains("truncated") && why.contains(&format!("seq {seq}")),
            "{why}"
        );
    }

    // A checkpoint altered, or not one at all, is refused by name.
    let mut forged: Value = cp.clone();
    forged["seq"] = json!(seq + 1000);
    forged.as_object_mut().unwrap().remove("token");
    use base64::Engine;
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&forged).unwrap());
    for bad in [forged.as_str(), "not-a-checkpoint"] {
        let res = app
            .get(&format!("/api/v1/audit/verify?checkpoint={bad}"), &p.admin)
            .await;
        let body = problem(res, 422).await;
        assert_eq!(body["errors"][0]["field"], "checkpoint", "{body}");
    }
}

/// Events written before seals, one of them hashed over a float that did
/// not read back to the same bits: `banso audit rehash` records the change
/// of hashing and lists it, rewriting nothing, and verification then
/// explains it rather than calling the chain broken. An event edited
/// otherwise stays broken.
#[actix_web::test]
async fn rehash_explains_events_hashed_the_first_way() {
    let app = TestApp::spawn().await;
    let p = place(&app, "NP-004").await;
    record_visits(&app, &p, 1).await;
    assert_eq!(verify(&app, &p.admin).await["ok"], true);
    // Make every event one of the first way, as an older version wrote
    // them (the first way's hash over the columns), and the visit's hash
    // one over a value whose accuracy was one bit away.
    let mut conn = app.conn();
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let ids: Vec<Row> = diesel::RunQueryDsl::load(
        diesel::sql_query("SELECT id FROM audit_events ORDER BY seq"),
        &mut conn,
    )
    .unwrap();
    for r in &ids {
        legacy(&mut conn, r.id, false);
    }
    let visit = n(
        &app,
        "SELECT id AS n FROM audit_events WHERE entity = 'assistance'",
    );
    legacy(&mut conn, visit, true);
    // The chain is made again from the start, as when these events were
    // written: the checkpoint of the chain as it was goes with it.
    first_checkpoint(&app, &p.admin).await;
    relink(&mut conn);
    std::fs::remove_file(
        app.settings
            .data_dir
            .join("audit")
            .join("checkpoints.jsonl"),
    )
    .unwrap();
    let v = verify(&app, &p.admin).await;
    assert_eq!(v["ok"], false, "{v}");
    let visit_seq = n(
        &app,
        &format!("SELECT seq AS n FROM audit_events WHERE id = {visit}"),
    );
    assert_eq!(v["first_broken"]["seq"], visit_seq, "{v}");

    let next = n(&app, "SELECT max(seq) + 1 AS n FROM audit_events");
    let before = n(&app, "SELECT count(*) AS n FROM audit_events");
    let out = Command::new(env!("CARGO_BIN_EXE_banso"))
        .env("DATABASE_URL", &app.db.url)
        .env("BANSO_LOG", "warn")
        .env("BANSO_DATA_DIR", crate::helpers::temp_dir("data"))
        .args(["audit", "rehash", "--before", &next.to_string()])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 of them are explained"), "{text}");
    // One event more, the record of the change; nothing else rewritten.
    assert_eq!(
        n(&app, "SELECT count(*) AS n FROM audit_events"),
        before + 1
    );
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM audit_events WHERE action = 'hashing_changed' \
                 AND entity = 'audit' AND (after->>'before_seq')::bigint = {next} \
                 AND jsonb_array_length(after->'unverifiable') = 1"
            )
        ),
        1
    );
    let v = verify(&app, &p.admin).await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["explained"], 1, "{v}");

    // An event of the first way edited afterwards is not explained.
    execute(
        &app,
        "UPDATE audit_events SET actor_name = 'someone else' WHERE seq = 1",
    );
    let v = verify(&app, &p.admin).await;
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["first_broken"]["seq"], 1, "{v}");
}

/// Turns event `id` into one of the first way: no seal, the hash over the
/// columns as read back (or over a value one bit away, as the old bug did).
fn legacy(conn: &mut diesel::PgConnection, id: i64, off_by_a_bit: bool) {
    use banso::audit::record::Stored;
    use banso::db::schema::audit_events as a;
    use diesel::prelude::*;
    let mut r: Stored = a::table
        .find(id)
        .select(Stored::as_select())
        .first(conn)
        .unwrap();
    if off_by_a_bit
        && let Some(acc) = r
            .after
            .as_mut()
            .and_then(|v| v.pointer_mut("/position/accuracy_m"))
    {
        let f = acc.as_f64().unwrap();
        *acc = json!(f64::from_bits(f.to_bits() + 1));
    }
    let hash = r.content().legacy_hash();
    diesel::update(a::table.find(id))
        .set((
            a::sealed.eq(None::<String>),
            a::openings.eq(None::<String>),
            a::content_hash.eq(hash),
        ))
        .execute(conn)
        .unwrap();
}

/// Chains the events again from the start, as the linker did when they
/// were written.
fn relink(conn: &mut diesel::PgConnection) {
    use diesel::prelude::*;
    diesel::sql_query("UPDATE audit_events SET seq = NULL, prev_hash = NULL, chain_hash = NULL")
        .execute(conn)
        .unwrap();
    banso::audit::chain::link_all(conn).unwrap();
}
