//! Access tokens: EdDSA (Ed25519) JWTs with a pinned algorithm, signed by the
//! newest key of the key folder and verified by any key still in it, so a
//! retired key keeps verifying until its file is removed.
//!
//! jsonwebtoken delegates the cryptography to a provider. Ours knows only
//! EdDSA, on ed25519-dalek: every other algorithm is refused before any
//! signature is checked, and no RSA code is linked in.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result as JwtResult};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Role;
use super::sessions::SessionView;

const KEY_SUFFIX: &str = "ed25519";
pub const TOKEN_TYPE_ACCESS: &str = "access";

struct EdSigner(SigningKey);
struct EdVerifier(VerifyingKey);

impl Signer<Vec<u8>> for EdSigner {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self.0.sign(msg).to_bytes().to_vec())
    }
}

impl JwtSigner for EdSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

impl Verifier<Vec<u8>> for EdVerifier {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> Result<(), signature::Error> {
        let sig = Signature::from_slice(sig)?;
        self.0.verify_strict(msg, &sig)
    }
}

impl JwtVerifier for EdVerifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

fn signer_factory(alg: &Algorithm, key: &EncodingKey) -> JwtResult<Box<dyn JwtSigner>> {
    if *alg != Algorithm::EdDSA {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let seed: [u8; 32] = key
        .as_bytes()
        .try_into()
        .map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdSigner(SigningKey::from_bytes(&seed))))
}

fn verifier_factory(alg: &Algorithm, key: &DecodingKey) -> JwtResult<Box<dyn JwtVerifier>> {
    if *alg != Algorithm::EdDSA {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let public: [u8; 32] = key
        .try_get_as_bytes()?
        .try_into()
        .map_err(|_| ErrorKind::InvalidEddsaKey)?;
    let key = VerifyingKey::from_bytes(&public).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdVerifier(key)))
}

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory,
    verifier_factory,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Installs the EdDSA-only provider; idempotent.
pub fn install_provider() {
    let _ = PROVIDER.install_default();
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: io::Error,
    },
    #[error("signing key {0} is not a base64 Ed25519 seed of 32 bytes")]
    Malformed(String),
    #[error("could not draw random bytes for a new key")]
    Random,
}

fn key_io(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> KeyError {
    let path = path.display().to_string();
    move |source| KeyError::Io { what, path, source }
}

/// Writes a new signing key into `dir` and returns its id. Ids sort by
/// creation time, and the greatest signs.
pub fn create_key(dir: &Path) -> Result<String, KeyError> {
    fs::create_dir_all(dir).map_err(key_io("creating", dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(key_io("securing", dir))?;
    let mut seed = [0u8; 32];
    let mut tag = [0u8; 3];
    getrandom::fill(&mut seed).map_err(|_| KeyError::Random)?;
    getrandom::fill(&mut tag).map_err(|_| KeyError::Random)?;
    let kid = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S"),
        tag.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let path = dir.join(format!("{kid}.{KEY_SUFFIX}"));
    let mut options = fs::OpenOptions::new();
    std::os::unix::fs::OpenOptionsExt::mode(options.write(true).create_new(true), 0o600);
    let mut file = options.open(&path).map_err(key_io("creating", &path))?;
    io::Write::write_all(&mut file, STANDARD.encode(seed).as_bytes())
        .map_err(key_io("writing", &path))?;
    Ok(kid)
}

/// Every key in `dir` by id, creating the first one when there is none.
pub fn load_keys(dir: &Path) -> Result<BTreeMap<String, [u8; 32]>, KeyError> {
    let mut keys = read_keys(dir)?;
    if keys.is_empty() {
        create_key(dir)?;
        keys = read_keys(dir)?;
    }
    Ok(keys)
}

pub fn read_keys(dir: &Path) -> Result<BTreeMap<String, [u8; 32]>, KeyError> {
    let mut keys = BTreeMap::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(keys),
        Err(e) => return Err(key_io("reading", dir)(e)),
    };
    for entry in entries {
        let path = entry.map_err(key_io("reading", dir))?.path();
        let (Some(kid), Some(KEY_SUFFIX)) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        let text = fs::read_to_string(&path).map_err(key_io("reading", &path))?;
        let seed: [u8; 32] = STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| KeyError::Malformed(path.display().to_string()))?;
        keys.insert(kid.to_string(), seed);
    }
    Ok(keys)
}

/// What an access token says about its holder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
    pub jti: String,
    /// Always "access": refresh tokens are not JWTs, and a token of any
    /// other type is refused.
    pub typ: String,
    pub role: Role,
    pub area: Option<Uuid>,
    /// The account's session epoch when the token was issued (see
    /// `auth::sessions`); 0 for integration clients and older tokens.
    #[serde(default)]
    pub sv: i64,
    /// An integration client's scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// An integration client's rate limit, in requests per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rl: Option<u32>,
}

