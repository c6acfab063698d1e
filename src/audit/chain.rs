//! Linking events into a hash chain, and checking it.
//!
//! Writers only insert. The linker, one at a time across every instance
//! (an advisory lock), takes the committed events not yet linked in id
//! order and gives each the next `seq`, the previous event's chain hash and
//! its own: `chain_hash = SHA-256(prev_hash || content_hash)`. An event that
//! commits late is linked in a later pass; the chain's order is `seq`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Bytea};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::record::Content;
use crate::db::schema::audit_events;
use crate::db::{self, PgPool};
use crate::error::ApiError;

const LINKER_LOCK: i64 = 0x0061_7564_6974; // "audit"
const BATCH: i64 = 5_000;
pub const GENESIS: [u8; 32] = [0; 32];

fn chain_hash(prev: &[u8], content: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(content);
    h.finalize().to_vec()
}

#[derive(QueryableByName)]
struct Linked {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Bytea)]
    chain_hash: Vec<u8>,
}

#[derive(QueryableByName)]
struct Pending {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Bytea)]
    content_hash: Vec<u8>,
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Links the events committed so far; returns how many it linked. Another
/// instance linking at the moment makes this pass a no-op.
pub fn link_pending(conn: &mut PgConnection) -> Result<usize, ApiError> {
    link(conn, false)
}

/// Links everything committed so far, waiting for another linker to finish
/// first (before a verification).
pub fn link_all(conn: &mut PgConnection) -> Result<usize, ApiError> {
    link(conn, true)
}

fn link(conn: &mut PgConnection, wait: bool) -> Result<usize, ApiError> {
    let mut total = 0;
    loop {
        let linked = conn.transaction::<_, ApiError, _>(|conn| {
            let lock = if wait {
                format!("SELECT pg_advisory_xact_lock({LINKER_LOCK}) IS NOT NULL AS locked")
            } else {
                format!("SELECT pg_try_advisory_xact_lock({LINKER_LOCK}) AS locked")
            };
            let got: Locked = diesel::sql_query(lock).get_result(conn)?;
            if !got.locked {
                return Ok(0);
            }
            // Plain statements without parameters: a prepared statement
            // with a bound LIMIT gets a generic plan that sorts the whole
            // table once it is big.
            let last: Option<Linked> = diesel::sql_query(
                "SELECT seq, chain_hash FROM audit_events \
                 WHERE seq = (SELECT max(seq) FROM audit_events)",
            )
            .get_result(conn)
            .optional()?;
            let (mut seq, mut prev) = match last {
                Some(l) => (l.seq, l.chain_hash),
                None => (0, GENESIS.to_vec()),
            };
            let pending: Vec<Pending> = diesel::sql_query(format!(
                "SELECT id, content_hash FROM audit_events WHERE seq IS NULL ORDER BY id LIMIT {BATCH}"
            ))
            .load(conn)?;
            let pending: Vec<(i64, Vec<u8>)> =
                pending.into_iter().map(|p| (p.id, p.content_hash)).collect();
            if pending.is_empty() {
                return Ok(0);
            }
            let (mut ids, mut seqs, mut prevs, mut chains) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (id, content) in &pending {
                seq += 1;
                let chain = chain_hash(&prev, content);
                ids.push(*id);
                seqs.push(seq);
                prevs.push(prev.clone());
                chains.push(chain.clone());
                prev = chain;
            }
            diesel::sql_query(
                "UPDATE audit_events AS a SET seq = v.seq, prev_hash = v.prev, chain_hash = v.chain \
                 FROM (SELECT unnest($1) AS id, unnest($2) AS seq, unnest($3) AS prev, unnest($4) AS chain) AS v \
                 WHERE a.id = v.id",
            )
            .bind::<Array<BigInt>, _>(&ids)
            .bind::<Array<BigInt>, _>(&seqs)
            .bind::<Array<Bytea>, _>(&prevs)
            .bind::<Array<Bytea>, _>(&chains)
            .execute(conn)?;
            Ok(pending.len())
        })?;
        total += linked;
        if linked < BATCH as usize {
            return Ok(total);
        }
    }
}

