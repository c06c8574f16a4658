//! The dictionary of format 4: every action, channel and journey name a
//! profile's value refers to, as a number.
//!
//! Input: the `names` table (number → name), whose numbers are 0, 1, 2…
//! in the order the names were first recorded; names are only ever added.
//! Output: [`Names`], both ways in memory: a store holds as many names as
//! its rules have actions, channels and journeys (dozens), so the whole
//! table is read when a snapshot of the store is taken, and read again only
//! when it grew ([`Names::load`] compares the table's length).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use compact_str::CompactString;
use redb::{ReadableTable, TableDefinition};

use super::Fault;
use super::codec::{Derivation, Name};
use crate::hash::Fnv1a64;

/// Names by number.
pub(super) trait Dictionary {
    /// The name numbered `number`.
    fn text(&self, number: Name) -> Option<&str>;
}

/// The key the decision engine gives a record of `action` for `profile`,
/// derived as `how` says: 64-bit FNV-1a over the profile, the action and
/// then the count of sends, or the journey, enrolment and step,
/// NUL-separated, numbers in decimal — the same bytes as
/// `idempotency_key` in `decide` hashes (a test there keeps them the
/// same; a key that differs is only stored in full, never wrong).
pub(super) fn engine_key(
    names: &dyn Dictionary,
    profile: &str,
    action: Name,
    how: Derivation,
) -> Option<u64> {
    let mut hash = Fnv1a64::new();
    hash.write(profile.bytes())
        .write([0])
        .write(names.text(action)?.bytes())
        .write([0]);
    match how {
        Derivation::Send(count) => hash.write_decimal(count),
        Derivation::Step {
            journey,
            enrolment,
            step,
        } => hash
            .write(names.text(journey)?.bytes())
            .write([0])
            .write_decimal(enrolment)
            .write([0])
            .write_decimal(step),
    };
    Some(std::hash::Hasher::finish(&hash))
}

/// Number → name.
pub(super) const NAMES: TableDefinition<u32, &str> = TableDefinition::new("names");

/// The names of a store, both ways.
#[derive(Debug, Default)]
pub(super) struct Names {
    texts: Vec<CompactString>,
    numbers: HashMap<CompactString, Name, BuildHasherDefault<Fnv1a64>>,
}

impl Names {
    /// The names of `table`: `known` itself when it holds as many (names
    /// are only added, so it holds the same), else read from the table.
    pub fn load(
        table: &impl ReadableTable<u32, &'static str>,
        known: Option<&Arc<Names>>,
    ) -> Result<Arc<Names>, Fault> {
        let len = table.len()?;
        if let Some(known) = known.filter(|known| known.texts.len() as u64 == len) {
            return Ok(Arc::clone(known));
        }
        let mut names = Names::default();
        for entry in table.iter()? {
            let (number, text) = entry?;
            let (number, text) = (number.value(), text.value());
            if number as usize != names.texts.len() {
                return Err(Fault::damaged(format!(
                    "its names are not numbered 0, 1, 2…: `{text}` is number {number}"
                )));
            }
            names.push(text);
        }
        Ok(Arc::new(names))
    }

    /// The number of `text`, if it was ever recorded.
    pub fn number(&self, text: &str) -> Option<Name> {
        self.numbers.get(text).copied()
    }

    pub fn len(&self) -> usize {
        self.texts.len()
    }

    fn push(&mut self, text: &str) -> Name {
        let number = Name::try_from(self.texts.len()).unwrap_or(Name::MAX);
        self.texts.push(text.into());
        self.numbers.insert(text.into(), number);
        number
    }
}

impl Dictionary for Names {
    fn text(&self, number: Name) -> Option<&str> {
        self.texts.get(number as usize).map(CompactString::as_str)
    }
}

impl Dictionary for Interner<'_> {
    fn text(&self, number: Name) -> Option<&str> {
        let first = self.known.len();
        match (number as usize).checked_sub(first) {
            Some(added) => self.added.text(Name::try_from(added).ok()?),
            None => self.known.text(number),
        }
    }
}

/// The names of a write transaction: those of the store, and those it adds.
pub(super) struct Interner<'a> {
    known: &'a Names,
    added: Names,
}

impl<'a> Interner<'a> {
    pub fn new(known: &'a Names) -> Interner<'a> {
        Interner {
            known,
            added: Names::default(),
        }
    }

    /// The number of `text`, numbered anew if it is new.
    pub fn intern(&mut self, text: &str) -> Result<Name, Fault> {
        let first = self.known.len();
        if let Some(number) = self.known.number(text) {
            return Ok(number);
        }
        // The added names are numbered from the first after the store's.
        if let Some(added) = self.added.number(text) {
            return Ok(Name::try_from(first + added as usize).unwrap_or(Name::MAX));
        }
        let number = first + self.added.len();
        let number = Name::try_from(number)
            .ok()
            .filter(|n| *n < Name::MAX)
            .ok_or_else(|| Fault::damaged("it holds too many names".to_owned()))?;
        self.added.push(text);
        Ok(number)
    }

    /// Writes the names added into `table`.
    pub fn write(&self, table: &mut redb::Table<u32, &'static str>) -> Result<(), Fault> {
        let first = self.known.len();
        for (i, text) in self.added.texts.iter().enumerate() {
            let number = Name::try_from(first + i).unwrap_or(Name::MAX);
            table.insert(number, text.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_added_in_a_transaction_are_numbered_after_the_stores() {
        let mut known = Names::default();
        known.push("email");
        known.push("nudge");
        let mut names = Interner::new(&known);
        assert_eq!(names.intern("nudge").unwrap(), 1);
        assert_eq!(names.intern("rescue").unwrap(), 2);
        assert_eq!(names.intern("sms").unwrap(), 3);
        // Asked again, an added name keeps its number.
        assert_eq!(names.intern("rescue").unwrap(), 2);
        assert_eq!(names.intern("sms").unwrap(), 3);
        assert_eq!(names.intern("email").unwrap(), 0);
    }
}
