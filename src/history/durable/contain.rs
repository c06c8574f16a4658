//! The last line of defence against a damaged file: a panic inside redb,
//! turned into an error that names the store.
//!
//! redb 2 trusts parts of the file it reads before it can check them: a
//! store cut short stops it on an assertion while it opens the file
//! (`page_manager.rs`, the file is shorter than its header says), before any
//! checksum can be verified, and nothing outside redb can read its header to
//! tell first. Every other kind of damage is caught by verifying the
//! checksums when the store is opened (see `open.rs`); this only contains
//! what redb does before that. It relies on unwinding: under
//! `panic = "abort"` a damaged store still stops the process.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

use crate::history::HistoryError;

thread_local! {
    /// Whether this thread is inside [`contain`].
    static CONTAINED: Cell<bool> = const { Cell::new(false) };
    /// Where and why the last contained panic of this thread stopped.
    static STOPPED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `f`, which reads the store at `path`; a panic inside it is an error
/// saying the store is damaged, and prints nothing.
pub(super) fn contain<R>(path: &Path, f: impl FnOnce() -> R) -> Result<R, HistoryError> {
    static QUIET: Once = Once::new();
    // The hook is process-wide: installed once, it hands every panic outside
    // `contain` (and on other threads) to the hook that was there before.
    QUIET.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CONTAINED.with(Cell::get) {
                let location = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                STOPPED.with(|s| *s.borrow_mut() = Some(format!("{message}{location}")));
            } else {
                previous(info);
            }
        }));
    });
    let outer = CONTAINED.with(|c| c.replace(true));
    // The values `f` touches are dropped or discarded by the caller after a
    // panic, never used again: unwind safety holds.
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CONTAINED.with(|c| c.set(outer));
    result.map_err(|_| {
        let why = STOPPED.with(|s| s.borrow_mut().take()).unwrap_or_default();
        HistoryError::Damaged {
            path: path.to_path_buf(),
            detail: format!("redb stopped reading it: {why}"),
        }
    })
}
