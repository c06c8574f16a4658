//! A [`Report`] as text for a terminal and as JSON.

use std::fmt::Write as _;

use serde_json::{Value as Json, json};

use super::{Conversion, JourneyFunnel, Report, StageCount};

/// `0.123` as `12.3 %`.
pub(super) fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "–".to_owned(), |s| format!("{:.1} %", s * 100.0))
}

/// A difference of rates in percentage points, signed.
pub(super) fn points(difference: f64) -> String {
    format!("{:+.1}", difference * 100.0)
}

impl Report {
    /// The report for a terminal.
    ///
    /// ```
    /// # use nextbest::report::{Options, Report};
    /// # use nextbest::rules::{Format, RuleSet};
    /// # use nextbest::history::MemoryHistory;
    /// # use nextbest::Timestamp;
    /// # let rules = RuleSet::parse("[schema.traits]\nx = \"int\"\n[consent]\nemail = {}\n[[action]]\nid = \"hello\"\nchannel = \"email\"", Format::Toml, "r.toml")?;
    /// let now = Timestamp::parse("2026-12-01T00:00:00Z")?;
    /// let report = Report::build(&rules, &MemoryHistory::new(), [], now, &Options::default())?;
    /// assert!(report.to_text().starts_with("report at 2026-12-01T00:00:00Z over 0 profiles"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "report at {} over {} profiles",
            self.now, self.profiles
        );
        if self.unknown_records > 0 {
            let _ = writeln!(
                out,
                "note: left out {} records that name an action, journey or step these rules do not have",
                self.unknown_records
            );
        }
        for funnel in &self.journeys {
            journey_text(&mut out, funnel);
        }
        let _ = writeln!(
            out,
            "\nconversion (each profile once, by its first contact; uplift needs {} or more in each group)",
            self.min_group
        );
        for (kind, list) in [("action", &self.actions), ("journey", &self.journey_goals)] {
            for conversion in list {
                conversion_text(&mut out, kind, conversion);
            }
        }
        out
    }

    /// The report as JSON: `{"now", "profiles", "min_group",
    /// "unknown_records", "journeys": [{"id", "entered", "steps": [{"step",
    /// "action", "sent", "skipped", "held_out"}], "fallback",
    /// "fallback_stage", "exited", "completed", "active", "drop_off"}],
    /// "actions": [{"id", "goal", "goal_window", "sent", "held_out",
    /// "converted_sent", "converted_held_out", "pending", "rate_sent",
    /// "rate_held_out", "uplift", "uplift_ci": [lo, hi], "verdict"}],
    /// "journey_goals": [the same]}`. Without an estimate `uplift` and
    /// `uplift_ci` are `null`; without a goal `verdict` is `null` too.
    ///
    /// ```
    /// # use nextbest::report::{Options, Report};
    /// # use nextbest::rules::{Format, RuleSet};
    /// # use nextbest::history::MemoryHistory;
    /// # use nextbest::Timestamp;
    /// # let rules = RuleSet::parse("[schema.traits]\nx = \"int\"\n[consent]\nemail = {}\n[[action]]\nid = \"hello\"\nchannel = \"email\"", Format::Toml, "r.toml")?;
    /// # let now = Timestamp::parse("2026-12-01T00:00:00Z")?;
    /// let report = Report::build(&rules, &MemoryHistory::new(), [], now, &Options::default())?;
    /// let json = report.to_json();
    /// assert_eq!(json["actions"][0]["id"], "hello");
    /// assert_eq!(json["actions"][0]["uplift_ci"], serde_json::Value::Null);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_json(&self) -> Json {
        json!({
            "now": self.now.to_string(),
            "profiles": self.profiles,
            "min_group": self.min_group,
            "unknown_records": self.unknown_records,
            "journeys": self.journeys.iter().map(journey_json).collect::<Vec<_>>(),
            "actions": self.actions.iter().map(conversion_json).collect::<Vec<_>>(),
            "journey_goals": self.journey_goals.iter().map(conversion_json).collect::<Vec<_>>(),
        })
    }
}

