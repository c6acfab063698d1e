//! Tests for problem documents in the language of `Accept-Language`:
//! Vietnamese when the request prefers `vi`, English otherwise.

use reqwest::Method;
use serde_json::{Value, json};

use crate::activities::{create_visit, visit, world};
use crate::helpers::{TestApp, problem};

/// A request with `Accept-Language` (none when `lang` is empty).
async fn ask(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    lang: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut req = app.client.request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if !lang.is_empty() {
        req = req.header("Accept-Language", lang);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    req.send().await.unwrap()
}

/// The problem's texts, with the language it says it is in.
async fn texts(res: reqwest::Response, status: u16) -> (String, Value) {
    let lang = res.headers()["content-language"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        res.headers()["vary"]
            .to_str()
            .unwrap()
            .contains("Accept-Language")
    );
    (lang, problem(res, status).await)
}

#[actix_web::test]
async fn problems_speak_vietnamese_when_asked_and_english_otherwise() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let admin = w.admin.as_str();

    // A bad query parameter.
    let path = "/api/v1/assistances?limit=0";
    let (lang, vi) = texts(
        ask(&app, Method::GET, path, Some(admin), "vi", None).await,
        422,
    )
    .await;
    assert_eq!(lang, "vi");
    assert_eq!(vi["title"], "Dữ liệu không hợp lệ");
    assert_eq!(vi["detail"], "các trường không hợp lệ: limit");
    assert_eq!(vi["errors"][0]["field"], "limit");
    assert_eq!(vi["errors"][0]["code"], "out_of_range");
    assert_eq!(vi["errors"][0]["message"], "limit phải từ 1 đến 500");
    assert_eq!(vi["type"], "/problems/validation");
    let (lang, en) = texts(
        ask(&app, Method::GET, path, Some(admin), "", None).await,
        422,
    )
    .await;
    assert_eq!(lang, "en");
    assert_eq!(en["title"], "Invalid input");
    assert_eq!(en["detail"], "invalid fields: limit");
    assert_eq!(
        en["errors"][0]["message"],
        "limit must be between 1 and 500"
    );

    // q-values: the highest wins, q=0 never.
    for (header, expect) in [
        ("vi-VN,vi;q=0.9,en;q=0.8", "vi"),
        ("en;q=0.5, vi;q=0.8", "vi"),
        ("vi;q=0.2, en;q=0.9", "en"),
        ("vi;q=0", "en"),
        ("fr", "en"),
        ("fr, vi;q=0.1", "vi"),
    ] {
        let (lang, body) = texts(
            ask(&app, Method::GET, path, Some(admin), header, None).await,
            422,
        )
        .await;
        assert_eq!(lang, expect, "{header}");
        let title = if expect == "vi" {
            "Dữ liệu không hợp lệ"
        } else {
            "Invalid input"
        };
        assert_eq!(body["title"], title, "{header}");
    }

    // Field errors of a body, several at once.
    let body = json!({ "name": "", "founded_on": "2099-01-01", "colour": 1 });
    let res = ask(
        &app,
        Method::POST,
        "/api/v1/teams",
        Some(admin),
        "vi",
        Some(&body),
    )
    .await;
    let (_, vi) = texts(res, 422).await;
    assert_eq!(
        vi["errors"][0]["message"],
        "không phải là trường của tài nguyên này"
    );
    let body = json!({ "village_id": w.na_rua.id, "name": "  ", "founded_on": "2099-01-01" });
    let res = ask(
        &app,
        Method::POST,
        "/api/v1/teams",
        Some(admin),
        "vi",
        Some(&body),
    )
    .await;
    let (_, vi) = texts(res, 422).await;
    let messages: Vec<(String, String)> = vi["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        messages.contains(&("name".into(), "không được để trống".into())),
        "{vi}"
    );
    assert!(
        messages.contains(&(
            "founded_on".into(),
            "không được là ngày trong tương lai".into()
        )),
        "{vi}"
    );
    let res = ask(
        &app,
        Method::POST,
        "/api/v1/teams",
        Some(admin),
        "",
        Some(&body),
    )
    .await;
    let (_, en) = texts(res, 422).await;
    assert!(en.to_string().contains("must not be empty"), "{en}");

    // A failed login, and no token at all.
    let login = json!({ "username": "admin", "password": "not the password at all" });
    let res = ask(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        "vi",
        Some(&login),
    )
    .await;
    let (_, vi) = texts(res, 401).await;
    assert_eq!(vi["title"], "Chưa xác thực");
    assert_eq!(vi["detail"], "sai tên đăng nhập hoặc mật khẩu");
    let res = ask(&app, Method::GET, "/api/v1/teams", None, "vi", None).await;
    assert_eq!(
        texts(res, 401).await.1["detail"],
        "thiếu tiêu đề Authorization"
    );
    let res = ask(&app, Method::GET, "/api/v1/teams", None, "en", None).await;
    assert_eq!(
        texts(res, 401).await.1["detail"],
        "missing Authorization header"
    );

    // A conflict keeps its record as it is; only its words change.
    let v = create_visit(&app, admin, &visit(&w.house_a, "2025-11-01")).await;
    let verify = format!("/api/v1/assistances/{}/verify", v["id"].as_str().unwrap());
    let res = ask(
        &app,
        Method::POST,
        &verify,
        Some(admin),
        "vi",
        Some(&json!({})),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = ask(
        &app,
        Method::POST,
        &verify,
        Some(admin),
        "vi",
        Some(&json!({})),
    )
    .await;
    let (_, vi) = texts(res, 409).await;
    assert_eq!(vi["title"], "Xung đột dữ liệu");
    assert_eq!(
        vi["detail"],
        "thao tác verify cần bản ghi ở trạng thái submitted; bản ghi này đang ở trạng thái verified"
    );
    assert_eq!(vi["current"]["status"], "verified");
    assert_eq!(vi["current"]["help"][0]["kind"], "vneid");

    // Answers that actix-web and the head limit make.
    let res = ask(
        &app,
        Method::GET,
        "/api/v1/nowhere",
        Some(admin),
        "vi",
        None,
    )
    .await;
    let (_, vi) = texts(res, 404).await;
    assert_eq!(
        (vi["title"].as_str(), vi["detail"].as_str()),
        (Some("Không tìm thấy"), Some("không có tài nguyên này"))
    );
    let long = format!("/api/v1/teams?q={}", "a".repeat(9000));
    let res = ask(&app, Method::GET, &long, Some(admin), "vi", None).await;
    assert_eq!(texts(res, 414).await.1["title"], "Địa chỉ quá dài");

    // The list errors of this service's own.
    let res = ask(
        &app,
        Method::GET,
        "/api/v1/assistances?sort=name",
        Some(admin),
        "vi",
        None,
    )
    .await;
    let (_, vi) = texts(res, 422).await;
    assert_eq!(
        vi["errors"][0]["message"],
        "phải là một trong id, visited_on, created_at, updated_at, thêm - phía trước để sắp xếp giảm dần"
    );
    let res = ask(
        &app,
        Method::GET,
        "/api/v1/teams?unit_id=nope",
        Some(admin),
        "vi",
        None,
    )
    .await;
    let (_, vi) = texts(res, 400).await;
    assert_eq!(vi["title"], "Yêu cầu không hợp lệ");
    assert_eq!(vi["detail"], "các tham số không hợp lệ: unit_id");
    assert_eq!(
        vi["errors"][0]["message"],
        "phải là một UUID, ví dụ 0192f0c1-7d3e-7a4b-9c5d-6e7f8a9b0c1d"
    );

    // Answers that are not problems are left as they are.
    let res = ask(&app, Method::GET, "/api/v1/teams", Some(admin), "vi", None).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("content-language").is_none());
}
