//! Reading a whole store back, for `nextbest history verify`.

use super::{
    DurableHistory, Fault, HistoryError, View, category_from_code, journey_state, outcome_from_code,
};
use redb::{ReadableTable, ReadableTableMetadata};

/// What a store holds, counted by [`DurableHistory::verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contents {
    /// Records (sends, holdouts and skipped steps).
    pub records: u64,
    /// Sends in the per-channel index that rolling caps count.
    pub sends: u64,
    /// Journey states, one per profile and journey.
    pub journeys: u64,
}

impl DurableHistory {
    /// Reads every record, send and journey state of the store and decodes
    /// it as a decision would, and counts them. Opening the store already
    /// verified every page's checksum; this also refuses values that no
    /// nextbest writes (an unknown category, outcome or journey status).
    ///
    /// # Errors
    /// [`HistoryError::Io`] naming the store and the first value that does
    /// not decode, or a read that fails.
    pub fn verify(&self) -> Result<Contents, HistoryError> {
        self.read(|view: &View| {
            for entry in view.records.iter()? {
                let (_, value) = entry?;
                let (_, _, category, outcome, ..) = value.value();
                category_from_code(category)?;
                outcome_from_code(outcome)?;
            }
            for entry in view.sends.iter()? {
                let (key, _) = entry?;
                category_from_code(key.value().2)?;
            }
            for entry in view.journeys.iter()? {
                journey_state(entry?.1.value())?;
            }
            Ok::<_, Fault>(Contents {
                records: view.records.len()?,
                sends: view.sends.len()?,
                journeys: view.journeys.len()?,
            })
        })
    }
}
