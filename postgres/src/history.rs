//! [`PgHistory`]: the versions of a root model in a PostgreSQL table, shared by every
//! process that connects, with compare-and-set commits.
//!
//! A row per version: `(root, version)` is the primary key, version 0 holds the initial
//! state (JSONB), every later version the diff from the one before (JSONB, the serde form of
//! [`Diff`]). A commit against base version `b` inserts version `b + 1`, and only when `b`
//! exists: the primary key makes the insert the compare-and-set. Of two processes that
//! commit against the same base, one inserts and the other gets [`CommitError::Stale`];
//! [`PgHistory::commit_merging`] then pulls what it missed, merges three-way
//! ([`statesync::merge::merge`]) and tries again. The version sequence has no gap (a
//! version is only ever written right after an existing one) and no duplicate (the key).

use std::marker::PhantomData;
use std::sync::Arc;

use futures_util::{TryStreamExt, pin_mut};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use statesync::merge::{Conflict, MergeModel, MergeOptions, merge};
use statesync::{Diff, DiffModel};
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{GenericClient, Row};

use crate::{Error, Schema};

/// Why a value cannot be stored as JSONB and read back ([`Error::NotJson`]).
const NAN: &str = "a NaN or infinite float is written as null";
const DEEP: &str = "it nests deeper than the 127 levels serde_json reads";
const UNREAD: &str = "it does not read back as it was written";
const NUMBER: &str = "jsonb prints one of its numbers otherwise (a whole float from 1e16 \
     up reads back as an integer in a `serde_json::Value`)";
const NUL: &str = "PostgreSQL's jsonb and text hold no NUL character (\\u0000)";
const NEGATIVE_ZERO: &str = "jsonb holds no negative zero: a float -0.0 reads back as 0.0";

/// `value` as JSON, and what that JSON reads back as, with the reader that reads it from
/// the table ([`read_json`]): a value that would not read back is refused before anything
/// is written ([`Error::NotJson`], naming where in the value: the element of a diff and
/// its field): a NaN float (written as `null`), nesting deeper than serde_json reads, a
/// NUL character (which `jsonb` refuses), or a negative zero (which `jsonb`, a `numeric`,
/// reads back as `0.0`: `-0.0 == 0.0`, so the read-back comparison would not see it).
fn to_json<T: Serialize + DeserializeOwned>(
    value: &T,
    what: &str,
) -> Result<(Box<RawValue>, T), Error> {
    let text = serde_json::to_string(value).map_err(|source| Error::Json {
        what: what.to_owned(),
        source,
    })?;
    let not_json_at = |reason, offset: usize| Error::NotJson {
        what: format!("{what}, at {}", crate::json_path::path_at(&text, offset)),
        reason,
    };
    if let Some(offset) = nul_at(&text) {
        return Err(not_json_at(NUL, offset));
    }
    if let Some(offset) = negative_zero_at(&text) {
        return Err(not_json_at(NEGATIVE_ZERO, offset));
    }
    let back = serde_json::from_str(&text).map_err(|error| {
        // serde_json writes on one line: the column is the byte after the fault.
        let offset = error.column().saturating_sub(1);
        let error = error.to_string();
        let reason = if error.contains("recursion limit") {
            DEEP
        } else if error.contains("null") {
            NAN
        } else {
            UNREAD
        };
        not_json_at(reason, offset)
    })?;
    let not_json = |reason| Error::NotJson {
        what: what.to_owned(),
        reason,
    };
    let raw = RawValue::from_string(text).map_err(|_| not_json(DEEP))?;
    Ok((raw, back))
}

/// Where JSON text holds an escaped NUL character (`\u0000`) in a string. Outside
/// strings JSON has no backslash, and each escape is skipped whole, so an escaped
/// backslash followed by `u0000` is not one.
fn nul_at(json: &str) -> Option<usize> {
    let bytes = json.as_bytes();
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        if byte != b'\\' {
            at += 1;
            continue;
        }
        if bytes.get(at + 1..at + 6) == Some(b"u0000".as_slice()) {
            return Some(at);
        }
        at += 2;
    }
    None
}

/// The bytes of JSON text outside its strings, with their offsets (a string's quotes and
/// what lies between them left out).
fn outside_strings(json: &str) -> impl Iterator<Item = (usize, u8)> + '_ {
    let (mut in_string, mut escaped) = (false, false);
    json.bytes().enumerate().filter(move |&(_, byte)| {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            return false;
        }
        in_string = byte == b'"';
        !in_string
    })
}

