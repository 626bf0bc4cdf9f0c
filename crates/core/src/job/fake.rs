//! In-memory fakes (written below).
