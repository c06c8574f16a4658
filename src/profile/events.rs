//! The events of one type while a profile is built, kept as the columns the
//! profile will hold: an event adds a timestamp and one value per property,
//! with no row of its own to allocate and take apart again.

use std::sync::Arc;

use crate::value::Value;

/// How many of a column's last values a new string is compared with before
/// it is allocated: a profile's events repeat a few strings (paths, product
/// ids), most often one after another.
const REUSE_WINDOW: usize = 4;

/// One event type's events, in the order they were added.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventLog {
    timestamps: Vec<i64>,
    /// `properties[slot][event]`; empty until the first event.
    properties: Vec<Vec<Value>>,
}

impl EventLog {
    /// Adds an event of `width` properties, all NULL, and returns its row.
    pub(crate) fn open(&mut self, at: i64, width: usize) -> usize {
        if self.properties.len() < width {
            self.properties.resize_with(width, Vec::new);
        }
        for column in &mut self.properties {
            column.push(Value::Null);
        }
        self.timestamps.push(at);
        self.timestamps.len() - 1
    }

    /// How many events there are.
    pub(crate) fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// The time of the event in `row` (for a reader that meets it after
    /// the properties).
    pub(crate) fn set_time(&mut self, row: usize, at: i64) {
        if let Some(time) = self.timestamps.get_mut(row) {
            *time = at;
        }
    }

    /// Sets a property of the event in `row`.
    pub(crate) fn set(&mut self, row: usize, slot: usize, value: Value) {
        if let Some(cell) = self.properties.get_mut(slot).and_then(|c| c.get_mut(row)) {
            *cell = value;
        }
    }

    /// Sets a string property, sharing the string of one of the column's
    /// last values when it is the same text.
    pub(crate) fn set_text(&mut self, row: usize, slot: usize, text: &str) {
        let Some(column) = self.properties.get_mut(slot) else {
            return;
        };
        let earlier = column.get(row.saturating_sub(REUSE_WINDOW)..row);
        let shared = earlier.into_iter().flatten().rev().find_map(|v| match v {
            Value::String(s) if **s == *text => Some(Arc::clone(s)),
            _ => None,
        });
        if let Some(cell) = column.get_mut(row) {
            *cell = Value::String(shared.unwrap_or_else(|| text.into()));
        }
    }

    /// The columns sorted by time (events at the same time keep the order
    /// they were added in), `width` properties wide.
    pub(crate) fn into_sorted(self, width: usize) -> (Vec<i64>, Vec<Vec<Value>>) {
        let EventLog {
            mut timestamps,
            mut properties,
        } = self;
        properties.resize_with(width, Vec::new);
        for column in &mut properties {
            column.resize(timestamps.len(), Value::Null);
        }
        if timestamps.is_sorted() {
            return (timestamps, properties);
        }
        if properties.is_empty() {
            // Nothing rides along: equal times are indistinguishable.
            timestamps.sort_unstable();
            return (timestamps, properties);
        }
        let mut order: Vec<usize> = (0..timestamps.len()).collect();
        order.sort_by_key(|&row| timestamps.get(row).copied());
        timestamps = order
            .iter()
            .filter_map(|&row| timestamps.get(row).copied())
            .collect();
        for column in &mut properties {
            let mut taken = std::mem::take(column);
            *column = order
                .iter()
                .map(|&row| taken.get_mut(row).map(std::mem::take).unwrap_or_default())
                .collect();
        }
        (timestamps, properties)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Sorting the columns is a stable sort of the rows by time.
        #[test]
        fn columns_sort_as_their_rows_would(
            events in prop::collection::vec((0..5i64, prop::option::of(0..3i64)), 0..12)
        ) {
            let mut log = EventLog::default();
            for (n, (at, value)) in events.iter().enumerate() {
                let row = log.open(*at, 2);
                log.set(row, 0, Value::Int(n as i64));
                if let Some(v) = value {
                    log.set_text(row, 1, &v.to_string());
                }
            }
            let mut rows: Vec<(i64, Value, Value)> = events
                .iter()
                .enumerate()
                .map(|(n, (at, v))| {
                    let text = v.map_or(Value::Null, |v| Value::from(v.to_string()));
                    (*at, Value::Int(n as i64), text)
                })
                .collect();
            rows.sort_by_key(|row| row.0);
            let (timestamps, properties) = log.into_sorted(2);
            prop_assert_eq!(timestamps, rows.iter().map(|r| r.0).collect::<Vec<_>>());
            prop_assert_eq!(&properties[0], &rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>());
            prop_assert_eq!(&properties[1], &rows.iter().map(|r| r.2.clone()).collect::<Vec<_>>());
        }
    }

    #[test]
    fn events_without_properties_sort_by_time() {
        let mut log = EventLog::default();
        for at in [3, 1, 2, 1] {
            log.open(at, 0);
        }
        assert_eq!(log.into_sorted(0), (vec![1, 1, 2, 3], vec![]));
    }

    #[test]
    fn a_repeated_string_is_shared() {
        let mut log = EventLog::default();
        for _ in 0..3 {
            let row = log.open(0, 1);
            log.set_text(row, 0, "/pricing");
        }
        let (_, properties) = log.into_sorted(1);
        let [Value::String(a), Value::String(b), Value::String(c)] = &properties[0][..] else {
            panic!("three strings expected");
        };
        assert!(Arc::ptr_eq(a, b) && Arc::ptr_eq(b, c));
    }
}
