//! Tests for `GET /api/v1/reports/summary`: every figure against a count
//! made here, live and by status, by child and by month, who may ask, bad
//! parameters, and the 2025 reform (merged communes, a split commune's
//! villages waiting for an officer).

use banso::units::import::unit_id;
use banso::units::model::UnitRow;
use chrono::NaiveDate;
use diesel::{Connection, PgConnection};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, count, fields, id_of, pairs, problem, unit, village};

fn n(app: &TestApp, sql: &str) -> i64 {
    count(&mut app.conn(), sql)
}

/// A POST that must succeed; its answer.
pub async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let res = app.post_json(path, Some(token), &body).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

async fn team(app: &TestApp, token: &str, village: &UnitRow) -> String {
    let body = json!({ "village_id": village.id, "name": format!("Tổ CNS {}", village.name),
                       "founded_on": "2022-05-01" });
    id_of(&post(app, token, "/api/v1/teams", body).await)
}

async fn member(app: &TestApp, token: &str, team: &str, gender: &str, role: &str) -> String {
    let body = json!({
        "team_id": team, "full_name": "Hoàng Thị Mai", "gender": gender,
        "team_role": role, "affiliation": "youth_union", "joined_on": "2024-03-01",
    });
    id_of(&post(app, token, "/api/v1/members", body).await)
}

async fn household(
    app: &TestApp,
    token: &str,
    village: &UnitRow,
    poverty: &str,
    lacking: bool,
) -> String {
    let body = json!({
        "village_id": village.id, "head_name": format!("Nông Văn {}", Uuid::new_v4().simple()),
        "size": 4, "poverty_status": poverty,
        "deprivations": if lacking { vec!["information_access"] } else { vec![] },
        "has_smartphone": if lacking { "no" } else { "yes" },
        "has_internet": "yes",
        "confirm_new": true,
    });
    id_of(&post(app, token, "/api/v1/households", body).await)
}

async fn visit(app: &TestApp, token: &str, household: &str, on: &str, help: Value) -> String {
    let body =
        json!({ "id": Uuid::new_v4(), "household_id": household, "visited_on": on, "help": help });
    id_of(&post(app, token, "/api/v1/assistances", body).await)
}

async fn training(app: &TestApp, token: &str, team: &str, on: &str, total: i32) -> String {
    let body = json!({
        "id": Uuid::new_v4(), "team_id": team, "held_on": on, "duration_minutes": 90,
        "topics": ["digital_skills"],
        "attendees": { "total": total, "women": total / 2, "ethnic_minority": total - 1, "poor": 3 },
    });
    id_of(&post(app, token, "/api/v1/trainings", body).await)
}

/// A summary as a client reads it; any answer but 200 fails the test.
pub async fn summary(app: &TestApp, token: &str, query: &str) -> Value {
    let res = app
        .get(&format!("/api/v1/reports/summary?{query}"), token)
        .await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{query}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// The figures that add up across rows: every number of an indicator
/// block except the distinct counts and the share, by JSON path.
fn additive(figures: &Value, month_rows: bool) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, i64)>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    walk(&format!("{prefix}.{k}"), v, out)
                }
            }
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    out.push((prefix.to_string(), i))
                }
            }
            _ => {}
        }
    }
    let mut skip = vec![
        "households_assisted",
        "poor_households_assisted",
        "poor_reached_share",
        "information_access",
    ];
    if month_rows {
        skip.extend(["teams_active", "members", "households", "poor_households"]);
    }
    for (k, v) in figures.as_object().unwrap() {
        if ["unit", "month", "villages"].contains(&k.as_str()) || skip.contains(&k.as_str()) {
            continue;
        }
        walk(k, v, &mut out);
    }
    out.sort();
    out
}

fn sum_rows(rows: &[&Value], month_rows: bool) -> Vec<(String, i64)> {
    let mut acc: std::collections::BTreeMap<String, i64> = Default::default();
    for r in rows {
        for (k, v) in additive(r, month_rows) {
            *acc.entry(k).or_default() += v;
        }
    }
    acc.into_iter().collect()
}

/// Two villages of Thục Phán (01273) with a team each; households poor,
/// near-poor and not poor; sessions and visits in October and November.
struct World {
    admin: String,
    commune: UnitRow,
    a: UnitRow,
    b: UnitRow,
    team_a: String,
    visits: Vec<String>,
    trainings: Vec<String>,
    poor_a: String,
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin_token().await;
    let commune = unit(app, "01273");
    let a = village(app, "01273", "Thôn Nà Pình");
    let b = village(app, "01273", "Thôn Khuổi Ky");
    let team_a = team(app, &admin, &a).await;
    let team_b = team(app, &admin, &b).await;
    member(app, &admin, &team_a, "female", "leader").await;
    member(app, &admin, &team_a, "male", "member").await;
    member(app, &admin, &team_b, "female", "leader").await;
    let poor_a = household(app, &admin, &a, "poor", true).await;
    let near_a = household(app, &admin, &a, "near_poor", false).await;
    let rich_b = household(app, &admin, &b, "not_poor", false).await;
    let poor_b = household(app, &admin, &b, "poor", true).await;
    let done = json!([{ "kind": "vneid", "outcome": "done" }]);
    let two = json!([{ "kind": "vneid", "outcome": "partly", "reason": "mạng yếu" },
                     { "kind": "cashless", "outcome": "not_done", "reason": "chưa có tài khoản" }]);
    let visits = vec![
        visit(app, &admin, &poor_a, "2025-10-03", done.clone()).await,
        visit(app, &admin, &poor_a, "2025-11-12", two.clone()).await,
        visit(app, &admin, &near_a, "2025-10-20", done.clone()).await,
        visit(app, &admin, &rich_b, "2025-11-02", two).await,
        visit(app, &admin, &poor_b, "2025-11-30", done.clone()).await,
        // Outside the period: never counted.
        visit(app, &admin, &poor_b, "2025-12-01", done).await,
    ];
    let trainings = vec![
        training(app, &admin, &team_a, "2025-10-05", 20).await,
        training(app, &admin, &team_b, "2025-11-09", 31).await,
        training(app, &admin, &team_b, "2025-09-30", 12).await,
    ];
    World {
        admin,
        commune,
        a,
        b,
        team_a,
        visits,
        trainings,
        poor_a,
    }
}

