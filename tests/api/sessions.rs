//! Sessions end when they should: logout, deactivation, a new password and
//! a change of role or area make the account's access tokens fail on the
//! very next request, on every instance.

use std::time::Duration;

use serde_json::{Value, json};

use crate::cli::{banso, run_with_stdin};
use crate::helpers::{PASSWORD, TestApp, count, problem, unit, village};
use crate::users::patch;

/// A field account of a new village of Cao Bằng, logged in once; returns its
/// id and token answer.
async fn leader(app: &TestApp, username: &str) -> (String, Value) {
    let v = village(app, "01273", &format!("Thôn {username}"));
    let id = app
        .create_user(username, "team_leader", Some(&v.code))
        .await
        .to_string();
    (id, app.tokens(username).await)
}

fn access(tokens: &Value) -> &str {
    tokens["access_token"].as_str().unwrap()
}

async fn logout(app: &TestApp, tokens: &Value) {
    let res = app
        .post_json(
            "/api/v1/auth/logout",
            None,
            &json!({ "refresh_token": tokens["refresh_token"] }),
        )
        .await;
    assert_eq!(res.status(), 204);
}

async fn refresh(app: &TestApp, tokens: &Value) -> reqwest::Response {
    app.post_json(
        "/api/v1/auth/refresh",
        None,
        &json!({ "refresh_token": tokens["refresh_token"] }),
    )
    .await
}

/// Sets the account's password through `PATCH /users/{id}`.
async fn set_password(app: &TestApp, token: &str, id: &str, password: &str, version: i32) {
    let res = patch(
        app,
        token,
        id,
        json!({ "password": password, "version": version }),
    )
    .await;
    assert_eq!(res.status(), 200);
}

/// The access token works, and is remembered by the server from now on.
async fn works(app: &TestApp, token: &str) {
    for _ in 0..2 {
        assert_eq!(app.get("/api/v1/me", token).await.status(), 200);
    }
}

async fn refused(app: &TestApp, token: &str) {
    let body = problem(app.get("/api/v1/me", token).await, 401).await;
    assert!(!body.to_string().contains(token));
}

fn live_refresh_tokens(app: &TestApp, id: &str) -> i64 {
    count(
        &mut app.conn(),
        &format!(
            "SELECT count(*) AS n FROM refresh_tokens WHERE user_id = '{id}' AND revoked_at IS NULL"
        ),
    )
}

#[actix_web::test]
async fn logout_ends_the_access_token_at_once() {
    let app = TestApp::spawn().await;
    let (id, tokens) = leader(&app, "leader.logout").await;
    works(&app, access(&tokens)).await;
    logout(&app, &tokens).await;
    refused(&app, access(&tokens)).await;
    problem(refresh(&app, &tokens).await, 401).await;
    assert_eq!(live_refresh_tokens(&app, &id), 0);

    // A new login works, and logging out with the old token again ends
    // nothing more.
    let again = app.tokens("leader.logout").await;
    works(&app, access(&again)).await;
    logout(&app, &tokens).await;
    works(&app, access(&again)).await;
}

#[actix_web::test]
async fn deactivation_ends_the_access_token_at_once() {
    let app = TestApp::spawn().await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let (id, tokens) = leader(&app, "leader.deactivated").await;
    works(&app, access(&tokens)).await;
    let res = patch(
        &app,
        &officer,
        &id,
        json!({ "active": false, "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    refused(&app, access(&tokens)).await;
    problem(refresh(&app, &tokens).await, 401).await;
    // The officer's own session is untouched.
    works(&app, &officer).await;
}

#[actix_web::test]
async fn a_password_set_by_an_admin_or_officer_ends_every_session() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let officer = app.token_for("canbo.caobang", "officer", Some("04")).await;
    let (id, tokens) = leader(&app, "leader.newpass").await;
    let phone = app.tokens("leader.newpass").await;
    works(&app, access(&tokens)).await;
    works(&app, access(&phone)).await;

    set_password(&app, &officer, &id, "a brand new password", 1).await;
    refused(&app, access(&tokens)).await;
    refused(&app, access(&phone)).await;
    problem(refresh(&app, &tokens).await, 401).await;
    problem(refresh(&app, &phone).await, 401).await;
    assert_eq!(live_refresh_tokens(&app, &id), 0);
    problem(app.login("leader.newpass", PASSWORD).await, 401).await;

    // The admin sets another; the session begun with the officer's ends.
    let second = app
        .tokens_with("leader.newpass", "a brand new password")
        .await;
    works(&app, access(&second)).await;
    set_password(&app, &admin, &id, "the admin's password", 2).await;
    refused(&app, access(&second)).await;
    let third = app
        .tokens_with("leader.newpass", "the admin's password")
        .await;
    works(&app, access(&third)).await;

    // Each change is in the trail, without the password.
    let mut conn = app.conn();
    let trail = count(
        &mut conn,
        &format!(
            "SELECT count(*) AS n FROM audit_events WHERE entity_id = '{id}' AND action = 'update' \
             AND after->>'password_changed' = 'true'"
        ),
    );
    assert_eq!(trail, 2);
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM audit_events WHERE coalesce(after::text, '') || coalesce(before::text, '') \
             ~ '(brand new|the admin''s) password|argon2'"
        ),
        0
    );
}

