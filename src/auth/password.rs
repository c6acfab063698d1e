//! Password hashing with argon2id at OWASP's parameters. Callers run these on
//! the blocking pool: one hash costs tens of milliseconds by design.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 128;

/// OWASP's minimum for argon2id: 19 MiB, two passes, one lane.
const MEMORY_KIB: u32 = 19_456;
const PASSES: u32 = 2;
const LANES: u32 = 1;

fn argon2() -> Argon2<'static> {
    // The parameters are constants within argon2's bounds.
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks the rules every password follows, returning why it is refused.
pub fn check_rules(password: &str, username: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err("password must be at least 10 characters long");
    }
    if n > MAX_LEN {
        return Err("password must be at most 128 characters long");
    }
    if password.trim().to_lowercase() == username.trim().to_lowercase() {
        return Err("password must not be the username");
    }
    Ok(())
}

pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| argon2::password_hash::Error::Crypto)?;
    let salt = SaltString::encode_b64(&salt)?;
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// True when `password` matches `phc`. A malformed stored hash never matches.
pub fn verify(phc: &str, password: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random password, verified against when the username is
/// unknown so that the answer takes as long as for a wrong password.
static DUMMY: LazyLock<String> = LazyLock::new(|| {
    let mut random = [0u8; 24];
    let _ = getrandom::fill(&mut random);
    hash(&base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        random,
    ))
    .unwrap_or_default()
});

pub fn verify_dummy(password: &str) {
    let _ = verify(&DUMMY, password);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_with_owasp_parameters_and_verifies() {
        let h = hash("a good long password").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify(&h, "a good long password"));
        assert!(!verify(&h, "a good long passwore"));
        assert!(!verify("not a hash", "a good long password"));
    }

    #[test]
    fn rules() {
        assert!(check_rules("short", "u").is_err());
        assert!(check_rules(&"x".repeat(129), "u").is_err());
        assert!(check_rules("leader.lungcu", "Leader.LungCu").is_err());
        assert!(check_rules("ten chars!", "u").is_ok());
        // Counted in characters, not bytes.
        assert!(check_rules("ăâêôơưđáàả", "u").is_ok());
    }
}