#[actix_web::test]
async fn every_figure_matches_a_count_of_the_records() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let q = format!(
        "unit_id={}&from=2025-10-01&to=2025-11-30&status=all",
        w.commune.id
    );
    let s = summary(&app, &w.admin, &q).await;
    let t = &s["totals"];
    let path = &w.commune.path;
    let in_area = |table: &str| format!("{table}.area_path LIKE '{path}%'");
    assert_eq!(s["unit"]["code"], "01273");
    assert_eq!(s["status"], "all");
    assert!(s["as_of"].is_string());
    assert_eq!(
        t["teams_active"],
        n(
            &app,
            &format!("SELECT count(*) AS n FROM teams WHERE {}", in_area("teams"))
        )
    );
    assert_eq!(t["teams_active"], 2);
    assert_eq!(
        t["members"]["total"],
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM members WHERE {}",
                in_area("members")
            )
        )
    );
    assert_eq!(t["members"]["by_role"], json!({ "leader": 2, "member": 1 }));
    assert_eq!(t["members"]["by_gender"], json!({ "female": 2, "male": 1 }));
    assert_eq!(t["members"]["by_affiliation"], json!({ "youth_union": 3 }));
    let period = "BETWEEN '2025-10-01' AND '2025-11-30'";
    assert_eq!(
        t["trainings"],
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM trainings WHERE held_on {period} AND {}",
                in_area("trainings")
            )
        )
    );
    assert_eq!(t["trainings"], 2);
    assert_eq!(
        t["attendees"],
        json!({ "total": 51, "women": 25, "ethnic_minority": 49, "poor": 6 })
    );
    assert_eq!(
        t["attendees"]["total"],
        n(
            &app,
            &format!(
                "SELECT sum(attendees_total) AS n FROM trainings WHERE held_on {period} AND {}",
                in_area("trainings")
            )
        )
    );
    let visits_sql = format!(
        "FROM assistances WHERE visited_on {period} AND {}",
        in_area("assistances")
    );
    assert_eq!(
        t["visits"],
        n(&app, &format!("SELECT count(*) AS n {visits_sql}"))
    );
    assert_eq!(t["visits"], 5);
    assert_eq!(
        t["households_assisted"],
        n(
            &app,
            &format!("SELECT count(DISTINCT household_id) AS n {visits_sql}")
        )
    );
    assert_eq!(t["households_assisted"], 4);
    assert_eq!(t["poor_households_assisted"], 3);
    assert_eq!(
        t["visits_by_kind"]["vneid"],
        json!({ "done": 3, "partly": 2, "not_done": 0 })
    );
    assert_eq!(
        t["visits_by_kind"]["cashless"],
        json!({ "done": 0, "partly": 0, "not_done": 2 })
    );
    assert_eq!(
        t["visits_by_kind"]["ecommerce"],
        json!({ "done": 0, "partly": 0, "not_done": 0 })
    );
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances, jsonb_array_elements(outcomes) o WHERE o->>'kind' = 'vneid' AND visited_on {period} AND {}",
                in_area("assistances")
            )
        ),
        5
    );
    assert_eq!(
        t["households"],
        json!({ "total": 4, "with_smartphone": 2, "with_internet": 4 })
    );
    assert_eq!(
        t["households"]["total"],
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM households WHERE {}",
                in_area("households")
            )
        )
    );
    assert_eq!(t["poor_households"], 3);
    assert_eq!(t["poor_reached_share"], 1.0);
    assert_eq!(t["information_access"]["poor_lacking"], 2);
    assert_eq!(t["information_access"]["reached"], 2);
    assert_eq!(t["information_access"]["reached_by_kind"]["vneid"], 2);
    assert_eq!(t["information_access"]["reached_by_kind"]["cashless"], 1);
    assert_eq!(s["rows"], json!([]));
    assert_eq!(s["unassigned"]["villages"], json!([]));
    assert_eq!(s["unassigned"]["visits"], 0);
    let distinct = s["distinct_counts"].as_array().unwrap();
    assert!(
        distinct.contains(&json!("households_assisted")),
        "{distinct:?}"
    );

    // By village: the rows add up to the totals, and name their villages.
    let by_child = summary(&app, &w.admin, &format!("{q}&group_by=child")).await;
    let rows: Vec<&Value> = by_child["rows"].as_array().unwrap().iter().collect();
    assert_eq!(rows.len(), 2);
    let codes: Vec<&str> = rows
        .iter()
        .map(|r| r["unit"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, [w.a.code.as_str(), w.b.code.as_str()]);
    assert_eq!(rows[0]["unit"]["level"], "village");
    assert_eq!(rows[0]["visits"], 3);
    assert_eq!(rows[1]["visits"], 2);
    assert_eq!(sum_rows(&rows, false), additive(&by_child["totals"], false));
    assert_eq!(by_child["totals"], s["totals"]);

    // By month: October and November, adding up for the period's figures.
    let by_month = summary(&app, &w.admin, &format!("{q}&group_by=month")).await;
    let rows: Vec<&Value> = by_month["rows"].as_array().unwrap().iter().collect();
    let months: Vec<&str> = rows.iter().map(|r| r["month"].as_str().unwrap()).collect();
    assert_eq!(months, ["2025-10", "2025-11"]);
    assert_eq!(rows[0]["visits"], 2);
    assert_eq!(rows[1]["visits"], 3);
    assert_eq!(rows[0]["households_assisted"], 2);
    assert_eq!(rows[1]["households_assisted"], 3);
    assert_eq!(rows[0]["teams_active"], 2);
    assert_eq!(sum_rows(&rows, true), additive(&by_month["totals"], true));
    assert!(
        by_month["not_additive"]
            .as_array()
            .unwrap()
            .contains(&json!("teams_active"))
    );
    assert_eq!(by_month["totals"]["households_assisted"], 4);

    // The province of today holds the commune's records too.
    let cao_bang = unit(&app, "04");
    let p = summary(
        &app,
        &w.admin,
        &format!(
            "unit_id={}&from=2025-10-01&to=2025-11-30&status=all&group_by=child",
            cao_bang.id
        ),
    )
    .await;
    assert_eq!(p["totals"]["visits"], 5);
    let row = row_of(&p, "01273");
    assert_eq!(row["visits"], 5);
    assert_eq!(p["rows"].as_array().unwrap().len(), 56);

    // Whole calendar years read the yearly totals: the same figures as the
    // visits themselves, by village too.
    for (from, to) in [("2025-01-01", "2025-12-31"), ("2024-01-01", "2025-12-31")] {
        let y = summary(
            &app,
            &w.admin,
            &format!(
                "unit_id={}&from={from}&to={to}&status=all&group_by=child",
                w.commune.id
            ),
        )
        .await;
        let t = &y["totals"];
        let raw = format!(
            "FROM assistances WHERE visited_on BETWEEN '{from}' AND '{to}' AND {}",
            in_area("assistances")
        );
        assert_eq!(
            t["visits"],
            n(&app, &format!("SELECT count(*) AS n {raw}")),
            "{from}"
        );
        assert_eq!(t["visits"], 6, "{from}");
        assert_eq!(
            t["households_assisted"],
            n(
                &app,
                &format!("SELECT count(DISTINCT household_id) AS n {raw}")
            ),
            "{from}"
        );
        assert_eq!(t["households_assisted"], 4, "{from}");
        assert_eq!(t["poor_households_assisted"], 3, "{from}");
        assert_eq!(t["information_access"]["reached"], 2, "{from}");
        assert_eq!(
            t["information_access"]["reached_by_kind"]["vneid"], 2,
            "{from}"
        );
        assert_eq!(
            t["information_access"]["reached_by_kind"]["cashless"], 1,
            "{from}"
        );
        assert_eq!(
            t["visits_by_kind"]["vneid"],
            json!({ "done": 4, "partly": 2, "not_done": 0 }),
            "{from}"
        );
        assert_eq!(
            t["visits_by_kind"]["cashless"],
            json!({ "done": 0, "partly": 0, "not_done": 2 }),
            "{from}"
        );
        let rows: Vec<&Value> = y["rows"].as_array().unwrap().iter().collect();
        assert_eq!(rows[0]["visits"], 3, "{from}");
        assert_eq!(rows[1]["visits"], 3, "{from}");
        assert_eq!(sum_rows(&rows, false), additive(t, false), "{from}");
    }
    let _ = (&w.team_a, &w.trainings);
}

