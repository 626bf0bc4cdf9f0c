//! Passwords given to `/create_ccr` the way the StarRocks migration tool takes them:
//! `password` is base64 of MySQL `AES_ENCRYPT(password, key)` and `password_secret_key` is
//! the key.
//!
//! MySQL's (and MariaDB's) default `block_encryption_mode` is `aes-128-ecb` with PKCS7
//! padding; the key string is folded into 16 bytes by XOR-ing byte i into position
//! i % 16 of a zeroed buffer.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, KeyInit};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ccr_wire::secret::Secret;

use super::error::SecretError;

/// AES-128's key and block size.
const AES128_BYTES: usize = 16;

/// The 16-byte key MySQL derives from a key string of any length.
fn fold_key(key: &[u8]) -> [u8; AES128_BYTES] {
    let mut folded = [0u8; AES128_BYTES];
    for (i, byte) in key.iter().enumerate() {
        folded[i % AES128_BYTES] ^= byte;
    }
    folded
}

/// Decrypts `TO_BASE64(AES_ENCRYPT(password, key))`. `side` (`src` or `dest`) names the
/// spec in the error.
pub fn decrypt_aes_encrypt(
    base64_ciphertext: &Secret,
    key: &Secret,
    side: &'static str,
) -> Result<Secret, SecretError> {
    let fail = |reason| SecretError::MysqlAes { side, reason };
    // MySQL's TO_BASE64 wraps lines; whitespace is not part of the value.
    let text: String = base64_ciphertext
        .expose()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let ciphertext = BASE64
        .decode(text)
        .map_err(|_| fail("the password is not base64"))?;
    if ciphertext.is_empty() || ciphertext.len() % AES128_BYTES != 0 {
        return Err(fail("the ciphertext is not a whole number of AES blocks"));
    }
    let folded = fold_key(key.expose().as_bytes());
    let plaintext = ecb::Decryptor::<aes::Aes128>::new(&folded.into())
        .decrypt_padded_vec_mut::<Pkcs7>(&ciphertext)
        .map_err(|_| fail("wrong key, or not AES_ENCRYPT output"))?;
    String::from_utf8(plaintext)
        .map(Secret::new)
        .map_err(|_| fail("wrong key, or not AES_ENCRYPT output"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Produced by MariaDB 10.11: `SELECT TO_BASE64(AES_ENCRYPT(password, key))`.
    const VECTORS: [(&str, &str, &str); 2] = [
        ("pw", "key", "Hneh+Ta30dEepK6ecJJymw=="),
        (
            "S3cr3t-Pässwörd-0123456789",
            "a key longer than sixteen bytes!",
            "NlwpS0ghL/Ns7kVq2lyUcSo0aHAR43QS6ZFtPlpoPt8=",
        ),
    ];

    #[test]
    fn decrypts_what_mysql_aes_encrypt_wrote() {
        for (password, key, ciphertext) in VECTORS {
            let plain =
                decrypt_aes_encrypt(&Secret::new(ciphertext), &Secret::new(key), "src").unwrap();
            assert_eq!(plain.expose(), password);
        }
    }

    #[test]
    fn the_key_is_folded_by_xor_into_16_bytes() {
        let mut key = [0u8; 16];
        key[0] = b'a' ^ b'q';
        key[1] = b'b';
        assert_eq!(fold_key(b"ab______________q").len(), 16);
        assert_eq!(fold_key(b"ab\0\0\0\0\0\0\0\0\0\0\0\0\0\0q"), key);
    }

    #[test]
    fn a_wrong_key_or_a_plain_password_is_refused() {
        let (_, _, ciphertext) = VECTORS[0];
        let wrong = decrypt_aes_encrypt(&Secret::new(ciphertext), &Secret::new("nope"), "dest");
        assert!(matches!(
            wrong,
            Err(SecretError::MysqlAes { side: "dest", .. })
        ));
        let plain = decrypt_aes_encrypt(&Secret::new("hunter2"), &Secret::new("key"), "src");
        assert!(plain.is_err());
    }
}
