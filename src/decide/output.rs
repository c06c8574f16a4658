//! The JSON lines of SPEC §6: emissions, suppressions, and (when explaining)
//! skipped journey steps and journey changes.
//!
//! Each line's shape is one private struct that serde writes in the order
//! of its fields: straight into the output for the command line
//! ([`Decision::write_json_lines`]), or into a `serde_json::Value` for the
//! `to_json` methods. There is one definition of each line, whichever way
//! it is written.

use compact_str::CompactString;
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde_json::Value as Json;

use super::{Decision, Emission, Suppression};
use crate::history::JourneyUpdate;
use crate::value::{Timestamp, Value};

/// One line of a decision's output.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum Line<'a> {
    Emission(EmissionLine<'a>),
    Skipped(SkippedLine<'a>),
    Suppression(SuppressionLine<'a>),
    Journey(JourneyLine<'a>),
}

#[derive(Serialize)]
pub(super) struct EmissionLine<'a> {
    profile: &'a str,
    action: &'a str,
    channel: &'a str,
    #[serde(serialize_with = "instant")]
    send_at: Timestamp,
    #[serde(flatten)]
    step: Step<'a>,
    key: &'a str,
}

#[derive(Serialize)]
pub(super) struct SkippedLine<'a> {
    profile: &'a str,
    action: &'a str,
    #[serde(flatten)]
    step: Step<'a>,
    skipped: &'static str,
}

#[derive(Serialize)]
pub(super) struct SuppressionLine<'a> {
    profile: &'a str,
    action: &'a str,
    #[serde(flatten)]
    step: Step<'a>,
    suppressed: &'static str,
    #[serde(serialize_with = "detail")]
    detail: &'a [(&'static str, Value)],
}

#[derive(Serialize)]
pub(super) struct JourneyLine<'a> {
    profile: &'a str,
    journey: &'a str,
    journey_status: &'static str,
    #[serde(serialize_with = "instant")]
    entered_at: Timestamp,
    steps_done: u32,
}

/// The `journey` and `step` of a line, when it has them.
#[derive(Serialize)]
struct Step<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    journey: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<u32>,
}

impl<'a> Step<'a> {
    fn of(journey: Option<&'a (CompactString, u32)>) -> Self {
        Step {
            journey: journey.map(|(journey, _)| journey.as_str()),
            step: journey.map(|(_, step)| *step),
        }
    }
}

fn instant<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(at)
}

/// The detail as a JSON object: a name given twice is written once, at its
/// first place with its last value, as a map built from the list would.
fn detail<S: Serializer>(
    detail: &&[(&'static str, Value)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(None)?;
    for (at, (name, value)) in detail.iter().enumerate() {
        let earlier = detail.get(..at).unwrap_or_default();
        if earlier.iter().any(|(seen, _)| seen == name) {
            continue;
        }
        let last = (detail.iter().rev())
            .find(|(later, _)| later == name)
            .map_or(value, |(_, last)| last);
        map.serialize_entry(name, &AsJson(last))?;
    }
    map.end()
}

/// A value as JSON: timestamps and durations as strings, as in profiles. A
/// figure past the end of year 9999 (a cooldown of thousands of years ends
/// there) is written as the last instant RFC 3339 can write, which it is at
/// least: the line stays RFC 3339 for every reader. (A send time is never
/// clamped: a decision that would send that late is refused.) A float that
/// is not finite is `null`.
struct AsJson<'a>(&'a Value);

impl Serialize for AsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(x) if x.is_finite() => serializer.serialize_f64(*x),
            Value::Float(_) => serializer.serialize_unit(),
            Value::String(s) => serializer.serialize_str(s),
            Value::Timestamp(t) => serializer
                .collect_str(&(*t).clamp(Timestamp::EARLIEST_RFC3339, Timestamp::LATEST_RFC3339)),
            Value::Duration(d) => serializer.collect_str(d),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items.iter() {
                    seq.serialize_element(&AsJson(item))?;
                }
                seq.end()
            }
        }
    }
}

/// A line as a `serde_json::Value`.
fn to_json(line: &impl Serialize) -> Json {
    // Cannot fail: every map key is a string.
    serde_json::to_value(line).unwrap_or(Json::Null)
}

impl Emission {
    /// The JSON line `nextbest decide` prints (SPEC §6).
    ///
    /// ```
    /// use nextbest::decide::Emission;
    /// use nextbest::rules::Category;
    /// use nextbest::Timestamp;
    /// let emission = Emission {
    ///     profile: "c-1042".into(), action: "churn_email".into(), channel: "email".into(),
    ///     category: Category::Marketing, send_at: Timestamp::parse("2026-11-24T09:00:00Z")?,
    ///     journey: Some(("churn_rescue".into(), 1)), key: "5f0c".into(),
    /// };
    /// assert_eq!(
    ///     emission.to_json().to_string(),
    ///     r#"{"profile":"c-1042","action":"churn_email","channel":"email","send_at":"2026-11-24T09:00:00Z","journey":"churn_rescue","step":1,"key":"5f0c"}"#,
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_json(&self) -> Json {
        to_json(&self.line())
    }

