//! Contact history: what was sent, held out or skipped for each profile, and
//! when. The decision engine reads it for cooldowns, `max_sends` and rolling
//! frequency caps; recording a decision in it is an explicit call.

mod durable;
mod memory;

pub use durable::DurableHistory;
pub use memory::MemoryHistory;

use std::path::PathBuf;

use crate::rules::Category;
use crate::value::Timestamp;

/// What happened to an action for a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It was emitted (counts for cooldowns, caps and `max_sends`).
    Sent,
    /// The profile was in a holdout group: recorded for analysis, never sent.
    HeldOut,
    /// A journey step that could not be sent in time.
    Skipped,
}

impl Outcome {
    /// The name used in stored records and JSON output.
    pub const fn name(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::HeldOut => "held_out",
            Outcome::Skipped => "skipped",
        }
    }
}

/// One entry of a profile's contact history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The profile.
    pub profile: String,
    /// The action.
    pub action: String,
    /// The channel it went (or would have gone) out on.
    pub channel: String,
    /// Its category when it was decided.
    pub category: Category,
    /// What happened.
    pub outcome: Outcome,
    /// When it was decided.
    pub at: Timestamp,
    /// When it is (or was) delivered: later than `at` when quiet hours deferred it.
    pub send_at: Timestamp,
    /// The idempotency key of the emission.
    pub key: String,
}

/// A failure of a history store.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The store could not be read or written.
    #[error("history store: {0}")]
    Store(String),
    /// The store's file could not be read or written (or a read failed
    /// earlier, see [`DurableHistory::check`]). A write that failed was not
    /// acknowledged: the store holds all of it or none of it.
    #[error("history store {}: {detail}", .path.display())]
    Io {
        /// The store's file.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// The file exists but is not a nextbest history store; it was not changed.
    #[error("{} is not a nextbest history store ({detail})", .path.display())]
    NotAStore {
        /// The file.
        path: PathBuf,
        /// Why not.
        detail: String,
    },
    /// The store was written in a format version this build does not read;
    /// it was not changed.
    #[error(
        "{} is a nextbest history store of format version {found}, but this nextbest reads version {expected}{}",
        .path.display(),
        if found > expected { "; use a newer nextbest" } else { "" }
    )]
    Format {
        /// The store's file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build reads and writes.
        expected: u32,
    },
    /// Another process (or another handle in this one) has the store open.
    #[error("history store {} is in use by another process", .path.display())]
    InUse {
        /// The store's file.
        path: PathBuf,
    },
}

/// The contact history the decision engine reads. Implementations answer each
/// question without scanning a profile's whole history.
pub trait History {
    /// The most recent send of `action` to `profile`.
    fn last_sent(&self, profile: &str, action: &str) -> Option<Timestamp>;

    /// How many times `action` was sent to `profile`, ever.
    fn times_sent(&self, profile: &str, action: &str) -> u32;

    /// How many sends to `profile` in `category` were decided after `after`
    /// (exclusive): on `channel`, or on any channel when it is `None` (a cap
    /// without channels counts sends of actions the rules no longer have).
    fn sends_after(
        &self,
        profile: &str,
        channel: Option<&str>,
        category: Category,
        after: Timestamp,
    ) -> u32;

    /// Appends records.
    ///
    /// # Errors
    /// A store that cannot write; then nothing of `records` is acknowledged.
    fn record(&mut self, records: &[Record]) -> Result<(), HistoryError>;
}
