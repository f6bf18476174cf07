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

/// Writes entries back with their titles lowercased, and leaves out entries without an
/// author (the library does not shelve them).
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
            let shelf = ShelfKey {
                label: section.label.clone(),
            };
            library.shelves.modify(&shelf, |shelf| {
                for entry in section.entries.iter().filter(|e| !e.author.is_empty()) {
                    let book = Book {
                        title: entry.title.to_lowercase(),
                        author: entry.author.clone(),
                    };
                    let _ = shelf.books.upsert(book);
                }
            });
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
