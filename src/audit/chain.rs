//! Linking events into a hash chain, and checking it.
//!
//! Writers only insert. The linker, one at a time across every instance
//! (an advisory lock), takes the committed events not yet linked in id
//! order and gives each the next `seq`, the previous event's chain hash and
//! its own: `chain_hash = SHA-256(prev_hash || content_hash)`. An event that
//! commits late is linked in a later pass; the chain's order is `seq`.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Bytea, Nullable, Text};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::kinds::Action;
use super::record::Stored;
use super::seal;
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
/// runtime that spawned it lives, and after a pass writes a checkpoint of
/// the chain's head when one is due (see `checkpoint`).
/// Also, once an hour, deletes refresh tokens long expired.
pub fn spawn_linker(pool: PgPool, every: Duration, checkpoints: Option<super::checkpoint::Writer>) {
    const HOUR: Duration = Duration::from_secs(3600);
    let checkpoints = checkpoints.map(|w| std::sync::Arc::new(std::sync::Mutex::new(w)));
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(every);
        let mut last_sweep: Option<std::time::Instant> = None;
        loop {
            tick.tick().await;
            if let Err(e) = db::run(&pool, link_pending).await {
                tracing::warn!(error = %e, "audit linker pass failed; retrying");
            }
            if let Some(w) = &checkpoints
                && w.lock().is_ok_and(|w| w.due())
            {
                let w = w.clone();
                let written = db::run(&pool, move |conn| match w.lock() {
                    Ok(mut w) => w.write(conn),
                    Err(_) => Ok(None),
                })
                .await;
                if let Err(e) = written {
                    tracing::warn!(error = %e, "audit checkpoint failed; retrying");
                }
            }
            if last_sweep.is_none_or(|t| t.elapsed() >= HOUR) {
                last_sweep = Some(std::time::Instant::now());
                match db::run(&pool, sweep_refresh).await {
                    Ok(n) if n > 0 => tracing::info!(deleted = n, "expired refresh tokens removed"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "refresh token sweep failed"),
                }
            }
        }
    });
}

/// Held by the instance sweeping expired refresh tokens ("sweep").
const SWEEP_LOCK: i64 = 0x73_77_65_65_70;

/// Deletes refresh tokens long expired, unless another instance is at it.
fn sweep_refresh(conn: &mut PgConnection) -> Result<usize, ApiError> {
    conn.transaction(|conn| {
        let got: Locked = diesel::sql_query(format!(
            "SELECT pg_try_advisory_xact_lock({SWEEP_LOCK}) AS locked"
        ))
        .get_result(conn)?;
        if !got.locked {
            return Ok(0);
        }
        crate::auth::repo::delete_expired_refresh(conn)
    })
}

/// The first event of the chain that does not match.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = BrokenLink)]
pub struct Broken {
    pub id: i64,
    pub event_id: Uuid,
    pub seq: i64,
    /// What is wrong with it, in words.
    #[schema(value_type = String)]
    pub problem: &'static str,
}

/// What a verification of the audit chain found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AuditVerdict)]
pub struct Verdict {
    /// `true` when every linked event matches and the chain reaches the
    /// checkpoint.
    pub ok: bool,
    /// Events checked along the chain.
    pub checked: i64,
    /// The first event that does not match, if any.
    #[schema(required = true)]
    pub first_broken: Option<Broken>,
    /// Events not linked yet, and the age in seconds of the oldest.
    pub unlinked: i64,
    #[schema(required = true)]
    pub oldest_unlinked_seconds: Option<i64>,
    /// Fields of sound events that an erasure removed: their values are
    /// gone, their commitments still prove the rest of each event.
    pub erased_fields: i64,
    /// Sound links whose content cannot be recomputed, each for a reason
    /// the trail records: an erasure of an event sealed the first way, or
    /// an event listed by `banso audit rehash`.
    pub explained: i64,
    /// Whether the chain still reaches the checkpoint it was checked
    /// against (the newest one written, unless one was given); `null`
    /// when there is none.
    #[schema(required = true)]
    pub checkpoint: Option<super::checkpoint::Reach>,
}

/// What the trail itself records about events it cannot prove in full.
#[derive(Default)]
struct Excuses {
    /// Leaves an erasure removed, by event.
    fields: HashMap<Uuid, HashSet<String>>,
    /// Events sealed the first way whose content an erasure changed.
    whole: HashSet<Uuid>,
    /// Events sealed the first way that do not recompute, as listed by a
    /// `hashing_changed` event, with the `seq` that listing holds for.
    legacy: HashMap<Uuid, i64>,
}

