//! [`Schema`]: a checked schema name, and [`connect`].

use crate::Error;

/// A PostgreSQL schema name, checked to be a plain lower-case identifier, so it can be put
/// into SQL text without quoting surprises. Every table of this crate lives in a schema
/// given this way, so two inventories (a source and a target, or two tests) never meet.
///
/// ```
/// use statesync_postgres::Schema;
/// assert_eq!(Schema::new("fleet_1")?.table("site"), "\"fleet_1\".\"site\"");
/// assert!(Schema::new("Robert'); DROP TABLE students;--").is_err());
/// assert!(Schema::new("pg_catalog").is_err());
/// # Ok::<(), statesync_postgres::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Schema(String);

impl Schema {
    /// Checks `name`: `[a-z_][a-z0-9_]*`, at most 63 bytes, not starting with `pg_`
    /// (reserved by PostgreSQL for its own schemas).
    ///
    /// # Errors
    /// [`Error::BadIdentifier`].
    pub fn new(name: &str) -> Result<Self, Error> {
        let mut chars = name.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if first_ok && rest_ok && name.len() <= 63 && !name.starts_with("pg_") {
            Ok(Self(name.to_owned()))
        } else {
            Err(Error::BadIdentifier(name.to_owned()))
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.0
    }

    /// `"schema"."table"`, for SQL text: the table name quoted as an identifier (a `"`
    /// in it doubled), so any name stays one identifier.
    ///
    /// ```
    /// let schema = statesync_postgres::Schema::new("inv")?;
    /// assert_eq!(schema.table("site"), r#""inv"."site""#);
    /// assert_eq!(schema.table(r#"a"; DROP TABLE x; --"#), r#""inv"."a""; DROP TABLE x; --""#);
    /// # Ok::<(), statesync_postgres::Error>(())
    /// ```
    pub fn table(&self, table: &str) -> String {
        format!("\"{}\".\"{}\"", self.0, table.replace('"', "\"\""))
    }

    /// `CREATE SCHEMA IF NOT EXISTS "schema"`, after the transaction-level advisory lock
    /// every statesync DDL takes, so processes that start together take turns: two
    /// statements, to run with `batch_execute`.
    pub fn create_sql(&self) -> String {
        serialized(&format!("CREATE SCHEMA IF NOT EXISTS \"{}\"", self.0))
    }
}

/// The transaction-level advisory lock every statesync DDL batch takes first.
const DDL_LOCK: i64 = 0x7374_6174_6573_796e;

/// `ddl` after the advisory lock every statesync DDL batch takes, so that processes
/// creating the same tables at once take turns: `IF NOT EXISTS` alone races (two creates
/// of one table both find it missing, and one fails on the catalogue's unique index). Run
/// with `batch_execute`: the statements of one batch are one transaction (or part of the
/// caller's), which holds the lock to its end.
pub(crate) fn serialized(ddl: &str) -> String {
    format!("SELECT pg_advisory_xact_lock({DDL_LOCK});\n{ddl}")
}

impl std::fmt::Display for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Connects without TLS (a server on this machine or a trusted network) and drives the
/// connection on a spawned tokio task, which ends when the client is dropped or the
/// server closes the connection. Call it inside a tokio runtime.
///
/// # Errors
/// [`Error::Db`] when the server cannot be reached or refuses the login.
pub async fn connect(url: &str) -> Result<tokio_postgres::Client, Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        // The client sees the same error on its next call; nothing to do here.
        let _ended = connection.await;
    });
    Ok(client)
}
