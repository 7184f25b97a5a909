//! Compile-time checks of `network!`: every file in `tests/ui/` is a tiny program, and its
//! `.stderr` holds the exact errors the macro must report (regenerate with
//! `TRYBUILD=overwrite cargo test --test ui`, then read the diff). The `pass_*.rs` files must
//! compile: a later glob overrides an earlier one for the same file.

#[test]
fn compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass_*.rs");
}
