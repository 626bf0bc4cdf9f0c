//! What the end-to-end tests (`e2e`) and the benches share: where the repository and the
//! built binaries are.
//!
//! The binaries belong to other packages (`ccr_syncer`, `doris_sim`), so Cargo does not hand
//! their paths to these targets; they sit in the profile directory this test runs from.
//! `scripts/test.sh` and the bench scripts build them first.

use std::path::{Path, PathBuf};

/// The repository's root directory.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package lives in the repository root")
}

/// The path of a workspace binary (`ccr_syncer`, `doris_sim`) of the profile this test or
/// bench was built with. Panics with what to run when it has not been built.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current executable");
    // target/<profile>/deps/<test>-<hash> → target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build --bins` (scripts/test.sh does) before the tests",
        path.display()
    );
    path
}
