//! `carry_back` through a nested view: what an edit creates is told apart by its place,
//! parent included.

use statesync::projection::{Projection, carry_back};
use statesync::{DiffModel, Store};

/// The source: shelves of books.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Library {
    #[statesync(children)]
    shelves: Store<Shelf>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Shelf {
    #[statesync(id)]
    label: String,
    #[statesync(children)]
    books: Store<Book>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Book {
    #[statesync(id)]
    title: String,
    author: String,
}

/// The view: the same tree, as a catalogue that may be edited.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Catalogue {
    #[statesync(children)]
    sections: Store<Section>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Section {
    #[statesync(id)]
    label: String,
    #[statesync(children)]
    entries: Store<Entry>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Entry {
    #[statesync(id)]
    title: String,
    author: String,
}

/// Writes sections back as shelves and entries as books, labels and titles lowercased
/// (a shelf the library lacks is added), and leaves out entries without an author (the
/// library does not shelve them).
struct Cataloguing;

impl Projection<Library> for Cataloguing {
    type View = Catalogue;

    fn project(library: &Library) -> Result<Catalogue, statesync::Error> {
        let sections = library.shelves.iter().map(|shelf| {
            let entries = shelf.books.iter().map(|book| Entry {
                title: book.title.clone(),
                author: book.author.clone(),
            });
            Ok(Section {
                label: shelf.label.clone(),
                entries: Store::try_from_iter(entries)?,
            })
        });
        Ok(Catalogue {
            sections: Store::try_from_iter(
                sections.collect::<Result<Vec<_>, statesync::Error>>()?,
            )?,
        })
    }

    fn write_back(view: &Catalogue, library: &mut Library) {
        for section in &view.sections {
            let label = section.label.to_lowercase();
            let key = ShelfKey {
                label: label.clone(),
            };
            let empty = || Shelf {
                label,
                books: Store::new(),
            };
            let Ok(mut shelf) = library.shelves.get_or_insert_with(key, empty) else {
                continue;
            };
            for entry in section.entries.iter().filter(|e| !e.author.is_empty()) {
                let book = Book {
                    title: entry.title.to_lowercase(),
                    author: entry.author.clone(),
                };
                let _ = shelf.books.upsert(book);
            }
        }
    }
}

fn library() -> Library {
    let shelf = |label: &str| Shelf {
        label: label.into(),
        books: Store::try_from_iter([Book {
            title: "dune".into(),
            author: "herbert".into(),
        }])
        .unwrap(),
    };
    Library {
        shelves: Store::try_from_iter([shelf("a"), shelf("b")]).unwrap(),
    }
}

fn add(view: &mut Catalogue, label: &str, title: &str, author: &str) {
    let section = SectionKey {
        label: label.into(),
    };
    view.sections.modify(&section, |section| {
        let entry = Entry {
            title: title.into(),
            author: author.into(),
        };
        section.entries.insert(entry).unwrap();
    });
}

/// An entry created under shelf `a` that `write_back` leaves out is refused by its own
/// name, though an entry created under shelf `b` was carried under a lowercased title: the
/// book that appeared on `b` stands in for `b`'s create only (it stood in for `a`'s, and the
/// error named `b`'s entry, which had been carried).
#[test]
fn a_dropped_create_is_told_apart_from_a_renamed_one_by_its_parent() {
    let mut source = library();
    let shown = Cataloguing::project(&source).unwrap();
    let mut edited = shown.clone();
    add(&mut edited, "a", "untitled", "");
    add(&mut edited, "b", "Emma", "austen");
    let before = source.clone();
    let error = carry_back::<Cataloguing, _>(&mut source, &shown, &edited).unwrap_err();
    assert!(
        matches!(&error, statesync::Error::NotCarried { model: "entry", key, .. } if key.contains("untitled")),
        "{error}"
    );
    assert_eq!(source, before);

    // Without the dropped entry, the renamed one is carried.
    let mut edited = shown.clone();
    add(&mut edited, "b", "Emma", "austen");
    let carried = carry_back::<Cataloguing, _>(&mut source, &shown, &edited).unwrap();
    assert_eq!(carried.summary().create, 1, "{carried}");
    assert!(carried.to_string().contains("emma"), "{carried}");
}

/// A section created with an entry, both written back under lowercased keys: the entry is
/// looked for under the shelf that stands in for its section (it was looked for under the
/// section's own key, and refused as not carried: a reviewer's case).
#[test]
fn a_create_under_a_created_parent_carried_under_another_key_is_carried() {
    let mut source = library();
    let shown = Cataloguing::project(&source).unwrap();
    let mut edited = shown.clone();
    let section = Section {
        label: "Poetry".into(),
        entries: Store::try_from_iter([Entry {
            title: "Odes".into(),
            author: "keats".into(),
        }])
        .unwrap(),
    };
    edited.sections.insert(section).unwrap();
    let carried = carry_back::<Cataloguing, _>(&mut source, &shown, &edited).unwrap();
    assert_eq!(carried.summary().create, 2, "{carried}");
    let poetry = source.shelves.get(&ShelfKey {
        label: "poetry".into(),
    });
    assert!(
        poetry.is_some_and(|shelf| shelf.books.contains(&BookKey {
            title: "odes".into()
        })),
        "{source:?}"
    );
    // One that stays out under the created section is still refused.
    let mut dropped = shown.clone();
    let section = Section {
        label: "Drafts".into(),
        entries: Store::try_from_iter([Entry {
            title: "untitled".into(),
            author: String::new(),
        }])
        .unwrap(),
    };
    dropped.sections.insert(section).unwrap();
    let error = carry_back::<Cataloguing, _>(&mut source, &shown, &dropped).unwrap_err();
    assert!(
        matches!(&error, statesync::Error::NotCarried { model: "entry", key, .. } if key.contains("untitled")),
        "{error}"
    );
}

/// A section of entries for the view.
fn section(label: &str, titles: &[&str]) -> Section {
    let entries = titles.iter().map(|title| Entry {
        title: (*title).into(),
        author: "anon".into(),
    });
    Section {
        label: label.into(),
        entries: Store::try_from_iter(entries).unwrap(),
    }
}

/// Several created sections, all written back under lowercased labels: each created
/// entry is looked for under the shelf that stands in for its own section, told apart from
/// the other new shelves by what it holds. The first new shelf found was taken, so the
/// entries of `Beta` were looked for under `gamma` (and those of `Poetry` under `ebooks`,
/// which lowercasing sorts first) and refused, though all were carried (a reviewer).
#[test]
fn created_sections_renamed_alike_are_told_apart_by_their_entries() {
    for sections in [
        vec![
            section("Alpha", &["a1"]),
            section("Beta", &["b1", "b2"]),
            section("Gamma", &[]),
        ],
        vec![
            section("Poetry", &["odes", "sonnets"]),
            section("eBooks", &[]),
        ],
    ] {
        let mut source = library();
        let shown = Cataloguing::project(&source).unwrap();
        let mut edited = shown.clone();
        let count = sections.len() + sections.iter().map(|s| s.entries.len()).sum::<usize>();
        for section in sections {
            edited.sections.insert(section).unwrap();
        }
        let carried = carry_back::<Cataloguing, _>(&mut source, &shown, &edited).unwrap();
        assert_eq!(carried.summary().create, count, "{carried}");
    }
}
