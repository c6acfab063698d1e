//! `banso seed`: a national seed at a tiny fraction holds what it says it
//! made, in every one of the 34 provinces, as the summary report shows it
//! and as the tables count it; a second run adds nothing.

use serde_json::Value;

use crate::helpers::{PASSWORD, TestApp, TestDb, count};
use crate::reports::summary;

#[actix_web::test]
async fn a_national_seed_at_a_fraction_is_counted_by_the_reports() {
    let app = TestApp::spawn_on(
        TestDb::from_template(),
        &[
            ("BANSO_ADMIN_PASSWORD", PASSWORD),
            ("BANSO_STATEMENT_TIMEOUT_MS", "60000"),
        ],
    )
    .await;
    let (url, settings) = (app.db.url.clone(), app.settings.clone());
    let seed = move || {
        let (url, settings) = (url.clone(), settings.clone());
        actix_web::web::block(move || {
            let mut conn = diesel::Connection::establish(&url).unwrap();
            let mut out = Vec::new();
            let made = banso::seed::run(
                &mut conn,
                &|| diesel::Connection::establish(&url).map_err(Into::into),
                &settings,
                banso::seed::Scale::National,
                0.0002,
                2,
                &mut out,
            )
            .map_err(|e| e.to_string())?;
            Ok::<_, String>((made, String::from_utf8_lossy(&out).to_string()))
        })
    };
    // The running totals' indexes as the migrations made them: a rebuilt
    // index is stored in a new file.
    let index_file = |conn: &mut diesel::PgConnection| {
        count(
            conn,
            "SELECT relfilenode::bigint AS n FROM pg_class WHERE relname = 'report_visit_years_year'",
        )
    };
    let before = index_file(&mut app.conn());
    let (made, progress) = seed().await.unwrap().unwrap();
    // 75,000 villages × 0.0002 = 15, and at least one in every province.
    assert_eq!(made.villages, 34, "{progress}");
    assert_eq!(made.teams, 34);
    // 350,000 members × 0.0002 = 70, at least 3 a team.
    assert_eq!(made.members, 102);
    assert!(made.households >= 34 * 233, "{made:?}");
    assert!(made.visits > made.households * 2, "{made:?}");
    // Three batches of 16 villages or fewer, filled two at once.
    assert!(
        progress.contains("16 villages a batch, 2 at once"),
        "{progress}"
    );
    assert!(progress.contains("34/34 villages"), "{progress}");
    assert!(
        progress.contains("rebuilding the running totals' indexes"),
        "{progress}"
    );
    assert!(progress.contains("seeded in"), "{progress}");

    let mut conn = app.conn();
    assert_ne!(
        index_file(&mut conn),
        before,
        "the running totals' indexes were rebuilt"
    );
    // Every record is stored, and in the change feed once: the activities
    // by the events written with them, the registry by the closing pass,
    // which leaves the activities alone.
    for (table, entity, made) in [
        ("teams", "team", made.teams),
        ("members", "member", made.members),
        ("households", "household", made.households),
        ("assistances", "assistance", made.visits),
        ("trainings", "training", made.trainings),
    ] {
        assert_eq!(
            count(&mut conn, &format!("SELECT count(*) AS n FROM {table}")),
            made,
            "{table}"
        );
        for counted in ["count(DISTINCT entity_id)", "count(*)"] {
            assert_eq!(
                count(
                    &mut conn,
                    &format!(
                        "SELECT {counted} AS n FROM audit_events \
                         WHERE entity = '{entity}' AND action = 'create'"
                    )
                ),
                made,
                "{table} announced, each once: {counted}"
            );
        }
    }
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM audit_events \
             WHERE entity IN ('assistance', 'training') AND actor_name = 'seed'"
        ),
        0,
        "the closing pass announced no activity"
    );

    // Each province's summary over the two years counts its share, and the
    // shares add up to what was made.
    // The seed made `admin` with BANSO_ADMIN_PASSWORD.
    let admin = app.tokens("admin").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let today = banso::units::repo::today();
    let first = banso::activities::month_of(today) - chrono::Months::new(24);
    let provinces: Vec<(String, String)> = diesel::RunQueryDsl::load::<Province>(
        diesel::sql_query(
            "SELECT id::text AS id, code FROM units WHERE level = 'province' AND valid_to IS NULL \
             ORDER BY code",
        ),
        &mut conn,
    )
    .unwrap()
    .into_iter()
    .map(|p| (p.id, p.code))
    .collect();
    assert_eq!(provinces.len(), 34);
    let mut sum = [0i64; 5];
    for (id, code) in &provinces {
        let s: Value = summary(
            &app,
            &admin,
            &format!("unit_id={id}&from={first}&to={today}&status=all"),
        )
        .await;
        let t = &s["totals"];
        assert_eq!(t["teams_active"], 1, "province {code}");
        let visits = t["visits"].as_i64().unwrap();
        assert!(visits > 0, "province {code} has visits");
        for (i, v) in [
            t["teams_active"].as_i64(),
            t["members"]["total"].as_i64(),
            t["households"]["total"].as_i64(),
            t["trainings"].as_i64(),
            Some(visits),
        ]
        .into_iter()
        .enumerate()
        {
            sum[i] += v.unwrap();
        }
    }
    assert_eq!(
        sum,
        [
            made.teams,
            made.members,
            made.households,
            made.trainings,
            made.visits
        ]
    );

    // A second run finds every village filled and makes nothing more.
    let (again, progress) = seed().await.unwrap().unwrap();
    assert_eq!(again, made, "{progress}");

    // A run without villages' connections, or with no jobs, says so and
    // makes nothing.
    let (url, settings) = (app.db.url.clone(), app.settings.clone());
    let failures = actix_web::web::block(move || {
        let mut conn: diesel::PgConnection = diesel::Connection::establish(&url).unwrap();
        let mut out = Vec::new();
        let refused = || Err("the database refused the connection".into());
        let mut run = |jobs| {
            banso::seed::run(
                &mut conn,
                &refused,
                &settings,
                banso::seed::Scale::National,
                0.0002,
                jobs,
                &mut out,
            )
            .map_err(|e| e.to_string())
            .err()
        };
        (run(2), run(0))
    })
    .await
    .unwrap();
    assert_eq!(
        failures,
        (
            Some("the database refused the connection".to_string()),
            Some("--jobs must be at least 1".to_string())
        )
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM assistances"),
        made.visits
    );
}

#[derive(diesel::QueryableByName)]
struct Province {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    code: String,
}
