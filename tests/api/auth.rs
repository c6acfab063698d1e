use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, count, problem};

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// Signs any header and claims with the server's current signing key, so a
/// test can forge tokens that are well signed but wrong in another way.
fn sign_raw(app: &TestApp, header: &Value, claims: &Value) -> String {
    let keys = banso::auth::tokens::load_keys(&app.keys_dir).unwrap();
    let seed = keys.values().next_back().unwrap();
    let key = SigningKey::from_bytes(seed);
    let input = format!("{}.{}", b64(header), b64(claims));
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

fn kid(app: &TestApp) -> String {
    banso::auth::tokens::load_keys(&app.keys_dir)
        .unwrap()
        .keys()
        .next_back()
        .unwrap()
        .clone()
}

fn decode_part(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn good_claims(sub: &str) -> Value {
    let now = now();
    json!({
        "iss": "banso", "aud": "banso-api", "sub": sub, "iat": now, "nbf": now,
        "exp": now + 600, "jti": "x", "typ": "access", "role": "admin", "area": null,
    })
}

#[actix_web::test]
async fn login_returns_a_short_lived_eddsa_token_that_me_accepts() {
    let app = TestApp::spawn().await;
    let id = app
        .create_user("canbo.caobang", "officer", Some("04"))
        .await;
    let tokens = app.tokens("canbo.caobang").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    assert!(tokens["refresh_token"].as_str().unwrap().len() >= 40);
    let access = tokens["access_token"].as_str().unwrap();

    let header = decode_part(access, 0);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], kid(&app));
    let claims = decode_part(access, 1);
    assert_eq!(claims["iss"], "banso");
    assert_eq!(claims["aud"], "banso-api");
    assert_eq!(claims["sub"], id.to_string());
    assert_eq!(claims["role"], "officer");
    assert!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap() <= 900);

    let res = app.get("/api/v1/me", access).await;
    assert_eq!(res.status(), 200);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["username"], "canbo.caobang");
    assert_eq!(me["role"], "officer");
    assert_eq!(me["area"]["code"], "04");
    assert_eq!(me["area"]["name"], "Tỉnh Cao Bằng");

    // Only the refresh token's hash is stored.
    let mut conn = app.conn();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM refresh_tokens"),
        1
    );
    assert_eq!(
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM refresh_tokens WHERE encode(token_hash, 'escape') LIKE '%{refresh}%'"
            )
        ),
        0
    );
}

#[actix_web::test]
async fn jwks_verifies_our_tokens() {
    let app = TestApp::spawn().await;
    let access = app.admin_token().await;
    let jwks: Value = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["kid"], kid(&app));
    // Verify with the published key alone, as another system would.
    let public = URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap();
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&public.try_into().unwrap()).unwrap();
    let (input, sig) = access.rsplit_once('.').unwrap();
    let sig = ed25519_dalek::Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
    assert!(vk.verify_strict(input.as_bytes(), &sig).is_ok());
}

#[actix_web::test]
async fn unknown_user_and_wrong_password_get_the_same_401() {
    let app = TestApp::spawn().await;
    app.create_user("truong.thon", "officer", Some("04")).await;
    let wrong = app.login("truong.thon", "not the password").await;
    assert!(wrong.headers().get("www-authenticate").is_some());
    let wrong = problem(wrong, 401).await;
    let unknown = problem(app.login("nobody.here", "not the password").await, 401).await;
    assert_eq!(wrong, unknown);
    let serialized = wrong.to_string();
    assert!(!serialized.contains("truong.thon"));
}

