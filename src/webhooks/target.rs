//! Where a webhook may point: an `https://` URL on the public internet.
//!
//! The service sends requests to URLs that clients choose, so a URL must
//! not reach this machine or the networks behind it (server-side request
//! forgery). A URL is checked when it is registered (its host resolved,
//! every address checked) and again on every attempt: the client that sends
//! resolves names through [`Guard`], which drops forbidden addresses, so a
//! name that resolves elsewhere later (DNS rebinding) still cannot reach a
//! private address. Redirects are not followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::LazyLock;

use ipnet::IpNet;
use reqwest::Url;

/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Networks never reached, whatever the settings: private, shared, link
/// local (cloud metadata services live there), unspecified, documentation,
/// benchmarking, multicast and reserved ranges, in IPv4 and IPv6.
static FORBIDDEN: LazyLock<Vec<IpNet>> = LazyLock::new(|| {
    [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "100::/64",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    ]
    .iter()
    .filter_map(|n| n.parse().ok())
    .collect()
});

/// What an address is, for the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Public,
    Loopback,
    Private,
}

/// Classifies an address; IPv4 inside IPv6 (mapped, compatible, NAT64) is
/// judged as the IPv4 address it carries.
pub fn reach(ip: IpAddr) -> Reach {
    let ip = match ip {
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    if ip.is_loopback() {
        return Reach::Loopback;
    }
    if FORBIDDEN.iter().any(|n| n.contains(&ip)) {
        return Reach::Private;
    }
    Reach::Public
}

fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    // ::a.b.c.d (deprecated "compatible" form), not :: and ::1 themselves.
    if s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1) {
        return Some(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ));
    }
    // 64:ff9b::/96, the NAT64 prefix.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ));
    }
    None
}

/// Whether the service may send to `ip`.
pub fn allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    match reach(ip) {
        Reach::Public => true,
        Reach::Loopback => allow_loopback,
        Reach::Private => false,
    }
}

/// A URL that passed the checks that need no name lookup.
#[derive(Debug, Clone)]
pub struct Checked {
    pub url: Url,
    /// The host is a name to resolve (not an address).
    pub name: Option<String>,
    pub port: u16,
}

fn is_local_name(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host == "localhost" || host.ends_with(".localhost")
}

/// Checks a URL's form: `https://` (plain `http://` only for loopback when
/// allowed), no user name or password, no fragment, a host that is not a
/// forbidden address. The message says what is wrong.
pub fn check(raw: &str, allow_loopback: bool) -> Result<Checked, String> {
    // Counted as sent, in characters, as the document's `maxLength` is.
    if raw.chars().count() > MAX_URL_LEN {
        return Err(format!("must be at most {MAX_URL_LEN} characters"));
    }
    let url = Url::parse(raw.trim()).map_err(|_| "must be an absolute https:// URL".to_string())?;
    if url.as_str().len() > MAX_URL_LEN {
        return Err(format!(
            "must be at most {MAX_URL_LEN} characters once its non-ASCII characters are percent-encoded"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold a user name or password; put a token in the path or query if the receiver needs one".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a #fragment".into());
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| "must be an absolute https:// URL".to_string())?;
    let (loopback, name) = match url.host() {
        Some(url::Host::Ipv4(ip)) => (check_ip(IpAddr::V4(ip), allow_loopback)?, None),
        Some(url::Host::Ipv6(ip)) => (check_ip(IpAddr::V6(ip), allow_loopback)?, None),
        Some(url::Host::Domain(d)) if is_local_name(d) => {
            if !allow_loopback {
                return Err("must not point at this machine (localhost)".into());
            }
            (true, Some(d.to_string()))
        }
        Some(url::Host::Domain(d)) => (false, Some(d.to_string())),
        None => return Err("must be an absolute https:// URL".into()),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback && allow_loopback => {}
        "http" => return Err("must use https://, not plain http://".into()),
        _ => return Err("must be an absolute https:// URL".into()),
    }
    Ok(Checked { url, name, port })
}

fn check_ip(ip: IpAddr, allow_loopback: bool) -> Result<bool, String> {
    match reach(ip) {
        Reach::Public => Ok(false),
        Reach::Loopback if allow_loopback => Ok(true),
        Reach::Loopback => Err("must not point at this machine (a loopback address)".into()),
        Reach::Private => Err(format!(
            "must not point at a private, link-local or reserved address ({ip})"
        )),
    }
}

/// Resolves a checked URL's host and checks every address it has (at
/// registration): a name that resolves to nothing, or to any forbidden
/// address, is refused.
pub async fn resolve_check(checked: &Checked, allow_loopback: bool) -> Result<(), String> {
    let Some(name) = &checked.name else {
        return Ok(());
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), checked.port))
        .await
        .map_err(|_| format!("its host {name} does not resolve"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("its host {name} does not resolve"));
    }
    if let Some(bad) = addrs.iter().find(|a| !allowed(a.ip(), allow_loopback)) {
        return Err(match reach(bad.ip()) {
            Reach::Loopback => format!("its host {name} resolves to this machine"),
            _ => format!("its host {name} resolves to a private or reserved address"),
        });
    }
    Ok(())
}

