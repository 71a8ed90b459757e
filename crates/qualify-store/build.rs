//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!` embeds the
//! migrations at compile time, and cargo doesn't otherwise notice a new file.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
