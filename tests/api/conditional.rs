//! `ETag` on every GET of a record or list, and `If-None-Match` answered 304.

use reqwest::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use serde_json::{Value, json};

use crate::helpers::{TestApp, patch, village};

async fn get_if(app: &TestApp, path: &str, token: &str, tag: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .bearer_auth(token)
        .header(IF_NONE_MATCH, tag)
        .send()
        .await
        .unwrap()
}

fn tag_of(res: &reqwest::Response) -> String {
    res.headers()
        .get(ETAG)
        .expect("an ETag")
        .to_str()
        .unwrap()
        .to_string()
}

#[actix_web::test]
async fn a_list_answers_304_until_it_changes() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let na_pinh = village(&app, "01273", "Thôn Nà Pình");
    let path = format!("/api/v1/households?unit_id={}", na_pinh.id);

    let first = app.get(&path, &token).await;
    assert_eq!(first.status(), 200);
    let tag = tag_of(&first);
    assert!(
        tag.starts_with("W/\""),
        "a list gets a weak tag of its bytes: {tag}"
    );
    let body: Value = first.json().await.unwrap();

    let again = get_if(&app, &path, &token, &tag).await;
    assert_eq!(again.status(), 304);
    assert_eq!(tag_of(&again), tag);
    // A 304 repeats what the 200 said about caching: household lists are
    // never stored.
    assert_eq!(again.headers()[CACHE_CONTROL], "no-store");
    assert!(again.bytes().await.unwrap().is_empty());

    // Another tag, or a list of tags without this one, gets the list.
    let other = get_if(&app, &path, &token, "W/\"something-else\", \"3\"").await;
    assert_eq!(other.status(), 200);
    assert_eq!(other.json::<Value>().await.unwrap(), body);

    let created = app
        .post_json(
            "/api/v1/households",
            Some(&token),
            &json!({
                "village_id": na_pinh.id,
                "head_name": "Nông Văn Thắng",
                "size": 4,
                "poverty_status": "poor"
            }),
        )
        .await;
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let changed = get_if(&app, &path, &token, &tag).await;
    assert_eq!(changed.status(), 200);
    assert_ne!(tag_of(&changed), tag);
    let list: Value = changed.json().await.unwrap();
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        body["items"].as_array().unwrap().len() + 1
    );
}

#[actix_web::test]
async fn a_record_keeps_its_version_tag_and_answers_304_until_edited() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let na_pinh = village(&app, "01273", "Thôn Nà Pình");
    let res = app
        .post_json(
            "/api/v1/teams",
            Some(&token),
            &json!({ "village_id": na_pinh.id, "name": "Tổ công nghệ số Nà Pình" }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let team: Value = res.json().await.unwrap();
    let path = format!("/api/v1/teams/{}", team["id"].as_str().unwrap());

    let read = app.get(&path, &token).await;
    assert_eq!(
        tag_of(&read),
        "\"1\"",
        "the strong version tag that If-Match takes"
    );
    assert_eq!(get_if(&app, &path, &token, "\"1\"").await.status(), 304);
    assert_eq!(get_if(&app, &path, &token, "W/\"1\"").await.status(), 304);
    assert_eq!(get_if(&app, &path, &token, "*").await.status(), 304);

    let edited = patch(
        &app,
        &token,
        &path,
        Some("\"1\""),
        &json!({ "name": "Tổ CNS Nà Pình" }),
    )
    .await;
    assert_eq!(edited.status(), 200);
    let after = get_if(&app, &path, &token, "\"1\"").await;
    assert_eq!(after.status(), 200);
    assert_eq!(tag_of(&after), "\"2\"");
    assert_eq!(
        after.json::<Value>().await.unwrap()["name"],
        "Tổ CNS Nà Pình"
    );
}

#[actix_web::test]
async fn errors_and_writes_carry_no_tag_of_their_bytes() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let missing = app
        .get("/api/v1/teams/0190a000-0000-7000-8000-000000000000", &token)
        .await;
    assert_eq!(missing.status(), 404);
    assert!(missing.headers().get(ETAG).is_none());
    // An If-None-Match never turns a refusal into a 304.
    let unauthenticated = app
        .client
        .get(app.url("/api/v1/teams"))
        .header(IF_NONE_MATCH, "*")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
}
