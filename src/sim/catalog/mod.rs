//! The FE catalog: databases, tables, partitions, tablets, replicas, rows (in progress).