    pub(super) fn line(&self) -> EmissionLine<'_> {
        EmissionLine {
            profile: &self.profile,
            action: &self.action,
            channel: &self.channel,
            send_at: self.send_at,
            step: Step::of(self.journey.as_ref()),
            key: &self.key,
        }
    }

    /// The line of a journey step given up because the next step fell due
    /// before it could be sent.
    pub(super) fn skipped_line(&self) -> SkippedLine<'_> {
        SkippedLine {
            profile: &self.profile,
            action: &self.action,
            step: Step::of(self.journey.as_ref()),
            skipped: "overdue",
        }
    }
}

impl Suppression {
    /// The JSON line `nextbest decide --explain` prints (SPEC §6).
    pub fn to_json(&self) -> Json {
        to_json(&self.line())
    }

    pub(super) fn line(&self) -> SuppressionLine<'_> {
        SuppressionLine {
            profile: &self.profile,
            action: &self.action,
            step: Step::of(self.journey.as_ref()),
            suppressed: self.reason.name(),
            detail: &self.detail,
        }
    }

    /// Whether this suppression explains why `emission` (a skipped step)
    /// was skipped.
    pub(super) fn is_for(&self, emission: &Emission) -> bool {
        self.action == emission.action && self.journey == emission.journey
    }
}

/// The line of a journey state change decided at `at`: `entered`,
/// `advanced`, `exited` or `completed`.
pub(super) fn journey_line(update: &JourneyUpdate, at: Timestamp) -> JourneyLine<'_> {
    let state = update.state;
    JourneyLine {
        profile: &update.profile,
        journey: &update.journey,
        journey_status: state.change(at),
        entered_at: state.entered_at,
        steps_done: state.done,
    }
}

impl Decision {
    /// The lines `nextbest decide` prints: the emissions and, when
    /// explaining, the suppressions, the skipped steps and the journey
    /// changes.
    pub(super) fn lines(&self, explain: bool) -> impl Iterator<Item = Line<'_>> {
        let emissions = self.emissions.iter().map(|e| Line::Emission(e.line()));
        let explained = explain.then(|| {
            let suppressions = self
                .suppressions
                .iter()
                .map(|s| Line::Suppression(s.line()));
            let overdue = (self.skipped.iter())
                .filter(|e| !self.suppressions.iter().any(|s| s.is_for(e)))
                .map(|e| Line::Skipped(e.skipped_line()));
            let journeys = (self.journeys.iter()).map(|u| Line::Journey(journey_line(u, self.at)));
            suppressions.chain(overdue).chain(journeys)
        });
        emissions.chain(explained.into_iter().flatten())
    }

    /// The JSON lines `nextbest decide` prints, as values.
    pub fn to_json_lines(&self, explain: bool) -> Vec<Json> {
        self.lines(explain).map(|line| to_json(&line)).collect()
    }

    /// The JSON lines `nextbest decide` prints, each ended by a newline,
    /// written to `out`: the same text as [`Decision::to_json_lines`],
    /// without building the values.
    ///
    /// # Errors
    /// What `out` returns.
    pub fn write_json_lines(
        &self,
        explain: bool,
        out: &mut impl std::io::Write,
    ) -> std::io::Result<()> {
        // Each line is made whole, then written with one call: an unbuffered
        // `out` gets a write per line, not per token, and an error never
        // leaves half a line behind.
        let mut text = Vec::new();
        for line in self.lines(explain) {
            text.clear();
            serde_json::to_writer(&mut text, &line).map_err(std::io::Error::from)?;
            text.push(b'\n');
            out.write_all(&text)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::decide::Reason;

    /// Found in review: a detail name given twice was written twice by
    /// `write_json_lines` and once by `to_json_lines`.
    #[test]
    fn a_detail_name_given_twice_is_written_once_with_its_last_value() {
        let decision = Decision {
            suppressions: vec![Suppression {
                profile: "c-1".into(),
                action: "a".into(),
                journey: None,
                reason: Reason::Cooldown,
                detail: vec![
                    ("until", Value::Int(1)),
                    ("count", Value::Int(7)),
                    ("until", Value::Int(2)),
                ],
            }],
            ..Decision::default()
        };
        let mut written = Vec::new();
        decision.write_json_lines(true, &mut written).unwrap();
        let values: String = (decision.to_json_lines(true).iter())
            .map(|line| format!("{line}\n"))
            .collect();
        assert_eq!(String::from_utf8(written).unwrap(), values);
        assert!(
            values.contains(r#""detail":{"until":2,"count":7}"#),
            "{values}"
        );
    }
}
