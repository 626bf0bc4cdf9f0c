//! `mysql_native_password`: the server sends a 20-byte scramble, the client answers
//! `SHA1(password) XOR SHA1(scramble || SHA1(SHA1(password)))`, or nothing for an empty password.

use rand::Rng;
use sha1::{Digest, Sha1};

pub(crate) const SCRAMBLE_LEN: usize = 20;

/// A fresh scramble of printable ASCII (no NUL, which would end the string in the handshake,
/// and no `$`, which Doris also avoids).
pub(crate) fn new_scramble() -> [u8; SCRAMBLE_LEN] {
    let mut rng = rand::thread_rng();
    let mut scramble = [0u8; SCRAMBLE_LEN];
    for byte in &mut scramble {
        *byte = loop {
            let candidate = rng.gen_range(0x21u8..=0x7E);
            if candidate != b'$' {
                break candidate;
            }
        };
    }
    scramble
}

/// What a client sends for `password` when challenged with `scramble`.
pub(crate) fn native_password_response(password: &str, scramble: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let password_hash = Sha1::digest(password.as_bytes());
    let stored = Sha1::digest(password_hash);
    let mask = Sha1::new()
        .chain_update(scramble)
        .chain_update(stored)
        .finalize();
    password_hash
        .iter()
        .zip(mask.iter())
        .map(|(a, b)| a ^ b)
        .collect()
}

/// Whether `response` proves knowledge of `password`. Like Doris, a user without a password
/// only accepts an empty response, and a user with one only accepts a 20-byte proof.
pub(crate) fn verify_native_password(password: &str, scramble: &[u8], response: &[u8]) -> bool {
    let expected = native_password_response(password, scramble);
    expected.len() == response.len()
        && expected
            .iter()
            .zip(response)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scramble_is_printable_and_nul_free() {
        for _ in 0..100 {
            let scramble = new_scramble();
            assert!(scramble
                .iter()
                .all(|b| (0x21..=0x7E).contains(b) && *b != b'$'));
        }
    }

    #[test]
    fn correct_password_verifies_and_wrong_one_does_not() {
        let scramble = new_scramble();
        let response = native_password_response("secret", &scramble);
        assert_eq!(response.len(), SCRAMBLE_LEN);
        assert!(verify_native_password("secret", &scramble, &response));
        assert!(!verify_native_password("Secret", &scramble, &response));
        assert!(!verify_native_password(
            "secret",
            &[b'x'; SCRAMBLE_LEN],
            &response
        ));
    }

    #[test]
    fn empty_password_accepts_only_an_empty_response() {
        let scramble = new_scramble();
        assert!(verify_native_password("", &scramble, &[]));
        // A proof computed for the empty string is refused, as Doris and MySQL do.
        let proof_of_empty = {
            let hash = Sha1::digest(b"");
            let stored = Sha1::digest(hash);
            let mask = Sha1::new()
                .chain_update(scramble)
                .chain_update(stored)
                .finalize();
            hash.iter()
                .zip(mask.iter())
                .map(|(a, b)| a ^ b)
                .collect::<Vec<u8>>()
        };
        assert!(!verify_native_password("", &scramble, &proof_of_empty));
        assert!(!verify_native_password("secret", &scramble, &[]));
    }

    #[test]
    fn matches_a_known_vector() {
        // Computed independently (Python hashlib): password "pass", scramble of twenty 'a's.
        let response = native_password_response("pass", &[b'a'; SCRAMBLE_LEN]);
        assert_eq!(
            hex::encode(response),
            "07db62c6599bd086ba6247313d88a6a561a7a022"
        );
    }
}
