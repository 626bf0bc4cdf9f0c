//! Cluster passwords encrypted at rest: AES-256-GCM with a random 96-bit nonce per
//! encryption, the key's id kept beside the ciphertext so keys can be rotated.
//!
//! Stored form: `enc:v1:<key id>:<base64 of nonce || ciphertext || tag>`, where the key id
//! is the first 4 bytes (8 hex digits) of SHA-256 over a fixed label and the key. A string
//! not of that form is a plain password (written before a key was configured).

use std::sync::Arc;

use aes_gcm::aead::{Aead, AeadCore, OsRng, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ccr_wire::secret::Secret;
use sha2::{Digest, Sha256};

use super::error::SecretError;

/// Bytes of an AES-256 key.
pub const KEY_BYTES: usize = 32;
/// Bytes of an AES-GCM nonce.
const NONCE_BYTES: usize = 12;
/// Bytes of the GCM tag after the ciphertext.
const TAG_BYTES: usize = 16;
/// The prefix of every stored ciphertext; the version names the scheme.
const SEALED_PREFIX: &str = "enc:v1:";
/// Hex digits of a key id (4 bytes of the hash: enough to tell a few keys apart).
const KEY_ID_HEX_LEN: usize = 8;
/// Mixed into the key id so it is not a bare hash of the key.
const KEY_ID_LABEL: &[u8] = b"ccr_syncer secret key id\0";
/// Authenticated with every ciphertext: a v1 password of ccr_syncer and nothing else.
const AAD: &[u8] = b"ccr_syncer password v1";

/// One AES-256 key and its id. `Debug` shows the id only.
pub struct SecretKey {
    cipher: Aes256Gcm,
    id: String,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", self.id)
    }
}

impl SecretKey {
    /// Parses a key written as 64 hex digits or as base64 of 32 bytes; surrounding
    /// whitespace (a trailing newline) is ignored.
    pub fn parse(text: &Secret) -> Result<SecretKey, SecretError> {
        let text = text.expose().trim();
        let bytes = if text.len() == 2 * KEY_BYTES && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|_| SecretError::KeyFormat {
                found: "it is not valid hex".into(),
            })?
        } else {
            BASE64.decode(text).map_err(|_| SecretError::KeyFormat {
                found: format!(
                    "it is {} characters that are neither 64 hex digits nor base64",
                    text.len()
                ),
            })?
        };
        let bytes = secrecy::SecretBox::new(Box::new(bytes));
        let key: &[u8] = secrecy::ExposeSecret::expose_secret(&bytes);
        if key.len() != KEY_BYTES {
            return Err(SecretError::KeyFormat {
                found: format!("it decodes to {} bytes", key.len()),
            });
        }
        Ok(Self::from_bytes(key))
    }

    /// Reads a key file (see [`SecretKey::parse`]).
    pub fn from_file(path: &std::path::Path) -> Result<SecretKey, SecretError> {
        let text = std::fs::read_to_string(path).map_err(|e| SecretError::KeyFile {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(&Secret::new(text)).map_err(|e| match e {
            SecretError::KeyFormat { found } => SecretError::KeyFormat {
                found: format!("{} does not hold one: {found}", path.display()),
            },
            other => other,
        })
    }

    fn from_bytes(key: &[u8]) -> SecretKey {
        let digest = Sha256::new()
            .chain_update(KEY_ID_LABEL)
            .chain_update(key)
            .finalize();
        let id = hex::encode(&digest[..KEY_ID_HEX_LEN / 2]);
        let cipher = Aes256Gcm::new_from_slice(key).expect("a 32-byte key");
        SecretKey { cipher, id }
    }

    /// The key's id, as stored beside each ciphertext.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn seal(&self, plaintext: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // Encryption fails only past GCM's 64 GiB message limit.
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: AAD,
                },
            )
            .expect("AES-GCM encrypts a password");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        format!("{SEALED_PREFIX}{}:{}", self.id, BASE64.encode(sealed))
    }

    fn open(&self, payload: &[u8]) -> Result<Secret, SecretError> {
        if payload.len() < NONCE_BYTES + TAG_BYTES {
            return Err(SecretError::Malformed("too short"));
        }
        let (nonce, ciphertext) = payload.split_at(NONCE_BYTES);
        let damaged = || SecretError::Damaged {
            key_id: self.id.clone(),
        };
        let plaintext = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: AAD,
                },
            )
            .map_err(|_| damaged())?;
        String::from_utf8(plaintext)
            .map(Secret::new)
            .map_err(|_| damaged())
    }
}

