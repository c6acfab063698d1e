//! Queries behind login, refresh and logout: credentials, refresh-token
//! families and the failed-login counts that drive throttling.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Role;
use crate::db::schema::{login_failures, refresh_tokens, users};
use crate::error::ApiError;

/// Failed logins are counted over this window.
pub const THROTTLE_WINDOW_MINUTES: i64 = 15;
pub const MAX_FAILURES_PER_USERNAME: i64 = 5;
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;

#[derive(Debug, Queryable)]
pub struct Credentials {
    pub id: Uuid,
    pub password_hash: String,
    pub role: String,
    pub area_unit_id: Option<Uuid>,
    pub active: bool,
}

/// What a token is made from, read under a share lock on the account's
/// row: a change that ends its sessions (which updates that row) waits for
/// the token's transaction, or is waited for.
#[derive(Debug, Queryable)]
pub struct Session {
    pub role: String,
    pub area_unit_id: Option<Uuid>,
    pub active: bool,
    pub session_epoch: i64,
    pub password_hash: String,
}

/// The account's session, `None` when the account is gone.
pub fn lock_session(conn: &mut PgConnection, user: Uuid) -> Result<Option<Session>, ApiError> {
    Ok(users::table
        .filter(users::id.eq(user))
        .select((
            users::role,
            users::area_unit_id,
            users::active,
            users::session_epoch,
            users::password_hash,
        ))
        .for_share()
        .first(conn)
        .optional()?)
}

pub fn credentials(
    conn: &mut PgConnection,
    username: &str,
) -> Result<Option<Credentials>, ApiError> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select((
            users::id,
            users::password_hash,
            users::role,
            users::area_unit_id,
            users::active,
        ))
        .first(conn)
        .optional()?)
}

pub fn parse_role(raw: &str) -> Result<Role, ApiError> {
    raw.parse().map_err(ApiError::internal)
}

/// Seconds until another attempt is allowed, when the username or address
/// has used up its failures in the window.
pub fn throttled(
    conn: &mut PgConnection,
    username: &str,
    address: &str,
) -> Result<Option<u64>, ApiError> {
    let since = Utc::now() - ChronoDuration::minutes(THROTTLE_WINDOW_MINUTES);
    // The limit-th most recent failure: when it leaves the window, the count
    // drops below the limit again.
    let by_user: Option<DateTime<Utc>> = login_failures::table
        .filter(login_failures::username.eq(username))
        .filter(login_failures::at.gt(since))
        .order(login_failures::at.desc())
        .offset(MAX_FAILURES_PER_USERNAME - 1)
        .select(login_failures::at)
        .first(conn)
        .optional()?;
    let by_address: Option<DateTime<Utc>> = login_failures::table
        .filter(login_failures::address.eq(address))
        .filter(login_failures::at.gt(since))
        .order(login_failures::at.desc())
        .offset(MAX_FAILURES_PER_ADDRESS - 1)
        .select(login_failures::at)
        .first(conn)
        .optional()?;
    let free_at = by_user.into_iter().chain(by_address).max();
    Ok(free_at.map(|at| {
        let wait = at + ChronoDuration::minutes(THROTTLE_WINDOW_MINUTES) - Utc::now();
        wait.num_seconds().max(1) as u64
    }))
}

/// Serialises the attempts on one username (or client id) until the end of
/// the caller's transaction.
pub fn lock_key(conn: &mut PgConnection, key: &str) -> Result<(), ApiError> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('login:' || $1)::bigint)")
        .bind::<diesel::sql_types::Text, _>(key)
        .execute(conn)?;
    Ok(())
}

/// Counts an attempt as a failure; its id, to withdraw it if it succeeds.
pub fn record_failure(
    conn: &mut PgConnection,
    username: &str,
    address: &str,
) -> Result<i64, ApiError> {
    let id = diesel::insert_into(login_failures::table)
        .values((
            login_failures::username.eq(username),
            login_failures::address.eq(address),
        ))
        .returning(login_failures::id)
        .get_result(conn)?;
    // Old rows serve no window any more.
    diesel::delete(login_failures::table)
        .filter(login_failures::at.lt(Utc::now() - ChronoDuration::days(1)))
        .execute(conn)?;
    Ok(id)
}

/// An attempt counted by `record_failure` whose secret was right after all.
pub fn withdraw_failure(conn: &mut PgConnection, id: i64) -> Result<(), ApiError> {
    diesel::delete(login_failures::table.find(id)).execute(conn)?;
    Ok(())
}

pub fn clear_failures(conn: &mut PgConnection, username: &str) -> Result<(), ApiError> {
    diesel::delete(login_failures::table.filter(login_failures::username.eq(username)))
        .execute(conn)?;
    Ok(())
}

/// A fresh random refresh token (43 URL-safe characters) and its hash.
pub fn new_refresh_secret() -> Result<(String, Vec<u8>), ApiError> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| ApiError::internal(format!("random: {e}")))?;
    let token = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw);
    let hash = hash_refresh(&token);
    Ok((token, hash))
}

pub fn hash_refresh(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub fn store_refresh(
    conn: &mut PgConnection,
    user_id: Uuid,
    family_id: Uuid,
    hash: &[u8],
    ttl: std::time::Duration,
) -> Result<(), ApiError> {
    let expires_at = Utc::now() + ChronoDuration::seconds(ttl.as_secs() as i64);
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Uuid::now_v7()),
            refresh_tokens::user_id.eq(user_id),
            refresh_tokens::family_id.eq(family_id),
            refresh_tokens::token_hash.eq(hash),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Queryable)]
pub struct StoredRefresh {
    pub id: Uuid,
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The token with this hash; `lock` locks its row, so two refreshes with
/// one token cannot both win.
pub fn find_refresh(
    conn: &mut PgConnection,
    hash: &[u8],
    lock: bool,
) -> Result<Option<StoredRefresh>, ApiError> {
    let query = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select((
            refresh_tokens::id,
            refresh_tokens::user_id,
            refresh_tokens::family_id,
            refresh_tokens::expires_at,
            refresh_tokens::used_at,
            refresh_tokens::revoked_at,
        ));
    Ok(if lock {
        query.for_update().first(conn).optional()?
    } else {
        query.first(conn).optional()?
    })
}

pub fn mark_used(conn: &mut PgConnection, id: Uuid) -> Result<(), ApiError> {
    diesel::update(refresh_tokens::table.find(id))
        .set(refresh_tokens::used_at.eq(Utc::now()))
        .execute(conn)?;
    Ok(())
}

pub fn revoke_family(conn: &mut PgConnection, family_id: Uuid) -> Result<usize, ApiError> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Utc::now()))
    .execute(conn)?)
}

/// Revokes every refresh token of a user (deactivation, password change).
pub fn revoke_user(conn: &mut PgConnection, user_id: Uuid) -> Result<usize, ApiError> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Utc::now()))
    .execute(conn)?)
}

/// Refresh tokens that expired more than a day ago serve nothing any more
/// (reuse detection needs only the live family); returns how many went.
pub fn delete_expired_refresh(conn: &mut PgConnection) -> Result<usize, ApiError> {
    Ok(diesel::delete(
        refresh_tokens::table
            .filter(refresh_tokens::expires_at.lt(Utc::now() - ChronoDuration::days(1))),
    )
    .execute(conn)?)
}
