//! Float attributes and `NaN`: a clone diffs empty, and a diff applies to the state it was
//! made from, whatever the attribute holds.

use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Gauge {
    #[statesync(id)]
    name: String,
    ratio: f64,
    samples: Vec<f32>,
    limit: Option<f64>,
    #[statesync(children)]
    probes: Store<Probe>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Probe {
    #[statesync(id)]
    id: u8,
    reading: f64,
}

fn gauge(ratio: f64) -> Gauge {
    Gauge {
        name: "g".into(),
        ratio,
        samples: vec![1.0, f32::NAN],
        limit: Some(f64::NAN),
        probes: Store::try_from_iter([Probe {
            id: 1,
            reading: f64::NAN,
        }])
        .unwrap(),
    }
}

#[test]
fn a_model_holding_nan_diffs_empty_against_its_clone() {
    let g = gauge(f64::NAN);
    let d = g.diff(&g.clone()).unwrap();
    assert!(d.is_empty(), "{d}");
    assert_eq!(d.summary().unchanged, 2);
}

#[test]
fn a_diff_from_nan_applies_to_the_state_it_was_made_from() {
    let old = gauge(f64::NAN);
    let new = gauge(0.5);
    let d = old.diff(&new).unwrap();
    assert_eq!(d.to_string(), "~ gauge[name=g] ratio: NaN -> 0.5\n");
    let mut state = old.clone();
    state.apply(&d).unwrap();
    assert_eq!(state.ratio, 0.5);
    state.apply(&d.invert()).unwrap();
    assert!(state.ratio.is_nan());
    assert!(state.diff(&old).unwrap().is_empty());
}

#[test]
fn a_delete_of_an_element_holding_nan_applies() {
    let mut old = gauge(1.0);
    let mut new = old.clone();
    new.probes.remove(&ProbeKey { id: 1 });
    let d = old.diff(&new).unwrap();
    old.apply(&d).unwrap();
    assert!(old.probes.is_empty());
}

#[test]
fn nan_inside_a_container_does_not_hide_other_changes() {
    let old = gauge(1.0);
    let mut new = old.clone();
    new.samples[0] = 2.0;
    let d = old.diff(&new).unwrap();
    assert_eq!(
        d.to_string(),
        "~ gauge[name=g] samples: [1.0, NaN] -> [2.0, NaN]\n"
    );
    let mut state = old.clone();
    state.apply(&d).unwrap();
    assert_eq!(state.samples[0], 2.0);
}

#[test]
fn every_nan_is_the_same_and_zero_equals_minus_zero() {
    let a = gauge(f64::NAN);
    let b = gauge(-f64::NAN);
    assert!(a.diff(&b).unwrap().is_empty());
    assert!(gauge(0.0).diff(&gauge(-0.0)).unwrap().is_empty());
    // Also beside a NaN in one container, where the values are compared by rendering.
    let mut zero = gauge(f64::NAN);
    zero.samples = vec![0.0, f32::NAN, 2.5];
    let mut minus_zero = zero.clone();
    minus_zero.samples = vec![-0.0, f32::NAN, 2.5];
    assert!(zero.diff(&minus_zero).unwrap().is_empty());
    minus_zero.samples = vec![-0.5, f32::NAN, 2.5];
    assert!(!zero.diff(&minus_zero).unwrap().is_empty());
    assert!(
        !gauge(f64::NAN)
            .diff(&gauge(f64::INFINITY))
            .unwrap()
            .is_empty()
    );
}