/// What a client token says of its client.
#[derive(Debug, Clone)]
pub struct ClientGrant {
    pub id: Uuid,
    pub area: Option<Uuid>,
    pub epoch: i64,
    pub scopes: crate::clients::scopes::ClientScopes,
    pub rate_per_minute: u32,
}

pub struct TokenService {
    issuer: String,
    audience: String,
    ttl: Duration,
    signing_kid: String,
    signing: EncodingKey,
    verifying: BTreeMap<String, DecodingKey>,
    jwks: serde_json::Value,
    validation: Validation,
    /// Tokens already verified, with their claims, until they expire: a
    /// phone sends the same token with every request, and checking an
    /// Ed25519 signature costs more than the rest of a small request.
    verified: Mutex<HashMap<String, Claims>>,
    /// Which accounts' sessions ended, fed from the database.
    sessions: Arc<SessionView>,
}

/// How many verified tokens are remembered (one per active session).
const VERIFIED_CACHE: usize = 50_000;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token was signed by an unknown key")]
    UnknownKey,
    #[error("token is invalid: {0}")]
    Invalid(String),
    #[error("token is not an access token")]
    WrongType,
    #[error("the session of this token has ended")]
    Ended,
}

impl TokenService {
    pub fn new(
        keys: &BTreeMap<String, [u8; 32]>,
        issuer: &str,
        audience: &str,
        ttl: Duration,
    ) -> Result<Self, KeyError> {
        install_provider();
        let (signing_kid, seed) = keys
            .iter()
            .next_back()
            .ok_or_else(|| KeyError::Malformed("(no key)".into()))?;
        let mut verifying = BTreeMap::new();
        let mut jwks = Vec::new();
        for (kid, seed) in keys {
            let public = SigningKey::from_bytes(seed).verifying_key();
            let x = URL_SAFE_NO_PAD.encode(public.as_bytes());
            let key = DecodingKey::from_ed_components(&x)
                .map_err(|_| KeyError::Malformed(kid.clone()))?;
            verifying.insert(kid.clone(), key);
            jwks.push(serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": x,
            }));
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.validate_exp = true;
        validation.leeway = 30;
        Ok(TokenService {
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            ttl,
            signing_kid: signing_kid.clone(),
            signing: EncodingKey::from_ed_der(seed),
            verifying,
            jwks: serde_json::json!({ "keys": jwks }),
            validation,
            verified: Mutex::new(HashMap::new()),
            sessions: Arc::default(),
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The public keys, as served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    /// The accounts whose sessions ended, as this instance knows them.
    pub fn sessions(&self) -> &Arc<SessionView> {
        &self.sessions
    }

    /// A token of session epoch 0.
    pub fn issue(&self, user_id: Uuid, role: Role, area: Option<Uuid>) -> Result<String, String> {
        self.issue_session(user_id, role, area, 0)
    }

    /// A token for an integration client: its area, its epoch (raised when
    /// it is revoked or its scopes change), its scopes and its rate limit.
    pub fn issue_client(&self, client: &ClientGrant) -> Result<String, String> {
        self.sign(
            self.claims(client.id, Role::Client, client.area, client.epoch, |c| {
                c.scope = Some(client.scopes.claim());
                c.rl = Some(client.rate_per_minute);
            }),
        )
    }

    /// A token for an account at session epoch `epoch`.
    pub fn issue_session(
        &self,
        user_id: Uuid,
        role: Role,
        area: Option<Uuid>,
        epoch: i64,
    ) -> Result<String, String> {
        self.sign(self.claims(user_id, role, area, epoch, |_| {}))
    }

    fn claims(
        &self,
        user_id: Uuid,
        role: Role,
        area: Option<Uuid>,
        epoch: i64,
        extra: impl FnOnce(&mut Claims),
    ) -> Claims {
        let now = jsonwebtoken::get_current_timestamp();
        let mut claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_string(),
            iat: now,
            nbf: now,
            exp: now + self.ttl.as_secs(),
            jti: Uuid::new_v4().to_string(),
            typ: TOKEN_TYPE_ACCESS.to_string(),
            role,
            area,
            sv: epoch,
            scope: None,
            rl: None,
        };
        extra(&mut claims);
        claims
    }

    fn sign(&self, claims: Claims) -> Result<String, String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.signing_kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.signing).map_err(|e| e.to_string())
    }

    /// Checks a token's signature, algorithm, issuer, audience, times and
    /// type. A token seen before is answered from memory until its `exp`:
    /// the same text was signed by the same key, so only time can change
    /// the verdict.
    /// Whether the token's session has ended is checked on every call, the
    /// remembered tokens included.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let claims = self.verify_remembered(token)?;
        let user = Uuid::parse_str(&claims.sub)
            .map_err(|_| TokenError::Invalid("the subject is not an id".into()))?;
        if !self.sessions.admits(user, claims.sv) {
            return Err(TokenError::Ended);
        }
        Ok(claims)
    }

    fn verify_remembered(&self, token: &str) -> Result<Claims, TokenError> {
        let now = jsonwebtoken::get_current_timestamp();
        if let Ok(cache) = self.verified.lock()
            && let Some(claims) = cache.get(token)
            && claims.exp > now
        {
            return Ok(claims.clone());
        }
        let claims = self.verify_signed(token)?;
        if let Ok(mut cache) = self.verified.lock() {
            if cache.len() >= VERIFIED_CACHE {
                cache.retain(|_, c| c.exp > now);
                if cache.len() >= VERIFIED_CACHE {
                    cache.clear();
                }
            }
            cache.insert(token.to_string(), claims.clone());
        }
        Ok(claims)
    }

    fn verify_signed(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Invalid("algorithm is not EdDSA".into()));
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.verifying.get(kid))
            .ok_or(TokenError::UnknownKey)?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        let claims = data.claims;
        if claims.typ != TOKEN_TYPE_ACCESS {
            return Err(TokenError::WrongType);
        }
        // Well signed is not enough: a token that claims to live longer than
        // this service issues them, or to be issued in the future, is
        // refused whoever signed it.
        if claims.exp.saturating_sub(claims.iat) > self.ttl.as_secs() {
            return Err(TokenError::Invalid("lifetime longer than allowed".into()));
        }
        if claims.iat > jsonwebtoken::get_current_timestamp() + self.validation.leeway {
            return Err(TokenError::Invalid("issued in the future".into()));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(dir: &Path) -> TokenService {
        let keys = load_keys(dir).unwrap();
        TokenService::new(&keys, "banso", "banso-api", Duration::from_secs(900)).unwrap()
    }

    fn tempdir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("banso-keys-{name}-{}", Uuid::new_v4()));
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn signs_and_verifies_a_real_token() {
        let dir = tempdir("sign");
        let svc = service(&dir);
        let user = Uuid::new_v4();
        let token = svc.issue(user, Role::Officer, Some(user)).unwrap();
        let claims = svc.verify(&token).unwrap();
        assert_eq!(claims.sub, user.to_string());
        assert_eq!(claims.role, Role::Officer);
        assert_eq!(claims.exp - claims.iat, 900);
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert!(header.kid.is_some());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn retired_key_still_verifies_and_new_key_signs() {
        let dir = tempdir("rotate");
        let old = service(&dir);
        let old_token = old.issue(Uuid::new_v4(), Role::Admin, None).unwrap();
        std::thread::sleep(Duration::from_millis(1100));
        let new_kid = create_key(&dir).unwrap();
        let new = service(&dir);
        assert!(new.verify(&old_token).is_ok());
        let token = new.issue(Uuid::new_v4(), Role::Admin, None).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&token).unwrap().kid,
            Some(new_kid)
        );
        assert_eq!(new.jwks()["keys"].as_array().unwrap().len(), 2);
        // Removing the old key file retires it for good.
        let old_kid = jsonwebtoken::decode_header(&old_token)
            .unwrap()
            .kid
            .unwrap();
        fs::remove_file(dir.join(format!("{old_kid}.{KEY_SUFFIX}"))).unwrap();
        assert!(matches!(
            service(&dir).verify(&old_token),
            Err(TokenError::UnknownKey)
        ));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_remembered_token_vouches_only_for_itself() {
        let dir = tempdir("cache");
        let svc = service(&dir);
        let user = Uuid::new_v4();
        let token = svc.issue(user, Role::Member, None).unwrap();
        // Verified once, answered from memory after: the same claims.
        assert_eq!(svc.verify(&token).unwrap().sub, user.to_string());
        assert_eq!(svc.verify(&token).unwrap().sub, user.to_string());
        // A token differing in one signature character is checked afresh.
        let mut forged = token.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        assert!(svc.verify(&forged).is_err());
        // Claims altered under the remembered signature are refused too.
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["role"] = serde_json::json!("admin");
        let altered = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap()),
            parts[2]
        );
        assert!(svc.verify(&altered).is_err());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_ended_session_refuses_its_remembered_token() {
        let dir = tempdir("ended");
        let svc = service(&dir);
        let user = Uuid::new_v4();
        let token = svc.issue_session(user, Role::Member, None, 0).unwrap();
        assert!(svc.verify(&token).is_ok());
        svc.sessions().ended(user, 1);
        assert!(matches!(svc.verify(&token), Err(TokenError::Ended)));
        let fresh = svc.issue_session(user, Role::Member, None, 1).unwrap();
        assert!(svc.verify(&fresh).is_ok());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn foreign_keys_and_wrong_audience_fail() {
        let a = tempdir("a");
        let b = tempdir("b");
        let token = service(&a)
            .issue(Uuid::new_v4(), Role::Member, None)
            .unwrap();
        assert!(service(&b).verify(&token).is_err());
        let keys = load_keys(&a).unwrap();
        let other_aud =
            TokenService::new(&keys, "banso", "someone-else", Duration::from_secs(60)).unwrap();
        assert!(matches!(
            other_aud.verify(&token),
            Err(TokenError::Invalid(_))
        ));
        fs::remove_dir_all(a).unwrap();
        fs::remove_dir_all(b).unwrap();
    }
}
