//! Tells the tests whether a PostgreSQL server is configured: with `DATABASE_URL` set they
//! run (`cfg(has_database)`); without it cargo lists them as ignored, never as passed.
//!
//! The crate docs are `README-section.md`, whose example needs the server too: it is copied
//! to `OUT_DIR` for the docs, its Rust blocks marked `ignore` when there is no server, so
//! that rustdoc lists it as ignored rather than running an empty `main` as passed.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    println!("cargo:rerun-if-env-changed=DATABASE_URL");
    println!("cargo:rerun-if-changed=README-section.md");
    println!("cargo::rustc-check-cfg=cfg(has_database)");
    let has_database = std::env::var_os("DATABASE_URL").is_some();
    if has_database {
        println!("cargo:rustc-cfg=has_database");
    }
    let docs = std::fs::read_to_string("README-section.md")?;
    let docs = if has_database {
        docs
    } else {
        docs.replace("```rust\n", "```rust,ignore\n")
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    std::fs::write(out.join("README-section.md"), docs)
}
