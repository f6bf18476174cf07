//! Tells the tests whether a PostgreSQL server is configured: with `DATABASE_URL` set they
//! run (`cfg(has_database)`); without it cargo lists them as ignored, never as passed.

fn main() {
    println!("cargo:rerun-if-env-changed=DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(has_database)");
    if std::env::var_os("DATABASE_URL").is_some() {
        println!("cargo:rustc-cfg=has_database");
    }
}
