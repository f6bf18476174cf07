//! Diff benchmarks: single models, and 100k-interface hierarchies against the hand-written
//! hash-join baseline, side by side in one run.
//!
//! `cargo bench --bench diff`

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use statesync::DiffModel;
use statesync_suite::baseline;
use statesync_suite::dataset::{generate, mutate};
use statesync_suite::inventory::Interface;

/// Counts allocations, to show that diffing equal models allocates nothing.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn interface() -> Interface {
    Interface {
        device: "site-0001-dev-001".into(),
        name: "et-0/0/1".into(),
        description: "uplink".into(),
        enabled: true,
        mtu: 9216,
        mode: "trunk".into(),
        vlans: vec![10, 20, 30],
    }
}

fn single(c: &mut Criterion) {
    let a = interface();
    let b = interface();
    let mut changed = interface();
    changed.mtu = 1500;

    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let diff = a.diff(&b);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    drop(black_box(diff));
    println!("allocations for one diff of two equal interfaces: {allocations}");

    let mut group = c.benchmark_group("interface");
    group.bench_function("equal", |bench| {
        bench.iter(|| black_box(&a).diff(black_box(&b)))
    });
    // The same diff, asked only whether anything changed: the 80-byte `Result` is read
    // where it is returned rather than copied whole into `black_box`.
    group.bench_function("equal/is_empty", |bench| {
        bench.iter(|| {
            black_box(&a)
                .diff(black_box(&b))
                .is_ok_and(|diff| diff.is_empty())
        })
    });
    group.bench_function("one_field", |bench| {
        bench.iter(|| black_box(&a).diff(black_box(&changed)))
    });
    group.bench_function("equal/hand_written", |bench| {
        bench.iter(|| {
            let (a, b) = (black_box(&a), black_box(&b));
            a.device == b.device
                && a.name == b.name
                && a.description == b.description
                && a.enabled == b.enabled
                && a.mtu == b.mtu
                && a.mode == b.mode
                && a.vlans == b.vlans
        })
    });
    group.finish();
}

