//! What an integration client may do: its scopes, carried in its tokens'
//! `scope` claim (space-separated, as OAuth writes them), and the one table
//! of which scope each route needs.

use std::fmt;

use actix_web::http::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientScope {
    RegistryRead,
    ActivitiesRead,
    ActivitiesWrite,
    ReportsRead,
    AuditRead,
    ChangesRead,
}

impl ClientScope {
    pub const ALL: [ClientScope; 6] = [
        ClientScope::RegistryRead,
        ClientScope::ActivitiesRead,
        ClientScope::ActivitiesWrite,
        ClientScope::ReportsRead,
        ClientScope::AuditRead,
        ClientScope::ChangesRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClientScope::RegistryRead => "registry:read",
            ClientScope::ActivitiesRead => "activities:read",
            ClientScope::ActivitiesWrite => "activities:write",
            ClientScope::ReportsRead => "reports:read",
            ClientScope::AuditRead => "audit:read",
            ClientScope::ChangesRead => "changes:read",
        }
    }

    pub fn parse(raw: &str) -> Option<ClientScope> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for ClientScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientScopes(u8);

impl ClientScopes {
    pub fn contains(self, scope: ClientScope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn iter(self) -> impl Iterator<Item = ClientScope> {
        ClientScope::ALL
            .into_iter()
            .filter(move |s| self.contains(*s))
    }

    /// The names, in the order of [`ClientScope::ALL`].
    pub fn names(self) -> Vec<String> {
        self.iter().map(|s| s.as_str().to_string()).collect()
    }

    /// The `scope` claim: names separated by spaces.
    pub fn claim(self) -> String {
        self.names().join(" ")
    }

    /// Reads a `scope` claim, ignoring names it does not know.
    pub fn from_claim(claim: &str) -> ClientScopes {
        claim
            .split_whitespace()
            .filter_map(ClientScope::parse)
            .collect()
    }

    /// Reads names a client or an admin wrote; the first unknown one is the
    /// error.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<ClientScopes, String> {
        names
            .into_iter()
            .map(|n| ClientScope::parse(n.trim()).ok_or_else(|| n.trim().to_string()))
            .collect()
    }
}

impl FromIterator<ClientScope> for ClientScopes {
    fn from_iter<I: IntoIterator<Item = ClientScope>>(iter: I) -> Self {
        ClientScopes(iter.into_iter().fold(0, |bits, s| bits | s.bit()))
    }
}

/// What a route asks of an integration client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any client may call it (`GET /me`).
    Nothing,
    Scope(ClientScope),
    /// No client may call it: accounts, the catalogue's and the units'
    /// edits, verification, month locks, phone sync, the registry's writes.
    Refused,
}

/// The scope a client needs for `method` on the route `pattern` (as actix
/// matched it, such as `/api/v1/households/{id}`).
pub fn needed(method: &Method, pattern: &str) -> Need {
    use ClientScope::*;
    let path = pattern.strip_prefix("/api/v1").unwrap_or(pattern);
    let reads = *method == Method::GET || *method == Method::HEAD;
    let resource = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match (resource, reads) {
        ("me", true) if path == "/me" => Need::Nothing,
        ("units" | "teams" | "members" | "households" | "catalog", true) => {
            Need::Scope(RegistryRead)
        }
        ("trainings" | "assistances" | "periods", true) => Need::Scope(ActivitiesRead),
        // Recording and correcting, as a team would; never verifying.
        ("trainings" | "assistances", false)
            if (*method == Method::POST && path.matches('/').count() == 1)
                || (*method == Method::PATCH && path.ends_with("/{id}")) =>
        {
            Need::Scope(ActivitiesWrite)
        }
        ("reports", true) => Need::Scope(ReportsRead),
        ("audit", true) => Need::Scope(AuditRead),
        ("changes", true) => Need::Scope(ChangesRead),
        // A client's own webhooks: what it is sent is what the feed lists.
        ("webhooks", _) => Need::Scope(ChangesRead),
        _ => Need::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_through_the_claim() {
        let s = ClientScopes::parse(["reports:read", "registry:read"]).unwrap();
        assert_eq!(s.claim(), "registry:read reports:read");
        assert_eq!(ClientScopes::from_claim(&s.claim()), s);
        assert_eq!(
            ClientScopes::parse(["registry:write"]),
            Err("registry:write".into())
        );
        assert!(ClientScopes::from_claim("").iter().next().is_none());
    }

    #[test]
    fn each_route_names_its_scope() {
        use ClientScope::*;
        let get = Method::GET;
        let cases = [
            (&get, "/api/v1/households/{id}", Need::Scope(RegistryRead)),
            (&get, "/api/v1/units", Need::Scope(RegistryRead)),
            (&get, "/api/v1/assistances", Need::Scope(ActivitiesRead)),
            (
                &Method::POST,
                "/api/v1/assistances",
                Need::Scope(ActivitiesWrite),
            ),
            (
                &Method::PATCH,
                "/api/v1/trainings/{id}",
                Need::Scope(ActivitiesWrite),
            ),
            (
                &Method::POST,
                "/api/v1/assistances/{id}/verify",
                Need::Refused,
            ),
            (&Method::DELETE, "/api/v1/trainings/{id}", Need::Refused),
            (&get, "/api/v1/reports/summary", Need::Scope(ReportsRead)),
            (&get, "/api/v1/audit/verify", Need::Scope(AuditRead)),
            (&get, "/api/v1/changes", Need::Scope(ChangesRead)),
            (&Method::POST, "/api/v1/webhooks", Need::Scope(ChangesRead)),
            (
                &Method::DELETE,
                "/api/v1/webhooks/{id}",
                Need::Scope(ChangesRead),
            ),
            (&get, "/api/v1/me", Need::Nothing),
            (&get, "/api/v1/users", Need::Refused),
            (&Method::POST, "/api/v1/households", Need::Refused),
            (&Method::POST, "/api/v1/sync", Need::Refused),
            (
                &Method::POST,
                "/api/v1/periods/{unit_id}/{month}/lock",
                Need::Refused,
            ),
        ];
        for (method, pattern, need) in cases {
            assert_eq!(needed(method, pattern), need, "{method} {pattern}");
        }
    }
}
