//! The secrets module's one error type.

/// Everything reading keys, sealing and opening secrets can fail with.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("cannot read the secret key file {path}: {message}")]
    KeyFile { path: String, message: String },
    #[error(
        "the secret key must be 32 bytes, written as 64 hex digits or in base64 \
         (surrounding whitespace is ignored); {found}"
    )]
    KeyFormat { found: String },
    #[error("--old_secret_key_file needs --secret_key_file: the old key only decrypts, the new key re-encrypts")]
    OldKeyAlone,
    #[error(
        "the password is encrypted under key id {key_id} but the syncer has no secret key: \
         start it with --secret_key_file (or CCR_SECRET_KEY) holding that key"
    )]
    NoKey { key_id: String },
    #[error(
        "the password is encrypted under key id {key_id}, which is not the syncer's key \
         ({known}): start it with --secret_key_file or --old_secret_key_file holding that key"
    )]
    UnknownKey { key_id: String, known: String },
    #[error("the encrypted password is malformed: {0}")]
    Malformed(&'static str),
    #[error("the encrypted password does not decrypt under key id {key_id}: it is damaged")]
    Damaged { key_id: String },
    /// `/create_ccr` with `password_secret_key`: the password is not `AES_ENCRYPT` output
    /// under that key.
    #[error("{side} password does not decrypt with password_secret_key: {reason}")]
    MysqlAes {
        side: &'static str,
        reason: &'static str,
    },
}
