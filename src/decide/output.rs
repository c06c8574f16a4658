//! The JSON lines of SPEC §6: emissions, suppressions, and (when explaining)
//! skipped journey steps and journey changes.
//!
//! Each line's shape is one private struct that serde writes in the order
//! of its fields: straight into the output for the command line
//! ([`Decision::write_json_lines`]), or into a `serde_json::Value` for the
//! `to_json` methods. There is one definition of each line, whichever way
//! it is written.

use crate::Id;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value as Json;

use super::{Decision, Emission, Suppression};
use crate::history::JourneyUpdate;
use crate::value::{AsJson, Timestamp, Value};

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
    fn of(journey: Option<&'a (Id, u32)>) -> Self {
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

/// A line as a `serde_json::Value`.
fn to_json(line: &impl Serialize) -> Json {
    // Cannot fail: every map key is a string.
    serde_json::to_value(line).unwrap_or(Json::Null)
}

impl Emission {
    /// The JSON line `nextbest decide` prints (SPEC §6), as a value (whose
    /// keys a `serde_json::Value` keeps sorted; with the `serde` feature,
    /// `serde_json::to_string(&emission)` is the printed text).
    ///
    /// ```
    /// use nextbest::{Engine, MemoryHistory, Options, Profile, Timestamp};
    /// # let rules = nextbest::rules::RuleSet::parse("[schema.traits]\nn = \"int\"\n[consent]\nemail = {}\n[[action]]\nid = \"churn_email\"\nchannel = \"email\"\ntrigger = \"n > 1\"", nextbest::rules::Format::Toml, "rules.toml")?;
    /// let engine = Engine::new(rules);
    /// let profile = Profile::builder(&engine.rules().schema, "c-1042").attribute("n", 2).build()?;
    /// let now = Timestamp::parse("2026-11-24T09:00:00Z")?;
    /// let decision = engine.decide(&profile, &MemoryHistory::new(), now, Options::default())?;
    /// let line = decision.emissions[0].to_json();
    /// assert_eq!((&line["profile"], &line["action"]), (&"c-1042".into(), &"churn_email".into()));
    /// assert_eq!(line["send_at"], "2026-11-24T09:00:00Z");
    /// assert!(line["journey"].is_null());
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
    /// written to `out`: the lines of [`Decision::to_json_lines`], their fields
    /// in the order SPEC §6 writes them, without building the values.
    ///
    /// # Errors
    /// What `out` returns.
    pub fn write_json_lines(
        &self,
        explain: bool,
        out: &mut impl std::io::Write,
    ) -> std::io::Result<()> {
        write_lines(self.lines(explain), out)
    }

    /// The JSON lines `nextbest simulate` prints for this decision: those
    /// of [`Decision::write_json_lines`], each with the decision's `"at"`
    /// first.
    ///
    /// # Errors
    /// What `out` returns.
    pub fn write_timeline_json_lines(
        &self,
        explain: bool,
        out: &mut impl std::io::Write,
    ) -> std::io::Result<()> {
        let at = self.at;
        write_lines(self.lines(explain).map(|line| Timed { at, line }), out)
    }
}

/// A line of a timeline: its decision's instant, then the line's fields.
#[derive(Serialize)]
struct Timed<'a> {
    #[serde(serialize_with = "instant")]
    at: Timestamp,
    #[serde(flatten)]
    line: Line<'a>,
}

/// Writes each of `lines` as JSON and a newline. Each line is made whole,
/// then written with one call: an unbuffered `out` gets a write per line,
/// not per token, and an error never leaves half a line behind.
fn write_lines(
    lines: impl Iterator<Item = impl Serialize>,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let mut text = Vec::new();
    for line in lines {
        text.clear();
        serde_json::to_writer(&mut text, &line).map_err(std::io::Error::from)?;
        text.push(b'\n');
        out.write_all(&text)?;
    }
    Ok(())
}

/// An emission is the line `nextbest decide` prints for it.
#[cfg(feature = "serde")]
impl Serialize for Emission {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.line().serialize(serializer)
    }
}

/// A suppression is the line `nextbest decide --explain` prints for it.
#[cfg(feature = "serde")]
impl Serialize for Suppression {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.line().serialize(serializer)
    }
}

/// Its name, as in the `suppressed` field of the lines.
#[cfg(feature = "serde")]
impl Serialize for super::Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Its message.
#[cfg(feature = "serde")]
impl Serialize for super::Warning {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// `{"at", "emissions", "held_out", "skipped", "journeys", "suppressions",
/// "warnings", "replayed"}`: emissions, holdouts and skipped steps as
/// emission lines, suppressions as suppression lines, journeys as the
/// journey lines of `--explain`.
#[cfg(feature = "serde")]
impl Serialize for Decision {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let journeys: Vec<JourneyLine<'_>> = (self.journeys.iter())
            .map(|update| journey_line(update, self.at))
            .collect();
        let mut decision = serializer.serialize_struct("Decision", 8)?;
        decision.serialize_field("at", &self.at)?;
        decision.serialize_field("emissions", &self.emissions)?;
        decision.serialize_field("held_out", &self.held_out)?;
        decision.serialize_field("skipped", &self.skipped)?;
        decision.serialize_field("journeys", &journeys)?;
        decision.serialize_field("suppressions", &self.suppressions)?;
        decision.serialize_field("warnings", &self.warnings)?;
        decision.serialize_field("replayed", &self.replayed)?;
        decision.end()
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
        let written = String::from_utf8(written).unwrap();
        let read: Vec<Json> = (written.lines())
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(read, decision.to_json_lines(true));
        assert!(
            written.contains(r#""detail":{"until":2,"count":7}"#),
            "{written}"
        );
    }
}
