//! What a database failure means for the client, decided by PostgreSQL's
//! SQLSTATE, never by the language the server happens to speak.
//!
//! diesel 2 reports the SQLSTATE only as its `DatabaseErrorKind`, which
//! covers the integrity violations (23xxx), serialization failures (40001)
//! and lost connections (08xxx). For the few conditions it folds into
//! `Unknown` (deadlocks, cancelled statements, a server shutting down, text
//! with NUL), the only thing it hands over is the primary message. So every
//! pooled session runs with `lc_messages = 'C'` (see [`pin_messages`]): its
//! messages are PostgreSQL's own untranslated ones, fixed in its source, and
//! [`HIDDEN`] recovers the SQLSTATE from them. A server whose role may not
//! set `lc_messages` and that speaks another language is reported once in
//! the log at the first connection; those conditions then become 500s, and
//! nothing else changes.

use std::sync::atomic::{AtomicBool, Ordering};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind as K, Error as E};
use diesel::{QueryableByName, RunQueryDsl};

use crate::error::ApiError;

/// What the client is told a failure means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// The database refused this attempt but will take the same request
    /// again: deadlock, serialization failure, a cancelled statement (503
    /// with `Retry-After`).
    Retry,
    /// The database is away: connection lost, server starting or stopping,
    /// read-only (503 with `Retry-After`).
    Away,
    /// A unique key is taken (409).
    Taken,
    /// Text with a NUL character, which PostgreSQL cannot store (400).
    Nul,
    /// Anything else is a fault of the service (500, cause logged).
    Fault,
}

/// The conditions diesel reports only by message: the untranslated message
/// (its beginning) and the SQLSTATE it belongs to.
const HIDDEN: &[(&str, &str)] = &[
    ("deadlock detected", "40P01"),
    ("canceling statement due to statement timeout", "57014"),
    ("canceling statement due to user request", "57014"),
    ("canceling statement due to lock timeout", "55P03"),
    ("canceling statement due to conflict with recovery", "40001"),
    ("terminating connection", "57P01"),
    ("the database system is", "57P03"),
    ("cannot execute", "25006"),
    ("invalid byte sequence for encoding \"UTF8\": 0x00", "22021"),
    // libpq's own messages, in the client's language (this process never
    // calls setlocale, so they are untranslated too).
    ("server closed the connection unexpectedly", "08006"),
    ("no connection to the server", "08003"),
    ("could not receive data from server", "08006"),
    ("could not send data to server", "08006"),
];

/// The SQLSTATE of a failure, as far as diesel lets it be known.
pub fn sqlstate(kind: &K, info: &dyn DatabaseErrorInformation) -> Option<&'static str> {
    match kind {
        K::UniqueViolation => Some("23505"),
        K::ForeignKeyViolation => Some("23503"),
        K::NotNullViolation => Some("23502"),
        K::CheckViolation => Some("23514"),
        K::RestrictViolation => Some("23001"),
        K::ExclusionViolation => Some("23P01"),
        K::SerializationFailure => Some("40001"),
        K::ReadOnlyTransaction => Some("25006"),
        K::ClosedConnection | K::UnableToSendCommand => Some("08006"),
        _ => {
            let message = info.message();
            HIDDEN
                .iter()
                .find(|(text, _)| message.starts_with(text))
                .map(|(_, code)| *code)
        }
    }
}

/// What a SQLSTATE means for the client, by its class and code.
pub fn meaning(sqlstate: Option<&str>) -> Meaning {
    let Some(code) = sqlstate else {
        return Meaning::Fault;
    };
    match code {
        "23505" => Meaning::Taken,
        "22021" => Meaning::Nul,
        // Transaction rollback (40001 serialization, 40P01 deadlock), query
        // cancelled (57014), lock not available (55P03).
        c if c.starts_with("40") || c == "57014" || c == "55P03" => Meaning::Retry,
        // Connection exceptions, operator intervention (shutdown, crash,
        // starting up), a read-only transaction (a standby).
        c if c.starts_with("08") || c.starts_with("57P") || c == "25006" => Meaning::Away,
        _ => Meaning::Fault,
    }
}