fn hierarchy(c: &mut Criterion) {
    let old = generate(100_000, 1);
    let new = mutate(&old, 2);
    let summary = old.diff(&new).map(|d| d.summary());
    println!("100k hierarchy: {summary:?}");

    let mut group = c.benchmark_group("hierarchy_100k");
    group.sample_size(20);
    group.bench_function("diff/statesync", |bench| {
        bench.iter(|| black_box(&old).diff(black_box(&new)))
    });
    group.bench_function("diff/hand_written", |bench| {
        bench.iter(|| baseline::diff(black_box(&old), black_box(&new)))
    });
    let diff = old.diff(&new);
    group.bench_function("render/statesync", |bench| {
        bench.iter(|| black_box(&diff).as_ref().map(ToString::to_string))
    });
    group.bench_function("diff_apply/statesync", |bench| {
        bench.iter_batched(
            || old.clone(),
            |mut target| {
                if let Ok(diff) = target.diff(&new) {
                    let _ = target.apply(&diff);
                }
                target
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// 100 interfaces changed through a tracking store in a 1,000,000-interface inventory: the
/// diff of the touched sites against the full diff of the same states.
fn incremental(c: &mut Criterion) {
    let target = generate(1_000_000, 1);
    let mut source = target.clone();
    source.sites.track_changes();
    let sites: Vec<_> = source.sites.keys().collect();
    for (at, key) in sites.iter().cycle().step_by(7).take(100).enumerate() {
        let Some(mut site) = source.sites.get_mut(key) else {
            continue;
        };
        let Some(device) = site.devices.keys().nth(at % 10) else {
            continue;
        };
        let Some(mut device) = site.devices.get_mut(&device) else {
            continue;
        };
        let port = device.interfaces.keys().nth(at % 48);
        if let Some(port) = port {
            device.interfaces.modify(&port, |port| port.mtu += 1);
        }
    }
    let changes = target
        .sites
        .diff_touched(&source.sites)
        .map(|d| d.summary().changes());
    println!("incremental: {changes:?} changes");

    let mut group = c.benchmark_group("incremental_1m");
    group.sample_size(10);
    group.bench_function("diff_touched", |bench| {
        bench.iter(|| black_box(&target.sites).diff_touched(black_box(&source.sites)))
    });
    group.bench_function("full_diff", |bench| {
        bench.iter(|| black_box(&target).diff(black_box(&source)))
    });
    group.finish();
}

/// A part of a document whose parts are a `Vec` (looked up by key in a linear scan).
#[derive(statesync::DiffModel, Clone, Debug, PartialEq)]
struct Part {
    #[statesync(id)]
    id: u32,
    text: String,
}

/// A document whose parts are a `Vec`.
#[derive(statesync::DiffModel, Clone, Debug, PartialEq)]
struct VecDocument {
    #[statesync(children)]
    parts: Vec<Part>,
}

/// The same document with its parts in a `Store` (looked up through its index).
#[derive(statesync::DiffModel, Clone, Debug, PartialEq)]
struct StoreDocument {
    #[statesync(children)]
    parts: statesync::Store<Part>,
}

/// Three-way merges of a document of 20,000 parts, in a `Vec` and in a `Store`, each side
/// editing its own 1%.
fn merge_documents(c: &mut Criterion) {
    let parts = |edited: u32, text: &str| -> Vec<Part> {
        (0..20_000)
            .map(|id| Part {
                id,
                text: if id % 100 == edited { text } else { "base" }.into(),
            })
            .collect()
    };
    let sides = [parts(100, ""), parts(1, "ours"), parts(2, "theirs")];
    let [base, ours, theirs] = sides.clone().map(|parts| VecDocument { parts });
    let options = statesync::merge::MergeOptions::default();
    let mut group = c.benchmark_group("merge");
    group.sample_size(10);
    group.bench_function("vec_20k", |bench| {
        bench.iter(|| statesync::merge::merge(black_box(&base), &ours, &theirs, &options))
    });
    let [base, ours, theirs] = sides.map(|parts| StoreDocument {
        parts: statesync::Store::try_from_iter(parts).unwrap_or_default(),
    });
    group.bench_function("store_20k", |bench| {
        bench.iter(|| statesync::merge::merge(black_box(&base), &ours, &theirs, &options))
    });
    group.finish();
}

/// A sync into memory of a document of 20,000 parts, in a `Vec` and in a `Store`, where a
/// quarter of the parts are deleted, a quarter updated and as many created.
fn sync_documents(c: &mut Criterion) {
    use statesync::sync::{InMemory, SyncModel, SyncOptions};
    let parts = |ids: std::ops::Range<u32>, text: &str| -> Vec<Part> {
        ids.map(|id| Part {
            id,
            text: if id % 2 == 0 { text } else { "kept" }.into(),
        })
        .collect()
    };
    let (old, new) = (parts(0..20_000, "old"), parts(5_000..25_000, "new"));
    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    let (target, source) = (
        VecDocument { parts: old.clone() },
        VecDocument { parts: new.clone() },
    );
    group.bench_function("vec_20k", |bench| {
        bench.iter_batched(
            || target.clone(),
            |mut target| target.sync_from(&source, &mut InMemory, SyncOptions::default()),
            BatchSize::LargeInput,
        )
    });
    let store = |parts: Vec<Part>| StoreDocument {
        parts: statesync::Store::try_from_iter(parts).unwrap_or_default(),
    };
    let (target, source) = (store(old), store(new));
    group.bench_function("store_20k", |bench| {
        bench.iter_batched(
            || target.clone(),
            |mut target| target.sync_from(&source, &mut InMemory, SyncOptions::default()),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// A model with children fields of each kind, all left empty (as many are).
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Holder {
    #[statesync(id)]
    id: u32,
    value: u32,
    #[statesync(children)]
    in_vec: Vec<Interface>,
    #[statesync(children)]
    in_store: statesync::Store<Interface>,
    #[statesync(children)]
    in_btree: std::collections::BTreeMap<statesync_suite::inventory::InterfaceKey, Interface>,
    #[statesync(children)]
    in_hash: std::collections::HashMap<statesync_suite::inventory::InterfaceKey, Interface>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Holders {
    #[statesync(children)]
    holders: statesync::Store<Holder>,
}

/// Two equal stores of 10,000 models with four empty children fields each: the diff
/// against the derived `==`.
fn empty_children(c: &mut Criterion) {
    let holder = |id| Holder {
        id,
        value: id,
        in_vec: Vec::new(),
        in_store: statesync::Store::new(),
        in_btree: std::collections::BTreeMap::new(),
        in_hash: std::collections::HashMap::new(),
    };
    let old = Holders {
        holders: statesync::Store::try_from_iter((0..10_000).map(holder)).unwrap_or_default(),
    };
    let new = old.clone();
    let mut group = c.benchmark_group("empty_children_10k");
    group.bench_function("equal/statesync", |bench| {
        bench.iter(|| black_box(&old).diff(black_box(&new)))
    });
    group.bench_function("equal/derived_eq", |bench| {
        bench.iter(|| black_box(&old) == black_box(&new))
    });
    group.finish();
}

criterion_group!(
    benches,
    single,
    hierarchy,
    empty_children,
    incremental,
    merge_documents,
    sync_documents
);
criterion_main!(benches);
