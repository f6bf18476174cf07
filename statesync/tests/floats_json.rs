//! Floats survive JSON exactly: the `history` feature turns on serde_json's
//! `float_roundtrip`, without which serde_json reads some finite floats back one bit off
//! (901084.3916015625 among them), so a diff read back from JSON failed to apply as stale,
//! and `History::save` refused an ordinary state as holding a NaN.
#![cfg(all(feature = "derive", feature = "history"))]

use statesync::merge::History;
use statesync::{Diff, DiffModel};

#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Meter {
    #[statesync(id)]
    name: String,
    weight: f64,
}

fn meter(weight: f64) -> Meter {
    Meter {
        name: "m".into(),
        weight,
    }
}

#[test]
fn a_float_diff_read_back_from_json_applies() -> Result<(), Box<dyn std::error::Error>> {
    // Dyadic fractions are exact in binary; serde_json's fast parser missed some of them.
    for k in 0..20_000_u32 {
        let weight = 901_084.0 + f64::from(k) / 1024.0 + f64::from(k) * 0.37;
        let old = meter(weight);
        let diff = old.diff(&meter(0.5))?;
        let back: Diff<Meter> = serde_json::from_str(&serde_json::to_string(&diff)?)?;
        assert_eq!(back, diff, "{weight}");
        old.clone().apply(&back)?;
    }
    Ok(())
}

#[test]
fn history_saves_a_state_of_ordinary_floats() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("statesync-floats-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("history.json");
    let mut history = History::new(meter(901_084.391_601_562_5))?;
    history.commit(&meter(1e-310), "subnormal")?;
    history.save(&path)?;
    assert_eq!(History::<Meter>::load(&path)?, history);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