#[actix_web::test]
async fn a_user_changes_their_own_password_given_the_current_one() {
    let app = TestApp::spawn().await;
    let (id, tokens) = leader(&app, "leader.own").await;
    let other_device = app.tokens("leader.own").await;
    works(&app, access(&tokens)).await;
    works(&app, access(&other_device)).await;
    let change =
        |current: &str, new: &str| json!({ "current_password": current, "new_password": new });

    // A wrong current password changes nothing, and counts for the throttle.
    let res = app
        .post_json(
            "/api/v1/me/password",
            Some(access(&tokens)),
            &change("not my password", "my own new password"),
        )
        .await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "current_password");
    assert_eq!(
        count(
            &mut app.conn(),
            "SELECT count(*) AS n FROM login_failures WHERE username = 'leader.own'"
        ),
        1
    );
    // A weak new one is named.
    let res = app
        .post_json(
            "/api/v1/me/password",
            Some(access(&tokens)),
            &change(PASSWORD, "short"),
        )
        .await;
    let body = problem(res, 422).await;
    assert_eq!(body["errors"][0]["field"], "new_password");
    works(&app, access(&tokens)).await;

    let res = app
        .post_json(
            "/api/v1/me/password",
            Some(access(&tokens)),
            &change(PASSWORD, "my own new password"),
        )
        .await;
    assert_eq!(res.status(), 200);
    let fresh: Value = res.json().await.unwrap();
    // Every earlier session has ended; the answer is a new one.
    refused(&app, access(&tokens)).await;
    refused(&app, access(&other_device)).await;
    problem(refresh(&app, &tokens).await, 401).await;
    problem(refresh(&app, &other_device).await, 401).await;
    works(&app, access(&fresh)).await;
    assert_eq!(refresh(&app, &fresh).await.status(), 200);
    problem(app.login("leader.own", PASSWORD).await, 401).await;
    app.tokens_with("leader.own", "my own new password").await;

    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM audit_events WHERE entity_id = '{id}' AND action = 'set_password' \
                 AND actor_id = '{id}' AND before IS NULL AND after IS NULL"
            )
        ),
        1
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM login_failures WHERE username = 'leader.own'"
        ),
        0
    );
}