#[actix_web::test]
async fn a_record_counts_at_once_and_moves_to_verified_when_verified() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let q = |status: &str| {
        format!(
            "unit_id={}&from=2025-12-01&to=2025-12-31&status={status}",
            w.a.id
        )
    };
    assert_eq!(
        summary(&app, &w.admin, &q("all")).await["totals"]["visits"],
        0
    );
    // The whole year, which reads the yearly totals, moves alike.
    let year = |status: &str| {
        format!(
            "unit_id={}&from=2025-01-01&to=2025-12-31&status={status}",
            w.a.id
        )
    };
    let year_visits = |s: &Value| {
        (
            s["totals"]["visits"].as_i64().unwrap(),
            s["totals"]["visits_by_kind"]["vneid"]["done"]
                .as_i64()
                .unwrap(),
            s["totals"]["households_assisted"].as_i64().unwrap(),
        )
    };
    let year_before = year_visits(&summary(&app, &w.admin, &year("all")).await);
    let verified_before = year_visits(&summary(&app, &w.admin, &year("verified")).await);
    let id = visit(
        &app,
        &w.admin,
        &w.poor_a,
        "2025-12-05",
        json!([{ "kind": "vneid", "outcome": "done" }]),
    )
    .await;
    let all = summary(&app, &w.admin, &q("all")).await;
    assert_eq!(all["totals"]["visits"], 1);
    assert_eq!(all["totals"]["households_assisted"], 1);
    let year_all = year_visits(&summary(&app, &w.admin, &year("all")).await);
    // The household was visited this year already: still counted once.
    assert_eq!(
        year_all,
        (year_before.0 + 1, year_before.1 + 1, year_before.2)
    );
    let village_sql = format!(
        "FROM assistances WHERE visited_on BETWEEN '2025-01-01' AND '2025-12-31' \
         AND area_path LIKE '{}%' AND archived_at IS NULL",
        w.a.path
    );
    assert_eq!(
        year_all.0,
        n(
            &app,
            &format!("SELECT count(*) AS n {village_sql} AND status IN ('submitted', 'verified')")
        )
    );
    assert_eq!(
        year_visits(&summary(&app, &w.admin, &year("verified")).await),
        verified_before,
        "not verified yet"
    );
    // status defaults to verified: nothing verified yet.
    let default = summary(
        &app,
        &w.admin,
        &format!("unit_id={}&from=2025-12-01&to=2025-12-31", w.a.id),
    )
    .await;
    assert_eq!(default["status"], "verified");
    assert_eq!(default["totals"]["visits"], 0);

    let officer = app.token_for("canbo.xa", "officer", Some("01273")).await;
    let res = app
        .post_json(
            &format!("/api/v1/assistances/{id}/verify"),
            Some(&officer),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let verified = summary(&app, &officer, &q("verified")).await;
    assert_eq!(verified["totals"]["visits"], 1);
    let year_verified = year_visits(&summary(&app, &officer, &year("verified")).await);
    // Its first verified visit of the year: counted among the verified.
    assert_eq!(
        year_verified,
        (
            verified_before.0 + 1,
            verified_before.1 + 1,
            verified_before.2 + 1
        )
    );
    assert_eq!(
        year_verified.2,
        n(
            &app,
            &format!(
                "SELECT count(DISTINCT household_id) AS n {village_sql} AND status = 'verified'"
            )
        )
    );
    assert_eq!(
        year_verified.0,
        n(
            &app,
            &format!("SELECT count(*) AS n {village_sql} AND status = 'verified'")
        )
    );
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE id = '{id}' AND status = 'verified'"
            )
        ),
        1
    );

    // A rejected or archived record is never counted.
    let other = visit(
        &app,
        &w.admin,
        &w.poor_a,
        "2025-12-06",
        json!([{ "kind": "vneid", "outcome": "done" }]),
    )
    .await;
    assert_eq!(
        summary(&app, &w.admin, &q("all")).await["totals"]["visits"],
        2
    );
    let res = app
        .post_json(
            &format!("/api/v1/assistances/{other}/reject"),
            Some(&officer),
            &json!({ "reason": "trùng" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        summary(&app, &w.admin, &q("all")).await["totals"]["visits"],
        1
    );
    assert_eq!(
        year_visits(&summary(&app, &w.admin, &year("all")).await),
        year_all,
        "a rejected visit leaves the year"
    );
    let _ = &w.visits;
}

#[actix_web::test]
async fn who_may_ask_and_where() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let period = "from=2025-10-01&to=2025-11-30";
    let leader = app
        .token_for("totruong", "team_leader", Some(w.a.code.as_str()))
        .await;
    let s = summary(
        &app,
        &leader,
        &format!("unit_id={}&{period}&status=all", w.a.id),
    )
    .await;
    assert_eq!(s["totals"]["visits"], 3);
    // The team leader's commune is outside its area: not found.
    refused(
        &app,
        &leader,
        &format!("unit_id={}&{period}", w.commune.id),
        404,
    )
    .await;
    let member = app
        .token_for("thanhvien", "member", Some(w.a.code.as_str()))
        .await;
    refused(&app, &member, &format!("unit_id={}&{period}", w.a.id), 403).await;
    let far = app.token_for("canbo.tq", "officer", Some("08")).await;
    refused(
        &app,
        &far,
        &format!("unit_id={}&{period}", w.commune.id),
        404,
    )
    .await;
    problem(
        app.get(
            &format!(
                "/api/v1/reports/summary?unit_id={}&{period}",
                Uuid::new_v4()
            ),
            &w.admin,
        )
        .await,
        404,
    )
    .await;
    let res = app
        .client
        .get(app.url(&format!(
            "/api/v1/reports/summary?unit_id={}&{period}",
            w.a.id
        )))
        .send()
        .await
        .unwrap();
    problem(res, 401).await;
    // An officer of today's province sees the old province and its districts.
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let old_district = unit_id(
        "district",
        "040",
        NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
    );
    summary(
        &app,
        &officer,
        &format!("unit_id={old_district}&from=2025-01-01&to=2025-06-30"),
    )
    .await;
    // A commune officer does not see the old district, part of which went elsewhere.
    let commune_officer = app.token_for("canbo.xa", "officer", Some("01273")).await;
    refused(
        &app,
        &commune_officer,
        &format!("unit_id={old_district}&{period}"),
        404,
    )
    .await;
}

