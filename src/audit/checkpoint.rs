//! Signed checkpoints of the chain's head, kept outside the database.
//!
//! The chain proves that no linked event was edited or removed from its
//! middle, but not that the newest events are all still there: deleting the
//! last ones leaves a shorter chain that is sound. So the linker's task
//! writes, at most once a minute and only when the head moved, a checkpoint
//! `(seq, chain_hash, at)` signed with the service's signing key (the one
//! that signs access tokens, from the key folder): one JSON line appended to
//! `$BANSO_DATA_DIR/audit/checkpoints.jsonl` and one log line. An operator
//! keeps copies elsewhere; `GET /audit/verify` checks the chain against the
//! newest checkpoint of the file, or against one it is given.

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use diesel::prelude::*;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::seal::{hex, unhex};
use crate::error::ApiError;

/// How often, at most, a checkpoint is written.
pub const EVERY: Duration = Duration::from_secs(60);

/// The newest checkpoints `GET /audit/checkpoints` answers with.
pub const LISTED: usize = 100;

/// A signed statement that the chain reached `seq` with `chain_hash` at `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Checkpoint {
    /// The chain's last `seq` when signed.
    pub seq: i64,
    /// Its `chain_hash`, 64 hex digits.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub chain_hash: String,
    /// When it was signed: RFC 3339, UTC, microseconds.
    #[schema(format = DateTime)]
    pub at: String,
    /// The signing key's id, as in `/.well-known/jwks.json`.
    pub kid: String,
    /// Ed25519, base64url, over the lines `banso audit checkpoint`, `seq
    /// <seq>`, `chain_hash <hex>`, `at <at>`, each ended by a newline.
    pub signature: String,
}

/// Whether a verified chain still reaches a checkpoint.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AuditCheckpointReach)]
pub struct Reach {
    pub seq: i64,
    #[schema(format = DateTime)]
    pub at: String,
    /// Whether the chain still holds the event the checkpoint signed, with
    /// the same chain hash.
    pub reached: bool,
    /// Why not: the chain is truncated (the newest events are missing),
    /// breaks before, or was rewritten since.
    #[schema(required = true)]
    pub problem: Option<String>,
}

fn message(seq: i64, chain_hash: &str, at: &str) -> String {
    format!("banso audit checkpoint\nseq {seq}\nchain_hash {chain_hash}\nat {at}\n")
}

impl Checkpoint {
    /// The checkpoint as one opaque string, for `?checkpoint=`.
    pub fn token(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn from_token(token: &str) -> Option<Checkpoint> {
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Checks the signature with the public keys the service publishes.
    pub fn signed_by(&self, jwks: &serde_json::Value) -> bool {
        let Some(key) = jwks["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|k| k["kid"] == self.kid.as_str())
            .and_then(|k| k["x"].as_str())
            .and_then(|x| URL_SAFE_NO_PAD.decode(x).ok())
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .and_then(|b| VerifyingKey::from_bytes(&b).ok())
        else {
            return false;
        };
        let Some(sig) = URL_SAFE_NO_PAD
            .decode(&self.signature)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
        else {
            return false;
        };
        key.verify_strict(
            message(self.seq, &self.chain_hash, &self.at).as_bytes(),
            &sig,
        )
        .is_ok()
    }

    /// The verdict, given the last sound `seq` of the chain, whether a
    /// broken event stopped the walk, and the chain hash found at this
    /// checkpoint's `seq` (if the walk got there).
    pub fn reach(&self, last_sound: i64, broken: bool, hash_here: Option<&[u8]>) -> Reach {
        let (reached, problem) = match hash_here {
            Some(h) if hex(h) == self.chain_hash => (true, None),
            Some(_) => (
                false,
                Some(format!(
                    "the event at seq {} is not the one this checkpoint signed at {}: the chain was rewritten since",
                    self.seq, self.at
                )),
            ),
            None if broken => (
                false,
                Some(format!(
                    "the chain breaks before seq {}, which this checkpoint signed at {}",
                    self.seq, self.at
                )),
            ),
            None => (
                false,
                Some(format!(
                    "the chain is truncated: it ends at seq {last_sound}, but the checkpoint signed at {} reached seq {}; the newest {} events are missing",
                    self.at,
                    self.seq,
                    self.seq - last_sound
                )),
            ),
        };
        Reach {
            seq: self.seq,
            at: self.at.clone(),
            reached,
            problem,
        }
    }
}

/// Where the checkpoints of a data folder are kept.
pub fn file(data_dir: &Path) -> PathBuf {
    data_dir.join("audit").join("checkpoints.jsonl")
}

/// The newest `n` checkpoints of the file, newest first; none when there is
/// no file. Reads only the file's end.
pub fn recent(path: &Path, n: usize) -> std::io::Result<Vec<Checkpoint>> {
    const TAIL: u64 = 256 * 1024;
    let mut f = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    let start = len.saturating_sub(TAIL);
    f.seek(SeekFrom::Start(start))?;
    let mut text = String::new();
    f.take(TAIL).read_to_string(&mut text)?;
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0); // cut in the middle
    }
    Ok(lines
        .iter()
        .rev()
        .filter_map(|l| serde_json::from_str(l).ok())
        .take(n)
        .collect())
}

/// Signs and writes checkpoints.
pub struct Writer {
    kid: String,
    key: SigningKey,
    path: PathBuf,
    last_seq: i64,
    last_at: Option<std::time::Instant>,
}

#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    chain_hash: Vec<u8>,
}

/// Held by the instance writing a checkpoint ("checkp" in ASCII).
const CHECKPOINT_LOCK: i64 = 0x63_68_65_63_6b_70;

