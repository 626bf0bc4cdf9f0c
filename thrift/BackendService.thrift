// The BackendService (BE be_port) calls ccr_syncer makes: ingesting a source rowset into a
// target transaction, and polling an asynchronous ingest. Our own restatement of the Doris
// wire contract (doris-thrift-wire.md §3). All fields optional (see Types.thrift); the BE
// reports each missing argument as ANALYSIS_ERROR "<field> is empty".

include "Status.thrift"
include "Types.thrift"

struct TIngestBinlogRequest {
  // Target transaction from beginTxn.
  1: optional i64 txn_id
  // Source tablet.
  2: optional i64 remote_tablet_id
  // Source partition version carried by the UPSERT binlog.
  3: optional i64 binlog_version
  // Source BE host.
  4: optional string remote_host
  // Decimal text of the source BE's HTTP (webserver) port, not its be_port.
  5: optional string remote_port
  // Target partition.
  6: optional i64 partition_id
  // Target tablet.
  7: optional i64 local_tablet_id
  8: optional Types.TUniqueId load_id
}

struct TIngestBinlogResult {
  // Unset is a failure.
  1: optional Status.TStatus status
  // The BE accepted the request and ingests in the background (poll query_ingest_binlog).
  2: optional bool is_async
}

struct TQueryIngestBinlogRequest {
  1: optional i64 txn_id
  2: optional i64 partition_id
  // The local (target) tablet.
  3: optional i64 tablet_id
  4: optional Types.TUniqueId load_id
}

struct TQueryIngestBinlogResult {
  // An ingest state, not a TStatus.
  1: optional Types.TIngestBinlogStatus status
  2: optional string err_msg
}

// Method names are case-sensitive on the wire (snake_case on the BE). Not multiplexed.
service BackendService {
  TIngestBinlogResult ingest_binlog(1: TIngestBinlogRequest ingest_binlog_request)
  TQueryIngestBinlogResult query_ingest_binlog(1: TQueryIngestBinlogRequest query_ingest_binlog_request)
}
