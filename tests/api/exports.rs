//! Lists and the summary as CSV and XLSX: the same rows as the JSON lists
//! over all their pages, the summary's figures, headers in both languages,
//! file names, who may export personal data and the audit event it
//! leaves, CSV injection, a big export that streams, and bad inputs.

use std::collections::BTreeSet;

use banso::units::model::UnitRow;
use reqwest::Response;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, count, id_of, problem, unit, village};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let res = app.post_json(path, Some(token), &body).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

async fn get(app: &TestApp, token: &str, path: &str, accept: Option<&str>) -> Response {
    let mut req = app.client.get(app.url(path)).bearer_auth(token);
    if let Some(a) = accept {
        req = req.header("Accept", a);
    }
    req.send().await.unwrap()
}

/// A CSV answer, checked for its head and its byte-order mark, as rows of
/// text (the header first).
async fn csv_of(res: Response) -> Vec<Vec<String>> {
    let status = res.status();
    let ctype = res.headers()["content-type"].to_str().unwrap().to_string();
    let bytes = res.bytes().await.unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(ctype, "text/csv; charset=utf-8");
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a byte-order mark");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&bytes[3..]);
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

pub(crate) async fn xlsx_of(res: Response) -> calamine::Range<calamine::Data> {
    use calamine::Reader;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], XLSX);
    let bytes = res.bytes().await.unwrap();
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    book.worksheet_range_at(0).unwrap().unwrap()
}

/// The ids of a JSON list over all its pages, two rows a page.
async fn all_pages(app: &TestApp, token: &str, path: &str, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{path}?{query}&limit=2");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let res = app.get(&url, token).await;
        assert_eq!(res.status(), 200, "{url}");
        let page: Value = res.json().await.unwrap();
        ids.extend(page["items"].as_array().unwrap().iter().map(id_of));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return ids,
        }
    }
}

fn column<'a>(rows: &'a [Vec<String>], name: &str) -> Vec<&'a str> {
    let i = rows[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", rows[0]));
    rows[1..].iter().map(|r| r[i].as_str()).collect()
}

struct World {
    admin: String,
    commune: UnitRow,
    a: UnitRow,
    teams: Vec<String>,
    households: Vec<String>,
}

async fn household(
    app: &TestApp,
    token: &str,
    village: &UnitRow,
    name: &str,
    poverty: &str,
) -> String {
    let body = json!({
        "village_id": village.id, "head_name": name, "size": 4, "poverty_status": poverty,
        "deprivations": ["information_access"], "has_smartphone": "no", "has_internet": "yes",
        "phone": "+84912345678", "confirm_new": true,
    });
    id_of(&post(app, token, "/api/v1/households", body).await)
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin_token().await;
    let commune = unit(app, "01273");
    let a = village(app, "01273", "Thôn Nà Pình");
    let b = village(app, "01273", "Thôn Khuổi Ky");
    let mut teams = Vec::new();
    for v in [&a, &b] {
        let body = json!({ "village_id": v.id, "name": format!("Tổ CNS {}", v.name),
                           "founded_on": "2022-05-01" });
        teams.push(id_of(&post(app, &admin, "/api/v1/teams", body).await));
    }
    for (i, (gender, role)) in [
        ("female", "leader"),
        ("male", "member"),
        ("female", "deputy"),
    ]
    .iter()
    .enumerate()
    {
        let body = json!({
            "team_id": teams[i % 2], "full_name": format!("Hoàng Thị Mai {i}"), "gender": gender,
            "team_role": role, "affiliation": "youth_union", "joined_on": "2024-03-01",
        });
        post(app, &admin, "/api/v1/members", body).await;
    }
    let mut households = Vec::new();
    for (i, poverty) in ["poor", "near_poor", "not_poor", "poor", "poor"]
        .iter()
        .enumerate()
    {
        let v = if i % 2 == 0 { &a } else { &b };
        households.push(household(app, &admin, v, &format!("Nông Văn {i}"), poverty).await);
    }
    let done = json!([{ "kind": "vneid", "outcome": "done" }]);
    let two = json!([{ "kind": "vneid", "outcome": "partly", "reason": "mạng yếu" },
                     { "kind": "cashless", "outcome": "not_done", "reason": "chưa có tài khoản" }]);
    for (i, on) in [
        "2025-10-03",
        "2025-10-20",
        "2025-11-02",
        "2025-11-12",
        "2025-11-30",
        "2025-12-01",
    ]
    .iter()
    .enumerate()
    {
        let help = if i % 2 == 0 {
            done.clone()
        } else {
            two.clone()
        };
        let body = json!({ "id": Uuid::new_v4(), "household_id": households[i % 5],
                           "visited_on": on, "help": help });
        post(app, &admin, "/api/v1/assistances", body).await;
    }
    for (i, on) in ["2025-10-05", "2025-11-09", "2025-09-30"]
        .iter()
        .enumerate()
    {
        let body = json!({
            "id": Uuid::new_v4(), "team_id": teams[i % 2], "held_on": on, "duration_minutes": 90,
            "topics": ["digital_skills"],
            "attendees": { "total": 20 + i, "women": 10, "ethnic_minority": 9, "poor": 3 },
        });
        post(app, &admin, "/api/v1/trainings", body).await;
    }
    World {
        admin,
        commune,
        a,
        teams,
        households,
    }
}