#[actix_web::test]
async fn bad_parameters_are_named() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = unit(&app, "04").id;
    let ask = |q: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.get(&format!("/api/v1/reports/summary?{q}"), &admin)
                .await
        }
    };
    let body = problem(ask(String::new()).await, 422).await;
    assert_eq!(
        fields(&body),
        pairs(&[
            ("unit_id", "required"),
            ("from", "required"),
            ("to", "required")
        ])
    );
    let body = problem(
        ask(
            "unit_id=x&from=2025-13-01&to=yesterday&group_by=year&status=some&colour=red"
                .to_string(),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        fields(&body),
        pairs(&[
            ("unit_id", "invalid"),
            ("from", "invalid"),
            ("to", "invalid"),
            ("group_by", "invalid"),
            ("status", "invalid"),
            ("colour", "unknown_parameter")
        ])
    );
    let body = problem(
        ask(format!("unit_id={id}&from=2025-10-31&to=2025-10-01")).await,
        422,
    )
    .await;
    assert_eq!(fields(&body), pairs(&[("to", "before_from")]));
    let body = problem(
        ask(format!("unit_id={id}&from=2000-01-01&to=2025-10-01")).await,
        422,
    )
    .await;
    assert_eq!(fields(&body), pairs(&[("to", "period_too_long")]));
}