/// Where JSON text holds a number that is a negative zero (`-0.0`, `-0`, `-0e5`): a `-`
/// outside strings starts a number, whose digits before any exponent are all `0`.
fn negative_zero_at(json: &str) -> Option<usize> {
    let bytes = json.as_bytes();
    let zero_after = |at: usize| {
        let mantissa = bytes
            .get(at + 1..)
            .unwrap_or_default()
            .iter()
            .take_while(|digit| digit.is_ascii_digit() || **digit == b'.');
        mantissa.clone().count() > 0 && mantissa.clone().all(|digit| matches!(digit, b'0' | b'.'))
    };
    outside_strings(json)
        .find(|&(at, byte)| byte == b'-' && zero_after(at))
        .map(|(at, _)| at)
}

/// Whether JSON text holds a number written with an exponent (`1e16`): `jsonb` prints it
/// in full (`10000000000000000`), which may read back as another kind of number. An `e`
/// counts after a digit or a point outside strings (not in `true`, `false` or a string).
fn holds_exponent(json: &str) -> bool {
    let bytes = json.as_bytes();
    outside_strings(json).any(|(at, byte)| {
        let previous = at.checked_sub(1).and_then(|before| bytes.get(before));
        matches!(byte, b'e' | b'E') && previous.is_some_and(|p| p.is_ascii_digit() || *p == b'.')
    })
}

/// `value` read back as a read of the table reads it: from the text `jsonb` prints for it,
/// when that can differ from serde_json's own (a number with an exponent); `back` (what
/// serde_json's own text reads back as) otherwise. A round trip through the server, only
/// for such values.
async fn read_as_stored<T: DeserializeOwned>(
    client: &impl GenericClient,
    value: &RawValue,
    back: T,
    what: &str,
) -> Result<T, Error> {
    if !holds_exponent(value.get()) {
        return Ok(back);
    }
    let row = client
        .query_one("SELECT $1::jsonb::text", &[&Json(value)])
        .await?;
    let printed: String = row.try_get(0)?;
    serde_json::from_str(&printed).map_err(|_| Error::NotJson {
        what: what.to_owned(),
        reason: NUMBER,
    })
}

/// A stored JSON value (read from the table as text) as `T`, or [`Error::Json`] naming it.
fn read_json<T: DeserializeOwned>(text: &str, what: impl FnOnce() -> String) -> Result<T, Error> {
    serde_json::from_str(text).map_err(|source| Error::Json {
        what: what(),
        source,
    })
}

/// Refuses a commit message or a root name PostgreSQL's `text` cannot hold (a NUL
/// character).
fn check_text(message: &str, what: impl FnOnce() -> String) -> Result<(), Error> {
    if message.contains('\0') {
        return Err(Error::NotJson {
            what: what(),
            reason: NUL,
        });
    }
    Ok(())
}

/// Applies a stored diff to a state, or [`Error::Replay`] naming the version: a diff the
/// history holds always applies to the version before it.
fn apply_stored<M: DiffModel>(
    state: &mut M,
    diff: &Diff<M>,
    what: impl FnOnce() -> String,
) -> Result<(), Error> {
    state.apply(diff).map_err(|source| Error::Replay {
        what: what(),
        source,
    })
}

/// A state at a version: what a process holds, and what it commits against.
///
/// Only a [`PgHistory`] makes one (checkout, head, pull, commit), so a checkout always
/// holds the state its history had at its version, and remembers which history that is
/// and the version's chain digest (of the initial state and every diff up to it): a commit
/// trusts its state rather than replay the history to compare, and refuses a checkout of
/// another history or of a version the history no longer holds as it was (a commit in a
/// transaction that then rolled back, followed by other commits of those versions). To
/// make a change, edit a clone of [`Checkout::state`] and commit it against the checkout.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkout<M> {
    version: i64,
    state: M,
    /// The history's table and root.
    history: Arc<HistoryId>,
    /// The version's `chain` column: SHA-256 of version 0's snapshot, then of each
    /// version's predecessor's chain followed by its diff (as PostgreSQL prints them).
    digest: String,
}

/// The SQL of a chain digest of `text`.
fn chain_of(text: &str) -> String {
    format!("encode(sha256(convert_to({text}, 'UTF8')), 'hex')")
}

/// The SQL of whether a row's chain is its content's, read in version order: `NULL` for a
/// row whose predecessor the query did not read.
fn sound() -> String {
    format!(
        "chain = CASE WHEN version = 0 THEN {} ELSE {} END",
        chain_of("snapshot::text"),
        chain_of("lag(chain) OVER (ORDER BY version) || diff::text")
    )
}

