//! The OpenAPI document served to portals, and the page that shows it.

use serde_json::Value;

use crate::helpers::TestApp;

/// A value for a path parameter, by its name.
fn sample(name: &str) -> &'static str {
    match name {
        "kind" => "assistance-kinds",
        "code" => "vneid",
        "month" => "2026-01",
        _ => "01a20081-ac88-77e7-a33c-842aeaf0cacb",
    }
}

#[actix_web::test]
async fn every_documented_operation_is_served() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 40, "only {} paths", paths.len());

    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let method = match method.as_str() {
                "get" => reqwest::Method::GET,
                "post" => reqwest::Method::POST,
                "patch" => reqwest::Method::PATCH,
                "put" => reqwest::Method::PUT,
                "delete" => reqwest::Method::DELETE,
                _ => continue,
            };
            assert!(
                op["operationId"].is_string() && op["responses"].is_object(),
                "{path}"
            );
            let mut url = path.clone();
            while let Some(start) = url.find('{') {
                let end = url[start..].find('}').unwrap() + start;
                let name = url[start + 1..end].to_string();
                url.replace_range(start..=end, sample(&name));
            }
            // Without credentials: a route that exists answers anything but
            // "no such route" or "no such method".
            let res = app
                .client
                .request(method.clone(), app.url(&url))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            assert!(
                status != 404 && status != 405,
                "{method} {path} is documented but answers {status}"
            );
            operations += 1;
        }
    }
    assert!(operations >= 60, "only {operations} operations");

    // Every $ref points at something.
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"#/").skip(1) {
        let target = &piece[..piece.find('"').unwrap()];
        let found = target.split('/').try_fold(&doc, |node, key| node.get(key));
        assert!(found.is_some(), "dangling $ref #/{target}");
    }
}

#[actix_web::test]
async fn the_docs_page_is_served_without_a_token() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = res.text().await.unwrap();
    assert!(page.contains("/api/v1/openapi.json"));
}