fn excuses(conn: &mut PgConnection) -> Result<Excuses, ApiError> {
    let rows: Vec<Option<Value>> = audit_events::table
        .filter(
            audit_events::action.eq_any([Action::Erase.as_str(), Action::HashingChanged.as_str()]),
        )
        .select(audit_events::after)
        .load(conn)?;
    let mut out = Excuses::default();
    let uuid = |v: &Value| v.as_str().and_then(|s| Uuid::parse_str(s).ok());
    for after in rows.into_iter().flatten() {
        for item in after["erased"].as_array().into_iter().flatten() {
            let Some(id) = uuid(&item["event"]) else {
                continue;
            };
            if item["whole"] == Value::Bool(true) {
                out.whole.insert(id);
            }
            let paths = item["fields"].as_array().into_iter().flatten();
            out.fields
                .entry(id)
                .or_default()
                .extend(paths.filter_map(|p| p.as_str().map(str::to_string)));
        }
        if let Some(before_seq) = after["before_seq"].as_i64() {
            for id in after["unverifiable"].as_array().into_iter().flatten() {
                if let Some(id) = uuid(id) {
                    out.legacy.insert(id, before_seq);
                }
            }
        }
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The events whose `before` or `after` as stored differ from what their
/// seals open to. PostgreSQL compares them: `jsonb` numbers are decimals,
/// so a number compares exactly as the text that was written.
fn display_mismatches(
    conn: &mut PgConnection,
    opened: &[(i64, Option<String>, Option<String>)],
) -> Result<HashSet<i64>, ApiError> {
    if opened.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<i64> = opened.iter().map(|o| o.0).collect();
    let befores: Vec<Option<String>> = opened.iter().map(|o| o.1.clone()).collect();
    let afters: Vec<Option<String>> = opened.iter().map(|o| o.2.clone()).collect();
    let rows: Vec<Id> = diesel::sql_query(
        "SELECT e.id FROM unnest($1::int8[], $2::text[], $3::text[]) AS v(id, b, a) \
         JOIN audit_events AS e ON e.id = v.id \
         WHERE e.before IS DISTINCT FROM v.b::jsonb OR e.after IS DISTINCT FROM v.a::jsonb",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<Array<Nullable<Text>>, _>(&befores)
    .bind::<Array<Nullable<Text>>, _>(&afters)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// One event's verdict, before the batch's `jsonb` comparison.
struct Checked {
    seq: i64,
    chain_hash: Option<Vec<u8>>,
    erased: i64,
    explained: i64,
}

/// Recomputes every content hash and every link, in chain order, and
/// checks that the chain reaches `checkpoint` with the hash it signed.
pub fn verify(
    conn: &mut PgConnection,
    checkpoint: Option<&super::checkpoint::Checkpoint>,
) -> Result<Verdict, ApiError> {
    let excuses = excuses(conn)?;
    let mut prev = GENESIS.to_vec();
    let mut expected_seq = 1;
    let mut checked = 0;
    let mut erased_fields = 0;
    let mut explained = 0;
    let mut after = 0i64;
    let mut at_checkpoint: Option<Vec<u8>> = None;
    let first_broken = 'scan: loop {
        let rows: Vec<Stored> = audit_events::table
            .filter(audit_events::seq.gt(after))
            .order(audit_events::seq)
            .limit(BATCH)
            .select(Stored::as_select())
            .load(conn)?;
        if rows.is_empty() {
            break None;
        }
        // Every event of the batch up to the first that fails here; the
        // sealed ones are then compared with their `jsonb` copies at once.
        let mut sound: Vec<Checked> = Vec::with_capacity(rows.len());
        let mut opened = Vec::new();
        let mut failed: Option<Broken> = None;
        for r in &rows {
            let seq = r.seq.unwrap_or(0);
            let broken = |problem| Broken {
                id: r.id,
                event_id: r.who.event_id,
                seq,
                problem,
            };
            if seq != expected_seq {
                failed = Some(broken("a link is missing before this event"));
                break;
            }
            let content = r.content();
            let stored_hash = &r.content_hash;
            let (mut erased, mut excused) = (0, 0);
            match (&r.sealed, &r.openings) {
                (Some(sealed), Some(openings)) => {
                    if Sha256::digest(sealed.as_bytes()).as_slice() != stored_hash.as_slice() {
                        failed = Some(broken(seal::EDITED));
                        break;
                    }
                    let none = HashSet::new();
                    let gone = excuses.fields.get(&r.who.event_id).unwrap_or(&none);
                    match seal::open(sealed, openings, content.envelope(), &|p| gone.contains(p)) {
                        Ok(o) => {
                            erased = o.erased as i64;
                            opened.push((r.id, o.before, o.after));
                        }
                        Err(problem) => {
                            failed = Some(broken(problem));
                            break;
                        }
                    }
                }
                (None, None) => {
                    if &content.legacy_hash() != stored_hash {
                        let listed = excuses
                            .legacy
                            .get(&r.who.event_id)
                            .is_some_and(|&n| seq < n);
                        if !(listed || excuses.whole.contains(&r.who.event_id)) {
                            failed = Some(broken(seal::EDITED));
                            break;
                        }
                        excused = 1;
                    }
                }
                _ => {
                    failed = Some(broken(seal::EDITED));
                    break;
                }
            }
            if r.prev_hash.as_deref() != Some(prev.as_slice()) {
                failed = Some(broken("it does not point at the previous event"));
                break;
            }
            let chain = chain_hash(&prev, stored_hash);
            if r.chain_hash.as_deref() != Some(chain.as_slice()) {
                failed = Some(broken("its chain hash is wrong"));
                break;
            }
            prev = chain;
            expected_seq += 1;
            sound.push(Checked {
                seq,
                chain_hash: r.chain_hash.clone(),
                erased,
                explained: excused,
            });
        }
        let mismatched = display_mismatches(conn, &opened)?;
        for (i, s) in sound.iter().enumerate() {
            let r = &rows[i];
            if mismatched.contains(&r.id) {
                break 'scan Some(Broken {
                    id: r.id,
                    event_id: r.who.event_id,
                    seq: s.seq,
                    problem: seal::EDITED,
                });
            }
            checked += 1;
            erased_fields += s.erased;
            explained += s.explained;
            if checkpoint.is_some_and(|cp| cp.seq == s.seq) {
                at_checkpoint = s.chain_hash.clone();
            }
            after = s.seq;
        }
        if failed.is_some() {
            break failed;
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
    let reach =
        checkpoint.map(|cp| cp.reach(after, first_broken.is_some(), at_checkpoint.as_deref()));
    Ok(Verdict {
        ok: first_broken.is_none() && reach.as_ref().is_none_or(|r| r.reached),
        checked,
        first_broken,
        unlinked,
        oldest_unlinked_seconds: oldest.map(|t| (Utc::now() - t).num_seconds()),
        erased_fields,
        explained,
        checkpoint: reach,
    })
}

/// What `banso audit rehash` found.
#[derive(Debug, Default)]
pub struct Rehash {
    /// Events sealed the first way, before the given `seq`, that were read.
    pub legacy: i64,
    /// Those that do not recompute and hold a fractional number: the first
    /// way's hash was of the value in memory, and a number read back from
    /// `jsonb` did not always parse to the same bits. Listed in the trail.
    pub explained: Vec<(i64, Uuid)>,
    /// Those that do not recompute for another reason (nothing in them the
    /// first way could misread): left for verification to report.
    pub unexplained: Vec<(i64, Uuid)>,
}

fn has_fraction(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_fraction),
        Value::Object(map) => map.values().any(has_fraction),
        _ => false,
    }
}

/// Records in the trail that events before `before_seq` were hashed the
/// first way, listing those of them that no longer recompute because of
/// how that way read numbers back. Nothing is rewritten: the listed events
/// keep their columns and hashes, their links are still checked, and
/// verification reports them as `explained` instead of broken.
pub fn rehash(conn: &mut PgConnection, before_seq: i64) -> Result<Rehash, ApiError> {
    link_all(conn)?;
    let mut report = Rehash::default();
    let mut after = 0i64;
    loop {
        let rows: Vec<Stored> = audit_events::table
            .filter(audit_events::seq.gt(after))
            .filter(audit_events::seq.lt(before_seq))
            .filter(audit_events::sealed.is_null())
            .order(audit_events::seq)
            .limit(BATCH)
            .select(Stored::as_select())
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = last.seq.unwrap_or(before_seq);
        for r in &rows {
            report.legacy += 1;
            let content = r.content();
            if content.legacy_hash() == r.content_hash {
                continue;
            }
            let seq = r.seq.unwrap_or(0);
            if r.before.iter().chain(r.after.iter()).any(has_fraction) {
                report.explained.push((seq, r.who.event_id));
            } else {
                report.unexplained.push((seq, r.who.event_id));
            }
        }
    }
    let ids: Vec<Uuid> = report.explained.iter().map(|e| e.1).collect();
    let e = super::Event::of(Action::HashingChanged, super::Entity::Audit).after(serde_json::json!({
        "before_seq": before_seq,
        "rule": "events before before_seq without a seal were hashed over their values in memory; \
                 those listed in unverifiable hold numbers that did not read back to the same bits, \
                 so their content cannot be recomputed; their links are still checked",
        "legacy_events": report.legacy,
        "unverifiable": ids,
    }));
    super::record(conn, &super::Ctx::system("banso audit rehash"), e)?;
    link_all(conn)?;
    Ok(report)
}
