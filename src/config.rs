//! Typed settings, read from the environment once and validated as a whole:
//! every bad value is reported, each in its own line, before anything starts.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Request bodies larger than this are refused with 413 (the routes that
/// take larger bodies, the household import and sync, set their own).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone)]
pub struct Settings {
    /// `DATABASE_URL`; `None` means the embedded cluster under `data_dir/pg`.
    pub database_url: Option<String>,
    /// `DATABASE_READ_URL`: a read replica (hot standby) for reports and
    /// exports; `None` reads everything from the primary.
    pub database_read_url: Option<String>,
    /// `BANSO_READ_MAX_LAG_MS`: past this lag a read meant for the replica
    /// goes to the primary.
    pub read_max_lag: Duration,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub keys_dir: PathBuf,
    pub pool_size: u32,
    pub pool_timeout: Duration,
    pub statement_timeout: Duration,
    /// PostgreSQL `lock_timeout` of the service's connections, never more
    /// than `statement_timeout`.
    pub lock_timeout: Duration,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub issuer: String,
    pub audience: String,
    pub workers: usize,
    pub log_format: LogFormat,
    pub admin_password: Option<String>,
    /// `BANSO_TRUSTED_PROXY_HOPS`: how many reverse proxies in front of the
    /// service append to `X-Forwarded-For`. 0 (the default) uses the TCP
    /// peer and ignores the header; N takes the N-th entry from its right
    /// end, the address the outermost trusted proxy saw.
    pub trusted_proxy_hops: usize,
    /// `BANSO_CORS_ORIGINS`: the browser origins (`https://host[:port]`)
    /// that may call the API from another site; none by default.
    pub cors_origins: Vec<String>,
    /// `BANSO_METRICS_ALLOW`: the networks that may read `/metrics` without
    /// a token (default: this machine only).
    pub metrics_allow: Vec<ipnet::IpNet>,
    /// `BANSO_INSTANCE`: this process's name in `/metrics` and the log
    /// (default: the host name and the listening port).
    pub instance: String,
    /// `BANSO_WEBHOOKS_*`: how webhooks are checked and delivered.
    pub webhooks: WebhookSettings,
}

/// How webhook deliveries are made and retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// `BANSO_WEBHOOKS_ALLOW_LOOPBACK`: webhook URLs on this machine
    /// (`localhost`, 127.0.0.0/8, ::1) are accepted, over plain HTTP too;
    /// for tests and local trials only. Off by default.
    pub allow_loopback: bool,
    /// `BANSO_WEBHOOKS_TIMEOUT_MS`: one attempt's limit, connection included.
    pub timeout: Duration,
    /// `BANSO_WEBHOOKS_RETRY_BASE_MS`: the wait after the first failed
    /// attempt; each further failure doubles it (with jitter) ...
    pub retry_base: Duration,
    /// `BANSO_WEBHOOKS_RETRY_MAX_MS`: ... up to this.
    pub retry_max: Duration,
    /// `BANSO_WEBHOOKS_GIVE_UP_SECS`: how long after the change a delivery
    /// that keeps failing is retried before it is marked failed.
    pub give_up_after: Duration,
}

impl fmt::Debug for Settings {
    // Hand-written so that the database password and the admin password never
    // reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &self.database_url.as_ref().map(|_| "<set>"))
            .field(
                "database_read_url",
                &self.database_read_url.as_ref().map(|_| "<set>"),
            )
            .field("read_max_lag", &self.read_max_lag)
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("keys_dir", &self.keys_dir)
            .field("pool_size", &self.pool_size)
            .field("pool_timeout", &self.pool_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("lock_timeout", &self.lock_timeout)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("workers", &self.workers)
            .field("log_format", &self.log_format)
            .field("trusted_proxy_hops", &self.trusted_proxy_hops)
            .field("cors_origins", &self.cors_origins)
            .field("metrics_allow", &self.metrics_allow)
            .field("instance", &self.instance)
            .field("webhooks", &self.webhooks)
            .finish_non_exhaustive()
    }
}

