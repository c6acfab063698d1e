//! Tests for `sort` on the activity and registry lists: every order pages
//! through every record exactly once, ties included, and a cursor keeps
//! the order it was made under.

use diesel::connection::SimpleConnection;
use serde_json::Value;

use crate::activities::{create_household, create_member, create_visit, training, visit, world};
use crate::helpers::{TestApp, fields, id_of, pairs, problem};

/// Every id of a list, page by page (`limit=2`), in the order served.
async fn walk(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit=2&cursor={c}"),
            None => format!("{path}{sep}limit=2"),
        };
        let res = app.get(&url, token).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, 200, "{url}: {text}");
        let page: Value = serde_json::from_str(&text).unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        ids.extend(items.iter().map(id_of));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return ids,
        }
        assert!(ids.len() < 1000, "{path} never ends");
    }
}

/// The ids of `table` in the order `key` (`-` for descending), ties by id
/// in the same direction, as the database has them.
fn expected(app: &TestApp, table: &str, key: &str, filter: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let (col, dir) = match key.strip_prefix('-') {
        Some(k) => (k, "DESC"),
        None => (key, "ASC"),
    };
    let rows: Vec<Row> = diesel::RunQueryDsl::load(
        diesel::sql_query(format!(
            "SELECT id::text AS id FROM {table} WHERE {filter} ORDER BY {col} {dir}, id {dir}"
        )),
        &mut app.conn(),
    )
    .unwrap();
    rows.into_iter().map(|r| r.id).collect()
}

#[actix_web::test]
async fn every_order_pages_through_every_record_once() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let token = &w.admin;
    // Visits and sessions on few days: many ties.
    for (house, day) in [
        (&w.house_a, "2025-11-01"),
        (&w.house_a, "2025-11-01"),
        (&w.house_b, "2025-11-01"),
        (&w.house_b, "2025-11-02"),
        (&w.house_a, "2025-11-02"),
        (&w.house_far, "2025-10-30"),
        (&w.house_far, "2025-11-01"),
    ] {
        create_visit(&app, token, &visit(house, day)).await;
    }
    for (team, day) in [
        (&w.team_a, "2025-11-05"),
        (&w.team_a, "2025-11-05"),
        (&w.team_b, "2025-11-04"),
        (&w.team_far, "2025-11-05"),
        (&w.team_b, "2025-11-06"),
    ] {
        let res = app
            .post_json("/api/v1/trainings", Some(token), &training(team, day))
            .await;
        assert_eq!(res.status(), 201);
    }
    for head in ["Hà Văn Một", "Hà Văn Hai", "Hà Văn Ba"] {
        create_household(&app, token, &w.na_pinh, head).await;
    }
    for name in ["Lò Thị Bốn", "Lò Thị Năm"] {
        create_member(&app, token, &w.team_a, name).await;
    }
    for name in ["canbo.mot", "canbo.hai"] {
        app.create_user(name, "officer", Some("04")).await;
    }
    // Instants that tie too, and an edit that moves updated_at.
    app.conn()
        .batch_execute(
            "UPDATE assistances SET created_at = '2025-11-03 08:00:00+00' \
             WHERE id IN (SELECT id FROM assistances ORDER BY id LIMIT 4); \
             UPDATE trainings SET updated_at = '2025-11-07 01:02:03.456789+00' \
             WHERE id IN (SELECT id FROM trainings ORDER BY id DESC LIMIT 3); \
             UPDATE households SET created_at = '2025-11-03 08:00:00.000001+00', \
             updated_at = '2025-11-03 08:00:00.000001+00' \
             WHERE id IN (SELECT id FROM households ORDER BY id LIMIT 4); \
             UPDATE members SET created_at = '2025-11-03 08:00:00+00'; \
             UPDATE teams SET updated_at = '2025-11-03 08:00:00+00' \
             WHERE id IN (SELECT id FROM teams ORDER BY id LIMIT 2); \
             UPDATE users SET created_at = '2025-11-03 08:00:00+00'",
        )
        .unwrap();

    let lists: [(&str, &str, &[&str]); 6] = [
        (
            "assistances",
            "archived_at IS NULL",
            &["visited_on", "created_at", "updated_at"],
        ),
        (
            "trainings",
            "archived_at IS NULL",
            &["held_on", "created_at", "updated_at"],
        ),
        (
            "households",
            "archived_at IS NULL",
            &["created_at", "updated_at"],
        ),
        (
            "members",
            "archived_at IS NULL",
            &["joined_on", "created_at", "updated_at"],
        ),
        (
            "teams",
            "archived_at IS NULL",
            &["created_at", "updated_at"],
        ),
        ("users", "TRUE", &["created_at", "updated_at"]),
    ];
    for (table, filter, keys) in lists {
        let all = expected(&app, table, "id", filter);
        assert!(all.len() >= 3, "{table}");
        // Without sort: by id, as always.
        assert_eq!(walk(&app, token, &format!("/api/v1/{table}")).await, all);
        let mut orders: Vec<String> = vec!["id".into(), "-id".into()];
        for k in keys {
            orders.push(k.to_string());
            orders.push(format!("-{k}"));
        }
        for order in orders {
            let got = walk(&app, token, &format!("/api/v1/{table}?sort={order}")).await;
            assert_eq!(
                got,
                expected(&app, table, &order, filter),
                "{table} sort={order}"
            );
        }
    }
    // With a filter, too.
    let path = format!("/api/v1/assistances?sort=-visited_on&team_id={}", w.team_a);
    assert_eq!(
        walk(&app, token, &path).await,
        expected(
            &app,
            "assistances",
            "-visited_on",
            &format!("team_id = '{}'", w.team_a)
        )
    );
}

