//! The JSON-file side of the inventory example: load a file in the dataset's shape, with
//! errors that name the file, the element and the key; write one back.

use std::path::{Path, PathBuf};

use statesync::DiffModel;

use crate::inventory::Inventory;

/// Why a file could not be loaded. Nothing is written when loading fails.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The JSON is malformed, does not have the dataset's shape, or holds a duplicate key
    /// (the message names the element and key, with line and column).
    #[error("{file}: {source}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// A child's reference to its parent does not match the parent it sits under.
    #[error("{file}: {model}[{key}] sits under {parent} but names {named} as its parent")]
    WrongParent {
        /// The file.
        file: PathBuf,
        /// The child's model name.
        model: &'static str,
        /// The child's key.
        key: String,
        /// The parent it sits under.
        parent: String,
        /// The parent its own field names.
        named: String,
    },
}

/// Loads an inventory from a JSON file and checks every parent reference.
///
/// # Errors
/// [`LoadError`] naming the file and, for bad content, the element and key.
pub fn load(file: &Path) -> Result<Inventory, LoadError> {
    let text = std::fs::read(file).map_err(|source| LoadError::Io {
        file: file.to_owned(),
        source,
    })?;
    let inventory: Inventory =
        serde_json::from_slice(&text).map_err(|source| LoadError::Parse {
            file: file.to_owned(),
            source,
        })?;
    check_parents(&inventory).map_err(|error| error.in_file(file))?;
    Ok(inventory)
}

impl LoadError {
    fn in_file(self, path: &Path) -> Self {
        match self {
            LoadError::WrongParent {
                model,
                key,
                parent,
                named,
                ..
            } => LoadError::WrongParent {
                file: path.to_owned(),
                model,
                key,
                parent,
                named,
            },
            other => other,
        }
    }
}

fn wrong_parent<M: DiffModel>(child: &M, parent: String, named: &str) -> LoadError {
    LoadError::WrongParent {
        file: PathBuf::new(),
        model: M::NAME,
        key: child.key().to_string(),
        parent,
        named: named.to_owned(),
    }
}

/// Every device names its site, every interface its device.
pub fn check_parents(inventory: &Inventory) -> Result<(), LoadError> {
    for site in &inventory.sites {
        for device in &site.devices {
            if device.site != site.name {
                return Err(wrong_parent(
                    device,
                    format!("site[{}]", site.key()),
                    &device.site,
                ));
            }
            for interface in &device.interfaces {
                if interface.device != device.name {
                    return Err(wrong_parent(
                        interface,
                        format!("device[{}]", device.key()),
                        &interface.device,
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Writes an inventory as JSON, atomically (a temporary file renamed into place).
///
/// # Errors
/// The I/O or serialisation error.
pub fn save(inventory: &Inventory, file: &Path) -> std::io::Result<()> {
    let partial = file.with_extension("json.partial");
    let writer = std::io::BufWriter::new(std::fs::File::create(&partial)?);
    serde_json::to_writer(writer, inventory)?;
    std::fs::rename(partial, file)
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
