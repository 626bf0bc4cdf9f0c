//! Hand-written `Debug` for the generated request structs that carry a password.
//!
//! `scripts/gen_thrift.sh` strips the derived `Debug` from every generated struct with a
//! `passwd`/`password` field (so a forgotten struct fails to compile rather than leak); the
//! impls here print the password as `***` and large binary blobs as their length only.

use std::fmt;

use super::frontend_service::{
    TBeginTxnRequest, TCommitTxnRequest, TGetBackendMetaRequest, TGetBinlogRequest,
    TGetMasterTokenRequest, TGetMetaRequest, TGetSnapshotRequest, TLockBinlogRequest,
    TRestoreSnapshotRequest, TRollbackTxnRequest,
};

/// Shows whether an optional secret is set without showing it.
fn masked(secret: &Option<String>) -> Option<&'static str> {
    secret.as_ref().map(|_| "***")
}

/// Shows an optional binary blob (snapshot meta, job info: up to hundreds of MB) by size.
fn blob_size(blob: &Option<Vec<u8>>) -> Option<String> {
    blob.as_ref()
        .map(|bytes| format!("<{} bytes>", bytes.len()))
}

/// Implements `Debug` for a request struct. The struct is destructured without `..`, so a
/// field added to the IDL breaks the build here until it is listed (and classified).
macro_rules! redacted_debug {
    (
        $ty:ident {
            plain: [$($plain:ident),* $(,)?],
            secret: $secret:ident
            $(, blob: [$($blob:ident),* $(,)?])? $(,)?
        }
    ) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let $ty { $($plain,)* $secret, $($($blob,)*)? } = self;
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($plain), $plain))*
                    .field(stringify!($secret), &masked($secret))
                    $($(.field(stringify!($blob), &blob_size($blob)))*)?
                    .finish()
            }
        }
    };
}

redacted_debug!(TBeginTxnRequest {
    plain: [user, db, table_ids, label, timeout, sub_txn_num],
    secret: passwd,
});
redacted_debug!(TCommitTxnRequest {
    plain: [
        user,
        db,
        txn_id,
        commit_infos,
        thrift_rpc_timeout_ms,
        txn_insert,
        sub_txn_infos,
        only_commit,
    ],
    secret: passwd,
});
redacted_debug!(TRollbackTxnRequest {
    plain: [user, db, txn_id, reason],
    secret: passwd,
});
redacted_debug!(TGetBinlogRequest {
    plain: [user, db, table, table_id, prev_commit_seq, num_acquired],
    secret: passwd,
});
redacted_debug!(TLockBinlogRequest {
    plain: [user, db, table, table_id, job_unique_id, lock_commit_seq],
    secret: passwd,
});
redacted_debug!(TGetSnapshotRequest {
    plain: [
        user,
        db,
        table,
        label_name,
        snapshot_name,
        snapshot_type,
        enable_compress,
    ],
    secret: passwd,
});
redacted_debug!(TRestoreSnapshotRequest {
    plain: [
        user,
        db,
        table,
        label_name,
        repo_name,
        table_refs,
        properties,
        clean_tables,
        clean_partitions,
        atomic_restore,
        compressed,
        force_replace,
    ],
    secret: passwd,
    blob: [meta, job_info],
});
redacted_debug!(TGetMasterTokenRequest {
    plain: [cluster, user],
    secret: password,
});
redacted_debug!(TGetMetaRequest {
    plain: [user, db],
    secret: passwd,
});
redacted_debug!(TGetBackendMetaRequest {
    plain: [cluster, user],
    secret: passwd,
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_blobs_are_hidden() {
        let request = TRestoreSnapshotRequest {
            user: Some("root".into()),
            passwd: Some("hunter2".into()),
            meta: Some(vec![7; 1000]),
            ..Default::default()
        };
        let shown = format!("{request:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("passwd: Some(\"***\")"), "{shown}");
        assert!(shown.contains("meta: Some(\"<1000 bytes>\")"), "{shown}");
        assert!(shown.contains("user: Some(\"root\")"), "{shown}");

        let token_request = TGetMasterTokenRequest {
            cluster: None,
            user: Some("root".into()),
            password: Some("hunter2".into()),
        };
        let shown = format!("{token_request:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("password: Some(\"***\")"), "{shown}");
    }
}
