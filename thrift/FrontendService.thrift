// The FrontendService (FE rpc_port) calls ccr_syncer makes, trimmed to the fields it sends or
// reads plus a few newer capabilities. Our own restatement of the Doris wire contract
// (doris-thrift-wire.md §2, §7): every kept field has the Doris id and wire type; fields we
// never use are left out (receivers skip unknown ids, Doris ignores fields we do not send).
//
// required vs optional: see Types.thrift. In short, only the fields Doris itself declares
// required are required here (TGetMetaResult.status, TGetBackendMetaResult.status); everything
// else is optional because presence is meaningful to the FE ("<field> is not set") and we want
// to accept any subset the FE sends.
//
// Credentials travel in the requests (user/passwd, getMasterToken uses `password`); the Rust
// types for those requests get a redacting Debug (src/wire/redacted_debug.rs).

include "Status.thrift"
include "Types.thrift"

// ---- beginTxn ----

struct TBeginTxnRequest {
  2: optional string user
  3: optional string passwd
  // Database name.
  4: optional string db
  5: optional list<i64> table_ids
  7: optional string label
  // Seconds; the FE uses its stream-load default when unset.
  9: optional i64 timeout
  // Number of sub-transactions for a replayed multi-statement transaction.
  13: optional i64 sub_txn_num
}

struct TBeginTxnResult {
  1: optional Status.TStatus status
  2: optional i64 txn_id
  // State of the existing job when the label is already taken.
  3: optional string job_status
  4: optional i64 db_id
  5: optional Types.TNetworkAddress master_address
  6: optional list<i64> sub_txn_ids
}

// ---- commitTxn / rollbackTxn ----

struct TSubTxnInfo {
  1: optional i64 sub_txn_id
  2: optional i64 table_id
  3: optional list<Types.TTabletCommitInfo> tablet_commit_infos
  4: optional Types.TSubTxnType sub_txn_type
}

struct TCommitTxnRequest {
  2: optional string user
  3: optional string passwd
  4: optional string db
  6: optional i64 txn_id
  7: optional list<Types.TTabletCommitInfo> commit_infos
  // The FE waits for publish up to half of this (5 s when unset).
  10: optional i64 thrift_rpc_timeout_ms
  13: optional bool txn_insert
  14: optional list<TSubTxnInfo> sub_txn_infos
  // Newer FEs: commit without waiting for publish.
  15: optional bool only_commit
}

struct TCommitTxnResult {
  1: optional Status.TStatus status
  2: optional Types.TNetworkAddress master_address
}

// Doris has no field 8 in this struct.
struct TRollbackTxnRequest {
  2: optional string user
  3: optional string passwd
  4: optional string db
  6: optional i64 txn_id
  7: optional string reason
}

struct TRollbackTxnResult {
  1: optional Status.TStatus status
  2: optional Types.TNetworkAddress master_address
}

// ---- getBinlog / getBinlogLag / lockBinlog ----

// Also the argument of getBinlogLag (Doris declares that one as a typedef of this struct).
struct TGetBinlogRequest {
  2: optional string user
  3: optional string passwd
  4: optional string db
  5: optional string table
  // The FE prefers table_id over the table name; with neither it serves the db binlog.
  6: optional i64 table_id
  9: optional i64 prev_commit_seq
  // Newer FEs: at most this many binlogs per reply.
  10: optional i64 num_acquired
}

struct TGetBinlogResult {
  1: optional Status.TStatus status
  2: optional i64 next_commit_seq
  3: optional list<Types.TBinlog> binlogs
  4: optional string fe_version
  5: optional i64 fe_meta_version
  6: optional Types.TNetworkAddress master_address
}

struct TGetBinlogLagResult {
  1: optional Status.TStatus status
  2: optional i64 lag
  3: optional Types.TNetworkAddress master_address
  4: optional i64 first_commit_seq
  5: optional i64 last_commit_seq
  6: optional i64 first_binlog_timestamp
  7: optional i64 last_binlog_timestamp
  8: optional i64 next_commit_seq
  9: optional i64 next_binlog_timestamp
}

// Newer FEs only; older ones answer with an UNKNOWN_METHOD application exception.
struct TLockBinlogRequest {
  2: optional string user
  3: optional string passwd
  4: optional string db
  5: optional string table
  // Negative or absent: lock at database level.
  6: optional i64 table_id
  8: optional string job_unique_id
  // Negative or absent: lock the latest binlog.
  9: optional i64 lock_commit_seq
}

struct TLockBinlogResult {
  1: optional Status.TStatus status
  2: optional i64 locked_commit_seq
  3: optional Types.TNetworkAddress master_address
}

// ---- getSnapshot / restoreSnapshot ----

struct TGetSnapshotRequest {
  2: optional string user
  3: optional string passwd
  4: optional string db
  5: optional string table
  // The BACKUP label.
  7: optional string label_name
  // Must be present (the FE rejects its absence) even though it is always "".
  8: optional string snapshot_name
  // The FE accepts only LOCAL.
  9: optional Types.TSnapshotType snapshot_type
  10: optional bool enable_compress
}