#[actix_web::test]
async fn each_list_export_holds_the_rows_of_the_json_list() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let unit = w.commune.id;
    let lists = [
        (
            "/api/v1/assistances",
            format!("unit_id={unit}&from=2025-10-01&to=2025-11-30"),
        ),
        (
            "/api/v1/assistances",
            format!("unit_id={unit}&kind=cashless"),
        ),
        (
            "/api/v1/trainings",
            format!("unit_id={unit}&from=2025-10-01"),
        ),
        (
            "/api/v1/households",
            format!("unit_id={unit}&poverty_status=poor"),
        ),
        ("/api/v1/households", format!("unit_id={}", w.a.id)),
        ("/api/v1/members", "gender=female".to_string()),
        ("/api/v1/members", format!("team_id={}", w.teams[0])),
        ("/api/v1/teams", format!("unit_id={unit}")),
    ];
    for (path, query) in &lists {
        let json: BTreeSet<String> = all_pages(&app, &w.admin, path, query)
            .await
            .into_iter()
            .collect();
        assert!(!json.is_empty(), "{path}?{query} has rows");
        let rows = csv_of(
            get(
                &app,
                &w.admin,
                &format!("{path}?{query}&format=csv&lang=en"),
                None,
            )
            .await,
        )
        .await;
        let ids = column(&rows, "ID");
        assert_eq!(ids.len(), json.len(), "{path}?{query}: one line per row");
        assert_eq!(
            ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>(),
            json,
            "{path}?{query}"
        );
        // The same by Accept, as a workbook.
        let sheet =
            xlsx_of(get(&app, &w.admin, &format!("{path}?{query}"), Some(XLSX)).await).await;
        let xlsx_ids: BTreeSet<String> = sheet.rows().skip(1).map(|r| r[0].to_string()).collect();
        assert_eq!(sheet.height(), json.len() + 1, "{path}?{query}");
        assert_eq!(xlsx_ids, json, "{path}?{query}");
    }
    // Against the database too: every visit of the period, no more.
    let rows = csv_of(
        get(
            &app,
            &w.admin,
            &format!("/api/v1/assistances?unit_id={unit}&from=2025-10-01&to=2025-11-30&format=csv"),
            None,
        )
        .await,
    )
    .await;
    let n = count(
        &mut app.conn(),
        "SELECT count(*) AS n FROM assistances WHERE visited_on BETWEEN '2025-10-01' AND '2025-11-30'",
    );
    assert_eq!(rows.len() as i64 - 1, n);
    assert_eq!(n, 5);
}

