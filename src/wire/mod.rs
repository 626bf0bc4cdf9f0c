//! Rust generated from thrift/*.thrift by scripts/gen_thrift.sh (in progress).
