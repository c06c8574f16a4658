//! A profile moved to the schema of a newer rule set: a service that
//! reloads its rules keeps the profiles it has already built.

use super::{Profile, ProfileError, checked};
use crate::schema::Schema;
use crate::value::{Timestamp, Value};

impl Profile {
    /// This profile under `schema`, typically the schema of a reloaded rule
    /// set: each trait, event and property is moved to the place `schema`
    /// gives its name. What `schema` adds is NULL (traits) or empty
    /// (events); what it no longer declares is left out, as no trigger of
    /// it can read it. Under the same schema it is a clone (reference
    /// counts only); otherwise it costs what building the profile again
    /// would, without parsing anything.
    ///
    /// Triggers compiled against `schema` refuse a profile built against
    /// another ([`EvalError::SchemaMismatch`](crate::EvalError::SchemaMismatch)):
    /// rebind the profiles a service keeps when it swaps its rules.
    ///
    /// ```
    /// use nextbest::{Profile, Schema, Timestamp, Trigger, Type};
    /// let before = Schema::builder().attribute("logins", Type::Int).build()?;
    /// let after = Schema::builder()
    ///     .attribute("plan", Type::String)
    ///     .attribute("logins", Type::Int)
    ///     .build()?;
    /// let profile = Profile::builder(&before, "c-1").attribute("logins", 2).build()?;
    /// let trigger = Trigger::compile("logins < 3 AND plan IS NULL", &after)?;
    /// let now = Timestamp::parse("2026-11-24T09:00:00Z")?;
    /// assert!(trigger.matches(&profile, now).is_err());
    /// assert!(trigger.matches(&profile.rebind(&after)?, now)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`ProfileError::WrongType`] naming the field when `schema` declares a
    /// trait or property of this profile with another type (the new rules
    /// read it as something it is not).
    pub fn rebind(&self, schema: &Schema) -> Result<Profile, ProfileError> {
        if self.schema.fingerprint() == schema.fingerprint() {
            return Ok(self.clone());
        }
        self.rebuilt(schema, |_| true)
    }

    /// This profile with only its events after `start` (exclusive): what
    /// happened since a contact, for the goals of a report.
    ///
    /// # Errors
    /// None in practice: the profile is rebuilt under its own schema.
    pub(crate) fn events_after(&self, start: Timestamp) -> Result<Profile, ProfileError> {
        let start = start.as_micros();
        self.rebuilt(&self.schema.clone(), |at| at > start)
    }

    /// This profile under `schema`, with the events whose instant (µs)
    /// `keep` accepts.
    fn rebuilt(
        &self,
        schema: &Schema,
        keep: impl Fn(i64) -> bool,
    ) -> Result<Profile, ProfileError> {
        let mut builder = Profile::builder(schema, self.id.as_str());
        let values = self.values();
        for slot in 0..self.schema.attribute_count() {
            let Some((name, _)) = self.schema.attribute_at(slot) else {
                continue;
            };
            let value = values.get(slot).cloned().unwrap_or(Value::Null);
            if schema.attribute(name).is_some() && !value.is_null() {
                builder = builder.attribute(name, value);
            }
        }
        for (index, (event, before)) in self.schema.events().enumerate() {
            let (Some((place, after)), Some(columns)) =
                (schema.event(event), self.rest().events.get(index))
            else {
                continue;
            };
            let Some(log) = builder.events.get_mut(place) else {
                continue;
            };
            for (row, at) in columns.timestamps.iter().enumerate() {
                if !keep(*at) {
                    continue;
                }
                let moved = log.open(*at, after.len());
                for (slot, (property, _)) in before.properties().enumerate() {
                    let Some((to, ty)) = after.get(property) else {
                        continue;
                    };
                    let value = (columns.properties.get(slot))
                        .and_then(|column| column.get(row))
                        .cloned()
                        .unwrap_or(Value::Null);
                    let field = || format!("events.{event}.{property}");
                    if let Some(value) = checked(&mut builder.errors, &self.id, field, ty, value) {
                        log.set(moved, to, value);
                    }
                }
            }
        }
        builder.build()
    }
}
