//! The change feed portals mirror data with.

use serde_json::{Value, json};

use crate::helpers::village;
use crate::helpers::{TestApp, count, problem};

async fn feed(app: &TestApp, token: &str, query: &str) -> Value {
    // The linker numbers events every 250 ms; link now rather than wait,
    // off this thread, so that the client keeps tending its connections.
    let url = app.db.url.clone();
    actix_web::web::block(move || {
        let mut conn = <diesel::PgConnection as diesel::Connection>::establish(&url).unwrap();
        banso::audit::chain::link_all(&mut conn).unwrap();
    })
    .await
    .unwrap();
    let res = app.get(&format!("/api/v1/changes{query}"), token).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[actix_web::test]
async fn the_feed_lists_changes_in_the_area_in_commit_order() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let cb = village(&app, "01273", "Thôn Nà Pình");
    let tq = village(&app, "00691", "Thôn Lũng Cú");
    let team_cb: Value = app
        .post_json(
            "/api/v1/teams",
            Some(&admin),
            &json!({ "village_id": cb.id, "name": "Tổ Nà Pình" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&admin),
            &json!({ "village_id": tq.id, "name": "Tổ Lũng Cú" }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let house: Value = app
        .post_json(
            "/api/v1/households",
            Some(&officer),
            &json!({ "village_id": cb.id, "head_name": "Hà Văn Chính", "size": 3, "poverty_status": "poor" }),
        )
        .await
        .json()
        .await
        .unwrap();
    // A read is no change.
    assert_eq!(
        app.get(
            &format!("/api/v1/households/{}", house["id"].as_str().unwrap()),
            &officer
        )
        .await
        .status(),
        200
    );

    let page = feed(&app, &officer, "").await;
    let items = page["items"].as_array().unwrap();
    let seen: Vec<(&str, &str)> = items
        .iter()
        .map(|c| {
            (
                c["entity"].as_str().unwrap(),
                c["entity_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("team", team_cb["id"].as_str().unwrap()),
            ("household", house["id"].as_str().unwrap())
        ],
        "{page}"
    );
    assert!(items.iter().all(|c| c["action"] == "create"));
    assert!(items[0]["seq"].as_i64().unwrap() < items[1]["seq"].as_i64().unwrap());
    assert_eq!(page["more"], false);

    // Page by one, then poll: nothing new keeps the cursor where it was.
    let first = feed(&app, &officer, "?limit=1").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    assert_eq!(first["more"], true);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let second = feed(&app, &officer, &format!("?limit=1&cursor={cursor}")).await;
    assert_eq!(second["items"][0]["entity"], "household");
    let end = second["next_cursor"].as_str().unwrap().to_string();
    let idle = feed(&app, &officer, &format!("?cursor={end}")).await;
    assert!(idle["items"].as_array().unwrap().is_empty());
    assert_eq!(idle["next_cursor"], end.as_str());

    // A change after the cursor shows up on the next poll.
    let res = app
        .client
        .patch(app.url(&format!(
            "/api/v1/households/{}",
            house["id"].as_str().unwrap()
        )))
        .bearer_auth(&officer)
        .json(&json!({ "size": 4, "version": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let next = feed(&app, &officer, &format!("?cursor={end}&entity=household")).await;
    assert_eq!(next["items"][0]["action"], "update");

    problem(
        app.get("/api/v1/changes?entity=secret", &officer).await,
        422,
    )
    .await;
    problem(
        app.get("/api/v1/changes?cursor=nonsense", &officer).await,
        422,
    )
    .await;
    problem(
        app.client
            .get(app.url("/api/v1/changes"))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
}

/// The `(entity, entity_id, action)` of every item of the caller's feed
/// after `cursor` (from the start when `None`).
async fn items(app: &TestApp, token: &str, cursor: Option<&str>) -> Vec<(String, String, String)> {
    let query = cursor.map_or_else(
        || "?limit=500".to_string(),
        |c| format!("?limit=500&cursor={c}"),
    );
    let page = feed(app, token, &query).await;
    assert_eq!(page["more"], false, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["entity"].as_str().unwrap().to_string(),
                c["entity_id"].as_str().unwrap_or("").to_string(),
                c["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn of(entity: &str, id: &str, action: &str) -> (String, String, String) {
    (entity.to_string(), id.to_string(), action.to_string())
}

/// An import of households is one change per household, in the feed of
/// the area each lies in.
#[actix_web::test]
async fn an_import_shows_each_household_in_its_areas_feed() {
    let app = TestApp::spawn().await;
    let na_pinh = village(&app, "01273", "Thôn Nà Pình");
    let khuoi_ky = village(&app, "01279", "Thôn Khuổi Ky");
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let thuc_phan = app
        .token_for("canbo.thucphan", "officer", Some("01273"))
        .await;
    let nung_tri_cao = app
        .token_for("canbo.nungtricao", "officer", Some("01279"))
        .await;
    let csv = format!(
        "village_code,head_name,size,poverty_status\n\
         {a},Nông Văn Dũng,4,poor\n{a},Hà Thị Lan,3,near_poor\n{b},Lục Văn Tài,5,poor\n",
        a = na_pinh.code,
        b = khuoi_ky.code
    );
    let res = app
        .client
        .post(app.url("/api/v1/households/import"))
        .bearer_auth(&officer)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let ids_in = |v: &banso::units::model::UnitRow| {
        let mut conn = app.conn();
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Text)]
            id: String,
        }
        diesel::RunQueryDsl::load::<Id>(
            diesel::sql_query(format!(
                "SELECT id::text AS id FROM households WHERE village_id = '{}' ORDER BY id",
                v.id
            )),
            &mut conn,
        )
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect::<Vec<_>>()
    };
    let (a, b) = (ids_in(&na_pinh), ids_in(&khuoi_ky));
    assert_eq!((a.len(), b.len()), (2, 1));
    let sorted = |mut v: Vec<(String, String, String)>| {
        v.sort();
        v
    };
    let expect =
        |ids: &[String]| -> Vec<_> { ids.iter().map(|id| of("household", id, "import")).collect() };
    assert_eq!(sorted(items(&app, &thuc_phan, None).await), expect(&a));
    assert_eq!(sorted(items(&app, &nung_tri_cao, None).await), expect(&b));
    let all: Vec<String> = a.iter().chain(&b).cloned().collect();
    assert_eq!(
        sorted(items(&app, &officer, None).await),
        sorted(expect(&all))
    );
    // The events carry no personal data.
    assert_eq!(
        count(
            &mut app.conn(),
            "SELECT count(*) AS n FROM audit_events WHERE action = 'import' \
             AND after->>'head_name' = '(recorded)'"
        ),
        3
    );
}

/// A household moved to a village of another commune leaves the old
/// commune's feed (`move_out`) and is updated in the new one's; a caller
/// who sees both gets the leaving first.
#[actix_web::test]
async fn a_household_moved_away_is_seen_leaving_the_old_area() {
    let app = TestApp::spawn().await;
    let na_pinh = village(&app, "01273", "Thôn Nà Pình");
    let khuoi_ky = village(&app, "01279", "Thôn Khuổi Ky");
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let old = app
        .token_for("canbo.thucphan", "officer", Some("01273"))
        .await;
    let new = app
        .token_for("canbo.nungtricao", "officer", Some("01279"))
        .await;
    let house: Value = app
        .post_json(
            "/api/v1/households",
            Some(&officer),
            &json!({ "village_id": na_pinh.id, "head_name": "Hà Văn Chính", "size": 3, "poverty_status": "poor" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = house["id"].as_str().unwrap();
    let cursor = |page: &Value| page["next_cursor"].as_str().unwrap().to_string();
    let old_at = cursor(&feed(&app, &old, "").await);
    let new_at = cursor(&feed(&app, &new, "").await);
    let all_at = cursor(&feed(&app, &officer, "").await);

    let res = app
        .client
        .patch(app.url(&format!("/api/v1/households/{id}")))
        .bearer_auth(&officer)
        .json(&json!({ "village_id": khuoi_ky.id, "version": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    assert_eq!(
        items(&app, &old, Some(&old_at)).await,
        vec![of("household", id, "move_out")]
    );
    assert_eq!(
        items(&app, &new, Some(&new_at)).await,
        vec![of("household", id, "update")]
    );
    assert_eq!(
        items(&app, &officer, Some(&all_at)).await,
        vec![
            of("household", id, "move_out"),
            of("household", id, "update")
        ]
    );
    // The old commune can no longer read it.
    assert_eq!(
        app.get(&format!("/api/v1/households/{id}"), &old)
            .await
            .status(),
        404
    );
    assert_eq!(
        count(
            &mut app.conn(),
            &format!(
                "SELECT count(*) AS n FROM audit_events WHERE action = 'move_out' \
                 AND entity_id = '{id}' AND area_path = '{}' AND unit_id = '{}' \
                 AND after->>'village_id' = '{}'",
                na_pinh.path, na_pinh.id, khuoi_ky.id
            )
        ),
        1
    );
    // An edit that stays in the village is no leaving.
    let res = app
        .client
        .patch(app.url(&format!("/api/v1/households/{id}")))
        .bearer_auth(&officer)
        .json(&json!({ "size": 4, "version": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        count(
            &mut app.conn(),
            "SELECT count(*) AS n FROM audit_events WHERE action = 'move_out'"
        ),
        1
    );
}

/// A unit list imported by an operator is in the feed: each unit added or
/// changed, in the area it lies in.
#[actix_web::test]
async fn a_units_import_is_in_the_feed() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    // The officer of Cao Bằng as it is before the import.
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let dir = crate::helpers::temp_dir("units");
    let list = dir.join("units-2026-01-01.csv");
    std::fs::write(
        &list,
        "level,code,name,parent_code,type,short_name,province_code\n\
         province,04,Tỉnh Cao Bằng,,Tỉnh,Cao Bằng,04\n",
    )
    .unwrap();
    // Off this thread, so that the client keeps tending its connections.
    let url = app.db.url.clone();
    actix_web::web::block(move || {
        let mut conn = <diesel::PgConnection as diesel::Connection>::establish(&url).unwrap();
        let ctx = banso::audit::Ctx::system("units import");
        banso::units::import::import(
            &mut conn,
            vec![banso::units::import::Source::Path(list)],
            Some(&ctx),
        )
        .unwrap();
    })
    .await
    .unwrap();
    let new = banso::units::import::unit_id(
        "province",
        "04",
        chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    )
    .to_string();
    let page = feed(&app, &admin, "?entity=unit&limit=1").await;
    assert_eq!(page["more"], true);
    // The officer's Cao Bằng (of 2025-07-01) and its communes now end on
    // 2025-12-31: changed.
    let seen = items(&app, &officer, None).await;
    let cao_bang = banso::units::import::unit_id(
        "province",
        "04",
        chrono::NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
    );
    let in_cao_bang = count(
        &mut app.conn(),
        &format!(
            "SELECT count(*) AS n FROM units WHERE path LIKE '{}/%' AND valid_to = '2025-12-31'",
            cao_bang.simple()
        ),
    );
    assert!(in_cao_bang > 1);
    assert_eq!(seen.len() as i64, in_cao_bang, "{seen:?}");
    assert!(seen.iter().all(|(e, _, a)| e == "unit" && a == "update"));
    assert!(seen.contains(&of("unit", &cao_bang.to_string(), "update")));
    // The new province is nobody's area yet: the admin sees it.
    let mut cursor: Option<String> = None;
    let mut created = Vec::new();
    loop {
        let q = match &cursor {
            Some(c) => format!("?entity=unit&limit=500&cursor={c}"),
            None => "?entity=unit&limit=500".to_string(),
        };
        let page = feed(&app, &admin, &q).await;
        for c in page["items"].as_array().unwrap() {
            if c["action"] == "create" {
                created.push(c["entity_id"].as_str().unwrap().to_string());
            }
        }
        cursor = Some(page["next_cursor"].as_str().unwrap().to_string());
        if page["more"] == false {
            break;
        }
    }
    assert_eq!(created, vec![new]);
}

/// The feed never skips a change that commits late: a transaction that
/// wrote its event first but commits after a later one is still shown,
/// once, after it, to a client that had already read past the later one.
#[actix_web::test]
async fn the_feed_never_skips_a_change_that_commits_late() {
    use diesel::Connection;
    let app = TestApp::spawn().await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let na_pinh = village(&app, "01273", "Thôn Nà Pình");
    let start = feed(&app, &officer, "").await["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();

    // The early transaction: it writes its change's event (taking the
    // lower event id) and stays open.
    let (written_tx, written_rx) = std::sync::mpsc::channel::<String>();
    let (commit_tx, commit_rx) = std::sync::mpsc::channel::<()>();
    let url = app.db.url.clone();
    let village_id = na_pinh.id;
    let path = na_pinh.path.clone();
    let early = std::thread::spawn(move || {
        let mut conn = diesel::PgConnection::establish(&url).unwrap();
        conn.transaction::<_, banso::error::ApiError, _>(|conn| {
            let id = uuid::Uuid::now_v7();
            let e = banso::audit::Event::new(
                banso::audit::Action::Create,
                banso::audit::Entity::Team,
                id,
            )
            .at(village_id, &path);
            banso::audit::record(conn, &banso::audit::Ctx::system("early"), e)?;
            written_tx.send(id.to_string()).unwrap();
            commit_rx.recv().unwrap();
            Ok(())
        })
        .unwrap();
    });
    let early_id = actix_web::web::block(move || written_rx.recv().unwrap())
        .await
        .unwrap();

    // The late transaction: a request that starts after it and commits
    // first.
    let team: Value = app
        .post_json(
            "/api/v1/teams",
            Some(&officer),
            &json!({ "village_id": na_pinh.id, "name": "Tổ Nà Pình" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let late_id = team["id"].as_str().unwrap().to_string();

    // A client reads now: only the committed change, and its cursor.
    let page = feed(&app, &officer, &format!("?cursor={start}")).await;
    let seen: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["entity_id"].as_str().unwrap())
        .collect();
    assert_eq!(seen, vec![late_id.as_str()], "{page}");
    let after_late = page["next_cursor"].as_str().unwrap().to_string();

    commit_tx.send(()).unwrap();
    early.join().unwrap();
    let ids: Vec<i64> = [&early_id, &late_id]
        .iter()
        .map(|e| {
            count(
                &mut app.conn(),
                &format!("SELECT id AS n FROM audit_events WHERE entity_id = '{e}'"),
            )
        })
        .collect();
    assert!(ids[0] < ids[1], "the early event has the lower id: {ids:?}");

    // From that cursor, the early change, once; from the start, both, once
    // each, in the order they committed.
    assert_eq!(
        items(&app, &officer, Some(&after_late)).await,
        vec![of("team", &early_id, "create")]
    );
    assert_eq!(
        items(&app, &officer, Some(&start)).await,
        vec![
            of("team", &late_id, "create"),
            of("team", &early_id, "create")
        ]
    );
}

/// The ids of one kind of record the database holds, as the feed names them.
fn ids_of(app: &TestApp, table: &str) -> std::collections::BTreeSet<String> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    diesel::RunQueryDsl::load::<Id>(
        diesel::sql_query(format!("SELECT id::text AS id FROM {table}")),
        &mut app.conn(),
    )
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect()
}

/// A portal starting a mirror from the feed alone gets every record, the
/// ones written in bulk (as the demo and the seed write them) and the ones
/// written while it loads, each created exactly once: no gap and no double
/// between what it loaded and what it follows.
#[actix_web::test]
async fn a_mirror_started_from_the_feed_gets_every_record_once_while_writes_go_on() {
    let app = TestApp::spawn().await;
    let na_pinh = village(&app, "01273", "Thôn Nà Pình");
    // Written in bulk, without an event per record, then announced.
    {
        let mut conn = app.conn();
        let made = banso::demo::generate_registry(
            &mut conn,
            std::slice::from_ref(&na_pinh),
            30..=30,
            &mut banso::demo::Lcg(7),
        )
        .unwrap();
        assert_eq!(made.households, 30);
        // The registry, and the units the test database was made with.
        let announced = banso::changes::announce::unlisted(&mut conn, "demo").unwrap();
        assert!(announced > 31 + made.members, "{announced}");
        assert_eq!(
            count(
                &mut conn,
                "SELECT count(*) AS n FROM audit_events WHERE entity = 'household' \
                 AND action = 'create' AND actor_name = 'demo'"
            ),
            30
        );
        // Linked before the mirror starts, so that its pages link little.
        banso::audit::chain::link_all(&mut conn).unwrap();
        // A second pass finds nothing left to announce.
        assert_eq!(
            banso::changes::announce::unlisted(&mut conn, "demo").unwrap(),
            0
        );
    }

    // Logged in after the bulk work, which blocks this thread for seconds.
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;

    // Households written while the mirror pages through the feed.
    let writer = async {
        let mut made = Vec::new();
        for n in 0..25 {
            let res = app
                .post_json(
                    "/api/v1/households",
                    Some(&officer),
                    &json!({
                        "village_id": na_pinh.id,
                        "head_name": format!("Hộ mới {n}"),
                        "size": 3,
                        "poverty_status": "poor",
                    }),
                )
                .await;
            assert_eq!(res.status(), 201);
            let body: Value = res.json().await.unwrap();
            made.push(body["id"].as_str().unwrap().to_string());
            actix_web::rt::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        made
    };
    let writing = std::cell::Cell::new(true);
    let mirror = async {
        let mut seen: Vec<(String, String, String)> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let still_writing = writing.get();
            let query = cursor.as_deref().map_or_else(
                || "?limit=7".to_string(),
                |c| format!("?limit=7&cursor={c}"),
            );
            let page = feed(&app, &officer, &query).await;
            for c in page["items"].as_array().unwrap() {
                seen.push((
                    c["entity"].as_str().unwrap().to_string(),
                    c["entity_id"].as_str().unwrap().to_string(),
                    c["action"].as_str().unwrap().to_string(),
                ));
            }
            cursor = Some(page["next_cursor"].as_str().unwrap().to_string());
            // Done once a page read after the last write says nothing waits.
            if !still_writing && page["more"] == false {
                return seen;
            }
        }
    };
    let (made, seen) = futures_join(writer, mirror, &writing).await;
    assert_eq!(made.len(), 25);

    let mut creates = std::collections::BTreeMap::<(String, String), usize>::new();
    for (entity, id, action) in &seen {
        if action == "create" {
            *creates.entry((entity.clone(), id.clone())).or_default() += 1;
        }
    }
    assert!(creates.values().all(|n| *n == 1), "a record created twice");
    for (entity, table) in [
        ("household", "households"),
        ("team", "teams"),
        ("member", "members"),
    ] {
        let mirrored: std::collections::BTreeSet<String> = creates
            .keys()
            .filter(|(e, _)| e == entity)
            .map(|(_, id)| id.clone())
            .collect();
        assert_eq!(mirrored, ids_of(&app, table), "the mirror's {table}");
    }
    assert_eq!(ids_of(&app, "households").len(), 55);
    for id in &made {
        assert!(creates.contains_key(&("household".to_string(), id.clone())));
    }
}

/// Runs the writer and the mirror together; the mirror is told when the
/// writer is done.
async fn futures_join<W, M>(
    writer: W,
    mirror: M,
    writing: &std::cell::Cell<bool>,
) -> (Vec<String>, Vec<(String, String, String)>)
where
    W: std::future::Future<Output = Vec<String>>,
    M: std::future::Future<Output = Vec<(String, String, String)>>,
{
    let writer = async {
        let made = writer.await;
        writing.set(false);
        made
    };
    tokio::join!(writer, mirror)
}
