//! What the PostgreSQL examples share: the server's URL and a schema of their own.
#![allow(dead_code)]

use statesync_postgres::{Error, Schema};
use tokio_postgres::Client;

/// The server: `DATABASE_URL`, or the development machine's.
pub fn url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh schema named `{prefix}_{pid}` (an old one of that name is dropped first).
pub async fn fresh_schema(client: &Client, prefix: &str) -> Result<Schema, Error> {
    let schema = Schema::new(&format!("{prefix}_{}", std::process::id()))?;
    drop_schema(client, &schema).await?;
    client.batch_execute(&schema.create_sql()).await?;
    Ok(schema)
}

/// Drops `schema` and everything in it.
pub async fn drop_schema(client: &Client, schema: &Schema) -> Result<(), Error> {
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await?;
    Ok(())
}

/// Seconds, to the millisecond.
pub fn seconds(elapsed: std::time::Duration) -> f64 {
    (elapsed.as_secs_f64() * 1000.0).round() / 1000.0
}
