//! The change feed portals mirror data with.

use serde_json::{Value, json};

use crate::helpers::village;
use crate::helpers::{TestApp, problem};

async fn feed(app: &TestApp, token: &str, query: &str) -> Value {
    // The linker numbers events every 250 ms; link now rather than wait.
    banso::audit::chain::link_all(&mut app.conn()).unwrap();
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