#[actix_web::test]
async fn headers_names_and_codes_in_vietnamese_by_default_and_in_english() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let path = format!("/api/v1/assistances?unit_id={}", w.commune.id);
    let res = get(&app, &w.admin, &path, Some("text/csv")).await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"luot-ho-tro-20"),
        "{disposition}"
    );
    assert!(
        disposition.contains("filename*=UTF-8''L%C6%B0%E1%BB%A3t-h%E1%BB%97-tr%E1%BB%A3-20"),
        "{disposition}"
    );
    assert!(disposition.ends_with(".csv"), "{disposition}");
    let vi = csv_of(res).await;
    assert_eq!(
        &vi[0][..6],
        ["ID", "Ngày hỗ trợ", "Xã", "Thôn", "Mã thôn", "Tổ CNSCĐ"]
    );
    let villages = column(&vi, "Thôn");
    assert!(villages.contains(&"Thôn Nà Pình"), "{villages:?}");
    assert!(column(&vi, "Xã").iter().all(|c| *c == w.commune.name));
    let outcomes = column(&vi, "Kết quả");
    assert!(
        outcomes.iter().any(|o| o.contains("Hoàn thành")),
        "{outcomes:?}"
    );
    assert!(
        column(&vi, "Trạng thái")
            .iter()
            .all(|s| *s == "Chờ xác nhận")
    );
    let dates = column(&vi, "Ngày hỗ trợ");
    assert!(dates.contains(&"2025-10-03"), "{dates:?}");

    let en = csv_of(get(&app, &w.admin, &format!("{path}&format=csv&lang=en"), None).await).await;
    assert_eq!(
        &en[0][..6],
        [
            "ID",
            "Visit date",
            "Commune",
            "Village",
            "Village code",
            "Team"
        ]
    );
    assert!(column(&en, "Status").iter().all(|s| *s == "Submitted"));
    assert!(
        column(&en, "Outcomes")
            .iter()
            .any(|o| o.contains("Not done"))
    );

    // Households: codes named, in both languages.
    let hh = csv_of(
        get(
            &app,
            &w.admin,
            &format!("/api/v1/households?unit_id={}&format=csv", w.commune.id),
            None,
        )
        .await,
    )
    .await;
    assert!(column(&hh, "Phân loại hộ").contains(&"Hộ cận nghèo"));
    assert!(
        column(&hh, "Thiếu hụt")
            .iter()
            .all(|d| *d == "Phương tiện tiếp cận thông tin")
    );
    // A workbook's dates are dates, and its header is in English on request.
    let sheet =
        xlsx_of(get(&app, &w.admin, &format!("{path}&format=xlsx&lang=en"), None).await).await;
    assert_eq!(
        sheet.get((0, 1)).map(|c| c.to_string()).as_deref(),
        Some("Visit date")
    );
    assert!(
        matches!(sheet.get((1, 1)), Some(calamine::Data::DateTime(_))),
        "{:?}",
        sheet.get((1, 1))
    );
    let members =
        csv_of(get(&app, &w.admin, "/api/v1/members?format=csv&lang=en", None).await).await;
    let roles: BTreeSet<&str> = column(&members, "Role").into_iter().collect();
    assert_eq!(roles, BTreeSet::from(["Deputy", "Leader", "Member"]));
}