/// Which history a checkout is of: the table and the root.
#[derive(Debug, PartialEq, Eq)]
struct HistoryId {
    table: String,
    root: String,
}

impl<M> Checkout<M> {
    /// The version the state is.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The state at [`Checkout::version`].
    pub fn state(&self) -> &M {
        &self.state
    }

    /// The state, without its version.
    pub fn into_state(self) -> M {
        self.state
    }
}

/// Why a commit was refused. The history is unchanged, but for a lost connection (an
/// [`Error::Db`] in [`CommitError::Other`]), where the commit may have been written.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// Another process committed after `base`: pull, merge and try again (or let
    /// [`PgHistory::commit_merging`] do it).
    #[error("stale commit: made against version {base}, the head is version {head}")]
    Stale {
        /// The version the commit was made against.
        base: i64,
        /// The head when the commit was refused.
        head: i64,
    },
    /// The base version does not exist in this history as the checkout has it: a version
    /// this root never had, a history that was removed, a commit that was rolled back
    /// (another may have taken its number since), or a version committed after the
    /// snapshot of the caller's `REPEATABLE READ` transaction, which cannot see it.
    #[error(
        "version {0} is not in the history as the commit's base has it (never there, the \
         history removed, or its commit rolled back and the number perhaps taken since): \
         check out the head again"
    )]
    NoSuchVersion(i64),
    /// The commit changes nothing (an empty diff, or one whose new values are the old
    /// ones): no version is written, so a writer that pushes nothing makes nobody stale.
    #[error("the commit changes nothing")]
    Unchanged,
    /// Still stale after the given number of attempts.
    #[error("still stale after {0} attempts")]
    Contended(usize),
    /// Anything else: the server, the connection, or a state that does not diff.
    #[error(transparent)]
    Other(#[from] Error),
}

impl From<tokio_postgres::Error> for CommitError {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Other(Error::Db(error))
    }
}

/// What [`PgHistory::commit_merging`] did.
#[derive(Debug, Clone)]
pub struct Committed<M> {
    /// The committed version and its state.
    pub checkout: Checkout<M>,
    /// Conflicts the merges reported (kept as ours), in the order found.
    pub conflicts: Vec<Conflict>,
    /// How many times the commit was refused as stale before it went through.
    pub stale: usize,
}

/// The versions of one root model, in the table `statesync_history` of a schema. Several
/// roots share the table, each under its name; any number of processes use one root.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use statesync::merge::MergeOptions;
/// use statesync_postgres::{PgHistory, Schema, connect};
/// use statesync_suite::inventory::{Inventory, Site};
///
/// let client = connect("postgres://postgres@127.0.0.1:5432/test").await?;
/// let history = PgHistory::<Inventory>::new(&Schema::new("public")?, "inventory");
/// history.create_table(&client).await?;
/// let base = history.init(&client, &Inventory::default()).await?; // or history.head()
/// let mut ours = base.state().clone();
/// ours.sites.upsert(Site { name: "ams".into(), region: "emea".into(), devices: Default::default() });
/// let done = history.commit_merging(&client, base, ours, "add ams", &MergeOptions::default(), 10).await?;
/// println!("version {} after {} stale attempts", done.checkout.version(), done.stale);
/// // Every version gone, safely beside other writers; `init` starts the history again.
/// let mut client = client;
/// history.remove(&mut client).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PgHistory<M> {
    table: String,
    root: String,
    id: Arc<HistoryId>,
    model: PhantomData<fn() -> M>,
}

