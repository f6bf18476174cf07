//! What every PostgreSQL test shares: the server's URL and a schema of its own that is
//! dropped when the test ends, passed or failed.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};

use statesync_postgres::{Schema, connect};

/// The server, from `DATABASE_URL` (the tests run only when it is set: see build.rs).
pub fn url() -> String {
    std::env::var("DATABASE_URL").expect("DATABASE_URL (the tests are ignored without it)")
}

/// A schema with a unique name (test, process, time, counter), created on the server and
/// dropped with everything in it when the guard is dropped, also when the test panics.
pub struct TestSchema {
    pub schema: Schema,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl TestSchema {
    pub async fn new(test: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let name = format!(
            "t_{test}_{}_{nanos}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let schema = Schema::new(&name).expect("a plain name");
        let client = connect(&url()).await.expect("the server");
        client
            .batch_execute(&schema.create_sql())
            .await
            .expect("create schema");
        Self { schema }
    }

    /// A name for a second schema under this guard (dropped with it).
    pub async fn sibling(&self, suffix: &str) -> TestSchema {
        TestSchema::new(&format!("{}_{suffix}", &self.schema.name()[..6])).await
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime (or while it unwinds): use a thread with its
        // own runtime so the schema goes whatever state the test's runtime is in.
        // A test that panics may leave a transaction of its own open in the schema (its
        // connection's task no longer runs): after a few seconds of waiting for its locks,
        // the connections holding locks there are ended, so a failing test fails rather
        // than hangs.
        let name = self.schema.name().to_owned();
        let sql = format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE");
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let client = connect(&url()).await?;
                client.batch_execute("SET lock_timeout = '5s'").await?;
                if client.batch_execute(&sql).await.is_err() {
                    let holders = "SELECT pg_terminate_backend(l.pid) FROM pg_locks l \
                         JOIN pg_class c ON c.oid = l.relation \
                         JOIN pg_namespace n ON n.oid = c.relnamespace \
                         WHERE n.nspname = $1 AND l.pid <> pg_backend_pid()";
                    client.execute(holders, &[&name]).await?;
                    client.batch_execute(&sql).await?;
                }
                Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop schema {}", self.schema);
        }
    }
}
