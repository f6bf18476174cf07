//! The inventory's tables, and each model as a row of COPY's text format.

use std::fmt::Write as _;

use statesync::{Change, DiffModel};
use statesync_suite::inventory::{
    Device, DeviceChanges, Interface, InterfaceChanges, Site, SiteChanges,
};

use super::changes::{Changes, Table};

/// The tables, in creation order (parents first). Device names are unique across sites
/// (the dataset embeds the site in them), which lets an interface name its device alone.
pub(crate) fn schema_sql(site: &str, device: &str, interface: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {site} (
            name   text PRIMARY KEY,
            region text NOT NULL
        );
        CREATE TABLE IF NOT EXISTS {device} (
            site   text NOT NULL CONSTRAINT device_site_fk REFERENCES {site} (name),
            name   text NOT NULL UNIQUE,
            role   text NOT NULL,
            model  text NOT NULL,
            serial text NOT NULL,
            PRIMARY KEY (site, name)
        );
        CREATE TABLE IF NOT EXISTS {interface} (
            device      text    NOT NULL CONSTRAINT interface_device_fk REFERENCES {device} (name),
            name        text    NOT NULL,
            description text    NOT NULL,
            enabled     boolean NOT NULL,
            mtu         bigint  NOT NULL CHECK (mtu BETWEEN 0 AND 4294967295),
            mode        text    NOT NULL,
            vlans       integer[] NOT NULL,
            PRIMARY KEY (device, name)
        );"
    )
}

/// A model that is one row of one table.
pub(crate) trait Row: DiffModel {
    /// The table's name in its schema.
    const TABLE: &'static str;
    /// Every column, in COPY order; the key's columns first.
    const COLUMNS: &'static [&'static str];
    /// The columns of an array type (compared by their elements alone: see `same_row`).
    const ARRAYS: &'static [&'static str] = &[];
    /// How many of the first columns are the key (1 or 2).
    const KEY: usize;
    /// The foreign key to the parent table: constraint name, column, parent table, parent
    /// column (`None` for the top table).
    const PARENT: Option<[&'static str; 4]>;
    /// The recorded changes of this table.
    fn table(changes: &mut Changes) -> &mut Table;
    /// The key's values, in column order (the second is empty for a one-column key).
    fn row_key(&self) -> [&str; 2];
    /// Appends the row in COPY's text format, with its newline.
    fn encode(&self, out: &mut String);
    /// Appends the row as it was before `changes` (each changed column's old value), as
    /// [`Row::encode`] does: what an update expects the table to hold.
    fn encode_before(&self, changes: &Self::Changes, out: &mut String);
}

/// A column's value before a change: the change's old value, or the value unchanged.
fn before<'a, T>(value: &'a T, change: &'a Option<Change<T>>) -> &'a T {
    change.as_ref().map_or(value, |change| &change.old)
}

/// Appends `value` escaped for COPY's text format (backslash, tab, newline, carriage
/// return). A NUL byte is passed on: the hooks refuse a row holding one first
/// (`changes::encode_storable`).
pub(crate) fn text(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

fn fields(out: &mut String, values: &[&str]) {
    for (at, value) in values.iter().enumerate() {
        if at > 0 {
            out.push('\t');
        }
        text(out, value);
    }
}

impl Row for Site {
    const TABLE: &'static str = "site";
    const COLUMNS: &'static [&'static str] = &["name", "region"];
    const KEY: usize = 1;
    const PARENT: Option<[&'static str; 4]> = None;
    fn table(changes: &mut Changes) -> &mut Table {
        &mut changes.sites
    }
    fn row_key(&self) -> [&str; 2] {
        [&self.name, ""]
    }
    fn encode(&self, out: &mut String) {
        fields(out, &[&self.name, &self.region]);
        out.push('\n');
    }
    fn encode_before(&self, changes: &SiteChanges, out: &mut String) {
        fields(
            out,
            &[&self.name, before(&self.region, &changes.region).as_str()],
        );
        out.push('\n');
    }
}

impl Row for Device {
    const TABLE: &'static str = "device";
    const COLUMNS: &'static [&'static str] = &["site", "name", "role", "model", "serial"];
    const KEY: usize = 2;
    const PARENT: Option<[&'static str; 4]> = Some(["device_site_fk", "site", "site", "name"]);
    fn table(changes: &mut Changes) -> &mut Table {
        &mut changes.devices
    }
    fn row_key(&self) -> [&str; 2] {
        [&self.site, &self.name]
    }
    fn encode(&self, out: &mut String) {
        fields(
            out,
            &[
                &self.site,
                &self.name,
                &self.role,
                &self.model,
                &self.serial,
            ],
        );
        out.push('\n');
    }
    fn encode_before(&self, changes: &DeviceChanges, out: &mut String) {
        fields(
            out,
            &[
                &self.site,
                &self.name,
                before(&self.role, &changes.role).as_str(),
                before(&self.model, &changes.model).as_str(),
                before(&self.serial, &changes.serial).as_str(),
            ],
        );
        out.push('\n');
    }
}

impl Row for Interface {
    const TABLE: &'static str = "interface";
    const COLUMNS: &'static [&'static str] = &[
        "device",
        "name",
        "description",
        "enabled",
        "mtu",
        "mode",
        "vlans",
    ];
    const ARRAYS: &'static [&'static str] = &["vlans"];
    const KEY: usize = 2;
    const PARENT: Option<[&'static str; 4]> =
        Some(["interface_device_fk", "device", "device", "name"]);
    fn table(changes: &mut Changes) -> &mut Table {
        &mut changes.interfaces
    }
    fn row_key(&self) -> [&str; 2] {
        [&self.device, &self.name]
    }
    fn encode(&self, out: &mut String) {
        fields(out, &[&self.device, &self.name, &self.description]);
        out.push_str(if self.enabled { "\tt\t" } else { "\tf\t" });
        // Writing to a String cannot fail.
        let _ = write!(out, "{}\t", self.mtu);
        text(out, &self.mode);
        out.push_str("\t{");
        for (at, vlan) in self.vlans.iter().enumerate() {
            if at > 0 {
                out.push(',');
            }
            let _ = write!(out, "{vlan}");
        }
        out.push_str("}\n");
    }
    fn encode_before(&self, changes: &InterfaceChanges, out: &mut String) {
        let old = Interface {
            device: self.device.clone(),
            name: self.name.clone(),
            description: before(&self.description, &changes.description).clone(),
            enabled: *before(&self.enabled, &changes.enabled),
            mtu: *before(&self.mtu, &changes.mtu),
            mode: before(&self.mode, &changes.mode).clone(),
            vlans: before(&self.vlans, &changes.vlans).clone(),
        };
        old.encode(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_what_copy_reads_as_syntax() {
        let mut out = String::new();
        text(&mut out, "a\tb\nc\\d\re");
        assert_eq!(out, "a\\tb\\nc\\\\d\\re");
    }

    #[test]
    fn an_interface_is_one_line_of_seven_fields() {
        let interface = Interface {
            device: "d1".into(),
            name: "et-0/0/1".into(),
            description: "to\tcore".into(),
            enabled: false,
            mtu: 9216,
            mode: "trunk".into(),
            vlans: vec![10, 20],
        };
        let mut out = String::new();
        interface.encode(&mut out);
        assert_eq!(out, "d1\tet-0/0/1\tto\\tcore\tf\t9216\ttrunk\t{10,20}\n");
    }
}