/// The resolver of the sending client: a name's addresses without the
/// forbidden ones; none left is an error, so nothing is sent.
pub struct Guard {
    pub allow_loopback: bool,
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let addrs: Vec<SocketAddr> =
                found.filter(|a| allowed(a.ip(), allow_loopback)).collect();
            if addrs.is_empty() {
                return Err(Box::new(Forbidden) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The error of a name whose every address is forbidden.
#[derive(Debug)]
pub struct Forbidden;

impl std::fmt::Display for Forbidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the host resolves only to private or loopback addresses")
    }
}

impl std::error::Error for Forbidden {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_classified() {
        let r = |s: &str| reach(s.parse().unwrap());
        assert_eq!(r("8.8.8.8"), Reach::Public);
        assert_eq!(r("2606:4700::1111"), Reach::Public);
        for lo in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(r(lo), Reach::Loopback, "{lo}");
        }
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "::10.0.0.1",
        ] {
            assert_eq!(r(private), Reach::Private, "{private}");
        }
        assert_eq!(r("172.32.0.1"), Reach::Public);
    }

    #[test]
    fn urls_are_checked_before_any_lookup() {
        let ok = check("https://portal.example.vn/hooks/banso?key=1", false).unwrap();
        assert_eq!(ok.name.as_deref(), Some("portal.example.vn"));
        assert_eq!(ok.port, 443);
        for bad in [
            "http://portal.example.vn/hook",
            "ftp://portal.example.vn/hook",
            "portal.example.vn/hook",
            "https://user:pw@portal.example.vn/",
            "https://portal.example.vn/#x",
            "https://127.0.0.1/hook",
            "https://[::1]/hook",
            "https://localhost/hook",
            "https://a.localhost./hook",
            "https://10.0.0.1/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[::ffff:192.168.0.1]/",
            "https://2130706433/",
        ] {
            assert!(check(bad, false).is_err(), "{bad} passed");
        }
        // Loopback when allowed, plain http included; private never.
        assert!(check("http://127.0.0.1:8080/hook", true).is_ok());
        assert!(check("http://localhost:8080/hook", true).is_ok());
        assert!(check("https://10.0.0.1/hook", true).is_err());
        assert!(check("http://portal.example.vn/hook", true).is_err());
        let long = format!("https://portal.example.vn/{}", "a".repeat(MAX_URL_LEN));
        assert!(check(&long, false).is_err());
        // Characters as sent, then the URL as stored, are both bounded.
        let fits = format!("https://portal.example.vn/{}", "a".repeat(MAX_URL_LEN - 26));
        assert!(check(&fits, false).is_ok());
        let encoded = format!("https://portal.example.vn/{}", "ệ".repeat(1000));
        assert!(encoded.chars().count() <= MAX_URL_LEN);
        assert!(check(&encoded, false).is_err());
        let padded = format!(" {fits} ");
        assert!(check(&padded, false).is_err());
    }
}
