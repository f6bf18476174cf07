//! The JSON-file side of the inventory example: load a file in the dataset's shape, with
//! errors that name the file, the element and the key; write one back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use statesync::DiffModel;
use statesync::file::ReadError;

use crate::inventory::{Device, Inventory};

/// The largest file [`load`] reads: 1 GiB, about eight million interfaces of the dataset's
/// shape (132 bytes each). [`load_capped`] takes another limit.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// Why a file could not be loaded. Nothing is written when loading fails.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read: an I/O error, not a regular file (a FIFO would block,
    /// a device never end), or larger than the limit; each names the file.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The JSON is malformed, does not have the dataset's shape (a missing or unknown
    /// field), or holds a duplicate key; the message names the place in the document
    /// (`sites[0].devices[2]`) and the line and column.
    #[error("{file}: {}{source}", at(path))]
    Parse {
        /// The file.
        file: PathBuf,
        /// Where in the document, as `sites[0].devices[2].role` (empty when unknown).
        path: String,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// The document parsed but breaks a rule of the inventory (see [`Invariant`]).
    #[error("{file}: {source}")]
    Invalid {
        /// The file.
        file: PathBuf,
        /// The rule it breaks, naming the element.
        source: Invariant,
    },
}

fn at(path: &str) -> String {
    if path.is_empty() || path == "." {
        String::new()
    } else {
        format!("at {path}: ")
    }
}

/// A rule of the inventory that the format alone does not enforce, and that the SQLite
/// schema relies on: checked by [`load`], so a bad file is refused before anything is
/// written rather than failing halfway through a sync.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invariant {
    /// A child's reference to its parent does not match the parent it sits under.
    #[error("{model}[{key}] sits under {parent} but names {named} as its parent")]
    WrongParent {
        /// The child's model name.
        model: &'static str,
        /// The child's key.
        key: String,
        /// The parent it sits under.
        parent: String,
        /// The parent its own field names.
        named: String,
    },
    /// Two devices in different sites share a name (`device.name` is `UNIQUE` in the
    /// database, and interfaces refer to their device by name alone).
    #[error("{second} reuses the name {name} of {first}: device names must be unique across sites")]
    DuplicateDeviceName {
        /// The name.
        name: String,
        /// The first device of that name, as `device[site=.., name=..]`.
        first: String,
        /// The second.
        second: String,
    },
}

/// Loads an inventory from a JSON file of at most [`DEFAULT_MAX_BYTES`] and checks every
/// [`Invariant`].
///
/// # Errors
/// [`LoadError`] naming the file and, for bad content, the element or place.
pub fn load(file: &Path) -> Result<Inventory, LoadError> {
    load_capped(file, DEFAULT_MAX_BYTES)
}

/// [`load`] with a size limit of `max_bytes`.
///
/// # Errors
/// As [`load`].
pub fn load_capped(file: &Path, max_bytes: u64) -> Result<Inventory, LoadError> {
    let text = statesync::file::read_capped(file, max_bytes)?;
    let inventory = parse(&text).map_err(|(path, source)| LoadError::Parse {
        file: file.to_owned(),
        path,
        source,
    })?;
    check(&inventory).map_err(|source| LoadError::Invalid {
        file: file.to_owned(),
        source,
    })?;
    Ok(inventory)
}

/// Parses the document; on error, parses it again tracking the path, so the common case
/// pays nothing for the error's place. A UTF-8 byte-order mark in front (as some Windows
/// tools write one) is passed over, as RFC 8259 lets a parser do: `serde_json` alone
/// refuses it as "expected value at line 1 column 1", which names nothing to fix.
fn parse(text: &[u8]) -> Result<Inventory, (String, serde_json::Error)> {
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    let error = match serde_json::from_slice(text) {
        Ok(inventory) => return Ok(inventory),
        Err(error) => error,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    match serde_path_to_error::deserialize::<_, Inventory>(&mut deserializer) {
        Err(traced) => Err((known_place(&traced.path().to_string()), traced.into_inner())),
        // Only the end of the document (trailing characters) failed.
        Ok(_) => Err((String::new(), error)),
    }
}

/// A place without its last segment when the parser had not read that segment's name
/// yet (`serde_path_to_error` writes it `?`: a document cut short after `sites[0].`): the
/// place up to there, or nothing.
fn known_place(path: &str) -> String {
    let known = match path.strip_suffix(".?") {
        Some(above) => above,
        None if path == "?" => "",
        None => path,
    };
    known.to_owned()
}

/// Every rule of [`Invariant`]: parents named right, device names unique across sites.
///
/// # Errors
/// The first rule broken, naming the element.
pub fn check(inventory: &Inventory) -> Result<(), Invariant> {
    check_parents(inventory)?;
    check_device_names(inventory)
}

fn element<M: DiffModel>(model: &M) -> String {
    format!("{}[{}]", M::NAME, model.key())
}

fn wrong_parent<M: DiffModel>(child: &M, parent: String, named: &str) -> Invariant {
    Invariant::WrongParent {
        model: M::NAME,
        key: child.key().to_string(),
        parent,
        named: named.to_owned(),
    }
}

/// Every device names its site, every interface its device.
///
/// # Errors
/// [`Invariant::WrongParent`] for the first child that names another parent.
pub fn check_parents(inventory: &Inventory) -> Result<(), Invariant> {
    for site in &inventory.sites {
        for device in &site.devices {
            if device.site != site.name {
                return Err(wrong_parent(device, element(site), &device.site));
            }
            for interface in &device.interfaces {
                if interface.device != device.name {
                    return Err(wrong_parent(interface, element(device), &interface.device));
                }
            }
        }
    }
    Ok(())
}

/// No two devices share a name, whatever their sites.
fn check_device_names(inventory: &Inventory) -> Result<(), Invariant> {
    let mut seen: HashMap<&str, &Device> = HashMap::new();
    for device in inventory.sites.iter().flat_map(|site| site.devices.iter()) {
        if let Some(first) = seen.insert(&device.name, device) {
            return Err(Invariant::DuplicateDeviceName {
                name: device.name.clone(),
                first: element(first),
                second: element(device),
            });
        }
    }
    Ok(())
}

/// Writes an inventory as JSON through [`statesync::file::replace`]: the old file stays
/// as it was unless the whole new one was written, flushed and synced.
///
/// # Errors
/// The I/O or serialisation error; the file is then unchanged.
pub fn save(inventory: &Inventory, file: &Path) -> std::io::Result<()> {
    statesync::file::replace(file, |out| {
        serde_json::to_writer(out, inventory).map_err(std::io::Error::from)
    })
}

/// Loads only the named sites from a file: a scoped load that says what it covers, so a
/// sync from it leaves every other site alone.
///
/// # Errors
/// As [`load`].
pub fn load_sites(
    file: &Path,
    names: &[&str],
) -> Result<statesync::scope::Scoped<crate::inventory::Site>, LoadError> {
    let inventory = load(file)?;
    let covers: Vec<crate::inventory::SiteKey> = names
        .iter()
        .map(|name| crate::inventory::SiteKey {
            name: (*name).to_owned(),
        })
        .collect();
    let mut found = statesync::Store::new();
    for site in inventory.sites {
        if names.contains(&site.name.as_str()) {
            found.upsert(site);
        }
    }
    Ok(statesync::scope::Scoped::new(found, covers))
}