struct TGetSnapshotResult {
  1: optional Status.TStatus status
  2: optional binary meta
  // JSON backup job info.
  3: optional binary job_info
  4: optional Types.TNetworkAddress master_address
  // meta and job_info are gzip-compressed.
  5: optional bool compressed
  // Epoch milliseconds.
  6: optional i64 expired_at
  7: optional i64 commit_seq
}

// Doris has no field 2 in this struct.
struct TTableRef {
  1: optional string table
  3: optional string alias_name
}

struct TRestoreSnapshotRequest {
  2: optional string user
  3: optional string passwd
  4: optional string db
  5: optional string table
  7: optional string label_name
  8: optional string repo_name
  9: optional list<TTableRef> table_refs
  10: optional map<string, string> properties
  11: optional binary meta
  12: optional binary job_info
  13: optional bool clean_tables
  14: optional bool clean_partitions
  15: optional bool atomic_restore
  16: optional bool compressed
  17: optional bool force_replace
}

struct TRestoreSnapshotResult {
  1: optional Status.TStatus status
  2: optional Types.TNetworkAddress master_address
}

// ---- getMasterToken ----

// The only request whose password field Doris names `password` (id 3 as elsewhere).
struct TGetMasterTokenRequest {
  1: optional string cluster
  2: optional string user
  3: optional string password
}

struct TGetMasterTokenResult {
  1: optional Status.TStatus status
  2: optional string token
  3: optional Types.TNetworkAddress master_address
}

// ---- getMeta ----
// The request selectors and the reply's *Meta structs use different field ids.

struct TGetMetaTable {
  1: optional i64 id
  2: optional string name
}

struct TGetMetaDB {
  1: optional i64 id
  2: optional string name
  // Absent: the whole database.
  4: optional list<TGetMetaTable> tables
}

// Never send a token here: a 2.1-era FE then skips the db lookup.
struct TGetMetaRequest {
  2: optional string user
  3: optional string passwd
  6: optional TGetMetaDB db
}

struct TGetMetaReplicaMeta {
  1: optional i64 id
  2: optional i64 backend_id
  3: optional i64 version
}

struct TGetMetaTabletMeta {
  1: optional i64 id
  2: optional list<TGetMetaReplicaMeta> replicas
}

struct TGetMetaIndexMeta {
  1: optional i64 id
  2: optional string name
  3: optional list<TGetMetaTabletMeta> tablets
}

struct TGetMetaPartitionMeta {
  1: optional i64 id
  2: optional string name
  3: optional string key
  // Partitions are matched across clusters by this text.
  4: optional string range
  5: optional i64 visible_version
  6: optional bool is_temp
  7: optional list<TGetMetaIndexMeta> indexes
}

struct TGetMetaTableMeta {
  1: optional i64 id
  2: optional string name
  3: optional bool in_trash
  4: optional list<TGetMetaPartitionMeta> partitions
  // Table type name (newer FEs).
  5: optional string type
}

struct TGetMetaDBMeta {
  1: optional i64 id
  2: optional string name
  3: optional list<TGetMetaTableMeta> tables
  4: optional list<i64> dropped_partitions
  5: optional list<i64> dropped_tables
  6: optional list<i64> dropped_indexes
  // Newer FEs: dropped id -> commit seq of the drop.
  7: optional map<i64, i64> dropped_partition_map
  8: optional map<i64, i64> dropped_table_map
  9: optional map<i64, i64> dropped_index_map
}

// `status` is required as in Doris. An unknown db is answered OK without db_meta.
struct TGetMetaResult {
  1: required Status.TStatus status
  2: optional TGetMetaDBMeta db_meta
  3: optional Types.TNetworkAddress master_address
}

// ---- getBackendMeta ----

struct TGetBackendMetaRequest {
  1: optional string cluster
  2: optional string user
  3: optional string passwd
}

// `status` is required as in Doris.
struct TGetBackendMetaResult {
  1: required Status.TStatus status
  2: optional list<Types.TBackend> backends
  3: optional Types.TNetworkAddress master_address
}

// Method names are case-sensitive on the wire (camelCase on the FE). Not multiplexed.
service FrontendService {
  TBeginTxnResult beginTxn(1: TBeginTxnRequest request)
  TCommitTxnResult commitTxn(1: TCommitTxnRequest request)
  TRollbackTxnResult rollbackTxn(1: TRollbackTxnRequest request)
  TGetBinlogResult getBinlog(1: TGetBinlogRequest request)
  TGetBinlogLagResult getBinlogLag(1: TGetBinlogRequest request)
  TLockBinlogResult lockBinlog(1: TLockBinlogRequest request)
  TGetSnapshotResult getSnapshot(1: TGetSnapshotRequest request)
  TRestoreSnapshotResult restoreSnapshot(1: TRestoreSnapshotRequest request)
  TGetMasterTokenResult getMasterToken(1: TGetMasterTokenRequest request)
  TGetMetaResult getMeta(1: TGetMetaRequest request)
  TGetBackendMetaResult getBackendMeta(1: TGetBackendMetaRequest request)
}
