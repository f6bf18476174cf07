#!/usr/bin/env bash
# Compile cost of #[derive(DiffModel)], as issue 10 measures it.
#
# Writes a crate of 50 models (10 chains of 5 levels, 6 attributes each, every model
# deriving Clone, Debug, PartialEq, Serialize, Deserialize) twice: once with serde only,
# once with DiffModel added. Each variant has a `use_models` function that uses every
# chain's root as a user would: a serde_json round trip, and with DiffModel also diff,
# apply and rendering of the diff.
#
# For each variant it reports the CPU time (user + sys) of a release build of the crate
# itself (dependencies are built first and not counted), with and without the using
# function, and the wall time of a debug incremental rebuild after a one-line edit. The
# release builds run RUNS times each (default 3), the two variants alternately so that a
# machine busy for a while slows both, and the table shows the medians (every run is
# printed below it): one build's CPU time varies by a quarter from run to run on a shared
# 2-core machine.
#
#   bash scripts/compile-cost.sh            # prints a table and the ratios
#   RUNS=5 bash scripts/compile-cost.sh
#   OUT=/tmp/cc bash scripts/compile-cost.sh
#   bash scripts/compile-cost.sh ir [TOP]   # only the DiffModel crate with the using
#                                           # function: its unoptimised LLVM IR lines,
#                                           # per function family (scripts/ir_lines.py)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${OUT:-$root/target/compile-cost}"
chains=10
levels=5

# model NAME CHILD DIFF: one model with an id, six attributes and (unless CHILD is empty)
# a Store of CHILD.
model() {
    local name=$1 child=$2 diff=$3
    local derives="Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize"
    [[ $diff == 1 ]] && derives="statesync::DiffModel, $derives"
    echo "#[derive($derives)]"
    echo "pub struct $name {"
    [[ $diff == 1 ]] && echo "    #[statesync(id)]"
    echo "    pub name: String,"
    echo "    pub a_count: u32, pub b_label: String, pub c_flag: bool,"
    echo "    pub d_ratio: i64, pub e_note: Option<String>, pub f_tags: Vec<String>,"
    if [[ -n $child ]]; then
        if [[ $diff == 1 ]]; then
            echo "    #[statesync(children)]"
            echo "    pub children: statesync::Store<$child>,"
        else
            echo "    pub children: Vec<$child>,"
        fi
    fi
    echo "}"
}

# leaf VALUE_EXPR CHILD_EXPR for a constructor
ctor() {
    local chain=$1 level=$2 diff=$3
    local name="M${chain}L${level}"
    echo "fn new_$name(name: &str) -> $name {"
    echo "    $name { name: name.into(), a_count: 1, b_label: \"x\".into(), c_flag: true,"
    echo "        d_ratio: 3, e_note: None, f_tags: vec![\"t\".into()],"
    if ((level + 1 < levels)); then
        local child="M${chain}L$((level + 1))"
        if [[ $diff == 1 ]]; then
            echo "        children: statesync::Store::try_from_iter([new_$child(\"c\")]).unwrap_or_default(),"
        else
            echo "        children: vec![new_$child(\"c\")],"
        fi
    fi
    echo "    }"
    echo "}"
}

write_crate() {
    local dir=$1 diff=$2 using=$3
    mkdir -p "$dir/src"
    local deps='serde = { version = "1", features = ["derive"] }
serde_json = "1"'
    [[ $diff == 1 ]] && deps="$deps
statesync = { path = \"$root/statesync\" }"
    cat >"$dir/Cargo.toml" <<TOML
[package]
name = "compile-cost-$(basename "$dir")"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
$deps

[workspace]
TOML
    {
        echo "#![allow(dead_code, non_snake_case)]"
        echo "// edit-marker 0"
        for ((c = 0; c < chains; c++)); do
            for ((l = 0; l < levels; l++)); do
                local child=""
                ((l + 1 < levels)) && child="M${c}L$((l + 1))"
                model "M${c}L${l}" "$child" "$diff"
                ctor "$c" "$l" "$diff"
            done
        done
        if [[ $using == 1 ]]; then
            echo "pub fn use_models() -> usize {"
            echo "    let mut n = 0;"
            for ((c = 0; c < chains; c++)); do
                local root_ty="M${c}L0"
                echo "    {"
                echo "        let a = new_$root_ty(\"r\");"
                echo "        let json = serde_json::to_string(&a).unwrap_or_default();"
                echo "        let back: Option<$root_ty> = serde_json::from_str(&json).ok();"
                echo "        n += usize::from(back.as_ref() == Some(&a));"
                if [[ $diff == 1 ]]; then
                    echo "        let mut b = a.clone();"
                    echo "        b.a_count = 2;"
                    echo "        let mut c = a.clone();"
                    echo "        if let Ok(d) = statesync::DiffModel::diff(&a, &b) {"
                    echo "            n += d.to_string().len();"
                    echo "            n += usize::from(statesync::DiffModel::apply(&mut c, &d).is_ok());"
                    echo "        }"
                fi
                echo "    }"
            done
            echo "    n"
            echo "}"
        fi
    } >"$dir/src/lib.rs"
}

# cpu_of CMD...: user + sys seconds of a command.
cpu_of() {
    local t
    local TIMEFORMAT='%U %S'
    t=$( { time "$@" >/dev/null 2>&1; } 2>&1 | tail -1)
    awk '{ printf "%.1f", $1 + $2 }' <<<"$t"
}

wall_of() {
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }'
}

