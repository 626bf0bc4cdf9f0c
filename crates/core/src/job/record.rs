//! The job record at the store boundary: passwords are sealed by the syncer's keys when a
//! record is written and opened when it is read, so the rest of the job layer only ever
//! sees plaintext [`ccr_wire::secret::Secret`]s. At start, records still holding a plain
//! password or one under the old key are re-encrypted once under the current key.

use super::error::JobError;
use super::spec::JobInfo;
use crate::secrets::SecretKeys;
use crate::store::{MetaStore, StoreError};

/// Attempts at re-encrypting one record whose row a peer changes meanwhile.
const RESEAL_ATTEMPTS: usize = 3;

/// The stored form of `info`.
pub fn encode(info: &JobInfo, keys: &SecretKeys) -> String {
    info.to_stored_json(keys)
}

/// Reads a stored record and decrypts its passwords.
pub fn decode(name: &str, text: &str, keys: &SecretKeys) -> Result<JobInfo, JobError> {
    let mut info = JobInfo::from_stored_json(text).map_err(|e| JobError::Corrupt {
        name: name.to_owned(),
        what: "job_info",
        message: e.to_string(),
    })?;
    info.open_passwords(keys)
        .map_err(|(side, source)| JobError::SecretUnreadable {
            name: name.to_owned(),
            side,
            source,
        })?;
    Ok(info)
}

/// What [`reseal_passwords`] did.
#[derive(Debug, Default)]
pub struct ResealReport {
    /// Jobs whose record was rewritten under the current key.
    pub resealed: Vec<String>,
    /// Jobs whose record could not be read or decrypted, with the reason; left as they are.
    pub unreadable: Vec<(String, JobError)>,
}

/// Rewrites every stored record whose passwords are not in the form `keys` writes now
/// (plain, or sealed under the old key) so they are sealed under the current key. Safe
/// beside running peers: a row is replaced only if it is unchanged since it was read.
/// Without a current key nothing is rewritten; records sealed under a key the syncer does
/// not have are reported in [`ResealReport::unreadable`].
pub async fn reseal_passwords(
    store: &dyn MetaStore,
    keys: &SecretKeys,
) -> Result<ResealReport, StoreError> {
    let mut report = ResealReport::default();
    for row in store.list_jobs().await? {
        let mut stored = row.job_info;
        for _ in 0..RESEAL_ATTEMPTS {
            let current = JobInfo::from_stored_json(&stored)
                .is_ok_and(|info| info.passwords_are_current(keys));
            if current {
                break;
            }
            let info = match decode(&row.name, &stored, keys) {
                Ok(info) => info,
                Err(error) => {
                    report.unreadable.push((row.name.clone(), error));
                    break;
                }
            };
            if !keys.encrypts() {
                break;
            }
            let sealed = encode(&info, keys);
            if store.replace_job_info(&row.name, &stored, &sealed).await? {
                report.resealed.push(row.name.clone());
                break;
            }
            // A peer wrote the record meanwhile (or deleted the job): read it again.
            match store.get_job(&row.name).await? {
                Some(fresh) => stored = fresh.job_info,
                None => break,
            }
        }
    }
    if !report.resealed.is_empty() {
        store.purge_overwritten().await?;
    }
    Ok(report)
}