#[actix_web::test]
async fn forged_and_foreign_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let id = app.create_user("admin", "admin", None).await.to_string();
    let good = app.tokens("admin").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let header = json!({ "alg": "EdDSA", "typ": "JWT", "kid": kid(&app) });

    let mut forged = Vec::new();
    // alg none, no signature.
    forged.push(format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "typ": "JWT" })),
        b64(&good_claims(&id))
    ));
    // A changed payload under the original signature.
    let parts: Vec<&str> = good.split('.').collect();
    let mut claims = decode_part(&good, 1);
    claims["role"] = json!("admin");
    claims["sub"] = json!(uuid::Uuid::new_v4().to_string());
    forged.push(format!("{}.{}.{}", parts[0], b64(&claims), parts[2]));
    // A bad signature.
    forged.push(format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode([7u8; 64])
    ));
    // Expired, well signed.
    let mut expired = good_claims(&id);
    expired["exp"] = json!(now() - 3600);
    expired["iat"] = json!(now() - 4000);
    expired["nbf"] = json!(now() - 4000);
    forged.push(sign_raw(&app, &header, &expired));
    // Wrong audience and wrong issuer, well signed.
    let mut aud = good_claims(&id);
    aud["aud"] = json!("another-system");
    forged.push(sign_raw(&app, &header, &aud));
    let mut iss = good_claims(&id);
    iss["iss"] = json!("someone-else");
    forged.push(sign_raw(&app, &header, &iss));
    // Missing nbf, and a token of another type.
    let mut no_nbf = good_claims(&id);
    no_nbf.as_object_mut().unwrap().remove("nbf");
    forged.push(sign_raw(&app, &header, &no_nbf));
    let mut refresh_typ = good_claims(&id);
    refresh_typ["typ"] = json!("refresh");
    forged.push(sign_raw(&app, &header, &refresh_typ));
    // An unknown key id, and HS256 with the public key as secret.
    let mut other_kid = header.clone();
    other_kid["kid"] = json!("someone-elses-key");
    forged.push(sign_raw(&app, &other_kid, &good_claims(&id)));
    let hs = jsonwebtoken::Header {
        kid: Some(kid(&app)),
        ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
    };
    forged.push(format!(
        "{}.{}.{}",
        b64(&serde_json::to_value(&hs).unwrap()),
        b64(&good_claims(&id)),
        parts[2]
    ));
    // Well signed, but living ten years, or the lifetime and one second
    // more; and issued in the future with a lifetime that fits.
    let mut ten_years = good_claims(&id);
    ten_years["exp"] = json!(now() + 10 * 365 * 24 * 3600);
    forged.push(sign_raw(&app, &header, &ten_years));
    let mut one_more = good_claims(&id);
    one_more["exp"] = json!(now() + 901);
    forged.push(sign_raw(&app, &header, &one_more));
    let mut future = good_claims(&id);
    future["iat"] = json!(now() + 10 * 365 * 24 * 3600);
    future["exp"] = json!(now() + 10 * 365 * 24 * 3600 + 600);
    forged.push(sign_raw(&app, &header, &future));
    // Not a token at all.
    forged.push("garbage".to_string());

    for (i, token) in forged.iter().enumerate() {
        let res = app.get("/api/v1/me", token).await;
        assert_eq!(res.status(), 401, "forged token {i} was accepted");
        problem(res, 401).await;
    }
    // The control: the same claims, well formed, pass, and so does a token
    // of exactly the configured lifetime.
    let res = app
        .get("/api/v1/me", &sign_raw(&app, &header, &good_claims(&id)))
        .await;
    assert_eq!(res.status(), 200);
    let mut full = good_claims(&id);
    full["exp"] = json!(now() + 900);
    let res = app.get("/api/v1/me", &sign_raw(&app, &header, &full)).await;
    assert_eq!(res.status(), 200);
    // And no token, or another scheme, is refused.
    let res = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    problem(res, 401).await;
    let res = app
        .client
        .get(app.url("/api/v1/me"))
        .header("authorization", format!("Basic {good}"))
        .send()
        .await
        .unwrap();
    problem(res, 401).await;
}

async fn refresh_with(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/auth/refresh",
        None,
        &json!({ "refresh_token": token }),
    )
    .await
}