/// Runs the linker every `every` on the blocking pool, for as long as the
/// runtime that spawned it lives.
/// Also, once an hour, deletes refresh tokens long expired.
pub fn spawn_linker(pool: PgPool, every: Duration) {
    const HOUR: Duration = Duration::from_secs(3600);
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(every);
        let mut last_sweep: Option<std::time::Instant> = None;
        loop {
            tick.tick().await;
            if let Err(e) = db::run(&pool, link_pending).await {
                tracing::warn!(error = %e, "audit linker pass failed; retrying");
            }
            if last_sweep.is_none_or(|t| t.elapsed() >= HOUR) {
                last_sweep = Some(std::time::Instant::now());
                match db::run(&pool, crate::auth::repo::delete_expired_refresh).await {
                    Ok(n) if n > 0 => tracing::info!(deleted = n, "expired refresh tokens removed"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "refresh token sweep failed"),
                }
            }
        }
    });
}

type EventRow = (
    i64,
    Uuid,
    DateTime<Utc>,
    String,
    Option<Uuid>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<Uuid>,
    Option<String>,
    Option<Value>,
    Option<Value>,
    Option<Uuid>,
    Option<String>,
    Vec<u8>,
    Option<i64>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);

#[derive(Debug, Serialize)]
pub struct Broken {
    pub id: i64,
    pub event_id: Uuid,
    pub seq: i64,
    pub problem: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Verdict {
    pub ok: bool,
    /// Events checked along the chain.
    pub checked: i64,
    /// The first event that does not match, if any.
    pub first_broken: Option<Broken>,
    /// Events not linked yet, and the age in seconds of the oldest.
    pub unlinked: i64,
    pub oldest_unlinked_seconds: Option<i64>,
}

/// Recomputes every content hash and every link, in chain order.
pub fn verify(conn: &mut PgConnection) -> Result<Verdict, ApiError> {
    let mut prev = GENESIS.to_vec();
    let mut expected_seq = 1;
    let mut checked = 0;
    let mut after = 0i64;
    let first_broken = 'scan: loop {
        let rows: Vec<EventRow> = audit_events::table
            .filter(audit_events::seq.gt(after))
            .order(audit_events::seq)
            .limit(BATCH)
            .select((
                audit_events::id,
                audit_events::event_id,
                audit_events::at,
                audit_events::actor_kind,
                audit_events::actor_id,
                audit_events::actor_name,
                audit_events::action,
                audit_events::entity,
                audit_events::entity_id,
                audit_events::unit_id,
                audit_events::area_path,
                audit_events::before,
                audit_events::after,
                audit_events::request_id,
                audit_events::address,
                audit_events::content_hash,
                audit_events::seq,
                audit_events::prev_hash,
                audit_events::chain_hash,
            ))
            .load(conn)?;
        if rows.is_empty() {
            break None;
        }
        for r in &rows {
            let seq = r.16.unwrap_or(0);
            let broken = |problem| Broken {
                id: r.0,
                event_id: r.1,
                seq,
                problem,
            };
            if seq != expected_seq {
                break 'scan Some(broken("a link is missing before this event"));
            }
            let content = Content {
                event_id: r.1,
                at: r.2,
                actor_kind: &r.3,
                actor_id: r.4,
                actor_name: r.5.as_deref(),
                action: &r.6,
                entity: &r.7,
                entity_id: r.8.as_deref(),
                unit_id: r.9,
                area_path: r.10.as_deref(),
                before: r.11.as_ref(),
                after: r.12.as_ref(),
                request_id: r.13,
                address: r.14.as_deref(),
            }
            .hash();
            if content != r.15 {
                break 'scan Some(broken("its content does not match its hash"));
            }
            if r.17.as_deref() != Some(prev.as_slice()) {
                break 'scan Some(broken("it does not point at the previous event"));
            }
            let chain = chain_hash(&prev, &content);
            if r.18.as_deref() != Some(chain.as_slice()) {
                break 'scan Some(broken("its chain hash is wrong"));
            }
            prev = chain;
            expected_seq += 1;
            checked += 1;
            after = seq;
        }
    };
    let unlinked: i64 = audit_events::table
        .filter(audit_events::seq.is_null())
        .count()
        .get_result(conn)?;
    let oldest: Option<DateTime<Utc>> = audit_events::table
        .filter(audit_events::seq.is_null())
        .select(diesel::dsl::min(audit_events::at))
        .first(conn)?;
    Ok(Verdict {
        ok: first_broken.is_none(),
        checked,
        first_broken,
        unlinked,
        oldest_unlinked_seconds: oldest.map(|t| (Utc::now() - t).num_seconds()),
    })
}