#[actix_web::test]
async fn the_summary_export_holds_the_figures_of_the_json_summary() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let q = format!(
        "unit_id={}&from=2025-10-01&to=2025-11-30&status=all",
        w.commune.id
    );
    let s = crate::reports::summary(&app, &w.admin, &q).await;
    let rows = csv_of(
        get(
            &app,
            &w.admin,
            &format!("/api/v1/reports/summary?{q}&group_by=month&format=csv&lang=en"),
            None,
        )
        .await,
    )
    .await;
    let by_month = crate::reports::summary(&app, &w.admin, &format!("{q}&group_by=month")).await;
    // The totals line, then one per month.
    assert_eq!(
        rows.len(),
        1 + 1 + by_month["rows"].as_array().unwrap().len()
    );
    let fixed = [
        ("Active teams", "/teams_active"),
        ("Members", "/members/total"),
        ("Members, role: Leader", "/members/by_role/leader"),
        ("Members, gender: Female", "/members/by_gender/female"),
        ("Training sessions", "/trainings"),
        ("Attendees", "/attendees/total"),
        ("Attendees: women", "/attendees/women"),
        ("Visits", "/visits"),
        ("Households assisted", "/households_assisted"),
        ("Poor households assisted", "/poor_households_assisted"),
        ("Poor households", "/poor_households"),
        ("Households", "/households/total"),
        (
            "Households: with a smartphone",
            "/households/with_smartphone",
        ),
        (
            "Poor households lacking information access",
            "/information_access/poor_lacking",
        ),
        (
            "Poor households lacking information access, reached",
            "/information_access/reached",
        ),
    ];
    let check = |line: &[String], figures: &Value| {
        for (header, pointer) in fixed {
            let i = rows[0]
                .iter()
                .position(|h| h == header)
                .unwrap_or_else(|| panic!("{header}"));
            let want = figures
                .pointer(pointer)
                .map_or("0".to_string(), Value::to_string);
            assert_eq!(line[i], want, "{header}");
        }
        let share = rows[0]
            .iter()
            .position(|h| h == "Poor reached share")
            .unwrap();
        match figures["poor_reached_share"].as_f64() {
            Some(x) => assert!((line[share].parse::<f64>().unwrap() - x).abs() < 1e-9),
            None => assert_eq!(line[share], ""),
        }
    };
    check(&rows[1], &s["totals"]);
    assert_eq!(rows[1][1], w.commune.code);
    assert_eq!(rows[1][4], "2025-10-01");
    assert_eq!(rows[1][5], "2025-11-30");
    for (line, row) in rows[2..].iter().zip(by_month["rows"].as_array().unwrap()) {
        assert_eq!(line[3], row["month"].as_str().unwrap());
        check(line, row);
    }
    assert_eq!(rows[2][4], "2025-10-01");
    assert_eq!(rows[2][5], "2025-10-31");
    // Each kind of help: three columns named with the catalogue's name.
    #[derive(diesel::QueryableByName)]
    struct Kind {
        #[diesel(sql_type = diesel::sql_types::Text)]
        code: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        name_en: String,
    }
    let kinds: Vec<Kind> = diesel::RunQueryDsl::load(
        diesel::sql_query(
            "SELECT code, name_en FROM catalog_entries WHERE kind = 'assistance_kind'",
        ),
        &mut app.conn(),
    )
    .unwrap();
    let used = s["totals"]["visits_by_kind"].as_object().unwrap();
    assert_eq!(used["vneid"]["done"], 3, "{used:?}");
    for (code, want) in used {
        let name = &kinds.iter().find(|k| &k.code == code).unwrap().name_en;
        for (outcome, label) in [
            ("done", "Done"),
            ("partly", "Partly done"),
            ("not_done", "Not done"),
        ] {
            let header = format!("Visits: {name}, {label}");
            let i = rows[0]
                .iter()
                .position(|h| *h == header)
                .unwrap_or_else(|| panic!("{header} in {:?}", rows[0]));
            assert_eq!(rows[1][i], want[outcome].to_string(), "{header}");
            for (line, row) in rows[2..].iter().zip(by_month["rows"].as_array().unwrap()) {
                let n = row["visits_by_kind"][code][outcome].as_i64().unwrap_or(0);
                assert_eq!(line[i], n.to_string(), "{header} {}", row["month"]);
            }
        }
    }
    // By child, in Vietnamese, as a workbook: one line per child and the totals.
    let child = crate::reports::summary(&app, &w.admin, &format!("{q}&group_by=child")).await;
    let sheet = xlsx_of(
        get(
            &app,
            &w.admin,
            &format!("/api/v1/reports/summary?{q}&group_by=child&format=xlsx"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        sheet.get((0, 0)).map(|c| c.to_string()).as_deref(),
        Some("Đơn vị")
    );
    assert_eq!(sheet.height(), 2 + child["rows"].as_array().unwrap().len());
    let visits_col = (0..sheet.width())
        .find(|c| sheet.get((0, *c)).map(|h| h.to_string()).as_deref() == Some("Lượt hỗ trợ"))
        .unwrap();
    assert_eq!(
        sheet.get((1, visits_col)).map(|c| c.to_string()),
        Some(s["totals"]["visits"].to_string())
    );
    // The JSON summary still answers with `lang` or `format=json` given.
    let again = crate::reports::summary(&app, &w.admin, &format!("{q}&format=json&lang=en")).await;
    assert_eq!(again["totals"], s["totals"]);
}

#[actix_web::test]
async fn personal_data_is_exported_by_officers_of_the_area_only_and_audited() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let officer = app.token_for("canbo.xa", "officer", Some("01273")).await;
    let leader = app
        .token_for("totruong", "team_leader", Some(w.a.code.as_str()))
        .await;
    let member = app
        .token_for("thanhvien", "member", Some(w.a.code.as_str()))
        .await;
    let far = app.token_for("canbo.tq", "officer", Some("08")).await;
    for path in [
        "/api/v1/households?format=csv",
        "/api/v1/members?format=xlsx",
    ] {
        for token in [&leader, &member] {
            problem(get(&app, token, path, None).await, 403).await;
        }
        // Outside the area: nothing but the header.
        let res = get(&app, &far, &path.replace("xlsx", "csv"), None).await;
        assert_eq!(csv_of(res).await.len(), 1, "{path}");
    }
    // The visits' file holds no personal data: a team leader may have it.
    let rows = csv_of(get(&app, &leader, "/api/v1/assistances?format=csv", None).await).await;
    assert_eq!(
        rows.len() as i64 - 1,
        count(
            &mut app.conn(),
            &format!(
                "SELECT count(*) AS n FROM assistances a JOIN households h ON h.id = a.household_id WHERE h.village_id = '{}'",
                w.a.id
            )
        )
    );
    assert!(!rows[0].iter().any(|h| h == "Ghi chú" || h == "Vị trí"));

    let rows = csv_of(
        get(
            &app,
            &officer,
            "/api/v1/households?format=csv&q=nong&poverty_status=poor",
            None,
        )
        .await,
    )
    .await;
    let n = rows.len() - 1;
    assert_eq!(n, 3);
    let res = get(&app, &officer, "/api/v1/households?format=csv", None).await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    csv_of(res).await;
    // One event per export, written once it ended, naming filters and rows.
    let mut conn = app.conn();
    #[derive(diesel::QueryableByName)]
    struct Ev {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Jsonb>)]
        after: Option<Value>,
        #[diesel(sql_type = diesel::sql_types::Text)]
        entity: String,
    }
    let mut events: Vec<Ev> = Vec::new();
    for _ in 0..50 {
        events = diesel::RunQueryDsl::load(
            diesel::sql_query(
                "SELECT after, entity FROM audit_events WHERE action = 'export' ORDER BY id",
            ),
            &mut conn,
        )
        .unwrap();
        if events.iter().filter(|e| e.entity == "household").count() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The far officer's (empty) export, then the two of the officer.
    let ours: Vec<&Ev> = events.iter().filter(|e| e.entity == "household").collect();
    assert_eq!(ours.len(), 3, "one event per export");
    assert_eq!(ours[0].after.as_ref().unwrap()["rows"], 0);
    let ours = &ours[1..];
    let first = ours[0].after.as_ref().unwrap();
    assert_eq!(first["rows"], 3);
    assert_eq!(first["complete"], true);
    assert_eq!(first["format"], "csv");
    assert_eq!(
        first["filters"],
        json!({ "q": true, "poverty_status": "poor" })
    );
    let text = serde_json::to_string(&events.iter().map(|e| &e.after).collect::<Vec<_>>()).unwrap();
    assert!(
        !text.contains("Nông") && !text.contains("nong") && !text.contains("+8491"),
        "{text}"
    );
    assert_eq!(ours[1].after.as_ref().unwrap()["rows"], 5);
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(&w.admin)
        .send()
        .await
        .unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains("exports_total{kind=\"household\"}"),
        "{metrics}"
    );
}