/// Moves the rotation of every used refresh token `secs` seconds back.
fn rotated_ago(app: &TestApp, secs: i64) {
    count(
        &mut app.conn(),
        &format!(
            "WITH moved AS (UPDATE refresh_tokens SET used_at = now() - interval '{secs} seconds' \
             WHERE used_at IS NOT NULL RETURNING 1) SELECT count(*) AS n FROM moved"
        ),
    );
}

#[actix_web::test]
async fn refresh_rotates_and_a_late_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    app.create_user("member.one", "officer", Some("04")).await;
    let first = app.tokens("member.one").await;
    let r1 = first["refresh_token"].as_str().unwrap();

    let res = refresh_with(&app, r1).await;
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2);
    let access = second["access_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", access).await.status(), 200);

    // r1 again, 61 seconds after it was rotated: a stolen copy. The family
    // dies, r2 with it, and so do the account's access tokens.
    rotated_ago(&app, 61);
    problem(refresh_with(&app, r1).await, 401).await;
    problem(refresh_with(&app, r2).await, 401).await;
    problem(app.get("/api/v1/me", access).await, 401).await;
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM refresh_tokens WHERE revoked_at IS NULL"
        ),
        0
    );

    // A token never issued.
    problem(refresh_with(&app, "made-up").await, 401).await;
}

#[actix_web::test]
async fn a_refresh_whose_answer_was_lost_is_answered_again_within_a_minute() {
    let app = TestApp::spawn().await;
    app.create_user("phone.user", "officer", Some("04")).await;
    let first = app.tokens("phone.user").await;
    let r1 = first["refresh_token"].as_str().unwrap();
    // The answer to this one never reaches the phone.
    let lost: Value = refresh_with(&app, r1).await.json().await.unwrap();

    // 59 seconds later the phone tries again with r1, and gets a pair.
    rotated_ago(&app, 59);
    let res = refresh_with(&app, r1).await;
    assert_eq!(res.status(), 200);
    let again: Value = res.json().await.unwrap();
    let r3 = again["refresh_token"].as_str().unwrap();
    assert_ne!(r3, lost["refresh_token"].as_str().unwrap());
    let access = again["access_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", access).await.status(), 200);
    let mut conn = app.conn();
    // Every token is of the one family that the login began, and none is
    // revoked.
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(DISTINCT family_id) AS n FROM refresh_tokens WHERE revoked_at IS NULL"
        ),
        1
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM refresh_tokens"),
        3
    );
    // The new pair goes on as usual, and the lost answer's token would
    // still have worked.
    let res = refresh_with(&app, r3).await;
    assert_eq!(res.status(), 200);
    let res = refresh_with(&app, lost["refresh_token"].as_str().unwrap()).await;
    assert_eq!(res.status(), 200);

    // Past the minute, r1 is a stolen copy after all.
    rotated_ago(&app, 61);
    problem(refresh_with(&app, r1).await, 401).await;
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM refresh_tokens WHERE revoked_at IS NULL"
        ),
        0
    );
}

#[actix_web::test]
async fn logout_revokes_the_refresh_token() {
    let app = TestApp::spawn().await;
    app.create_user("leaving.user", "officer", Some("04")).await;
    let t = app.tokens("leaving.user").await;
    let r = t["refresh_token"].as_str().unwrap();
    let res = app
        .post_json("/api/v1/auth/logout", None, &json!({ "refresh_token": r }))
        .await;
    assert_eq!(res.status(), 204);
    let res = app
        .post_json("/api/v1/auth/refresh", None, &json!({ "refresh_token": r }))
        .await;
    problem(res, 401).await;
    // Logging out with an unknown token answers the same.
    let res = app
        .post_json(
            "/api/v1/auth/logout",
            None,
            &json!({ "refresh_token": "unknown" }),
        )
        .await;
    assert_eq!(res.status(), 204);
}

