//! Reads that may go to a read replica (`DATABASE_READ_URL`): reports and
//! exports. The replica is a PostgreSQL hot standby fed by streaming
//! replication; before each read it says how far behind the primary it is,
//! and past `BANSO_READ_MAX_LAG_MS` the read goes to the primary instead.
//!
//! **Lag.** A standby that has replayed everything it received is as fresh
//! as the primary's last commit it knows of: lag 0. Otherwise its lag is
//! the time since the last transaction it replayed committed on the primary
//! (`pg_last_xact_replay_timestamp()`), and its data is true as of that
//! moment, which the answer gives as `as_of`.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{Bool, Double, Timestamptz};

use super::{PgPool, run};
use crate::error::ApiError;

/// Where a read was answered from, for the answer's headers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadFrom {
    /// True when the replica answered.
    pub replica: bool,
    /// How far behind the replica was, when one is configured and answered
    /// the question.
    pub lag: Option<Duration>,
}

impl ReadFrom {
    pub const PRIMARY: ReadFrom = ReadFrom {
        replica: false,
        lag: None,
    };

    /// `X-Read-From: primary|replica` and, when known, the replica's lag in
    /// milliseconds (`X-Replica-Lag-Ms`).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![(
            "X-Read-From",
            if self.replica { "replica" } else { "primary" }.to_string(),
        )];
        if let Some(lag) = self.lag {
            out.push(("X-Replica-Lag-Ms", lag.as_millis().to_string()));
        }
        out
    }
}

/// How far behind the primary this server is (zero on a primary), and the
/// moment its data is true at.
#[derive(QueryableByName, Debug)]
pub struct Freshness {
    #[diesel(sql_type = Bool)]
    pub standby: bool,
    #[diesel(sql_type = Double)]
    pub lag_seconds: f64,
    #[diesel(sql_type = Timestamptz)]
    pub as_of: chrono::DateTime<chrono::Utc>,
}

pub fn freshness(conn: &mut PgConnection) -> QueryResult<Freshness> {
    diesel::sql_query(
        "SELECT pg_is_in_recovery() AS standby, \
                CASE WHEN NOT pg_is_in_recovery() \
                       OR pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() \
                       OR pg_last_xact_replay_timestamp() IS NULL \
                     THEN 0 \
                     ELSE greatest(0, extract(epoch FROM now() - pg_last_xact_replay_timestamp())) \
                END::float8 AS lag_seconds, \
                CASE WHEN NOT pg_is_in_recovery() \
                       OR pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() \
                       OR pg_last_xact_replay_timestamp() IS NULL \
                     THEN now() \
                     ELSE least(now(), pg_last_xact_replay_timestamp()) \
                END AS as_of",
    )
    .get_result(conn)
}

/// Runs `work` on the replica when one is configured, reachable and at most
/// `max_lag` behind; otherwise on the primary. Says which answered. `work`
/// is also given the pool its connection came from, to read on more
/// connections of the same server.
pub async fn run_read<T, F>(
    primary: &PgPool,
    replica: Option<&PgPool>,
    max_lag: Duration,
    work: F,
) -> Result<(T, ReadFrom), ApiError>
where
    F: FnOnce(&mut PgConnection, &PgPool) -> Result<T, ApiError> + Send + Clone + 'static,
    T: Send + 'static,
{
    let mut lag = None;
    if let Some(replica) = replica {
        let attempt = work.clone();
        let pool = replica.clone();
        let answer = run(replica, move |conn| {
            let f = freshness(conn)?;
            let behind = Duration::from_secs_f64(f.lag_seconds.max(0.0));
            if behind > max_lag {
                return Ok((None, behind));
            }
            Ok((Some(attempt(conn, &pool)?), behind))
        })
        .await;
        match answer {
            Ok((Some(value), behind)) => {
                return Ok((
                    value,
                    ReadFrom {
                        replica: true,
                        lag: Some(behind),
                    },
                ));
            }
            Ok((None, behind)) => {
                tracing::info!(
                    lag_ms = behind.as_millis() as u64,
                    "the read replica is too far behind; reading from the primary"
                );
                lag = Some(behind);
            }
            Err(ApiError::Unavailable) => {
                tracing::warn!("the read replica is unavailable; reading from the primary");
            }
            Err(e) => return Err(e),
        }
    }
    let pool = primary.clone();
    let value = run(primary, move |conn| work(conn, &pool)).await?;
    Ok((
        value,
        ReadFrom {
            replica: false,
            lag,
        },
    ))
}