#[actix_web::test]
async fn formulas_are_neutralised_in_csv_and_kept_as_text_in_xlsx() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let evil = "=HYPERLINK(\"http://example.com\",\"x\")";
    household(&app, &w.admin, &w.a, evil, "poor").await;
    household(&app, &w.admin, &w.a, "@SUM(1+1)", "poor").await;
    household(&app, &w.admin, &w.a, "-2+3", "poor").await;
    let path = format!("/api/v1/households?unit_id={}", w.a.id);
    let rows = csv_of(get(&app, &w.admin, &format!("{path}&format=csv&lang=en"), None).await).await;
    let names = column(&rows, "Head of household");
    let neutral = format!("'{evil}");
    for expected in [neutral.as_str(), "'@SUM(1+1)", "'-2+3", "Nông Văn 0"] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    // No cell of the file starts as a formula would (phones with `+`
    // included).
    for line in &rows {
        for cell in line {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell}"
            );
        }
    }
    // Numbers are not touched.
    assert!(column(&rows, "Size").iter().all(|s| *s == "4"));
    let sheet =
        xlsx_of(get(&app, &w.admin, &format!("{path}&format=xlsx&lang=en"), None).await).await;
    let col = (0..sheet.width())
        .find(|c| sheet.get((0, *c)).map(|h| h.to_string()).as_deref() == Some("Head of household"))
        .unwrap();
    let cells: Vec<&calamine::Data> = sheet.rows().skip(1).map(|r| &r[col]).collect();
    assert!(
        cells.contains(&&calamine::Data::String(evil.to_string())),
        "{cells:?}"
    );
    assert!(
        cells.contains(&&calamine::Data::String("-2+3".to_string())),
        "{cells:?}"
    );
    // Stored as given.
    assert_eq!(
        count(
            &mut app.conn(),
            &format!(
                "SELECT count(*) AS n FROM households WHERE head_name = '{}'",
                evil.replace('\'', "''")
            )
        ),
        1
    );
    let _ = &w.households;
}

