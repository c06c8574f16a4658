//! Reading a whole store back, for `nextbest history verify`.

use redb::ReadableTable;

use super::{DurableHistory, Fault, HistoryError, RECORDS_HELD, View, decode, profile_id, text};

/// What a store holds, counted by [`DurableHistory::verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Contents {
    /// Records (sends, holdouts and skipped steps).
    pub records: u64,
    /// Records of sends, which rolling caps count.
    pub sends: u64,
    /// Journey states, one per profile and journey.
    pub journeys: u64,
}

impl DurableHistory {
    /// Reads every profile's history and decodes it as a decision would,
    /// names and all, and counts its records, sends and journey states.
    /// Opening the store already verified every page's checksum; this also
    /// refuses values that no nextbest writes, and a count of records that
    /// is not what the profiles hold.
    ///
    /// ```
    /// use nextbest::history::DurableHistory;
    /// let dir = std::env::temp_dir().join(format!("nextbest-doc-verify-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let history = DurableHistory::open(dir.join("history.redb"))?;
    /// let contents = history.verify()?;
    /// assert_eq!((contents.records, contents.sends, contents.journeys), (0, 0, 0));
    /// # drop(history);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`HistoryError::Damaged`] naming the store and the first profile
    /// whose history does not decode; [`HistoryError::Io`] for a read that
    /// fails.
    pub fn verify(&self) -> Result<Contents, HistoryError> {
        self.read(|view: &View| {
            let mut contents = Contents {
                records: 0,
                sends: 0,
                journeys: 0,
            };
            for entry in view.profiles.iter()? {
                let (key, value) = entry?;
                let profile = profile_id(key.value())?;
                let log = decode(profile, value.value(), &*view.names)?;
                let names = (log.records.iter())
                    .flat_map(|e| [Some(e.action), Some(e.channel), e.journey.map(|j| j.0)])
                    .flatten()
                    .chain(log.journeys.iter().map(|(journey, _)| *journey))
                    .chain(log.compacted.iter().map(|(action, ..)| *action));
                for number in names {
                    text(&view.names, profile, number)?;
                }
                contents.records += log.records.len() as u64;
                contents.sends += log.sent().count() as u64;
                contents.journeys += log.journeys.len() as u64;
            }
            let held = view.counters.get(RECORDS_HELD)?.map_or(0, |n| n.value());
            if held != contents.records {
                return Err(Fault::damaged(format!(
                    "it counts {held} records, but its profiles hold {}",
                    contents.records
                )));
            }
            Ok(contents)
        })
    }
}
