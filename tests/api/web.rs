//! The web app's files as a browser gets them: where they are, how long
//! they may be cached, compression, the Content-Security-Policy, and that
//! the API's own answers around them are unchanged.

use reqwest::Response;
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH,
};

use crate::helpers::{TestApp, problem};

fn header(res: &Response, name: reqwest::header::HeaderName) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

async fn get(app: &TestApp, path: &str, gzip: bool) -> Response {
    let mut req = app.client.get(app.url(path));
    if gzip {
        req = req.header(ACCEPT_ENCODING, "gzip");
    }
    req.send().await.expect("request")
}

/// The `/assets/<version>/` prefix the page names.
fn version_of(page: &str) -> String {
    let start = page.find("/assets/").expect("the page names its assets") + "/assets/".len();
    page[start..].split('/').next().unwrap().to_string()
}

#[actix_web::test]
async fn the_app_is_served_at_the_root_with_a_strict_policy() {
    let app = TestApp::spawn().await;
    let res = get(&app, "/", false).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(&res, CACHE_CONTROL), "no-cache");
    let csp = header(&res, CONTENT_SECURITY_POLICY);
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("http"),
        "{csp}"
    );
    let etag = header(&res, ETAG);
    let page = res.text().await.unwrap();
    assert!(page.contains("<html lang=\"vi\">"), "{page}");
    // Nothing from another host, nothing inline.
    assert!(!page.contains("http://") && !page.contains("https://"));
    assert!(!page.contains("<script>") && !page.contains("style="));
    let version = version_of(&page);
    assert_eq!(version.len(), 12);
    assert_eq!(etag, format!("\"{version}\""));

    // A revalidation costs a 304.
    let again = app
        .client
        .get(app.url("/"))
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

#[actix_web::test]
async fn versioned_files_are_immutable_and_gzipped() {
    let app = TestApp::spawn().await;
    let page = get(&app, "/", false).await.text().await.unwrap();
    let version = version_of(&page);
    for (file, ctype) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("lang/vi.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("manifest.webmanifest", "application/manifest+json"),
        ("icon-192.png", "image/png"),
    ] {
        let path = format!("/assets/{version}/{file}");
        let res = get(&app, &path, true).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(header(&res, CONTENT_TYPE), ctype, "{path}");
        assert_eq!(
            header(&res, CACHE_CONTROL),
            "public, max-age=31536000, immutable",
            "{path}"
        );
        if file.ends_with(".js") || file.ends_with(".css") {
            assert_eq!(header(&res, CONTENT_ENCODING), "gzip", "{path}");
            let zipped = res.bytes().await.unwrap().len();
            let plain = get(&app, &path, false).await;
            assert_eq!(header(&plain, CONTENT_ENCODING), "", "{path}");
            let plain = plain.bytes().await.unwrap().len();
            assert!(
                zipped * 2 < plain,
                "{path}: {zipped} gzipped, {plain} plain"
            );
        }
    }

    // Another version's address is never answered with this version's file.
    let res = get(&app, "/assets/000000000000/app.js", false).await;
    problem(res, 404).await;
    let res = get(&app, &format!("/assets/{version}/nothing.js"), false).await;
    problem(res, 404).await;
    let res = get(&app, &format!("/assets/{version}/../sw.js"), false).await;
    assert_eq!(res.status(), 404);
}

#[actix_web::test]
async fn the_service_worker_is_revalidated_and_lists_this_version() {
    let app = TestApp::spawn().await;
    let page = get(&app, "/", false).await.text().await.unwrap();
    let version = version_of(&page);
    let res = get(&app, "/sw.js", false).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, CACHE_CONTROL), "no-cache");
    assert_eq!(header(&res, CONTENT_TYPE), "text/javascript; charset=utf-8");
    let worker = res.text().await.unwrap();
    assert!(worker.contains(&format!("const VERSION = '{version}'")));
    for file in ["app.js", "field.js", "sync.js", "lang/en.js", "app.css"] {
        assert!(
            worker.contains(&format!("\"/assets/{version}/{file}\"")),
            "{file} is kept offline"
        );
    }
}

#[actix_web::test]
async fn the_api_around_the_app_answers_as_before() {
    let app = TestApp::spawn().await;
    // Unknown routes under /api are still problem documents.
    let body = problem(get(&app, "/api/v1/nothing-here", false).await, 404).await;
    assert_eq!(body["type"], "/problems/not-found");
    problem(get(&app, "/api/nothing", false).await, 404).await;
    problem(get(&app, "/elsewhere", false).await, 404).await;
    let res = app.client.post(app.url("/")).send().await.unwrap();
    problem(res, 405).await;
    for path in [
        "/docs",
        "/health/live",
        "/.well-known/jwks.json",
        "/api/v1/openapi.json",
    ] {
        let res = get(&app, path, false).await;
        assert_eq!(res.status(), 200, "{path}");
    }
}
