//! Webhook signing secrets and signatures (Standard Webhooks).
//!
//! A secret is `whsec_` followed by the base64 of 32 random bytes; those
//! bytes are the HMAC-SHA256 key. A delivery is signed over
//! `{webhook-id}.{webhook-timestamp}.{body}` and sent as
//! `webhook-signature: v1,<base64 of the MAC>` (several, space-separated,
//! while a rotated secret is still in its grace period).
//!
//! The service must sign with the secret, so it cannot keep only a hash of
//! it. It keeps it sealed instead: ChaCha20-Poly1305 under a 32-byte key in
//! the key folder (`webhook-secrets.key`, made at first need, readable by
//! its owner only), with the webhook's id as associated data, so a copy of
//! the database or a backup alone does not give the secrets away, and a
//! sealed secret cannot be moved to another webhook's row.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// The file in the key folder that holds the sealing key.
pub const KEY_FILE: &str = "webhook-secrets.key";
const PREFIX: &str = "whsec_";

/// The key that seals signing secrets.
#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key>)")
    }
}

fn random<const N: usize>() -> io::Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(out)
}

impl Sealer {
    /// Reads the key from `keys_dir`, making it first if there is none
    /// (two instances starting together make it once: the file is created
    /// exclusively, and the one that loses reads the winner's).
    pub fn load(keys_dir: &Path) -> io::Result<Sealer> {
        let path = keys_dir.join(KEY_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => Self::from_text(&path, &text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(keys_dir)?;
                let key = random::<32>()?;
                let mut options = OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                match options.open(&path) {
                    Ok(mut f) => {
                        f.write_all(STANDARD.encode(key).as_bytes())?;
                        f.sync_all()?;
                        Ok(Self::from_key(&key))
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        Self::from_text(&path, &fs::read_to_string(&path)?)
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    fn from_text(path: &Path, text: &str) -> io::Result<Sealer> {
        let key: [u8; 32] = STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} does not hold a base64 32-byte key", path.display()),
                )
            })?;
        Ok(Self::from_key(&key))
    }

    fn from_key(key: &[u8; 32]) -> Sealer {
        Sealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
        }
    }

    /// Seals `secret` for the webhook `id`: base64 of nonce and ciphertext.
    pub fn seal(&self, id: Uuid, secret: &str) -> Result<String, String> {
        let nonce = random::<12>().map_err(|e| e.to_string())?;
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| "sealing failed".to_string())?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(STANDARD.encode(out))
    }

    /// The secret sealed for webhook `id`; `None` when it does not open
    /// (another key, another row, or edited).
    pub fn open(&self, id: Uuid, sealed: &str) -> Option<String> {
        let bytes = STANDARD.decode(sealed).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: id.as_bytes(),
                },
            )
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

/// A new signing secret.
pub fn new_secret() -> Result<String, String> {
    let raw = random::<32>().map_err(|e| e.to_string())?;
    Ok(format!("{PREFIX}{}", STANDARD.encode(raw)))
}

/// `v1,<base64>`: the signature of one message with one secret.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix(PREFIX)?).ok()?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).ok()?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_for_its_webhook_only() {
        let dir = std::env::temp_dir().join(format!("banso-seal-{}", Uuid::new_v4().simple()));
        let sealer = Sealer::load(&dir).unwrap();
        let again = Sealer::load(&dir).unwrap();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let secret = new_secret().unwrap();
        let sealed = sealer.seal(a, &secret).unwrap();
        assert!(!sealed.contains(&secret[6..]));
        assert_eq!(again.open(a, &sealed).as_deref(), Some(secret.as_str()));
        assert_eq!(sealer.open(b, &sealed), None);
        let other = Sealer::from_key(&[7; 32]);
        assert_eq!(other.open(a, &sealed), None);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(sign("no prefix", "m", 1, body), None);
    }
}
