//! The FE MySQL protocol server (in progress).
