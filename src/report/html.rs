//! A [`Report`] as one self-contained HTML page: a funnel chart per
//! journey (a bar per stage, its length the enrolments that reached it,
//! coloured by outcome) and an uplift chart (each action's and journey's
//! uplift as a dot with its 95 % interval, against a dashed zero line).

use std::fmt::Write as _;

use super::render::{percent, points};
use super::{Conversion, JourneyFunnel, Report, Verdict};
use crate::chart::{self, Bar, Interval, Segment};

impl Report {
    /// The report as a self-contained HTML page (no script, nothing
    /// loaded: see the page's Content-Security-Policy).
    ///
    /// ```
    /// # use nextbest::report::{Options, Report};
    /// # use nextbest::rules::{Format, RuleSet};
    /// # use nextbest::history::MemoryHistory;
    /// # use nextbest::Timestamp;
    /// # let rules = RuleSet::parse("[schema.traits]\nx = \"int\"\n[consent]\nemail = {}\n[[action]]\nid = \"<b>hello</b>\"\nchannel = \"email\"\ngoal = \"x > 1\"\ngoal_window = \"1d\"", Format::Toml, "r.toml")?;
    /// # let now = Timestamp::parse("2026-12-01T00:00:00Z")?;
    /// let report = Report::build(&rules, &MemoryHistory::new(), [], now, &Options::default())?;
    /// let html = report.to_html();
    /// assert!(html.contains("&lt;b&gt;hello&lt;/b&gt;") && !html.contains("<b>hello"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_html(&self) -> String {
        let mut body = String::new();
        let _ = writeln!(
            body,
            "<p>At {} over {} profiles.{}</p>",
            self.now,
            self.profiles,
            if self.unknown_records > 0 {
                format!(
                    " Left out: {} records that name an action, journey or step these rules do not have.",
                    self.unknown_records
                )
            } else {
                String::new()
            }
        );
        body.push_str("<h2>Journeys: where customers drop out</h2>\n");
        body.push_str(&chart::legend(&[
            ("sent", "sent"),
            ("held_out", "held out"),
            ("skipped", "skipped"),
        ]));
        body.push_str(
            "<p>Each bar is a stage, its length the enrolments that reached it: \
             where the bars shorten, customers dropped out.</p>\n",
        );
        for funnel in &self.journeys {
            body.push_str(&funnel_section(funnel));
        }
        body.push_str(&uplift_section(self));
        chart::page("nextbest report", &body)
    }
}

fn funnel_section(funnel: &JourneyFunnel) -> String {
    let mut out = format!(
        "<h3>{}</h3><p>{} entered, {} exited, {} completed, {} still active.</p>\n",
        chart::escape(&funnel.id),
        funnel.entered,
        funnel.exited,
        funnel.completed,
        funnel.active
    );
    let lost = |k: usize| funnel.drop_off.get(k).map_or(0, |d| d.exited + d.completed);
    let mut rows = vec![Bar {
        label: "entered".into(),
        segments: vec![Segment {
            value: funnel.entered,
            class: "entered",
            title: format!("{} entered", funnel.entered),
        }],
        note: format!(
            "{}{}",
            funnel.entered,
            if lost(0) > 0 {
                format!(", {} left before the first stage", lost(0))
            } else {
                String::new()
            }
        ),
    }];
    let names = (funnel
        .steps
        .iter()
        .map(|s| format!("step {} {}", s.step, s.action)))
    .chain(
        funnel
            .fallback
            .iter()
            .map(|s| format!("fallback {}", s.action)),
    );
    for (k, (stage, name)) in funnel.stages().zip(names).enumerate() {
        let exited_here = lost(k + 1).min(stage.sent + stage.held_out + stage.skipped);
        let share = funnel
            .drop_off
            .get(k)
            .and_then(|d| (d.reached > 0).then(|| stage.reached() as f64 / d.reached as f64));
        rows.push(Bar {
            label: name,
            segments: vec![
                Segment {
                    value: stage.sent,
                    class: "sent",
                    title: format!("{} sent", stage.sent),
                },
                Segment {
                    value: stage.held_out,
                    class: "held_out",
                    title: format!("{} held out", stage.held_out),
                },
                Segment {
                    value: stage.skipped,
                    class: "skipped",
                    title: format!("{} skipped", stage.skipped),
                },
            ],
            note: format!(
                "{} ({} of the stage before){}",
                stage.reached(),
                percent(share),
                if exited_here > 0 {
                    format!(", {exited_here} left after it")
                } else {
                    String::new()
                }
            ),
        });
    }
    out.push_str(&chart::bars(&format!("funnel of {}", funnel.id), &rows));
    let table: Vec<Vec<String>> = (funnel.drop_off.iter())
        .map(|d| {
            vec![
                format!("{} → {}", d.from, d.to),
                d.reached.to_string(),
                d.exited.to_string(),
                d.waiting.to_string(),
                percent(d.rate),
            ]
        })
        .collect();
    out.push_str(&chart::table(
        &["between", "reached", "exited", "waiting", "lost"],
        &table,
    ));
    out
}

fn uplift_section(report: &Report) -> String {
    let mut out = String::from("<h2>Goals: contacted against the held-out control group</h2>\n");
    let measured: Vec<(&str, &Conversion)> = (report.actions.iter().map(|c| ("action", c)))
        .chain(report.journey_goals.iter().map(|c| ("journey", c)))
        .filter(|(_, c)| c.goal.is_some())
        .collect();
    if measured.is_empty() {
        out.push_str("<p class=\"note\">No action or journey declares a goal.</p>\n");
        return out;
    }
    let _ = writeln!(
        out,
        "<p>Each dot is the uplift (the contacted group's conversion rate minus the held-out \
         group's), the bar its 95 % interval (Newcombe's hybrid score method); a bar clear of \
         the dashed zero line is a difference shown. Groups under {} profiles: too few to tell.</p>",
        report.min_group
    );
    out.push_str(&chart::legend(&[
        ("better", "better than control"),
        ("unclear", "no clear difference"),
        ("worse", "worse than control"),
    ]));
    let rows: Vec<Interval> = (measured.iter())
        .map(|(kind, c)| Interval {
            label: format!("{kind} {}", c.id),
            estimate: c.uplift.map(|u| (u.difference, u.low, u.high)),
            class: match c.verdict {
                Some(Verdict::Better) => "better",
                Some(Verdict::Worse) => "worse",
                _ => "unclear",
            },
            note: match c.uplift {
                Some(u) => format!(
                    "{} points ({} to {})",
                    points(u.difference),
                    points(u.low),
                    points(u.high)
                ),
                None => Verdict::TooFewToTell.words().to_owned(),
            },
        })
        .collect();
    out.push_str(&chart::intervals(
        "uplift against the control group",
        &rows,
        "uplift, percentage points",
    ));
    let table: Vec<Vec<String>> = (measured.iter())
        .map(|(kind, c)| {
            vec![
                format!("{kind} {}", c.id),
                c.goal.clone().unwrap_or_default(),
                format!("{} / {}", c.converted_sent, c.sent),
                percent(c.rate_sent()),
                format!("{} / {}", c.converted_held_out, c.held_out),
                percent(c.rate_held_out()),
                c.pending.to_string(),
                c.verdict.map(|v| v.words()).unwrap_or_default().to_owned(),
            ]
        })
        .collect();
    out.push_str(&chart::table(
        &[
            "",
            "goal",
            "contacted converted",
            "rate",
            "held out converted",
            "rate",
            "window open",
            "verdict",
        ],
        &table,
    ));
    out
}