fn stage_json(stage: &StageCount) -> Json {
    json!({
        "step": stage.step,
        "action": stage.action,
        "sent": stage.sent,
        "skipped": stage.skipped,
        "held_out": stage.held_out,
    })
}

fn journey_json(funnel: &JourneyFunnel) -> Json {
    json!({
        "id": funnel.id,
        "entered": funnel.entered,
        "steps": funnel.steps.iter().map(stage_json).collect::<Vec<_>>(),
        "fallback": funnel.fallback.as_ref().map_or(0, StageCount::reached),
        "fallback_stage": funnel.fallback.as_ref().map(stage_json),
        "exited": funnel.exited,
        "completed": funnel.completed,
        "active": funnel.active,
        "drop_off": funnel.drop_off,
    })
}

fn conversion_json(c: &Conversion) -> Json {
    json!({
        "id": c.id,
        "goal": c.goal,
        "goal_window": c.window.map(|w| w.to_string()),
        "sent": c.sent,
        "held_out": c.held_out,
        "converted_sent": c.converted_sent,
        "converted_held_out": c.converted_held_out,
        "pending": c.pending,
        "rate_sent": c.rate_sent(),
        "rate_held_out": c.rate_held_out(),
        "uplift": c.uplift.map(|u| u.difference),
        "uplift_ci": c.uplift.map(|u| [u.low, u.high]),
        "verdict": c.verdict,
    })
}

fn journey_text(out: &mut String, funnel: &JourneyFunnel) {
    let _ = writeln!(
        out,
        "\njourney {}: {} entered, {} exited, {} completed, {} active",
        funnel.id, funnel.entered, funnel.exited, funnel.completed, funnel.active
    );
    let _ = writeln!(
        out,
        "  {:<10} {:<24} {:>8} {:>9} {:>8}",
        "stage", "action", "sent", "held out", "skipped"
    );
    for (stage, name) in (funnel.steps.iter().map(|s| (s, format!("step {}", s.step))))
        .chain(funnel.fallback.iter().map(|s| (s, "fallback".to_owned())))
    {
        let _ = writeln!(
            out,
            "  {:<10} {:<24} {:>8} {:>9} {:>8}",
            name, stage.action, stage.sent, stage.held_out, stage.skipped
        );
    }
    for d in &funnel.drop_off {
        let _ = writeln!(
            out,
            "  {} → {}: of {}, {} exited, {} waiting{} (lost {})",
            d.from,
            d.to,
            d.reached,
            d.exited,
            d.waiting,
            if d.completed > 0 {
                format!(", {} completed", d.completed)
            } else {
                String::new()
            },
            percent(d.rate)
        );
    }
}

fn conversion_text(out: &mut String, kind: &str, c: &Conversion) {
    let Some(goal) = &c.goal else {
        let _ = writeln!(
            out,
            "  {kind} {}: {} contacted, {} held out (no goal)",
            c.id, c.sent, c.held_out
        );
        return;
    };
    let window = c.window.map(|w| w.to_string()).unwrap_or_default();
    let _ = writeln!(out, "  {kind} {}: goal `{goal}` within {window}", c.id);
    let _ = writeln!(
        out,
        "    contacted {}, converted {} ({}); held out {}, converted {} ({}); window still open {}",
        c.sent,
        c.converted_sent,
        percent(c.rate_sent()),
        c.held_out,
        c.converted_held_out,
        percent(c.rate_held_out()),
        c.pending
    );
    let verdict = c.verdict.map(|v| v.words()).unwrap_or_default();
    match c.uplift {
        Some(u) => {
            let _ = writeln!(
                out,
                "    uplift {} points, 95 % interval {} to {}: {verdict}",
                points(u.difference),
                points(u.low),
                points(u.high)
            );
        }
        None => {
            let _ = writeln!(out, "    uplift: {verdict}");
        }
    }
}
