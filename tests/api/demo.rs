//! The demo data (`serve --demo`) tells the truth: Cao Bằng's published
//! 1,462 teams and 6,686 members, households in every village, activities
//! from January 2025 to this month on both sides of the reform, and a few
//! villages of a split commune waiting for an officer.

use banso::units::import::unit_id;
use banso::units::repo::today;
use chrono::{Datelike, NaiveDate};
use serde_json::Value;

use crate::helpers::{TestApp, TestDb, count, unit};
use crate::reports::summary;

const PASSWORD: &str = "demo password 2026";

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

async fn login(app: &TestApp, username: &str) -> String {
    let res = app.login(username, PASSWORD).await;
    assert_eq!(res.status(), 200, "login of {username}");
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

#[actix_web::test]
async fn the_demo_shows_cao_bangs_published_figures_across_the_reform() {
    let app = TestApp::spawn_on(
        TestDb::from_template(),
        // This test checks the figures, not the speed (that is the
        // benchmarks' work): a whole province's months on a debug build of
        // a loaded machine may take longer than the default 10 s limit.
        &[
            ("BANSO_ADMIN_PASSWORD", PASSWORD),
            ("BANSO_STATEMENT_TIMEOUT_MS", "120000"),
            ("BANSO_POOL_TIMEOUT_MS", "60000"),
        ],
    )
    .await;
    let (url, settings) = (app.db.url.clone(), app.settings.clone());
    let load = move || {
        let (url, settings) = (url.clone(), settings.clone());
        actix_web::web::block(move || {
            let mut conn = diesel::Connection::establish(&url).unwrap();
            banso::demo::load(&mut conn, &settings).map_err(|e| e.to_string())
        })
    };
    load().await.unwrap().unwrap();
    let officer = login(&app, "canbo.caobang").await;
    let cao_bang = unit(&app, "04");
    let today = today();
    let s = summary(
        &app,
        &officer,
        &format!(
            "unit_id={}&from=2025-01-01&to={today}&status=all&group_by=month",
            cao_bang.id
        ),
    )
    .await;
    let t = &s["totals"];
    assert_eq!(t["teams_active"], 1462);
    assert_eq!(t["members"]["total"], 6686);
    let mut conn = app.conn();
    let path = &cao_bang.path;
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM teams WHERE area_path LIKE '{path}%' AND status = 'active'"
            )
        ),
        1462
    );
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM members WHERE area_path LIKE '{path}%' AND left_on IS NULL"
            )
        ),
        6686
    );
    // Households in every village of the province.
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM units v WHERE v.level = 'village' AND v.path LIKE '{path}%' \
             AND NOT EXISTS (SELECT 1 FROM households h WHERE h.village_id = v.id)"
            )
        ),
        0
    );
    assert_eq!(
        t["households"]["total"],
        count(
            &mut conn,
            &format!("SELECT count(*) AS n FROM households WHERE area_path LIKE '{path}%'")
        )
    );
    assert_eq!(
        t["visits"],
        count(
            &mut conn,
            &format!("SELECT count(*) AS n FROM assistances WHERE area_path LIKE '{path}%'")
        )
    );
    // Every month from January 2025 to this one has sessions and visits.
    let rows = s["rows"].as_array().unwrap();
    let months = (today.year() - 2025) * 12 + today.month() as i32;
    assert_eq!(rows.len(), months as usize);
    assert_eq!(rows[0]["month"], "2025-01");
    assert_eq!(
        rows.last().unwrap()["month"],
        today.format("%Y-%m").to_string()
    );
    for r in rows {
        assert!(
            r["visits"].as_i64().unwrap() > 0 && r["trainings"].as_i64().unwrap() > 0,
            "{}",
            r["month"]
        );
    }
    assert_eq!(s["unassigned"]["villages"].as_array().unwrap().len(), 0);

    // Before the reform the records lived in the old province and its
    // districts: the same figures, counted through the communes of then.
    let before = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
    let half = "from=2025-01-01&to=2025-06-30&status=all";
    let old = summary(
        &app,
        &officer,
        &format!(
            "unit_id={}&{half}&group_by=child",
            unit_id("province", "04", before)
        ),
    )
    .await;
    let new = summary(&app, &officer, &format!("unit_id={}&{half}", cao_bang.id)).await;
    assert!(old["totals"]["visits"].as_i64().unwrap() > 0);
    assert_eq!(old["totals"]["visits"], new["totals"]["visits"]);
    assert_eq!(old["totals"]["trainings"], new["totals"]["trainings"]);
    assert_eq!(old["totals"]["teams_active"], 1462);
    let districts = old["rows"].as_array().unwrap();
    assert_eq!(districts.len(), 10);
    assert!(
        districts
            .iter()
            .all(|d| d["unit"]["level"] == "district" && d["visits"].as_i64().unwrap() > 0)
    );
    // Verified up to two months ago.
    let verified = summary(
        &app,
        &officer,
        &format!("unit_id={}&from=2025-01-01&to=2025-06-30", cao_bang.id),
    )
    .await;
    assert_eq!(verified["status"], "verified");
    assert_eq!(verified["totals"]["visits"], new["totals"]["visits"]);

    // A few villages of a split commune wait for Tuyên Quang's officer.
    let tq = login(&app, "canbo.tuyenquang").await;
    let waiting: Value = app
        .get("/api/v1/units?level=village&unassigned=true", &tq)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(waiting["items"].as_array().unwrap().len(), 3, "{waiting}");
    let s = summary(
        &app,
        &tq,
        &format!("unit_id={}&{half}", unit(&app, "08").id),
    )
    .await;
    assert_eq!(s["unassigned"]["villages"].as_array().unwrap().len(), 3);
    assert_eq!(s["unassigned"]["teams_active"], 3);
    assert!(s["unassigned"]["visits"].as_i64().unwrap() > 0);

    // A portal mirroring Cao Bằng from the change feed alone gets every
    // team, member and household the demo wrote, each created once.
    banso::audit::chain::link_all(&mut conn).unwrap();
    for (entity, table) in [
        ("team", "teams"),
        ("member", "members"),
        ("household", "households"),
    ] {
        let mut created = std::collections::BTreeMap::<String, usize>::new();
        let mut cursor = String::new();
        loop {
            let page: Value = app
                .get(
                    &format!("/api/v1/changes?entity={entity}&limit=500{cursor}"),
                    &officer,
                )
                .await
                .json()
                .await
                .unwrap();
            for c in page["items"].as_array().unwrap() {
                if c["action"] == "create" {
                    *created
                        .entry(c["entity_id"].as_str().unwrap().to_string())
                        .or_default() += 1;
                }
            }
            cursor = format!("&cursor={}", page["next_cursor"].as_str().unwrap());
            if page["more"] == false {
                break;
            }
        }
        assert!(
            created.values().all(|n| *n == 1),
            "a {entity} created twice"
        );
        let ids: std::collections::BTreeSet<String> = diesel::RunQueryDsl::load::<Id>(
            diesel::sql_query(format!(
                "SELECT id::text AS id FROM {table} WHERE area_path LIKE '{path}%'"
            )),
            &mut conn,
        )
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
        assert!(ids.len() > 1000, "{table}: {}", ids.len());
        assert_eq!(
            created
                .into_keys()
                .collect::<std::collections::BTreeSet<_>>(),
            ids,
            "{table}"
        );
    }
    // And no record of any kind the feed reports lacks its change event.
    for (entity, table) in [
        ("unit", "units"),
        ("training", "trainings"),
        ("assistance", "assistances"),
    ] {
        assert_eq!(
            count(
                &mut conn,
                &format!(
                    "SELECT count(*) AS n FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM audit_events e \
                     WHERE e.entity = '{entity}' AND e.entity_id = t.id::text)"
                )
            ),
            0,
            "{table} without an event"
        );
    }

    // Loading again adds nothing, to the records or to the feed.
    let visits = count(&mut conn, "SELECT count(*) AS n FROM assistances");
    let events = count(&mut conn, "SELECT count(*) AS n FROM audit_events");
    load().await.unwrap().unwrap();
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM assistances"),
        visits
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM audit_events"),
        events
    );
}
