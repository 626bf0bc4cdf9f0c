// Status codes and the status struct carried by every Doris FE/BE reply that ccr_syncer
// exchanges. Our own trimmed restatement of the Doris wire contract (see
// /work/shared/reference/doris-thrift-wire.md §4, §5.1): only ids, wire types and numeric
// values have to match Doris; names and layout are ours.
//
// TStatusCode is decoded as an open enum (thrift-rs 0.17 generates a newtype over i32), so a
// code added by a newer Doris decodes fine and is handled as a generic failure by callers.

enum TStatusCode {
  OK = 0
  CANCELLED = 1
  ANALYSIS_ERROR = 2
  NOT_IMPLEMENTED_ERROR = 3
  RUNTIME_ERROR = 4
  MEM_LIMIT_EXCEEDED = 5
  INTERNAL_ERROR = 6
  THRIFT_RPC_ERROR = 7
  TIMEOUT = 8
  // Older Doris releases called 9 KUDU_NOT_ENABLED; the value was reused.
  LIMIT_REACH = 9
  KUDU_NOT_SUPPORTED_ON_OS = 10
  MEM_ALLOC_FAILED = 11
  BUFFER_ALLOCATION_FAILED = 12
  MINIMUM_RESERVATION_UNAVAILABLE = 13
  // commitTxn: committed but not yet visible. Success pending visibility, not a failure.
  PUBLISH_TIMEOUT = 14
  LABEL_ALREADY_EXISTS = 15
  TOO_MANY_TASKS = 16
  ES_INTERNAL_ERROR = 17
  ES_INDEX_NOT_FOUND = 18
  ES_SHARD_NOT_FOUND = 19
  ES_INVALID_CONTEXTID = 20
  ES_INVALID_OFFSET = 21
  ES_REQUEST_ERROR = 22
  END_OF_FILE = 30
  NOT_FOUND = 31
  CORRUPTION = 32
  INVALID_ARGUMENT = 33
  IO_ERROR = 34
  ALREADY_EXIST = 35
  NETWORK_ERROR = 36
  ILLEGAL_STATE = 37
  NOT_AUTHORIZED = 38
  ABORTED = 39
  REMOTE_ERROR = 40
  SERVICE_UNAVAILABLE = 41
  UNINITIALIZED = 42
  CONFIGURATION_ERROR = 43
  INCOMPLETE = 44
  OLAP_ERR_VERSION_ALREADY_MERGED = 45
  DATA_QUALITY_ERROR = 46
  INVALID_JSON_PATH = 47
  VEC_EXCEPTION = 50
  VEC_LOGIC_ERROR = 51
  VEC_ILLEGAL_DIVISION = 52
  VEC_BAD_CAST = 53
  VEC_CANNOT_ALLOCATE_MEMORY = 54
  VEC_CANNOT_MUNMAP = 55
  VEC_CANNOT_MREMAP = 56
  VEC_BAD_ARGUMENTS = 57
  // getBinlog / getBinlogLag family.
  BINLOG_DISABLE = 60
  // prev_commit_seq predates the oldest retained binlog; the oldest one is still returned.
  BINLOG_TOO_OLD_COMMIT_SEQ = 61
  // Nothing newer than prev_commit_seq: the caller is caught up.
  BINLOG_TOO_NEW_COMMIT_SEQ = 62
  BINLOG_NOT_FOUND_DB = 63
  BINLOG_NOT_FOUND_TABLE = 64
  SNAPSHOT_NOT_EXIST = 70
  HTTP_ERROR = 71
  TABLET_MISSING = 72
  // A follower/observer FE answered; the reply's master_address names the master if known.
  NOT_MASTER = 73
  DELETE_BITMAP_LOCK_ERROR = 100
}

// `status_code` is required: Doris declares it required (so a Doris peer always sends it) and
// a simulated FE/BE must always send it. Required makes it a plain (non-Option) field in Rust.
struct TStatus {
  1: required TStatusCode status_code
  2: optional list<string> error_msgs
}
