//! CORS for the origins an admin names in `BANSO_CORS_ORIGINS`, none by
//! default.

use reqwest::Method;
use reqwest::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ORIGIN,
};

use crate::helpers::{TestApp, TestDb};

const PORTAL: &str = "https://portal.caobang.gov.vn";

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, app.url("/api/v1/households"))
        .header(ORIGIN, origin)
        .header("Access-Control-Request-Method", "GET")
        .header(
            "Access-Control-Request-Headers",
            "authorization, if-none-match",
        )
        .send()
        .await
        .unwrap()
}

async fn get_from(app: &TestApp, origin: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client
        .get(app.url("/api/v1/teams"))
        .header(ORIGIN, origin);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

#[actix_web::test]
async fn no_origin_is_allowed_by_default() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let res = preflight(&app, PORTAL).await;
    assert!(res.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    let res = get_from(&app, PORTAL, Some(&token)).await;
    assert_eq!(res.status(), 200, "the request itself is served");
    assert!(res.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

#[actix_web::test]
async fn a_configured_portal_gets_its_preflight_and_can_read_answers_and_errors() {
    let app = TestApp::spawn_on(
        TestDb::from_template(),
        &[(
            "BANSO_CORS_ORIGINS",
            "https://portal.caobang.gov.vn, http://localhost:5173",
        )],
    )
    .await;
    let token = app.admin_token().await;

    let res = preflight(&app, PORTAL).await;
    assert!(res.status().is_success(), "preflight: {}", res.status());
    let h = res.headers();
    assert_eq!(h[ACCESS_CONTROL_ALLOW_ORIGIN], PORTAL);
    let methods = h[ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap()
        .to_ascii_uppercase();
    for m in ["GET", "POST", "PATCH", "DELETE"] {
        assert!(methods.contains(m), "{m} in {methods}");
    }
    let headers = h[ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("if-none-match"),
        "{headers}"
    );
    assert_eq!(h[ACCESS_CONTROL_MAX_AGE], "600");

    let res = get_from(&app, PORTAL, Some(&token)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], PORTAL);
    let exposed = res.headers()[ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "etag",
        "retry-after",
        "x-request-id",
        "ratelimit",
        "ratelimit-policy",
    ] {
        assert!(exposed.contains(name), "{name} exposed: {exposed}");
    }

    // A refusal is readable by the portal too, so it can show the problem.
    let res = get_from(&app, "http://localhost:5173", None).await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://localhost:5173"
    );
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    // Any other site gets no CORS header, so its page cannot read the answer.
    let res = get_from(&app, "https://evil.example", Some(&token)).await;
    assert!(res.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    let res = preflight(&app, "https://evil.example").await;
    assert!(res.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}