/// The `app_meta` key of the newest checkpoint's `seq`, shared by every
/// instance; its `updated_at` is when it was written.
pub const SHARED_KEY: &str = "audit_checkpoint_seq";

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

#[derive(QueryableByName)]
struct Shared {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    recent: bool,
}

impl Writer {
    /// With the newest key of `keys_dir` (the one that signs tokens).
    pub fn new(keys_dir: &Path, data_dir: &Path) -> Result<Writer, String> {
        let keys = crate::auth::tokens::read_keys(keys_dir).map_err(|e| e.to_string())?;
        let (kid, seed) = keys
            .iter()
            .next_back()
            .ok_or_else(|| "no signing key in the key folder".to_string())?;
        let path = file(data_dir);
        let last_seq = recent(&path, 1)
            .map_err(|e| format!("reading {}: {e}", path.display()))?
            .first()
            .map_or(0, |c| c.seq);
        Ok(Writer {
            kid: kid.clone(),
            key: SigningKey::from_bytes(seed),
            path,
            last_seq,
            last_at: None,
        })
    }

    pub fn sign(&self, seq: i64, chain_hash: &[u8], at: DateTime<Utc>) -> Checkpoint {
        let chain_hash = hex(chain_hash);
        let at = at.to_rfc3339_opts(SecondsFormat::Micros, true);
        let signature = self.key.sign(message(seq, &chain_hash, &at).as_bytes());
        Checkpoint {
            seq,
            chain_hash,
            at,
            kid: self.kid.clone(),
            signature: URL_SAFE_NO_PAD.encode(signature.to_bytes()),
        }
    }

    /// Whether a checkpoint is due (the first one as soon as there is a head).
    pub fn due(&self) -> bool {
        self.last_at.is_none_or(|t| t.elapsed() >= EVERY)
    }

    /// Writes a checkpoint of the chain's head if it moved since the last.
    /// Several instances on one database write each checkpoint once: one
    /// at a time (an advisory lock), and not within `EVERY` of the last one
    /// any of them wrote (kept in `app_meta`).
    pub fn write(&mut self, conn: &mut PgConnection) -> Result<Option<Checkpoint>, ApiError> {
        conn.transaction(|conn| self.write_locked(conn))
    }

    fn write_locked(&mut self, conn: &mut PgConnection) -> Result<Option<Checkpoint>, ApiError> {
        let got: Locked = diesel::sql_query(format!(
            "SELECT pg_try_advisory_xact_lock({CHECKPOINT_LOCK}) AS locked"
        ))
        .get_result(conn)?;
        if !got.locked {
            return Ok(None);
        }
        let shared: Option<Shared> = diesel::sql_query(format!(
            "SELECT value::bigint AS seq, updated_at > now() - interval '{} seconds' AS recent \
             FROM app_meta WHERE key = '{SHARED_KEY}'",
            EVERY.as_secs()
        ))
        .get_result(conn)
        .optional()?;
        if shared.as_ref().is_some_and(|s| s.recent) {
            // Another instance wrote one a moment ago.
            self.last_at = Some(std::time::Instant::now());
            return Ok(None);
        }
        let last_seq = self.last_seq.max(shared.map_or(0, |s| s.seq));
        let head: Option<Head> = diesel::sql_query(
            "SELECT seq, chain_hash FROM audit_events \
             WHERE seq = (SELECT max(seq) FROM audit_events)",
        )
        .get_result(conn)
        .optional()?;
        // Until the first checkpoint, every pass looks; then once a period.
        if last_seq > 0 {
            self.last_at = Some(std::time::Instant::now());
        }
        let Some(head) = head.filter(|h| h.seq > last_seq) else {
            return Ok(None);
        };
        self.last_at = Some(std::time::Instant::now());
        let cp = self.sign(head.seq, &head.chain_hash, Utc::now());
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(ApiError::internal)?;
        }
        let mut line = serde_json::to_string(&cp).map_err(ApiError::internal)?;
        line.push('\n');
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .map_err(ApiError::internal)?;
        self.last_seq = cp.seq;
        diesel::sql_query(format!(
            "INSERT INTO app_meta (key, value, updated_at) VALUES ('{SHARED_KEY}', $1, now()) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()"
        ))
        .bind::<diesel::sql_types::Text, _>(cp.seq.to_string())
        .execute(conn)?;
        tracing::info!(
            seq = cp.seq,
            chain_hash = %cp.chain_hash,
            at = %cp.at,
            kid = %cp.kid,
            signature = %cp.signature,
            "audit checkpoint"
        );
        Ok(Some(cp))
    }
}

/// Whether a checkpoint's hash is well formed (64 hex digits).
pub fn well_formed(cp: &Checkpoint) -> bool {
    cp.seq > 0 && unhex(&cp.chain_hash).is_some_and(|h| h.len() == 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_verifies_with_the_published_key_and_not_altered() {
        let dir = std::env::temp_dir().join(format!("banso-cp-{}", uuid::Uuid::new_v4()));
        let kid = crate::auth::tokens::create_key(&dir).unwrap();
        let w = Writer::new(&dir, &dir).unwrap();
        let cp = w.sign(42, &[9; 32], Utc::now());
        let seed = crate::auth::tokens::read_keys(&dir).unwrap()[&kid];
        let x = URL_SAFE_NO_PAD.encode(SigningKey::from_bytes(&seed).verifying_key().as_bytes());
        let jwks = serde_json::json!({"keys": [{"kid": kid, "x": x}]});
        assert!(cp.signed_by(&jwks));
        assert_eq!(Checkpoint::from_token(&cp.token()), Some(cp.clone()));
        let altered = Checkpoint { seq: 43, ..cp };
        assert!(!altered.signed_by(&jwks));
        let _ = fs::remove_dir_all(&dir);
    }
}
