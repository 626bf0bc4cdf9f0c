//! Stamps the git commit into the version string (`/version`, `--version`). Only this crate
//! reads it, so a new commit rebuilds the small binary crate and nothing else.
use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    let sha = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=CCR_GIT_SHA={sha}");
    // Rerun when HEAD moves: HEAD itself (a checkout) and the branch it names (a commit).
    // Paths come from git, so worktrees and a source tree without .git work as well.
    if let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        println!("cargo:rerun-if-changed={git_dir}/HEAD");
    }
    if let (Some(common), Some(branch)) = (
        git(&["rev-parse", "--git-common-dir"]),
        git(&["symbolic-ref", "-q", "HEAD"]),
    ) {
        let common = PathBuf::from(common);
        let common = if common.is_absolute() {
            common
        } else {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(common)
        };
        println!("cargo:rerun-if-changed={}", common.join(branch).display());
        println!(
            "cargo:rerun-if-changed={}",
            common.join("packed-refs").display()
        );
    }
    println!("cargo:rerun-if-changed=build.rs");
}