/// A stored value in the sealed form, split.
struct Sealed<'a> {
    key_id: &'a str,
    payload: &'a str,
}

fn parse_sealed(stored: &str) -> Option<Sealed<'_>> {
    let rest = stored.strip_prefix(SEALED_PREFIX)?;
    let (key_id, payload) = rest.split_once(':')?;
    let is_id = key_id.len() == KEY_ID_HEX_LEN && key_id.bytes().all(|b| b.is_ascii_hexdigit());
    is_id.then_some(Sealed { key_id, payload })
}

/// The keys of this syncer: the current one encrypts (and decrypts), the old one only
/// decrypts, so rows under it can be re-encrypted. Without a current key passwords are
/// stored plain. Cheap to clone.
#[derive(Clone, Default)]
pub struct SecretKeys {
    current: Option<Arc<SecretKey>>,
    old: Option<Arc<SecretKey>>,
}

impl std::fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKeys")
            .field("current", &self.current.as_ref().map(|k| k.id()))
            .field("old", &self.old.as_ref().map(|k| k.id()))
            .finish()
    }
}

impl SecretKeys {
    /// No key: passwords are stored plain.
    pub fn none() -> Self {
        Self::default()
    }

    pub fn new(current: Option<SecretKey>, old: Option<SecretKey>) -> Result<Self, SecretError> {
        if current.is_none() && old.is_some() {
            return Err(SecretError::OldKeyAlone);
        }
        Ok(SecretKeys {
            current: current.map(Arc::new),
            old: old.map(Arc::new),
        })
    }

    /// Whether passwords are encrypted at rest.
    pub fn encrypts(&self) -> bool {
        self.current.is_some()
    }

    pub fn current_id(&self) -> Option<&str> {
        self.current.as_deref().map(SecretKey::id)
    }

    /// The stored form of `secret`: sealed under the current key, or plain without one.
    /// An empty password stays empty: there is nothing to hide.
    pub fn seal(&self, secret: &Secret) -> String {
        match &self.current {
            Some(key) if !secret.is_empty() => key.seal(secret.expose()),
            _ => secret.expose().to_owned(),
        }
    }

    /// The password a stored value holds: a plain value as it is, a sealed one decrypted
    /// with the key it names.
    pub fn open(&self, stored: &str) -> Result<Secret, SecretError> {
        let Some(sealed) = parse_sealed(stored) else {
            return Ok(Secret::new(stored));
        };
        let key = [&self.current, &self.old]
            .into_iter()
            .flatten()
            .find(|key| key.id() == sealed.key_id);
        let Some(key) = key else {
            if self.current.is_none() {
                return Err(SecretError::NoKey {
                    key_id: sealed.key_id.to_owned(),
                });
            }
            let known = [&self.current, &self.old]
                .into_iter()
                .flatten()
                .map(|k| k.id())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(SecretError::UnknownKey {
                key_id: sealed.key_id.to_owned(),
                known,
            });
        };
        let payload = BASE64
            .decode(sealed.payload)
            .map_err(|_| SecretError::Malformed("not base64"))?;
        key.open(&payload)
    }

