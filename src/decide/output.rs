//! The JSON lines of SPEC §6: emissions, suppressions, and (when explaining)
//! skipped journey steps and journey changes.

use compact_str::CompactString;
use serde_json::{Map, Value as Json};

use super::{Emission, Suppression};
use crate::history::JourneyUpdate;
use crate::value::{Timestamp, Value};

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
        let mut line = Map::new();
        line.insert("profile".into(), self.profile.as_str().into());
        line.insert("action".into(), self.action.as_str().into());
        line.insert("channel".into(), self.channel.as_str().into());
        line.insert("send_at".into(), self.send_at.to_string().into());
        insert_step(&mut line, self.journey.as_ref());
        line.insert("key".into(), self.key.as_str().into());
        Json::Object(line)
    }

    /// The line of a journey step given up because the next step fell due
    /// before it could be sent.
    pub(super) fn to_skipped_json(&self) -> Json {
        let mut line = Map::new();
        line.insert("profile".into(), self.profile.as_str().into());
        line.insert("action".into(), self.action.as_str().into());
        insert_step(&mut line, self.journey.as_ref());
        line.insert("skipped".into(), "overdue".into());
        Json::Object(line)
    }
}

impl Suppression {
    /// The JSON line `nextbest decide --explain` prints (SPEC §6).
    pub fn to_json(&self) -> Json {
        let detail: Map<String, Json> = self
            .detail
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json_value(v)))
            .collect();
        let mut line = Map::new();
        line.insert("profile".into(), self.profile.as_str().into());
        line.insert("action".into(), self.action.as_str().into());
        insert_step(&mut line, self.journey.as_ref());
        line.insert("suppressed".into(), self.reason.name().into());
        line.insert("detail".into(), Json::Object(detail));
        Json::Object(line)
    }

    /// Whether this suppression explains why `emission` (a skipped step)
    /// was skipped.
    pub(super) fn is_for(&self, emission: &Emission) -> bool {
        self.action == emission.action && self.journey == emission.journey
    }
}

/// The `journey` and `step` of a line, when it has them.
fn insert_step(line: &mut Map<String, Json>, journey: Option<&(CompactString, u32)>) {
    if let Some((journey, step)) = journey {
        line.insert("journey".into(), journey.as_str().into());
        line.insert("step".into(), (*step).into());
    }
}

/// The line of a journey state change decided at `at`: `entered`,
/// `advanced`, `exited` or `completed`.
pub(super) fn journey_json(update: &JourneyUpdate, at: Timestamp) -> Json {
    let state = update.state;
    let mut line = Map::new();
    line.insert("profile".into(), update.profile.as_str().into());
    line.insert("journey".into(), update.journey.as_str().into());
    line.insert("journey_status".into(), state.change(at).into());
    line.insert("entered_at".into(), state.entered_at.to_string().into());
    line.insert("steps_done".into(), state.done.into());
    Json::Object(line)
}

/// A value as JSON: timestamps and durations as strings, as in profiles. A
/// figure past the end of year 9999 (a cooldown of thousands of years ends
/// there) is written as the last instant RFC 3339 can write, which it is at
/// least: the line stays RFC 3339 for every reader. (A send time is never
/// clamped: a decision that would send that late is refused.)
fn json_value(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::from(&**s),
        Value::Timestamp(t) => Json::from(
            (*t).clamp(Timestamp::EARLIEST_RFC3339, Timestamp::LATEST_RFC3339)
                .to_string(),
        ),
        Value::Duration(d) => Json::from(d.to_string()),
        Value::List(items) => Json::Array(items.iter().map(json_value).collect()),
    }
}
