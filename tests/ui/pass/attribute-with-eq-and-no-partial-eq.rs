//! An attribute whose type has no `PartialEq` compiles when `eq` compares it, and records
//! of changes compare with that `eq` too. A `Diff` is `PartialEq` only when the model is
//! (it may hold models).

use statesync::DiffModel;

/// A compiled pattern: clonable and printable, not comparable.
#[derive(Clone, Debug)]
pub struct Pattern(String);

fn same_pattern(a: &Pattern, b: &Pattern) -> bool {
    a.0 == b.0
}

#[derive(DiffModel, Clone, Debug)]
pub struct Rule {
    #[statesync(id)]
    pub name: String,
    #[statesync(eq = same_pattern)]
    pub pattern: Pattern,
    pub weight: u32,
}

/// `eq` may name a function of the model through `Self`, on a generic model too (the
/// record of changes compares with it, where `Self` is not the model).
#[derive(DiffModel, Clone, Debug)]
pub struct Gauge<T: Clone + std::fmt::Debug + PartialEq> {
    #[statesync(id)]
    pub name: String,
    #[statesync(eq = Self::same_length)]
    pub reading: Pattern,
    #[statesync(eq = "Self::same_unit")]
    pub unit: T,
}

impl<T: Clone + std::fmt::Debug + PartialEq> Gauge<T> {
    fn same_length(a: &Pattern, b: &Pattern) -> bool {
        a.0.len() == b.0.len()
    }

    fn same_unit(a: &T, b: &T) -> bool {
        a == b
    }
}

fn main() {
    let gauge = Gauge { name: "g".into(), reading: Pattern("ab".into()), unit: 1_u8 };
    let longer = Gauge { reading: Pattern("abc".into()), ..gauge.clone() };
    let diff = gauge.diff(&longer).unwrap();
    let statesync::Action::Update(update) = &diff.elements()[0].action else {
        panic!("an update");
    };
    assert!(update.fields == update.fields.clone());
    assert!(gauge.diff(&Gauge { reading: Pattern("xy".into()), ..gauge.clone() }).unwrap().is_empty());

    let old = Rule { name: "r".into(), pattern: Pattern("a*".into()), weight: 1 };
    let new = Rule { pattern: Pattern("b*".into()), weight: 2, ..old.clone() };
    let diff = old.diff(&new).unwrap();
    assert_eq!(diff.summary().update, 1);
    let statesync::Action::Update(update) = &diff.elements()[0].action else {
        panic!("an update");
    };
    assert!(update.fields == update.fields.clone());
    assert!(update.fields != RuleChanges::default());
    let mut applied = old.clone();
    applied.apply(&diff).unwrap();
    assert!(same_pattern(&applied.pattern, &new.pattern));
    assert!(old.diff(&Rule { pattern: Pattern("a*".into()), ..old.clone() }).unwrap().is_empty());
}