#[actix_web::test]
async fn deactivated_accounts_cannot_log_in_or_refresh() {
    let app = TestApp::spawn().await;
    app.create_user("gone.away", "officer", Some("04")).await;
    let t = app.tokens("gone.away").await;
    let mut conn = app.conn();
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE users SET active = false WHERE username = 'gone.away'"),
        &mut conn,
    )
    .unwrap();
    problem(app.login("gone.away", PASSWORD).await, 401).await;
    let res = app
        .post_json(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": t["refresh_token"] }),
        )
        .await;
    problem(res, 401).await;
}

#[actix_web::test]
async fn five_failures_throttle_the_username_across_a_restart() {
    let mut app = TestApp::spawn().await;
    app.create_user("target.user", "officer", Some("04")).await;
    for _ in 0..5 {
        problem(app.login("target.user", "wrong password!").await, 401).await;
    }
    // Even the right password is refused now.
    let res = app.login("target.user", PASSWORD).await;
    let retry: u64 = res
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    problem(res, 429).await;

    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM login_failures WHERE username = 'target.user'"
        ),
        5
    );

    app.restart();
    problem(app.login("target.user", PASSWORD).await, 429).await;

    // Once the failures are older than the window, the user may log in.
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE login_failures SET at = at - interval '16 minutes'"),
        &mut conn,
    )
    .unwrap();
    assert_eq!(app.login("target.user", PASSWORD).await.status(), 200);
    // A success clears the user's count.
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM login_failures WHERE username = 'target.user'"
        ),
        0
    );
}

/// Wrong passwords sent all at once are each counted before the next is
/// checked: no more than the limit get a 401, and the database holds exactly
/// the five failures that were let through.
#[actix_web::test]
async fn thirty_wrong_passwords_at_once_get_at_most_five_tries() {
    let app = TestApp::spawn().await;
    app.create_user("target.user", "officer", Some("04")).await;
    let answers = futures_util::future::join_all(
        (0..30).map(|_| app.login("target.user", "wrong password!")),
    )
    .await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    let refused = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert!(refused <= 5, "{statuses:?}");
    assert_eq!(refused + throttled, 30, "{statuses:?}");
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM login_failures WHERE username = 'target.user'"
        ),
        refused as i64
    );
    // The right password is refused too until the window passes.
    problem(app.login("target.user", PASSWORD).await, 429).await;
}

#[actix_web::test]
async fn twenty_failures_from_one_address_throttle_every_username() {
    let app = TestApp::spawn().await;
    app.create_user("innocent.user", "officer", Some("04"))
        .await;
    for i in 0..20 {
        problem(
            app.login(&format!("guess{i}"), "wrong password!").await,
            401,
        )
        .await;
    }
    problem(app.login("innocent.user", PASSWORD).await, 429).await;
}

async fn login_from(
    app: &TestApp,
    forwarded_for: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn behind_a_trusted_proxy_the_throttle_counts_the_address_the_proxy_saw() {
    let db = crate::helpers::TestDb::from_template();
    let app = TestApp::spawn_on(db, &[("BANSO_TRUSTED_PROXY_HOPS", "1")]).await;
    app.create_user("field.user", "officer", Some("04")).await;
    // The client writes an address of its own choosing on the left of the
    // header each time; the proxy appends the one it really saw.
    for i in 0..20 {
        problem(
            login_from(
                &app,
                &format!("192.0.2.{i}, 203.0.113.7"),
                &format!("guess{i}"),
                "wrong password!",
            )
            .await,
            401,
        )
        .await;
    }
    problem(
        login_from(&app, "192.0.2.200, 203.0.113.7", "field.user", PASSWORD).await,
        429,
    )
    .await;
    // Another client behind the same proxy is not locked out.
    assert_eq!(
        login_from(&app, "203.0.113.7, 198.51.100.9", "field.user", PASSWORD)
            .await
            .status(),
        200
    );
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM login_failures WHERE address = '203.0.113.7'"
        ),
        20
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM login_failures WHERE address LIKE '192.0.2.%'"
        ),
        0
    );
}