/// All the problems found in the environment, one per variable.
#[derive(Debug)]
pub struct ConfigError(pub Vec<String>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for line in &self.0 {
            writeln!(f, "  - {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Access tokens never live longer than this, whatever is configured.
pub const MAX_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads settings through `lookup`, so tests can pass their own values.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut errors = Vec::new();
        let get = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());

        let mut parse = |key: &str, default: &str, check: &dyn Fn(&str) -> Result<u64, String>| {
            let raw = get(key).unwrap_or_else(|| default.to_string());
            match check(raw.trim()) {
                Ok(v) => v,
                Err(why) => {
                    errors.push(format!("{key}={raw:?}: {why}"));
                    0
                }
            }
        };
        let range = |lo: u64, hi: u64| {
            move |s: &str| -> Result<u64, String> {
                let v: u64 = s.parse().map_err(|_| "not a whole number".to_string())?;
                if (lo..=hi).contains(&v) {
                    Ok(v)
                } else {
                    Err(format!("must be between {lo} and {hi}"))
                }
            }
        };

        let default_workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let pool_size = parse("BANSO_POOL_SIZE", "8", &range(1, 200)) as u32;
        let pool_timeout = parse("BANSO_POOL_TIMEOUT_MS", "3000", &range(100, 60_000));
        let read_max_lag = parse("BANSO_READ_MAX_LAG_MS", "5000", &range(0, 86_400_000));
        let statement_timeout = parse("BANSO_STATEMENT_TIMEOUT_MS", "10000", &range(100, 600_000));
        let lock_timeout = parse("BANSO_LOCK_TIMEOUT_MS", "5000", &range(100, 600_000));
        let access_ttl = parse(
            "BANSO_ACCESS_TOKEN_TTL_SECS",
            "900",
            &range(30, MAX_ACCESS_TOKEN_TTL.as_secs()),
        );
        let refresh_days = parse("BANSO_REFRESH_TOKEN_TTL_DAYS", "30", &range(1, 365));
        let hook_timeout = parse("BANSO_WEBHOOKS_TIMEOUT_MS", "10000", &range(100, 60_000));
        let retry_base = parse(
            "BANSO_WEBHOOKS_RETRY_BASE_MS",
            "30000",
            &range(10, 3_600_000),
        );
        let retry_max = parse(
            "BANSO_WEBHOOKS_RETRY_MAX_MS",
            "3600000",
            &range(10, 86_400_000),
        );
        let give_up = parse(
            "BANSO_WEBHOOKS_GIVE_UP_SECS",
            "86400",
            &range(1, 7 * 86_400),
        );
        let workers = parse(
            "BANSO_WORKERS",
            &default_workers.to_string(),
            &range(1, 256),
        ) as usize;

        let listen_raw = get("BANSO_LISTEN").unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen = match listen_raw.trim().parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                errors.push(format!(
                    "BANSO_LISTEN={listen_raw:?}: expected an address and port such as 127.0.0.1:8080"
                ));
                None
            }
        };

        let log_format = match get("BANSO_LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                errors.push(format!(
                    "BANSO_LOG_FORMAT={other:?}: expected \"text\" or \"json\""
                ));
                LogFormat::Text
            }
        };

        let allow_loopback = match get("BANSO_WEBHOOKS_ALLOW_LOOPBACK")
            .as_deref()
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("false" | "0" | "no") => false,
            Some("true" | "1" | "yes") => true,
            Some(other) => {
                errors.push(format!(
                    "BANSO_WEBHOOKS_ALLOW_LOOPBACK={other:?}: expected true or false"
                ));
                false
            }
        };
        if retry_max < retry_base {
            errors.push(format!(
                "BANSO_WEBHOOKS_RETRY_MAX_MS={retry_max}: must not be less than BANSO_WEBHOOKS_RETRY_BASE_MS ({retry_base})"
            ));
        }

        if get("BANSO_TRUST_FORWARDED").is_some() {
            errors.push(
                "BANSO_TRUST_FORWARDED is no longer read: set BANSO_TRUSTED_PROXY_HOPS to the number of reverse proxies in front of the service (1 for one nginx), or remove it"
                    .to_string(),
            );
        }
        let trusted_proxy_hops = match get("BANSO_TRUSTED_PROXY_HOPS").as_deref().map(str::trim) {
            None => 0,
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if n <= 10 => n,
                _ => {
                    errors.push(format!(
                        "BANSO_TRUSTED_PROXY_HOPS={raw:?}: expected a whole number from 0 to 10"
                    ));
                    0
                }
            },
        };

        let cors_origins = get("BANSO_CORS_ORIGINS")
            .map(|raw| parse_origins(&raw))
            .transpose()
            .unwrap_or_else(|bad| {
                errors.push(format!(
                    "BANSO_CORS_ORIGINS: {bad:?} is not an origin; write scheme, host and optional port only, such as https://portal.caobang.gov.vn"
                ));
                None
            })
            .unwrap_or_default();

        let metrics_allow = parse_networks(
            get("BANSO_METRICS_ALLOW")
                .as_deref()
                .unwrap_or("127.0.0.1,::1"),
        )
        .unwrap_or_else(|bad| {
            errors.push(format!(
                "BANSO_METRICS_ALLOW: {bad:?} is not an address or network (such as 10.0.0.5 or 10.0.0.0/24)"
            ));
            Vec::new()
        });

        let database_url = get("DATABASE_URL");
        if let Some(url) = &database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            errors.push("DATABASE_URL: expected a postgres:// or postgresql:// URL".to_string());
        }
        let database_read_url = get("DATABASE_READ_URL");
        if let Some(url) = &database_read_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            errors
                .push("DATABASE_READ_URL: expected a postgres:// or postgresql:// URL".to_string());
        }

        let admin_password = lookup("BANSO_ADMIN_PASSWORD").filter(|p| !p.is_empty());
        if let Some(p) = &admin_password {
            let n = p.chars().count();
            if !(crate::auth::password::MIN_LEN..=crate::auth::password::MAX_LEN).contains(&n) {
                errors.push(format!(
                    "BANSO_ADMIN_PASSWORD: must be {} to {} characters long",
                    crate::auth::password::MIN_LEN,
                    crate::auth::password::MAX_LEN
                ));
            }
        }

        let data_dir = PathBuf::from(get("BANSO_DATA_DIR").unwrap_or_else(|| "./.banso".into()));
        let keys_dir = get("BANSO_JWT_KEYS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("keys"));
        let issuer = get("BANSO_JWT_ISSUER").unwrap_or_else(|| "banso".into());
        let audience = get("BANSO_JWT_AUDIENCE").unwrap_or_else(|| "banso-api".into());

        match listen {
            Some(listen) if errors.is_empty() => Ok(Settings {
                database_url,
                database_read_url,
                read_max_lag: Duration::from_millis(read_max_lag),
                listen,
                data_dir,
                keys_dir,
                pool_size,
                pool_timeout: Duration::from_millis(pool_timeout),
                statement_timeout: Duration::from_millis(statement_timeout),
                lock_timeout: Duration::from_millis(lock_timeout.min(statement_timeout)),
                access_token_ttl: Duration::from_secs(access_ttl),
                refresh_token_ttl: Duration::from_secs(refresh_days * 24 * 3600),
                issuer,
                audience,
                workers,
                log_format,
                admin_password,
                trusted_proxy_hops,
                cors_origins,
                metrics_allow,
                instance: get("BANSO_INSTANCE").unwrap_or_else(|| {
                    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                        .map(|h| h.trim().to_string())
                        .unwrap_or_default();
                    let host = if host.is_empty() {
                        "banso".into()
                    } else {
                        host
                    };
                    format!("{host}:{}", listen.port())
                }),
                webhooks: WebhookSettings {
                    allow_loopback,
                    timeout: Duration::from_millis(hook_timeout),
                    retry_base: Duration::from_millis(retry_base),
                    retry_max: Duration::from_millis(retry_max),
                    give_up_after: Duration::from_secs(give_up),
                },
            }),
            _ => Err(ConfigError(errors)),
        }
    }
}

