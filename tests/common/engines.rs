//! The embedded SQL engines of the SQL stage's tests: the Python of
//! `.venv-sql/` that `scripts/sql-engines.sh` installs them in. Shared by
//! the differential test (`src/sql/differential.rs`, which includes this
//! file) and the command-line tests (`tests/cli_sql.rs`).
//!
//! In CI (`CI` set) a missing engine fails the test that needs it: a test
//! that passes without the engine would claim what it never checked. On a
//! developer machine without it, the test is skipped with the reason.
#![allow(dead_code, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

/// The Python that can `import module`, or `None` (the reason printed)
/// where skipping is allowed.
///
/// # Panics
/// When it is missing and `CI` is set.
pub fn python_with(module: &str) -> Option<PathBuf> {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-sql/bin/python");
    let works = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|out| out.status.success());
    if works {
        return Some(python);
    }
    let why = format!(
        "{module} is not installed in {}: run scripts/sql-engines.sh",
        python.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{why}");
    println!("skipped: {why}");
    None
}
