//! [`Error`]: what the PostgreSQL parts return.

/// An error of this crate. Nothing is half-written when one is returned: every write runs
/// in a transaction that is rolled back (or never committed) on error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server or the connection failed (refused statement, lost connection, ...).
    #[error("postgres: {}", describe(.0))]
    Db(#[from] tokio_postgres::Error),
    /// A model operation failed (a diff that does not apply, a duplicate key in a row set).
    #[error(transparent)]
    Model(#[from] statesync::Error),
    /// A stored JSON value (a history diff) does not read back as the model; or, on
    /// write, a value serde_json cannot write at all (a map with keys that are not
    /// strings), refused before anything was written.
    #[error("{what}: {source}")]
    Json {
        /// What was being read or written, as `history "inventory" version 3`.
        what: String,
        /// serde_json's error.
        source: serde_json::Error,
    },
    /// A value that cannot be stored as JSON and read back as it is: a NaN or infinite
    /// float (written as `null`), nesting deeper than serde_json reads (127 levels), or a
    /// NUL character (which PostgreSQL's `jsonb` and `text` refuse). It was refused before
    /// anything was written.
    #[error("{what} cannot be stored: {reason}")]
    NotJson {
        /// What was being written, and where in it, as `history "inventory": the diff
        /// after version 3, at elements[0] {}.action.update.children.products.elements[2]
        /// {"name":"a"}.action.update.fields.price.new` (a path through its serde form,
        /// each element followed by its key).
        what: String,
        /// Why it cannot be.
        reason: &'static str,
    },
    /// A name that cannot be a PostgreSQL identifier here.
    #[error(
        "{0:?} is not a plain identifier (a-z, 0-9, _; at most 63 bytes; not starting with a digit or pg_)"
    )]
    BadIdentifier(String),
    /// A stored diff that does not apply to the version before it (edited in the table by
    /// hand, say): a diff the history holds always applies there.
    #[error("{what}: {source}")]
    Replay {
        /// The version, as `history "inventory" version 3`.
        what: String,
        /// Why it does not apply.
        source: statesync::Error,
    },
    /// A row that does not fit the models, naming it.
    #[error("{0}")]
    BadRow(String),
    /// A checkout of a version the history does not hold as the checkout has it: the
    /// commit that made it was rolled back (another may have taken its number since), or
    /// the history was removed. Check out the head again.
    #[error(
        "version {version} of history {history} is not the checkout's (its commit was rolled back, or the history removed)"
    )]
    VersionGone {
        /// The checkout's version.
        version: i64,
        /// The history: its root and table.
        history: String,
    },
    /// A checkout given to a history other than the one it came from (another root, or
    /// another schema's table): its state is not a version of this history.
    #[error("a checkout of history {checkout} given to history {history}")]
    OtherHistory {
        /// The checkout's history: its root and table.
        checkout: String,
        /// The history it was given to.
        history: String,
    },
    /// A sync whose changes could not be written: the transaction was rolled back, or, when
    /// the connection was lost on the way (the target could then not be reloaded either),
    /// its outcome is unknown: load the tables again.
    #[error("sync not committed ({}): {cause}", if *target_reloaded { "rolled back, target reloaded" } else { "rolled back, or of unknown outcome if the connection was lost while committing; the target could not be reloaded: load it again" })]
    NotCommitted {
        /// Why the write failed.
        cause: Box<Error>,
        /// Whether the in-memory target was reloaded from the tables afterwards.
        target_reloaded: bool,
    },
    /// Options that cannot work, refused before anything is done (a worker's lease too
    /// short to renew).
    #[error("bad options: {0}")]
    BadOptions(String),
    /// A failure injected with [`crate::PgInventory::inject_failure`].
    #[error("injected failure {0}")]
    Injected(crate::FailAt),
}

/// The server's own message (severity, text, detail, SQLSTATE) when there is one: the
/// client error's `Display` says only "db error".
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = format!("{}: {} ({})", db.severity(), db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(": ");
                text.push_str(detail);
            }
            text
        }
        None => match std::error::Error::source(error) {
            Some(source) => format!("{error}: {source}"),
            None => error.to_string(),
        },
    }
}