/// A comma-separated list of addresses and networks; the first bad entry.
fn parse_networks(list: &str) -> Result<Vec<ipnet::IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "none")
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| s.to_string())
        })
        .collect()
}

/// Comma-separated origins, each `http(s)://host[:port]` with nothing
/// after; the first that is not is returned as the error.
fn parse_origins(raw: &str) -> Result<Vec<String>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .ok_or_else(|| origin.to_string())?;
            let host_ok = !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
            if host_ok {
                Ok(origin.to_ascii_lowercase())
            } else {
                Err(origin.to_string())
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_sane() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.data_dir, PathBuf::from("./.banso"));
        assert_eq!(s.keys_dir, PathBuf::from("./.banso/keys"));
        assert_eq!(s.access_token_ttl, Duration::from_secs(900));
        assert!(s.database_url.is_none());
        assert_eq!(s.trusted_proxy_hops, 0);
        assert!(!s.webhooks.allow_loopback);
        assert_eq!(s.webhooks.give_up_after, Duration::from_secs(86_400));
    }

    #[test]
    fn webhook_settings_are_checked() {
        let s = settings(&[
            ("BANSO_WEBHOOKS_ALLOW_LOOPBACK", "true"),
            ("BANSO_WEBHOOKS_RETRY_BASE_MS", "50"),
            ("BANSO_WEBHOOKS_RETRY_MAX_MS", "400"),
        ])
        .unwrap();
        assert!(s.webhooks.allow_loopback);
        assert_eq!(s.webhooks.retry_base, Duration::from_millis(50));
        let text = settings(&[
            ("BANSO_WEBHOOKS_ALLOW_LOOPBACK", "maybe"),
            ("BANSO_WEBHOOKS_RETRY_BASE_MS", "5000"),
            ("BANSO_WEBHOOKS_RETRY_MAX_MS", "100"),
            ("BANSO_WEBHOOKS_GIVE_UP_SECS", "0"),
        ])
        .unwrap_err()
        .to_string();
        for key in [
            "BANSO_WEBHOOKS_ALLOW_LOOPBACK",
            "BANSO_WEBHOOKS_RETRY_MAX_MS",
            "BANSO_WEBHOOKS_GIVE_UP_SECS",
        ] {
            assert!(text.contains(key), "{key} missing from {text}");
        }
    }

    #[test]
    fn every_bad_value_is_reported() {
        let err = settings(&[
            ("BANSO_LISTEN", "nowhere"),
            ("BANSO_POOL_SIZE", "0"),
            ("BANSO_ACCESS_TOKEN_TTL_SECS", "3600"),
            ("BANSO_LOG_FORMAT", "xml"),
            ("DATABASE_URL", "mysql://x"),
            ("BANSO_TRUSTED_PROXY_HOPS", "-1"),
            ("BANSO_TRUST_FORWARDED", "true"),
        ])
        .unwrap_err();
        let text = err.to_string();
        for key in [
            "BANSO_LISTEN",
            "BANSO_POOL_SIZE",
            "BANSO_ACCESS_TOKEN_TTL_SECS",
            "BANSO_LOG_FORMAT",
            "DATABASE_URL",
            "BANSO_TRUSTED_PROXY_HOPS=\"-1\"",
            "BANSO_TRUST_FORWARDED is no longer read",
        ] {
            assert!(text.contains(key), "{key} missing from {text}");
        }
        assert_eq!(err.0.len(), 7);
    }

    #[test]
    fn the_lock_timeout_is_never_longer_than_a_statement() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.statement_timeout, Duration::from_millis(10_000));
        assert_eq!(s.lock_timeout, Duration::from_millis(5_000));
        let s = settings(&[("BANSO_LOCK_TIMEOUT_MS", "60000")]).unwrap();
        assert_eq!(s.lock_timeout, Duration::from_millis(10_000));
        let s = settings(&[
            ("BANSO_STATEMENT_TIMEOUT_MS", "120000"),
            ("BANSO_LOCK_TIMEOUT_MS", "60000"),
        ])
        .unwrap();
        assert_eq!(s.lock_timeout, Duration::from_millis(60_000));
        for bad in ["0", "99", "600001", "soon"] {
            let err = settings(&[("BANSO_LOCK_TIMEOUT_MS", bad)]).unwrap_err();
            assert!(
                err.to_string().contains("BANSO_LOCK_TIMEOUT_MS"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn cors_origins_are_origins_only() {
        let s = settings(&[(
            "BANSO_CORS_ORIGINS",
            "https://Portal.CaoBang.gov.vn, http://localhost:3000",
        )])
        .unwrap();
        assert_eq!(
            s.cors_origins,
            ["https://portal.caobang.gov.vn", "http://localhost:3000"]
        );
        assert!(settings(&[]).unwrap().cors_origins.is_empty());
        for bad in [
            "*",
            "portal.gov.vn",
            "https://portal.gov.vn/",
            "https://a.vn/path",
            "https://",
        ] {
            let err = settings(&[("BANSO_CORS_ORIGINS", bad)]).unwrap_err();
            assert!(
                err.to_string().contains("BANSO_CORS_ORIGINS"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let s = settings(&[
            ("DATABASE_URL", "postgres://u:hunter2hunter2@h/db"),
            ("DATABASE_READ_URL", "postgres://u:swordfish77@replica/db"),
            ("BANSO_ADMIN_PASSWORD", "correct horse battery"),
        ])
        .unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"));
        assert!(!shown.contains("horse"));
        assert!(!shown.contains("swordfish"));
    }

    #[test]
    fn read_replica_settings_are_checked() {
        let err = settings(&[
            ("DATABASE_READ_URL", "mysql://replica"),
            ("BANSO_READ_MAX_LAG_MS", "-1"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("DATABASE_READ_URL"), "{err}");
        assert!(err.contains("BANSO_READ_MAX_LAG_MS"), "{err}");
        let s = settings(&[("BANSO_READ_MAX_LAG_MS", "250")]).unwrap();
        assert_eq!(s.read_max_lag, Duration::from_millis(250));
        assert_eq!(s.database_read_url, None);
    }
}