#[actix_web::test]
async fn a_big_export_streams_and_every_row_arrives() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let mut conn = app.conn();
    diesel::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO assistances (id, household_id, team_id, area_path, visited_on, member_ids, \
             kinds, outcomes, recorded_at, received_at, recorded_by, status, body_hash) \
             SELECT gen_random_uuid(), household_id, team_id, area_path, visited_on, member_ids, \
             kinds, outcomes, recorded_at, received_at, recorded_by, status, body_hash \
             FROM (SELECT * FROM assistances LIMIT 1) a, generate_series(1, 120000)",
        ),
        &mut conn,
    )
    .unwrap();
    let total = count(&mut conn, "SELECT count(*) AS n FROM assistances");
    let exports = |conn: &mut diesel::PgConnection| {
        count(
            conn,
            "SELECT count(*) AS n FROM audit_events WHERE action = 'export' AND entity = 'assistance'",
        )
    };
    // A client of its own: the pooled connections of the shared one were
    // idle through the seeding and may be closing.
    let mut res = reqwest::Client::new()
        .get(app.url("/api/v1/assistances?format=csv"))
        .bearer_auth(&w.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("content-length").is_none());
    assert_eq!(res.headers()["transfer-encoding"], "chunked");
    let first = res.chunk().await.unwrap().unwrap();
    assert!(first.starts_with("\u{feff}ID,".as_bytes()));
    // The client has read one chunk of tens of megabytes: the server waits
    // for it, so the export has not ended (its audit event is not there).
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        exports(&mut conn),
        0,
        "the export ended before its body was read"
    );
    let mut lines = first.iter().filter(|b| **b == b'\n').count();
    let mut chunks = 1;
    while let Some(chunk) = res.chunk().await.unwrap() {
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        chunks += 1;
    }
    assert!(chunks > 10, "{chunks} chunks");
    assert_eq!(lines as i64, total + 1, "every row, and the header");
    for _ in 0..50 {
        if exports(&mut conn) == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(exports(&mut conn), 1);
    assert_eq!(
        count(
            &mut conn,
            "SELECT (after->>'rows')::bigint AS n FROM audit_events WHERE action = 'export'"
        ),
        total
    );
}

#[actix_web::test]
async fn bad_inputs_are_named() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let unit = unit(&app, "01273").id;
    for path in [
        "/api/v1/assistances?format=pdf",
        "/api/v1/households?format=CSV",
        &format!("/api/v1/reports/summary?unit_id={unit}&from=2025-10-01&to=2025-10-31&format=ods"),
    ] {
        let body = problem(get(&app, &admin, path, None).await, 422).await;
        assert_eq!(body["errors"][0]["field"], "format", "{path}");
    }
    let body = problem(
        get(&app, &admin, "/api/v1/teams?format=csv&lang=fr", None).await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "lang");
    for path in [
        "/api/v1/members",
        "/api/v1/trainings",
        &format!("/api/v1/reports/summary?unit_id={unit}&from=2025-10-01&to=2025-10-31"),
    ] {
        let body = problem(get(&app, &admin, path, Some("application/xml")).await, 406).await;
        assert!(
            body["detail"].as_str().unwrap().contains("text/csv"),
            "{body}"
        );
    }
    // The list's own checks hold for its files.
    let body = problem(
        get(
            &app,
            &admin,
            "/api/v1/assistances?status=lost&format=csv",
            None,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "status");
    let body = problem(
        get(
            &app,
            &admin,
            "/api/v1/households?deprivation=wifi&format=xlsx",
            None,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "deprivation");
    problem(
        get(
            &app,
            &admin,
            "/api/v1/assistances?from=yesterday&format=csv",
            None,
        )
        .await,
        400,
    )
    .await;
    let body = problem(
        get(
            &app,
            &admin,
            "/api/v1/reports/summary?from=2025-10-01&to=2025-10-31&format=csv",
            None,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "unit_id");
    problem(
        get(
            &app,
            &admin,
            &format!(
                "/api/v1/reports/summary?unit_id={}&from=2025-10-01&to=2025-10-31&format=xlsx",
                Uuid::new_v4()
            ),
            None,
        )
        .await,
        404,
    )
    .await;
    let res = app
        .client
        .get(app.url("/api/v1/households?format=csv"))
        .send()
        .await
        .unwrap();
    problem(res, 401).await;
    // No export was audited for refused requests.
    assert_eq!(
        count(
            &mut app.conn(),
            "SELECT count(*) AS n FROM audit_events WHERE action = 'export'"
        ),
        0
    );
}
