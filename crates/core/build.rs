//! `sqlx::migrate!` embeds the files under migrations/; a new or changed one must rebuild.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