# crate_cost DIR: CPU of a release build of the crate alone (deps built first).
crate_cost() {
    local dir=$1
    (cd "$dir" && cargo build --release --quiet 2>/dev/null)
    touch "$dir/src/lib.rs"
    (cd "$dir" && cpu_of cargo build --release --quiet)
}

# rebuild_cost DIR: wall time of a debug rebuild after a one-line edit at the top of the
# file, the median of three. The edit changes the line's length each time, so everything
# below it moves: the rebuild re-checks what the edit displaced, as a real edit does (an
# edit of the same length hits the incremental cache and measures little but expansion).
rebuild_cost() {
    local dir=$1 times=() marker=""
    (cd "$dir" && cargo build --quiet 2>/dev/null)
    for _ in 1 2 3; do
        marker="${marker}x"
        sed -i 's|// edit-marker .*|// edit-marker '"$marker"'|' "$dir/src/lib.rs"
        times+=("$(cd "$dir" && wall_of cargo build --quiet)")
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n 2p
}

export CARGO_TARGET_DIR="$out/target"
if [[ ${1:-} == ir ]]; then
    rm -rf "$out/diff"
    write_crate "$out/diff" 1 1
    rm -f "$CARGO_TARGET_DIR"/release/deps/compile_cost_diff-*.ll
    (cd "$out/diff" && cargo rustc --release --quiet -- --emit=llvm-ir \
        -Cno-prepopulate-passes -Cpasses=name-anon-globals)
    python3 "$root/scripts/ir_lines.py" "$CARGO_TARGET_DIR"/release/deps/compile_cost_diff-*.ll "${2:-40}"
    exit
fi
rm -rf "$out/serde" "$out/serde-decl" "$out/diff" "$out/diff-decl"
write_crate "$out/serde" 0 1
write_crate "$out/serde-decl" 0 0
write_crate "$out/diff" 1 1
write_crate "$out/diff-decl" 1 0

runs="${RUNS:-3}"
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# alternate NAME A B: CPU of release builds of A and B, RUNS times each, alternately; sets
# NAME_a and NAME_b to the medians and prints every run to stderr.
alternate() {
    local name=$1 a=$2 b=$3 as=() bs=()
    for ((run = 0; run < runs; run++)); do
        as+=("$(crate_cost "$a")")
        bs+=("$(crate_cost "$b")")
    done
    echo "$(basename "$a"): ${as[*]}; $(basename "$b"): ${bs[*]}" >&2
    printf -v "${name}_a" '%s' "$(median "${as[@]}")"
    printf -v "${name}_b" '%s' "$(median "${bs[@]}")"
}

alternate use "$out/serde" "$out/diff" 2>"$out/runs.txt"
alternate decl "$out/serde-decl" "$out/diff-decl" 2>>"$out/runs.txt"
serde_use=$use_a diff_use=$use_b serde_decl=$decl_a diff_decl=$decl_b
serde_inc=$(rebuild_cost "$out/serde-decl")
diff_inc=$(rebuild_cost "$out/diff-decl")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", (a > 0 ? b / a : 0) }'; }
echo "| 50 models | serde only | + DiffModel | ratio |"
echo "| --- | --- | --- | --- |"
echo "| release build, CPU s (with the using function, median of $runs) | $serde_use | $diff_use | $(ratio "$serde_use" "$diff_use") |"
echo "| release build, CPU s (models only, median of $runs) | $serde_decl | $diff_decl | $(ratio "$serde_decl" "$diff_decl") |"
echo "| debug incremental rebuild, wall s (models only, median of 3) | $serde_inc | $diff_inc | $(ratio "$serde_inc" "$diff_inc") |"
echo
echo "Every release build, in the order run:"
cat "$out/runs.txt"
