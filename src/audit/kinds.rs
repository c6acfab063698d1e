//! What an audit event says happened (`Action`) and to what kind of record
//! (`Entity`): one list of each, used by the trail, the change feed and
//! anything else that reads events. The texts are what the database and
//! JSON hold; code compares the enums.

crate::code_enum!(
    /// What happened.
    Action {
        Create = "create",
        Update = "update",
        Archive = "archive",
        MoveOut = "move_out",
        MoveIn = "move_in",
        Consent = "consent",
        Erase = "erase",
        Import = "import",
        Verify = "verify",
        Reject = "reject",
        Reopen = "reopen",
        Lock = "lock",
        Unlock = "unlock",
        Read = "read",
        ReadConsents = "read_consents",
        Export = "export",
        Login = "login",
        LoginFailed = "login_failed",
        Logout = "logout",
        Token = "token",
        TokenFailed = "token_failed",
        SetPassword = "set_password",
        PasswordChangeFailed = "password_change_failed",
        HashingChanged = "hashing_changed",
        RotateSecret = "rotate_secret",
        Revoke = "revoke",
        Delete = "delete",
    }
);

crate::code_enum!(
    /// The kind of record an event is about.
    Entity {
        Unit = "unit",
        Team = "team",
        Member = "member",
        Household = "household",
        Training = "training",
        Assistance = "assistance",
        Period = "period",
        User = "user",
        Client = "client",
        CatalogEntry = "catalog_entry",
        Audit = "audit",
        Webhook = "webhook",
    }
);

impl Action {
    /// A change to a record, as opposed to a read, a login and the like:
    /// what the change feed reports.
    pub fn is_change(self) -> bool {
        matches!(
            self,
            Action::Create
                | Action::Update
                | Action::Archive
                | Action::MoveOut
                | Action::MoveIn
                | Action::Consent
                | Action::Erase
                | Action::Import
                | Action::Verify
                | Action::Reject
                | Action::Reopen
                | Action::Lock
                | Action::Unlock
        )
    }

    /// The texts of every change, for a query on the stored column.
    pub fn changes() -> Vec<&'static str> {
        Action::ALL
            .iter()
            .filter(|a| a.is_change())
            .map(|a| a.as_str())
            .collect()
    }
}

impl Entity {
    /// The kinds of record the change feed reports.
    pub fn in_feed(self) -> bool {
        matches!(
            self,
            Entity::Unit
                | Entity::Team
                | Entity::Member
                | Entity::Household
                | Entity::Training
                | Entity::Assistance
                | Entity::Period
        )
    }

    /// The kinds the feed reports.
    pub fn feed() -> Vec<Entity> {
        Entity::ALL
            .iter()
            .copied()
            .filter(|e| e.in_feed())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_parses_back() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Ok(*a));
        }
        for e in Entity::ALL {
            assert_eq!(Entity::parse(e.as_str()), Ok(*e));
        }
        assert!(Action::parse("destroy").is_err());
        assert!(Entity::parse("person").is_err());
    }

    #[test]
    fn the_feed_lists_changes_to_records_only() {
        assert!(Action::changes().contains(&"move_out"));
        assert!(!Action::changes().contains(&"read"));
        assert!(!Entity::feed().contains(&Entity::User));
        assert!(Entity::feed().contains(&Entity::Period));
    }
}
