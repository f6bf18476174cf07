//! [`Changes`]: the typed hooks of the inventory adapter. They write nothing: each records
//! its element (a row in COPY's text format, or a key to delete), and [`super::write`]
//! carries the whole record into PostgreSQL in one transaction, in bulk.

use statesync::sync::{Adapter, HookError, Hooks, Parents};
use statesync_suite::inventory::{Inventory, ParentField};

use super::rows::Row;

/// What a sync does to one table.
#[derive(Debug, Default)]
pub struct Table {
    /// Keys to delete, one vector per key column.
    pub(crate) delete_keys: [Vec<String>; 2],
    /// The rows to delete as they were loaded, in COPY text: a row that changed since is
    /// not deleted, and the write fails.
    pub(crate) deletes: String,
    /// Rows after their update, in COPY text.
    pub(crate) updates: String,
    /// The same rows before their update, in the same order: a row that no longer holds
    /// them is not updated, and the write fails.
    pub(crate) updates_before: String,
    /// How many rows `updates` holds.
    pub(crate) updated: usize,
    /// Rows to create, in COPY text.
    pub(crate) creates: String,
    /// How many rows `creates` holds.
    pub(crate) created: usize,
}

impl Table {
    /// How many rows this sync deletes.
    pub fn deleted(&self) -> usize {
        self.delete_keys[0].len()
    }
}

/// The changes a sync makes, recorded by the typed hooks (`Hooks<Site>`,
/// `Hooks<Device>`, `Hooks<Interface>`), table by table.
#[derive(Debug, Default)]
pub struct Changes {
    pub(crate) sites: Table,
    pub(crate) devices: Table,
    pub(crate) interfaces: Table,
}

impl Changes {
    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        [&self.sites, &self.devices, &self.interfaces]
            .iter()
            .all(|t| t.deleted() + t.updated + t.created == 0)
    }

    /// Rows created, updated and deleted over the three tables.
    pub fn counts(&self) -> (usize, usize, usize) {
        [&self.sites, &self.devices, &self.interfaces]
            .iter()
            .fold((0, 0, 0), |(c, u, d), t| {
                (c + t.created, u + t.updated, d + t.deleted())
            })
    }
}

impl Adapter for Changes {}

/// The root is not a row.
impl Hooks<Inventory> for Changes {}

/// Creates and updates are refused for a model under another parent than it names
/// ([`ParentField`]): its row would go under the one it names.
impl<M: Row + ParentField> Hooks<M> for Changes {
    fn create(&mut self, model: &M, parents: &Parents) -> Result<(), HookError> {
        model.check_parent(parents)?;
        let table = M::table(self);
        encode_storable(model, &mut table.creates)?;
        table.created += 1;
        Ok(())
    }

    fn update(
        &mut self,
        model: &M,
        changes: &M::Changes,
        parents: &Parents,
    ) -> Result<(), HookError> {
        model.check_parent(parents)?;
        let table = M::table(self);
        encode_storable(model, &mut table.updates)?;
        model.encode_before(changes, &mut table.updates_before);
        table.updated += 1;
        Ok(())
    }

    fn delete(&mut self, model: &M, _: &Parents) -> Result<(), HookError> {
        let table = M::table(self);
        model.encode(&mut table.deletes);
        let [a, b] = model.row_key();
        let [keys_a, keys_b] = &mut table.delete_keys;
        keys_a.push(a.to_owned());
        if M::KEY == 2 {
            keys_b.push(b.to_owned());
        }
        Ok(())
    }
}

/// Appends the model's row to `out`, unless a column holds a NUL character, which
/// PostgreSQL's `text` cannot store: the hook then fails naming the column, and the row is
/// left out. (Passed on, the NUL failed the whole COPY with PostgreSQL's `invalid byte
/// sequence for encoding "UTF8": 0x00`, naming no element: an outside tester.)
fn encode_storable<M: Row>(model: &M, out: &mut String) -> Result<(), HookError> {
    let start = out.len();
    model.encode(out);
    let row = out.get(start..).unwrap_or_default();
    // Tabs inside values are escaped (`\t`): a raw one separates columns.
    let Some(at) = row.split('\t').position(|value| value.contains('\0')) else {
        return Ok(());
    };
    let column = M::COLUMNS.get(at).copied().unwrap_or("?");
    out.truncate(start);
    Err(format!("`{column}` holds a NUL character, which PostgreSQL's text cannot store").into())
}