impl<M> PgHistory<M>
where
    M: DiffModel + Serialize + DeserializeOwned,
    Diff<M>: Serialize + DeserializeOwned,
{
    /// The history named `root` in `schema`'s `statesync_history` table.
    pub fn new(schema: &Schema, root: &str) -> Self {
        let table = schema.table("statesync_history");
        let id = Arc::new(HistoryId {
            table: table.clone(),
            root: root.to_owned(),
        });
        Self {
            table,
            root: root.to_owned(),
            id,
            model: PhantomData,
        }
    }

    /// The root's name as a query parameter, or [`Error::NotJson`] when PostgreSQL's `text`
    /// cannot hold it (a NUL character).
    fn root(&self) -> Result<&String, Error> {
        check_text(&self.root, || {
            format!("history {:?}: its root name", self.root)
        })?;
        Ok(&self.root)
    }

    /// Creates the table if it does not exist (the schema must); processes that start
    /// together take turns.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn create_table(&self, client: &impl GenericClient) -> Result<(), Error> {
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} (
                root         text        NOT NULL,
                version      bigint      NOT NULL CHECK (version >= 0),
                message      text        NOT NULL,
                snapshot     jsonb,
                diff         jsonb,
                chain        text        NOT NULL,
                committed_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (root, version),
                CHECK ((version = 0) = (snapshot IS NOT NULL)),
                CHECK ((version = 0) = (diff IS NULL))
            )",
            self.table
        );
        client
            .batch_execute(&crate::schema::serialized(&sql))
            .await?;
        Ok(())
    }

    /// Stores `initial` as version 0 unless the root already has one (another process
    /// was first: its initial state is kept), and returns the head.
    ///
    /// # Errors
    /// [`Error::Db`], or a stored version that does not read back.
    pub async fn init(
        &self,
        client: &impl GenericClient,
        initial: &M,
    ) -> Result<Checkout<M>, Error> {
        let what = format!("history {:?}: the initial state", self.root);
        let (snapshot, back) = to_json(initial, &what)?;
        if !back.diff(initial)?.is_empty() {
            return Err(Error::NotJson { what, reason: NAN });
        }
        let stored: M = read_as_stored(client, &snapshot, back, &what).await?;
        if !stored.diff(initial)?.is_empty() {
            return Err(Error::NotJson {
                what,
                reason: NUMBER,
            });
        }
        let sql = format!(
            "INSERT INTO {} (root, version, message, snapshot, chain)
             VALUES ($1, 0, 'initial', $2, {})
             ON CONFLICT (root, version) DO NOTHING",
            self.table,
            chain_of("$2::jsonb::text")
        );
        client
            .execute(&sql, &[self.root()?, &Json(&*snapshot)])
            .await?;
        self.head(client).await
    }

    /// Removes the history: every version of its root (other roots' rows stay), in one
    /// transaction; returns how many versions there were. Safe beside writers: it waits
    /// for the commits under way, and a commit after it finds no version to build on
    /// ([`CommitError::NoSuchVersion`]) until an [`PgHistory::init`] starts the history
    /// again. Remove a history this way, not with a `DELETE` of one's own: a commit under
    /// way when such a `DELETE` starts is not in its snapshot, and its version would be
    /// left without its predecessors.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn remove(&self, client: &mut impl GenericClient) -> Result<u64, Error> {
        let root = self.root()?;
        let tx = client.transaction().await?;
        // Version 0 first: each commit holds it until its transaction ends, so this waits
        // for them, and none starts after it (the next statement's snapshot sees them all).
        let first = tx
            .execute(
                &format!("DELETE FROM {} WHERE root = $1 AND version = 0", self.table),
                &[root],
            )
            .await?;
        let rest = tx
            .execute(
                &format!("DELETE FROM {} WHERE root = $1", self.table),
                &[root],
            )
            .await?;
        tx.commit().await?;
        Ok(first + rest)
    }

    /// The newest version and its state: version 0 with every diff after it applied.
    ///
    /// # Errors
    /// [`Error::BadRow`] when the root has no version 0; [`Error::Db`]; a stored diff that
    /// does not read back ([`Error::Json`]) or apply ([`Error::Replay`]).
    pub async fn head(&self, client: &impl GenericClient) -> Result<Checkout<M>, Error> {
        // One statement reads version 0 and every later version, so a `remove` (and an
        // `init` again) between two reads cannot hand back half of each history.
        self.replay(client, None)
            .await?
            .ok_or_else(|| Error::BadRow(format!("history {:?} has no version 0", self.root)))
    }

    /// The state at `version`: version 0 with the diffs up to `version` applied.
    ///
    /// # Errors
    /// [`Error::BadRow`] when there is no such version; as [`PgHistory::head`] otherwise.
    pub async fn checkout(
        &self,
        client: &impl GenericClient,
        version: i64,
    ) -> Result<Checkout<M>, Error> {
        self.replay(client, Some(version))
            .await?
            .filter(|held| held.version == version)
            .ok_or_else(|| {
                Error::BadRow(format!("history {:?} has no version {version}", self.root))
            })
    }

    /// Version 0 with the diffs up to `up_to` (all of them: `None`) applied, read in one
    /// statement, row by row as they arrive (a history read whole first took about three
    /// times its text in memory: an outside tester's 4,000 versions of 100 KB peaked at
    /// 1.15 GB for a 100 KB state). The statement stays open while the rows are applied,
    /// so a `statement_timeout` covers that work. `None` when the root has no version 0
    /// (or none up to `up_to`).
    async fn replay(
        &self,
        client: &impl GenericClient,
        up_to: Option<i64>,
    ) -> Result<Option<Checkout<M>>, Error> {
        let sql = format!(
            "SELECT version, snapshot::text, diff::text, chain, {} FROM {} WHERE root = $1
             AND version <= $2 ORDER BY version",
            sound(),
            self.table
        );
        let up_to = up_to.unwrap_or(i64::MAX);
        let params: [&(dyn ToSql + Sync); 2] = [self.root()?, &up_to];
        let rows = client.query_raw(&sql, params).await?;
        pin_mut!(rows);
        let mut checkout: Option<Checkout<M>> = None;
        while let Some(row) = rows.try_next().await? {
            let at: i64 = row.try_get(0)?;
            let what = || format!("history {:?} version {at}", self.root);
            // The sequence first: a missing version makes its successor's chain check fail
            // too, and the gap is what to name.
            self.in_sequence(at, checkout.as_ref().map(Checkout::version))?;
            self.check_sound(&row, 4, at)?;
            match checkout.as_mut() {
                None => {
                    let snapshot: String = row.try_get(1)?;
                    let state = read_json(&snapshot, what)?;
                    checkout = Some(self.at_version_0(state, row.try_get(3)?));
                }
                Some(held) => {
                    let diff: String = row.try_get(2)?;
                    let diff: Diff<M> = read_json(&diff, what)?;
                    apply_stored(&mut held.state, &diff, what)?;
                    held.version = at;
                    held.digest = row.try_get(3)?;
                }
            }
        }
        Ok(checkout)
    }

    /// Commits a diff made by someone else against version `base` (a server handling a
    /// client's push, the diff in its serde form): the diff must apply to the state at
    /// `base`, and `base` must still be the head. Any number of servers can do this in
    /// front of one database.
    ///
    /// # Errors
    /// [`CommitError::Stale`] when `base` is not the head any more (the client pulls,
    /// merges and pushes again); [`CommitError::NoSuchVersion`]; [`CommitError::Unchanged`]
    /// for a diff that changes nothing (empty, or new values equal to the old); a diff that
    /// does not apply is [`CommitError::Other`] with [`Error::Model`]. Nothing is written on
    /// error.
    pub async fn commit_diff(
        &self,
        client: &impl GenericClient,
        base: i64,
        diff: &Diff<M>,
        message: &str,
    ) -> Result<Checkout<M>, CommitError> {
        let head = match self.version(client).await {
            Ok(head) => head,
            // A root with no version (removed, or never initialised) has no `base`.
            Err(Error::BadRow(_)) => return Err(CommitError::NoSuchVersion(base)),
            Err(error) => return Err(error.into()),
        };
        if base > head || base < 0 {
            return Err(CommitError::NoSuchVersion(base));
        }
        if base < head {
            return Err(CommitError::Stale { base, head });
        }
        let at_base = match self.replay(client, Some(base)).await? {
            Some(at_base) if at_base.version == base => at_base,
            // Removed since `version` read it.
            _ => return Err(CommitError::NoSuchVersion(base)),
        };
        let mut next = at_base.state.clone();
        next.apply(diff).map_err(Error::Model)?;
        self.commit(client, &at_base, &next, message).await
    }

    fn at_version_0(&self, state: M, digest: String) -> Checkout<M> {
        Checkout {
            version: 0,
            state,
            history: Arc::clone(&self.id),
            digest,
        }
    }

    /// Refuses a row whose chain digest (column `at`, as [`sound`] computes it) is not its
    /// content's: a snapshot or diff edited by hand, its chain kept.
    fn check_sound(&self, row: &Row, at: usize, version: i64) -> Result<(), Error> {
        match row.try_get::<_, Option<bool>>(at)? {
            Some(false) => Err(Error::BadRow(format!(
                "history {:?} version {version}: its content is not what its chain digest \
                 says (edited in place?)",
                self.root
            ))),
            _ => Ok(()),
        }
    }

    /// Refuses a version read after `previous` (`None`: read first) that does not come
    /// next: a version removed by hand, or one inserted out of turn.
    fn in_sequence(&self, version: i64, previous: Option<i64>) -> Result<(), Error> {
        let expected = previous.map_or(Some(0), |previous| previous.checked_add(1));
        if expected == Some(version) {
            return Ok(());
        }
        Err(Error::BadRow(match previous {
            Some(previous) => format!(
                "history {:?}: version {version} follows {previous} (a version missing?)",
                self.root
            ),
            None => format!(
                "history {:?}: version {version} comes first, not version 0",
                self.root
            ),
        }))
    }

    /// Refuses a checkout of another history.
    fn owns(&self, checkout: &Checkout<M>) -> Result<(), Error> {
        if checkout.history == self.id {
            return Ok(());
        }
        Err(Error::OtherHistory {
            checkout: format!("{:?} in {}", checkout.history.root, checkout.history.table),
            history: format!("{:?} in {}", self.root, self.table),
        })
    }

    /// The newest version number, without reading any state.
    ///
    /// # Errors
    /// [`Error::Db`]; [`Error::BadRow`] when the root has no version.
    pub async fn version(&self, client: &impl GenericClient) -> Result<i64, Error> {
        let sql = format!("SELECT max(version) FROM {} WHERE root = $1", self.table);
        let row = client.query_one(&sql, &[self.root()?]).await?;
        row.try_get::<_, Option<i64>>(0)?
            .ok_or_else(|| Error::BadRow(format!("history {:?} has no version", self.root)))
    }

    /// Every version number with its message, oldest first.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn versions(&self, client: &impl GenericClient) -> Result<Vec<(i64, String)>, Error> {
        let sql = format!(
            "SELECT version, message FROM {} WHERE root = $1 ORDER BY version",
            self.table
        );
        let rows = client.query(&sql, &[self.root()?]).await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }

    /// Brings `checkout` to the head by applying the diffs committed after its version;
    /// returns how many. On error `checkout` may stand at any version between (its
    /// `version` says which; its state always matches it).
    ///
    /// # Errors
    /// [`Error::OtherHistory`] for a checkout of another history; [`Error::VersionGone`]
    /// when this history does not hold the checkout's version as the checkout has it (its
    /// commit rolled back, the history was removed, or a replica that has not caught up
    /// with it); [`Error::Db`]; a diff that does not read back or apply ([`Error::Json`],
    /// [`Error::Replay`]); a gap in the stored versions ([`Error::BadRow`]).
    pub async fn pull(
        &self,
        client: &impl GenericClient,
        checkout: &mut Checkout<M>,
    ) -> Result<usize, Error> {
        self.owns(checkout)?;
        let sql = format!(
            "SELECT version, diff::text, chain, {} FROM {} WHERE root = $1 AND version >= $2
             ORDER BY version",
            sound(),
            self.table
        );
        // Row by row as they arrive, as `replay` reads them.
        let params: [&(dyn ToSql + Sync); 2] = [self.root()?, &checkout.version];
        let rows = client.query_raw(&sql, params).await?;
        pin_mut!(rows);
        // The checkout's own version first, as the checkout has it.
        let held = match rows.try_next().await? {
            Some(row) => {
                row.try_get::<_, i64>(0)? == checkout.version
                    && row.try_get::<_, String>(2)? == checkout.digest
            }
            None => false,
        };
        if !held {
            return Err(Error::VersionGone {
                version: checkout.version,
                history: format!("{:?} in {}", self.root, self.table),
            });
        }
        let mut pulled = 0;
        while let Some(row) = rows.try_next().await? {
            let version: i64 = row.try_get(0)?;
            self.in_sequence(version, Some(checkout.version))?;
            self.check_sound(&row, 3, version)?;
            let what = || format!("history {:?} version {version}", self.root);
            // A version's diff is read only after its predecessor's row, which the
            // checkout holds (`VersionGone` above), so a diff read is never NULL.
            let diff: Option<String> = row.try_get(1)?;
            let diff: Diff<M> = read_json(diff.as_deref().unwrap_or("null"), what)?;
            // Read before the state moves: the checkout's version, digest and state move
            // together or not at all (a NULL digest left a checkout at the new version
            // with the old digest: an outside tester).
            let digest: String = row.try_get(2)?;
            apply_stored(&mut checkout.state, &diff, what)?;
            checkout.version = version;
            checkout.digest = digest;
            pulled += 1;
        }
        Ok(pulled)
    }

    /// Commits `next` as the version after `base`: the diff from `base.state` is inserted
    /// as version `base.version + 1`, which succeeds only if nobody committed after `base`.
    ///
    /// `base` comes from this history, which made it (a [`Checkout`] cannot be made or
    /// edited otherwise): the commit trusts its state rather than replay the history to
    /// compare, and refuses a checkout of another history ([`Error::OtherHistory`]).
    ///
    /// # Errors
    /// [`CommitError::Unchanged`] when `next` is `base.state` under diff (nothing is
    /// written); [`CommitError::Stale`] when someone did; [`CommitError::NoSuchVersion`]
    /// when `base` is not a version of this root; [`CommitError::Other`] for the rest (a
    /// state JSON cannot hold, such as a NaN float, is [`Error::NotJson`]). Nothing is
    /// written on an error the server returned; a lost connection ([`Error::Db`] after the
    /// statement was sent), like a dropped future, leaves it unknown whether the version
    /// was written: retry with [`PgHistory::commit_merging`] (it finds the change already
    /// there and returns the head, [`CommitError::Unchanged`] aside) rather than with the
    /// same base (which is then `Stale` against its own commit).
    ///
    /// A commit made in a transaction the caller keeps open holds its new version's row,
    /// and every other writer of the root waits on it until that transaction ends (with no
    /// timeout of its own: set `idle_in_transaction_session_timeout` or a
    /// `statement_timeout` where a writer may stall). A future dropped mid-call does not
    /// stop its statement: later calls on the same client queue behind it. The `jsonb`
    /// limits are PostgreSQL's (a string of at most 256 MiB), refused by the server as
    /// [`Error::Db`], nothing written.
    ///
    /// In `READ COMMITTED` (the default) a lost race is `Stale` and the caller's
    /// transaction goes on. In a `REPEATABLE READ` or `SERIALIZABLE` transaction whose
    /// snapshot predates the other commit, PostgreSQL refuses the insert with a
    /// serialization failure instead (SQLSTATE 40001, as [`CommitError::Other`]): that
    /// transaction is aborted, and is retried whole, as any serialization failure is. A
    /// base committed after such a snapshot was taken is not seen: `NoSuchVersion`.
    pub async fn commit(
        &self,
        client: &impl GenericClient,
        base: &Checkout<M>,
        next: &M,
        message: &str,
    ) -> Result<Checkout<M>, CommitError> {
        self.owns(base)?;
        let diff = base.state.diff(next).map_err(Error::Model)?;
        if diff.is_empty() {
            return Err(CommitError::Unchanged);
        }
        let mut state = base.state.clone();
        state.apply(&diff).map_err(Error::Model)?;
        let what = format!(
            "history {:?}: the diff after version {}",
            self.root, base.version
        );
        check_text(message, || format!("{what}: its message"))?;
        let (value, back) = to_json(&diff, &what)?;
        let reads_back = |back: &Diff<M>| -> Result<bool, Error> {
            let mut replayed = base.state.clone();
            Ok(replayed.apply(back).is_ok() && replayed.diff(&state)?.is_empty())
        };
        if !reads_back(&back)? {
            return Err(Error::NotJson { what, reason: NAN }.into());
        }
        let stored = read_as_stored(client, &value, back, &what).await?;
        if !reads_back(&stored)? {
            return Err(Error::NotJson {
                what,
                reason: NUMBER,
            }
            .into());
        }
        // `ON CONFLICT DO NOTHING` rather than a unique violation: a violation would abort
        // a transaction the caller holds, and the head could not be read to say `Stale`.
        // Only after the base's row as the checkout has it, chain and all (not another
        // row of that version, committed after the checkout's commit rolled back), and
        // with that row and version 0 locked against a delete until this transaction ends:
        // a history removed meanwhile would leave the new version without its
        // predecessors. (`remove` deletes version 0 first, so it waits for the commits
        // under way, and a commit after it finds no version 0 to build on.) Version 0 is
        // locked first (rows are locked in the order `OF` names them): a commit that
        // locked its base first could wait on version 0 while `remove`, holding it, waits
        // on that base, a deadlock. Only while no version follows the base: a version
        // removed by hand after it is a gap, not a place to write (the versions after it
        // would then read as edited).
        let sql = format!(
            "INSERT INTO {t} (root, version, message, diff, chain)
             SELECT $1, $2::bigint + 1, $3, $4, {chain}
               FROM {t} AS b JOIN {t} AS z ON z.root = b.root AND z.version = 0
              WHERE b.root = $1 AND b.version = $2::bigint AND b.chain = $5
                AND NOT EXISTS (SELECT 1 FROM {t} WHERE root = $1 AND version > $2::bigint)
                FOR KEY SHARE OF z, b
             ON CONFLICT (root, version) DO NOTHING
             RETURNING chain",
            t = self.table,
            chain = chain_of("b.chain || $4::jsonb::text")
        );
        let params: [&(dyn ToSql + Sync); 5] = [
            self.root()?,
            &base.version,
            &message,
            &Json(&*value),
            &base.digest,
        ];
        if let Some(row) = client.query_opt(&sql, &params).await? {
            return Ok(Checkout {
                version: base.version + 1,
                state,
                history: Arc::clone(&self.id),
                digest: row.try_get(0)?,
            });
        }
        // Stale if the base is still there as it was, and the head past it.
        let sql = format!(
            "SELECT chain = $3, (SELECT max(version) FROM {t} WHERE root = $1)
             FROM {t} WHERE root = $1 AND version = $2",
            t = self.table
        );
        let found = client
            .query_opt(&sql, &[self.root()?, &base.version, &base.digest])
            .await?;
        match found {
            Some(row) if row.try_get::<_, bool>(0)? => {
                let head: Option<i64> = row.try_get(1)?;
                match head {
                    Some(head) if head > base.version => Err(CommitError::Stale {
                        base: base.version,
                        head,
                    }),
                    _ => Err(CommitError::NoSuchVersion(base.version)),
                }
            }
            _ => Err(CommitError::NoSuchVersion(base.version)),
        }
    }

    /// Commits `ours` (edited from `base`), and while the commit is stale pulls the newer
    /// versions, merges three-way (base, ours, theirs: conflicts keep ours and are
    /// returned) and commits the merge against the new head, at most `attempts` times (at
    /// least once: `attempts = 0` was `Contended` without trying).
    /// When there is nothing to commit (ours, or the merge, holds nothing new), nothing is
    /// written and the checkout returned is the head.
    ///
    /// # Errors
    /// [`CommitError::Contended`] after `attempts` stale refusals; any other error of
    /// [`PgHistory::commit`] or [`PgHistory::pull`] at once.
    pub async fn commit_merging(
        &self,
        client: &impl GenericClient,
        mut base: Checkout<M>,
        mut ours: M,
        message: &str,
        options: &MergeOptions,
        attempts: usize,
    ) -> Result<Committed<M>, CommitError>
    where
        M: MergeModel,
    {
        let mut conflicts = Vec::new();
        // At least once: `attempts` bounds the retries of a stale commit.
        for stale in 0..attempts.max(1) {
            match self.commit(client, &base, &ours, message).await {
                Ok(checkout) => {
                    return Ok(Committed {
                        checkout,
                        conflicts,
                        stale,
                    });
                }
                // Ours holds nothing the base does not (an edit another commit made too):
                // nothing to write, and the result is the head.
                Err(CommitError::Unchanged) => {
                    // A history removed meanwhile has no version at all (`BadRow`).
                    let head = match self.version(client).await {
                        Err(Error::BadRow(_)) => None,
                        head => Some(head?),
                    };
                    if head.is_none_or(|head| head < base.version) {
                        return Err(CommitError::NoSuchVersion(base.version));
                    }
                    pull_or_gone(self.pull(client, &mut base).await)?;
                    return Ok(Committed {
                        checkout: base,
                        conflicts,
                        stale,
                    });
                }
                Err(CommitError::Stale { .. }) => {
                    let mut theirs = base.clone();
                    pull_or_gone(self.pull(client, &mut theirs).await)?;
                    let merged = merge(&base.state, &ours, &theirs.state, options)
                        .map_err(|error| CommitError::Other(Error::Model(error)))?;
                    conflicts.extend(merged.conflicts);
                    ours = merged.value;
                    base = theirs;
                }
                Err(other) => return Err(other),
            }
        }
        Err(CommitError::Contended(attempts.max(1)))
    }
}

