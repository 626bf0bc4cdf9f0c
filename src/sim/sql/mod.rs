//! The FE SQL engine: parser and executor (in progress).