#[actix_web::test]
async fn with_two_trusted_proxies_the_second_entry_from_the_right_is_the_client() {
    let db = crate::helpers::TestDb::from_template();
    let app = TestApp::spawn_on(db, &[("BANSO_TRUSTED_PROXY_HOPS", "2")]).await;
    app.create_user("field.user", "officer", Some("04")).await;
    problem(
        login_from(
            &app,
            "192.0.2.1, 203.0.113.7, 10.0.0.2",
            "field.user",
            "wrong password!",
        )
        .await,
        401,
    )
    .await;
    // Fewer entries than trusted proxies: one was bypassed, so the header
    // says nothing trustworthy and the TCP peer counts.
    problem(
        login_from(&app, "203.0.113.8", "field.user", "wrong password!").await,
        401,
    )
    .await;
    let mut conn = app.conn();
    for (address, n) in [("203.0.113.7", 1), ("127.0.0.1", 1)] {
        let sql = format!("SELECT count(*) AS n FROM login_failures WHERE address = '{address}'");
        assert_eq!(count(&mut conn, &sql), n, "failures counted for {address}");
    }
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM login_failures"),
        2
    );
}

#[actix_web::test]
async fn without_a_trusted_proxy_forwarded_addresses_are_ignored() {
    let app = TestApp::spawn().await;
    app.create_user("field.user", "officer", Some("04")).await;
    for i in 0..20 {
        problem(
            login_from(
                &app,
                &format!("203.0.113.{i}"),
                &format!("guess{i}"),
                "wrong password!",
            )
            .await,
            401,
        )
        .await;
    }
    // A client cannot escape the throttle by inventing a forwarded address.
    problem(
        login_from(&app, "198.51.100.9", "field.user", PASSWORD).await,
        429,
    )
    .await;
}

#[actix_web::test]
async fn refresh_tokens_long_expired_are_swept() {
    let app = TestApp::spawn().await;
    app.create_user("sweep.user", "officer", Some("04")).await;
    let _live = app.tokens("sweep.user").await;
    let _also = app.tokens("sweep.user").await;
    let mut conn = app.conn();
    diesel::RunQueryDsl::execute(
        diesel::sql_query(
            "UPDATE refresh_tokens SET expires_at = now() - interval '2 days' \
             WHERE id = (SELECT id FROM refresh_tokens ORDER BY issued_at LIMIT 1)",
        ),
        &mut conn,
    )
    .unwrap();
    let gone = banso::auth::repo::delete_expired_refresh(&mut conn).unwrap();
    assert_eq!(gone, 1);
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM refresh_tokens"),
        1
    );
}

#[actix_web::test]
async fn answers_with_household_data_are_not_to_be_stored() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let v = crate::helpers::village(&app, "01273", "Thôn Nà Pình");
    let res = app
        .post_json(
            "/api/v1/households",
            Some(&admin),
            &json!({ "village_id": v.id, "head_name": "Nông Văn Dũng", "size": 4, "poverty_status": "poor" }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let cache = |res: &reqwest::Response| {
        res.headers()
            .get("cache-control")
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(cache(&res).as_deref(), Some("no-store"));
    let id = crate::helpers::id_of(&res.json().await.unwrap());
    for path in [
        format!("/api/v1/households/{id}"),
        "/api/v1/households".to_string(),
        format!("/api/v1/households/{id}/export"),
        format!("/api/v1/households/{id}/consents"),
        "/api/v1/audit".to_string(),
    ] {
        let res = app.get(&path, &admin).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(cache(&res).as_deref(), Some("no-store"), "{path}");
    }
    // Answers without personal data keep their caching.
    let res = app.get(&format!("/api/v1/units/{}", v.id), &admin).await;
    assert_eq!(res.status(), 200);
    assert_ne!(cache(&res).as_deref(), Some("no-store"));
}