/// The row of the child unit with `code`.
fn row_of<'a>(summary: &'a Value, code: &str) -> &'a Value {
    summary["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unit"]["code"] == code)
        .unwrap_or_else(|| panic!("no row for {code}"))
}

/// A summary asked for and refused with `status`.
async fn refused(app: &TestApp, token: &str, query: &str, status: u16) -> Value {
    let res = app
        .get(&format!("/api/v1/reports/summary?{query}"), token)
        .await;
    problem(res, status).await
}

async fn assign(app: &TestApp, token: &str, path: &str, body: &Value) -> reqwest::Response {
    crate::helpers::patch(app, token, path, None, body).await
}

fn before_reform(level: &str, code: &str) -> Uuid {
    unit_id(level, code, NaiveDate::from_ymd_opt(2025, 3, 1).unwrap())
}

fn old_unit(app: &TestApp, level: &str, code: &str) -> UnitRow {
    banso::units::repo::get(&mut app.conn(), before_reform(level, code)).unwrap()
}

/// A village created under a commune before the reform, as it was then.
fn old_village(app: &TestApp, commune_code: &str, name: &str) -> UnitRow {
    let commune = old_unit(app, "commune", commune_code);
    banso::units::repo::create_village(&mut app.conn(), &commune, name, "Thôn", commune.valid_from)
        .unwrap()
}

/// The bundled lists imported again, as a later list would be: villages of
/// merged communes follow them. Run off the test's thread, which also runs
/// the server: blocking it for the import's seconds would let the server's
/// keep-alive lapse under the client's pooled connection.
async fn import_again(app: &TestApp) {
    let url = app.db.url.clone();
    actix_web::web::block(move || {
        let mut conn = PgConnection::establish(&url).expect("connect to the test database");
        banso::units::import::import(&mut conn, banso::units::import::Source::bundled(), None)
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    })
    .await
    .expect("the import's thread")
    .expect("import the bundled lists again");
}