impl From<E> for ApiError {
    fn from(e: E) -> Self {
        match e {
            E::NotFound => ApiError::NotFound,
            E::DatabaseError(kind, info) => {
                let code = sqlstate(&kind, info.as_ref());
                match meaning(code) {
                    Meaning::Retry => {
                        tracing::warn!(
                            sqlstate = code.unwrap_or(""),
                            "transaction aborted by the database; the client is asked to retry"
                        );
                        ApiError::Unavailable
                    }
                    Meaning::Away => ApiError::Unavailable,
                    Meaning::Taken => taken(info.constraint_name()),
                    Meaning::Nul => {
                        ApiError::BadRequest("text must not contain NUL characters".into())
                    }
                    Meaning::Fault => ApiError::Internal(format!(
                        "database error (SQLSTATE {}): {}",
                        code.unwrap_or("unknown"),
                        info.message()
                    )),
                }
            }
            other => ApiError::internal(format!("database: {other}")),
        }
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(_: diesel::r2d2::PoolError) -> Self {
        ApiError::Unavailable
    }
}

/// A unique key taken: a plain conflict that names what the client sent
/// (never a constraint name, nor anything of the record that holds it,
/// which may lie outside the caller's area).
fn taken(constraint: Option<&str>) -> ApiError {
    let detail = match constraint {
        Some("users_username_key") => "this username is taken",
        Some("clients_client_id_key") => "this client id is taken",
        Some("households_code_in_commune") => "another household of this commune has this code",
        Some("teams_one_active_per_village") => "this village already has an active team",
        Some("units_level_code_valid_from_key") => {
            "a unit of this level with this code already exists from that date"
        }
        Some(c) if c.ends_with("_pkey") => {
            "this id is already used by another record; send a new id"
        }
        _ => "this conflicts with a record already stored",
    };
    ApiError::conflict(detail)
}

/// Set once the log has said that this server's messages cannot be pinned.
static UNPINNED_REPORTED: AtomicBool = AtomicBool::new(false);

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

/// Makes the session's messages PostgreSQL's untranslated ones, which the
/// SQLSTATE recovery above relies on. Setting `lc_messages` needs a
/// superuser (the embedded cluster) or, on PostgreSQL 15 and later, `GRANT
/// SET ON PARAMETER lc_messages`; a role without either keeps the server's
/// language, which is fine when that language is already untranslated.
pub fn pin_messages(conn: &mut PgConnection) -> Result<(), E> {
    if conn.batch_execute("SET lc_messages TO 'C'").is_ok() {
        return Ok(());
    }
    let current = diesel::sql_query("SELECT current_setting('lc_messages') AS value")
        .get_result::<Setting>(conn)?
        .value;
    if !matches!(current.as_str(), "C" | "POSIX")
        && !UNPINNED_REPORTED.swap(true, Ordering::Relaxed)
    {
        tracing::warn!(
            lc_messages = %current,
            "this database role may not set lc_messages, and the server may answer in another \
             language: deadlocks and cancelled statements would then be answered 500 instead of \
             503; as a superuser run ALTER ROLE <role> SET lc_messages = 'C' (or GRANT SET ON \
             PARAMETER lc_messages TO <role>)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_mean_what_the_client_is_told() {
        assert_eq!(meaning(Some("40P01")), Meaning::Retry);
        assert_eq!(meaning(Some("40001")), Meaning::Retry);
        assert_eq!(meaning(Some("57014")), Meaning::Retry);
        assert_eq!(meaning(Some("55P03")), Meaning::Retry);
        assert_eq!(meaning(Some("57P01")), Meaning::Away);
        assert_eq!(meaning(Some("08006")), Meaning::Away);
        assert_eq!(meaning(Some("25006")), Meaning::Away);
        assert_eq!(meaning(Some("23505")), Meaning::Taken);
        assert_eq!(meaning(Some("22021")), Meaning::Nul);
        assert_eq!(meaning(Some("23503")), Meaning::Fault);
        assert_eq!(meaning(Some("42P01")), Meaning::Fault);
        assert_eq!(meaning(None), Meaning::Fault);
    }

    #[test]
    fn hidden_conditions_are_recovered_from_untranslated_messages() {
        let deadlock = "deadlock detected".to_string();
        assert_eq!(sqlstate(&K::Unknown, &deadlock), Some("40P01"));
        let german = "Verklemmung (Deadlock) entdeckt".to_string();
        assert_eq!(sqlstate(&K::Unknown, &german), None);
        let unique = "whatever language".to_string();
        assert_eq!(sqlstate(&K::UniqueViolation, &unique), Some("23505"));
    }

    #[test]
    fn a_taken_key_names_no_constraint() {
        for c in [Some("households_pkey"), Some("x_y_key"), None] {
            let ApiError::Conflict { detail, current } = taken(c) else {
                panic!("not a conflict");
            };
            assert!(current.is_none());
            assert!(
                !detail.contains("pkey") && !detail.contains("_key"),
                "{detail}"
            );
        }
    }
}
