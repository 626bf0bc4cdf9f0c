// Structs and enums shared by the FrontendService and BackendService calls of ccr_syncer.
// Our own trimmed restatement of the Doris wire contract (doris-thrift-wire.md §4, §5).
//
// required vs optional (not encoded on the wire, only validated):
// * `required` is used only where Doris itself declares the field required. A Doris peer
//   therefore always sends it, Doris rejects a message of ours without it, and the simulated
//   FE/BE must always send it. In Rust a required field is a plain value, so neither side can
//   forget it.
// * Everything else is `optional`: we tolerate any subset from Doris, and Doris treats an
//   absent field as "not set" (which it sometimes reports as an error, so presence matters).
//
// Enums are open: thrift-rs generates newtypes over i32, so values added by newer Doris
// releases decode without error.

// Required both ways: Doris declares hostname and port required, and a simulated FE must
// always send both in `master_address`.
struct TNetworkAddress {
  1: required string hostname
  // For a `master_address`: the master FE's rpc_port (Thrift port).
  2: required i32 port
}

// Required: Doris declares hi/lo required and rejects an ingest_binlog load_id without them.
struct TUniqueId {
  1: required i64 hi
  2: required i64 lo
}

// Sent to the FE in commitTxn: one entry per ingested target replica. Both ids required:
// the FE rejects the whole call (PROTOCOL_ERROR) if either is missing.
struct TTabletCommitInfo {
  1: required i64 tablet_id
  2: required i64 backend_id
}

// host/be_port/http_port required as in Doris (a simulated FE must send them); the rest
// optional.
struct TBackend {
  1: required string host
  2: required i32 be_port
  3: required i32 http_port
  4: optional i32 brpc_port
  5: optional bool is_alive
  6: optional i64 id
}

// Binlog record types. Doris never renumbers a type; values at or above a build's
// MIN_UNKNOWN placeholder are unknown to that build, so decoding must accept any i32.
enum TBinlogType {
  UPSERT = 0
  ADD_PARTITION = 1
  CREATE_TABLE = 2
  DROP_PARTITION = 3
  DROP_TABLE = 4
  ALTER_JOB = 5
  MODIFY_TABLE_ADD_OR_DROP_COLUMNS = 6
  // Left where older binlogs were purged; forces a full sync.
  DUMMY = 7
  ALTER_DATABASE_PROPERTY = 8
  MODIFY_TABLE_PROPERTY = 9
  BARRIER = 10
  MODIFY_PARTITIONS = 11
  REPLACE_PARTITIONS = 12
  TRUNCATE_TABLE = 13
  RENAME_TABLE = 14
  RENAME_COLUMN = 15
  MODIFY_COMMENT = 16
  MODIFY_VIEW_DEF = 17
  REPLACE_TABLE = 18
  MODIFY_TABLE_ADD_OR_DROP_INVERTED_INDICES = 19
  INDEX_CHANGE_JOB = 20
  RENAME_ROLLUP = 21
  RENAME_PARTITION = 22
  DROP_ROLLUP = 23
  RECOVER_INFO = 24
  MODIFY_DISTRIBUTION_BUCKET_NUM = 25
  MODIFY_DISTRIBUTION_TYPE = 26
}

// All optional: received from the FE, tolerant of any subset (the caller rejects a binlog
// without commit_seq).
struct TBinlog {
  1: optional i64 commit_seq
  2: optional i64 timestamp
  3: optional TBinlogType type
  4: optional i64 db_id
  5: optional list<i64> table_ids
  // JSON payload; its schema depends on `type`.
  6: optional string data
  // -1 unless `type` is DUMMY.
  7: optional i64 belong
}

enum TSnapshotType {
  REMOTE = 0
  LOCAL = 1
}

enum TSubTxnType {
  INSERT = 0
  DELETE = 1
}

// Outcome of an asynchronous ingest_binlog, polled with query_ingest_binlog.
enum TIngestBinlogStatus {
  ANALYSIS_ERROR = 0
  UNKNOWN = 1
  NOT_FOUND = 2
  OK = 3
  FAILED = 4
  DOING = 5
}