#[actix_web::test]
async fn a_change_of_role_or_area_ends_the_access_token_but_not_the_refresh() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = app
        .create_user("canbo.role", "officer", Some("04"))
        .await
        .to_string();
    let tokens = app.tokens("canbo.role").await;
    works(&app, access(&tokens)).await;

    let commune = unit(&app, "01273").id;
    let res = patch(
        &app,
        &admin,
        &id,
        json!({ "area_id": commune, "version": 1 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    refused(&app, access(&tokens)).await;
    // A refresh gives a token that says where the account now works.
    let res = refresh(&app, &tokens).await;
    assert_eq!(res.status(), 200);
    let moved: Value = res.json().await.unwrap();
    let me: Value = app
        .get("/api/v1/me", access(&moved))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["area"]["code"], "01273");

    let res = patch(&app, &admin, &id, json!({ "role": "admin", "version": 2 })).await;
    assert_eq!(res.status(), 200);
    refused(&app, access(&moved)).await;

    // A change of display name alone ends nothing.
    let res = refresh(&app, &moved).await;
    let promoted: Value = res.json().await.unwrap();
    works(&app, access(&promoted)).await;
    let res = patch(
        &app,
        &admin,
        &id,
        json!({ "display_name": "Lò Văn Tâm", "version": 3 }),
    )
    .await;
    assert_eq!(res.status(), 200);
    works(&app, access(&promoted)).await;
}

#[actix_web::test]
async fn a_session_ended_on_one_instance_is_ended_on_the_other_at_once() {
    let app = TestApp::spawn().await;
    let other = app.another_instance();
    let (_, tokens) = leader(&app, "leader.two").await;
    let on_other = |token: String| {
        let (client, url) = (app.client.clone(), format!("{other}/api/v1/me"));
        async move { client.get(url).bearer_auth(token).send().await.unwrap() }
    };
    for _ in 0..2 {
        assert_eq!(on_other(access(&tokens).into()).await.status(), 200);
    }
    logout(&app, &tokens).await;
    problem(on_other(access(&tokens).into()).await, 401).await;

    // And the other way round, with a new session ended by a new password.
    let second = app.tokens("leader.two").await;
    works(&app, access(&second)).await;
    let res = app
        .client
        .post(format!("{other}/api/v1/me/password"))
        .bearer_auth(access(&second))
        .json(&json!({ "current_password": PASSWORD, "new_password": "another long password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    refused(&app, access(&second)).await;
}

#[actix_web::test]
async fn banso_user_set_password_ends_the_sessions_of_a_running_server() {
    let app = TestApp::spawn().await;
    let (id, tokens) = leader(&app, "leader.cli").await;
    works(&app, access(&tokens)).await;

    let mut cmd = banso(Some(&app.db));
    cmd.args([
        "user",
        "set-password",
        "--username",
        "leader.cli",
        "--password-stdin",
    ]);
    let (ok, out) = run_with_stdin(cmd, "short\n");
    assert!(!ok && out.contains("at least 10"), "{out}");
    works(&app, access(&tokens)).await;
    let mut cmd = banso(Some(&app.db));
    cmd.args([
        "user",
        "set-password",
        "--username",
        "nobody.here",
        "--password-stdin",
    ]);
    let (ok, out) = run_with_stdin(cmd, "a password from the shell\n");
    assert!(
        !ok && out.contains("no account is named nobody.here"),
        "{out}"
    );

    let mut cmd = banso(Some(&app.db));
    cmd.args([
        "user",
        "set-password",
        "--username",
        "Leader.CLI",
        "--password-stdin",
    ]);
    let (ok, out) = run_with_stdin(cmd, "a password from the shell\n");
    assert!(ok, "{out}");
    assert!(!out.contains("a password from the shell"), "{out}");
    // The command ran in another process: the server hears of it from the
    // database's notification. The command waits up to a second for the
    // running server to confirm; on a loaded machine the notification may
    // land just after, so allow it a few seconds, and no more.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while app.get("/api/v1/me", access(&tokens)).await.status() == 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "the old token still works 5 s after the new password"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    refused(&app, access(&tokens)).await;
    problem(refresh(&app, &tokens).await, 401).await;
    app.tokens_with("leader.cli", "a password from the shell")
        .await;
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM audit_events WHERE entity_id = '{id}' AND action = 'set_password' \
                 AND actor_name = 'banso user set-password' AND after IS NULL"
            )
        ),
        1
    );
}

#[actix_web::test]
async fn a_lost_notification_connection_catches_up_when_it_reconnects() {
    let app = TestApp::spawn().await;
    let (id, tokens) = leader(&app, "leader.reconnect").await;
    works(&app, access(&tokens)).await;
    let mut conn = app.conn();
    // Cut the server's listening connection, then end the session behind
    // its back, without a notification it could hear.
    let cut = count(
        &mut conn,
        "WITH listening AS MATERIALIZED (SELECT pid FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'banso sessions') \
         SELECT count(*) AS n FROM listening WHERE pg_terminate_backend(pid)",
    );
    assert_eq!(cut, 1);
    count(
        &mut conn,
        &format!(
            "WITH bumped AS (UPDATE users SET session_epoch = session_epoch + 1 \
             WHERE id = '{id}' RETURNING 1) SELECT count(*) AS n FROM bumped"
        ),
    );
    // Reconnecting takes a quarter of a second; then the epoch is read.
    let mut ended = false;
    for _ in 0..40 {
        if app.get("/api/v1/me", access(&tokens)).await.status() == 401 {
            ended = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ended, "the server never caught up with the ended session");
}
