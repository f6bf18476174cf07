//! Compile-fail cases: every derive error, spanned on the offending tokens.

#[test]
fn derive_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/field/*.rs");
    cases.compile_fail("ui/container/*.rs");
    cases.compile_fail("ui/sync/*.rs");
    cases.compile_fail("ui/*.rs");
}

/// Shapes that must compile (and run): each once failed to.
#[test]
fn shapes_that_compile() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
}