#[actix_web::test]
async fn a_cursor_keeps_its_order_and_unknown_keys_are_named() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let token = &w.admin;
    for day in ["2025-11-01", "2025-11-02", "2025-11-03"] {
        create_visit(&app, token, &visit(&w.house_a, day)).await;
    }
    let first_page = |sort: &'static str| {
        let app = &app;
        async move {
            let path = match sort {
                "" => "/api/v1/assistances?limit=1".to_string(),
                s => format!("/api/v1/assistances?limit=1&sort={s}"),
            };
            let page: Value = app.get(&path, token).await.json().await.unwrap();
            page["next_cursor"].as_str().unwrap().to_string()
        }
    };
    let by_day = first_page("-visited_on").await;
    let by_id = first_page("").await;
    for (sort, cursor, made) in [
        ("visited_on", &by_day, "-visited_on"),
        ("-created_at", &by_day, "-visited_on"),
        ("-visited_on", &by_id, "id"),
        ("-id", &by_id, "id"),
    ] {
        let res = app
            .get(
                &format!("/api/v1/assistances?sort={sort}&cursor={cursor}"),
                token,
            )
            .await;
        let body = problem(res, 422).await;
        assert_eq!(fields(&body), pairs(&[("cursor", "other_order")]), "{sort}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("sort={made}")),
            "{body}"
        );
    }
    // Without sort, a sorted cursor is refused too.
    let res = app
        .get(&format!("/api/v1/assistances?cursor={by_day}"), token)
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("cursor", "other_order")])
    );

    for (path, allowed) in [
        ("/api/v1/assistances", "visited_on"),
        ("/api/v1/trainings", "held_on"),
        ("/api/v1/households", "created_at"),
        ("/api/v1/members", "joined_on"),
        ("/api/v1/teams", "updated_at"),
        ("/api/v1/users", "created_at"),
    ] {
        for bad in ["name", "-held_on_x", "--visited_on", "visited_on;drop"] {
            let res = app.get(&format!("{path}?sort={bad}"), token).await;
            let body = problem(res, 422).await;
            assert_eq!(fields(&body), pairs(&[("sort", "invalid")]), "{path} {bad}");
            let message = body["errors"][0]["message"].as_str().unwrap();
            assert!(
                message.contains(allowed) && message.contains("id"),
                "{message}"
            );
        }
    }
    // A list served in one order takes only that one.
    assert_eq!(
        app.get("/api/v1/units?level=province&sort=code", token)
            .await
            .status(),
        200
    );
    let res = app
        .get("/api/v1/units?level=province&sort=-code", token)
        .await;
    assert_eq!(
        fields(&problem(res, 422).await),
        pairs(&[("sort", "invalid")])
    );
}