#[actix_web::test]
async fn a_merged_commune_answers_for_its_old_communes() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    // Sông Hiến and Đề Thám (district 040) and Hoàng Tung (district 051)
    // went whole into Thục Phán (01273).
    let song_hien = old_village(&app, "01267", "Thôn Nà Cạn");
    let de_tham = old_village(&app, "01282", "Tổ 3");
    let hoang_tung = old_village(&app, "01696", "Bản Nà Rị");
    let mut homes = Vec::new();
    for v in [&song_hien, &de_tham, &hoang_tung] {
        let t = team(&app, &admin, v).await;
        member(&app, &admin, &t, "female", "leader").await;
        let h = household(&app, &admin, v, "poor", true).await;
        training(&app, &admin, &t, "2025-03-10", 15).await;
        visit(
            &app,
            &admin,
            &h,
            "2025-04-02",
            json!([{ "kind": "vneid", "outcome": "done" }]),
        )
        .await;
        homes.push((t, h));
    }
    visit(
        &app,
        &admin,
        &homes[0].1,
        "2025-06-30",
        json!([{ "kind": "cashless", "outcome": "done" }]),
    )
    .await;
    import_again(&app).await;
    let thuc_phan = unit(&app, "01273");
    let moved = banso::units::repo::get(&mut app.conn(), song_hien.id).unwrap();
    assert_eq!(moved.parent_id, Some(thuc_phan.id));
    assert!(moved.path.starts_with(&thuc_phan.path));
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE area_path = '{}'",
                moved.path
            )
        ),
        2
    );
    // After the reform, in the new commune.
    visit(
        &app,
        &admin,
        &homes[0].1,
        "2025-10-02",
        json!([{ "kind": "vneid", "outcome": "done" }]),
    )
    .await;

    let half = "from=2025-01-01&to=2025-06-30&status=all";
    let new = summary(&app, &admin, &format!("unit_id={}&{half}", thuc_phan.id)).await;
    assert_eq!(new["totals"]["visits"], 4);
    assert_eq!(new["totals"]["trainings"], 3);
    assert_eq!(new["totals"]["teams_active"], 3);
    let mut old = Vec::new();
    for code in ["01267", "01273", "01282", "01705", "01696"] {
        let id = before_reform("commune", code);
        old.push(summary(&app, &admin, &format!("unit_id={id}&{half}")).await["totals"].clone());
    }
    let old_refs: Vec<&Value> = old.iter().collect();
    assert_eq!(sum_rows(&old_refs, false), additive(&new["totals"], false));
    assert_eq!(old[0]["visits"], 2);
    // The old district answers as it would have then: two of the villages.
    let district = summary(
        &app,
        &admin,
        &format!(
            "unit_id={}&{half}&group_by=child",
            before_reform("district", "040")
        ),
    )
    .await;
    assert_eq!(district["totals"]["visits"], 3);
    assert_eq!(district["totals"]["teams_active"], 2);
    let row = row_of(&district, "01267");
    assert_eq!(row["visits"], 2);
    // Today's commune holds every record of its villages, before and after.
    let year = summary(
        &app,
        &admin,
        &format!(
            "unit_id={}&from=2025-01-01&to=2025-12-31&status=all",
            thuc_phan.id
        ),
    )
    .await;
    assert_eq!(year["totals"]["visits"], 5);
    // The officer of the new commune sees the moved village's team and households.
    let officer = app.token_for("canbo.xa", "officer", Some("01273")).await;
    let res = app
        .get(&format!("/api/v1/teams/{}", homes[0].0), &officer)
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .get(&format!("/api/v1/households/{}", homes[2].1), &officer)
        .await;
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn a_split_communes_villages_wait_for_an_officer() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    // Phường Quang Trung (00688, Hà Giang) was split between Hà Giang 2
    // (00691) and Hà Giang 1 (00694), both in Tuyên Quang (08).
    let split = old_village(&app, "00688", "Tổ 7");
    let t = team(&app, &admin, &split).await;
    member(&app, &admin, &t, "male", "leader").await;
    let h = household(&app, &admin, &split, "near_poor", true).await;
    visit(
        &app,
        &admin,
        &h,
        "2025-05-20",
        json!([{ "kind": "vneid", "outcome": "done" }]),
    )
    .await;
    import_again(&app).await;
    let waiting = banso::units::repo::get(&mut app.conn(), split.id).unwrap();
    assert_eq!(
        waiting.path, split.path,
        "a split commune's village does not move by itself"
    );

    let tuyen_quang = unit(&app, "08");
    let officer = app.token_for("canbo.tq", "officer", Some("08")).await;
    let q = format!(
        "unit_id={}&from=2025-01-01&to=2025-12-31&status=all&group_by=child",
        tuyen_quang.id
    );
    let s = summary(&app, &officer, &q).await;
    let villages = s["unassigned"]["villages"].as_array().unwrap();
    assert_eq!(villages.len(), 1, "{villages:?}");
    assert_eq!(villages[0]["id"], split.id.to_string());
    assert_eq!(villages[0]["former_commune"]["code"], "00688");
    assert_eq!(s["unassigned"]["visits"], 1);
    assert_eq!(s["unassigned"]["teams_active"], 1);
    assert_eq!(s["totals"]["visits"], 1);
    let rows: Vec<&Value> = s["rows"].as_array().unwrap().iter().collect();
    assert!(rows.iter().all(|r| r["visits"] == 0));
    let mut parts = rows.clone();
    parts.push(&s["unassigned"]);
    assert_eq!(sum_rows(&parts, false), additive(&s["totals"], false));

    // The officer lists it, an officer elsewhere does not.
    let list = app
        .get("/api/v1/units?level=village&unassigned=true", &officer)
        .await;
    let list: Value = list.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["items"][0]["id"], split.id.to_string());
    let cao_bang_officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let list: Value = app
        .get(
            "/api/v1/units?level=village&unassigned=true",
            &cao_bang_officer,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]));
    problem(
        app.get("/api/v1/units?level=commune&unassigned=true", &officer)
            .await,
        422,
    )
    .await;

    // Assigning: only an officer of the area, only to a successor.
    let ha_giang_2 = unit(&app, "00691");
    let path = format!("/api/v1/units/{}", split.id);
    let res = assign(
        &app,
        &cao_bang_officer,
        &path,
        &json!({ "parent_id": ha_giang_2.id }),
    )
    .await;
    problem(res, 404).await;
    let res = assign(
        &app,
        &officer,
        &path,
        &json!({ "parent_id": unit(&app, "01273").id }),
    )
    .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("parent_id", "not_a_successor")])
    );
    let res = assign(
        &app,
        &officer,
        &path,
        &json!({ "parent_id": ha_giang_2.id, "name": "x" }),
    )
    .await;
    problem(res, 422).await;
    let leader = app
        .token_for("totruong", "team_leader", Some(split.code.as_str()))
        .await;
    let res = assign(&app, &leader, &path, &json!({ "parent_id": ha_giang_2.id })).await;
    problem(res, 403).await;
    let res = assign(
        &app,
        &officer,
        &path,
        &json!({ "parent_id": ha_giang_2.id }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let moved: Value = res.json().await.unwrap();
    assert_eq!(moved["parent_id"], ha_giang_2.id.to_string());
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM households WHERE id = '{h}' AND area_path LIKE '{}%'",
                ha_giang_2.path
            )
        ),
        1
    );
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM audit_events WHERE entity = 'unit' AND entity_id = '{}' AND action = 'update'",
                split.id
            )
        ),
        1
    );
    let res = assign(
        &app,
        &officer,
        &path,
        &json!({ "parent_id": ha_giang_2.id }),
    )
    .await;
    problem(res, 409).await;

    // Now it counts under its new commune, and no longer waits.
    let s = summary(&app, &officer, &q).await;
    assert_eq!(s["unassigned"]["villages"], json!([]));
    assert_eq!(s["unassigned"]["visits"], 0);
    assert_eq!(s["totals"]["visits"], 1);
    let row = row_of(&s, "00691");
    assert_eq!(row["visits"], 1);
    assert_eq!(row["teams_active"], 1);
    let list: Value = app
        .get("/api/v1/units?level=village&unassigned=true", &officer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]));
    // The old commune still answers for it over its own time.
    let old = summary(
        &app,
        &admin,
        &format!(
            "unit_id={}&from=2025-01-01&to=2025-06-30&status=all",
            before_reform("commune", "00688")
        ),
    )
    .await;
    assert_eq!(old["totals"]["visits"], 1);
    // The new commune's leader account of the village sees its household.
    let leader = app
        .token_for("totruong2", "team_leader", Some(split.code.as_str()))
        .await;
    assert_eq!(
        app.get(&format!("/api/v1/households/{h}"), &leader)
            .await
            .status(),
        200
    );
}

