//! A [`Forecast`] as text, JSON and a self-contained HTML page with a
//! histogram of sends per customer per week.

use std::fmt::Write as _;

use serde_json::Value as Json;

use super::{Forecast, OVERLAP};
use crate::chart;

impl Forecast {
    /// The forecast for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "forecast from {} to {} every {}: {} customers, {} weeks, {} sends",
            self.from, self.to, self.step, self.customers, self.weeks, self.sends
        );
        let d = &self.per_week;
        let _ = writeln!(
            out,
            "\nsends per customer per week: mean {:.2}, median {}, 90th percentile {}, 99th {}, most {}",
            d.mean, d.p50, d.p90, d.p99, d.max
        );
        for (n, count) in d.counts.iter().enumerate() {
            let _ = writeln!(out, "  {n:>3} sends: {count} customer-weeks");
        }
        out.push_str("\nmost contacted:\n");
        for c in &self.most_contacted {
            let actions: Vec<String> = (c.actions.iter())
                .map(|(a, n)| format!("{a} ×{n}"))
                .collect();
            let _ = writeln!(
                out,
                "  {}: {} sends, {} in the busiest week ({})",
                c.profile,
                c.sends,
                c.busiest_week,
                actions.join(", ")
            );
        }
        out.push_str("\nactions:\n");
        for a in &self.actions {
            let _ = writeln!(
                out,
                "  {}: {} sends to {} customers, held out at {} decisions, trigger fired at {} decisions",
                a.id, a.sends, a.customers, a.held_out, a.fired
            );
        }
        out.push_str("\nnever fire:\n");
        if self.never_fire.is_empty() {
            out.push_str("  (none)\n");
        }
        for a in &self.never_fire {
            let why = match a.suppressed.first() {
                Some((reason, n)) if a.fired > 0 => {
                    format!(
                        "fired {} times, always suppressed (mostly {reason}: {n})",
                        a.fired
                    )
                }
                _ => "never a candidate".to_owned(),
            };
            let _ = writeln!(out, "  {}: {why}", a.id);
        }
        let _ = writeln!(
            out,
            "\ntriggers that fire together ({:.0} % of the decisions either fires at, or more):",
            OVERLAP * 100.0
        );
        if self.overlaps.is_empty() {
            out.push_str("  (none)\n");
        }
        for o in &self.overlaps {
            let _ = writeln!(
                out,
                "  {} and {}: {:.0} % ({} of {})",
                o.first,
                o.second,
                o.share * 100.0,
                o.together,
                o.either
            );
        }
        out.push_str("\ncaps:\n");
        if self.caps.is_empty() {
            out.push_str("  (none)\n");
        }
        for c in &self.caps {
            let _ = writeln!(
                out,
                "  {}: bound {} times, for {} customers",
                c.name, c.blocks, c.customers
            );
        }
        out
    }

    /// The forecast as JSON: every field of [`Forecast`], by its name.
    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).unwrap_or(Json::Null)
    }

    /// The forecast as a self-contained HTML page.
    pub fn to_html(&self) -> String {
        let mut body = String::new();
        let _ = writeln!(
            body,
            "<p>From {} to {} every {}: {} customers, {} weeks, {} sends.</p>",
            self.from, self.to, self.step, self.customers, self.weeks, self.sends
        );
        let d = &self.per_week;
        let _ = writeln!(
            body,
            "<h2>Sends per customer per week</h2><p>Mean {:.2}, median {}, 90th percentile {}, \
             99th {}, most {}. Each bar is the number of customer-weeks with that many sends: \
             bars far to the right are customers contacted too often.</p>",
            d.mean, d.p50, d.p90, d.p99, d.max
        );
        let bins: Vec<(String, u64)> = (d.counts.iter().enumerate())
            .map(|(n, c)| (n.to_string(), *c))
            .collect();
        body.push_str(&chart::histogram(
            "sends per customer per week",
            &bins,
            "sends in a week",
        ));
        body.push_str("<h2>Most contacted</h2>\n");
        let rows: Vec<Vec<String>> = (self.most_contacted.iter())
            .map(|c| {
                let actions: Vec<String> = (c.actions.iter())
                    .map(|(a, n)| format!("{a} ×{n}"))
                    .collect();
                vec![
                    c.profile.clone(),
                    c.sends.to_string(),
                    c.busiest_week.to_string(),
                    actions.join(", "),
                ]
            })
            .collect();
        body.push_str(&chart::table(
            &["customer", "sends", "busiest week", "actions"],
            &rows,
        ));
        body.push_str("<h2>Actions</h2>\n");
        let rows: Vec<Vec<String>> = (self.actions.iter())
            .map(|a| {
                vec![
                    a.id.clone(),
                    a.sends.to_string(),
                    a.customers.to_string(),
                    a.held_out.to_string(),
                    a.fired.to_string(),
                    if a.sends == 0 && a.held_out == 0 {
                        "never fires".to_owned()
                    } else {
                        String::new()
                    },
                ]
            })
            .collect();
        body.push_str(&chart::table(
            &[
                "action",
                "sends",
                "customers",
                "held out",
                "trigger fired",
                "",
            ],
            &rows,
        ));
        body.push_str("<h2>Triggers that fire together</h2>\n");
        let rows: Vec<Vec<String>> = (self.overlaps.iter())
            .map(|o| {
                vec![
                    format!("{} and {}", o.first, o.second),
                    format!("{:.0} %", o.share * 100.0),
                    format!("{} of {}", o.together, o.either),
                ]
            })
            .collect();
        body.push_str(&chart::table(&["pair", "together", "decisions"], &rows));
        body.push_str("<h2>Caps</h2>\n");
        let rows: Vec<Vec<String>> = (self.caps.iter())
            .map(|c| {
                vec![
                    c.name.clone(),
                    c.blocks.to_string(),
                    c.customers.to_string(),
                ]
            })
            .collect();
        body.push_str(&chart::table(&["cap", "bound", "customers"], &rows));
        chart::page("nextbest forecast", &body)
    }
}
