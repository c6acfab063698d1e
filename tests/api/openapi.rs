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
    assert_eq!(doc["openapi"], "3.1.0");
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

/// The routes the code registers: each `web::resource("…")` of `src/` with
/// the methods of the `.route(web::…())` calls that follow it. The web
/// app's pages and files (`src/web/`) are not the API's.
fn registered_routes() -> Vec<(String, String)> {
    /// Paths registered outside the `/api/v1` scope.
    const ROOT: &[&str] = &[
        "/health/live",
        "/health/ready",
        "/metrics",
        "/.well-known/jwks.json",
        "/docs",
    ];
    let mut files = vec![std::path::PathBuf::from("src")];
    let mut routes = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            if path.ends_with("src/web") {
                continue;
            }
            for entry in std::fs::read_dir(&path).unwrap() {
                files.push(entry.unwrap().path());
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for piece in text.split("web::resource(\"").skip(1) {
            let pattern = &piece[..piece.find('"').unwrap()];
            let full = if ROOT.contains(&pattern) {
                pattern.to_string()
            } else {
                format!("/api/v1{pattern}")
            };
            for call in piece.split(".route(web::").skip(1) {
                let method = &call[..call.find('(').unwrap()];
                routes.push((method.to_string(), full.clone()));
            }
        }
    }
    routes.sort();
    routes.dedup();
    routes
}

#[test]
fn every_route_is_documented() {
    let doc: Value = serde_json::from_str(banso::openapi::document()).unwrap();
    let routes = registered_routes();
    assert!(routes.len() >= 70, "only {} routes found", routes.len());
    let missing: Vec<String> = routes
        .iter()
        .filter(|(method, path)| doc["paths"][path][method].get("operationId").is_none())
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without their entry: {missing:#?}"
    );
}

#[test]
fn the_committed_copy_is_the_served_document() {
    let committed = std::fs::read_to_string("docs/openapi.json").unwrap();
    assert!(
        committed == banso::openapi::document(),
        "docs/openapi.json is stale: run `cargo run -- openapi > docs/openapi.json`"
    );
}

#[actix_web::test]
async fn the_document_says_what_the_service_enforces() {
    let doc: Value = serde_json::from_str(banso::openapi::document()).unwrap();
    let responses = &doc["components"]["responses"];
    assert_eq!(
        responses["Unauthorized"]["headers"]["WWW-Authenticate"]["required"],
        true
    );
    for name in ["TooManyRequests", "Unavailable"] {
        assert_eq!(
            responses[name]["headers"]["Retry-After"]["required"], true,
            "{name}"
        );
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(
        schemes["client_credentials"]["flows"]["clientCredentials"]["tokenUrl"],
        "/api/v1/auth/token"
    );
    let changes = &doc["paths"]["/api/v1/changes"]["get"];
    assert!(changes["responses"]["400"].is_object());
    assert_eq!(
        changes["security"][1]["client_credentials"][0], "changes:read",
        "{changes}"
    );
    assert!(doc["paths"]["/api/v1/auth/token"]["post"]["responses"]["413"].is_object());
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["responses"]["405"].is_object(),
                "{method} {path} without 405"
            );
        }
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
    // Nothing from another host: its own inline script and style by hash,
    // requests to this service only.
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    for part in [
        "default-src 'none'",
        "script-src 'sha256-",
        "style-src 'sha256-",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    let page = res.text().await.unwrap();
    assert!(page.contains("/api/v1/openapi.json"));
    assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("//cdn"));
    // A request can be tried with a token.
    assert!(page.contains("id=\"token\"") && page.contains("Authorization"));
}