/// The figures of the running totals rebuilt from the records, as the
/// migration does for records made before it, are the figures the totals
/// kept while the records were written; without the totals they are gone,
/// so the summary is read from them.
#[actix_web::test]
async fn the_totals_rebuilt_from_the_records_give_the_same_figures() {
    use diesel::connection::SimpleConnection;
    use diesel::migration::MigrationSource;
    use diesel_migrations::MigrationHarness;

    let app = TestApp::spawn().await;
    let w = world(&app).await;
    // A verified visit, a rejected one, an archived one and a household
    // whose poverty status changed after its visit.
    let checker = app.token_for("canbo.xa", "officer", Some("01273")).await;
    let verify = |id: &str| format!("/api/v1/assistances/{id}/verify");
    let res = app
        .post_json(&verify(&w.visits[0]), Some(&checker), &json!({}))
        .await;
    assert!(res.status().is_success(), "verify: {}", res.status());
    let res = app
        .post_json(
            &format!("/api/v1/assistances/{}/reject", w.visits[2]),
            Some(&checker),
            &json!({ "reason": "Trùng lặp" }),
        )
        .await;
    assert!(res.status().is_success(), "reject: {}", res.status());
    let res = crate::helpers::delete(
        &app,
        &w.admin,
        &format!("/api/v1/assistances/{}", w.visits[3]),
    )
    .await;
    assert!(res.status().is_success(), "archive: {}", res.status());
    let mut conn = app.conn();
    conn.batch_execute(&format!(
        "UPDATE households SET poverty_status = 'not_poor' WHERE id = '{}'",
        w.poor_a
    ))
    .unwrap();

    // Whole months and days around them, by village and by month.
    let queries: Vec<String> = [
        "from=2025-10-01&to=2025-11-30&status=all&group_by=child",
        "from=2025-10-04&to=2025-11-29&status=all&group_by=month",
        "from=2025-01-01&to=2025-12-31&status=verified",
    ]
    .iter()
    .map(|p| format!("unit_id={}&{p}", w.commune.id))
    .collect();
    let mut before = Vec::new();
    for q in &queries {
        before.push(summary(&app, &w.admin, q).await);
    }
    let figures = |s: &Value| (s["totals"].clone(), s["rows"].clone());
    assert_eq!(
        before[0]["totals"]["visits"].as_i64(),
        Some(n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM assistances WHERE area_path LIKE '{}%' \
                 AND visited_on BETWEEN '2025-10-01' AND '2025-11-30' \
                 AND status IN ('submitted', 'verified') AND archived_at IS NULL",
                w.commune.path
            )
        ))
    );

    conn.batch_execute(
        "TRUNCATE report_visit_months, report_visit_years, report_household_months, \
         report_household_counts, report_household_years, report_household_year_counts",
    )
    .unwrap();
    // Whole months and a whole year alike read the running totals, not the
    // visits (the second query's days around its whole months do).
    for (i, (q, b)) in queries.iter().zip(&before).enumerate() {
        let empty = summary(&app, &w.admin, q).await;
        if i != 1 {
            assert_eq!(
                empty["totals"]["visits"], 0,
                "the summary reads the totals: {q}"
            );
        }
        assert_ne!(figures(&empty), figures(b), "{q}");
    }

    conn.batch_execute("SELECT report_backfill()").unwrap();
    for (q, b) in queries.iter().zip(&before) {
        assert_eq!(
            figures(&summary(&app, &w.admin, q).await),
            figures(b),
            "{q}"
        );
    }

    // The migration itself, reverted and run again over these records.
    let migrations = MigrationSource::<diesel::pg::Pg>::migrations(&banso::db::MIGRATIONS).unwrap();
    let scale = migrations
        .iter()
        .find(|m| m.name().to_string().ends_with("_scale"))
        .expect("the running totals' migration");
    conn.revert_migration(scale.as_ref()).unwrap();
    conn.run_migration(scale.as_ref()).unwrap();
    for (q, b) in queries.iter().zip(&before) {
        assert_eq!(
            figures(&summary(&app, &w.admin, q).await),
            figures(b),
            "{q}"
        );
    }
}