    /// Whether a stored value is already in the form [`SecretKeys::seal`] writes now (so
    /// re-encrypting it would change nothing but the nonce).
    pub fn is_current(&self, stored: &str) -> bool {
        match (&self.current, parse_sealed(stored)) {
            (None, sealed) => sealed.is_none(),
            (Some(_), None) => stored.is_empty(),
            (Some(key), Some(sealed)) => sealed.key_id == key.id(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn key(text: &str) -> SecretKey {
        SecretKey::parse(&Secret::new(text)).unwrap()
    }

    #[test]
    fn keys_parse_from_hex_or_base64_and_wrong_sizes_are_refused() {
        let from_hex = key(&format!("  {HEX_KEY}\n"));
        let from_base64 = key(&BASE64.encode(hex::decode(HEX_KEY).unwrap()));
        assert_eq!(from_hex.id(), from_base64.id());
        assert_eq!(from_hex.id().len(), KEY_ID_HEX_LEN);
        let short = SecretKey::parse(&Secret::new(&HEX_KEY[..62])).unwrap_err();
        assert!(short.to_string().contains("must be 32 bytes"), "{short}");
        let sixteen = SecretKey::parse(&Secret::new(BASE64.encode([7u8; 16]))).unwrap_err();
        assert!(
            sixteen.to_string().contains("decodes to 16 bytes"),
            "{sixteen}"
        );
        assert!(SecretKey::parse(&Secret::new("not a key at all")).is_err());
    }

    #[test]
    fn sealing_uses_a_fresh_nonce_and_round_trips() {
        let keys = SecretKeys::new(Some(key(HEX_KEY)), None).unwrap();
        let a = keys.seal(&Secret::new("hunter2"));
        let b = keys.seal(&Secret::new("hunter2"));
        assert_ne!(a, b, "a random nonce per encryption");
        assert!(!a.contains("hunter2"));
        assert!(
            a.starts_with(&format!("enc:v1:{}:", keys.current_id().unwrap())),
            "{a}"
        );
        assert_eq!(keys.open(&a).unwrap().expose(), "hunter2");
        assert!(keys.is_current(&a));
        assert!(!keys.is_current("hunter2"));
        assert_eq!(keys.seal(&Secret::default()), "");
    }

    #[test]
    fn plain_values_open_as_they_are_and_stay_plain_without_a_key() {
        let none = SecretKeys::none();
        assert_eq!(none.seal(&Secret::new("pw")), "pw");
        assert_eq!(none.open("pw").unwrap().expose(), "pw");
        assert!(none.is_current("pw"));
    }

    #[test]
    fn rotation_old_key_opens_new_key_seals_and_unknown_keys_are_named() {
        let old = SecretKeys::new(Some(key(HEX_KEY)), None).unwrap();
        let sealed_old = old.seal(&Secret::new("pw"));
        let new_hex = HEX_KEY.replace("00", "ff");
        let rotated = SecretKeys::new(Some(key(&new_hex)), Some(key(HEX_KEY))).unwrap();
        assert_eq!(rotated.open(&sealed_old).unwrap().expose(), "pw");
        assert!(!rotated.is_current(&sealed_old));
        let resealed = rotated.seal(&Secret::new("pw"));
        assert!(rotated.is_current(&resealed));

        let only_new = SecretKeys::new(Some(key(&new_hex)), None).unwrap();
        let error = only_new.open(&sealed_old).unwrap_err();
        assert!(
            matches!(&error, SecretError::UnknownKey { key_id, .. } if key_id == old.current_id().unwrap()),
            "{error}"
        );
        let error = SecretKeys::none().open(&sealed_old).unwrap_err();
        assert!(matches!(error, SecretError::NoKey { .. }), "{error}");
        assert_eq!(
            SecretKeys::new(None, Some(key(HEX_KEY))).unwrap_err(),
            SecretError::OldKeyAlone
        );
    }

    #[test]
    fn a_damaged_ciphertext_is_an_error_not_a_password() {
        let keys = SecretKeys::new(Some(key(HEX_KEY)), None).unwrap();
        let sealed = keys.seal(&Secret::new("pw"));
        let (head, payload) = sealed.rsplit_once(':').unwrap();
        let mut bytes = BASE64.decode(payload).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        let damaged = format!("{head}:{}", BASE64.encode(bytes));
        assert!(matches!(
            keys.open(&damaged),
            Err(SecretError::Damaged { .. })
        ));
        assert!(matches!(
            keys.open(&format!("{head}:AAAA")),
            Err(SecretError::Malformed(_))
        ));
    }

    #[test]
    fn debug_shows_key_ids_only() {
        let keys = SecretKeys::new(Some(key(HEX_KEY)), None).unwrap();
        let shown = format!("{keys:?}");
        assert!(shown.contains(keys.current_id().unwrap()), "{shown}");
        assert!(!shown.contains("0102"), "{shown}");
    }
}