/// A pull within [`PgHistory::commit_merging`]: a version gone (the history removed
/// meanwhile) is the commit's `NoSuchVersion`, on every path of the loop.
fn pull_or_gone(pulled: Result<usize, Error>) -> Result<usize, CommitError> {
    pulled.map_err(|error| match error {
        Error::VersionGone { version, .. } => CommitError::NoSuchVersion(version),
        error => error.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::{holds_exponent, negative_zero_at};

    #[test]
    fn a_negative_zero_is_found_only_as_a_number() {
        assert_eq!(negative_zero_at(r#"{"x":-0.0}"#), Some(5));
        assert_eq!(negative_zero_at("[1,-0]"), Some(3));
        assert_eq!(negative_zero_at("[-0e5]"), Some(1));
        assert_eq!(negative_zero_at("[-0.5,-10,-0.001,0.0,-1e-7]"), None);
        assert_eq!(negative_zero_at(r#"{"-0.0":"-0","a\"-0":1}"#), None);
    }

    #[test]
    fn an_exponent_is_found_only_in_a_number() {
        assert!(holds_exponent("[1e16]"));
        assert!(holds_exponent(r#"{"a":"x","b":2.5E-3}"#));
        assert!(!holds_exponent(r#"{"1e5":"2e5","t":true,"f":false}"#));
        assert!(!holds_exponent(r#"["a\"1e5"]"#));
    }
}