/// A summary reads its visit figures on a second connection when the pool
/// has one idle, and everything on the request's own when it has none: a
/// server with a pool of one never has a second, and answers the same.
#[actix_web::test]
async fn a_busy_pool_answers_on_one_connection_with_the_same_figures() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let checker = app.token_for("canbo.xa", "officer", Some("01273")).await;
    let res = app
        .post_json(
            &format!("/api/v1/assistances/{}/verify", w.visits[1]),
            Some(&checker),
            &json!({}),
        )
        .await;
    assert!(res.status().is_success(), "verify: {}", res.status());
    let mut alone = app.settings.clone();
    alone.pool_size = 1;
    let (one, _handle) = crate::helpers::start_server(&alone, &app.db.url);
    let client = reqwest::Client::new();
    for (from, to, rest) in [
        ("2025-10-01", "2025-11-30", "status=all&group_by=child"),
        ("2025-10-04", "2025-11-29", "status=all&group_by=month"),
        ("2025-01-01", "2025-12-31", "status=verified"),
    ] {
        let q = format!("unit_id={}&from={from}&to={to}&{rest}", w.commune.id);
        let two = summary(&app, &w.admin, &q).await;
        let res = client
            .get(format!("{one}/api/v1/reports/summary?{q}"))
            .bearer_auth(&w.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{q}");
        let single: Value = res.json().await.unwrap();
        assert_eq!(single["totals"], two["totals"], "{q}");
        assert_eq!(single["rows"], two["rows"], "{q}");
        // And both agree with the records themselves.
        let statuses = if rest.contains("verified") {
            "('verified')"
        } else {
            "('submitted', 'verified')"
        };
        let visits = format!(
            "FROM assistances WHERE area_path LIKE '{}%' AND visited_on BETWEEN '{from}' \
             AND '{to}' AND status IN {statuses} AND archived_at IS NULL",
            w.commune.path
        );
        assert_eq!(
            single["totals"]["visits"],
            n(&app, &format!("SELECT count(*) AS n {visits}")),
            "{q}"
        );
        assert_eq!(
            single["totals"]["households_assisted"],
            n(
                &app,
                &format!("SELECT count(DISTINCT household_id) AS n {visits}")
            ),
            "{q}"
        );
        assert!(single["totals"]["visits"].as_i64() > Some(0), "{q}");
    }
}

/// A household that moved between two villages of a commune during the
/// year, visited in each, counts once for the commune and the province
/// (distinct over villages), and once in each village's row; archiving its
/// visit in one village leaves it counted in the other alone.
#[actix_web::test]
async fn a_household_visited_in_two_villages_in_a_year_counts_once() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let lacking_kind = json!([{ "kind": "cashless", "outcome": "done" }]);
    let moved = household(&app, &w.admin, &w.a, "poor", true).await;
    let first = visit(&app, &w.admin, &moved, "2025-03-10", lacking_kind.clone()).await;
    let res = app
        .client
        .patch(app.url(&format!("/api/v1/households/{moved}")))
        .bearer_auth(&w.admin)
        .json(&json!({ "village_id": w.b.id, "version": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    visit(&app, &w.admin, &moved, "2025-08-21", lacking_kind).await;
    let year = |unit: Uuid, extra: &str| {
        format!("unit_id={unit}&from=2025-01-01&to=2025-12-31&status=all{extra}")
    };
    // Counted independently: the distinct households visited in 2025.
    let path = &w.commune.path;
    let expected = n(
        &app,
        &format!(
            "SELECT count(DISTINCT household_id) AS n FROM assistances WHERE visited_on \
             BETWEEN '2025-01-01' AND '2025-12-31' AND area_path LIKE '{path}%'"
        ),
    );
    assert_eq!(expected, 5);
    let s = summary(&app, &w.admin, &year(w.commune.id, "&group_by=child")).await;
    assert_eq!(s["totals"]["households_assisted"], expected);
    assert_eq!(s["totals"]["poor_households_assisted"], 3 + 1);
    assert_eq!(
        s["totals"]["information_access"]["reached_by_kind"]["cashless"],
        2
    );
    // Each village counts it: 2 + 1 and 2 + 1.
    assert_eq!(row_of(&s, &w.a.code)["households_assisted"], 3);
    assert_eq!(row_of(&s, &w.b.code)["households_assisted"], 3);
    let by_month = summary(&app, &w.admin, &year(w.commune.id, "&group_by=month")).await;
    assert_eq!(by_month["totals"]["households_assisted"], expected);
    let month = |m: &str| {
        by_month["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["month"] == m)
            .unwrap()["households_assisted"]
            .clone()
    };
    assert_eq!((month("2025-03"), month("2025-08")), (json!(1), json!(1)));
    let cao_bang = unit(&app, "04");
    let p = summary(&app, &w.admin, &year(cao_bang.id, "")).await;
    assert_eq!(p["totals"]["households_assisted"], expected);

    // The visit in the first village archived: the household counts in the
    // second alone, still once.
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/assistances/{first}")))
        .bearer_auth(&w.admin)
        .header("if-match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let s = summary(&app, &w.admin, &year(w.commune.id, "&group_by=child")).await;
    assert_eq!(s["totals"]["households_assisted"], expected);
    assert_eq!(row_of(&s, &w.a.code)["households_assisted"], 2);
    assert_eq!(row_of(&s, &w.b.code)["households_assisted"], 3);
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM report_household_years WHERE household_id = '{moved}' AND shared"
            )
        ),
        0
    );
}
